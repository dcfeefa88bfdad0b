package crdt

import (
	"github.com/converge-go/converge/internal/wire"
)

// A Kind is the type tag every encoded value carries after the format
// version. Kinds are append-only: a tag is never reused or renumbered.
type Kind = wire.Kind

// The kinds of converge's types. Kinds 1–4 belong to packages hlc and
// vclock.
const (
	KindGCounter    = wire.KindGCounter
	KindPNCounter   = wire.KindPNCounter
	KindGSet        = wire.KindGSet
	KindTwoPSet     = wire.KindTwoPSet
	KindORSet       = wire.KindORSet
	KindRWSet       = wire.KindRWSet
	KindLWWRegister = wire.KindLWWRegister
	KindMVRegister  = wire.KindMVRegister
	KindEWFlag      = wire.KindEWFlag
	KindDWFlag      = wire.KindDWFlag
	KindLWWMap      = wire.KindLWWMap
	KindORMap       = wire.KindORMap
	KindCCounter    = wire.KindCCounter
	KindBCounter    = wire.KindBCounter
	KindList        = wire.KindList
)

// PeekKind returns the kind of the value encoded in b without decoding it,
// so that a receiver can pick the type to unmarshal into. It fails with
// [ErrUnsupported] on a format version this release does not read, and
// with [ErrMalformed] on version 0, which is never valid.
func PeekKind(b []byte) (Kind, error) {
	r := wire.NewReader(b, wire.Limits{})
	k, err := r.PeekKind()
	if err != nil {
		return 0, decodeErr("value", err)
	}
	return k, nil
}

// Decode decodes a value of any crdt kind: it reads the kind and returns a
// *GCounter, *PNCounter, *CCounter, *BCounter, *EWFlag or *DWFlag, or for the generic
// types a *GSet[any], *TwoPSet[any], *ORSet[any], *RWSet[any],
// *LWWRegister[any], *MVRegister[any], *LWWMap[any, any] or *List[any],
// whose elements are the Go values msgpack decodes to (string, int8,
// uint16, bool, ...). Set elements and map keys that Go cannot compare
// are refused; a List's elements need not be comparable. An ORMap's value type
// cannot be told from its bytes alone, so Decode refuses the ORMap kind
// with [ErrUnsupported]; so it does an unknown kind, never guessing. To get
// typed values, read the kind with [PeekKind] and call UnmarshalBinary on
// the type you expect.
//
// Decode uses [DefaultDecodeOptions]; see [DecodeOptions.Decode].
func Decode(b []byte) (any, error) { return DefaultDecodeOptions().Decode(b) }

// DecodeOptions bound what a decoder accepts, whatever the input claims.
// Zero fields take their values from [DefaultDecodeOptions].
type DecodeOptions struct {
	// MaxBytes is the largest input accepted.
	MaxBytes int
	// MaxElements bounds the sum of all array and map lengths in one
	// input, and so the number of entries a decoder may allocate.
	MaxElements int
	// MaxDepth bounds the nesting of arrays and maps.
	MaxDepth int
}

// DefaultDecodeOptions returns the bounds UnmarshalBinary and Decode use:
// 64 MiB, 4Mi elements, depth 32. They admit a set of a million elements
// and maps nested many levels deep; allocation is bounded by a small
// multiple of the input size whatever the limits. They are constants: to
// decode with other bounds, use a DecodeOptions of one's own.
func DefaultDecodeOptions() DecodeOptions { return DecodeOptions(wire.DefaultLimits) }

func (o DecodeOptions) limits() wire.Limits { return wire.Limits(o) }

// An Unmarshaler is a converge type that [DecodeOptions.Unmarshal] can
// decode into: every type of this package.
type Unmarshaler interface {
	UnmarshalBinary([]byte) error
	unmarshal(b []byte, lim wire.Limits) error
}

// Unmarshal decodes b into v within the bounds of o. On error v is
// unchanged.
func (o DecodeOptions) Unmarshal(b []byte, v Unmarshaler) error {
	return v.unmarshal(b, o.limits())
}

// Decode is [Decode] within the bounds of o.
func (o DecodeOptions) Decode(b []byte) (any, error) {
	k, err := PeekKind(b)
	if err != nil {
		return nil, err
	}
	var v Unmarshaler
	switch k {
	case KindGCounter:
		v = new(GCounter)
	case KindPNCounter:
		v = new(PNCounter)
	case KindGSet:
		v = new(GSet[any])
	case KindTwoPSet:
		v = new(TwoPSet[any])
	case KindORSet:
		v = new(ORSet[any])
	case KindRWSet:
		v = new(RWSet[any])
	case KindLWWRegister:
		v = new(LWWRegister[any])
	case KindMVRegister:
		v = new(MVRegister[any])
	case KindEWFlag:
		v = new(EWFlag)
	case KindDWFlag:
		v = new(DWFlag)
	case KindCCounter:
		v = new(CCounter)
	case KindBCounter:
		v = new(BCounter)
	case KindLWWMap:
		v = new(LWWMap[any, any])
	case KindList:
		v = new(List[any])
	default:
		reason := "kind " + k.String() + " is not a crdt kind"
		if k == KindORMap {
			reason = "an ORMap's value type cannot be told from its bytes: unmarshal it into the ORMap type you expect"
		}
		return nil, decodeErr("value", &DecodeError{Reason: reason, Err: ErrUnsupported})
	}
	if err := v.unmarshal(b, o.limits()); err != nil {
		return nil, err
	}
	return v, nil
}
