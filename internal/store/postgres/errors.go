package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rosterhq/roster/internal/store"
)

// PostgreSQL error codes the store acts on.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// fail wraps err with the operation and, where it applies, the store
// sentinel: a unique violation becomes store.ErrConflict, a foreign key
// naming a missing row store.ErrNotFound, and a server that cannot be
// reached, is shutting down or refuses connections, or a closed store,
// store.ErrUnavailable. Context errors and store sentinels pass through
// wrapped but unchanged.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	//nolint:errorlint // the bare error, not one wrapping it: see below
	if err == context.DeadlineExceeded {
		// pgx returns the context's error as is only when the pool had no
		// connection to give in time (it could not connect, or every
		// connection was busy); a statement cut short comes wrapped.
		return fmt.Errorf("%s: %w: no database connection in time: %w", op, store.ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == codeUniqueViolation:
			return fmt.Errorf("%s: %w: %w", op, store.ErrConflict, err)
		case pe.Code == codeForeignKeyViolation:
			return fmt.Errorf("%s: %w: %w", op, store.ErrNotFound, err)
		case unavailableCode(pe.Code):
			return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	if unavailable(err) || s.closed.Load() {
		return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailableCode reports SQLSTATEs that say the server, not the statement,
// is the problem: connection exceptions (class 08), too many connections or
// no resources (class 53), and shutdowns (57P01-57P03).
func unavailableCode(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"):
		return true
	case code == "57P01", code == "57P02", code == "57P03":
		return true
	}
	return false
}

// unavailable reports errors of reaching the server: a failed connect
// (including one cut short by the caller's deadline, since an unreachable
// server is what made it wait) or a connection lost mid-way. (A closed pool
// is a closed store, which fail checks itself.)
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, pgconn.ErrConnClosed)
}

// retryable reports errors after which the whole transaction may simply be
// run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// notFound maps pgx.ErrNoRows to store.ErrNotFound.
func (s *Store) notFound(op, id string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s %s: %w", op, id, store.ErrNotFound)
	}
	return s.fail(op, err)
}
