package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

// testProvisionState pins a job's engine state: a zero state for a job
// without one, and PutState creating, then replacing it whole.
func testProvisionState(t *testing.T, s store.Store) {
	ctx := context.Background()
	got, err := s.Provisioning().State(ctx, "hr")
	require.NoError(t, err)
	require.Equal(t, store.ProvisionState{Job: "hr"}, got, "a job without state has the zero state")

	require.Error(t, Write(s).Provisioning().PutState(ctx, store.ProvisionState{}), "no job")

	first := store.ProvisionState{Job: "hr", Watermarks: map[string]string{"user": "u-mark", "group": `{"t":"2024-03-10"}`},
		NextRun: base.Add(time.Hour), Cycle: "c1", Updated: base}
	second := store.ProvisionState{Job: "hr", Cycle: "c2", Updated: base.Add(time.Minute),
		Quarantine: &store.Quarantine{Reason: "EncounteredQuarantineException", Detail: "the target refused the credentials (401)",
			Since: base.Add(30 * time.Second), Runs: 2},
		Notified: map[string]string{"quarantine": "EncounteredQuarantineException", "held": "1"}}
	third := store.ProvisionState{Job: "hr", Cycle: "c3", Updated: base.Add(2 * time.Minute)}
	for _, want := range []store.ProvisionState{first, second, third} {
		require.NoError(t, Write(s).Provisioning().PutState(ctx, want))
		got, err := s.Provisioning().State(ctx, "hr")
		require.NoError(t, err)
		requireState(t, want, got)
	}

	// A zero Updated is now.
	before := time.Now().Add(-time.Second)
	require.NoError(t, Write(s).Provisioning().PutState(ctx, store.ProvisionState{Job: "crm"}))
	got, err = s.Provisioning().State(ctx, "crm")
	require.NoError(t, err)
	require.True(t, got.Updated.After(before), "updated %v", got.Updated)
	got, err = s.Provisioning().State(ctx, "hr")
	require.NoError(t, err)
	require.Equal(t, "c3", got.Cycle, "another job's state is its own")
}

func requireState(t *testing.T, want, got store.ProvisionState) {
	t.Helper()
	require.Equal(t, want.Job, got.Job)
	require.Equal(t, want.Watermarks, got.Watermarks)
	require.True(t, want.NextRun.Equal(got.NextRun), "next run %v, want %v", got.NextRun, want.NextRun)
	require.Equal(t, want.Cycle, got.Cycle)
	require.True(t, want.Updated.Equal(got.Updated), "updated %v, want %v", got.Updated, want.Updated)
	require.Equal(t, want.Notified, got.Notified)
	if want.Quarantine == nil {
		require.Nil(t, got.Quarantine, "not quarantined")
		return
	}
	require.NotNil(t, got.Quarantine, "quarantined")
	q, gq := *want.Quarantine, *got.Quarantine
	require.True(t, q.Since.Equal(gq.Since), "quarantined since %v, want %v", gq.Since, q.Since)
	q.Since, gq.Since = time.Time{}, time.Time{}
	require.Equal(t, q, gq)
}

// escrow returns an escrow entry of job hr.
func escrow(kind, anchor string, failures int) store.Escrow {
	return store.Escrow{Job: "hr", Kind: kind, SourceAnchor: anchor, Display: "name of " + anchor, Failures: failures,
		FirstFailed: base, LastFailed: base.Add(time.Duration(failures) * time.Hour),
		NextRetry: base.Add(time.Duration(failures) * 6 * time.Hour), Action: "Create", ErrorCode: "HTTP500",
		Reason: "the target answered 500"}
}

// escrows reads a job's escrow entries.
func escrows(t *testing.T, s store.Store, job string) []store.Escrow {
	t.Helper()
	var out []store.Escrow
	require.NoError(t, s.Provisioning().Escrows(context.Background(), job, func(e store.Escrow) error {
		out = append(out, e)
		return nil
	}))
	return out
}

// testProvisionEscrow pins the escrow: put creates and replaces by (job,
// kind, anchor), entries come back ordered with every field, deletes by
// anchor ignore unknown ones, clear removes a job's entries only, and
// entries are checked before they are stored.
func testProvisionEscrow(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.Empty(t, escrows(t, s, "hr"), "no escrow yet")
	for _, bad := range []store.Escrow{{Kind: "user", SourceAnchor: "a", Failures: 1}, {Job: "hr", SourceAnchor: "a", Failures: 1},
		{Job: "hr", Kind: "user", Failures: 1}, {Job: "hr", Kind: "user", SourceAnchor: "a"}} {
		require.Error(t, Write(s).Provisioning().PutEscrows(ctx, []store.Escrow{bad}), "%+v", bad)
	}

	ref := escrow("user", "m", 1)
	ref.Reference, ref.Action, ref.ErrorCode = true, "Update", "ReferenceFailed"
	other := escrow("user", "a", 1)
	other.Job = "crm"
	put := []store.Escrow{escrow("user", "b", 1), escrow("group", "g", 3), escrow("user", "a", 1), ref, other,
		escrow("user", "b", 2)} // the second b replaces the first
	require.NoError(t, Write(s).Provisioning().PutEscrows(ctx, put))
	want := []store.Escrow{escrow("group", "g", 3), escrow("user", "a", 1), escrow("user", "b", 2), ref}
	requireEscrows(t, want, escrows(t, s, "hr"))

	// Replace one (a second failure) and keep the others.
	again := escrow("user", "a", 2)
	again.Reason = "the target answered 503"
	require.NoError(t, Write(s).Provisioning().PutEscrows(ctx, []store.Escrow{again}))
	want[1] = again
	requireEscrows(t, want, escrows(t, s, "hr"))

	n, err := Write(s).Provisioning().DeleteEscrows(ctx, "hr", "user", []string{"a", "zz", "g"})
	require.NoError(t, err)
	require.Equal(t, 1, n, "only user a is in escrow among a, zz and g")
	requireEscrows(t, []store.Escrow{want[0], want[2], want[3]}, escrows(t, s, "hr"))

	require.NoError(t, Write(s).Provisioning().ClearEscrows(ctx, "hr"))
	require.Empty(t, escrows(t, s, "hr"))
	require.Len(t, escrows(t, s, "crm"), 1, "another job's escrow is its own")

	// Many at once, as a cycle against a failing target writes them.
	var many []store.Escrow
	for i := range 1234 {
		many = append(many, escrow("user", fmt.Sprintf("u%05d", i), 1))
	}
	require.NoError(t, Write(s).Provisioning().PutEscrows(ctx, many))
	require.Len(t, escrows(t, s, "hr"), 1234)
}

func requireEscrows(t *testing.T, want, got []store.Escrow) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		w, g := want[i], got[i]
		for _, ts := range [][2]time.Time{{w.FirstFailed, g.FirstFailed}, {w.LastFailed, g.LastFailed}, {w.NextRetry, g.NextRetry}} {
			require.True(t, ts[0].Equal(ts[1]), "entry %d: time %v, want %v", i, ts[1], ts[0])
		}
		w.FirstFailed, w.LastFailed, w.NextRetry = time.Time{}, time.Time{}, time.Time{}
		g.FirstFailed, g.LastFailed, g.NextRetry = time.Time{}, time.Time{}, time.Time{}
		require.Equal(t, w, g, "entry %d", i)
	}
}

// link returns a link of job hr.
func link(kind, anchor, target string) store.Link {
	return store.Link{Job: "hr", Kind: kind, SourceAnchor: anchor, TargetID: target, Display: "name of " + anchor,
		State: "active", Hash: "h-" + anchor, Created: base, Updated: base}
}

// links reads a job's links of a kind through the stream.
func links(t *testing.T, s store.Store, job, kind string) []store.Link {
	t.Helper()
	var out []store.Link
	require.NoError(t, s.Provisioning().Links(context.Background(), job, kind, func(l store.Link) error {
		out = append(out, l)
		return nil
	}))
	return out
}

func linkAnchors(ls []store.Link) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Kind + "/" + l.SourceAnchor
	}
	return out
}

// testProvisionLinks pins links: insert and replace by (job, kind, anchor),
// lookups by anchor and by target, the stream's order and filter, and
// DeleteLinks counting only what it removed.
func testProvisionLinks(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := s.Provisioning()
	w := Write(s).Provisioning()
	require.NoError(t, w.PutLinks(ctx, nil), "nothing to put")
	require.Error(t, w.PutLinks(ctx, []store.Link{{Job: "hr", Kind: "user"}}), "no anchor")
	require.NoError(t, w.PutLinks(ctx, []store.Link{
		link("user", "b", "t-b"), link("user", "a", "t-a"), link("group", "g", "t-g"), link("user", "c", "t-c"),
		{Job: "crm", Kind: "user", SourceAnchor: "a", TargetID: "crm-a", Created: base, Updated: base},
	}))

	got, err := p.Link(ctx, "hr", "user", "a")
	require.NoError(t, err)
	requireLink(t, link("user", "a", "t-a"), got)
	got, err = p.LinkByTarget(ctx, "hr", "group", "t-g")
	require.NoError(t, err)
	requireLink(t, link("group", "g", "t-g"), got)

	for name, lookup := range map[string]func() (store.Link, error){
		"unknown anchor":        func() (store.Link, error) { return p.Link(ctx, "hr", "user", "zz") },
		"anchor of other kind":  func() (store.Link, error) { return p.Link(ctx, "hr", "group", "a") },
		"anchor of other job":   func() (store.Link, error) { return p.Link(ctx, "nope", "user", "a") },
		"unknown target":        func() (store.Link, error) { return p.LinkByTarget(ctx, "hr", "user", "t-zz") },
		"target of other kind":  func() (store.Link, error) { return p.LinkByTarget(ctx, "hr", "group", "t-a") },
		"target of another job": func() (store.Link, error) { return p.LinkByTarget(ctx, "hr", "user", "crm-a") },
	} {
		_, err := lookup()
		require.ErrorIs(t, err, store.ErrNotFound, name)
	}

	require.Equal(t, []string{"group/g", "user/a", "user/b", "user/c"}, linkAnchors(links(t, s, "hr", "")),
		"every kind, by kind and anchor")
	require.Equal(t, []string{"user/a", "user/b", "user/c"}, linkAnchors(links(t, s, "hr", "user")))
	require.Empty(t, links(t, s, "nope", ""))

	// A put replaces the whole link; of two with one key in a call the
	// last wins.
	changed := link("user", "a", "t-a2")
	changed.Display, changed.State, changed.Hash, changed.Updated = "renamed", "disabled", "h2", base.Add(time.Hour)
	stale := changed
	stale.Hash = "older"
	require.NoError(t, w.PutLinks(ctx, []store.Link{stale, changed}))
	got, err = p.Link(ctx, "hr", "user", "a")
	require.NoError(t, err)
	requireLink(t, changed, got)
	_, err = p.LinkByTarget(ctx, "hr", "user", "t-a")
	require.ErrorIs(t, err, store.ErrNotFound, "the old target is no longer linked")
	got, err = p.LinkByTarget(ctx, "hr", "user", "t-a2")
	require.NoError(t, err)
	require.Equal(t, "a", got.SourceAnchor)

	// Zero times are now.
	before := time.Now().Add(-time.Second)
	require.NoError(t, w.PutLinks(ctx, []store.Link{{Job: "hr", Kind: "user", SourceAnchor: "d", TargetID: "t-d"}}))
	got, err = p.Link(ctx, "hr", "user", "d")
	require.NoError(t, err)
	require.True(t, got.Updated.After(before) && got.Created.Equal(got.Updated), "created %v updated %v", got.Created, got.Updated)

	for _, tc := range []struct {
		name    string
		kind    string
		anchors []string
		removed int
		left    []string
	}{
		{"none", "user", nil, 0, []string{"group/g", "user/a", "user/b", "user/c", "user/d"}},
		{"unknown anchors are ignored", "user", []string{"zz", "b", "b"}, 1, []string{"group/g", "user/a", "user/c", "user/d"}},
		{"only the kind given", "group", []string{"a", "c"}, 0, []string{"group/g", "user/a", "user/c", "user/d"}},
		{"several", "user", []string{"a", "c", "d"}, 3, []string{"group/g"}},
	} {
		n, err := w.DeleteLinks(ctx, "hr", tc.kind, tc.anchors)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.removed, n, tc.name)
		require.Equal(t, tc.left, linkAnchors(links(t, s, "hr", "")), tc.name)
	}
	require.Len(t, links(t, s, "crm", ""), 1, "another job's links stay")
}

func requireLink(t *testing.T, want, got store.Link) {
	t.Helper()
	require.True(t, want.Created.Equal(got.Created), "created %v, want %v", got.Created, want.Created)
	require.True(t, want.Updated.Equal(got.Updated), "updated %v, want %v", got.Updated, want.Updated)
	want.Created, want.Updated, got.Created, got.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

// A fn that stops the stream of links ends it with its error.
func testProvisionLinksStop(t *testing.T, s store.Store) {
	ctx := context.Background()
	var batch []store.Link
	for i := range 50 {
		batch = append(batch, link("user", fmt.Sprintf("u%03d", i), fmt.Sprintf("t%03d", i)))
	}
	require.NoError(t, Write(s).Provisioning().PutLinks(ctx, batch))
	stop := errors.New("stop")
	seen := 0
	err := s.Provisioning().Links(ctx, "hr", "user", func(store.Link) error {
		seen++
		if seen == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 3, seen)
	require.Len(t, links(t, s, "hr", "user"), 50)
}

// testProvisionCycles pins cycles: create and replace by id, ErrNotFound,
// and a job's cycles newest first within a limit.
func testProvisionCycles(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := Write(s).Provisioning()
	require.Error(t, w.PutCycle(ctx, store.ProvisionCycle{Job: "hr"}), "no id")
	require.Error(t, w.PutCycle(ctx, store.ProvisionCycle{ID: "x", Job: "hr", Stats: json.RawMessage(`{`)}), "stats not JSON")

	running := store.ProvisionCycle{ID: "c1", Job: "hr", Initial: true, Started: base, Status: "Running"}
	require.NoError(t, w.PutCycle(ctx, running))
	got, err := s.Provisioning().Cycle(ctx, "c1")
	require.NoError(t, err)
	requireCycle(t, running, got)

	done := running
	done.Ended, done.Status, done.Error = base.Add(time.Minute), "Failed", "target unreachable"
	done.Stats = json.RawMessage(`{"created": 3, "updated": {"users": 1, "groups": [2, 3]}, "note": "é\u00e9"}`)
	require.NoError(t, w.PutCycle(ctx, done))
	got, err = s.Provisioning().Cycle(ctx, "c1")
	require.NoError(t, err)
	requireCycle(t, done, got)

	_, err = s.Provisioning().Cycle(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	for i := 2; i <= 5; i++ {
		require.NoError(t, w.PutCycle(ctx, store.ProvisionCycle{ID: fmt.Sprintf("c%d", i), Job: "hr", DryRun: i == 3,
			Started: base.Add(time.Duration(i) * time.Hour), Status: "Succeeded"}))
	}
	require.NoError(t, w.PutCycle(ctx, store.ProvisionCycle{ID: "other", Job: "crm", Started: base.Add(9 * time.Hour)}))
	for _, tc := range []struct {
		limit int
		want  []string
	}{
		{0, []string{"c5", "c4", "c3", "c2", "c1"}},
		{2, []string{"c5", "c4"}},
	} {
		cs, err := s.Provisioning().Cycles(ctx, "hr", tc.limit)
		require.NoError(t, err)
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = c.ID
		}
		require.Equal(t, tc.want, ids, "limit %d", tc.limit)
	}
	cs, err := s.Provisioning().Cycles(ctx, "hr", 3)
	require.NoError(t, err)
	require.True(t, cs[2].DryRun)
}

func requireCycle(t *testing.T, want, got store.ProvisionCycle) {
	t.Helper()
	require.True(t, want.Started.Equal(got.Started), "started %v, want %v", got.Started, want.Started)
	require.True(t, want.Ended.Equal(got.Ended), "ended %v, want %v", got.Ended, want.Ended)
	if len(want.Stats) == 0 {
		require.Empty(t, got.Stats)
	} else {
		require.JSONEq(t, string(want.Stats), string(got.Stats))
	}
	want.Started, want.Ended, want.Stats = time.Time{}, time.Time{}, nil
	got.Started, got.Ended, got.Stats = time.Time{}, time.Time{}, nil
	require.Equal(t, want, got)
}

// logEntry returns a log entry of job hr at base+n seconds.
func logEntry(cycle string, n int, anchor, name, target, action, status string) store.ProvisionLog {
	return store.ProvisionLog{Job: "hr", Cycle: cycle, Change: fmt.Sprintf("ch%d", n), Time: base.Add(time.Duration(n) * time.Second),
		Kind: "user", SourceAnchor: anchor, SourceName: name, TargetID: target, Action: action, Status: status,
		Steps:     json.RawMessage(`[{"step":"Import","ok":true},{"step":"Action","detail":"x"}]`),
		Modified:  json.RawMessage(`[{"name":"displayName","old":null,"new":"Ann"}]`),
		ErrorCode: "E" + status, Reason: "because " + anchor, Duration: time.Duration(n)*time.Millisecond + 1234*time.Nanosecond}
}

func logChanges(ls []store.ProvisionLog) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Change
	}
	return out
}

// testProvisionLogs pins the log: AppendLogs setting increasing seqs, the
// entries kept as written, and each field of the query.
func testProvisionLogs(t *testing.T, s store.Store) {
	ctx := context.Background()
	entries := []store.ProvisionLog{
		logEntry("c1", 1, "a1", "Ann.Lee@Example.com", "t1", "Create", "Success"),
		logEntry("c1", 2, "a2", "bob", "t2", "Update", "Failure"),
		logEntry("c1", 3, "a3", "ÉMILE", "", "Other", "Skipped"),
		logEntry("c2", 4, "a1", "Ann.Lee@Example.com", "t1", "Update", "Success"),
		logEntry("c2", 5, "t1", "carol", "t9", "Disable", "Warning"),
	}
	entries[2].Steps, entries[2].Modified = nil, nil
	other := logEntry("c9", 6, "a1", "ann", "t1", "Create", "Success")
	other.Job = "crm"

	w := Write(s).Provisioning()
	require.NoError(t, w.AppendLogs(ctx, nil))
	require.Error(t, w.AppendLogs(ctx, []store.ProvisionLog{{Cycle: "c1"}}), "no job")
	bad := logEntry("c1", 1, "a", "", "", "Create", "Success")
	bad.Steps = json.RawMessage("{")
	require.Error(t, w.AppendLogs(ctx, []store.ProvisionLog{bad}), "steps not JSON")
	require.NoError(t, w.AppendLogs(ctx, entries[:2]))
	require.NoError(t, w.AppendLogs(ctx, []store.ProvisionLog{other}))
	require.NoError(t, w.AppendLogs(ctx, entries[2:]))
	for i := 1; i < len(entries); i++ {
		require.Greater(t, entries[i].Seq, entries[i-1].Seq, "seqs increase in order of appending")
	}
	require.Greater(t, entries[0].Seq, int64(0))

	all, err := s.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: "hr"})
	require.NoError(t, err)
	require.Len(t, all, len(entries))
	for i, got := range all {
		requireLog(t, entries[i], got)
	}

	for _, tc := range []struct {
		name string
		q    store.ProvisionLogQuery
		want []string
	}{
		{"job", store.ProvisionLogQuery{Job: "crm"}, []string{"ch6"}},
		{"unknown job", store.ProvisionLogQuery{Job: "nope"}, []string{}},
		{"cycle", store.ProvisionLogQuery{Job: "hr", Cycle: "c2"}, []string{"ch4", "ch5"}},
		{"status", store.ProvisionLogQuery{Job: "hr", Status: "Success"}, []string{"ch1", "ch4"}},
		{"action", store.ProvisionLogQuery{Job: "hr", Action: "Update"}, []string{"ch2", "ch4"}},
		{"cycle and action", store.ProvisionLogQuery{Job: "hr", Cycle: "c1", Action: "Update"}, []string{"ch2"}},
		{"object by anchor or target", store.ProvisionLogQuery{Job: "hr", Object: "t1"}, []string{"ch1", "ch4", "ch5"}},
		{"object by anchor", store.ProvisionLogQuery{Job: "hr", Object: "a2"}, []string{"ch2"}},
		{"object by name, any case", store.ProvisionLogQuery{Job: "hr", Object: "ann.lee@example.COM"}, []string{"ch1", "ch4"}},
		{"object by non-ASCII name", store.ProvisionLogQuery{Job: "hr", Object: "émile"}, []string{"ch3"}},
		{"object matches whole values", store.ProvisionLogQuery{Job: "hr", Object: "Ann"}, []string{}},
		{"anchor compared exactly", store.ProvisionLogQuery{Job: "hr", Object: "A1"}, []string{}},
		{"since", store.ProvisionLogQuery{Job: "hr", Since: base.Add(4 * time.Second)}, []string{"ch4", "ch5"}},
		{"until is exclusive", store.ProvisionLogQuery{Job: "hr", Until: base.Add(2 * time.Second)}, []string{"ch1"}},
		{"since and until", store.ProvisionLogQuery{Job: "hr", Since: base.Add(2 * time.Second), Until: base.Add(4 * time.Second)},
			[]string{"ch2", "ch3"}},
		{"after", store.ProvisionLogQuery{Job: "hr", After: entries[2].Seq}, []string{"ch4", "ch5"}},
		{"limit", store.ProvisionLogQuery{Job: "hr", Limit: 2}, []string{"ch1", "ch2"}},
		{"after and limit", store.ProvisionLogQuery{Job: "hr", After: entries[1].Seq, Limit: 2}, []string{"ch3", "ch4"}},
	} {
		got, err := s.Provisioning().Logs(ctx, tc.q)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, logChanges(got), tc.name)
	}
}

// Without a Limit, Logs returns 1,000 entries; paging with After reads the
// rest.
func testProvisionLogsDefaultLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	batch := make([]store.ProvisionLog, 1005)
	for i := range batch {
		batch[i] = store.ProvisionLog{Job: "hr", Cycle: "c1", Change: fmt.Sprint(i), Time: base, Action: "Create", Status: "Success"}
	}
	require.NoError(t, Write(s).Provisioning().AppendLogs(ctx, batch))
	page, err := s.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: "hr"})
	require.NoError(t, err)
	require.Len(t, page, 1000)
	rest, err := s.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: "hr", After: page[len(page)-1].Seq})
	require.NoError(t, err)
	require.Len(t, rest, 5)
	require.Equal(t, "1004", rest[4].Change)
	require.Equal(t, batch[1004].Seq, rest[4].Seq)
}

func requireLog(t *testing.T, want, got store.ProvisionLog) {
	t.Helper()
	require.True(t, want.Time.Equal(got.Time), "time %v, want %v", got.Time, want.Time)
	for _, f := range []struct{ want, got json.RawMessage }{{want.Steps, got.Steps}, {want.Modified, got.Modified}} {
		if len(f.want) == 0 {
			require.Empty(t, f.got)
		} else {
			require.JSONEq(t, string(f.want), string(f.got))
		}
	}
	want.Time, want.Steps, want.Modified = time.Time{}, nil, nil
	got.Time, got.Steps, got.Modified = time.Time{}, nil, nil
	require.Equal(t, want, got)
}

// testProvisionPurge pins retention: PurgeLogs deletes log entries and
// ended cycles older than the cutoff, at most limit rows a call, and
// counts them; newer rows and running cycles stay.
func testProvisionPurge(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := Write(s).Provisioning()
	cutoff := base.Add(time.Hour)
	var old, young []store.ProvisionLog
	for i := range 7 {
		old = append(old, logEntry("c-old", i, "a", "n", "t", "Create", "Success"))
		young = append(young, logEntry("c-new", 3600+i, "a", "n", "t", "Update", "Success"))
	}
	require.NoError(t, w.AppendLogs(ctx, old))
	require.NoError(t, w.AppendLogs(ctx, young))
	for _, c := range []store.ProvisionCycle{
		{ID: "c-old", Job: "hr", Started: base, Ended: base.Add(time.Minute), Status: "Succeeded"},
		{ID: "c-old2", Job: "crm", Started: base, Ended: base.Add(2 * time.Minute), Status: "Failed"},
		{ID: "c-dead", Job: "hr", Started: base, Status: "Running"},
		{ID: "c-new", Job: "hr", Started: base, Ended: cutoff.Add(time.Minute), Status: "Succeeded"},
	} {
		require.NoError(t, w.PutCycle(ctx, c))
	}

	n, err := s.Provisioning().PurgeLogs(ctx, cutoff, 5)
	require.NoError(t, err)
	require.Equal(t, int64(5), n, "at most the limit")
	n, err = s.Provisioning().PurgeLogs(ctx, cutoff, 5)
	require.NoError(t, err)
	require.Equal(t, int64(4), n, "the other two entries and the two ended cycles")
	n, err = s.Provisioning().PurgeLogs(ctx, cutoff, 0)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to purge")

	left, err := s.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: "hr"})
	require.NoError(t, err)
	require.Len(t, left, len(young))
	for i := range left {
		require.Equal(t, young[i].Seq, left[i].Seq)
	}
	for id, kept := range map[string]bool{"c-old": false, "c-old2": false, "c-dead": true, "c-new": true} {
		_, err := s.Provisioning().Cycle(ctx, id)
		if kept {
			require.NoError(t, err, id)
		} else {
			require.ErrorIs(t, err, store.ErrNotFound, id)
		}
	}
}

// testProvisionDeleteJob pins DeleteJob: everything of the job goes,
// nothing of another job.
func testProvisionDeleteJob(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, job := range []string{"hr", "crm"} {
		require.NoError(t, s.Write(ctx, func(w store.Writer) error {
			p := w.Provisioning()
			l := link("user", "a", "t-a")
			l.Job = job
			e := logEntry("c-"+job, 1, "a", "n", "t-a", "Create", "Success")
			e.Job = job
			return firstErr(
				p.PutState(ctx, store.ProvisionState{Job: job, Cycle: "c-" + job}),
				p.PutLinks(ctx, []store.Link{l}),
				p.PutCycle(ctx, store.ProvisionCycle{ID: "c-" + job, Job: job, Started: base}),
				p.AppendLogs(ctx, []store.ProvisionLog{e}),
				p.PutEscrows(ctx, []store.Escrow{{Job: job, Kind: "user", SourceAnchor: "b", Failures: 1}}),
			)
		}))
	}
	require.NoError(t, Write(s).Provisioning().DeleteJob(ctx, "hr"))
	require.NoError(t, Write(s).Provisioning().DeleteJob(ctx, "never"), "a job without state")

	for _, tc := range []struct {
		job  string
		kept bool
	}{{"hr", false}, {"crm", true}} {
		st, err := s.Provisioning().State(ctx, tc.job)
		require.NoError(t, err)
		require.Equal(t, tc.kept, st.Cycle != "", "state of %s", tc.job)
		require.Equal(t, tc.kept, len(links(t, s, tc.job, "")) == 1, "links of %s", tc.job)
		cs, err := s.Provisioning().Cycles(ctx, tc.job, 0)
		require.NoError(t, err)
		require.Equal(t, tc.kept, len(cs) == 1, "cycles of %s", tc.job)
		logs, err := s.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: tc.job})
		require.NoError(t, err)
		require.Equal(t, tc.kept, len(logs) == 1, "log of %s", tc.job)
		require.Equal(t, tc.kept, len(escrows(t, s, tc.job)) == 1, "escrow of %s", tc.job)
	}
}

// firstErr returns the first of errs that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// testProvisionInWrite pins the engine's writes as part of a Write: a
// writer reads its own PutState, and nothing of a Write that fails is
// kept.
func testProvisionInWrite(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, Write(s).Provisioning().PutState(ctx, store.ProvisionState{Job: "hr", Cycle: "c0"}))
	err := s.Write(ctx, func(w store.Writer) error {
		p := w.Provisioning()
		st, err := p.State(ctx, "hr")
		require.NoError(t, err)
		require.Equal(t, "c0", st.Cycle)
		st.Cycle, st.Watermarks = "c1", map[string]string{"user": "m1"}
		require.NoError(t, p.PutState(ctx, st))
		seen, err := p.State(ctx, "hr")
		require.NoError(t, err)
		require.Equal(t, "c1", seen.Cycle, "the writer reads its own state")
		require.Equal(t, map[string]string{"user": "m1"}, seen.Watermarks)

		require.NoError(t, p.PutLinks(ctx, []store.Link{link("user", "a", "t-a")}))
		require.NoError(t, p.PutCycle(ctx, store.ProvisionCycle{ID: "c1", Job: "hr", Started: base}))
		logs := []store.ProvisionLog{logEntry("c1", 1, "a", "n", "t-a", "Create", "Success")}
		require.NoError(t, p.AppendLogs(ctx, logs))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)

	st, err := s.Provisioning().State(ctx, "hr")
	require.NoError(t, err)
	require.Equal(t, "c0", st.Cycle, "the state is the one before the failed write")
	require.Nil(t, st.Watermarks)
	require.Empty(t, links(t, s, "hr", ""))
	_, err = s.Provisioning().Cycle(ctx, "c1")
	require.ErrorIs(t, err, store.ErrNotFound)
	logs, err := s.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: "hr"})
	require.NoError(t, err)
	require.Empty(t, logs)

	// A deletion rolled back keeps the rows.
	require.NoError(t, Write(s).Provisioning().PutLinks(ctx, []store.Link{link("user", "a", "t-a")}))
	err = s.Write(ctx, func(w store.Writer) error {
		n, err := w.Provisioning().DeleteLinks(ctx, "hr", "user", []string{"a"})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.NoError(t, w.Provisioning().DeleteJob(ctx, "hr"))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	require.Len(t, links(t, s, "hr", ""), 1)
	st, err = s.Provisioning().State(ctx, "hr")
	require.NoError(t, err)
	require.Equal(t, "c0", st.Cycle)
}
