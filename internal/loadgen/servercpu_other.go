//go:build !linux

package loadgen

import (
	"fmt"
	"runtime"
)

// openServerCPU fails outside Linux: the server's CPU time is read from
// Linux's /proc/PID/stat.
func openServerCPU(pid int) (*cpuMeter, error) {
	return nil, fmt.Errorf("server pid %d: reading a server's CPU time needs Linux's /proc/PID/stat, and this is %s", pid, runtime.GOOS)
}
