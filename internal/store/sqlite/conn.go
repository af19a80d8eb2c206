package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"

	"modernc.org/sqlite"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// drv is a driver of our own rather than the one modernc.org/sqlite registers
// as "sqlite", so that the functions below reach only Roster's connections
// and registering them cannot clash with anyone else's.
var drv = newDriver()

func newDriver() *sqlite.Driver {
	d := &sqlite.Driver{}
	// roster_fold(text) is filter.Fold, for folding JSON-extracted values in
	// filters exactly as the values in the *_fold columns were folded.
	d.MustRegisterDeterministicScalarFunction(sqlfilter.FoldFunc, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch s := args[0].(type) {
		case string:
			return filter.Fold(s), nil
		case []byte:
			return filter.Fold(string(s)), nil
		}
		return nil, nil
	})
	// roster_time(text) normalizes a dateTime to sqlfilter.TimeLayout, so
	// that dateTime attributes compare as instants.
	d.MustRegisterDeterministicScalarFunction(sqlfilter.TimeFunc, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		var s string
		switch v := args[0].(type) {
		case string:
			s = v
		case []byte:
			s = string(v)
		default:
			return nil, nil
		}
		t, err := filter.ParseTime(s)
		if err != nil {
			return nil, nil
		}
		return sqlfilter.FormatTime(t), nil
	})
	return d
}

// connector opens connections to one database file and runs the pragmas on
// each, in order: modernc.org/sqlite's own DSN parameters apply pragmas in an
// order of their own, and busy_timeout must come first.
type connector struct {
	path    string
	pragmas []string
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := drv.Open(c.path)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite driver connection cannot execute statements")
	}
	for _, p := range c.pragmas {
		if _, err := ex.ExecContext(ctx, "PRAGMA "+p, nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("PRAGMA %s: %w", p, err)
		}
	}
	return conn, nil
}

func (c *connector) Driver() driver.Driver { return drv }

// pragmas returns the pragmas of a connection, in the order pocketbase uses:
// busy_timeout first, so that the others wait for locks instead of failing,
// then WAL, the synchronous level and foreign keys; then memory settings.
func (cfg *config) pragmas(write bool) []string {
	sync := "NORMAL"
	if cfg.syncFull {
		sync = "FULL"
	}
	p := []string{
		"busy_timeout = " + strconv.FormatInt(int64(cfg.busyTimeout/time.Millisecond), 10),
		"journal_mode = WAL",
		"synchronous = " + sync,
		"foreign_keys = ON",
		"temp_store = MEMORY",
	}
	if write {
		return append(p, "cache_size = -32768") // 32 MiB
	}
	// Readers map the first 64 MiB of the file: the hot upper levels of
	// the indexes are read without a system call, while the mapped pages,
	// which count towards the process's resident memory, stay bounded even
	// when a million-member group is streamed through the whole file.
	mmap := "0"
	if strconv.IntSize == 64 {
		mmap = "67108864"
	}
	return append(p, "cache_size = -8192", "mmap_size = "+mmap, "query_only = ON")
}
