package loadgen

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// statTail is what follows the state of a real /proc/PID/stat line, from
// ppid on: utime 1234 and stime 56 are its 12th and 13th fields after the
// state.
const statTail = " 1 4242 4242 0 -1 4194560 12969 0 0 0 1234 56 0 0 20 0 9 0 7416 1473806336 11823 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		line string
		want procStat // zero: an error is expected
	}{
		{"Plain", "4242 (roster) S" + statTail, procStat{4242, 'S', 1234, 56}},
		{"CommWithSpaces", "4242 (my server 2) R" + statTail, procStat{4242, 'R', 1234, 56}},
		// A ')' and fields in comm must not shift the fields read.
		{"CommWithParens", "4242 (a) S 1 2 3 (b)) Z" + statTail, procStat{4242, 'Z', 1234, 56}},
		{"CommEmptyParens", "7 (()) D" + statTail, procStat{7, 'D', 1234, 56}},
		{"NoTrailingNewline", "4242 (roster) S 1 2 3 4 5 6 7 8 9 10 11 12", procStat{4242, 'S', 11, 12}},
		{"Empty", "", procStat{}},
		{"NoComm", "4242 roster S" + statTail, procStat{}},
		{"NoClosingParen", "4242 (roster S" + statTail, procStat{}},
		{"ParenBeforeOpen", ") 4242 (roster S" + statTail, procStat{}},
		{"BadPid", "x42 (roster) S" + statTail, procStat{}},
		{"ZeroPid", "0 (roster) S" + statTail, procStat{}},
		{"TooFewFields", "4242 (roster) S 1 2 3 4 5 6 7 8 9 10 11", procStat{}},
		{"LongState", "4242 (roster) SS" + statTail, procStat{}},
		{"NegativeUtime", "4242 (roster) S 1 2 3 4 5 6 7 8 9 10 -11 12", procStat{}},
		{"BadStime", "4242 (roster) S 1 2 3 4 5 6 7 8 9 10 11 1e3", procStat{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseProcStat([]byte(tc.line))
			if tc.want == (procStat{}) {
				require.Error(t, err, "%+v", got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// FuzzParseProcStat parses arbitrary input without panicking, and reads
// back the times of a line whose comm is arbitrary.
func FuzzParseProcStat(f *testing.F) {
	f.Add("roster", uint64(1234), uint64(56))
	f.Add("a) S 1 2 3 (b)", uint64(0), uint64(1<<63))
	f.Add("4242 (x) S"+statTail, uint64(7), uint64(8))
	f.Add("\n))((\t", uint64(1), uint64(0))
	f.Fuzz(func(t *testing.T, comm string, utime, stime uint64) {
		_, _ = parseProcStat([]byte(comm))
		line := fmt.Sprintf("31 (%s) R 1 2 3 4 5 6 7 8 9 10 %d %d 0 0 20 0 9\n", comm, utime, stime)
		got, err := parseProcStat([]byte(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if want := (procStat{31, 'R', utime, stime}); got != want {
			t.Fatalf("%q: got %+v, want %+v", line, got, want)
		}
	})
}

func TestTicksToDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ticks, hz uint64
		want      time.Duration
	}{
		{0, 100, 0},
		{1, 100, 10 * time.Millisecond},
		{12345, 100, 123450 * time.Millisecond},
		{3, 1024, 2929687 * time.Nanosecond},
		// Ticks × 10⁹ would overflow 64 bits here.
		{1 << 36, 100, (1 << 36) * 10 * time.Millisecond},
	} {
		require.Equal(t, tc.want, ticksToDuration(tc.ticks, tc.hz), "%d ticks at %d Hz", tc.ticks, tc.hz)
	}
}
