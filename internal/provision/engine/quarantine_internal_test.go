package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/notify"
	"github.com/rosterhq/roster/internal/store"
)

// TestEscrowThresholds checks Entra's worked examples (IDP-NOTES §1.7).
func TestEscrowThresholds(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		failures, references, ok int
		want                     bool
	}{
		{"4,000 failures: below the minimum", 4000, 0, 0, false},
		{"45,000 failures: past 40,000", 45000, 0, 1_000_000, true},
		{"30,000 failed and 5,000 ok: past 40 %", 30000, 0, 5000, true},
		{"20,000 failed and 100,000 ok: under 40 %", 20000, 0, 100000, false},
		{"40,000 user and 21,000 manager failures: past 60,000", 40000, 21000, 1_000_000, true},
		{"40,000 failures exactly: not past", 40000, 0, 1_000_000, false},
		{"references alone under 60,000 do not count for the share", 0, 59000, 0, false},
		{"5,000 of 12,500: exactly 40 %, not past", 5000, 0, 7500, false},
		{"5,001 of 12,500: past 40 %", 5001, 0, 7499, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := DefaultEscrowThresholds.Exceeded(tc.failures, tc.references, tc.ok)
			require.Equal(t, tc.want, got, why)
			require.Equal(t, tc.want, why != "", "a reason exactly when exceeded: %q", why)
		})
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{0, 0}, {1, 0}, {2, 6 * time.Hour}, {3, 12 * time.Hour}, {4, 24 * time.Hour}, {40, 24 * time.Hour}} {
		require.Equal(t, tc.want, backoff(DefaultEscrowBackoff, tc.n), "escrow after failure %d", tc.n)
	}
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, 6 * time.Hour}, {2, 12 * time.Hour}, {3, 24 * time.Hour}, {9, 24 * time.Hour}} {
		require.Equal(t, tc.want, backoff(DefaultQuarantineBackoff, tc.n), "quarantine after cycle %d", tc.n)
	}
	require.Zero(t, backoff(nil, 3))
}

// TestNotices pins "once per state change": what a cycle's outcome
// notifies given what was notified before.
func TestNotices(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	creds := &store.Quarantine{Reason: ReasonCredentials, Detail: "401", Since: now.Add(-time.Hour), Runs: 1}
	escrow := &store.Quarantine{Reason: ReasonEscrow, Detail: "too many", Since: now.Add(-time.Hour), Runs: 3}
	for _, tc := range []struct {
		name     string
		st       store.ProvisionState
		held     int
		want     []notify.Kind
		notified map[string]string
	}{
		{name: "nothing to say"},
		{name: "entering quarantine", st: store.ProvisionState{Quarantine: creds},
			want: []notify.Kind{notify.Quarantined}, notified: map[string]string{"quarantine": ReasonCredentials}},
		{name: "still quarantined for the same reason",
			st:       store.ProvisionState{Quarantine: creds, Notified: map[string]string{"quarantine": ReasonCredentials}},
			notified: map[string]string{"quarantine": ReasonCredentials}},
		{name: "the reason changed",
			st:   store.ProvisionState{Quarantine: escrow, Notified: map[string]string{"quarantine": ReasonCredentials}},
			want: []notify.Kind{notify.Quarantined}, notified: map[string]string{"quarantine": ReasonEscrow}},
		{name: "recovered", st: store.ProvisionState{Notified: map[string]string{"quarantine": ReasonCredentials}},
			want: []notify.Kind{notify.Recovered}},
		{name: "deletions held", held: 600, want: []notify.Kind{notify.DeletesHeld}, notified: map[string]string{"held": "c1"}},
		{name: "still held", held: 600, st: store.ProvisionState{Notified: map[string]string{"held": "c0"}},
			notified: map[string]string{"held": "c0"}},
		{name: "released", st: store.ProvisionState{Notified: map[string]string{"held": "c0"}}},
		{name: "quarantined and held at once", st: store.ProvisionState{Quarantine: creds}, held: 3,
			want:     []notify.Kind{notify.Quarantined, notify.DeletesHeld},
			notified: map[string]string{"quarantine": ReasonCredentials, "held": "c1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, done := notices(tc.st, tc.held, "hr", "c1", now)
			var kinds []notify.Kind
			for _, n := range ns {
				kinds = append(kinds, n.Kind)
				require.Equal(t, "hr", n.Job)
				require.Equal(t, "c1", n.Cycle)
				require.NotEmpty(t, n.Detail)
				if n.Kind == notify.DeletesHeld {
					require.Equal(t, tc.held, n.Held)
				}
				if n.Kind == notify.Quarantined {
					require.Equal(t, tc.st.Quarantine.Reason, n.Reason)
					require.Equal(t, tc.st.Quarantine.Since, n.Since)
				}
			}
			require.Equal(t, tc.want, kinds)
			require.Equal(t, tc.notified, done)
		})
	}
}
