package projections

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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

// Checkpoints stores projection checkpoints.
type Checkpoints interface {
	Load(name string) (Checkpoint, bool, error)
	Save(name string, cp Checkpoint) error
	Delete(name string) error
}

// DirCheckpoints keeps one file per projection in a directory (the instance's data dir).
type DirCheckpoints struct{ Dir string }

var _ Checkpoints = DirCheckpoints{}

func (d DirCheckpoints) path(name string) string {
	return filepath.Join(d.Dir, name+".checkpoint.json")
}

// Load implements Checkpoints.
func (d DirCheckpoints) Load(name string) (Checkpoint, bool, error) {
	b, err := os.ReadFile(d.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("load checkpoint %s: %w", name, err)
	}
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return Checkpoint{}, false, fmt.Errorf("load checkpoint %s: %w", name, err)
	}
	return cp, true, nil
}

// Save implements Checkpoints: write a temporary file, sync it, rename it over the old one.
func (d DirCheckpoints) Save(name string, cp Checkpoint) error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(d.Dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), d.path(name)); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	return nil
}

// Delete implements Checkpoints.
func (d DirCheckpoints) Delete(name string) error {
	if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete checkpoint %s: %w", name, err)
	}
	return nil
}
