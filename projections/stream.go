package projections

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
)

// Streamer is a Projection whose snapshots are written and read piece by piece, so that a
// checkpoint never holds the whole encoded state in memory nor the projection's lock for
// the whole write. The runtime calls WriteSnapshot between two Applies, on the goroutine
// that applies, so what it writes is the state at one position; queries run on meanwhile.
type Streamer interface {
	Projection
	// WriteSnapshot writes exactly the bytes Snapshot returns, entry by entry.
	WriteSnapshot(w io.Writer) error
	// RestoreFrom replaces the whole state with the snapshot read from r (one JSON value);
	// on an error the state is unchanged.
	RestoreFrom(r io.Reader) error
}

// SnapshotEncoder writes a snapshot as a JSON object of maps, the bytes json.Marshal gives
// for the same struct of maps (members in order, map keys sorted, HTML-escaped strings).
// Each entry is read under the read lock alone and encoded on its own: memory is one entry.
type SnapshotEncoder struct {
	w      io.Writer
	lock   sync.Locker // the projection's read lock
	err    error
	fields int
	buf    bytes.Buffer
}

// NewSnapshotEncoder starts an object on w; rlock is the projection's read lock (RLocker).
func NewSnapshotEncoder(w io.Writer, rlock sync.Locker) *SnapshotEncoder {
	e := &SnapshotEncoder{w: w, lock: rlock}
	e.write([]byte{'{'})
	return e
}

// Close ends the object and reports the first error.
func (e *SnapshotEncoder) Close() error {
	e.write([]byte{'}'})
	return e.err
}

func (e *SnapshotEncoder) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

// key writes a JSON string (escaped as encoding/json escapes map keys) and a colon.
func (e *SnapshotEncoder) key(k string) {
	b, err := json.Marshal(k)
	if err != nil && e.err == nil {
		e.err = err
	}
	e.write(b)
	e.write([]byte{':'})
}

// value writes v as json.Marshal does.
func (e *SnapshotEncoder) value(v any) {
	if e.err != nil {
		return
	}
	e.buf.Reset()
	enc := json.NewEncoder(&e.buf)
	if err := enc.Encode(v); err != nil {
		e.err = fmt.Errorf("encode snapshot entry: %w", err)
		return
	}
	e.write(bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'}))
}

// Member starts the member name of the object; its value follows (a model that keeps
// its state in other shapes than maps writes it with Raw, Key and Value).
func (e *SnapshotEncoder) Member(name string) { e.member(name) }

// Raw writes b as it is: a delimiter, or a value already encoded.
func (e *SnapshotEncoder) Raw(b []byte) { e.write(b) }

// Key writes an object key, escaped as encoding/json escapes map keys, and its colon.
func (e *SnapshotEncoder) Key(k string) { e.key(k) }

// Value writes v as json.Marshal does.
func (e *SnapshotEncoder) Value(v any) { e.value(v) }

func (e *SnapshotEncoder) member(name string) {
	if e.fields > 0 {
		e.write([]byte{','})
	}
	e.fields++
	e.key(name)
}

// sortedKeys lists m's keys under the read lock; nil m is reported as such.
func sortedKeys[V any](lock sync.Locker, m map[string]V) ([]string, bool) {
	lock.Lock()
	defer lock.Unlock()
	if m == nil {
		return nil, false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, true
}

// EncodeMap writes the member name with m as its value, one entry at a time.
func EncodeMap[V any](e *SnapshotEncoder, name string, m map[string]V) {
	e.member(name)
	encodeEntries(e, m, func(v V) { e.value(v) })
}

// EncodeNested writes the member name with m, a map of maps, one inner entry at a time.
func EncodeNested[V any](e *SnapshotEncoder, name string, m map[string]map[string]V) {
	e.member(name)
	encodeEntries(e, m, func(inner map[string]V) { encodeEntries(e, inner, func(v V) { e.value(v) }) })
}

func encodeEntries[V any](e *SnapshotEncoder, m map[string]V, write func(V)) {
	keys, ok := sortedKeys(e.lock, m)
	if !ok {
		e.write([]byte("null"))
		return
	}
	e.write([]byte{'{'})
	for i, k := range keys {
		e.lock.Lock()
		v, present := m[k]
		e.lock.Unlock()
		if !present { // only Apply deletes, and it does not run during a snapshot
			e.err = fmt.Errorf("snapshot entry %q vanished while it was written", k)
			return
		}
		if i > 0 {
			e.write([]byte{','})
		}
		e.key(k)
		write(v)
	}
	e.write([]byte{'}'})
}

// DecodeObject reads one JSON object from dec, handing each member's value to the decoder
// named by its key; unknown members are skipped. Nothing at all, or null, is the empty state.
func DecodeObject(dec *json.Decoder, members map[string]func(*json.Decoder) error) error {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil // an empty snapshot: the empty state
	}
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // null: the empty state
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want an object, got %v", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		f := members[name]
		if f == nil {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if err := f(dec); err != nil {
			return fmt.Errorf("member %s: %w", strconv.Quote(name), err)
		}
	}
	return expectDelim(dec, '}')
}

// DecodeMap reads a JSON object of values into m (null leaves m as it is), entry by entry.
func DecodeMap[V any](dec *json.Decoder, m map[string]V) error {
	return decodeEntries(dec, func(k string) error {
		var v V
		if err := dec.Decode(&v); err != nil {
			return err
		}
		m[k] = v
		return nil
	})
}

// DecodeNested reads a JSON object of objects into m, entry by entry.
func DecodeNested[V any](dec *json.Decoder, m map[string]map[string]V) error {
	return decodeEntries(dec, func(k string) error {
		inner := map[string]V{}
		m[k] = inner
		return DecodeMap(dec, inner)
	})
}

// DecodeEntries reads a JSON object (null: none) from dec, calling entry with each key
// when dec is at its value, which entry must read.
func DecodeEntries(dec *json.Decoder, entry func(key string) error) error {
	return decodeEntries(dec, entry)
}

func decodeEntries(dec *json.Decoder, entry func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // null
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want an object, got %v", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, ok := tok.(string)
		if !ok {
			return fmt.Errorf("want a key, got %v", tok)
		}
		if err := entry(k); err != nil {
			return fmt.Errorf("entry %s: %w", strconv.Quote(k), err)
		}
	}
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}

// SnapshotBytes is Snapshot for a Streamer: WriteSnapshot into memory (tests and the
// conformance suite compare these bytes; checkpoints never build them).
func SnapshotBytes(s interface{ WriteSnapshot(io.Writer) error }) ([]byte, error) {
	var b bytes.Buffer
	if err := s.WriteSnapshot(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
