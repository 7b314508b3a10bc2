package mdsf

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects Parse accepts.
// The reference parser (mdsf 1.1.1's JavaScript parser, which is what runs
// in Node.js) is recursive and overflows the default Node.js stack at about
// 5400 levels; 5000 stays below that, so every text accepted here is also
// accepted there. Append and Marshal refuse values nested deeper, which also
// stops them on cyclic values.
const MaxDepth = 5000

// SyntaxError describes text Parse rejects.
type SyntaxError struct {
	// Offset is the byte offset in the input at which the problem was found.
	Offset int
	// Msg says what was found and what was expected there.
	Msg string
}

// Error returns "mdsf: <Msg> at offset <Offset>".
func (e *SyntaxError) Error() string {
	return "mdsf: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// Parse reads one mdsf value from data. The whole input must be that one
// value, with optional whitespace and a comment before and after it. The
// result is a generic value: Object, []any, string, float64, bool, nil or
// Undefined. Strings share one copy of data; data is not retained.
//
// The accepted grammar is the one of the reference's parser: see the
// package documentation. Bytes that are not valid UTF-8 are read the way
// Node.js decodes them, as U+FFFD.
func Parse(data []byte) (any, error) {
	if string(data) == "[]" {
		return emptyArray, nil // no copy of the input either
	}
	return parse(string(data), false)
}

// ParseString is Parse for text held in a string. Strings in the result
// share memory with s.
func ParseString(s string) (any, error) {
	return parse(s, false)
}

// ParseExact is Parse for text that is one value and nothing else: no
// whitespace or comment may come before or after it. A text it accepts
// reads the same when embedded in a larger one, which a text with a
// trailing line comment does not.
func ParseExact(data []byte) (any, error) {
	if string(data) == "[]" {
		return emptyArray, nil
	}
	return parse(string(data), true)
}

// ParseStringExact is ParseExact for text held in a string. Strings in the
// result share memory with s.
func ParseStringExact(s string) (any, error) {
	return parse(s, true)
}

// scratch holds per-parse working stacks, pooled between calls.
type scratch struct {
	vals  []any
	mems  []Member
	buf   []byte
	large *largeScratch // made by the first large input
}

// largeScratch is what parsing a large input uses besides scratch.
type largeScratch struct {
	boxes boxCache
	// shapes holds the last object completed at each depth (nil if it
	// had more than 32 members).
	shapes [predDepth]Object
}

// boxCache remembers, for one parse, the boxed form of recently read short
// strings, so that a string value repeated through a large message (an
// enum-like field, a tag, a city) is boxed into an interface, and decoded
// when it has escapes, once. It is direct-mapped: a slot is chosen by a
// cheap hash and a miss replaces its entry.
type boxCache [boxSlots]struct {
	s string
	v any
}

const (
	boxSlots = 256
	// boxMaxLen is the longest string the cache holds.
	boxMaxLen = 32
)

// boxMinInput is the input size from which Parse uses the cache: in small
// messages repeated string values are rare and clearing the cache would
// cost more than it saves. (A variable so that tests can lower it.)
var boxMinInput = 512

func boxSlot[T string | []byte](s T) int {
	n := len(s)
	h := uint(n)*0x9E37 ^ uint(s[0])*0x01000193 ^ uint(s[n>>1])*0x5bd1 ^ uint(s[n-1])*0x2F
	return int((h ^ h>>8) & (boxSlots - 1))
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

type parser struct {
	s      string
	i      int
	depth  int
	err    *SyntaxError
	st     *scratch
	boxes  *boxCache          // nil for small inputs
	shapes *[predDepth]Object // nil for small inputs
	vals   arena[any]         // array elements
	mems   arena[Member]      // object members

	// For large inputs (predict set), arrays and objects are written
	// straight into arena space sized like the last array or object
	// completed at the same depth (predV, 0 for none, and shapes): records
	// in a list usually have the same shape. One that turns out larger
	// moves to the stacks and is copied at the end like any other.
	predict bool
	predV   [predDepth]uint8
}

// predDepth is the nesting depth up to which sizes are predicted.
const predDepth = 32

// newParser returns a parser of s with its arenas set up but no scratch
// (p.st) yet.
func newParser(s string) parser {
	return parser{
		s:    s,
		vals: arena[any]{minChunk: 16, maxChunk: 1024, maxAlloc: 64},
		mems: arena[Member]{minChunk: 8, maxChunk: 512, maxAlloc: 32},
	}
}

// parse reads s as one value; exact forbids the whitespace and comments
// otherwise allowed around it.
func parse(s string, exact bool) (any, error) {
	p := newParser(s)
	if len(s) <= 4096 {
		// Size the first arena chunks from an upper bound on the number
		// of array elements and object members, so that a typical message
		// needs one chunk of each.
		commas := strings.Count(s, ",")
		p.vals.chunk = min(commas+strings.Count(s, "[")+1, 256)
		p.mems.chunk = min(commas+strings.Count(s, "{")+1, 128)
	}
	p.st = scratchPool.Get().(*scratch)
	if len(s) >= boxMinInput {
		if p.st.large == nil {
			p.st.large = new(largeScratch)
		}
		p.boxes, p.shapes = &p.st.large.boxes, &p.st.large.shapes
		p.predict = true
	}
	var v any
	var ok bool
	if exact && (len(s) == 0 || clutterStart[s[0]]) {
		ok = p.unexpected("a value")
	} else {
		v, ok = p.value()
	}
	if ok {
		if !exact && !p.clutter() {
			ok = false
		} else if p.i < len(p.s) {
			ok = p.unexpected("end of input")
		}
	}
	st := p.st
	// Popped entries are cleared as the parser goes; after an error the
	// stacks may still hold some.
	clear(st.vals)
	clear(st.mems)
	st.vals, st.mems = st.vals[:0], st.mems[:0]
	if p.boxes != nil {
		clear(p.boxes[:])
		clear(p.shapes[:])
	}
	if cap(st.buf) > 1<<16 {
		st.buf = nil
	}
	if cap(st.vals) > 1<<12 {
		st.vals = nil
	}
	if cap(st.mems) > 1<<12 {
		st.mems = nil
	}
	scratchPool.Put(st)
	if !ok {
		return nil, p.err
	}
	return v, nil
}

func (p *parser) fail(off int, format string, args ...any) bool {
	if p.err == nil {
		p.err = &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	return false
}

// describe names the character at offset i for an error message.
func (p *parser) describe(i int) string {
	if i >= len(p.s) {
		return "end of input"
	}
	c := p.s[i]
	if c < utf8.RuneSelf {
		if c < 0x20 || c == 0x7F {
			return fmt.Sprintf("character %U", rune(c))
		}
		return fmt.Sprintf("%q", rune(c))
	}
	r, n := utf8.DecodeRuneInString(p.s[i:])
	if r == utf8.RuneError && n <= 1 {
		return fmt.Sprintf("invalid UTF-8 byte 0x%02x", c)
	}
	return fmt.Sprintf("%q", r)
}

func (p *parser) unexpected(expected string) bool {
	return p.fail(p.i, "unexpected %s, expected %s", p.describe(p.i), expected)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// clutter skips whitespace, at most one comment and whitespace again: one
// skipClutter step of the reference parser, which takes no more than one
// comment at a time.
func (p *parser) clutter() bool {
	// Most tokens follow one another directly.
	return p.i < len(p.s) && !clutterStart[p.s[p.i]] || p.clutterSlow()
}

// clutterStart marks whitespace and '/'.
var clutterStart = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '\v': true, '\f': true, '/': true}

func (p *parser) clutterSlow() bool {
	s, i := p.s, p.i
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i+1 < len(s) && s[i] == '/' {
		switch s[i+1] {
		case '/':
			i += 2
			for i < len(s) && s[i] != '\n' && s[i] != '\r' {
				i++
			}
		case '*':
			start := i
			i += 2
			for {
				if i >= len(s) {
					p.i = len(s)
					return p.fail(start, "unterminated /* comment")
				}
				if s[i] == '*' && i+1 < len(s) && s[i+1] == '/' {
					i += 2
					break
				}
				i++
			}
		}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	p.i = i
	return true
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// value skips clutter and reads one value.
func (p *parser) value() (any, bool) {
	if !p.clutter() {
		return nil, false
	}
	if p.i >= len(p.s) {
		return nil, p.unexpected("a value")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '\'' || c == '"':
		if p.boxes != nil {
			return p.strBoxed()
		}
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return s, true
	case c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.':
		f, ok := p.number()
		if !ok {
			return nil, false
		}
		return boxNumber(f), true
	case c >= 'a' && c <= 'z':
		return p.literal()
	}
	return nil, p.unexpected("a value")
}

func (p *parser) literal() (any, bool) {
	start := p.i
	i := p.i
	for i < len(p.s) && p.s[i] >= 'a' && p.s[i] <= 'z' {
		i++
	}
	p.i = i
	switch p.s[start:i] {
	case "true":
		return true, true
	case "false":
		return false, true
	case "null":
		return nil, true
	case "undefined":
		return Undefined, true
	}
	return nil, p.fail(start, "unknown literal %q, expected true, false, null or undefined", p.s[start:i])
}

func (p *parser) enter() bool {
	p.depth++
	if p.depth > MaxDepth {
		return p.fail(p.i, "nesting deeper than %d levels", MaxDepth)
	}
	return true
}

func (p *parser) array() (any, bool) {
	if !p.enter() {
		return nil, false
	}
	p.i++ // '['
	depth := p.depth
	// In direct mode (see parser.predict) elements go to out[:n] until out
	// is full; full is the arena space starting at out, given back if
	// nothing else took arena space meanwhile.
	var out, full []any
	n, seq, direct := 0, 0, false
	if p.predict && depth < predDepth && p.predV[depth] > 0 {
		out, full = p.vals.allocFrom(int(p.predV[depth]))
		seq, direct = p.vals.seq, true
	}
	mark := len(p.st.vals)
	for {
		if p.peek() == ']' {
			break
		}
		if !p.clutter() {
			return nil, false
		}
		c := p.peek()
		var v any
		if c == ',' {
			v = Undefined
		} else if c == ']' {
			break
		} else {
			var ok bool
			if v, ok = p.value(); !ok {
				return nil, false
			}
		}
		switch {
		case !direct:
			p.st.vals = append(p.st.vals, v)
		case n < len(out):
			out[n] = v
			n++
		default:
			direct = false
			mark = len(p.st.vals)
			p.st.vals = append(append(p.st.vals, out[:n]...), v)
			clear(out)
			p.vals.giveBack(full, 0, seq)
		}
		if !p.clutter() {
			return nil, false
		}
		if c := p.peek(); c != ']' {
			if c != ',' || p.i >= len(p.s) {
				return nil, p.unexpected("',' or ']'")
			}
			p.i++
		}
	}
	p.i++ // ']'
	p.depth--
	if direct {
		if n < len(out) {
			p.vals.giveBack(full, n, seq)
		}
		p.predictVals(depth, n)
		if n == 0 {
			return emptyArray, true
		}
		return out[:n:n], true
	}
	n = len(p.st.vals) - mark
	p.predictVals(depth, n)
	if n == 0 {
		return emptyArray, true
	}
	out = p.vals.alloc(n)
	copy(out, p.st.vals[mark:])
	clear(p.st.vals[mark:])
	p.st.vals = p.st.vals[:mark]
	return out, true
}

// emptyArray is every empty array Parse returns, boxed once: boxing a
// slice allocates, and an empty array (the results of a method that
// returns nothing, "ok:[]") is common. It has no elements and no capacity,
// so sharing it is safe: an append to it allocates.
var emptyArray any = []any{}

// predictVals records n as the size predicted for the next array at
// depth, if it is at most 64 (the largest arena allocation).
func (p *parser) predictVals(depth, n int) {
	if p.predict && depth < predDepth {
		if n > 64 {
			n = 0
		}
		p.predV[depth] = uint8(n)
	}
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

// identPart marks the bytes [A-Za-z0-9_$] that continue an identifier key.
var identPart = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isIdentStart(byte(c)) || c >= '0' && c <= '9'
	}
	return
}()

// linearDedup is the member count up to which duplicate keys are found by
// comparing with every earlier key; larger objects use a map at the end.
const linearDedup = 16

func (p *parser) object() (any, bool) {
	if !p.enter() {
		return nil, false
	}
	p.i++ // '{'
	depth := p.depth
	// Direct mode: as in array. While the keys are those of shape (the
	// last object at this depth, whose keys are distinct) in the same
	// order, they need no check for repeats.
	var out, full []Member
	var shape Object
	n, seq, direct := 0, 0, false
	if p.predict && depth < predDepth && len(p.shapes[depth]) > 0 {
		shape = p.shapes[depth]
		out, full = p.mems.allocFrom(len(shape))
		seq, direct = p.mems.seq, true
	}
	sameShape := direct
	mark := len(p.st.mems)
	hasIndex, needDedup := false, false
	for {
		if p.peek() == '}' {
			break
		}
		if !p.clutter() {
			return nil, false
		}
		var key string
		c := p.peek()
		switch {
		case c == '\'' || c == '"':
			k, ok := p.str()
			if !ok {
				return nil, false
			}
			key = k
		case isIdentStart(c) && p.i < len(p.s):
			s, i := p.s, p.i+1
			for i < len(s) && identPart[s[i]] {
				i++
			}
			key = s[p.i:i]
			p.i = i
		default:
			return nil, p.unexpected("a string or identifier key")
		}
		if p.peek() != ':' || p.i >= len(p.s) {
			return nil, p.unexpected("':' right after the key")
		}
		p.i++
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		if _, undef := v.(UndefinedType); !undef && key != "__proto__" {
			switch {
			case !direct:
				if !setMember(p.st.mems[mark:], key, v, &needDedup) {
					p.st.mems = append(p.st.mems, Member{Key: key, Value: v})
					hasIndex = hasIndex || isIndexKey(key)
				}
			case sameShape && n < len(shape) && shape[n].Key == key:
				out[n] = Member{Key: key, Value: v}
				n++
				hasIndex = hasIndex || isIndexKey(key)
			case setMember(out[:n], key, v, &needDedup):
				sameShape = false
			case n < len(out):
				sameShape = false
				out[n] = Member{Key: key, Value: v}
				n++
				hasIndex = hasIndex || isIndexKey(key)
			default:
				direct = false
				mark = len(p.st.mems)
				p.st.mems = append(append(p.st.mems, out[:n]...), Member{Key: key, Value: v})
				hasIndex = hasIndex || isIndexKey(key)
				clear(out)
				p.mems.giveBack(full, 0, seq)
			}
		}
		if !p.clutter() {
			return nil, false
		}
		if c := p.peek(); c != '}' {
			if c != ',' || p.i >= len(p.s) {
				return nil, p.unexpected("',' or '}'")
			}
			p.i++
			if !p.clutter() {
				return nil, false
			}
		}
	}
	p.i++ // '}'
	p.depth--
	var mems []Member
	if direct {
		mems = out[:n]
	} else {
		mems = p.st.mems[mark:]
	}
	if needDedup {
		mems = dedupMembers(mems)
	}
	if hasIndex {
		orderIndexKeys(mems)
	}
	if direct {
		if len(mems) < len(out) {
			p.mems.giveBack(full, len(mems), seq)
		}
		out = mems[:len(mems):len(mems)]
	} else {
		out = p.mems.alloc(len(mems))
		copy(out, mems)
		clear(p.st.mems[mark:])
		p.st.mems = p.st.mems[:mark]
	}
	if p.predict && depth < predDepth {
		if len(out) > 32 {
			p.shapes[depth] = nil
		} else {
			p.shapes[depth] = out
		}
	}
	return Object(out), true
}

// setMember sets the value of the member of mems named key and reports
// whether there is one. Past linearDedup members it only notes that
// duplicates are to be removed at the end.
func setMember(mems []Member, key string, v any, needDedup *bool) bool {
	if len(mems) >= linearDedup {
		*needDedup = true
		return false
	}
	for i := range mems {
		if mems[i].Key == key {
			mems[i].Value = v
			return true
		}
	}
	return false
}

// isIndexKey reports whether key is an array index (see arrayIndex).
func isIndexKey(key string) bool {
	if len(key) > 0 && key[0] >= '0' && key[0] <= '9' {
		_, ok := arrayIndex(key)
		return ok
	}
	return false
}

// dedupMembers keeps the first position and the last value of every key.
func dedupMembers(mems []Member) []Member {
	seen := make(map[string]int, len(mems))
	n := 0
	for _, m := range mems {
		if j, ok := seen[m.Key]; ok {
			mems[j].Value = m.Value
			continue
		}
		seen[m.Key] = n
		mems[n] = m
		n++
	}
	clear(mems[n:])
	return mems[:n]
}

// arrayIndex reports whether key is a canonical array index ("0" to
// "4294967294"), which JavaScript objects list before other keys, ascending.
func arrayIndex(key string) (uint32, bool) {
	if len(key) == 0 || len(key) > 10 || key[0] == '0' && len(key) > 1 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 4294967294 {
		return 0, false
	}
	return uint32(n), true
}

// orderIndexKeys moves array-index keys to the front in ascending order,
// keeping the other keys in their order, like JavaScript's property order.
func orderIndexKeys(mems []Member) {
	sort.SliceStable(mems, func(a, b int) bool {
		ia, oka := arrayIndex(mems[a].Key)
		ib, okb := arrayIndex(mems[b].Key)
		if oka && okb {
			return ia < ib
		}
		return oka && !okb
	})
}

// bulkMin is how many plain bytes a string must start with for strScan
// to look for its end in bulk.
const bulkMin = 64

// strScan reads a quoted string at p.i. A string without escapes and with
// valid UTF-8 is returned as raw, the text between the quotes; otherwise it
// is decoded into p.st.buf and returned as dec (decoded is true), which is
// valid until the next string is read.
func (p *parser) strScan() (raw string, dec []byte, decoded, ok bool) {
	s := p.s
	q := s[p.i]
	start := p.i + 1
	i := start
	if vecMin == math.MaxInt && len(s)-start > bulkMin {
		// A long string (or a long rest of the input), where skipPlain
		// has no vector code: the first bytes decide. When they are
		// plain, find the closing quote with the vectorized IndexByte
		// and check the body with two more fast scans; anything unusual
		// goes the byte-wise way below. With vector code, skipPlain's
		// one pass is faster than these three.
		if j := skipPlain(s[:start+bulkMin], start); j == start+bulkMin {
			if n := strings.IndexByte(s[j:], q); n >= 0 {
				body := s[start : j+n]
				if strings.IndexByte(body, '\\') < 0 && utf8.ValidString(body) {
					p.i = j + n + 1
					return body, nil, false, true
				}
			}
		}
	}
	for {
		i = skipPlain(s, i)
		if i >= len(s) {
			p.i = len(s)
			return "", nil, false, p.fail(start-1, "unterminated string")
		}
		c := s[i]
		if c == q {
			p.i = i + 1
			return s[start:i], nil, false, true
		}
		if c == '\\' {
			break
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
			continue
		}
		i++ // the other quote
	}
	dec, ok = p.strSlow(start, i, q)
	return "", dec, true, ok
}

// str reads a quoted string at p.i.
func (p *parser) str() (string, bool) {
	raw, dec, decoded, ok := p.strScan()
	if decoded && ok {
		return string(dec), true
	}
	return raw, ok
}

// strBoxed reads a quoted string at p.i and returns it boxed, through
// p.boxes.
func (p *parser) strBoxed() (any, bool) {
	raw, dec, decoded, ok := p.strScan()
	if !ok {
		return nil, false
	}
	if !decoded {
		if n := len(raw); n == 0 || n > boxMaxLen {
			return raw, true
		}
		e := &p.boxes[boxSlot(raw)]
		if e.v != nil && e.s == raw {
			return e.v, true
		}
		e.s, e.v = raw, raw
		return e.v, true
	}
	if n := len(dec); n == 0 || n > boxMaxLen {
		return string(dec), true
	}
	e := &p.boxes[boxSlot(dec)]
	if e.v != nil && e.s == string(dec) {
		return e.v, true
	}
	str := string(dec)
	e.s, e.v = str, str
	return e.v, true
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

// strSlow decodes a string with escapes or invalid UTF-8 into p.st.buf;
// s[start:i] is plain text already checked.
func (p *parser) strSlow(start, i int, q byte) ([]byte, bool) {
	s := p.s
	b := append(p.st.buf[:0], s[start:i]...)
	defer func() { p.st.buf = b[:0] }()
	for {
		if i >= len(s) {
			p.i = len(s)
			return nil, p.fail(start-1, "unterminated string")
		}
		c := s[i]
		switch {
		case c == q:
			p.i = i + 1
			return b, true
		case c == '\\':
			i++
			if i >= len(s) {
				p.i = len(s)
				return nil, p.fail(start-1, "unterminated string")
			}
			e := s[i]
			switch e {
			case 'b':
				b = append(b, '\b')
				i++
			case 'f':
				b = append(b, '\f')
				i++
			case 'n':
				b = append(b, '\n')
				i++
			case 'r':
				b = append(b, '\r')
				i++
			case 't':
				b = append(b, '\t')
				i++
			case 'v':
				b = append(b, '\v')
				i++
			case '0', '1', '2', '3', '4', '5', '6', '7':
				var u rune
				n := 0
				for n < 3 && i < len(s) && isOctal(s[i]) {
					u = u*8 + rune(s[i]-'0')
					i++
					n++
				}
				b = utf8.AppendRune(b, u)
			case 'x':
				i++
				var u rune
				for n := 0; n < 2; n++ {
					if i >= len(s) {
						p.i = i
						return nil, p.fail(i, "unterminated string")
					}
					h := hexVal(s[i])
					if h < 0 {
						p.i = i
						return nil, p.unexpected("a hexadecimal digit")
					}
					u = u*16 + h
					i++
				}
				b = utf8.AppendRune(b, u)
			case 'u':
				i++
				var u rune
				if i < len(s) && s[i] == '{' {
					i++
					digits := 0
					for {
						if i >= len(s) {
							p.i = i
							return nil, p.fail(i, "unterminated string")
						}
						if s[i] == '}' {
							break
						}
						h := hexVal(s[i])
						if h < 0 {
							p.i = i
							return nil, p.unexpected("a hexadecimal digit or '}'")
						}
						digits++
						if digits > 8 {
							p.i = i
							return nil, p.fail(i, "invalid code point escape: more than 8 hexadecimal digits")
						}
						u = u*16 + h
						i++
					}
					if digits == 0 || u > 0x10FFFF {
						p.i = i
						return nil, p.fail(i, "invalid code point escape: want 1 to 8 hexadecimal digits up to 10FFFF")
					}
					i++
				} else {
					for n := 0; n < 4; n++ {
						if i >= len(s) {
							p.i = i
							return nil, p.fail(i, "unterminated string")
						}
						h := hexVal(s[i])
						if h < 0 {
							p.i = i
							return nil, p.unexpected("a hexadecimal digit")
						}
						u = u*16 + h
						i++
					}
				}
				b = appendUnit(b, u)
			default:
				// Any other escaped character stands for itself; non-ASCII
				// text is handled by the next iteration.
				if e < utf8.RuneSelf {
					b = append(b, e)
					i++
				}
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
				i += invalidLen(s[i:])
			} else {
				b = append(b, s[i:i+n]...)
				i += n
			}
		}
	}
}

// number reads a number at p.i (a sign, a digit or '.').
func (p *parser) number() (float64, bool) {
	s := p.s
	neg := false
	if c := s[p.i]; c == '+' || c == '-' {
		neg = c == '-'
		p.i++
	}
	// Fast path: plain decimal integer of up to 15 digits.
	i := p.i
	var n uint64
	for i < len(s) && i-p.i < 16 && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + uint64(s[i]-'0')
		i++
	}
	if d := i - p.i; d > 0 && d < 16 && (d == 1 || s[p.i] != '0') {
		if i >= len(s) || !isNumberChar(s[i]) && s[i] != 'b' && s[i] != 'o' && s[i] != 'x' {
			p.i = i
			f := float64(n)
			if neg {
				f = -f
			}
			return f, true
		}
		// Fast path: digits '.' digits, 15 digits in all at most. The
		// integer n and 10^k are exact float64 values, so one correctly
		// rounded division gives the correctly rounded result, as
		// parseFloat and strconv.ParseFloat do.
		if s[i] == '.' {
			j := i + 1
			for j < len(s) && j-p.i <= 16 && s[j] >= '0' && s[j] <= '9' {
				n = n*10 + uint64(s[j]-'0')
				j++
			}
			if k := j - i - 1; k > 0 && d+k <= 15 && (j >= len(s) || !isNumberChar(s[j])) {
				p.i = j
				f := float64(n) / pow10[k]
				if neg {
					f = -f
				}
				return f, true
			}
		}
	}
	base := 10
	if p.i < len(s) && s[p.i] == '0' && p.i+1 < len(s) {
		switch c := s[p.i+1]; {
		case c >= '0' && c <= '9':
			return 0, p.fail(p.i, "legacy octal literal %q, use 0o", s[p.i:p.i+2])
		case c == 'b':
			base = 2
		case c == 'o':
			base = 8
		case c == 'x':
			base = 16
		}
	}
	var f float64
	if base == 10 {
		var ok bool
		if f, ok = p.decimal(); !ok {
			return 0, false
		}
	} else {
		p.i += 2
		start := p.i
		for p.i < len(s) && hexVal(s[p.i]) >= 0 && int(hexVal(s[p.i])) < base {
			p.i++
		}
		if p.i == start {
			return 0, p.unexpected(fmt.Sprintf("a base-%d digit", base))
		}
		f = machineInt(s[start:p.i], base)
	}
	if neg {
		f = -f
	}
	return f, true
}

var pow10 = [16]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

func isNumberChar(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E'
}

// decimal reads the run of number characters the reference collects (each
// of '.', a sign and an exponent mark at most once) and converts its longest
// prefix that is a decimal literal, as JavaScript's parseFloat does.
func (p *parser) decimal() (float64, bool) {
	s := p.s
	start := p.i
	dot, sign, exp := false, false, false
	i := p.i
	for ; i < len(s) && isNumberChar(s[i]); i++ {
		var seen *bool
		switch s[i] {
		case '.':
			seen = &dot
		case '+', '-':
			seen = &sign
		case 'e', 'E':
			seen = &exp
		default:
			continue
		}
		if *seen {
			p.i = i
			return 0, p.unexpected("a number without a second " + strconv.QuoteRune(rune(s[i])))
		}
		*seen = true
	}
	p.i = i
	span := s[start:i]
	lit := decimalPrefix(span)
	if lit == "" {
		return 0, p.fail(start, "invalid number %q", span)
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, p.fail(start, "invalid number %q", span)
		}
	}
	return f, true
}

// decimalPrefix returns the longest prefix of span that is
// [sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits].
func decimalPrefix(span string) string {
	j := 0
	if j < len(span) && (span[j] == '+' || span[j] == '-') {
		j++
	}
	intStart := j
	for j < len(span) && span[j] >= '0' && span[j] <= '9' {
		j++
	}
	digits := j - intStart
	if j < len(span) && span[j] == '.' {
		k := j + 1
		for k < len(span) && span[k] >= '0' && span[k] <= '9' {
			k++
		}
		if digits > 0 || k > j+1 {
			digits += k - j - 1
			j = k
		}
	}
	if digits == 0 {
		return ""
	}
	if j < len(span) && (span[j] == 'e' || span[j] == 'E') {
		k := j + 1
		if k < len(span) && (span[k] == '+' || span[k] == '-') {
			k++
		}
		ds := k
		for k < len(span) && span[k] >= '0' && span[k] <= '9' {
			k++
		}
		if k > ds {
			j = k
		}
	}
	return span[:j]
}

// machineInt converts binary, octal or hexadecimal digits, rounding to the
// nearest float64 like JavaScript's parseInt.
func machineInt(digits string, base int) float64 {
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	bits := 4
	switch base {
	case 2:
		bits = 1
	case 8:
		bits = 3
	}
	if len(digits)*bits <= 64 {
		u, err := strconv.ParseUint(digits, base, 64)
		if err == nil {
			return float64(u)
		}
	}
	x, _ := new(big.Int).SetString(digits, base)
	f, _ := new(big.Float).SetInt(x).Float64()
	return f
}

// smallInts holds preboxed small integers so that common numbers (message
// ids, counts) are returned without an allocation.
var smallInts = func() (t [smallMax - smallMin + 1]any) {
	for i := range t {
		t[i] = float64(i + smallMin)
	}
	return
}()

const (
	smallMin = -1024
	smallMax = 4095
)

func boxNumber(f float64) any {
	if f >= smallMin && f <= smallMax {
		if i := int(f); float64(i) == f && (i != 0 || !math.Signbit(f)) {
			return smallInts[i-smallMin]
		}
	}
	return f
}
