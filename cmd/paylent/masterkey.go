package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// masterKeyFile is where the embedded default keeps its generated master key.
const masterKeyFile = "master.key"

// masterKey returns the 32-byte key that seals signing keys: PAYLENT_MASTER_KEY (64 hex
// characters), or on the embedded default without one, <PAYLENT_DATA_DIR>/master.key,
// generated on first use. Errors never show the key.
func masterKey(cfg Config) ([]byte, error) {
	if cfg.MasterKey != "" {
		key, err := parseMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("PAYLENT_MASTER_KEY: %w", err)
		}
		return key, nil
	}
	if !cfg.Embedded() {
		return nil, errors.New("PAYLENT_MASTER_KEY: required with shared infrastructure (every instance needs the same key)")
	}
	return loadOrCreateMasterKey(filepath.Join(cfg.DataDir, masterKeyFile))
}

// parseMasterKey reads 64 hex characters. Its errors say what is wrong, never the value
// (hex.DecodeString's error would quote the offending character).
func parseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) != 64 {
		return nil, fmt.Errorf("want 64 hexadecimal characters (32 bytes), got %d characters", len(s))
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("want 64 hexadecimal characters (32 bytes): the value is not hexadecimal")
	}
	return key, nil
}

// loadOrCreateMasterKey reads the key file, or creates it (mode 0600) with a random key.
// Processes starting together agree on one key: the file appears whole, by link, or not at
// all, and the loser of the race reads the winner's.
func loadOrCreateMasterKey(path string) ([]byte, error) {
	for {
		key, err := readMasterKeyFile(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return key, err
		}
		created, err := createMasterKeyFile(path)
		if err != nil {
			return nil, err
		}
		if created {
			return readMasterKeyFile(path)
		}
	}
}

func readMasterKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("open master key: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat master key: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s is accessible to other users (mode %04o): chmod 600 it", path, perm)
	}
	buf, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	defer clear(buf)
	key, err := parseMasterKey(string(buf))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// createMasterKeyFile writes a new random key to path unless it exists; it reports
// whether it created the file.
func createMasterKeyFile(path string) (bool, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("create data directory: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key) //nolint:errcheck // crypto/rand.Read never fails (Go 1.24+)
	defer clear(key)
	tmp, err := os.CreateTemp(dir, ".master.key-*") // mode 0600
	if err != nil {
		return false, fmt.Errorf("create master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("write master key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil // another process made it first: use theirs
		}
		return false, fmt.Errorf("create master key: %w", err)
	}
	return true, nil
}
