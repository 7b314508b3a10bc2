package mdsf

import (
	"encoding"
	"encoding/base64"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Stringify returns the mdsf text of v, byte for byte what the reference's
// mdsf.stringify returns for the equivalent JavaScript value. v is a
// generic value or any Go value Marshal accepts.
func Stringify(v any) (string, error) {
	var buf [128]byte
	b, err := Append(buf[:0], v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Marshal returns the mdsf text of v. See the package documentation for how
// Go values are written.
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append appends the mdsf text of v to dst. v is a generic value or any Go
// value (same rules as Marshal). On error, the returned slice is dst
// possibly extended with partial output.
func Append(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, 0)
}

// AppendArray is Append of the array vs, without boxing it into an
// interface first (which allocates).
func AppendArray(dst []byte, vs []any) ([]byte, error) {
	return appendArray(dst, vs, 0)
}

// AppendArrayOmit is AppendArray, except that the elements at the indexes
// in omit (ascending, each a string) are written as two quotes with
// nothing between them, and at receives, for each of them in order, the
// offset in the result just after its opening quote. Writing each omitted
// string at its offset gives what AppendArray writes, provided Verbatim
// holds for it.
//
// It lets a caller send a large string from its own memory (vectored I/O,
// the string's bytes between the pieces of the result) instead of copying
// it into the message. An index out of range or of an element that is not
// a string is an error.
func AppendArrayOmit(dst []byte, vs []any, omit []int, at []int) ([]byte, []int, error) {
	dst = append(dst, '[')
	next := 0
	for i, e := range vs {
		if next < len(omit) && omit[next] == i {
			if _, ok := e.(string); !ok {
				return dst, at, fmt.Errorf("mdsf: element %d to omit is a %T, not a string", i, e)
			}
			dst = append(dst, '\'')
			at = append(at, len(dst))
			dst = append(dst, '\'')
			next++
		} else if _, u := e.(UndefinedType); !u {
			var err error
			if dst, err = appendValue(dst, e, 1); err != nil {
				return dst, at, err
			}
		}
		if i != len(vs)-1 {
			dst = append(dst, ',')
		}
	}
	if next < len(omit) {
		return dst, at, fmt.Errorf("mdsf: index %d to omit is not an element of the %d (or not ascending)", omit[next], len(vs))
	}
	return append(dst, ']'), at, nil
}

// Verbatim reports whether AppendString writes s as it is between its
// quotes: s is valid UTF-8 with no quote, backslash or control character.
func Verbatim(s string) bool {
	for i := 0; i < len(s); {
		if i = skipVerbatim(s, i); i >= len(s) {
			return true
		}
		if s[i] < utf8.RuneSelf {
			return false
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return false
		}
		i += n
	}
	return true
}

func appendArray(dst []byte, x []any, depth int) ([]byte, error) {
	if depth >= MaxDepth {
		return dst, errTooDeep
	}
	dst = append(dst, '[')
	for i, e := range x {
		if _, u := e.(UndefinedType); !u {
			var err error
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		if i != len(x)-1 {
			dst = append(dst, ',')
		}
	}
	return append(dst, ']'), nil
}

// UnsupportedValueError is returned when writing a value that has no mdsf
// form (a channel, a function, a complex number, a map with unsupported
// keys, or nesting deeper than MaxDepth).
type UnsupportedValueError struct {
	// Type is the Go type of the value.
	Type reflect.Type
	// Reason says why it cannot be written.
	Reason string
}

// Error returns a description of the problem.
func (e *UnsupportedValueError) Error() string {
	if e.Type == nil {
		return "mdsf: cannot write value: " + e.Reason
	}
	return "mdsf: cannot write value of type " + e.Type.String() + ": " + e.Reason
}

var errTooDeep = &UnsupportedValueError{Reason: "nested deeper than MaxDepth (cyclic?)"}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, x), nil
	case float64:
		return AppendNumber(dst, x), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case Object:
		if depth >= MaxDepth {
			return dst, errTooDeep
		}
		return appendObject(dst, x, depth+1)
	case []any:
		return appendArray(dst, x, depth)
	case UndefinedType:
		return append(dst, "undefined"...), nil
	case int:
		return appendInt(dst, int64(x)), nil
	case int64:
		return appendInt(dst, x), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return appendUint(dst, x), nil
	case uint:
		return appendUint(dst, uint64(x)), nil
	case float32:
		return AppendNumber(dst, float64(x)), nil
	case Raw:
		if len(x) == 0 {
			return append(dst, "undefined"...), nil
		}
		return append(dst, x...), nil
	case []byte:
		return appendBytes(dst, x), nil
	case map[string]any:
		if depth >= MaxDepth {
			return dst, errTooDeep
		}
		return appendStringMap(dst, x, depth+1)
	case Marshaler:
		if rv := reflect.ValueOf(x); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return append(dst, "null"...), nil
		}
		return appendMarshaler(dst, x)
	}
	return appendReflect(dst, reflect.ValueOf(v), depth)
}

func appendInt(dst []byte, i int64) []byte {
	if i > -1<<53 && i < 1<<53 {
		return strconv.AppendInt(dst, i, 10)
	}
	return AppendNumber(dst, float64(i))
}

func appendUint(dst []byte, u uint64) []byte {
	if u < 1<<53 {
		return strconv.AppendUint(dst, u, 10)
	}
	return AppendNumber(dst, float64(u))
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = append(dst, '\'')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '\'')
}

func appendMarshaler(dst []byte, m Marshaler) ([]byte, error) {
	b, err := m.MarshalMDSF()
	if err != nil {
		return dst, fmt.Errorf("mdsf: MarshalMDSF of %T: %w", m, err)
	}
	return append(dst, b...), nil
}

// isUndefinedText reports whether the member value just written is the
// text `undefined`, which the reference leaves out of objects.
func isUndefinedText(b []byte) bool { return string(b) == "undefined" }

func appendMember(dst []byte, first bool, key string, v any, depth int) ([]byte, bool, error) {
	if _, u := v.(UndefinedType); u {
		return dst, first, nil
	}
	mark := len(dst)
	if !first {
		dst = append(dst, ',')
	}
	dst = AppendKey(dst, key)
	dst = append(dst, ':')
	start := len(dst)
	dst, err := appendValue(dst, v, depth)
	if err != nil {
		return dst, first, err
	}
	if isUndefinedText(dst[start:]) {
		return dst[:mark], first, nil
	}
	return dst, false, nil
}

func appendObject(dst []byte, o Object, depth int) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	var err error
	order := indexOrder(len(o), func(i int) string { return o[i].Key })
	for j := range o {
		i := j
		if order != nil {
			i = order[j]
		}
		if dst, first, err = appendMember(dst, first, o[i].Key, o[i].Value, depth); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// indexOrder returns nil when no key is an array index; otherwise the order
// in which JavaScript lists the keys: array indexes ascending, then the rest
// in their order.
func indexOrder(n int, key func(int) string) []int {
	found := false
	for i := 0; i < n; i++ {
		if k := key(i); len(k) > 0 && k[0] >= '0' && k[0] <= '9' {
			if _, ok := arrayIndex(k); ok {
				found = true
				break
			}
		}
	}
	if !found {
		return nil
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return jsKeyCompare(key(a), key(b), false) })
	return order
}

// jsKeyCompare orders array-index keys first, ascending; other keys compare
// equal (keeping their order) unless sorted is set, then they compare as
// strings.
func jsKeyCompare(a, b string, sorted bool) int {
	ia, oka := arrayIndex(a)
	ib, okb := arrayIndex(b)
	switch {
	case oka && okb:
		return cmpU32(ia, ib)
	case oka:
		return -1
	case okb:
		return 1
	case sorted:
		return strings.Compare(a, b)
	}
	return 0
}

func cmpU32(a, b uint32) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func appendStringMap(dst []byte, m map[string]any, depth int) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return jsKeyCompare(a, b, true) })
	dst = append(dst, '{')
	first := true
	var err error
	for _, k := range keys {
		if dst, first, err = appendMember(dst, first, k, m[k], depth); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// AppendKey appends key as an object key: bare when it matches
// /^[a-zA-Z_$][\w$]*$/, otherwise as a quoted string (AppendString).
func AppendKey(dst []byte, key string) []byte {
	if bareKey(key) {
		return append(dst, key...)
	}
	return AppendString(dst, key)
}

func bareKey(key string) bool {
	if len(key) == 0 || !isIdentStart(key[0]) {
		return false
	}
	for i := 1; i < len(key); i++ {
		if !identPart[key[i]] {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a single-quoted string literal exactly as
// mdsf.stringify writes it: JSON.stringify's escaping (\" \\ \b \f \n \r \t,
// other control characters as \u00xx, unpaired surrogates as \udxxx) with
// ' written as \'. Unpaired surrogates are those Parse stores in generalized
// UTF-8 (see the package documentation); other bytes that are not valid
// UTF-8 are written as U+FFFD, which is what a Node.js peer would decode
// them as.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '\'')
	if len(s) >= bulkMin && verbatimASCII(s) {
		dst = append(dst, s...)
		return append(dst, '\'')
	}
	start := 0
	for i := 0; i < len(s); {
		if i = skipVerbatim(s, i); i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\'':
				dst = append(dst, '\\', '\'')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			i += n
			continue
		}
		dst = append(dst, s[start:i]...)
		if u, ok := surrogateAt(s[i:]); ok {
			if u < 0xDC00 {
				if lo, ok := surrogateAt(s[i+3:]); ok && lo >= 0xDC00 {
					dst = utf8.AppendRune(dst, 0x10000+(u-0xD800)<<10+(lo-0xDC00))
					i += 6
					start = i
					continue
				}
			}
			dst = append(dst, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&0xF], hexDigits[u>>4&0xF], hexDigits[u&0xF])
			i += 3
		} else {
			dst = append(dst, "\uFFFD"...)
			i += invalidLen(s[i:])
		}
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '\'')
}

// AppendNumber appends f formatted like JavaScript's Number#toString:
// integers without a fraction up to 1e21, shortest round-trip digits,
// exponent form (1e+21, 1e-7) outside [1e-7, 1e21), -0 as 0, and NaN,
// Infinity, -Infinity (which mdsf itself cannot read back).
func AppendNumber(dst []byte, f float64) []byte {
	switch {
	case f == 0:
		return append(dst, '0')
	case f != f:
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	if f > -1<<53 && f < 1<<53 && f == math.Trunc(f) {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	if b[0] == '-' {
		dst = append(dst, '-')
		b = b[1:]
	}
	// b is d[.ddd]e±xx
	ePos := 0
	for ePos < len(b) && b[ePos] != 'e' {
		ePos++
	}
	var digits [24]byte
	k := 0
	for _, c := range b[:ePos] {
		if c != '.' {
			digits[k] = c
			k++
		}
	}
	exp, _ := strconv.Atoi(string(b[ePos+1:]))
	n := exp + 1
	d := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for i := k; i < n; i++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for i := n; i < 0; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

var (
	marshalerType     = reflect.TypeFor[Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	undefinedType     = reflect.TypeFor[UndefinedType]()
)

func appendReflect(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if !v.IsValid() {
		return append(dst, "null"...), nil
	}
	if depth >= MaxDepth {
		return dst, errTooDeep
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(marshalerType) {
		return appendMarshaler(dst, v.Addr().Interface().(Marshaler))
	}
	if t.Implements(marshalerType) {
		if t.Kind() == reflect.Pointer && v.IsNil() {
			return append(dst, "null"...), nil
		}
		return appendMarshaler(dst, v.Interface().(Marshaler))
	}
	if t.Implements(textMarshalerType) && (t.Kind() != reflect.Pointer || !v.IsNil()) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return dst, fmt.Errorf("mdsf: MarshalText of %s: %w", t, err)
		}
		return AppendString(dst, string(b)), nil
	}
	switch t.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(dst, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return appendUint(dst, v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return AppendNumber(dst, v.Float()), nil
	case reflect.String:
		return AppendString(dst, v.String()), nil
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		e := v.Elem()
		if t.Kind() == reflect.Interface && e.Kind() != reflect.Pointer {
			return appendValue(dst, e.Interface(), depth+1)
		}
		return appendReflect(dst, e, depth+1)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(marshalerType) {
			return appendBytes(dst, v.Bytes()), nil
		}
		return appendList(dst, v, depth)
	case reflect.Array:
		return appendList(dst, v, depth)
	case reflect.Map:
		return appendMap(dst, v, depth)
	case reflect.Struct:
		if t == undefinedType {
			return append(dst, "undefined"...), nil
		}
		return appendStruct(dst, v, depth)
	}
	return dst, &UnsupportedValueError{Type: t, Reason: "no mdsf form"}
}

func appendList(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	dst = append(dst, '[')
	n := v.Len()
	for i := 0; i < n; i++ {
		e := v.Index(i)
		if !(e.Kind() == reflect.Interface && !e.IsNil() && e.Elem().Type() == undefinedType) && e.Type() != undefinedType {
			var err error
			if dst, err = appendReflect(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		if i != n-1 {
			dst = append(dst, ',')
		}
	}
	return append(dst, ']'), nil
}

func mapKeyString(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", &UnsupportedValueError{Type: k.Type(), Reason: "unsupported map key type"}
}

func appendMap(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	type kv struct {
		k string
		v reflect.Value
	}
	list := make([]kv, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := mapKeyString(it.Key())
		if err != nil {
			return dst, err
		}
		list = append(list, kv{k, it.Value()})
	}
	slices.SortFunc(list, func(a, b kv) int { return jsKeyCompare(a.k, b.k, true) })
	dst = append(dst, '{')
	first := true
	for _, e := range list {
		var err error
		ev := e.v
		if ev.Kind() == reflect.Interface && !ev.IsNil() && ev.Elem().Type() == undefinedType {
			continue
		}
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		dst = AppendKey(dst, e.k)
		dst = append(dst, ':')
		start := len(dst)
		if dst, err = appendReflect(dst, ev, depth+1); err != nil {
			return dst, err
		}
		if isUndefinedText(dst[start:]) {
			dst = dst[:mark]
			continue
		}
		first = false
	}
	return append(dst, '}'), nil
}

func appendStruct(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	info := structInfo(v.Type())
	dst = append(dst, '{')
	first := true
	for _, i := range info.order {
		f := &info.fields[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			continue
		}
		if f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		if fv.Kind() == reflect.Interface && !fv.IsNil() && fv.Elem().Type() == undefinedType || fv.Type() == undefinedType {
			continue
		}
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		dst = append(dst, f.keyText...)
		start := len(dst)
		var err error
		if dst, err = appendReflect(dst, fv, depth+1); err != nil {
			return dst, err
		}
		if isUndefinedText(dst[start:]) {
			dst = dst[:mark]
			continue
		}
		first = false
	}
	return append(dst, '}'), nil
}

func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 {
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					return reflect.Value{}, false
				}
				v = v.Elem()
			}
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
