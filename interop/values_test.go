package interop

import (
	"math"
	"strings"

	"github.com/jstp-go/jstp/core/mdsf"
)

// wireValue is one value sent across the wire in both directions.
type wireValue struct {
	name  string
	value any
}

// edgeValues are the values every peer must carry unchanged: strings with
// every kind of character that needs escaping, numbers at the edges of
// float64 and of Number.prototype.toString's notation switches, and
// nesting.
var edgeValues = []wireValue{
	{"empty string", ""},
	{"plain string", "plain"},
	{"single and double quotes", `it's "quoted" ''`},
	{"backslashes", `back\slash \\ \' \n`},
	{"NUL and controls", "nul\x00byte \x01\x07\x1f\x7f end"},
	{"whitespace escapes", "\t\n\r\b\f\v"},
	{"emoji", "emoji 😀👍🏽"},
	{"astral", "astral 𝄞 \U0010FFFF \U00010000"},
	{"line separators", "a\u2028b\u2029c"},
	{"latin and cyrillic", "ünïcödé кирилиця"},
	{"BOM and noncharacter", "\ufeff\uffff"},
	{"html-ish", "</script><!-- & -->"},
	{"zero", 0.0},
	{"negative zero", math.Copysign(0, -1)},
	{"one", 1.0},
	{"minus one", -1.0},
	{"1e21", 1e21},
	{"1e21 minus", 999999999999999900000.0},
	{"1e-7", 1e-7},
	{"1e-6", 1e-6},
	{"2^53", 9007199254740992.0},
	{"-2^53", -9007199254740992.0},
	{"2^53+2", 9007199254740994.0},
	{"0.1", 0.1},
	{"0.1+0.2", 0.1 + 0.2},
	{"max float", math.MaxFloat64},
	{"smallest denormal", 5e-324},
	{"smallest normal", 2.2250738585072014e-308},
	{"pi", math.Pi},
	{"big int", 123456789012345680000.0},
	{"true", true},
	{"false", false},
	{"null", nil},
	{"empty array", []any{}},
	{"mixed array", []any{1.0, "a", nil, true, []any{[]any{}}}},
	{"object", mdsf.Object{{Key: "a", Value: 1.0}, {Key: "b-c", Value: "d"}, {Key: "$x_1", Value: []any{}}, {Key: "", Value: "empty key"}, {Key: "it's", Value: nil}}},
	{"nested object", mdsf.Object{{Key: "deep", Value: mdsf.Object{{Key: "deeper", Value: []any{mdsf.Object{{Key: "n", Value: -2.5}}}}}}}},
	{"long string", strings.Repeat("long ✓ ", 2000)},
}

// stringify writes v with the Go codec, failing loudly.
func stringify(v any) string {
	s, err := mdsf.Stringify(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return s
}

// runeCodes returns the code points of s as float64, as Node reports them.
func runeCodes(s string) []any {
	out := []any{}
	for _, r := range s {
		out = append(out, float64(r))
	}
	return out
}

// utf16Len is the length of s in UTF-16 code units (JavaScript's length).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
