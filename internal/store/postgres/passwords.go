package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/scim/password"
)

// dataSteps are the parts of migrations that need Go: each runs in the
// migrations' transaction right after the SQL of the migration of its
// version, so the version is recorded if and only if the step is done.
var dataSteps = map[int]func(ctx context.Context, tx pgx.Tx) error{
	4: hashUserPasswords,
}

// hashUserPasswords replaces every User password stored in clear text by
// an older release with its salted argon2id hash (password.HashAll, all
// cores). Everything this release writes is hashed already, and the step
// runs once, with its migration, so no value is taken for a hash that is
// not one.
func hashUserPasswords(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT seq, attrs->>'password' FROM resources
		WHERE type = 'User' AND jsonb_typeof(attrs->'password') = 'string'`)
	if err != nil {
		return fmt.Errorf("read stored passwords: %w", err)
	}
	type stored struct {
		Seq   int64
		Clear string
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[stored])
	if err != nil {
		return fmt.Errorf("read stored passwords: %w", err)
	}
	if len(found) == 0 {
		return nil
	}
	seqs, clears := make([]int64, len(found)), make([]string, len(found))
	for i, f := range found {
		seqs[i], clears[i] = f.Seq, f.Clear
	}
	hashes, err := password.HashAll(ctx, clears)
	if err != nil {
		return fmt.Errorf("hash stored passwords: %w", err)
	}
	// One statement for all rows; an empty hash (an empty password) drops
	// the attribute.
	if _, err := tx.Exec(ctx, `UPDATE resources r SET attrs = CASE WHEN h.hash = '' THEN r.attrs - 'password'
			ELSE jsonb_set(r.attrs, '{password}', to_jsonb(h.hash)) END
		FROM unnest($1::bigint[], $2::text[]) AS h(seq, hash) WHERE r.seq = h.seq`, seqs, hashes); err != nil {
		return fmt.Errorf("store hashed passwords: %w", err)
	}
	return nil
}
