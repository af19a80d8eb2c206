// Package arch has no code of its own. Its test checks Roster's layering
// (docs/adr/0004-layers-and-the-write-path.md) on every `go test ./...`:
// which layer may import which, that only the services write through the
// store's Writer, and that no import circle forms between components.
package arch
