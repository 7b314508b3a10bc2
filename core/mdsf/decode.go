package mdsf

import (
	"encoding"
	"encoding/base64"
	"errors"
	"math"
	"reflect"
	"strconv"
)

// DecodeError reports a value that cannot be stored in the Go target.
type DecodeError struct {
	// From names the mdsf value: "string", "number", "boolean", "null",
	// "undefined", "array" or "object" (with details for numbers out of
	// range).
	From string
	// To is the Go type of the target.
	To reflect.Type
	// Path locates the value inside the decoded one, such as "[1].name";
	// empty for the value itself.
	Path string
	// Err is an underlying error, from an Unmarshaler for example.
	Err error
}

// Error returns "mdsf: cannot decode <From> into <To>", followed by the
// path and the underlying error when there are any.
func (e *DecodeError) Error() string {
	s := "mdsf: cannot decode " + e.From + " into " + e.To.String()
	if e.Path != "" {
		s += " at " + e.Path
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Unmarshal parses data and stores the value in the Go value v points to,
// following the rules of Decode. If v implements Unmarshaler, it gets data
// as it is.
func Unmarshal(data []byte, v any) error {
	if u, ok := v.(Unmarshaler); ok {
		return u.UnmarshalMDSF(data)
	}
	src, err := Parse(data)
	if err != nil {
		return err
	}
	return Decode(src, v)
}

// Decode stores the generic value src (as Parse returns it; Go values are
// accepted too and are first passed through Marshal and Parse) in the Go
// value dst points to:
//
//   - numbers into any integer type when integral and in range, and into
//     floats; strings into strings, into []byte from base64, and into
//     encoding.TextUnmarshaler; booleans into bool;
//   - arrays into slices (replaced) and arrays (extra elements are an
//     error, missing ones zeroed);
//   - objects into structs (fields matched as Marshal names them, exactly
//     or else case-insensitively; unknown keys ignored) and into maps with
//     string or integer keys;
//   - null and undefined into the zero value of any type;
//   - anything into an empty interface as the generic value itself;
//   - into a pointer: a new value is allocated when it is nil;
//   - types implementing Unmarshaler get the Stringify text of src.
//
// A mismatch returns a *DecodeError such as
// `mdsf: cannot decode string into int`.
func Decode(src any, dst any) error {
	switch d := dst.(type) {
	case *any:
		*d = src
		return nil
	case *string:
		if s, ok := src.(string); ok {
			*d = s
			return nil
		}
	case *float64:
		if f, ok := src.(float64); ok {
			*d = f
			return nil
		}
	case *int:
		if f, ok := src.(float64); ok {
			if i := int(f); float64(i) == f && f >= math.MinInt64 && f < math.MaxInt64 {
				*d = i
				return nil
			}
		}
	case *int64:
		if f, ok := src.(float64); ok {
			if i := int64(f); float64(i) == f && f >= math.MinInt64 && f < math.MaxInt64 {
				*d = i
				return nil
			}
		}
	case *bool:
		if b, ok := src.(bool); ok {
			*d = b
			return nil
		}
	case *[]any:
		if a, ok := src.([]any); ok {
			*d = a
			return nil
		}
	case *Object:
		if o, ok := src.(Object); ok {
			*d = o
			return nil
		}
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &DecodeError{From: kindName(src), To: reflect.TypeOf(dst), Err: errors.New("target must be a non-nil pointer")}
	}
	if !isGeneric(src) {
		text, err := Marshal(src)
		if err != nil {
			return err
		}
		if src, err = Parse(text); err != nil {
			return err
		}
	}
	return decodeValue(src, rv.Elem(), "")
}

func isGeneric(v any) bool {
	switch v.(type) {
	case nil, string, float64, bool, Object, []any, UndefinedType:
		return true
	}
	return false
}

func kindName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case Object:
		return "object"
	case []any:
		return "array"
	case UndefinedType:
		return "undefined"
	}
	return reflect.TypeOf(v).String()
}

var (
	unmarshalerType     = reflect.TypeFor[Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func decodeValue(src any, v reflect.Value, path string) error {
	t := v.Type()
	if v.CanAddr() && reflect.PointerTo(t).Implements(unmarshalerType) && t.Kind() != reflect.Pointer {
		text, err := Marshal(src)
		if err != nil {
			return err
		}
		if err := v.Addr().Interface().(Unmarshaler).UnmarshalMDSF(text); err != nil {
			return &DecodeError{From: kindName(src), To: t, Path: path, Err: err}
		}
		return nil
	}
	switch src.(type) {
	case nil, UndefinedType:
		v.SetZero()
		return nil
	}
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return decodeValue(src, v.Elem(), path)
	}
	if t.Kind() == reflect.Interface {
		if t.NumMethod() == 0 {
			if src == nil {
				v.SetZero()
			} else {
				v.Set(reflect.ValueOf(src))
			}
			return nil
		}
		return &DecodeError{From: kindName(src), To: t, Path: path}
	}
	mismatch := func() error { return &DecodeError{From: kindName(src), To: t, Path: path} }
	switch x := src.(type) {
	case string:
		if v.CanAddr() && reflect.PointerTo(t).Implements(textUnmarshalerType) {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(x)); err != nil {
				return &DecodeError{From: "string", To: t, Path: path, Err: err}
			}
			return nil
		}
		switch {
		case t.Kind() == reflect.String:
			v.SetString(x)
			return nil
		case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
			b, err := base64.StdEncoding.DecodeString(x)
			if err != nil {
				return &DecodeError{From: "string", To: t, Path: path, Err: err}
			}
			v.SetBytes(b)
			return nil
		}
		return mismatch()
	case float64:
		switch t.Kind() {
		case reflect.Float32, reflect.Float64:
			v.SetFloat(x)
			return nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			i := int64(x)
			if float64(i) != x || x >= math.MaxInt64 || v.OverflowInt(i) {
				return &DecodeError{From: "number " + strconv.FormatFloat(x, 'g', -1, 64), To: t, Path: path}
			}
			v.SetInt(i)
			return nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			u := uint64(x)
			if x < 0 || x >= math.MaxUint64 || float64(u) != x || v.OverflowUint(u) {
				return &DecodeError{From: "number " + strconv.FormatFloat(x, 'g', -1, 64), To: t, Path: path}
			}
			v.SetUint(u)
			return nil
		}
		return mismatch()
	case bool:
		if t.Kind() == reflect.Bool {
			v.SetBool(x)
			return nil
		}
		return mismatch()
	case []any:
		switch t.Kind() {
		case reflect.Slice:
			s := reflect.MakeSlice(t, len(x), len(x))
			for i, e := range x {
				if err := decodeValue(e, s.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
					return err
				}
			}
			v.Set(s)
			return nil
		case reflect.Array:
			if len(x) > t.Len() {
				return &DecodeError{From: "array of " + strconv.Itoa(len(x)), To: t, Path: path}
			}
			v.SetZero()
			for i, e := range x {
				if err := decodeValue(e, v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
					return err
				}
			}
			return nil
		}
		return mismatch()
	case Object:
		switch t.Kind() {
		case reflect.Struct:
			sf := structInfo(t)
			for _, m := range x {
				f := sf.lookup(m.Key)
				if f == nil {
					continue
				}
				fv, err := fieldForWrite(v, f.index)
				if err != nil {
					return &DecodeError{From: kindName(m.Value), To: t, Path: path + "." + m.Key, Err: err}
				}
				if err := decodeValue(m.Value, fv, path+"."+m.Key); err != nil {
					return err
				}
			}
			return nil
		case reflect.Map:
			if v.IsNil() {
				v.Set(reflect.MakeMapWithSize(t, len(x)))
			}
			kt, et := t.Key(), t.Elem()
			for _, m := range x {
				k, err := mapKey(m.Key, kt)
				if err != nil {
					return &DecodeError{From: "object key " + strconv.Quote(m.Key), To: t, Path: path, Err: err}
				}
				e := reflect.New(et).Elem()
				if err := decodeValue(m.Value, e, path+"."+m.Key); err != nil {
					return err
				}
				v.SetMapIndex(k, e)
			}
			return nil
		}
		return mismatch()
	}
	return mismatch()
}

func fieldForWrite(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, errors.New("nil pointer to unexported embedded struct")
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

func mapKey(key string, kt reflect.Type) (reflect.Value, error) {
	if reflect.PointerTo(kt).Implements(textUnmarshalerType) {
		k := reflect.New(kt)
		if err := k.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(key)); err != nil {
			return reflect.Value{}, err
		}
		return k.Elem(), nil
	}
	k := reflect.New(kt).Elem()
	switch kt.Kind() {
	case reflect.String:
		k.SetString(key)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(key, 10, kt.Bits())
		if err != nil {
			return k, err
		}
		k.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(key, 10, kt.Bits())
		if err != nil {
			return k, err
		}
		k.SetUint(n)
	default:
		return k, errors.New("unsupported map key type")
	}
	return k, nil
}
