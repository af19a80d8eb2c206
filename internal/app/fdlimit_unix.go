//go:build unix

package app

import "syscall"

// fileLimit returns how many files the process may have open (the soft
// RLIMIT_NOFILE, which Go raises to the hard limit at start), or 0 if it
// cannot tell.
func fileLimit() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur > 1<<31 {
		return 0
	}
	return int(l.Cur)
}
