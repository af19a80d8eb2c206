package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/postgres"
)

// roster_fold is filter.Fold for every character PostgreSQL text can hold.
func TestFoldFunction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sch := pgtest.Schema(t)
	s := openStore(t, sch)
	probe, folded, err := postgres.FoldProbe()
	require.NoError(t, err)
	var same bool
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT roster_fold($1) = $2", probe, folded).Scan(&same))
	require.True(t, same)
	var def, comment string
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT pg_get_functiondef('roster_fold(text)'::regprocedure),
		obj_description('roster_fold(text)'::regprocedure, 'pg_proc')`).Scan(&def, &comment))
	t.Logf("%s\n%.300s", comment, def)

	// A definition that no longer matches its comment is rebuilt by the
	// next Open.
	_, err = s.Pool().Exec(ctx, `CREATE OR REPLACE FUNCTION roster_fold(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT $1 $$;
		COMMENT ON FUNCTION roster_fold(text) IS 'roster_fold v0'`)
	require.NoError(t, err)
	s2 := openStore(t, sch)
	require.NoError(t, s2.Pool().QueryRow(ctx, "SELECT roster_fold($1) = $2", probe, folded).Scan(&same))
	require.True(t, same, "rebuilt")
	var again string
	require.NoError(t, s2.Pool().QueryRow(ctx, `SELECT obj_description('roster_fold(text)'::regprocedure, 'pg_proc')`).Scan(&again))
	require.Equal(t, comment, again)
}

// The translate-only definition, used where no collation lowers as Go
// does, is filter.Fold too. It is slow, so the check covers every
// character Go changes and every other below U+3000.
func TestExactFoldFunction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	create, err := postgres.ExactFoldFunction("roster_fold_exact")
	require.NoError(t, err)
	_, err = s.Pool().Exec(ctx, create)
	require.NoError(t, err)
	var in, want strings.Builder
	for r := rune(1); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) || (r >= 0x3000 && unicode.ToLower(r) == r) {
			continue
		}
		in.WriteRune(r)
		want.WriteString(filter.Fold(string(r)))
	}
	in.WriteString("Mixed ÅSCII and Ünïcödé, ΣΑΣ, İstanbul, ǅ")
	want.WriteString(filter.Fold("Mixed ÅSCII and Ünïcödé, ΣΑΣ, İstanbul, ǅ"))
	var got string
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT roster_fold_exact($1)", in.String()).Scan(&got))
	require.Equal(t, want.String(), got)
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT roster_fold_exact('ASCII Only')").Scan(&got))
	require.Equal(t, "ascii only", got)
}

// roster_time is filter.ParseTime followed by sqlfilter.FormatTime, NULL
// where ParseTime fails.
func TestTimeFunction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	corpus := []string{
		"2020-02-29T12:00:00+01:00", "2020-02-29T11:00:00Z", "2020-02-29T10:59:59.999999999Z", "not-a-date", "",
		"2021-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
		"0000-01-01T00:00:00+00:01", "0000-01-01T00:00:00-24:00", "9999-12-31T23:59:59.999999999-24:60",
		"1969-12-31T23:59:59.5Z", "1970-01-01T00:00:00Z", "2020-01-01T1:02:03Z", "2020-01-01T01:02:03,25Z",
		"2020-01-01T01:02:03.Z", "2020-01-01T01:02:03.1234567891234Z", "2020-01-01t01:02:03Z", "2020-01-01T01:02:03z",
		"2020-01-01T01:02:03+0100", "2020-01-01T01:02:03+01", "2020-01-01T24:00:00Z", "2020-01-01T23:60:00Z",
		"2020-01-01T23:59:60Z", "2020-01-01T01:02:03+25:00", "2020-01-01T01:02:03+24:61", "2020-1-01T01:02:03Z",
		"2020-01-01 01:02:03Z", " 2020-01-01T01:02:03Z", "2020-01-01T01:02:03Z ", "+2020-01-01T01:02:03Z",
		"2020-01-01T01:02:03", "2020-01-01T01:02:03.5", "2020-01-01T001:02:03Z", "2020-01-01T01:02:03.-5Z",
		"２０２０-01-01T01:02:03Z", "2020-13-01T00:00:00Z", "2020-00-01T00:00:00Z", "2020-01-00T00:00:00Z",
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rnd.IntN(len(xs))] }
	for range 20000 {
		corpus = append(corpus, pick("0000", "0001", "0399", "0400", "1582", "1969", "1970", "2000", "2020", "2100", "9999")+"-"+
			pick("00", "01", "02", "03", "06", "09", "11", "12", "13", "1")+"-"+
			pick("00", "01", "15", "28", "29", "30", "31", "32", "1")+"T"+
			pick("0", "1", "9", "00", "01", "12", "23", "24", "99")+":"+
			pick("00", "01", "30", "59", "60", "5")+":"+
			pick("00", "01", "30", "59", "60")+
			pick("", "", ".", ".5", ",5", ".123456", ".123456789", ".1234567899", ".000000001", ",0")+
			pick("", "Z", "Z", "z", "+00:00", "-00:00", "+01:00", "-01:30", "+14:00", "-23:59", "+24:00", "+24:60", "+25:00",
				"-00:61", "+1:00", "+01:0", "+0100", "Z ", "+01:00:00"))
	}
	rows, err := s.Pool().Query(ctx, "SELECT roster_time(x) FROM unnest($1::text[]) WITH ORDINALITY AS c(x, i) ORDER BY i", corpus)
	require.NoError(t, err)
	defer rows.Close()
	valid := 0
	for i := 0; rows.Next(); i++ {
		var got *string
		require.NoError(t, rows.Scan(&got))
		tm, err := filter.ParseTime(corpus[i])
		if err != nil {
			require.Nil(t, got, "%q does not parse in Go (%v)", corpus[i], err)
			continue
		}
		valid++
		require.NotNil(t, got, "%q parses in Go", corpus[i])
		require.Equal(t, postgres.FormatTime(tm), *got, corpus[i])
	}
	require.NoError(t, rows.Err())
	require.Greater(t, valid, 1000)
}

// Numbers keep their Go type through jsonb, which drops exponents.
func TestNumbersRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	nums := map[string]any{
		"f1e6": 1e6, "f15e6": 1.5e7, "fhalf": 1234567.5, "f1e21": 1e21, "f1e20": 1e20, "fsmall": 1e-7, "ftwo": 2.0,
		"ftenth": 0.1, "fbig": 123456789012345678.0, "f92e18": 9.2e18, "f1e300": 1e300, "fneg": -2.5e-300,
		"fmax": math.MaxFloat64, "fmin": math.SmallestNonzeroFloat64, "fzero": 0.0, "fnegint": -4e15,
		"imax": int64(math.MaxInt64), "imin": int64(math.MinInt64), "izero": int64(0), "i53": int64(1<<53 + 1),
		"list": []any{1.0, int64(1), 1e10, "1e10"},
	}
	text, err := postgres.EncodeAttrs(nums)
	require.NoError(t, err)
	var stored string
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT $1::jsonb::text", text).Scan(&stored))
	got, err := postgres.DecodeAttrs(stored)
	require.NoError(t, err)
	require.Equal(t, nums, got, "stored as %s", stored)

	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		return w.Create(ctx, store.Resource{Tenant: "t1", Type: "User", ID: "u1", Attrs: map[string]any{"userName": "x", "urn:x:ext": nums}, Version: 1})
	}))
	r, err := s.Resources().Get(ctx, "t1", "User", "u1")
	require.NoError(t, err)
	require.Equal(t, nums, r.Attrs["urn:x:ext"])
}

func ExampleOpen() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, "postgres://roster@db.example/roster?sslmode=verify-full", postgres.WithSchema("roster"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
}
