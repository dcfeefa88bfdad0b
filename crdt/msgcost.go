package crdt

import (
	"encoding"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// Elements of the types without a codec of their own (structs, slices,
// typed maps, pointers...) are decoded by msgpack, whose allocation the
// bytes do not bound: a one-byte empty map becomes a struct of any size
// or a 48-byte Go map, a three-byte array of empty maps a slice of large
// structs. Before msgpack runs, readOther reads the value with the
// Reader and sums, node by node, what msgpack allocates for it as the Go
// type at that place; the Reader charges the sum to its allowance.
//
// A struct field is found by its name, which the bound does not read:
// a value inside a struct is bounded for every field type at once. So a
// costPlan stands for a set of Go types, the types a value at one place
// may be decoded as, and is built once per set.

// A costPlan bounds what decoding a value as any of types allocates;
// types without an allocation of their own (integers, structs of them)
// are left out, so an empty plan costs nothing.
type costPlan struct {
	types         []reflect.Type
	once          sync.Once
	arr, key, val *costPlan // the plans of an array's elements, a map's keys and values
}

var (
	plans    sync.Map // string (a set of types) → *costPlan
	top      sync.Map // reflect.Type → *costPlan of that type alone
	infos    sync.Map // reflect.Type → *typeInfo
	anyIface = reflect.TypeFor[any]()
	timeType = reflect.TypeFor[time.Time]()
	strType  = reflect.TypeFor[string]()
)

// topPlan returns the plan of t alone.
func topPlan(t reflect.Type) *costPlan {
	if p, ok := top.Load(t); ok {
		return p.(*costPlan)
	}
	p := planOf(t)
	top.Store(t, p)
	return p
}

// planOf returns the plan of the set ts.
func planOf(ts ...reflect.Type) *costPlan {
	set := make([]reflect.Type, 0, len(ts))
	for _, t := range ts {
		if !freeType(t) && !slices.Contains(set, t) {
			set = append(set, t)
		}
	}
	id := func(t reflect.Type) uintptr { return reflect.ValueOf(t).Pointer() }
	slices.SortFunc(set, func(a, b reflect.Type) int {
		switch x, y := id(a), id(b); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	var key strings.Builder
	for _, t := range set {
		key.WriteString(strconv.FormatUint(uint64(id(t)), 36))
		key.WriteByte(' ')
	}
	if p, ok := plans.Load(key.String()); ok {
		return p.(*costPlan)
	}
	p, _ := plans.LoadOrStore(key.String(), &costPlan{types: set})
	return p.(*costPlan)
}

// children builds the plans of what p's values contain.
func (p *costPlan) children() *costPlan {
	p.once.Do(func() {
		var arr, key, val []reflect.Type
		for _, t := range p.types {
			t = deref(t)
			switch {
			case customType(t) || t.Kind() == reflect.Interface:
				arr, key, val = append(arr, anyIface), append(key, strType), append(val, anyIface)
			case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
				arr = append(arr, t.Elem())
			case t.Kind() == reflect.Map:
				key, val = append(key, t.Key()), append(val, t.Elem())
			case t.Kind() == reflect.Struct:
				fs := fieldTypes(t, nil)
				arr, val = append(arr, fs...), append(val, fs...) // as an array or a map
			}
		}
		p.arr, p.key, p.val = planOf(arr...), planOf(key...), planOf(val...)
	})
	return p
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// What the bound needs to know of one type, worked out once.
type typeInfo struct {
	custom   bool // decoded by a method of its own (customType)
	free     bool // decoding it allocates nothing (freeType)
	embed    int  // embedCost
	keyCheck bool // may hold what cannot be a key (mayBeUnusable)
}

func infoOf(t reflect.Type) *typeInfo { return infoIn(t, nil) }

// infoIn is infoOf for a type met while working out the types of visiting,
// which contain it: a type that contains itself is taken as not free.
func infoIn(t reflect.Type, visiting []reflect.Type) *typeInfo {
	if v, ok := infos.Load(t); ok {
		return v.(*typeInfo)
	}
	if slices.Contains(visiting, t) {
		return &typeInfo{custom: isCustom(t), keyCheck: true}
	}
	visiting = append(visiting, t)
	info := &typeInfo{custom: isCustom(t)}
	info.free = isFree(t, info.custom, visiting)
	switch t.Kind() {
	case reflect.Struct:
		info.embed = embedCost(t, nil)
		for i := range t.NumField() {
			info.keyCheck = info.keyCheck || infoIn(t.Field(i).Type, visiting).keyCheck
		}
	case reflect.Array:
		info.keyCheck = infoIn(t.Elem(), visiting).keyCheck
	case reflect.Interface, reflect.Float32, reflect.Float64:
		info.keyCheck = true
	}
	infos.Store(t, info)
	return info
}

// customType reports whether msgpack decodes t with a method of its, whose
// allocation only the application knows; the bound takes t for an any.
func customType(t reflect.Type) bool { return infoOf(t).custom }

// freeType reports whether decoding a value as t allocates nothing,
// whatever the bytes: numbers and booleans, and arrays and structs of
// them.
func freeType(t reflect.Type) bool { return infoOf(t).free }

func isCustom(t reflect.Type) bool {
	if t == timeType {
		return false // msgpack's timestamp extension: no allocation
	}
	for _, u := range []reflect.Type{t, reflect.PointerTo(t)} {
		if u.Implements(reflect.TypeFor[msgpack.CustomDecoder]()) || u.Implements(reflect.TypeFor[msgpack.Unmarshaler]()) ||
			u.Implements(reflect.TypeFor[encoding.BinaryUnmarshaler]()) || u.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
			return true
		}
	}
	return false
}

func isFree(t reflect.Type, custom bool, visiting []reflect.Type) bool {
	switch {
	case t == timeType:
		return true
	case custom:
		return false
	case t.Kind() >= reflect.Bool && t.Kind() <= reflect.Complex128:
		return true
	case t.Kind() == reflect.Array:
		return infoIn(t.Elem(), visiting).free
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Tag.Get("msgpack") != "-" && (!infoIn(f.Type, visiting).free || f.Anonymous && f.Type.Kind() == reflect.Pointer) {
				return false
			}
		}
		return true
	}
	return false
}

// fieldTypes appends the types of t's fields, and of the fields of its
// embedded structs, which msgpack inlines.
func fieldTypes(t reflect.Type, out []reflect.Type) []reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("msgpack") == "-" {
			continue
		}
		out = append(out, f.Type)
		if e := deref(f.Type); f.Anonymous && e.Kind() == reflect.Struct && !slices.Contains(out, e) {
			out = fieldTypes(e, append(out, e))
		}
	}
	return out
}

// embedCost is what msgpack may allocate for the embedded pointers of a
// struct of type t, which it fills in when it sets an inlined field.
func embedCost(t reflect.Type, seen []reflect.Type) int {
	n := 0
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.Anonymous || deref(f.Type).Kind() != reflect.Struct || slices.Contains(seen, f.Type) {
			continue
		}
		seen = append(seen, f.Type)
		if f.Type.Kind() == reflect.Pointer {
			n += allocBytes(int(f.Type.Elem().Size()))
		}
		n += embedCost(deref(f.Type), seen)
	}
	return n
}

// Classes of msgpack values, for ownCost.
const (
	classNil = iota
	classSmall
	classWord // an integer or float of 2 to 8 bytes
	classStr
	classBin
	classExt
	classArray
	classMap
)

// ownCost bounds what msgpack allocates for a value of class c and length
// n (of a str, bin, ext, array or map) decoded as t, not counting what the
// value contains.
// mapDecodeCost is what msgpack allocates decoding a map of type t with
// n entries: it makes a new key and value per entry.
func mapDecodeCost(t reflect.Type, n int) int {
	ks, vs := int(t.Key().Size()), int(t.Elem().Size())
	slot := ks + vs + 8
	cost := n * (allocBytes(ks) + allocBytes(vs))
	// The map stores a key or a value over 128 bytes as a pointer to its
	// own copy.
	if ks > 128 {
		slot -= ks - 8
		cost += n * allocBytes(ks)
	}
	if vs > 128 {
		slot -= vs - 8
		cost += n * allocBytes(vs)
	}
	return mapBytes(n, slot) + cost
}

func ownCost(t reflect.Type, c, n int) int {
	extra := 0
	for t.Kind() == reflect.Pointer {
		if c == classNil {
			return extra
		}
		extra += allocBytes(int(t.Elem().Size()))
		t = t.Elem()
	}
	if customType(t) {
		return extra + anyOwnCost(c, n) + allocBytes(n)
	}
	switch t.Kind() {
	case reflect.Interface:
		return extra + anyOwnCost(c, n)
	case reflect.String:
		if c == classStr || c == classBin {
			return extra + allocBytes(n)
		}
	case reflect.Slice:
		switch {
		case c == classStr || c == classBin:
			return extra + allocBytes(n)
		case c == classArray:
			// msgpack makes the elements, then appends them to the
			// slice it has (growSliceValue): two arrays, and a slice
			// header on the heap for each reflect.Value.
			return extra + 2*allocBytes(n*int(t.Elem().Size())) + 2*32
		}
	case reflect.Map:
		if c == classMap {
			return extra + mapDecodeCost(t, n)
		}
	case reflect.Struct:
		if c == classMap || c == classArray {
			return extra + infoOf(t).embed
		}
	}
	return extra
}

// anyOwnCost is ownCost for an any: what readAny charges, or more where
// msgpack's reflection costs more.
func anyOwnCost(c, n int) int {
	switch c {
	case classWord:
		return boxWord
	case classStr:
		if n == 0 {
			return 0
		}
		return boxString + allocBytes(n)
	case classBin:
		return boxSlice + allocBytes(n)
	case classExt:
		// msgpack makes a new value of the extension's type, and boxes
		// a copy of it.
		return 2*boxTime + allocBytes(n)
	case classArray:
		return boxSlice + allocBytes(16*n)
	case classMap:
		return mapBytes(n, anySlot)
	}
	return 0
}

// msgpackCost reads one value and returns a bound on what msgpack
// allocates decoding it as any type of p. It checks lengths, depth and
// element counts as Reader.Raw does.
func msgpackCost(r *wire.Reader, p *costPlan) int {
	if len(p.types) == 0 {
		r.Raw()
		return 0
	}
	c, ok := r.Peek()
	if !ok {
		return 0
	}
	class, n := classOf(r, c)
	if class == classArray || class == classMap {
		return containerCost(r, p, class)
	}
	return p.ownCost(class, n)
}

// classOf reads a value of first byte c, but for an array's or a map's
// elements, and returns its cost class and size.
func classOf(r *wire.Reader, c byte) (class, n int) {
	switch anyClasses[c] {
	case anyArray:
		return classArray, 0
	case anyMap:
		return classMap, 0
	case anyStr:
		return classStr, len(r.StrBytes())
	case anyBin:
		return classBin, len(r.Bytes())
	case anyExt:
		return classExt, len(r.Raw())
	case anyNil:
		class = classNil
	case anyUint, anyInt, anyFloat:
		class = classWord
	default:
		class = classSmall
	}
	r.Raw()
	return class, 0
}

// ownCost is the most any type of p costs for a value of class and size
// n, without its elements.
func (p *costPlan) ownCost(class, n int) int {
	cost := 0
	for _, t := range p.types {
		cost = max(cost, ownCost(t, class, n))
	}
	return cost
}

// containerCost reads an array or a map (class) and returns what it
// costs, its elements included.
func containerCost(r *wire.Reader, p *costPlan, class int) int {
	var n int
	if class == classArray {
		n = r.ArrayLen()
	} else {
		n = r.MapLen()
	}
	if r.Failed() || !r.Enter() {
		return 0
	}
	defer r.Leave()
	cost := p.ownCost(class, n)
	ch := p.children()
	for i := 0; i < n && !r.Failed(); i++ {
		if class == classArray {
			cost += msgpackCost(r, ch.arr)
		} else {
			cost += msgpackCost(r, ch.key)
			cost += msgpackCost(r, ch.val)
		}
	}
	return cost
}
