//go:build race

package scimhttp_test

// raceEnabled reports a build with the race detector, which makes SQLite,
// C translated to Go, some thirty times slower: timing tests mean nothing.
const raceEnabled = true
