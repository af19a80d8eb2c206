package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/rosterhq/roster/internal/scim/password"
)

// dataSteps are the parts of migrations that need Go: each runs in the
// transaction of the migration of its version, after the migration's SQL,
// so the version is recorded if and only if the step is done.
var dataSteps = map[int]func(ctx context.Context, conn *sql.Conn) error{
	7: hashUserPasswords,
}

// hashUserPasswords replaces every User password stored in clear text by
// an older release with its salted argon2id hash (password.HashAll, all
// cores). Everything this release writes is hashed already, and the step
// runs once, with its migration, so no value is taken for a hash that is
// not one.
func hashUserPasswords(ctx context.Context, conn *sql.Conn) (err error) {
	rows, err := conn.QueryContext(ctx, `SELECT seq, json_extract(attrs, '$.password') FROM resources
		WHERE type = 'User' AND json_type(attrs, '$.password') = 'text'`)
	if err != nil {
		return fmt.Errorf("read stored passwords: %w", err)
	}
	var (
		seqs   []int64
		clears []string
	)
	for rows.Next() {
		var seq int64
		var clear string
		if err := rows.Scan(&seq, &clear); err != nil {
			rows.Close()
			return fmt.Errorf("read stored passwords: %w", err)
		}
		seqs, clears = append(seqs, seq), append(clears, clear)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read stored passwords: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read stored passwords: %w", err)
	}
	if len(seqs) == 0 {
		return nil
	}
	hashes, err := password.HashAll(ctx, clears)
	if err != nil {
		return fmt.Errorf("hash stored passwords: %w", err)
	}
	// Without secure_delete, SQLite leaves the old cell, clear text and
	// all, in the page's free space when it rewrites a row.
	var secure int
	if err := conn.QueryRowContext(ctx, "PRAGMA secure_delete").Scan(&secure); err != nil {
		return fmt.Errorf("read secure_delete: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return fmt.Errorf("set secure_delete: %w", err)
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA secure_delete = %d", secure)); rerr != nil && err == nil {
			err = fmt.Errorf("restore secure_delete: %w", rerr)
		}
	}()
	for i, seq := range seqs {
		q, args := "UPDATE resources SET attrs = json_set(attrs, '$.password', ?2) WHERE seq = ?1", []any{seq, hashes[i]}
		if hashes[i] == "" {
			q, args = "UPDATE resources SET attrs = json_remove(attrs, '$.password') WHERE seq = ?1", []any{seq}
		}
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store hashed password: %w", err)
		}
	}
	return nil
}
