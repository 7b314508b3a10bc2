package mdsf

import (
	"strings"
	"testing"
)

func TestVerbatim(t *testing.T) {
	long := strings.Repeat("abc ", 40)
	tests := []struct {
		s    string
		want bool
	}{
		{"", true},
		{"plain text", true},
		{long, true},
		{long + "é" + long, true},
		{"日本語のテキスト", true},
		{"\x7f", true},
		{long + "'" + long, false},
		{long + `"`, false},
		{`\` + long, false},
		{long + "\n", false},
		{"\x00", false},
		{long + "\xff" + long, false},
		{"\xed\xa0\x80", false}, // a surrogate, written escaped
		{"\xc3", false},         // a truncated sequence
	}
	for _, tt := range tests {
		if got := Verbatim(tt.s); got != tt.want {
			t.Errorf("Verbatim(%.20q…) = %v, want %v", tt.s, got, tt.want)
		}
		// Verbatim is exactly "AppendString adds only the quotes".
		if same := string(AppendString(nil, tt.s)) == "'"+tt.s+"'"; same != tt.want {
			t.Errorf("AppendString(%.20q…) unchanged = %v, the table says %v", tt.s, same, tt.want)
		}
	}
}

// fill writes the omitted strings back at their offsets.
func fill(b []byte, at []int, strs []string) string {
	var sb strings.Builder
	prev := 0
	for k, off := range at {
		sb.Write(b[prev:off])
		sb.WriteString(strs[k])
		prev = off
	}
	sb.Write(b[prev:])
	return sb.String()
}

func TestAppendArrayOmit(t *testing.T) {
	big := strings.Repeat("x", 100)
	tests := []struct {
		name string
		vs   []any
		omit []int
	}{
		{"none", []any{1.0, "a"}, nil},
		{"empty", []any{}, nil},
		{"only", []any{big}, []int{0}},
		{"first", []any{big, 2.0, map[string]any{"k": "v"}}, []int{0}},
		{"middle", []any{true, big, nil}, []int{1}},
		{"last", []any{[]any{1.0, "q'"}, big}, []int{1}},
		{"two", []any{big, "in'between", big + "y"}, []int{0, 2}},
		{"adjacent", []any{big, big}, []int{0, 1}},
		{"empty string", []any{""}, []int{0}},
		{"undefined around", []any{Undefined, big, Undefined}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := AppendArray([]byte("prefix"), tt.vs)
			if err != nil {
				t.Fatal(err)
			}
			got, at, err := AppendArrayOmit([]byte("prefix"), tt.vs, tt.omit, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(at) != len(tt.omit) {
				t.Fatalf("%d offsets for %d omitted strings", len(at), len(tt.omit))
			}
			var strs []string
			for k, i := range tt.omit {
				strs = append(strs, tt.vs[i].(string))
				if got[at[k]-1] != '\'' || got[at[k]] != '\'' {
					t.Fatalf("offset %d of %q is not between two quotes", at[k], got)
				}
			}
			if s := fill(got, at, strs); s != string(want) {
				t.Fatalf("filled in: %s\nAppendArray: %s", s, want)
			}
		})
	}
}

func TestAppendArrayOmitErrors(t *testing.T) {
	tests := []struct {
		name string
		vs   []any
		omit []int
	}{
		{"not a string", []any{1.0}, []int{0}},
		{"out of range", []any{"a"}, []int{1}},
		{"descending", []any{"a", "b"}, []int{1, 0}},
		{"repeated", []any{"a", "b"}, []int{0, 0}},
		{"unsupported element", []any{make(chan int), "a"}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := AppendArrayOmit(nil, tt.vs, tt.omit, nil); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
