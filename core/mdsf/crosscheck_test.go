package mdsf

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot walks up from the working directory to the directory holding
// go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the repository root (no go.work above the working directory)")
		}
		dir = parent
	}
}

type nodeAnswer struct {
	OK    bool   `json:"ok"`
	Value any    `json:"value"`
	Out   string `json:"out"`
	Error string `json:"error"`
}

// askReference runs every text through one Node.js process with the
// reference mdsf and returns its answers in order.
func askReference(t *testing.T, texts [][]byte) []nodeAnswer {
	t.Helper()
	root := repoRoot(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; the cross-check needs Node.js and the reference packages: run `npm ci --ignore-scripts --prefix interop` in the repository root")
	}
	if _, err := os.Stat(filepath.Join(root, "interop", "node_modules", "mdsf", "package.json")); err != nil {
		t.Fatalf("interop/node_modules/mdsf is missing: run `npm ci --ignore-scripts --prefix interop` in the repository root (%v)", err)
	}
	cmd := exec.Command(node, filepath.Join(root, "core", "mdsf", "testdata", "gen", "crosscheck.js"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	writeErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(stdin)
		for _, text := range texts {
			fmt.Fprintf(w, "{\"b\":%q}\n", base64.StdEncoding.EncodeToString(text))
		}
		err := w.Flush()
		if cerr := stdin.Close(); err == nil {
			err = cerr
		}
		writeErr <- err
	}()
	answers := make([]nodeAnswer, 0, len(texts))
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var a nodeAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("bad answer line %q: %v", sc.Text(), err)
		}
		answers = append(answers, a)
	}
	if err := <-writeErr; err != nil {
		t.Fatalf("writing to node: %v (stderr: %s)", err, stderr.String())
	}
	if len(answers) != len(texts) {
		t.Fatalf("node answered %d of %d texts (stderr: %s)", len(answers), len(texts), stderr.String())
	}
	return answers
}

// TestCrossCheckReference writes random values with Stringify and has the
// reference parse and re-stringify them (the texts must come back byte for
// byte and parse to the same value), then feeds random texts to both
// parsers (they must accept and reject the same texts, with the same
// results).
func TestCrossCheckReference(t *testing.T) {
	const values, texts = 10000, 20000
	seed := uint64(20240611)
	if env := os.Getenv("MDSF_CROSSCHECK_SEED"); env != "" {
		if _, err := fmt.Sscan(env, &seed); err != nil {
			t.Fatalf("MDSF_CROSSCHECK_SEED: %v", err)
		}
	}
	t.Logf("random seed %d (set MDSF_CROSSCHECK_SEED to try another)", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &valueGen{rng: rng}

	var inputs [][]byte
	for range values {
		s, err := Stringify(g.value(0))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, []byte(s))
	}
	for i := range texts {
		inputs = append(inputs, g.text(inputs[i%values]))
	}
	answers := askReference(t, inputs)
	failures, accepted := 0, 0
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		if failures++; failures >= 20 {
			t.Fatal("too many failures")
		}
	}
	for i, in := range inputs {
		a := answers[i]
		got, err := Parse(in)
		switch {
		case i < values && (!a.OK || a.Out != string(in)):
			fail("value %d: Go wrote %q; reference re-stringified it as %q (ok=%v, %s)", i, in, a.Out, a.OK, a.Error)
		case (err == nil) != a.OK:
			fail("text %q: Go parse error %v; reference ok=%v %s", in, err, a.OK, a.Error)
		case a.OK:
			accepted++
			want, ferr := fromRef(a.Value)
			if ferr != nil {
				t.Fatal(ferr)
			}
			if out, _ := Stringify(got); !sameValue(got, want) || out != a.Out {
				fail("text %q: Go parsed %#v (%q); reference %#v (%q)", in, got, out, want, a.Out)
			}
		}
	}
	t.Logf("%d values and %d texts checked; %d texts accepted by both", values, texts, accepted-values)
}

// valueGen makes random generic values and random texts.
type valueGen struct {
	rng *rand.Rand
}

var genStrings = []string{
	"", "a", "abc", "it's", `say "hi"`, `back\slash`, "\x00\x01\x1f\x7f", "\n\r\t\b\f\v",
	"é", "日本語", "😀", "\u2028\u2029", "\ufeff", "\xed\xa0\x80", "\xed\xb0\x80",
	"\xed\xa0\xbd\xed\xb8\x80", "\xff", "\xe2\x82", "\xc0\xaf", "/*", "//", "'", `\u0041`,
	"call", "iface", "method", "0", "1", "10", "4294967294", "4294967295", "01", "-1",
	"__proto__", "constructor", "a b", "$", "_", "A1", "1a", "ok", "error",
}

func (g *valueGen) str() string {
	var b strings.Builder
	for n := g.rng.IntN(4); n >= 0; n-- {
		if g.rng.IntN(3) == 0 {
			b.WriteRune(rune(g.rng.IntN(0x800)))
		} else {
			b.WriteString(genStrings[g.rng.IntN(len(genStrings))])
		}
	}
	return b.String()
}

func (g *valueGen) number() float64 {
	switch g.rng.IntN(8) {
	case 0:
		return float64(g.rng.IntN(2000) - 1000)
	case 1:
		return float64(g.rng.Int64())
	case 2:
		f := math.Float64frombits(g.rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0.5
		}
		return f
	case 3:
		return g.rng.Float64() * math.Pow(10, float64(g.rng.IntN(50)-25))
	case 4:
		return []float64{0, math.Copysign(0, -1), 1e21, 1e-7, 5e-324, 0.1, 1 << 53, 1<<53 + 2, -1e300, 123e-20}[g.rng.IntN(10)]
	case 5:
		return float64(g.rng.IntN(1<<20)) / 1024
	}
	return float64(g.rng.IntN(100))
}

func (g *valueGen) value(depth int) any {
	k := g.rng.IntN(10)
	if depth > 4 && k >= 7 {
		k = g.rng.IntN(7)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return g.rng.IntN(2) == 0
	case 2, 3:
		return g.number()
	case 4, 5, 6:
		return g.str()
	case 7, 8:
		n := g.rng.IntN(5)
		a := make([]any, n)
		for i := range a {
			// A trailing hole does not survive even the reference's own
			// round trip ("[1,]" reads as [1]), so holes go elsewhere.
			if g.rng.IntN(6) == 0 && i != n-1 {
				a[i] = Undefined
			} else {
				a[i] = g.value(depth + 1)
			}
		}
		return a
	}
	n := g.rng.IntN(5)
	o := Object{}
	seen := map[string]bool{}
	for range n {
		key := g.str()
		if g.rng.IntN(2) == 0 {
			key = genStrings[g.rng.IntN(len(genStrings))]
		}
		// Keys that differ in Go but not in JavaScript (invalid UTF-8 and
		// its U+FFFD, split and joined surrogate pairs) would be duplicates.
		canon, _ := ParseString(string(AppendString(nil, key)))
		if seen[canon.(string)] || key == "__proto__" {
			continue
		}
		seen[canon.(string)] = true
		var v any = Undefined
		if g.rng.IntN(8) != 0 {
			v = g.value(depth + 1)
		}
		o = append(o, Member{key, v})
	}
	return o
}

var genClutter = []string{" ", "\t", "\n", "/*c*/", "//c\n", "/*a*//*b*/", "/*", "/", "\v\f\r"}
var genChars = []string{",", ":", "[", "]", "{", "}", "'", `"`, `\`, "\\u", "\\x", "\\u{", "0", "1", "-", "+", ".", "e", "x", "b", "o", "a", "_", "$", "undefined", "null", "\xff", "\xed\xa0\x80", "é", "\x00"}

// text mutates a valid text: clutter inserted, characters replaced,
// inserted or deleted.
func (g *valueGen) text(base []byte) []byte {
	b := append([]byte(nil), base...)
	for n := g.rng.IntN(3) + 1; n > 0; n-- {
		pos := g.rng.IntN(len(b) + 1)
		switch g.rng.IntN(4) {
		case 0:
			b = append(b[:pos], append([]byte(genClutter[g.rng.IntN(len(genClutter))]), b[pos:]...)...)
		case 1:
			b = append(b[:pos], append([]byte(genChars[g.rng.IntN(len(genChars))]), b[pos:]...)...)
		case 2:
			if pos < len(b) {
				b = append(b[:pos], b[pos+1:]...)
			}
		case 3:
			if pos < len(b) {
				c := genChars[g.rng.IntN(len(genChars))]
				b = append(b[:pos], append([]byte(c), b[pos+1:]...)...)
			}
		}
	}
	return b
}
