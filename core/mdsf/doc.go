// Package mdsf reads and writes mdsf, the Metarhia Data Serialization
// Format in which JSTP messages travel: a subset of JavaScript object
// literal syntax. It is byte-compatible with the reference implementation,
// the npm package mdsf 1.1.1 (the JavaScript parser that Node.js runs, and
// its stringify), and it is usable without the rest of JSTP.
//
//	v, err := mdsf.ParseString(`{call:[1,'auth'],signIn:['user','secret']}`)
//	// v is mdsf.Object{{"call", []any{1.0, "auth"}}, {"signIn", []any{"user", "secret"}}}
//	s, err := mdsf.Stringify(v) // `{call:[1,'auth'],signIn:['user','secret']}`
//
// # Generic values
//
// Parse returns generic values: Object (ordered members), []any, string,
// float64, bool, nil (null) and Undefined. Numbers are float64 as in
// JavaScript: integers beyond ±2^53 lose precision exactly as they do in
// Node.js (both sides round to the nearest float64), and writing an int64
// or uint64 beyond 2^53 writes that rounded value (2^63-1 is written as
// 9223372036854776000). Array holes parse as Undefined; a member whose
// value is undefined is left out, as are members named __proto__ (in the
// reference they set the prototype, not a property). Repeated keys keep
// their first position and last value, and array-index keys come first in
// ascending order: the key order of the JavaScript object.
//
// Strings are UTF-8. An escape producing an unpaired UTF-16 surrogate
// ('\ud800') is kept in generalized UTF-8 (the 3-byte form of the
// surrogate), which the writers turn back into the same escape; adjacent
// escaped surrogates pair up as in JavaScript. Input bytes that are not
// valid UTF-8 read as U+FFFD, one per maximal ill-formed subsequence,
// which is what a Node.js peer decodes them as; the writers do the same for
// such bytes in Go strings.
//
// # Grammar
//
// Parse accepts exactly what the reference parser accepts, including its
// quirks:
//
//   - values: objects, arrays, 'single' and "double" quoted strings,
//     numbers, true, false, null, undefined;
//   - string escapes \b \f \n \r \t \v, \xHH, \uHHHH, \u{H…} (1 to 8
//     digits, at most 10FFFF), \ followed by 1 to 3 octal digits (up to
//     \777 = U+01FF), and \ before any other character for that character
//     (so \ before a line break keeps the line break); raw line breaks and
//     control characters are allowed inside strings;
//   - numbers: an optional sign, then 0b…, 0o…, 0x… (lowercase prefixes)
//     or a decimal literal made of digits, '.', one sign and one e/E,
//     converted like parseFloat (its longest valid prefix: "1e" is 1,
//     "-+1" is -1, "1e400" is Infinity, "." is an error); a 0 followed by a
//     digit is an error;
//   - arrays: holes ([,1] has two elements, [1,,] too) and one trailing
//     comma;
//   - objects: keys are identifiers [A-Za-z_$][A-Za-z0-9_$]* or quoted
//     strings, immediately followed by ':' (no space or comment before the
//     colon); a trailing comma is allowed; "{ }" with space inside is an
//     error while "{}" is not;
//   - whitespace is space, \t, \n, \r, \v, \f; // and /* */ comments may
//     appear between tokens, but at most one at each point (two before an
//     array element and before a key that follows a comma), because the
//     reference skips one comment at a time.
//
// Nesting deeper than MaxDepth is an error. Errors are *SyntaxError values
// that give the byte offset and what was expected.
//
// The reference's optional native (C++) parser, which does not build in
// current Node.js, differs: it also accepts NaN, Infinity, 0X/0B/0O
// prefixes, spaces before ':', numeric and Unicode identifier keys, and
// rejects raw line breaks in strings and octal escapes. Peers run the
// JavaScript parser, so this package follows it.
//
// # Go values
//
// Marshal, Append and Stringify also take Go values: integers and floats
// become numbers (float32 values are widened, so float32(0.1) is written
// as 0.10000000149011612); strings become strings; []byte becomes a base64
// string as the reference writes Buffers; slices and arrays become arrays;
// maps with string or integer keys become objects with keys sorted (array
// indexes first, ascending, then the rest bytewise: the order JavaScript
// gives them); structs become objects with their exported fields in
// declaration order, named by an `mdsf:"name,omitempty"` tag, else a `json`
// tag, else the field name ("-" skips a field, omitempty leaves out false,
// 0, "", nil and empty values, and embedded structs' fields are promoted).
// Nil pointers and nil interfaces are written as null; nil slices and maps
// as [] and {}. Types implementing Marshaler write their own text, Raw is
// written verbatim, and encoding.TextMarshaler types are written as
// strings. Undefined members of objects are left out and Undefined array
// elements are written as holes. Writing NaN or ±Inf gives NaN, Infinity,
// -Infinity as the reference does, though no mdsf parser reads them back.
//
// Unmarshal and Decode store values into Go types; see Decode.
//
// # Framing
//
// On stream sockets each message is followed by a NUL byte; Splitter cuts
// a stream into messages and limits the unterminated tail to
// MaxMessageSize. A large message may be taken out of the Splitter's
// buffer (Splitter.Take) and kept beyond the call that delivered it.
//
// # Sending large strings without a copy
//
// Verbatim reports whether a string is written as it is between its
// quotes, and AppendArrayOmit writes an array with such strings left out,
// so that a caller can send them from their own memory with vectored I/O.
//
// # Assembly
//
// On amd64 the scan of long runs of plain string text (looking for quotes,
// backslashes, non-ASCII and control bytes) is a short assembly routine:
// AVX2, 64 bytes per step, where the CPU and the operating system support
// it (checked once, with CPUID and XGETBV), and SSE2, which every amd64
// CPU has, otherwise. Other architectures, and builds with the purego tag,
// use portable Go with the same results.
package mdsf
