// Package app is the operations layer: every state change a face (CLI, Management API,
// dashboard, OAuth and login endpoints) offers is one function here that takes a typed
// request and an actor, checks authority, runs one domain command and returns a typed
// result. Faces parse, call and render; they never run the command loop themselves.
package app
