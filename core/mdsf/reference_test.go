package mdsf

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// reference holds testdata/reference.json, the answers of the reference
// mdsf package recorded by testdata/gen/gen.js.
type reference struct {
	Reference string `json:"reference"`
	Parse     []struct {
		Name  string `json:"name"`
		Text  *string
		B64   string `json:"b64"`
		OK    bool   `json:"ok"`
		Value any    `json:"value"`
		Out   string `json:"out"`
		Error string `json:"error"`
	} `json:"parse"`
	Fixtures []struct {
		File  string `json:"file"`
		OK    bool   `json:"ok"`
		Value any    `json:"value"`
		Out   string `json:"out"`
		Error string `json:"error"`
	} `json:"fixtures"`
	Stringify []struct {
		Name  string `json:"name"`
		Value any    `json:"value"`
		Out   string `json:"out"`
	} `json:"stringify"`
	Numbers []struct {
		Bits string `json:"bits"`
		Out  string `json:"out"`
	} `json:"numbers"`
	Stream []struct {
		Name      string   `json:"name"`
		Input     string   `json:"input"`
		Messages  []string `json:"messages"`
		Remainder string   `json:"remainder"`
	} `json:"stream"`
}

func loadReference(t *testing.T) *reference {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "reference.json"))
	if err != nil {
		t.Fatalf("%v (regenerate with: node core/mdsf/testdata/gen/gen.js)", err)
	}
	var r reference
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// fromRef rebuilds a generic value from the encoding of gen.js (common.js).
func fromRef(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case map[string]any:
		switch {
		case x["undef"] != nil:
			return Undefined, nil
		case x["num"] != nil:
			b, err := hex.DecodeString(x["num"].(string))
			if err != nil || len(b) != 8 {
				return nil, fmt.Errorf("bad num %v", x["num"])
			}
			var u uint64
			for _, c := range b {
				u = u<<8 | uint64(c)
			}
			return math.Float64frombits(u), nil
		case x["u16"] != nil:
			var b []byte
			for _, u := range x["u16"].([]any) {
				b = appendUnit(b, rune(u.(float64)))
			}
			return string(b), nil
		case x["arr"] != nil:
			out := []any{}
			for _, e := range x["arr"].([]any) {
				g, err := fromRef(e)
				if err != nil {
					return nil, err
				}
				out = append(out, g)
			}
			return out, nil
		case x["obj"] != nil:
			out := Object{}
			for _, kv := range x["obj"].([]any) {
				pair := kv.([]any)
				k, err := fromRef(pair[0])
				if err != nil {
					return nil, err
				}
				val, err := fromRef(pair[1])
				if err != nil {
					return nil, err
				}
				out = append(out, Member{k.(string), val})
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("bad encoded value %#v", v)
}

// sameValue compares generic values exactly (numbers by bits, so -0 and 0
// differ; key order matters).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (math.Float64bits(x) == math.Float64bits(y) || x != x && y != y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case Object:
		y, ok := b.(Object)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Key != y[i].Key || !sameValue(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	}
	return a == b
}

func checkParse(t *testing.T, name string, input []byte, ok bool, want any, out, refErr string) {
	t.Helper()
	got, err := Parse(input)
	if !ok {
		if err == nil {
			t.Errorf("%s: Parse(%q) = %#v, want an error (reference: %s)", name, input, got, refErr)
			return
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(input) {
			t.Errorf("%s: Parse(%q) error %v is not a *SyntaxError with an offset in range", name, input, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: Parse(%q) failed: %v; reference gives %s", name, input, err, out)
		return
	}
	wantV, err := fromRef(want)
	if err != nil {
		t.Fatal(err)
	}
	if !sameValue(got, wantV) {
		t.Errorf("%s: Parse(%q) = %#v, want %#v", name, input, got, wantV)
	}
	s, err := Stringify(got)
	if err != nil || s != out {
		t.Errorf("%s: Stringify(Parse(%q)) = %q, %v; want %q", name, input, s, err, out)
	}
}

func TestReferenceParse(t *testing.T) {
	r := loadReference(t)
	t.Logf("reference: %s", r.Reference)
	for _, c := range r.Parse {
		var input []byte
		if c.Text != nil {
			input = []byte(*c.Text)
		} else {
			b, err := base64.StdEncoding.DecodeString(c.B64)
			if err != nil {
				t.Fatal(err)
			}
			input = b
		}
		checkParse(t, c.Name, input, c.OK, c.Value, c.Out, c.Error)
	}
}

func TestReferenceFixtures(t *testing.T) {
	r := loadReference(t)
	if len(r.Fixtures) < 100 {
		t.Fatalf("only %d fixtures recorded", len(r.Fixtures))
	}
	for _, c := range r.Fixtures {
		data, err := os.ReadFile(filepath.Join("testdata", "mdsf-fixtures", filepath.FromSlash(c.File)))
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(data) {
			t.Fatalf("%s: fixture is not UTF-8", c.File)
		}
		checkParse(t, c.File, data, c.OK, c.Value, c.Out, c.Error)
	}
}

func TestReferenceStringify(t *testing.T) {
	r := loadReference(t)
	for _, c := range r.Stringify {
		v, err := fromRef(c.Value)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Stringify(v)
		if err != nil || got != c.Out {
			t.Errorf("%s: Stringify(%#v) = %q, %v; want %q", c.Name, v, got, err, c.Out)
		}
	}
}

func TestReferenceNumbers(t *testing.T) {
	r := loadReference(t)
	for _, c := range r.Numbers {
		f, err := fromRef(map[string]any{"num": c.Bits})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(AppendNumber(nil, f.(float64))); got != c.Out {
			t.Errorf("AppendNumber(%v) [bits %s] = %q, want %q", f, c.Bits, got, c.Out)
		}
		if c.Out == "NaN" || strings.Contains(c.Out, "Infinity") {
			continue
		}
		back, err := ParseString(c.Out)
		if err != nil || !sameValue(back, f) && !(f.(float64) == 0 && back == 0.0) {
			t.Errorf("ParseString(%q) = %v, %v; want %v", c.Out, back, err, f)
		}
	}
}

func TestReferenceStream(t *testing.T) {
	r := loadReference(t)
	for _, c := range r.Stream {
		for size := 1; size <= len(c.Input)+1; size++ {
			var s Splitter
			var got []string
			in := []byte(c.Input)
			for len(in) > 0 {
				n := min(size, len(in))
				err := s.Feed(in[:n], func(msg []byte) error {
					v, err := Parse(msg)
					if err != nil {
						return err
					}
					out, err := Stringify(v)
					got = append(got, out)
					return err
				})
				if err != nil {
					t.Fatalf("%s: %v", c.Name, err)
				}
				in = in[n:]
			}
			if fmt.Sprint(got) != fmt.Sprint(c.Messages) || s.Buffered() != len(c.Remainder) {
				t.Errorf("%s (chunks of %d): messages %q, buffered %d; want %q, %d", c.Name, size, got, s.Buffered(), c.Messages, len(c.Remainder))
			}
		}
	}
}
