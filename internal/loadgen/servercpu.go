package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ServerCPU is the CPU time the server process spent during a measured
// phase: user plus system time of all its threads, read from
// /proc/PID/stat before and after the phase. The kernel counts that time
// in clock ticks (10 ms at the usual 100 per second), so a phase should
// cost the server well over a second of CPU for a figure within 1%.
type ServerCPU struct {
	PID          int           `json:"pid"`
	Total        time.Duration `json:"total_ns"`
	PerRequestUS float64       `json:"us_per_request"`
}

// procStat is what the load generator reads of /proc/PID/stat (proc(5)).
type procStat struct {
	pid          int
	state        byte   // R, S, D, Z (zombie), X (dead), …
	utime, stime uint64 // clock ticks, fields 14 and 15
}

// parseProcStat parses one /proc/PID/stat line:
//
//	pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime …
//
// comm is the process name as the process set it: it may hold spaces and
// parentheses, so the fields are read after the last ')', which only the
// end of comm can be.
func parseProcStat(b []byte) (procStat, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, errors.New("no (comm) field")
	}
	var st procStat
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil || pid <= 0 {
		return procStat{}, fmt.Errorf("bad pid %q", b[:open])
	}
	st.pid = pid
	// fields[0] is state (field 3 of proc(5)), so field n is fields[n-3].
	fields := bytes.Fields(b[end+1:])
	if len(fields) < 13 {
		return procStat{}, fmt.Errorf("%d fields after comm, want at least 13", len(fields))
	}
	if len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("bad state %q", fields[0])
	}
	st.state = fields[0][0]
	if st.utime, err = strconv.ParseUint(string(fields[11]), 10, 64); err != nil {
		return procStat{}, fmt.Errorf("utime: %w", err)
	}
	if st.stime, err = strconv.ParseUint(string(fields[12]), 10, 64); err != nil {
		return procStat{}, fmt.Errorf("stime: %w", err)
	}
	return st, nil
}

// cpuMeter reads a process's CPU time so far.
type cpuMeter struct {
	pid  int
	read func() (time.Duration, error)
}

// ticksToDuration converts clock ticks at hz per second to a duration.
func ticksToDuration(ticks, hz uint64) time.Duration {
	return time.Duration(ticks/hz)*time.Second + time.Duration(ticks%hz)*time.Second/time.Duration(hz)
}
