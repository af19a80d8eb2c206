package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// failingRecord is a real store whose writers fail at the moment a change
// would be recorded: after the resource rows are written, before the
// history and outbox rows are.
type failingRecord struct {
	store.Store
	fail bool
}

var errInjected = errors.New("injected failure between the change and its history")

func (f *failingRecord) Write(ctx context.Context, fn func(w store.Writer) error) error {
	return f.Store.Write(ctx, func(w store.Writer) error { return fn(recordFails{w, f.fail}) })
}

type recordFails struct {
	store.Writer
	fail bool
}

func (r recordFails) Record(ctx context.Context, c *store.Change) error {
	if r.fail {
		return errInjected
	}
	return r.Writer.Record(ctx, c)
}

func open(t *testing.T) (*failingRecord, *directory.Service, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	tn := store.Tenant{ID: "t1", Name: "acme", Created: time.Now()}
	require.NoError(t, storetest.Write(st).Tenants().Create(ctx, tn))
	fr := &failingRecord{Store: st}
	return fr, directory.New(fr, schema.Default()), tn.ID
}

func counts(t *testing.T, st store.Store, tenant string) (history, events int) {
	t.Helper()
	ctx := context.Background()
	h, err := st.History().List(ctx, store.HistoryQuery{Tenant: tenant})
	require.NoError(t, err)
	e, _, err := st.Events().List(ctx, store.EventQuery{Tenant: tenant})
	require.NoError(t, err)
	return len(h), len(e)
}

// TestChangeAndHistoryCommitTogether injects a failure between each kind of
// change and its history and outbox rows: the change is not stored either.
// Without the failure, all three are.
func TestChangeAndHistoryCommitTogether(t *testing.T) {
	ctx := context.Background()
	st, dir, tn := open(t)
	users, groups := schema.Default().User(), schema.Default().Group()

	u, err := dir.Create(ctx, tn, users, map[string]any{"userName": "kept"})
	require.NoError(t, err)
	g, err := dir.Create(ctx, tn, groups, map[string]any{"displayName": "G"})
	require.NoError(t, err)
	h0, e0 := counts(t, st, tn)
	require.Equal(t, 2, h0)
	require.Equal(t, 2, e0)

	st.fail = true
	disable := patch.Request{Operations: []patch.Operation{{Op: "replace", Path: "active", Value: json.RawMessage(`false`)}}}
	addMember := patch.Request{Operations: []patch.Operation{{Op: "add", Path: "members", Value: json.RawMessage(`[{"value": "` + u.ID + `"}]`)}}}
	for name, change := range map[string]func() error{
		"create": func() error {
			_, err := dir.Create(ctx, tn, users, map[string]any{"userName": "lost"})
			return err
		},
		"replace": func() error {
			_, err := dir.Replace(ctx, tn, users, u.ID, "", map[string]any{"userName": "renamed"})
			return err
		},
		"patch": func() error {
			_, err := dir.Patch(ctx, tn, users, u.ID, "", disable)
			return err
		},
		"membership": func() error {
			_, err := dir.Patch(ctx, tn, groups, g.ID, "", addMember)
			return err
		},
		"delete": func() error { return dir.Delete(ctx, tn, users, u.ID, "") },
	} {
		require.ErrorIs(t, change(), errInjected, name)
	}
	h, e := counts(t, st, tn)
	require.Equal(t, h0, h, "no history without its change")
	require.Equal(t, e0, e, "no event without its change")
	got, err := dir.Get(ctx, tn, users, u.ID)
	require.NoError(t, err, "the user was not deleted")
	require.Equal(t, "kept", got.Attrs["userName"])
	require.Equal(t, int64(1), got.Version)
	require.Nil(t, got.Attrs["active"])
	page, err := dir.List(ctx, tn, users, directory.ListParams{Filter: `userName eq "lost"`, Count: -1})
	require.NoError(t, err)
	require.Zero(t, page.Total, "the failed create left no user")
	var members int
	require.NoError(t, st.Resources().Members(ctx, tn, g.ID, func(store.Member) error { members++; return nil }))
	require.Zero(t, members)

	st.fail = false
	_, err = dir.Patch(ctx, tn, users, u.ID, "", disable)
	require.NoError(t, err)
	h, e = counts(t, st, tn)
	require.Equal(t, h0+1, h)
	require.Equal(t, e0+1, e)
}
