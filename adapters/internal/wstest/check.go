package wstest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// CheckFrames checks that frames carry want as one text message: a text
// frame and continuation frames, none over maxFrameSize bytes, and at
// least as many as that limit requires.
func CheckFrames(t testing.TB, frames []Frame, want []byte, maxFrameSize int) {
	t.Helper()
	var got []byte
	for i, f := range frames {
		wantOp := byte(OpContinuation)
		if i == 0 {
			wantOp = OpText
		}
		if f.Opcode != wantOp {
			t.Fatalf("frame %d: opcode %d, want %d", i, f.Opcode, wantOp)
		}
		if len(f.Payload) > maxFrameSize {
			t.Fatalf("frame %d: %d bytes, over MaxFrameSize", i, len(f.Payload))
		}
		got = append(got, f.Payload...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("reassembled %d bytes, want %d (equal: false)", len(got), len(want))
	}
	if min := (len(want) + maxFrameSize - 1) / maxFrameSize; len(frames) < min {
		t.Fatalf("%d frames, want at least %d", len(frames), min)
	}
}

// SelfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func SelfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "jstp test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
