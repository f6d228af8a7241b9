package main

import (
	"io"

	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/keys"
)

// checkpointWriter names how writeCheckpoint writes (the benchmark of the former writer
// replaces this file).
const checkpointWriter = "streamed"

// writeCheckpoint is what projections.Runtime.checkpoint does: the state streamed into the
// file's buffer entry by entry.
func writeCheckpoint(ring *keys.Keyring, cps projections.DirCheckpoints, pos int64, hash []byte) error {
	return cps.Write(keys.Name, pos, hash, func(w io.Writer) error { return projections.WriteState(ring, w) })
}
