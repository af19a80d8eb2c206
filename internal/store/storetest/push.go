package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

// pushed lists a job's records above a seq as anchor → (seq, deleted).
func pushed(t *testing.T, s store.Store, job string, after int64) []store.PushRecord {
	t.Helper()
	var out []store.PushRecord
	require.NoError(t, s.Push().Records(context.Background(), job, after, func(r store.PushRecord) error {
		out = append(out, r)
		return nil
	}))
	return out
}

func pushRecord(job, anchor, data string) store.PushRecord {
	return store.PushRecord{Job: job, Anchor: anchor, Data: []byte(data)}
}

// testPushRecords pins the staging of pushed records: each write gives a
// record the job's next seq, a rewrite moves it to the end, seqs are per
// job, a read above a seq is the delta since it, DeleteRecordsUpTo marks
// only the live records at or below the seq (with new seqs), a later push
// revives a deleted record, and DeleteJob removes records and token.
func testPushRecords(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := Write(s).Push()
	recs := []store.PushRecord{
		pushRecord("hr", "e1", `{"externalId":"e1","userName":"a"}`),
		pushRecord("hr", "e2", `{"externalId":"e2","userName":"b"}`),
		pushRecord("hr", "e3", `{"externalId":"e3","userName":"c"}`),
	}
	require.NoError(t, w.PutRecords(ctx, "hr", recs))
	require.Equal(t, []int64{1, 2, 3}, []int64{recs[0].Seq, recs[1].Seq, recs[2].Seq})
	require.NoError(t, w.PutRecords(ctx, "crm", []store.PushRecord{pushRecord("crm", "e1", `{"externalId":"e1"}`)}))
	require.Error(t, w.PutRecords(ctx, "hr", []store.PushRecord{pushRecord("crm", "x", `{}`)}), "a record of another job")

	last, err := s.Push().LastSeq(ctx, "hr")
	require.NoError(t, err)
	require.EqualValues(t, 3, last)
	mark := last

	again := []store.PushRecord{pushRecord("hr", "e1", `{"externalId":"e1","userName":"a2"}`)}
	require.NoError(t, w.PutRecords(ctx, "hr", again))
	require.EqualValues(t, 4, again[0].Seq)

	got := pushed(t, s, "hr", 2)
	require.Len(t, got, 2)
	require.Equal(t, "e3", got[0].Anchor)
	require.Equal(t, "e1", got[1].Anchor)
	require.JSONEq(t, `{"externalId":"e1","userName":"a2"}`, string(got[1].Data))
	require.False(t, got[1].Updated.IsZero())

	n, err := w.DeleteRecordsUpTo(ctx, "hr", mark)
	require.NoError(t, err)
	require.Equal(t, 2, n, "e2 and e3 were not sent again")
	got = pushed(t, s, "hr", 4)
	require.Len(t, got, 2)
	for i, a := range []string{"e2", "e3"} {
		require.Equal(t, a, got[i].Anchor)
		require.True(t, got[i].Deleted)
		require.EqualValues(t, 5+i, got[i].Seq)
	}
	n, err = w.DeleteRecordsUpTo(ctx, "hr", 100)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only e1 is still live")

	r, err := s.Push().Record(ctx, "hr", "e2")
	require.NoError(t, err)
	require.True(t, r.Deleted)
	require.NoError(t, w.PutRecords(ctx, "hr", []store.PushRecord{pushRecord("hr", "e2", `{"externalId":"e2"}`)}))
	r, err = s.Push().Record(ctx, "hr", "e2")
	require.NoError(t, err)
	require.False(t, r.Deleted, "a push revives a deleted record")
	_, err = s.Push().Record(ctx, "hr", "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.Len(t, pushed(t, s, "crm", 0), 1, "the other job's records are apart")

	_, err = s.Push().Token(ctx, "hr")
	require.ErrorIs(t, err, store.ErrNotFound)
	tok := store.PushToken{Job: "hr", ID: "id1", Hash: []byte{1, 2, 3}, Created: base}
	require.NoError(t, w.PutToken(ctx, tok))
	tok.ID, tok.Hash = "id2", []byte{4, 5}
	require.NoError(t, w.PutToken(ctx, tok), "a token issued again replaces the first")
	gotTok, err := s.Push().Token(ctx, "hr")
	require.NoError(t, err)
	require.Equal(t, "id2", gotTok.ID)
	require.Equal(t, []byte{4, 5}, gotTok.Hash)
	require.True(t, base.Equal(gotTok.Created))

	require.NoError(t, Write(s).Provisioning().DeleteJob(ctx, "hr"))
	require.Empty(t, pushed(t, s, "hr", 0))
	_, err = s.Push().Token(ctx, "hr")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Len(t, pushed(t, s, "crm", 0), 1)
}
