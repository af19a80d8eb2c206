package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// FileMode is the mode of Roster's database files: they hold HS256 keys and
// webhook signing secrets in the clear (docs/security.md), so only the
// user the server runs as may read them.
const FileMode fs.FileMode = 0o600

// fileSuffixes are the files SQLite keeps beside a database: its
// write-ahead log, the log's shared-memory index, and the rollback journal.
var fileSuffixes = []string{"", "-wal", "-shm", "-journal"}

// SecureFiles makes the database file at path, and those SQLite keeps
// beside it, readable by their owner only, before SQLite opens them. A
// missing database file is created empty with FileMode, which SQLite takes
// for a new database: SQLite creates files with 0644 less the umask, and
// creates the -wal and -shm files with the mode of the database file, so
// the mode given here is the mode of all of them. Existing files with a
// wider mode (a database created before this check, or copied in) are
// narrowed to FileMode; they are returned, with their old mode, so that the
// caller can warn about them, since their contents may already have been
// read. A file that cannot be narrowed (it belongs to another user) is
// returned too, with the reason, and left as it is.
//
// A "file:" URI and in-memory databases are left alone, as is every file on
// Windows, whose permissions are not Unix modes.
func SecureFiles(path string) (narrowed []string, err error) {
	if runtime.GOOS == "windows" || path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("create database file %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("create database file %s: %w", path, err)
	}
	for _, suffix := range fileSuffixes {
		name := path + suffix
		fi, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return narrowed, fmt.Errorf("check mode of database file %s: %w", name, err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&^FileMode == 0 {
			continue
		}
		if err := os.Chmod(name, FileMode); err != nil {
			// Another user's file (the CLI run by someone in the
			// file's group): refusing to open it would lock that user
			// out without making the file any safer.
			narrowed = append(narrowed, fmt.Sprintf("%s (mode %#o, could not narrow it: %v)", name, fi.Mode().Perm(), err))
			continue
		}
		narrowed = append(narrowed, fmt.Sprintf("%s (was %#o)", name, fi.Mode().Perm()))
	}
	return narrowed, nil
}
