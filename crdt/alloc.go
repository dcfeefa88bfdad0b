package crdt

import "unsafe"

// What the Go runtime allocates for the collections and values decoders
// build, as upper bounds, so that a decoder can take it from its Reader's
// allowance (wire.Reader.Presize and Charge) before allocating. The
// figures are those of the Go 1.24+ runtime; alloc_test.go checks them
// against runtime.MemStats.

// allocBytes bounds what one allocation of n bytes takes: the size
// classes are 16 bytes apart up to 128 and waste less than a fifth up to
// 32 KiB (the most, 18.7%, from 4097 to 4864), and larger objects take
// whole 8 KiB pages.
func allocBytes(n int) int {
	switch {
	case n <= 0:
		return 0
	case n <= 16:
		return 16
	case n <= 128:
		return (n + 15) &^ 15
	case n <= 32<<10:
		return n + n/5
	}
	return n + 8<<10
}

// Boxes: what storing a value in an interface allocates. Values of one
// byte (bool, int8, uint8) and pointer-shaped values (maps) take none; an
// empty string takes none.
const (
	boxString = 16 // a string header
	boxSlice  = 24 // a slice header
	boxWord   = 16 // an integer or float of 2 to 8 bytes: a block of the tiny allocator
	boxTime   = 24 // a time.Time
)

// mapHeader is the size of a Go map's header, which an empty map takes.
const mapHeader = 48

// mapBytes bounds what make(map[K]V, n) followed by n inserts allocates,
// slot being the size of one key and value side by side. A map of up to 8
// entries is one group of 8 slots and 8 control bytes; a larger one has
// tables of up to 1024 slots, a power of two in all, at most 7/8 full;
// several tables may split as they fill, which can double them.
func mapBytes(n, slot int) int {
	switch {
	case n <= 0:
		return mapHeader
	case n <= 8:
		return mapHeader + allocBytes(8+8*slot)
	}
	c := 8
	for c*7 < n*8 {
		c *= 2
	}
	tables := max(1, c/1024)
	g := c / 8 * (8 + 8*slot) // the groups
	if tables > 1 {
		g *= 2
	}
	return mapHeader + tables*(64+8<<10) + g + g/4
}

// mapSlot is the size of one slot of a map[K]V: key and value side by
// side, each kept by pointer if larger than 128 bytes.
func mapSlot[K comparable, V any]() int {
	var k K
	var v V
	switch big := uintptr(128); {
	case unsafe.Sizeof(k) > big && unsafe.Sizeof(v) > big:
		return 16
	case unsafe.Sizeof(k) > big:
		var slot struct {
			k *K
			v V
		}
		return int(unsafe.Sizeof(slot))
	case unsafe.Sizeof(v) > big:
		var slot struct {
			k K
			v *V
		}
		return int(unsafe.Sizeof(slot))
	}
	var slot struct {
		k K
		v V
	}
	return int(unsafe.Sizeof(slot))
}

// mapEntryBytes is what one entry of a map[K]V sized ahead takes, for
// wire.Reader.Presize: its slot and control byte, over the load factor of
// 7/8, twice for the rounding up to a power of two.
func mapEntryBytes[K comparable, V any]() int {
	return (mapSlot[K, V]()+1)*16/7 + 1
}

// sliceEntryBytes is what one element of a []T sized ahead takes.
func sliceEntryBytes[T any]() int {
	var t T
	return int(unsafe.Sizeof(t)) + 1
}

// tableEntryBytes is what one element of a dot store's table sized ahead
// takes: a hash and an entry per slot, at most 3/4 of the slots used.
func tableEntryBytes[E comparable]() int {
	var e storeEntry[E]
	return (4+int(unsafe.Sizeof(e)))*4/3 + 1
}
