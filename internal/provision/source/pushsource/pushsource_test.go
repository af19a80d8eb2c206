package pushsource_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/source/pushsource"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

func open(t *testing.T, backend string) store.Store {
	t.Helper()
	if backend == "postgres" {
		return pgtest.Open(t)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func put(t *testing.T, st store.Store, recs ...string) {
	t.Helper()
	rows := make([]store.PushRecord, len(recs))
	for i, r := range recs {
		var doc struct{ ExternalID string }
		require.NoError(t, json.Unmarshal([]byte(r), &doc))
		rows[i] = store.PushRecord{Job: "hr", Anchor: doc.ExternalID, Data: []byte(r)}
	}
	require.NoError(t, st.Write(context.Background(), func(w store.Writer) error { return w.Push().PutRecords(context.Background(), "hr", rows) }))
}

// changes reads a delta and returns the objects by anchor and the next
// watermark.
func changes(t *testing.T, src *pushsource.Source, kind source.Kind, mark string) (map[string]source.Object, string) {
	t.Helper()
	got := map[string]source.Object{}
	next, err := src.Changes(context.Background(), kind, mark, func(o source.Object) error {
		require.NotContains(t, got, o.Anchor, "reported once")
		got[o.Anchor] = o
		return nil
	})
	require.NoError(t, err)
	return got, next
}

// TestChanges pins the push source's reads on both backends: a full read
// of the live records with their attributes, an exact delta from the
// watermark, deletes only for records an authoritative upload swept, no
// groups, and Get by externalId.
func TestChanges(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			st := open(t, backend)
			ctx := context.Background()
			src := pushsource.New(st, "hr")
			require.NoError(t, src.Test(ctx))
			put(t, st, `{"externalId":"e1","userName":"a","active":true,"name":{"givenName":"A"},"emails":[],"title":null}`,
				`{"externalId":"e2","userName":"b"}`)

			all, mark := changes(t, src, source.User, "")
			require.Len(t, all, 2)
			a := all["e1"]
			v, ok := a.Get("userName")
			require.True(t, ok)
			require.Equal(t, source.Values{"a"}, v)
			v, _ = a.Get("name")
			require.Equal(t, "A", v[0].(map[string]any)["givenName"])
			v, ok = a.Get("emails")
			require.True(t, ok)
			require.Nil(t, v, "an empty array is null")
			_, ok = a.Get("schemas")
			require.False(t, ok)

			delta, next := changes(t, src, source.User, mark)
			require.Empty(t, delta, "nothing since")
			require.Equal(t, mark, next)

			put(t, st, `{"externalId":"e2","userName":"b","active":false}`)
			delta, mark = changes(t, src, source.User, mark)
			require.Len(t, delta, 1)
			v, _ = delta["e2"].Get("active")
			require.Equal(t, source.Values{false}, v, "a termination is a record, not a delete")

			var swept int
			require.NoError(t, st.Write(ctx, func(w store.Writer) error {
				var err error
				swept, err = w.Push().DeleteRecordsUpTo(ctx, "hr", 1) // e1 only
				return err
			}))
			require.Equal(t, 1, swept)
			delta, _ = changes(t, src, source.User, mark)
			require.True(t, delta["e1"].Deleted)
			all, _ = changes(t, src, source.User, "")
			require.Len(t, all, 1, "a full read lists the live records")
			require.Contains(t, all, "e2")

			groups, _ := changes(t, src, source.Group, "")
			require.Empty(t, groups)

			o, err := src.Get(ctx, source.User, "e2")
			require.NoError(t, err)
			require.Equal(t, "e2", o.Anchor)
			for _, anchor := range []string{"e1", "nobody"} {
				_, err = src.Get(ctx, source.User, anchor)
				require.ErrorIs(t, err, source.ErrNotFound, anchor)
			}
		})
	}
}
