//go:build !unix

package app

// fileLimit returns 0: the platform does not say how many files the process
// may have open.
func fileLimit() int { return 0 }
