package mdsf

import "errors"

// Member is one key/value pair of an Object.
type Member struct {
	// Key is the property name.
	Key string
	// Value is the property value: a generic value (see the package
	// documentation) or, when writing, any Go value Marshal accepts.
	Value any
}

// Object is an mdsf object with its members in order. Parse produces
// members in the order a JavaScript object would list its keys: array-index
// keys ("0", "1", … ascending) first, then the others in the order read,
// with a repeated key kept at its first position and given its last value.
// For JSTP messages, whose keys are never numeric, this is the order read.
type Object []Member

// Get returns the value of the first member named key and whether there is
// one.
func (o Object) Get(key string) (any, bool) {
	for i := range o {
		if o[i].Key == key {
			return o[i].Value, true
		}
	}
	return nil, false
}

// UndefinedType is the type of Undefined.
type UndefinedType struct{}

// String returns "undefined".
func (UndefinedType) String() string { return "undefined" }

// Undefined is the JavaScript value undefined. Parse returns it for the
// literal `undefined` and for array holes (`[,1]`); when writing, object
// members whose value is Undefined are left out and array elements that are
// Undefined are written as holes, as the reference does.
var Undefined UndefinedType

// Raw is text that is already mdsf; Append and Marshal write it verbatim,
// and Unmarshal/Decode into a *Raw store the text of the value.
type Raw []byte

// MarshalMDSF returns r itself (or `undefined` when r is empty).
func (r Raw) MarshalMDSF() ([]byte, error) {
	if len(r) == 0 {
		return []byte("undefined"), nil
	}
	return r, nil
}

// UnmarshalMDSF stores a copy of data in *r.
func (r *Raw) UnmarshalMDSF(data []byte) error {
	if r == nil {
		return errors.New("mdsf: UnmarshalMDSF on nil *Raw")
	}
	*r = append((*r)[:0], data...)
	return nil
}

// Marshaler is implemented by types that write their own mdsf text. The
// returned text is written verbatim; it must be one valid mdsf value.
type Marshaler interface {
	MarshalMDSF() ([]byte, error)
}

// Unmarshaler is implemented by types that read their own mdsf text.
// Unmarshal and Decode pass it the text of one value (for Decode, the value
// written with Stringify).
type Unmarshaler interface {
	UnmarshalMDSF(data []byte) error
}
