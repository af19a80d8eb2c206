package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// acquireLeaseSQL takes a lease that is free, expired or the holder's own.
// RETURNING yields a row only when the insert or the update happened.
const acquireLeaseSQL = `INSERT INTO leases (name, holder, expires) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE leases.holder = excluded.holder OR leases.expires <= ?4
RETURNING holder`

const releaseLeaseSQL = `DELETE FROM leases WHERE name = ?1 AND holder = ?2`

// leases implements store.LeaseStore. Every process on one SQLite file runs
// on one machine, so the local clock is the common one.
type leases struct{ s *Store }

var _ store.LeaseStore = leases{}

// Acquire takes or renews a lease.
func (l leases) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, errors.New("acquire lease: needs a name, a holder and a positive lifetime")
	}
	var got bool
	err := l.s.write(ctx, func(w *writer) error {
		now := time.Now()
		var h string
		err := w.s.ws.acquireLease.QueryRow(name, holder, formatTime(now.Add(ttl)), formatTime(now)).Scan(&h)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return w.s.fail("acquire lease "+name, err)
		}
		got = h == holder
		return nil
	})
	return got, err
}

// Release gives up a lease the holder holds.
func (l leases) Release(ctx context.Context, name, holder string) error {
	return l.s.write(ctx, func(w *writer) error {
		_, err := w.s.ws.releaseLease.Exec(name, holder)
		return w.s.fail("release lease "+name, err)
	})
}
