package mdsf

import (
	"reflect"
	"slices"
	"strings"
	"sync"
)

type field struct {
	name      string
	keyText   []byte // the key as written, followed by ':'
	index     []int
	omitEmpty bool
}

type structFields struct {
	fields []field
	order  []int // write order: JavaScript key order of the names
	byName map[string]int
}

var fieldCache sync.Map // reflect.Type -> *structFields

// structInfo lists the fields of struct type t that are read and written:
// exported fields (and fields promoted from embedded structs), named by the
// `mdsf` tag, else the `json` tag, else the field name; a tag name "-"
// skips the field, option "omitempty" leaves out empty values.
func structInfo(t reflect.Type) *structFields {
	if c, ok := fieldCache.Load(t); ok {
		return c.(*structFields)
	}
	sf := &structFields{byName: map[string]int{}}
	type cand struct {
		f     field
		depth int
	}
	var cands []cand
	var walk func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, ok := f.Tag.Lookup("mdsf")
			if !ok {
				tag, ok = f.Tag.Lookup("json")
			}
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(slices.Clone(index), i)
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, idx, depth+1, seen)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			omit := false
			for opts != "" {
				var o string
				o, opts, _ = strings.Cut(opts, ",")
				if o == "omitempty" {
					omit = true
				}
			}
			cands = append(cands, cand{field{name: name, index: idx, omitEmpty: omit}, depth})
		}
	}
	walk(t, nil, 0, map[reflect.Type]bool{})
	// Shallower fields hide deeper ones of the same name.
	best := map[string]int{}
	for i, c := range cands {
		if j, ok := best[c.f.name]; !ok || c.depth < cands[j].depth {
			best[c.f.name] = i
		}
	}
	for i, c := range cands {
		if best[c.f.name] != i {
			continue
		}
		f := c.f
		f.keyText = append(AppendKey(nil, f.name), ':')
		sf.byName[f.name] = len(sf.fields)
		sf.fields = append(sf.fields, f)
	}
	order := indexOrder(len(sf.fields), func(i int) string { return sf.fields[i].name })
	if order == nil {
		order = make([]int, len(sf.fields))
		for i := range order {
			order[i] = i
		}
	}
	sf.order = order
	c, _ := fieldCache.LoadOrStore(t, sf)
	return c.(*structFields)
}

// lookup finds the field for key: exact name first, then a case-insensitive
// match, like encoding/json.
func (sf *structFields) lookup(key string) *field {
	if i, ok := sf.byName[key]; ok {
		return &sf.fields[i]
	}
	for i := range sf.fields {
		if strings.EqualFold(sf.fields[i].name, key) {
			return &sf.fields[i]
		}
	}
	return nil
}
