// Package jobstest is the conformance suite of the jobs host: RunTests
// runs the same tests against a jobs host on every backend (SQLite's jobs
// file, PostgreSQL's schema), so that the dialects' SQL stays equivalent
// and each change to it is checked on both. It covers the host itself
// (transactions, registering and working jobs, completing a job in the
// transaction of its work) and the storage of the jobs-side tables
// (jobs.DeliveryStore), as storetest does for the store.
package jobstest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/jobs"
)

// RunTests runs the suite. newHost returns a migrated host on a database of
// the test's own (a file in t.TempDir(), a fresh PostgreSQL schema), closed
// when the test ends; it is called once per subtest.
func RunTests(t *testing.T, newHost func(t *testing.T) *jobs.Host) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *jobs.Host)
	}{
		{"Migrated", testMigrated},
		{"TxRollback", testTxRollback},
		{"WorkJob", testWorkJob},
		{"WorkerOwnRetry", testWorkerOwnRetry},
		{"StopWaitsForRunningJob", testStopWaits},
		{"PeriodicJob", testPeriodicJob},
		{"RegisterAfterBuild", testRegisterAfterBuild},
		{"CursorCompareAndSwap", testCursor},
		{"InsertAndList", testInsertAndList},
		{"LaneRow", testLaneRow},
		{"LaneLockOrdersTransactions", testLaneLock},
		{"Batch", testBatch},
		{"RecordAttempt", testRecordAttempt},
		{"ErrorTextStorable", testErrorText},
		{"EndLane", testEndLane},
		{"Redeliver", testRedeliver},
		{"LanesWithWork", testLanesWithWork},
		{"Purge", testPurge},
		{"RedeliveryClaims", testRedeliveryClaims},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newHost(t))
		})
	}
}

// tx runs fn in a transaction of h and fails the test on error.
func tx(t *testing.T, h *jobs.Host, fn func(*sql.Tx) error) {
	t.Helper()
	require.NoError(t, h.Tx(context.Background(), fn))
}

// insert inserts deliveries of endpoint (tenant "t-"+endpoint) into lane,
// one per event id, and returns their ids in order.
func insert(t *testing.T, h *jobs.Host, endpoint string, lane int, eventIDs ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	ds := make([]jobs.NewDelivery, 0, len(eventIDs))
	for i, id := range eventIDs {
		ds = append(ds, jobs.NewDelivery{
			Endpoint: endpoint, Tenant: "t-" + endpoint, Lane: lane,
			EventID: id, EventType: "user.updated", EventCursor: fmt.Sprintf("c%04d", i),
			EventTime: time.Now(), Payload: []byte(`{"id":"` + id + `"}`),
		})
	}
	tx(t, h, func(tx *sql.Tx) error { return h.Deliveries().Insert(ctx, tx, ds) })
	got, err := h.Deliveries().List(ctx, jobs.DeliveryQuery{Endpoint: endpoint, Limit: 1000})
	require.NoError(t, err)
	byEvent := map[string]int64{}
	for _, d := range got {
		byEvent[d.EventID] = d.ID
	}
	ids := make([]int64, 0, len(eventIDs))
	for _, id := range eventIDs {
		require.Contains(t, byEvent, id)
		ids = append(ids, byEvent[id])
	}
	return ids
}

// states returns the deliveries of endpoint by id.
func states(t *testing.T, h *jobs.Host, endpoint string) map[int64]jobs.Delivery {
	t.Helper()
	ds, err := h.Deliveries().List(context.Background(), jobs.DeliveryQuery{Endpoint: endpoint, Limit: 1000})
	require.NoError(t, err)
	out := make(map[int64]jobs.Delivery, len(ds))
	for _, d := range ds {
		out[d.ID] = d
	}
	return out
}

func testMigrated(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	for _, table := range []string{"webhook_deliveries", "webhook_cursors", "webhook_lanes", "webhook_redeliveries_applied", "river_job", "jobs_migrations"} {
		var n int
		require.NoError(t, h.DB().QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n), table)
	}
	var version int
	require.NoError(t, h.DB().QueryRowContext(ctx, "SELECT max(version) FROM jobs_migrations").Scan(&version))
	require.GreaterOrEqual(t, version, 1)
}

func testTxRollback(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := h.Tx(ctx, func(tx *sql.Tx) error {
		require.NoError(t, h.Deliveries().AdvanceCursor(ctx, tx, "ep", "", false, "c1"))
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, known, err := h.Deliveries().Cursor(ctx, "ep")
	require.NoError(t, err)
	require.False(t, known, "a failed transaction leaves nothing")
}

// workArgs is the job of the worker tests.
type workArgs struct {
	Endpoint string `json:"endpoint"`
}

func (workArgs) Kind() string { return "jobstest_work" }

func (workArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "jobstest"} }

// workWorker advances the endpoint's cursor and completes its job in one
// transaction, as webhook's lane worker finishes a batch; it fails the
// attempts before failUntil, asking to be retried at once.
type workWorker struct {
	river.WorkerDefaults[workArgs]
	h         *jobs.Host
	failUntil int
	attempts  chan int
	// hold, when set, keeps each job running until it is closed; the job
	// then asks the host for its client, as webhook's worker does to chain
	// a lane's next job.
	hold chan struct{}
}

func (w *workWorker) Timeout(*river.Job[workArgs]) time.Duration { return 5 * time.Second }

func (w *workWorker) NextRetry(*river.Job[workArgs]) time.Time { return time.Now() }

func (w *workWorker) Work(ctx context.Context, job *river.Job[workArgs]) error {
	w.attempts <- job.Attempt
	if job.Attempt < w.failUntil {
		return fmt.Errorf("attempt %d fails", job.Attempt)
	}
	if w.hold != nil {
		<-w.hold
		if _, err := w.h.Client(); err != nil {
			return err
		}
	}
	return w.h.Tx(ctx, func(tx *sql.Tx) error {
		if err := w.h.Deliveries().AdvanceCursor(ctx, tx, job.Args.Endpoint, "", false, "done"); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[riverdriver.Driver[*sql.Tx]](ctx, tx, job)
		return err
	})
}

// startWorker registers a workWorker and its queue on h and starts h,
// stopped when the test ends.
func startWorker(t *testing.T, h *jobs.Host, failUntil int, edit ...func(*workWorker)) *workWorker {
	t.Helper()
	w := &workWorker{h: h, failUntil: failUntil, attempts: make(chan int, 10)}
	for _, f := range edit {
		f(w)
	}
	require.NoError(t, jobs.AddWorker(h, w))
	require.NoError(t, h.AddQueue("jobstest", river.QueueConfig{
		MaxWorkers: 2, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
	}))
	require.NoError(t, h.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, h.Stop(ctx))
	})
	return w
}

// insertJob inserts a workArgs job for endpoint through h's client, in a
// transaction of h, and returns its id.
func insertJob(t *testing.T, h *jobs.Host, endpoint string) int64 {
	t.Helper()
	client, err := h.Client()
	require.NoError(t, err)
	var id int64
	tx(t, h, func(tx *sql.Tx) error {
		res, err := client.InsertTx(context.Background(), tx, workArgs{Endpoint: endpoint}, nil)
		if err == nil {
			id = res.Job.ID
		}
		return err
	})
	return id
}

// waitCompleted waits until the job is completed and the endpoint's cursor
// says "done".
func waitCompleted(t *testing.T, h *jobs.Host, id int64, endpoint string) {
	t.Helper()
	ctx := context.Background()
	client, err := h.Client()
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		job, err := client.JobGet(ctx, id)
		require.NoError(t, err)
		return job.State == "completed"
	}, 10*time.Second, 10*time.Millisecond)
	cur, known, err := h.Deliveries().Cursor(ctx, endpoint)
	require.NoError(t, err)
	require.True(t, known)
	require.Equal(t, "done", cur, "the job's work committed with its completion")
}

func testWorkJob(t *testing.T, h *jobs.Host) {
	w := startWorker(t, h, 0)
	id := insertJob(t, h, "ep")
	waitCompleted(t, h, id, "ep")
	require.Equal(t, 1, <-w.attempts)
}

func testWorkerOwnRetry(t *testing.T, h *jobs.Host) {
	// River's own policy would wait a second or more before the second
	// attempt; the worker's NextRetry asks for none.
	w := startWorker(t, h, 2)
	start := time.Now()
	id := insertJob(t, h, "ep")
	waitCompleted(t, h, id, "ep")
	require.Equal(t, 1, <-w.attempts)
	require.Equal(t, 2, <-w.attempts)
	require.Less(t, time.Since(start), 5*time.Second)
}

// testStopWaits: Stop lets a running job finish, even one that uses the
// host while Stop waits for it.
func testStopWaits(t *testing.T, h *jobs.Host) {
	hold := make(chan struct{})
	w := startWorker(t, h, 0, func(w *workWorker) { w.hold = hold })
	id := insertJob(t, h, "ep")
	require.Equal(t, 1, <-w.attempts)
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- h.Stop(ctx)
	}()
	time.Sleep(100 * time.Millisecond) // Stop is waiting for the job
	close(hold)
	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(8 * time.Second):
		t.Fatal("Stop did not return after the running job finished")
	}
	waitCompleted(t, h, id, "ep")
}

// periodicArgs is the job of testPeriodicJob.
type periodicArgs struct{}

func (periodicArgs) Kind() string { return "jobstest_periodic" }

type periodicWorker struct {
	river.WorkerDefaults[periodicArgs]
	ran chan struct{}
}

func (w *periodicWorker) Work(context.Context, *river.Job[periodicArgs]) error {
	select {
	case w.ran <- struct{}{}:
	default:
	}
	return nil
}

// testPeriodicJob: a registered periodic job is inserted by the elected
// leader and worked.
func testPeriodicJob(t *testing.T, h *jobs.Host) {
	w := &periodicWorker{ran: make(chan struct{}, 1)}
	require.NoError(t, jobs.AddWorker(h, w))
	require.NoError(t, h.AddQueue(river.QueueDefault, river.QueueConfig{MaxWorkers: 1, FetchPollInterval: 50 * time.Millisecond}))
	require.NoError(t, h.AddPeriodicJob(river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return periodicArgs{}, nil },
		&river.PeriodicJobOpts{ID: "jobstest", RunOnStart: true})))
	require.NoError(t, h.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, h.Stop(ctx))
	})
	select {
	case <-w.ran:
	case <-time.After(20 * time.Second):
		t.Fatal("the periodic job did not run")
	}
}

func testRegisterAfterBuild(t *testing.T, h *jobs.Host) {
	w := &workWorker{h: h, attempts: make(chan int, 1)}
	require.NoError(t, jobs.AddWorker(h, w))
	require.Error(t, jobs.AddWorker(h, w), "a kind registers once")
	require.NoError(t, h.AddQueue("jobstest", river.QueueConfig{MaxWorkers: 1}))
	require.Error(t, h.AddQueue("jobstest", river.QueueConfig{MaxWorkers: 1}), "a queue registers once")
	_, err := h.Client()
	require.NoError(t, err)
	require.Error(t, h.AddQueue("other", river.QueueConfig{MaxWorkers: 1}), "river fixes its queues when the client is built")
	require.Error(t, h.AddPeriodicJob(river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return workArgs{}, nil }, nil)))
}

func testCursor(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	cur, known, err := s.Cursor(ctx, "ep")
	require.NoError(t, err)
	require.False(t, known)
	require.Empty(t, cur)

	tx(t, h, func(tx *sql.Tx) error { return s.AdvanceCursor(ctx, tx, "ep", "", false, "c1") })
	err = h.Tx(ctx, func(tx *sql.Tx) error { return s.AdvanceCursor(ctx, tx, "ep", "", false, "c9") })
	require.ErrorIs(t, err, jobs.ErrCursorMoved, "another dispatcher created it first")
	err = h.Tx(ctx, func(tx *sql.Tx) error { return s.AdvanceCursor(ctx, tx, "ep", "c0", true, "c9") })
	require.ErrorIs(t, err, jobs.ErrCursorMoved, "another dispatcher moved it")
	tx(t, h, func(tx *sql.Tx) error { return s.AdvanceCursor(ctx, tx, "ep", "c1", true, "c2") })
	cur, known, err = s.Cursor(ctx, "ep")
	require.NoError(t, err)
	require.True(t, known)
	require.Equal(t, "c2", cur)

	_, known, err = s.Cursor(ctx, "other")
	require.NoError(t, err)
	require.False(t, known, "cursors are per endpoint")
}

func testInsertAndList(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	before := time.Now().Add(-time.Second)
	// More than one insert statement's worth (50 rows).
	events := make([]string, 120)
	for i := range events {
		events[i] = fmt.Sprintf("e%03d", i)
	}
	ids := insert(t, h, "ep1", 0, events...)
	for i := 1; i < len(ids); i++ {
		require.Greater(t, ids[i], ids[i-1], "ids follow the order of insertion")
	}
	insert(t, h, "ep2", 1, "x1", "x2")

	all, err := s.List(ctx, jobs.DeliveryQuery{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, all, 122)
	d := all[0]
	require.Equal(t, "ep1", d.Endpoint)
	require.Equal(t, "t-ep1", d.Tenant)
	require.Equal(t, "e000", d.EventID)
	require.Equal(t, "user.updated", d.EventType)
	require.Equal(t, jobs.StatePending, d.State)
	require.Zero(t, d.Attempts)
	require.Zero(t, d.LastStatus)
	require.Empty(t, d.LastError)
	require.Nil(t, d.Delivered)
	require.WithinRange(t, d.Created, before, time.Now().Add(time.Second))
	require.Equal(t, time.UTC, d.Created.Location())

	page, err := s.List(ctx, jobs.DeliveryQuery{})
	require.NoError(t, err)
	require.Len(t, page, 100, "the default limit")
	page, err = s.List(ctx, jobs.DeliveryQuery{Endpoint: "ep1", After: ids[9], Limit: 5})
	require.NoError(t, err)
	require.Len(t, page, 5)
	require.Equal(t, ids[10], page[0].ID, "paging after an id")
	for _, q := range []jobs.DeliveryQuery{{Tenant: "t-ep2"}, {Endpoint: "ep2"}, {Tenant: "t-ep2", Endpoint: "ep2", State: jobs.StatePending}} {
		page, err = s.List(ctx, q)
		require.NoError(t, err)
		require.Len(t, page, 2, "%+v", q)
		require.Equal(t, 1, page[0].Lane)
	}
	for _, q := range []jobs.DeliveryQuery{{Tenant: "t-ep1", Endpoint: "ep2"}, {State: jobs.StateDead}, {Tenant: "nobody"}} {
		page, err = s.List(ctx, q)
		require.NoError(t, err)
		require.Empty(t, page, "%+v", q)
	}
}

func testLaneRow(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	_, found, err := s.Lane(ctx, "ep", 2)
	require.NoError(t, err)
	require.False(t, found)
	tx(t, h, func(tx *sql.Tx) error {
		_, found, err := s.LockLane(ctx, tx, "ep", 2, false)
		require.False(t, found, "no row, none created")
		return err
	})
	tx(t, h, func(tx *sql.Tx) error {
		l, found, err := s.LockLane(ctx, tx, "ep", 2, true)
		require.True(t, found)
		require.Equal(t, jobs.Lane{Endpoint: "ep", Lane: 2}, l)
		if err != nil {
			return err
		}
		return s.SetLaneJob(ctx, tx, "ep", 2, 41)
	})
	lane := func() jobs.Lane {
		l, found, err := s.Lane(ctx, "ep", 2)
		require.NoError(t, err)
		require.True(t, found)
		return l
	}
	require.Equal(t, jobs.Lane{Endpoint: "ep", Lane: 2, JobID: 41}, lane())

	tx(t, h, func(tx *sql.Tx) error {
		owner, err := s.SetLaneBatchEnd(ctx, tx, "ep", 2, 40, 99)
		require.False(t, owner, "another job's batch is not recorded")
		return err
	})
	require.Zero(t, lane().BatchEnd)
	tx(t, h, func(tx *sql.Tx) error {
		owner, err := s.SetLaneBatchEnd(ctx, tx, "ep", 2, 41, 99)
		require.True(t, owner)
		return err
	})
	require.Equal(t, int64(99), lane().BatchEnd)
	tx(t, h, func(tx *sql.Tx) error {
		l, _, err := s.LockLane(ctx, tx, "ep", 2, true)
		require.Equal(t, jobs.Lane{Endpoint: "ep", Lane: 2, JobID: 41, BatchEnd: 99}, l, "creating an existing lane changes nothing")
		if err != nil {
			return err
		}
		return s.SetLaneJob(ctx, tx, "ep", 2, 42)
	})
	require.Equal(t, jobs.Lane{Endpoint: "ep", Lane: 2, JobID: 42, BatchEnd: 99}, lane(), "a replacing job keeps the batch")
	tx(t, h, func(tx *sql.Tx) error { return s.ClearLaneBatch(ctx, tx, "ep", 2) })
	require.Equal(t, jobs.Lane{Endpoint: "ep", Lane: 2, JobID: 42}, lane())
	tx(t, h, func(tx *sql.Tx) error {
		if _, err := s.SetLaneBatchEnd(ctx, tx, "ep", 2, 42, 7); err != nil {
			return err
		}
		return s.ReleaseLane(ctx, tx, "ep", 2)
	})
	require.Equal(t, jobs.Lane{Endpoint: "ep", Lane: 2}, lane())
	_, found, err = s.Lane(ctx, "ep", 3)
	require.NoError(t, err)
	require.False(t, found, "lanes are rows of their own")
}

// testLaneLock: a transaction that locks a lane waits for another that
// holds it, and then sees what that one committed.
func testLaneLock(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	tx(t, h, func(tx *sql.Tx) error {
		_, _, err := s.LockLane(ctx, tx, "ep", 0, true)
		return err
	})
	holding := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	var firstErr error
	wg.Go(func() {
		firstErr = h.Tx(ctx, func(tx *sql.Tx) error {
			if _, _, err := s.LockLane(ctx, tx, "ep", 0, true); err != nil {
				close(holding)
				return err
			}
			close(holding)
			<-release
			return s.SetLaneJob(ctx, tx, "ep", 0, 7)
		})
	})
	<-holding
	var seen jobs.Lane
	done := make(chan error, 1)
	go func() {
		done <- h.Tx(ctx, func(tx *sql.Tx) error {
			l, _, err := s.LockLane(ctx, tx, "ep", 0, true)
			seen = l
			return err
		})
	}()
	select {
	case err := <-done:
		t.Fatalf("the second transaction locked the lane while the first held it (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	wg.Wait()
	require.NoError(t, firstErr)
	require.NoError(t, <-done)
	require.Equal(t, int64(7), seen.JobID, "the second saw the first's commit")
}

func testBatch(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	ids := insert(t, h, "ep", 0, "a", "b", "c", "d", "e")
	insert(t, h, "ep", 1, "other-lane")
	insert(t, h, "ep2", 0, "other-endpoint")
	tx(t, h, func(tx *sql.Tx) error {
		if err := s.RecordAttempt(ctx, tx, ids[:1], jobs.StateDelivered, 200, ""); err != nil {
			return err
		}
		return s.RecordAttempt(ctx, tx, ids[1:2], "", 500, "HTTP 500")
	})

	batch, err := s.Batch(ctx, "ep", 0, 0, 10)
	require.NoError(t, err)
	require.Equal(t, []jobs.BatchItem{
		{ID: ids[1], Payload: `{"id":"b"}`, Attempts: 1},
		{ID: ids[2], Payload: `{"id":"c"}`},
		{ID: ids[3], Payload: `{"id":"d"}`},
		{ID: ids[4], Payload: `{"id":"e"}`},
	}, batch, "the lane's pending deliveries, oldest first")
	batch, err = s.Batch(ctx, "ep", 0, 0, 2)
	require.NoError(t, err)
	require.Len(t, batch, 2)
	require.Equal(t, ids[1], batch[0].ID)
	batch, err = s.Batch(ctx, "ep", 0, ids[2], 10)
	require.NoError(t, err)
	require.Len(t, batch, 2, "up to the batch end")
	require.Equal(t, ids[2], batch[1].ID)
	batch, err = s.Batch(ctx, "ep", 3, 0, 10)
	require.NoError(t, err)
	require.Empty(t, batch)

	for lane, want := range map[int]bool{0: true, 1: true, 2: false} {
		tx(t, h, func(tx *sql.Tx) error {
			more, err := s.HasPending(ctx, tx, "ep", lane)
			require.Equal(t, want, more, "lane %d", lane)
			return err
		})
	}
}

func testRecordAttempt(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	ids := insert(t, h, "ep", 0, "a", "b", "c")
	tx(t, h, func(tx *sql.Tx) error { return s.RecordAttempt(ctx, tx, ids, "", 503, "HTTP 503: busy") })
	for _, d := range states(t, h, "ep") {
		require.Equal(t, jobs.StatePending, d.State)
		require.Equal(t, 1, d.Attempts)
		require.Equal(t, 503, d.LastStatus)
		require.Equal(t, "HTTP 503: busy", d.LastError)
		require.Nil(t, d.Delivered)
	}
	before := time.Now().Add(-time.Second)
	tx(t, h, func(tx *sql.Tx) error {
		if err := s.RecordAttempt(ctx, tx, ids[:2], jobs.StateDelivered, 204, ""); err != nil {
			return err
		}
		return s.RecordAttempt(ctx, tx, ids[2:], jobs.StateDead, 0, "connection refused")
	})
	got := states(t, h, "ep")
	for _, id := range ids[:2] {
		d := got[id]
		require.Equal(t, jobs.StateDelivered, d.State)
		require.Equal(t, 2, d.Attempts)
		require.Equal(t, 204, d.LastStatus)
		require.Empty(t, d.LastError)
		require.NotNil(t, d.Delivered)
		require.WithinRange(t, *d.Delivered, before, time.Now().Add(time.Second))
	}
	dead := got[ids[2]]
	require.Equal(t, jobs.StateDead, dead.State)
	require.Equal(t, 2, dead.Attempts)
	require.Equal(t, "connection refused", dead.LastError)
	require.Nil(t, dead.Delivered)

	// Only pending deliveries are touched: a late outcome of a lost job
	// does not change what another job finished.
	tx(t, h, func(tx *sql.Tx) error { return s.RecordAttempt(ctx, tx, ids, "", 500, "late") })
	require.Equal(t, got, states(t, h, "ep"))
	tx(t, h, func(tx *sql.Tx) error { return s.RecordAttempt(ctx, tx, nil, jobs.StateDead, 0, "") })
}

func testErrorText(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	ids := insert(t, h, "ep", 0, "nul", "invalid", "long")
	long := strings.Repeat("é", jobs.MaxErrorText) // two bytes each
	tx(t, h, func(tx *sql.Tx) error {
		for i, text := range []string{"a\x00b", "bad \xff\xfe bytes", long} {
			if err := s.RecordAttempt(ctx, tx, ids[i:i+1], "", 0, text); err != nil {
				return err
			}
		}
		return nil
	})
	got := states(t, h, "ep")
	require.Equal(t, "ab", got[ids[0]].LastError)
	require.Equal(t, "bad \uFFFD bytes", got[ids[1]].LastError)
	require.Len(t, got[ids[2]].LastError, jobs.MaxErrorText)
	require.True(t, utf8.ValidString(got[ids[2]].LastError), "cut at a character boundary")
}

func testEndLane(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	ids := insert(t, h, "ep", 0, "a", "b")
	other := insert(t, h, "ep", 1, "c")
	tx(t, h, func(tx *sql.Tx) error { return s.RecordAttempt(ctx, tx, ids[:1], jobs.StateDelivered, 200, "") })
	tx(t, h, func(tx *sql.Tx) error { return s.EndLane(ctx, tx, "ep", 0, jobs.StateDead, "endpoint deleted") })
	got := states(t, h, "ep")
	require.Equal(t, jobs.StateDelivered, got[ids[0]].State, "finished deliveries stay")
	require.Equal(t, jobs.StateDead, got[ids[1]].State)
	require.Equal(t, "endpoint deleted", got[ids[1]].LastError)
	require.Zero(t, got[ids[1]].Attempts, "no attempt was made")
	require.Equal(t, jobs.StatePending, got[other[0]].State, "other lanes stay")
}

func testRedeliver(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	a := insert(t, h, "ep-a", 0, "a0", "a1")
	a2 := insert(t, h, "ep-a", 2, "a2")
	b := insert(t, h, "ep-b", 1, "b0", "b1")
	tx(t, h, func(tx *sql.Tx) error {
		for _, ids := range [][]int64{a, a2, b[:1]} {
			if err := s.RecordAttempt(ctx, tx, ids, jobs.StateDead, 500, "HTTP 500"); err != nil {
				return err
			}
		}
		return nil
	})
	deadLanes := func(f jobs.DeadFilter) []jobs.Lane {
		var lanes []jobs.Lane
		tx(t, h, func(tx *sql.Tx) error {
			var err error
			lanes, err = s.DeadLanes(ctx, tx, f)
			return err
		})
		return lanes
	}
	require.Equal(t, []jobs.Lane{{Endpoint: "ep-a", Lane: 0}, {Endpoint: "ep-a", Lane: 2}, {Endpoint: "ep-b", Lane: 1}},
		deadLanes(jobs.DeadFilter{}), "distinct, ordered by endpoint and lane")
	require.Equal(t, []jobs.Lane{{Endpoint: "ep-b", Lane: 1}}, deadLanes(jobs.DeadFilter{Tenant: "t-ep-b"}))
	require.Empty(t, deadLanes(jobs.DeadFilter{Tenant: "t-ep-b", Endpoint: "ep-a"}))
	require.Equal(t, []jobs.Lane{{Endpoint: "ep-a", Lane: 2}}, deadLanes(jobs.DeadFilter{Endpoint: "ep-a", IDs: []int64{a2[0], b[0]}}))

	requeue := func(f jobs.DeadFilter) int {
		var n int
		tx(t, h, func(tx *sql.Tx) error {
			var err error
			n, err = s.Requeue(ctx, tx, f)
			return err
		})
		return n
	}
	require.Zero(t, requeue(jobs.DeadFilter{Tenant: "t-ep-b", Endpoint: "ep-a"}), "another tenant's endpoint")
	require.Equal(t, 1, requeue(jobs.DeadFilter{Endpoint: "ep-a", IDs: []int64{a2[0], b[0]}}))
	got := states(t, h, "ep-a")
	require.Equal(t, jobs.StatePending, got[a2[0]].State)
	require.Zero(t, got[a2[0]].Attempts, "attempts restart")
	require.Equal(t, jobs.StateDead, got[a[0]].State)
	require.Equal(t, 2, requeue(jobs.DeadFilter{Tenant: "t-ep-a", Endpoint: "ep-a"}))
	require.Zero(t, requeue(jobs.DeadFilter{Endpoint: "ep-a"}), "nothing dead any more")
	gotB := states(t, h, "ep-b")
	require.Equal(t, jobs.StateDead, gotB[b[0]].State)
	require.Equal(t, jobs.StatePending, gotB[b[1]].State, "pending deliveries are not redelivered")
	require.Equal(t, 1, requeue(jobs.DeadFilter{Endpoint: "ep-b"}))
}

func testLanesWithWork(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	insert(t, h, "ep", 0, "a")
	done := insert(t, h, "ep", 1, "b")
	insert(t, h, "ep2", 3, "c")
	insert(t, h, "ep2", 5, "no lane row")
	tx(t, h, func(tx *sql.Tx) error {
		for _, l := range []jobs.Lane{{Endpoint: "ep", Lane: 0, JobID: 10}, {Endpoint: "ep", Lane: 1, JobID: 11}, {Endpoint: "ep2", Lane: 3}} {
			if _, _, err := s.LockLane(ctx, tx, l.Endpoint, l.Lane, true); err != nil {
				return err
			}
			if l.JobID != 0 {
				if err := s.SetLaneJob(ctx, tx, l.Endpoint, l.Lane, l.JobID); err != nil {
					return err
				}
			}
		}
		return s.RecordAttempt(ctx, tx, done, jobs.StateDelivered, 200, "")
	})
	lanes, err := s.LanesWithWork(ctx)
	require.NoError(t, err)
	require.Equal(t, []jobs.Lane{{Endpoint: "ep", Lane: 0, JobID: 10}, {Endpoint: "ep2", Lane: 3}}, lanes,
		"lanes that have a row and a pending delivery")
}

func testPurge(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	delivered := insert(t, h, "ep", 0, "d0", "d1", "d2")
	kept := insert(t, h, "ep", 0, "pending", "dead")
	tx(t, h, func(tx *sql.Tx) error {
		if err := s.RecordAttempt(ctx, tx, delivered, jobs.StateDelivered, 200, ""); err != nil {
			return err
		}
		return s.RecordAttempt(ctx, tx, kept[1:], jobs.StateDead, 500, "")
	})
	n, err := s.Purge(ctx, time.Now().Add(-time.Hour), 10)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is old enough")
	n, err = s.Purge(ctx, time.Now().Add(time.Second), 2)
	require.NoError(t, err)
	require.Equal(t, 2, n, "at most the limit")
	n, err = s.Purge(ctx, time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got := states(t, h, "ep")
	require.Len(t, got, 2)
	require.Contains(t, got, kept[0], "pending deliveries stay")
	require.Contains(t, got, kept[1], "dead deliveries stay")
}

// testRedeliveryClaims: a redelivery request is claimed once; a later claim
// learns what the first one did; a claim rolled back leaves no trace; old
// claims are purged.
func testRedeliveryClaims(t *testing.T, h *jobs.Host) {
	ctx := context.Background()
	s := h.Deliveries()
	now := time.Now()
	claim := func(id string) (bool, int) {
		var (
			first bool
			n     int
		)
		tx(t, h, func(tx *sql.Tx) error {
			var err error
			first, n, err = s.StartRedelivery(ctx, tx, id, now)
			if err != nil || !first {
				return err
			}
			return s.FinishRedelivery(ctx, tx, id, 7)
		})
		return first, n
	}
	first, _ := claim("r1")
	require.True(t, first)
	first, n := claim("r1")
	require.False(t, first, "carried out once")
	require.Equal(t, 7, n, "the first claim's count")

	boom := errors.New("boom")
	err := h.Tx(ctx, func(tx *sql.Tx) error {
		first, _, err := s.StartRedelivery(ctx, tx, "r2", now)
		require.NoError(t, err)
		require.True(t, first)
		return boom
	})
	require.ErrorIs(t, err, boom)
	first, _ = claim("r2")
	require.True(t, first, "a rolled-back claim leaves no trace")

	purged, err := s.PurgeRedeliveries(ctx, now.Add(time.Second), 1)
	require.NoError(t, err)
	require.Equal(t, 1, purged, "at most limit")
	purged, err = s.PurgeRedeliveries(ctx, now.Add(time.Second), 10)
	require.NoError(t, err)
	require.Equal(t, 1, purged)
	first, _ = claim("r1")
	require.True(t, first, "a purged claim is forgotten")
}
