package app

import (
	"io"

	"github.com/paylent/paylent/eventstore"
)

// App holds what operations need. Build one in the composition root and share it.
type App struct {
	loop      *eventstore.Loop
	masterKey []byte
	rand      io.Reader
}

// Options configure an App.
type Options struct {
	Loop *eventstore.Loop
	// MasterKey seals signing keys.
	MasterKey []byte
	// Rand supplies nonces for sealing (default crypto/rand).
	Rand io.Reader
}

// New returns an App.
func New(o Options) *App {
	return &App{loop: o.Loop, masterKey: o.MasterKey, rand: o.Rand}
}
