package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/store"
)

// acquireLeaseSQL takes a lease that is free, expired or the holder's own,
// by the server's clock, which every node shares. RETURNING yields a row only
// when the insert or the update happened; of concurrent contenders for a
// free lease one inserts and the others, waiting for it, find it held.
const acquireLeaseSQL = `INSERT INTO leases (name, holder, expires) VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond')
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE leases.holder = excluded.holder OR leases.expires <= now()
RETURNING holder`

// leases implements store.LeaseStore.
type leases struct{ s *Store }

var _ store.LeaseStore = leases{}

// Leases returns the lease store.
func (s *Store) Leases() store.LeaseStore { return leases{s} }

// Acquire takes or renews a lease.
func (l leases) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, errors.New("acquire lease: needs a name, a holder and a positive lifetime")
	}
	if l.s.closed.Load() {
		return false, store.ErrUnavailable
	}
	var h string
	err := l.s.pool.QueryRow(ctx, acquireLeaseSQL, name, holder, ttl.Microseconds()).Scan(&h)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, l.s.fail("acquire lease "+name, err)
	}
	return h == holder, nil
}

// Release gives up a lease the holder holds.
func (l leases) Release(ctx context.Context, name, holder string) error {
	return l.s.execAny(ctx, "release lease "+name, "DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder)
}
