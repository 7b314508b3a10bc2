package interop

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jstp-go/jstp/adapters/tcp"
	"github.com/jstp-go/jstp/core/mdsf"
)

// valueGen makes random values of every kind mdsf carries, weighted toward
// what is hard to get right: escapes, astral characters, the notation
// switches of Number.prototype.toString, keys that need quoting or that a
// JavaScript engine reorders.
type valueGen struct{ r *rand.Rand }

var runePools = [][]rune{
	[]rune("abcxyzABCXYZ019 _$-.,:;!?"),
	[]rune("'\"\\`/"),
	{0, 1, 7, 8, 9, 10, 11, 12, 13, 27, 31, 127, 0x80, 0x9f, 0xa0, 0xad},
	{0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff, 0xd7ff, 0xe000},
	[]rune("жщёїλπ中文日本語한국어عربى"),
	{0x10000, 0x1d11e, 0x1f600, 0x1f44d, 0x1f3fd, 0x10ffff},
}

func (g *valueGen) str() string {
	n := g.r.IntN(12)
	if g.r.IntN(20) == 0 {
		n = 200 + g.r.IntN(400)
	}
	var b strings.Builder
	for range n {
		pool := runePools[g.r.IntN(len(runePools))]
		b.WriteRune(pool[g.r.IntN(len(pool))])
	}
	return b.String()
}

func (g *valueGen) num() float64 {
	switch g.r.IntN(9) {
	case 0:
		return float64(g.r.IntN(2000) - 1000)
	case 1:
		return math.Copysign(0, -1)
	case 2: // around the exponent-notation switches 1e21 and 1e-7
		e := []int{-8, -7, -6, 20, 21, 22}[g.r.IntN(6)]
		return (1 + float64(g.r.IntN(1000))/1000) * math.Pow10(e)
	case 3:
		return float64(int64(1)<<53) + float64(g.r.IntN(5)-2)
	case 4:
		return float64(g.r.IntN(100000)) / 100
	case 5:
		return -g.r.Float64() * math.Pow10(g.r.IntN(40)-20)
	default: // any finite float64
		for {
			f := math.Float64frombits(g.r.Uint64())
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f
			}
		}
	}
}

func (g *valueGen) key() string {
	switch g.r.IntN(6) {
	case 0:
		return strconv.Itoa(g.r.IntN(20)) // an array-index key: reordered by JavaScript
	case 1:
		return g.str()
	default:
		const first = "abcdefgh_$ABC"
		const rest = "abcdefgh_$ABC0123456789"
		b := []byte{first[g.r.IntN(len(first))]}
		for range g.r.IntN(6) {
			b = append(b, rest[g.r.IntN(len(rest))])
		}
		return string(b)
	}
}

func (g *valueGen) value(depth int) any {
	k := g.r.IntN(10)
	if depth >= 4 && k >= 7 {
		k = g.r.IntN(7)
	}
	switch k {
	case 0, 1, 2:
		return g.str()
	case 3, 4:
		return g.num()
	case 5:
		return []any{true, false, nil}[g.r.IntN(3)]
	case 6:
		if depth > 0 && g.r.IntN(4) == 0 {
			return mdsf.Undefined // a hole in an array, a dropped member in an object
		}
		return g.str()
	case 7, 8:
		a := make([]any, g.r.IntN(6))
		for i := range a {
			a[i] = g.value(depth + 1)
		}
		return a
	default:
		n := g.r.IntN(6)
		o := make(mdsf.Object, 0, n)
		seen := map[string]bool{}
		for range n {
			key := g.key()
			if seen[key] {
				continue
			}
			seen[key] = true
			o = append(o, mdsf.Member{Key: key, Value: g.value(depth + 1)})
		}
		return o
	}
}

// canonical is how a JavaScript peer writes back the value Go wrote, after
// reading it: Go's own parser orders keys as a JavaScript object would.
func canonical(t testing.TB, v any) string {
	text := stringify(v)
	back, err := mdsf.ParseString(text)
	if err != nil {
		t.Fatalf("Go cannot parse what it wrote, %s: %v", text, err)
	}
	return stringify(back)
}

// settled is the text a value settles to after any number of round trips.
// It differs from canonical only for trailing undefined array elements:
// the reference writes [1, undefined] as `[1,]`, which reads back as [1]
// (a trailing comma, not a hole), so each trip drops one; jstp-go writes
// the same bytes (see docs/compatibility.md).
func settled(t testing.TB, v any) string {
	text := canonical(t, v)
	for range 8 {
		back, err := mdsf.ParseString(text)
		if err != nil {
			t.Fatalf("Go cannot parse what it wrote, %s: %v", text, err)
		}
		next := stringify(back)
		if next == text {
			break
		}
		text = next
	}
	return text
}

// TestCodecAcrossTheWire sends thousands of random values through JSTP
// calls to the reference server, which re-stringifies each with Node's mdsf
// and echoes it: Node's text must equal Go's byte for byte, and the echoed
// value must come back unchanged. The seed is printed; set
// JSTP_INTEROP_SEED to replay a run.
func TestCodecAcrossTheWire(t *testing.T) {
	seed := uint64(20261126)
	if s := os.Getenv("JSTP_INTEROP_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("JSTP_INTEROP_SEED: %v", err)
		}
	}
	t.Logf("seed %d (set JSTP_INTEROP_SEED=%d to replay)", seed, seed)
	g := &valueGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}

	srv := startNodeServer(t)
	ctx := ctxT(t, 2*time.Minute)
	conn := connectOK(t, ctx, "interop", nil, tcp.Dialer(nil, srv.tcp))
	const batches, perBatch = 20, 250
	failures := 0
	for b := range batches {
		values := make([]any, perBatch)
		for i := range values {
			values[i] = g.value(0)
			if values[i] == mdsf.Undefined {
				values[i] = nil
			}
		}
		res := call(t, ctx, conn, "restringify", values)
		texts, _ := res[0].([]any)
		echoed, _ := res[1].([]any)
		if len(texts) != perBatch || len(echoed) != perBatch {
			t.Fatalf("batch %d: got %d texts and %d values back, want %d", b, len(texts), len(echoed), perBatch)
		}
		for i, v := range values {
			want := canonical(t, v)
			if texts[i] != want {
				failures++
				t.Errorf("value %d: Go wrote %s\nNode rewrote it as %v\nwant %s", b*perBatch+i, stringify(v), texts[i], want)
			}
			if got, want := stringify(echoed[i]), settled(t, v); got != want {
				failures++
				t.Errorf("value %d: sent %s, echoed back as %s", b*perBatch+i, want, got)
			}
			if failures > 20 {
				t.Fatal("too many differences")
			}
		}
	}
}
