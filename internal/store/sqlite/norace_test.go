//go:build !race

package sqlite

// raceEnabled reports a build with the race detector, which makes SQLite,
// C translated to Go, some thirty times slower.
const raceEnabled = false
