package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrSchemaAhead means the database's schema is newer than this build: a
// node with a newer build migrated it. Such a node could not write what the
// newer schema expects with each change (history, events, whatever later
// migrations add), so it refuses writes rather than acknowledge them. It is
// an ErrUnavailable: clients get 503 and retry, on an upgraded node.
var ErrSchemaAhead = fmt.Errorf("the database schema is newer than this build of Roster; upgrade this node: %w", ErrUnavailable)

// SchemaGuard tells a backend whether the database's schema has moved ahead
// of the build, rereading the schema version at most once per interval, so
// that checking before every write costs two atomic loads. Both backends
// use it the same way: Check at the start of each Write.
type SchemaGuard struct {
	latest int
	every  time.Duration
	read   func(ctx context.Context) (int, error)

	next  atomic.Int64 // unix nanoseconds of the next read
	found atomic.Int64 // the version last read; ahead when > latest
	mu    sync.Mutex   // one reader at a time
}

// NewSchemaGuard returns a guard for a build whose last migration is
// latest; read returns the database's highest applied version.
func NewSchemaGuard(latest int, every time.Duration, read func(ctx context.Context) (int, error)) *SchemaGuard {
	return &SchemaGuard{latest: latest, every: every, read: read}
}

// Check returns an error wrapping ErrSchemaAhead while the database's
// schema is newer than the build. A failure to read the version is not
// reported here (the write that follows meets it too); the last known
// answer stands until a read succeeds.
func (g *SchemaGuard) Check(ctx context.Context) error {
	if now := time.Now().UnixNano(); now >= g.next.Load() && g.mu.TryLock() {
		// Whoever finds the read due does it; the others use the last
		// answer meanwhile.
		g.next.Store(now + int64(g.every))
		if v, err := g.read(ctx); err == nil {
			g.found.Store(int64(v))
		}
		g.mu.Unlock()
	}
	if v := g.found.Load(); v > int64(g.latest) {
		return fmt.Errorf("database schema version %d, this build knows %d: %w", v, g.latest, ErrSchemaAhead)
	}
	return nil
}

// Recheck makes the next Check read the version again.
func (g *SchemaGuard) Recheck() { g.next.Store(0) }
