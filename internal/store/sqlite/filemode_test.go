package sqlite_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// TestFileModes checks that the database file and its -wal and -shm, which
// hold HS256 keys and webhook secrets, are readable by their owner only:
// when Open creates them, and when they exist with a wider mode, which
// Open narrows with a warning.
func TestFileModes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows permissions are not Unix modes")
	}
	cases := []struct {
		name string
		// before prepares the files at path, or leaves them missing.
		before   func(t *testing.T, path string)
		wantWarn bool
	}{
		{name: "NewDatabase", before: func(*testing.T, string) {}},
		{name: "ExistingDatabaseOwnerOnly", before: func(t *testing.T, path string) {
			st, err := sqlite.Open(context.Background(), path)
			require.NoError(t, err)
			require.NoError(t, st.Close())
		}},
		{name: "ExistingWorldReadable", wantWarn: true, before: func(t *testing.T, path string) {
			// Another process has the database open, so the -wal and -shm
			// exist too; all three were created before the mode was fixed.
			st, err := sqlite.Open(context.Background(), path)
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			write(t, st)
			for _, suffix := range []string{"", "-wal", "-shm"} {
				require.NoError(t, os.Chmod(path+suffix, 0o644))
			}
		}},
		{name: "ExistingGroupWritable", wantWarn: true, before: func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, nil, 0o660))
			require.NoError(t, os.Chmod(path, 0o660)) // whatever the umask
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "roster.db")
			c.before(t, path)
			var logs bytes.Buffer
			st, err := sqlite.Open(context.Background(), path, sqlite.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			write(t, st) // the -wal and -shm exist while the store is open
			for _, suffix := range []string{"", "-wal", "-shm"} {
				fi, err := os.Stat(path + suffix)
				require.NoError(t, err)
				require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "mode of %s", fi.Name())
			}
			if c.wantWarn {
				require.Contains(t, logs.String(), "SQLITE-0600")
				require.Contains(t, logs.String(), path)
			} else {
				require.Empty(t, logs.String())
			}
		})
	}
}

// write commits a change, so that SQLite has its -wal and -shm files.
func write(t *testing.T, st store.Store) {
	t.Helper()
	require.NoError(t, st.Write(context.Background(), func(w store.Writer) error {
		return w.Settings().Set(context.Background(), "test.mode", "x")
	}))
}
