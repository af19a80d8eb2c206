package jobs_test

import (
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/jobs"
)

// TestSQLiteFileModes checks that the jobs file and its -wal and -shm are
// readable by their owner only, whether OpenSQLite creates them or finds
// them with a wider mode, which it narrows with a warning.
func TestSQLiteFileModes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows permissions are not Unix modes")
	}
	ctx := context.Background()
	cases := []struct {
		name     string
		before   func(t *testing.T, path string)
		wantWarn bool
	}{
		{name: "NewFile", before: func(*testing.T, string) {}},
		{name: "ExistingWorldReadable", wantWarn: true, before: func(t *testing.T, path string) {
			h, err := jobs.OpenSQLite(ctx, path, jobs.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { h.Close() })
			for _, suffix := range []string{"", "-wal", "-shm"} {
				require.NoError(t, os.Chmod(path+suffix, 0o644))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "roster.jobs.db")
			c.before(t, path)
			var logs bytes.Buffer
			h, err := jobs.OpenSQLite(ctx, path, jobs.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			require.NoError(t, err)
			t.Cleanup(func() { h.Close() })
			require.NoError(t, h.Tx(ctx, func(tx *sql.Tx) error {
				return h.Deliveries().AdvanceCursor(ctx, tx, "ep", "", false, "c1")
			}))
			for _, suffix := range []string{"", "-wal", "-shm"} {
				fi, err := os.Stat(path + suffix)
				require.NoError(t, err)
				require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "mode of %s", fi.Name())
			}
			if c.wantWarn {
				require.Contains(t, logs.String(), "JOBS-0600")
			} else {
				require.NotContains(t, logs.String(), "JOBS-0600")
			}
		})
	}
}
