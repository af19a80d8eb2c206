package directory_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/password"
	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/store/storetest"
	"github.com/rosterhq/roster/internal/tenant"
)

// storedPassword reads the password a user's row holds, as the store keeps
// it, "" if none.
func storedPassword(t *testing.T, st store.Store, id string) string {
	t.Helper()
	r, err := st.Resources().Get(context.Background(), "t1", schema.UserResource, id)
	require.NoError(t, err)
	require.NotContains(t, strings.ToLower(string(mustJSON(t, r.Attrs))), "clear", "no clear text anywhere in the row")
	pw, _ := r.Attrs["password"].(string)
	return pw
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func requireHashOf(t *testing.T, stored, clear string) {
	t.Helper()
	require.True(t, password.IsHash(stored), "stored form %q is a hash", stored)
	ok, err := password.Check(stored, clear)
	require.NoError(t, err)
	require.True(t, ok, "the hash is of %q", clear)
}

func patchReq(t *testing.T, ops string) patch.Request {
	t.Helper()
	req, err := patch.ParseRequest([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + ops + `}`))
	require.NoError(t, err)
	return req
}

// TestPasswordsAreHashed: a User's password is stored as a salted argon2id
// hash, never as sent, through every way of setting it; PUT and PATCH that
// leave it out keep it; history shows neither the password nor its hash.
func TestPasswordsAreHashed(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		require.NoError(t, storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
		dir := directory.New(st, schema.Default())
		users := schema.Default().User()

		plain, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "plain"})
		require.NoError(t, err)
		require.NotContains(t, plain.Attrs, "password", "a user without a password gets none")

		u, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "alice", "PassWord": "clear-1"})
		require.NoError(t, err)
		first := storedPassword(t, st, u.ID)
		requireHashOf(t, first, "clear-1")

		_, err = dir.Replace(ctx, "t1", users, u.ID, "", map[string]any{"userName": "alice", "title": "Boss"})
		require.NoError(t, err)
		require.Equal(t, first, storedPassword(t, st, u.ID), "PUT without a password keeps it")

		_, err = dir.Patch(ctx, "t1", users, u.ID, "", patchReq(t, `[{"op":"replace","path":"title","value":"CEO"}]`))
		require.NoError(t, err)
		require.Equal(t, first, storedPassword(t, st, u.ID), "PATCH of something else keeps it")

		_, err = dir.Replace(ctx, "t1", users, u.ID, "", map[string]any{"userName": "alice", "password": "clear-2"})
		require.NoError(t, err)
		requireHashOf(t, storedPassword(t, st, u.ID), "clear-2")

		for i, ops := range []string{
			`[{"op":"replace","path":"password","value":"clear-3"}]`,
			`[{"op":"Replace","path":"PASSWORD","value":"clear-4"}]`,
			`[{"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:User:password","value":"clear-5"}]`,
			`[{"op":"replace","value":{"password":"clear-6","active":true}}]`,
			`[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User:password":"clear-7"}}]`,
		} {
			before := storedPassword(t, st, u.ID)
			res, err := dir.Patch(ctx, "t1", users, u.ID, "", patchReq(t, ops))
			require.NoError(t, err, ops)
			require.True(t, res.Changed, ops)
			after := storedPassword(t, st, u.ID)
			require.NotEqual(t, before, after, ops)
			requireHashOf(t, after, "clear-"+string(rune('3'+i)))
		}
		// Setting the same password again is a change like any other, so
		// the version does not tell whether a guess was right.
		r, err := st.Resources().Get(ctx, "t1", schema.UserResource, u.ID)
		require.NoError(t, err)
		res, err := dir.Patch(ctx, "t1", users, u.ID, "", patchReq(t, `[{"op":"replace","path":"password","value":"clear-7"}]`))
		require.NoError(t, err)
		require.Equal(t, r.Version+1, res.Version)

		hist, err := st.History().List(ctx, store.HistoryQuery{Tenant: "t1", ResourceID: u.ID, Limit: 1000})
		require.NoError(t, err)
		require.NotEmpty(t, hist)
		b := string(mustJSON(t, hist))
		require.NotContains(t, b, "clear-")
		require.NotContains(t, b, "argon2id")
		require.Contains(t, b, directory.Redacted)
	})
}

// TestPasswordErrors: a password that cannot be stored is a SCIM error, and
// nothing changes.
func TestPasswordErrors(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		require.NoError(t, storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
		dir := directory.New(st, schema.Default())
		users := schema.Default().User()
		long := strings.Repeat("x", password.MaxBytes+1)
		_, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "bob", "password": long})
		require.Equal(t, scimerr.TypeInvalidValue, scimerr.As(err).ScimType, "%v", err)
		page, err := dir.List(ctx, "t1", users, directory.ListParams{Count: -1})
		require.NoError(t, err)
		require.Zero(t, page.Total)

		u, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "bob", "password": "ok"})
		require.NoError(t, err)
		stored := storedPassword(t, st, u.ID)
		_, err = dir.Patch(ctx, "t1", users, u.ID, "", patchReq(t, `[{"op":"replace","path":"password","value":"`+long+`"}]`))
		require.Equal(t, scimerr.TypeInvalidValue, scimerr.As(err).ScimType, "%v", err)
		_, err = dir.Replace(ctx, "t1", users, u.ID, "", map[string]any{"userName": "bob", "password": long})
		require.Equal(t, scimerr.TypeInvalidValue, scimerr.As(err).ScimType, "%v", err)
		require.Equal(t, stored, storedPassword(t, st, u.ID))
	})
}

// TestStorePasswordsNone: a tenant set to keep no passwords keeps none, and
// a password sent after the switch removes the one stored before it.
func TestStorePasswordsNone(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		require.NoError(t, storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
		dir := directory.New(st, schema.Default())
		tenants := tenant.New(st)
		t.Cleanup(tenants.Close)
		users := schema.Default().User()

		_, err := tenants.SetStorePasswords(ctx, "acme", "clear", "test")
		require.ErrorIs(t, err, tenant.ErrInvalid)

		kept, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "kept", "password": "clear-old"})
		require.NoError(t, err)
		replaced, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "replaced", "password": "clear-old"})
		require.NoError(t, err)
		patched, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "patched", "password": "clear-old"})
		require.NoError(t, err)

		tn, err := tenants.SetStorePasswords(ctx, "acme", store.StorePasswordsNone, "test")
		require.NoError(t, err)
		require.Equal(t, store.StorePasswordsNone, tn.Settings.StorePasswords)
		entries, err := st.Audit().List(ctx, store.AuditQuery{})
		require.NoError(t, err)
		require.NotEmpty(t, entries)
		require.Equal(t, "tenant.store_passwords", entries[len(entries)-1].Action, "audited")

		u, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "new", "password": "clear-new"})
		require.NoError(t, err)
		require.Empty(t, storedPassword(t, st, u.ID))

		_, err = dir.Replace(ctx, "t1", users, replaced.ID, "", map[string]any{"userName": "replaced", "password": "clear-new"})
		require.NoError(t, err)
		require.Empty(t, storedPassword(t, st, replaced.ID), "the old hash is stale: gone")
		_, err = dir.Patch(ctx, "t1", users, patched.ID, "", patchReq(t, `[{"op":"replace","path":"password","value":"clear-new"}]`))
		require.NoError(t, err)
		require.Empty(t, storedPassword(t, st, patched.ID))
		requireHashOf(t, storedPassword(t, st, kept.ID), "clear-old")

		_, err = tenants.SetStorePasswords(ctx, "acme", store.StorePasswordsHash, "test")
		require.NoError(t, err)
		_, err = dir.Patch(ctx, "t1", users, patched.ID, "", patchReq(t, `[{"op":"add","value":{"password":"clear-back"}}]`))
		require.NoError(t, err)
		requireHashOf(t, storedPassword(t, st, patched.ID), "clear-back")
	})
}

// TestListRefusesNeverReturned: no filter or sort order can reveal a
// password.
func TestListRefusesNeverReturned(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		require.NoError(t, storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
		dir := directory.New(st, schema.Default())
		users := schema.Default().User()
		_, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "alice", "password": "Apple"})
		require.NoError(t, err)
		for _, p := range []directory.ListParams{
			{Filter: `password sw "A"`, Count: -1},
			{Filter: `password pr`, Count: -1},
			{Filter: `userName pr and password gt "A"`, Count: -1},
			{SortBy: "password", Count: -1},
			{SortBy: "PASSWORD", SortOrder: "descending", Count: -1},
			{SortBy: "urn:ietf:params:scim:schemas:core:2.0:User:password", Count: -1},
		} {
			_, err := dir.List(ctx, "t1", users, p)
			se := scimerr.As(err)
			require.NotNil(t, se, "%+v: %v", p, err)
			require.Equal(t, scimerr.TypeInvalidFilter, se.ScimType, "%+v", p)
			require.Equal(t, 400, se.Status)
		}
	})
}

// BenchmarkCreate measures what a password adds to a SCIM create on SQLite
// (docs/security.md): go test -run x -bench Create -benchtime 200x ./internal/directory.
func BenchmarkCreate(b *testing.B) {
	for _, bc := range []struct {
		name string
		body func(i int) map[string]any
	}{
		{"WithoutPassword", func(i int) map[string]any { return map[string]any{"userName": "u" + strconv.Itoa(i)} }},
		{"WithPassword", func(i int) map[string]any {
			return map[string]any{"userName": "u" + strconv.Itoa(i), "password": "Tr0ub4dor&3-" + strconv.Itoa(i)}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "roster.db"))
			require.NoError(b, err)
			defer st.Close()
			require.NoError(b, storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
			dir := directory.New(st, schema.Default())
			users := schema.Default().User()
			i := 0
			for b.Loop() {
				i++
				if _, err := dir.Create(ctx, "t1", users, bc.body(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
