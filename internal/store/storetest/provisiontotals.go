package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

// testProvisionTotals pins a job's statistics to date: none until they
// are put, kept as the JSON they were put, replaced whole by the next
// PutState, read inside a write as the transaction sees them, and gone
// with the job.
func testProvisionTotals(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, Write(s).Provisioning().PutState(ctx, store.ProvisionState{Job: "hr", Cycle: "c1", Updated: base}))
	got, err := s.Provisioning().State(ctx, "hr")
	require.NoError(t, err)
	require.Empty(t, got.Totals, "a state put without totals has none")

	for _, totals := range []string{
		`{"cycles":1,"created":3}`,
		`{"cycles":2,"created":3,"updated":1,"lastSucceeded":"2024-03-10T10:00:00Z"}`,
	} {
		st := got
		st.Totals = json.RawMessage(totals)
		require.NoError(t, Write(s).Provisioning().PutState(ctx, st))
		got, err = s.Provisioning().State(ctx, "hr")
		require.NoError(t, err)
		require.JSONEq(t, totals, string(got.Totals))
		require.Equal(t, "c1", got.Cycle, "the rest of the state is kept")
	}

	// The engine adds a cycle's counts to what the transaction reads.
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		st, err := w.Provisioning().State(ctx, "hr")
		if err != nil {
			return err
		}
		require.JSONEq(t, `{"cycles":2,"created":3,"updated":1,"lastSucceeded":"2024-03-10T10:00:00Z"}`, string(st.Totals))
		st.Totals, st.Updated = json.RawMessage(`{"cycles":3}`), base.Add(time.Minute)
		return w.Provisioning().PutState(ctx, st)
	}))
	got, err = s.Provisioning().State(ctx, "hr")
	require.NoError(t, err)
	require.JSONEq(t, `{"cycles":3}`, string(got.Totals))

	other, err := s.Provisioning().State(ctx, "crm")
	require.NoError(t, err)
	require.Empty(t, other.Totals, "another job's totals are its own")

	require.NoError(t, Write(s).Provisioning().DeleteJob(ctx, "hr"))
	got, err = s.Provisioning().State(ctx, "hr")
	require.NoError(t, err)
	require.Equal(t, store.ProvisionState{Job: "hr"}, got, "a deleted job's totals go with its state")
}
