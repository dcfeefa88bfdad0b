package boltstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
)

// Version is the format version this package writes, and the newest it
// reads: of the database's meta bucket and of the log's header.
const Version = 1

const (
	logMagic    = "cvgwal\x00" // then one byte: the version
	logHeader   = len(logMagic) + 1
	frameHeader = 24 // length u32, checksum u32, sequence u64, floor u64
	// MaxRecord is the largest record Append takes, and the largest
	// length a frame of the log may declare.
	MaxRecord = 1<<31 - 1
	// allocChunk is the step by which the log's blocks are reserved.
	allocChunk = 8 << 20
)

var (
	bucket      = []byte("converge")
	keyFormat   = []byte("format")
	keyThrough  = []byte("through")
	keyFloor    = []byte("floor")
	keySnapshot = []byte("snapshot")
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

// ErrNewerFormat is matched (errors.Is) by the error of Open on files
// written in a format newer than [Version]: upgrade the program, never
// downgrade the data. The error is a [*FormatError].
var ErrNewerFormat = errors.New("boltstore: format newer than this program reads")

// ErrCorrupt is matched by the error of Open or Load on data that fails
// its checksum, or whose parts do not fit together, anywhere but at the
// log's tail (which Open truncates, see [Recovery]).
var ErrCorrupt = errors.New("boltstore: corrupt store")

// ErrLocked is matched by the error of Open on a database another
// process, or another Store, has open.
var ErrLocked = errors.New("boltstore: database in use")

// A FormatError reports a file of a newer format than [Version].
type FormatError struct {
	Path      string
	Found     uint64
	Supported uint64
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("boltstore: %s is of format %d; this program reads up to %d", e.Path, e.Found, e.Supported)
}

// Is makes a FormatError match [ErrNewerFormat].
func (e *FormatError) Is(target error) bool { return target == ErrNewerFormat }

// Recovery is what Open dropped from the log's tail: frames torn by a
// crash in the middle of an Append, which no caller was told were
// durable, or damaged since.
type Recovery struct {
	// Records counts the frames dropped, as far as their headers can be
	// read: at least 1 when Bytes is not 0.
	Records int
	// Bytes is the size of the tail truncated.
	Bytes int64
}

// A Store is a [merge.Store] on disk: the snapshot, and the meta data,
// in a bbolt database at the path given to Open, and the records
// appended since in a log next to it (the path plus ".log"), one fsync
// (fdatasync, on Linux, into blocks reserved ahead) per Append. It is safe for concurrent use as merge.Store requires, and
// holds an exclusive lock on the database until Close.
type Store struct {
	path    string
	db      *bolt.DB
	compact sync.Mutex // one Compact at a time

	mu        sync.Mutex // guards what follows, and the log's writes
	log       *os.File
	size      int64   // bytes of whole frames in the log, header included
	alloc     int64   // bytes reserved for the log (see preallocate)
	first     uint64  // sequence number of the log's first frame
	offsets   []int64 // offsets[i] is where frame first+i starts
	next      uint64  // sequence number of the next record
	through   uint64  // records below it are in the snapshot
	floor     hlc.Timestamp
	recovered Recovery
	closed    bool
}

var _ merge.Store = (*Store)(nil)

// Open opens the store at path, creating it if there is none, and checks
// it: formats newer than [Version] are refused with a [*FormatError], and
// damage other than at the log's tail with [ErrCorrupt]; a torn or
// damaged tail is truncated to the last whole record, and reported by
// [Store.Recovered]. Open waits up to a second for another process's
// lock, then fails with [ErrLocked].
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        time.Second,
		NoFreelistSync: true, // rebuilt at open: less to write per commit
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s: %w", ErrLocked, path, err)
		}
		return nil, fmt.Errorf("boltstore: opening %s: %w", path, err)
	}
	s := &Store{path: path, db: db}
	if err := s.open(); err != nil {
		db.Close()
		if s.log != nil {
			s.log.Close()
		}
		return nil, err
	}
	return s, nil
}

func (s *Store) logPath() string { return s.path + ".log" }

// open reads the meta data, then the log, truncating its tail if torn.
func (s *Store) open() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			b, err := tx.CreateBucket(bucket)
			if err != nil {
				return err
			}
			return errors.Join(b.Put(keyFormat, u64(Version)), b.Put(keyThrough, u64(0)), b.Put(keyFloor, u64(0)))
		}
		format, err := getU64(b, keyFormat)
		if err != nil {
			return err
		}
		if format > Version {
			return &FormatError{Path: s.path, Found: format, Supported: Version}
		}
		if s.through, err = getU64(b, keyThrough); err != nil {
			return err
		}
		floor, err := getU64(b, keyFloor)
		s.floor = hlc.Timestamp(floor)
		return err
	})
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) || errors.Is(err, ErrCorrupt) {
			return err
		}
		return fmt.Errorf("boltstore: %s: %w", s.path, err)
	}
	// A rotation that crashed before its rename leaves its new log.
	if err := os.Remove(s.logPath() + ".tmp"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("boltstore: %w", err)
	}
	if s.log, err = os.OpenFile(s.logPath(), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	fi, err := s.log.Stat()
	if err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	if fi.Size() < int64(logHeader) {
		// New, or torn before its header was whole: nothing in it was
		// ever acknowledged.
		if err := s.writeHeader(s.log); err != nil {
			return err
		}
		s.first, s.next, s.size, s.alloc = s.through, s.through, int64(logHeader), int64(logHeader)
		return syncDir(s.logPath())
	}
	return s.scan(fi.Size())
}

// scan reads the log's frames, checking each, and truncates the log after
// the last whole one.
func (s *Store) scan(size int64) error {
	r := bufio.NewReaderSize(io.NewSectionReader(s.log, 0, size), 1<<16)
	var head [logHeader]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return fmt.Errorf("boltstore: reading %s: %w", s.logPath(), err)
	}
	if string(head[:len(logMagic)]) != logMagic {
		return fmt.Errorf("%w: %s is not a converge log", ErrCorrupt, s.logPath())
	}
	if v := uint64(head[len(logMagic)]); v > Version {
		return &FormatError{Path: s.logPath(), Found: v, Supported: Version}
	}
	off := int64(logHeader)
	n := 0
	for {
		f, err := readFrame(r, size-off)
		if err != nil {
			break
		}
		if n == 0 {
			if f.seq > s.through {
				return fmt.Errorf("%w: %s starts at record %d, and the snapshot holds only those below %d", ErrCorrupt, s.logPath(), f.seq, s.through)
			}
			s.first = f.seq
		} else if f.seq != s.first+uint64(n) {
			break // out of sequence: a damaged tail
		}
		s.offsets = append(s.offsets, off)
		s.floor = max(s.floor, f.floor)
		off += int64(frameHeader + len(f.data))
		n++
	}
	if n == 0 {
		s.first = s.through
	}
	s.next = max(s.through, s.first+uint64(n))
	s.size, s.alloc = off, size
	zeros, err := allZero(io.NewSectionReader(s.log, off, size-off))
	if err != nil {
		return fmt.Errorf("boltstore: reading %s: %w", s.logPath(), err)
	}
	if off < size && !zeros {
		// Count what the tail's headers still tell, then cut it.
		rest := io.NewSectionReader(s.log, off, size-off)
		s.recovered = Recovery{Records: max(1, countFrames(rest, size-off)), Bytes: size - off}
		if err := s.log.Truncate(off); err != nil {
			return fmt.Errorf("boltstore: truncating %s: %w", s.logPath(), err)
		}
		if err := s.log.Sync(); err != nil {
			return fmt.Errorf("boltstore: %w", err)
		}
		s.alloc = off
	}
	return nil
}

// allZero reports whether r holds zeros only: the reserved end of a log,
// past its last frame, which is no damage.
func allZero(r io.Reader) (bool, error) {
	buf := make([]byte, 1<<16)
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return false, nil
			}
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

type frame struct {
	seq   uint64
	floor hlc.Timestamp
	data  []byte
}

var errFrame = errors.New("bad frame")

// readFrame reads one frame of at most left bytes, checking its sum.
func readFrame(r io.Reader, left int64) (frame, error) {
	var h [frameHeader]byte
	if left < frameHeader {
		return frame{}, errFrame
	}
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return frame{}, errFrame
	}
	n := int64(binary.BigEndian.Uint32(h[0:]))
	if n > MaxRecord || n > left-frameHeader {
		return frame{}, errFrame
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return frame{}, errFrame
	}
	sum := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, data)
	if sum != binary.BigEndian.Uint32(h[4:]) {
		return frame{}, errFrame
	}
	return frame{seq: binary.BigEndian.Uint64(h[8:]), floor: hlc.Timestamp(binary.BigEndian.Uint64(h[16:])), data: data}, nil
}

// countFrames counts the frames whose headers fit in a damaged tail.
func countFrames(r io.ReaderAt, size int64) int {
	n := 0
	var h [frameHeader]byte
	for off := int64(0); off+frameHeader <= size; n++ {
		if _, err := r.ReadAt(h[:], off); err != nil {
			break
		}
		off += frameHeader + int64(binary.BigEndian.Uint32(h[0:]))
	}
	return n
}

func appendFrame(b []byte, seq uint64, floor hlc.Timestamp, data []byte) []byte {
	at := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(floor))
	b = append(b, data...)
	sum := crc32.Update(crc32.Checksum(b[at+8:at+frameHeader], castagnoli), castagnoli, data)
	binary.BigEndian.PutUint32(b[at+4:], sum)
	return b
}

func (s *Store) writeHeader(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	if _, err := f.WriteAt(append([]byte(logMagic), Version), 0); err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	return nil
}

// syncDir makes a file's creation or renaming durable.
func syncDir(file string) error {
	d, err := os.Open(filepath.Dir(file))
	if err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("boltstore: syncing %s: %w", filepath.Dir(file), err)
	}
	return nil
}

// Recovered reports what Open truncated from the log's tail.
func (s *Store) Recovered() Recovery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// Load returns the snapshot and the records after it. It holds the
// Store's lock only to take a consistent view — a read transaction and
// the log's length — and reads outside it.
func (s *Store) Load() (merge.Stored, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return merge.Stored{}, merge.ErrClosed
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		s.mu.Unlock()
		return merge.Stored{}, fmt.Errorf("boltstore: %w", err)
	}
	defer tx.Rollback()
	log, err := os.Open(s.logPath()) // the current log, kept if rotated
	size, next, floor := s.size, s.next, s.floor
	s.mu.Unlock()
	if err != nil {
		return merge.Stored{}, fmt.Errorf("boltstore: %w", err)
	}
	defer log.Close()

	b := tx.Bucket(bucket)
	through, err := getU64(b, keyThrough)
	if err != nil {
		return merge.Stored{}, err
	}
	st := merge.Stored{Next: next, Floor: floor}
	if v := b.Get(keySnapshot); v != nil {
		if len(v) < 4 || crc32.Checksum(v[4:], castagnoli) != binary.BigEndian.Uint32(v) {
			return merge.Stored{}, fmt.Errorf("%w: the snapshot in %s fails its checksum", ErrCorrupt, s.path)
		}
		st.Snapshot = append([]byte(nil), v[4:]...)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(log, 0, size), 1<<16)
	if _, err := r.Discard(logHeader); err != nil {
		return merge.Stored{}, fmt.Errorf("boltstore: reading %s: %w", s.logPath(), err)
	}
	want := through
	for off := int64(logHeader); off < size; {
		f, err := readFrame(r, size-off)
		if err != nil {
			return merge.Stored{}, fmt.Errorf("%w: %s at offset %d", ErrCorrupt, s.logPath(), off)
		}
		off += int64(frameHeader + len(f.data))
		if f.seq < through {
			continue
		}
		if f.seq != want {
			return merge.Stored{}, fmt.Errorf("%w: %s holds record %d where %d belongs", ErrCorrupt, s.logPath(), f.seq, want)
		}
		want++
		st.Records = append(st.Records, f.data)
	}
	if want != next {
		return merge.Stored{}, fmt.Errorf("%w: %s ends at record %d, want %d", ErrCorrupt, s.logPath(), want, next)
	}
	return st, nil
}

// Append writes records to the log, with floor, in one write and one
// fsync.
func (s *Store) Append(records [][]byte, floor hlc.Timestamp) error {
	n := 0
	for _, r := range records {
		if len(r) > MaxRecord {
			return fmt.Errorf("boltstore: a record of %d bytes, above MaxRecord", len(r))
		}
		n += frameHeader + len(r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return merge.ErrClosed
	}
	floor = max(floor, s.floor)
	buf := make([]byte, 0, n)
	offsets := make([]int64, len(records))
	for i, r := range records {
		offsets[i] = s.size + int64(len(buf))
		buf = appendFrame(buf, s.next+uint64(i), floor, r)
	}
	if end := s.size + int64(len(buf)); end > s.alloc {
		alloc := (end + allocChunk - 1) / allocChunk * allocChunk
		if err := preallocate(s.log, alloc); err != nil {
			return fmt.Errorf("boltstore: reserving %d bytes for %s: %w", alloc, s.logPath(), err)
		}
		s.alloc = alloc
	}
	if _, err := s.log.WriteAt(buf, s.size); err != nil {
		return fmt.Errorf("boltstore: appending to %s: %w", s.logPath(), err)
	}
	if err := datasync(s.log); err != nil {
		return fmt.Errorf("boltstore: syncing %s: %w", s.logPath(), err)
	}
	s.size += int64(len(buf))
	s.offsets = append(s.offsets, offsets...)
	s.next += uint64(len(records))
	s.floor = floor
	return nil
}

// Compact stores snapshot, which holds every record below through, in
// the database, then rewrites the log without those records. Appends wait
// only for the rewrite, which copies the records appended since the
// snapshot's state was read; the snapshot's write does not hold them up.
func (s *Store) Compact(snapshot []byte, through uint64) error {
	s.compact.Lock()
	defer s.compact.Unlock()
	s.mu.Lock()
	closed, held, next, floor := s.closed, s.through, s.next, s.floor
	s.mu.Unlock()
	if closed {
		return merge.ErrClosed
	}
	if through < held || through > next {
		return fmt.Errorf("%w: through %d, the store holds records %d to %d", merge.ErrCompactRange, through, held, next)
	}
	v := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(snapshot)), crc32.Checksum(snapshot, castagnoli))
	v = append(v, snapshot...)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		return errors.Join(b.Put(keySnapshot, v), b.Put(keyThrough, u64(through)), b.Put(keyFloor, u64(uint64(floor))))
	}); err != nil {
		return fmt.Errorf("boltstore: storing a snapshot in %s: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.through = through
	if s.closed {
		return nil
	}
	return s.rotate()
}

// rotate writes the log's frames from s.through on to a new log and
// renames it over the old one. On failure the old log stays, whole.
func (s *Store) rotate() error {
	if s.through <= s.first {
		return nil
	}
	from := s.size
	if i := s.through - s.first; i < uint64(len(s.offsets)) {
		from = s.offsets[i]
	}
	tmp := s.logPath() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("boltstore: rewriting %s: %w", s.logPath(), err)
	}
	if _, err := f.Write(append([]byte(logMagic), Version)); err != nil {
		return fail(err)
	}
	if _, err := io.Copy(f, io.NewSectionReader(s.log, from, s.size-from)); err != nil {
		return fail(err)
	}
	size := int64(logHeader) + s.size - from
	alloc := (size + allocChunk - 1) / allocChunk * allocChunk
	if err := preallocate(f, alloc); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, s.logPath()); err != nil {
		return fail(err)
	}
	if err := syncDir(s.logPath()); err != nil {
		// The rename may not be durable: either log is whole.
		f.Close()
		return err
	}
	s.log.Close()
	s.log = f
	shift := from - int64(logHeader)
	kept := s.offsets[min(int(s.through-s.first), len(s.offsets)):]
	s.offsets = make([]int64, len(kept))
	for i, o := range kept {
		s.offsets[i] = o - shift
	}
	s.first = s.through
	s.size -= shift
	s.alloc = alloc
	return nil
}

// Close closes the log and the database. A closed Store fails every call
// with [merge.ErrClosed].
func (s *Store) Close() error {
	s.compact.Lock()
	defer s.compact.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	// Give back the reserved blocks: the next Open reserves its own.
	trunc := s.log.Truncate(s.size)
	if trunc == nil {
		trunc = s.log.Sync()
	}
	return errors.Join(trunc, s.log.Close(), s.db.Close())
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getU64(b *bolt.Bucket, key []byte) (uint64, error) {
	v := b.Get(key)
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: meta key %q holds %d bytes, want 8", ErrCorrupt, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}
