package main

import (
	"github.com/paylent/paylent/app"
)

// operations is the operations layer for a CLI command: the database's command loop, the
// process's hasher and, where the command has it, the master key. The CLI builds no read
// models: the operations it calls read what they need from the log.
func operations(env *cliEnv, db *database, mk []byte) *app.App {
	return app.New(app.Options{Loop: db.loop, MasterKey: mk, Hasher: env.hasher, Registry: db.registry, Logger: env.log})
}
