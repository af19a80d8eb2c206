package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// Filters fold JSON-extracted text with the SQL function roster_fold, which
// must be filter.Fold exactly: Go's simple lower-case mapping, one rune to
// one rune, from Go's Unicode tables. PostgreSQL cannot call Go, and its
// lower() follows the C library of the server (or ICU, which maps İ to two
// characters and Σ by context), so the function is built at Open against
// Go's tables:
//
//   - If a libc collation (C.utf8, en_US.utf8) lowers every character as Go
//     does but a few, roster_fold is lower() under that collation after a
//     translate() of those few to Go's result. glibc's towlower works
//     character by character, so lowering each character once, in one query
//     of every character, proves the function exact. On Debian 12 (glibc
//     2.36, Unicode 15) C.utf8 has no exception at all.
//   - Otherwise it is translate() over every non-ASCII character Go lowers,
//     exact by construction but some 200 times slower for non-ASCII text.
//
// A process does that query once per server (about 100 ms) and installs
// the function only if the comment it carries, which records Go's Unicode
// version, the collation and a checksum of the exceptions, differs: after
// an upgrade of Go or of the server's C library changes the result. No
// index depends on the function (folded columns are folded in Go), so
// replacing it is always safe.

const foldFingerprint = "roster_fold v1 unicode=" + unicode.Version

// foldCandidates are the libc collations tried, in order.
var foldCandidates = []string{"C.utf8", "C.UTF-8", "en_US.utf8", "en_US.UTF-8"}

// maxFoldExceptions bounds the characters a collation may lower differently
// from Go and still be used.
const maxFoldExceptions = 64

// goRunes is every rune PostgreSQL text can hold but a newline, which
// separates them in the probe, with Go's fold of each.
var goRunes = sync.OnceValues(func() (*runeTable, error) {
	t := &runeTable{}
	var probe strings.Builder
	for r := rune(1); r <= unicode.MaxRune; r++ {
		if r == '\n' || !utf8.ValidRune(r) {
			continue
		}
		t.runes = append(t.runes, r)
		f := filter.Fold(string(r))
		if utf8.RuneCountInString(f) != 1 {
			return nil, fmt.Errorf("filter.Fold maps %U to %q: roster_fold supports only rune-to-rune folding", r, f)
		}
		fr, _ := utf8.DecodeRuneInString(f)
		t.folds = append(t.folds, fr)
		probe.WriteRune(r)
		probe.WriteByte('\n')
	}
	t.probe = probe.String()
	if s := strings.ReplaceAll(t.probe, "\n", ""); filter.Fold(s) != string(t.folds) {
		return nil, errors.New("filter.Fold does not fold rune by rune: roster_fold cannot reproduce it")
	}
	return t, nil
})

type runeTable struct {
	runes []rune // ascending
	folds []rune // filter.Fold of each
	probe string // the runes, each followed by '\n'
}

// foldPlan is a definition of roster_fold.
type foldPlan struct {
	collation, version string // "" for the translate-only definition
	from, to           string // translated before lower()
}

func (p *foldPlan) fingerprint() string {
	sum := fmt.Sprintf(" exceptions=%d:%08x", utf8.RuneCountInString(p.from), crc32.ChecksumIEEE([]byte(p.from+"\x00"+p.to)))
	if p.collation == "" {
		return foldFingerprint + " collation=-" + sum
	}
	return foldFingerprint + " collation=" + p.collation + " version=" + p.version + sum
}

func (p *foldPlan) body() string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	if p.collation == "" {
		return "SELECT CASE WHEN octet_length($1) = length($1) THEN lower($1 COLLATE \"C\") " +
			"ELSE translate(lower($1 COLLATE \"C\"), " + q(p.from) + ", " + q(p.to) + ") END"
	}
	x := "$1"
	if p.from != "" {
		x = "translate($1, " + q(p.from) + ", " + q(p.to) + ")"
	}
	return "SELECT lower(" + x + " COLLATE " + pgx.Identifier{p.collation}.Sanitize() + ")"
}

// foldPlans caches the plans computed in this process, by server version,
// collation and collation version: computing one sends every character to
// the server.
var foldPlans sync.Map

// ensureFold installs roster_fold unless the installed one was built for
// this Go and this server's collation. It runs in the migration transaction.
func ensureFold(ctx context.Context, tx pgx.Tx) error {
	var enc, comment, serverVersion string
	err := tx.QueryRow(ctx, `SELECT getdatabaseencoding(),
		coalesce(obj_description(to_regprocedure('`+sqlfilter.FoldFunc+`(text)'), 'pg_proc'), ''),
		current_setting('server_version')`).Scan(&enc, &comment, &serverVersion)
	if err != nil {
		return fmt.Errorf("check %s: %w", sqlfilter.FoldFunc, err)
	}
	if enc != "UTF8" {
		return fmt.Errorf("the database encoding is %s: Roster needs UTF8", enc)
	}
	rows, err := tx.Query(ctx, `SELECT collname::text, coalesce(pg_collation_actual_version(oid), '')
		FROM pg_collation
		WHERE collprovider = 'c' AND collnamespace = 'pg_catalog'::regnamespace
			AND collencoding IN (-1, pg_char_to_encoding('UTF8')) AND collname = ANY($1)
		ORDER BY array_position($1, collname::text)`, foldCandidates)
	if err != nil {
		return fmt.Errorf("list collations: %w", err)
	}
	type coll struct{ name, version string }
	colls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (coll, error) {
		var c coll
		err := r.Scan(&c.name, &c.version)
		return c, err
	})
	if err != nil {
		return fmt.Errorf("list collations: %w", err)
	}
	var plan *foldPlan
	for _, c := range colls {
		if plan, err = collationPlan(ctx, tx, serverVersion, c.name, c.version); err != nil {
			return err
		}
		if plan != nil {
			break
		}
	}
	if plan == nil {
		if plan, err = exactFoldPlan(); err != nil {
			return err
		}
	}
	if comment == plan.fingerprint() {
		return nil
	}
	if _, err := tx.Exec(ctx, "CREATE OR REPLACE FUNCTION "+sqlfilter.FoldFunc+
		"(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fold$ "+plan.body()+" $fold$"); err != nil {
		return fmt.Errorf("create %s: %w", sqlfilter.FoldFunc, err)
	}
	if _, err := tx.Exec(ctx, "COMMENT ON FUNCTION "+sqlfilter.FoldFunc+"(text) IS '"+plan.fingerprint()+"'"); err != nil {
		return fmt.Errorf("comment %s: %w", sqlfilter.FoldFunc, err)
	}
	return nil
}

// exactFoldPlan is the translate-only definition of roster_fold.
var exactFoldPlan = sync.OnceValues(func() (*foldPlan, error) {
	t, err := goRunes()
	if err != nil {
		return nil, err
	}
	var from, to strings.Builder
	for i, r := range t.runes {
		if r >= utf8.RuneSelf && t.folds[i] != r {
			from.WriteRune(r)
			to.WriteRune(t.folds[i])
		}
	}
	return &foldPlan{from: from.String(), to: to.String()}, nil
})

// collationPlan returns the definition of roster_fold as lower() under the
// collation, or nil if the collation lowers too many characters differently
// from Go or in a way a translate() before it cannot fix.
func collationPlan(ctx context.Context, tx pgx.Tx, serverVersion, name, version string) (*foldPlan, error) {
	key := serverVersion + "\x00" + name + "\x00" + version
	if p, ok := foldPlans.Load(key); ok {
		return p.(*foldPlan), nil
	}
	p, err := computeCollationPlan(ctx, tx, name, version)
	if err == nil {
		foldPlans.Store(key, p)
	}
	return p, err
}

func computeCollationPlan(ctx context.Context, tx pgx.Tx, name, version string) (*foldPlan, error) {
	t, err := goRunes()
	if err != nil {
		return nil, err
	}
	var lowered string
	err = tx.QueryRow(ctx, "SELECT lower($1::text COLLATE "+pgx.Identifier{name}.Sanitize()+")", t.probe).Scan(&lowered)
	if err != nil {
		return nil, fmt.Errorf("lower under %s: %w", name, err)
	}
	got := strings.Split(lowered, "\n")
	if len(got) != len(t.runes)+1 {
		return nil, nil
	}
	// lower returns the character PostgreSQL makes of r; ok reports whether
	// it is one character.
	lower := func(r rune) (rune, bool) {
		i, found := runeIndex(t.runes, r)
		if !found {
			return r, true
		}
		g, size := utf8.DecodeRuneInString(got[i])
		return g, size == len(got[i])
	}
	var from, to strings.Builder
	n := 0
	for i, r := range t.runes {
		if g, one := lower(r); one && g == t.folds[i] {
			continue
		}
		// Translated to Go's fold first, which lower() must then keep.
		if g, one := lower(t.folds[i]); !one || g != t.folds[i] {
			return nil, nil
		}
		if n++; n > maxFoldExceptions {
			return nil, nil
		}
		from.WriteRune(r)
		to.WriteRune(t.folds[i])
	}
	return &foldPlan{collation: name, version: version, from: from.String(), to: to.String()}, nil
}

func runeIndex(rs []rune, r rune) (int, bool) {
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if rs[m] < r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(rs) && rs[lo] == r
}
