package jobs

import (
	"strconv"
	"strings"
)

// Dialect is the SQL dialect of a jobs database: SQLite or PostgreSQL. The
// packages that keep tables in the jobs database write their queries with
// ? placeholders and run them through Rebind.
type Dialect struct{ postgres bool }

// Postgres reports whether the jobs database is PostgreSQL.
func (d Dialect) Postgres() bool { return d.postgres }

// Name is "postgres" or "sqlite"; it names the dialect's migrations
// directory.
func (d Dialect) Name() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// Rebind turns the ? placeholders of a query into PostgreSQL's $1, $2, …
// The query must contain no ? in literals or identifiers.
func (d Dialect) Rebind(q string) string {
	if !d.postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// ForUpdate is the row-lock clause of a SELECT: on PostgreSQL it makes the
// selected rows a mutex between transactions; on SQLite, whose jobs-file
// transactions are IMMEDIATE, the transaction already holds the file's
// write lock, and the clause is empty.
func (d Dialect) ForUpdate() string {
	if d.postgres {
		return " FOR UPDATE"
	}
	return ""
}
