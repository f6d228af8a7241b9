package projections

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/paylent/paylent/domain"
)

// Checkpoint is a projection's state at a position. Hash is the hash of the event at that
// position, so a checkpoint taken against another database (or a reset one) is recognised
// and thrown away instead of being trusted.
type Checkpoint struct {
	Position int64           `json:"position"`
	Hash     domain.HexBytes `json:"hash"`
	State    json.RawMessage `json:"state"`
}

// Checkpoints stores projection checkpoints. The state is streamed both ways: written
// piece by piece by a function, read from a reader, never held whole by the store.
type Checkpoints interface {
	// Open returns the position and hash of name's checkpoint and a reader of its state,
	// which the caller closes; false when there is none.
	Open(name string) (CheckpointFile, bool, error)
	// Write replaces name's checkpoint, crash-safely, with the state state writes.
	Write(name string, position int64, hash []byte, state func(io.Writer) error) error
	Delete(name string) error
}

// CheckpointFile is an open checkpoint: its header, and its state to be read once.
type CheckpointFile struct {
	Position int64
	Hash     []byte
	State    io.ReadCloser
}

// Formatted is a projection whose checkpoints changed meaning in a way a checkpoint of an
// earlier format cannot be read as (a field it now keeps, which the earlier one dropped).
// Its checkpoints are kept under CheckpointName: a checkpoint of an earlier format is then
// not found, so the model is rebuilt from the log once, and a version rolled back to still
// finds its own (checked against the log, then caught up from its position).
type Formatted interface {
	CheckpointFormat() int
}

// CheckpointName is the name p's checkpoints are kept under: its name, followed by its
// format from format 2 on ("catalog.2").
func CheckpointName(p Projection) string {
	if f, ok := p.(Formatted); ok && f.CheckpointFormat() > 1 {
		return p.Name() + "." + strconv.Itoa(f.CheckpointFormat())
	}
	return p.Name()
}

// DirCheckpoints keeps one file per projection in a directory (the instance's data dir).
// A file is the JSON object {"position":…,"hash":"…","state":…}, members in that order
// (the format json.Marshal of Checkpoint has always written, so older files still open).
type DirCheckpoints struct{ Dir string }

var _ Checkpoints = DirCheckpoints{}

func (d DirCheckpoints) path(name string) string {
	return filepath.Join(d.Dir, name+".checkpoint.json")
}

// Open implements Checkpoints: it reads the header and leaves the file at the state.
func (d DirCheckpoints) Open(name string) (CheckpointFile, bool, error) {
	f, err := os.Open(d.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return CheckpointFile{}, false, nil
	}
	if err != nil {
		return CheckpointFile{}, false, fmt.Errorf("open checkpoint %s: %w", name, err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	dec := json.NewDecoder(br)
	var cp CheckpointFile
	err = expectDelim(dec, '{')
	for _, member := range []string{"position", "hash", "state"} {
		if err != nil {
			break
		}
		var tok json.Token
		if tok, err = dec.Token(); err == nil && tok != member {
			err = fmt.Errorf("member %v where %q was expected", tok, member)
		}
		switch {
		case err != nil:
		case member == "position":
			err = dec.Decode(&cp.Position)
		case member == "hash":
			var h domain.HexBytes
			err = dec.Decode(&h)
			cp.Hash = h
		}
	}
	// The decoder has read ahead: the state starts with what it buffered, after the colon
	// that follows "state" (a decoder consumes it only with the value).
	rest := bufio.NewReader(io.MultiReader(dec.Buffered(), br))
	if err == nil {
		err = skipColon(rest)
	}
	if err != nil {
		f.Close()
		return CheckpointFile{}, false, fmt.Errorf("open checkpoint %s: %w", name, err)
	}
	cp.State = readCloser{Reader: rest, Closer: f}
	return cp, true, nil
}

func skipColon(r *bufio.Reader) error {
	for {
		c, err := r.ReadByte()
		switch {
		case err != nil:
			return err
		case c == ':':
			return nil
		case c != ' ' && c != '\t' && c != '\n' && c != '\r':
			return fmt.Errorf("want ':' after \"state\", got %q", c)
		}
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Write implements Checkpoints: write a temporary file through a buffer, sync it, rename it
// over the old one. A failed or interrupted write leaves the old checkpoint in place.
func (d DirCheckpoints) Write(name string, position int64, hash []byte, state func(io.Writer) error) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("save checkpoint %s: %w", name, err)
		}
	}()
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.Dir, name+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 64<<10)
	hexHash, err := json.Marshal(domain.HexBytes(hash))
	if err == nil {
		_, err = fmt.Fprintf(w, `{"position":%s,"hash":%s,"state":`, strconv.FormatInt(position, 10), hexHash)
	}
	if err == nil {
		err = state(w)
	}
	if err == nil {
		err = w.WriteByte('}')
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), d.path(name))
}

// Load reads a whole checkpoint into memory (the CLI and tests; the runtime streams).
func (d DirCheckpoints) Load(name string) (Checkpoint, bool, error) {
	f, ok, err := d.Open(name)
	if err != nil || !ok {
		return Checkpoint{}, ok, err
	}
	defer f.State.Close()
	var state json.RawMessage
	if err := json.NewDecoder(f.State).Decode(&state); err != nil {
		return Checkpoint{}, false, fmt.Errorf("load checkpoint %s: %w", name, err)
	}
	return Checkpoint{Position: f.Position, Hash: f.Hash, State: state}, true, nil
}

// Save writes cp (its State already encoded).
func (d DirCheckpoints) Save(name string, cp Checkpoint) error {
	return d.Write(name, cp.Position, cp.Hash, func(w io.Writer) error {
		_, err := w.Write(cp.State)
		return err
	})
}

// Delete implements Checkpoints.
func (d DirCheckpoints) Delete(name string) error {
	if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete checkpoint %s: %w", name, err)
	}
	return nil
}

// WriteState writes p's state: streamed when p is a Streamer, else its Snapshot.
func WriteState(p Projection, w io.Writer) error {
	if s, ok := p.(Streamer); ok {
		return s.WriteSnapshot(w)
	}
	b, err := p.Snapshot()
	if err == nil {
		_, err = w.Write(b)
	}
	return err
}

// RestoreState replaces p's state with the one r holds: streamed when p is a Streamer,
// else read whole and given to Restore.
func RestoreState(p Projection, r io.Reader) error {
	if s, ok := p.(Streamer); ok {
		return s.RestoreFrom(r)
	}
	var state json.RawMessage
	if err := json.NewDecoder(r).Decode(&state); err != nil {
		return err
	}
	return p.Restore(bytes.TrimSpace(state))
}
