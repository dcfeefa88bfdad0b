package crdt

import (
	"strconv"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// Both flags are sets of one element, the value true: an EWFlag is an
// ORSet of it, a DWFlag an RWSet of it. That reuses the dot store, its
// delta merges and its encoding, at the cost of one byte per dot on the
// wire for the element.

// An EWFlag is an enable-wins flag: when an enable and a disable are
// concurrent, the flag ends enabled. Enabling adds a dot; disabling removes
// the dots it observed, leaving no metadata.
//
// The zero EWFlag is disabled and ready to use. It is not safe for
// concurrent use; use [EWFlag.Clone] rather than copying a value.
type EWFlag struct {
	m dotMap[bool]
}

var (
	_ msgpack.CustomEncoder = (*EWFlag)(nil)
	_ msgpack.CustomDecoder = (*EWFlag)(nil)
)

type flagDelta[F any] struct {
	f F
	p deltaParts[bool]
}

// Enable enables the flag as replica id and returns the delta.
func (f *EWFlag) Enable(id vclock.ReplicaID) *EWFlag {
	d := &flagDelta[EWFlag]{}
	f.m.write(id, true, false, &d.f.m, &d.p)
	return &d.f
}

// Disable disables the flag and returns the delta. An enable it has not
// observed wins. The id is not needed — disabling removes the enables
// observed — and is taken so that EWFlag and DWFlag are interchangeable.
func (f *EWFlag) Disable(id vclock.ReplicaID) *EWFlag {
	d := &EWFlag{}
	f.m.forget(true, &d.m)
	return d
}

// Value reports whether the flag is enabled.
func (f *EWFlag) Value() bool { return f.m.st.len() > 0 }

// IsDelta reports whether f is a delta, as Enable and Disable return, or
// joined from such: a state whose causal context speaks only for the
// writes it lists.
func (f *EWFlag) IsDelta() bool { return f.m.partial }

// Merge joins o into f. It is commutative, associative and idempotent.
func (f *EWFlag) Merge(o *EWFlag) { f.m.merge(&o.m) }

// Clone returns an independent copy of f.
func (f *EWFlag) Clone() *EWFlag { return &EWFlag{m: f.m.clone()} }

// Equal reports whether f and o are the same state, dots and causal
// context included.
func (f *EWFlag) Equal(o *EWFlag) bool { return f.m.equal(&o.m) }

// Context returns a copy of the causal context.
func (f *EWFlag) Context() *vclock.Context { return f.m.ctx.toContext() }

// ValidateMerge returns a *ValidationError if one dot is an enable in one
// state and not the other's; see [ORSet.ValidateMerge].
func (f *EWFlag) ValidateMerge(o *EWFlag) error { return f.m.validate(&o.m, "EWFlag") }

// String returns "true" or "false".
func (f *EWFlag) String() string { return strconv.FormatBool(f.Value()) }

// AppendBinary appends the encoding of f: an ORSet of the element true
// under kind 24 (docs/wire-format.md).
func (f *EWFlag) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendHeader(b, wire.KindEWFlag, dotMapFields)
	return f.m.appendTo(b, false)
}

// MarshalBinary returns the canonical encoding of f.
func (f *EWFlag) MarshalBinary() ([]byte, error) { return f.AppendBinary(nil) }

// UnmarshalBinary replaces f with the flag encoded in b; on error f is
// unchanged.
func (f *EWFlag) UnmarshalBinary(b []byte) error { return f.unmarshal(b, wire.Limits{}) }

func (f *EWFlag) unmarshal(b []byte, lim wire.Limits) error {
	var v EWFlag
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(f, v, &r, "EWFlag")
}

// readValue reads a top-level EWFlag into f, which must be zero.
func (f *EWFlag) readValue(r *wire.Reader) { f.m = readFlag(r, wire.KindEWFlag, false) }

func readFlag(r *wire.Reader, k wire.Kind, tagged bool) dotMap[bool] {
	r.Header(k, dotMapFields)
	return checkFlag(r, readDotMap[bool](r, tagged))
}

// checkFlag fails r if a flag's store holds the element false.
func checkFlag(r *wire.Reader, m dotMap[bool]) dotMap[bool] {
	_, stored := m.st.get(false)
	_, gone := m.gone[false]
	if !r.Failed() && (stored || gone) {
		r.FailAt(r.Offset(), "a flag's only element is true")
	}
	return m
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (f *EWFlag) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, f) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (f *EWFlag) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, f, "EWFlag") }

// A DWFlag is a disable-wins flag: when an enable and a disable are
// concurrent, the flag ends disabled. Both operations add a dot and replace
// the dots they observed; a disable's dot is marked, and the flag is
// enabled when it holds dots and none is a disable. So a disable keeps one
// dot per concurrent disabler until the next enable.
//
// The zero DWFlag is disabled and ready to use (the delta-CRDT papers'
// DWFlag starts enabled; starting disabled keeps zero values meaning
// "off" across converge). It is not safe for concurrent use; use
// [DWFlag.Clone] rather than copying a value.
type DWFlag struct {
	m dotMap[bool]
}

var (
	_ msgpack.CustomEncoder = (*DWFlag)(nil)
	_ msgpack.CustomDecoder = (*DWFlag)(nil)
)

// Enable enables the flag as replica id and returns the delta. A disable
// it has not observed wins.
func (f *DWFlag) Enable(id vclock.ReplicaID) *DWFlag {
	d := &flagDelta[DWFlag]{}
	f.m.write(id, true, false, &d.f.m, &d.p)
	return &d.f
}

// Disable disables the flag as replica id and returns the delta. It wins
// over every enable it has not observed.
func (f *DWFlag) Disable(id vclock.ReplicaID) *DWFlag {
	d := &flagDelta[DWFlag]{}
	f.m.write(id, true, true, &d.f.m, &d.p)
	return &d.f
}

// Value reports whether the flag is enabled.
func (f *DWFlag) Value() bool { return f.m.st.len() > 0 && f.m.nrm == 0 }

// IsDelta reports whether f is a delta, as [EWFlag.IsDelta] says.
func (f *DWFlag) IsDelta() bool { return f.m.partial }

// Merge joins o into f. It is commutative, associative and idempotent.
func (f *DWFlag) Merge(o *DWFlag) { f.m.merge(&o.m) }

// Clone returns an independent copy of f.
func (f *DWFlag) Clone() *DWFlag { return &DWFlag{m: f.m.clone()} }

// Equal reports whether f and o are the same state, dots and causal
// context included.
func (f *DWFlag) Equal(o *DWFlag) bool { return f.m.equal(&o.m) }

// Context returns a copy of the causal context.
func (f *DWFlag) Context() *vclock.Context { return f.m.ctx.toContext() }

// ValidateMerge returns a *ValidationError if one dot is an enable in one
// state and a disable in the other; see [ORSet.ValidateMerge].
func (f *DWFlag) ValidateMerge(o *DWFlag) error { return f.m.validate(&o.m, "DWFlag") }

// String returns "true" or "false".
func (f *DWFlag) String() string { return strconv.FormatBool(f.Value()) }

// AppendBinary appends the encoding of f: an RWSet of the element true
// under kind 25 (docs/wire-format.md).
func (f *DWFlag) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendHeader(b, wire.KindDWFlag, dotMapFields)
	return f.m.appendTo(b, true)
}

// MarshalBinary returns the canonical encoding of f.
func (f *DWFlag) MarshalBinary() ([]byte, error) { return f.AppendBinary(nil) }

// UnmarshalBinary replaces f with the flag encoded in b; on error f is
// unchanged.
func (f *DWFlag) UnmarshalBinary(b []byte) error { return f.unmarshal(b, wire.Limits{}) }

func (f *DWFlag) unmarshal(b []byte, lim wire.Limits) error {
	var v DWFlag
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(f, v, &r, "DWFlag")
}

// readValue reads a top-level DWFlag into f, which must be zero.
func (f *DWFlag) readValue(r *wire.Reader) { f.m = readFlag(r, wire.KindDWFlag, true) }

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (f *DWFlag) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, f) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (f *DWFlag) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, f, "DWFlag") }
