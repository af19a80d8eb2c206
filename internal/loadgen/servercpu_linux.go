package loadgen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// atClkTck is AT_CLKTCK of <linux/auxvec.h>: the auxiliary vector entry in
// which the kernel passes every process the rate of the clock ticks that
// /proc/PID/stat counts in (USER_HZ).
const atClkTck = 17

// clockTicks returns USER_HZ as glibc's sysconf(_SC_CLK_TCK) does, from
// the auxiliary vector, so that no cgo is needed. USER_HZ is 100 on every
// architecture Go runs on and is part of the kernel's ABI, so 100 stands in
// when the entry is missing.
func clockTicks() uint64 {
	vec, err := unix.Auxv()
	if err != nil {
		return 100
	}
	for _, kv := range vec {
		if kv[0] == atClkTck && kv[1] > 0 {
			return uint64(kv[1])
		}
	}
	return 100
}

// openServerCPU checks that pid is a running process and returns a meter
// of its CPU time.
func openServerCPU(pid int) (*cpuMeter, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("server pid %d: not a process id", pid)
	}
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	hz := clockTicks()
	m := &cpuMeter{pid: pid, read: func() (time.Duration, error) {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			return 0, fmt.Errorf("server process %d is not running (no %s)", pid, path)
		}
		if err != nil {
			return 0, fmt.Errorf("server CPU: %w", err)
		}
		st, err := parseProcStat(b)
		if err != nil {
			return 0, fmt.Errorf("server CPU: %s: %w", path, err)
		}
		if st.pid != pid {
			return 0, fmt.Errorf("server CPU: %s names pid %d", path, st.pid)
		}
		// A process that has exited stays in /proc until its parent
		// reaps it, with its final times: measuring it would report a
		// server that does nothing.
		if st.state == 'Z' || st.state == 'X' {
			return 0, fmt.Errorf("server process %d has exited (state %c)", pid, st.state)
		}
		return ticksToDuration(st.utime+st.stime, hz), nil
	}}
	if _, err := m.read(); err != nil {
		return nil, err
	}
	return m, nil
}
