package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	p := retryPolicy{base: time.Second, max: 10 * time.Second}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 60: 10 * time.Second} {
		for range 20 {
			d := p.delay(attempt)
			require.GreaterOrEqual(t, d, want*3/4, "attempt %d", attempt)
			require.LessOrEqual(t, d, want*5/4, "attempt %d", attempt)
		}
	}
}

// TestDeliver delivers events written through store.Write and Record:
// signed, in one or more batches, with the headers, and only the events of
// the endpoint's tenant and types, from its creation on.
func TestDeliver(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		rc := newReceiver(t)
		require.NoError(t, storetest.Write(b.store).Tenants().Create(ctx, store.Tenant{ID: "globex", Name: "globex"}))
		writeEvents(t, b.store, testTenant, "before", store.UserUpdated, 0, 2) // before the endpoint
		createEndpoint(t, b.store, "all", rc.srv.URL, rc.secret)
		createEndpoint(t, b.store, "created-only", rc.srv.URL, rc.secret, func(e *store.WebhookEndpoint) {
			e.EventTypes = []string{store.UserCreated}
		})
		s := startService(t, b.host, testConfig(t, b.store))

		var want []string
		for i := range 10 {
			want = append(want, writeEvents(t, b.store, testTenant, "u"+strconv.Itoa(i), store.UserUpdated, 0, 3)...)
			s.Notify()
		}
		created := writeEvents(t, b.store, testTenant, "new", store.UserCreated, 0, 1)
		want = append(want, created...)
		writeEvents(t, b.store, "globex", "g", store.UserUpdated, 0, 3) // another tenant
		s.Notify()

		waitDeliveries(t, s, "all", StateDelivered, len(want), 10*time.Second)
		waitDeliveries(t, s, "created-only", StateDelivered, 1, 10*time.Second)
		time.Sleep(100 * time.Millisecond) // nothing more comes
		ds, err := allDeliveries(s, DeliveryQuery{Endpoint: "all"})
		require.NoError(t, err)
		require.Len(t, ds, len(want))
		gotIDs := make([]string, len(ds))
		for i, d := range ds {
			require.Equal(t, StateDelivered, d.State)
			require.Equal(t, testTenant, d.Tenant)
			require.Equal(t, 1, d.Attempts)
			require.Equal(t, http.StatusNoContent, d.LastStatus)
			require.Empty(t, d.LastError)
			require.NotNil(t, d.Delivered)
			require.False(t, d.Created.IsZero())
			gotIDs[i] = d.EventID
		}
		require.Equal(t, want, gotIDs, "one delivery per event, in outbox order")
		only, err := allDeliveries(s, DeliveryQuery{Endpoint: "created-only"})
		require.NoError(t, err)
		require.Len(t, only, 1)
		require.Equal(t, created[0], only[0].EventID)
		require.Equal(t, store.UserCreated, only[0].EventType)

		// The receiver got each event once (every answer was a 2xx), as the
		// outbox has it, with Standard Webhooks headers.
		accepted := rc.accepted()
		require.ElementsMatch(t, append(slices.Clone(want), created...), eventIDs(accepted))
		events, _, err := b.store.Events().List(ctx, store.EventQuery{Tenant: testTenant, Limit: 1000})
		require.NoError(t, err)
		byID := map[string]store.Event{}
		for _, e := range events {
			byID[e.ID] = e
		}
		for _, e := range accepted {
			stored := byID[e.ID]
			require.Equal(t, testTenant, e.Tenant)
			require.Equal(t, stored.Type, e.Type)
			require.Equal(t, schema.UserResource, e.ResourceType)
			require.Equal(t, stored.ResourceID, e.ResourceID)
			require.True(t, stored.Time.Equal(e.Time))
			require.JSONEq(t, string(stored.Data), string(e.Data))
		}
		idPattern := regexp.MustCompile(`^msg_[0-9]+_[0-9a-f]{16}$`)
		for _, r := range rc.got() {
			require.Equal(t, UserAgent, r.userAgent)
			require.Equal(t, "application/json", r.contentType)
			require.Regexp(t, idPattern, r.id)
			ts, err := strconv.ParseInt(r.timestamp, 10, 64)
			require.NoError(t, err)
			require.WithinDuration(t, time.Now(), time.Unix(ts, 0), time.Minute)
		}
		filtered, err := s.Deliveries(ctx, DeliveryQuery{Tenant: "globex"})
		require.NoError(t, err)
		require.Empty(t, filtered)
		page, err := s.Deliveries(ctx, DeliveryQuery{Endpoint: "all", After: ds[4].ID, Limit: 3})
		require.NoError(t, err)
		require.Equal(t, []int64{ds[5].ID, ds[6].ID, ds[7].ID}, []int64{page[0].ID, page[1].ID, page[2].ID})
	})
}

// TestRetryAfterServerErrors: a batch answered with 500 twice is sent
// again, with the same webhook-id, and delivered on the third attempt.
func TestRetryAfterServerErrors(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		rc := newReceiver(t)
		rc.setHandle(func(_ request, nth int) int {
			if nth <= 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret)
		s := startService(t, b.host, testConfig(t, b.store))
		ids := writeEventsTogether(t, b.store, testTenant, "u1", store.UserUpdated, 0, 3)
		s.Notify()

		ds := waitDeliveries(t, s, "ep", StateDelivered, 3, 10*time.Second)
		for _, d := range ds {
			require.Equal(t, 3, d.Attempts)
			require.Equal(t, http.StatusOK, d.LastStatus)
		}
		got := rc.got()
		require.Len(t, got, 3)
		for _, r := range got {
			require.Equal(t, got[0].id, r.id, "retries of a batch keep its webhook-id")
			require.Equal(t, ids, eventIDs(r.events), "and its events")
		}
		require.Equal(t, []int{500, 500, 200}, []int{got[0].status, got[1].status, got[2].status})
	})
}

// TestRetryAfterTimeout: a receiver that does not answer within Timeout
// gets the batch again.
func TestRetryAfterTimeout(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		rc := newReceiver(t)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		rc.setHandle(func(_ request, nth int) int {
			if nth == 1 {
				<-release // hangs past the sender's timeout
				return http.StatusOK
			}
			return http.StatusOK
		})
		createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret)
		cfg := testConfig(t, b.store)
		cfg.Timeout = 300 * time.Millisecond
		s := startService(t, b.host, cfg)
		writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 0, 1)
		s.Notify()

		d := waitDeliveries(t, s, "ep", StateDelivered, 1, 10*time.Second)[0]
		require.Equal(t, 2, d.Attempts)
		// The second request was answered; the first is still hanging.
		require.Len(t, rc.got(), 1)
	})
}

// TestDeadLetterAndRedeliver: a batch that fails MaxAttempts times is
// dead, its lane goes on with the next events, and Redeliver, called by a
// Service that was never started (like the CLI beside a running server),
// sends it again.
func TestDeadLetterAndRedeliver(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		rc := newReceiver(t)
		var mu sync.Mutex
		failing := true
		rc.setHandle(func(request, int) int {
			mu.Lock()
			defer mu.Unlock()
			if failing {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret, func(e *store.WebhookEndpoint) { e.MaxAttempts = 3 })
		cfg := testConfig(t, b.store)
		cfg.Lanes = 1 // every event in one lane
		s := startService(t, b.host, cfg)
		dead := writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 0, 2)
		s.Notify()

		ds := waitDeliveries(t, s, "ep", StateDead, 2, 10*time.Second)
		for _, d := range ds {
			require.Equal(t, 3, d.Attempts)
			require.Equal(t, http.StatusServiceUnavailable, d.LastStatus)
			require.Equal(t, "HTTP 503 Service Unavailable", d.LastError, "the status only, not the body")
		}
		perMessage := map[string]int{}
		for _, r := range rc.got() {
			perMessage[r.id]++
		}
		for id, n := range perMessage {
			require.Equal(t, 3, n, "attempts of message %s", id)
		}

		// The lane is not blocked: later events are delivered.
		mu.Lock()
		failing = false
		mu.Unlock()
		later := writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 2, 1)
		s.Notify()
		waitDeliveries(t, s, "ep", StateDelivered, 1, 10*time.Second)
		require.Equal(t, later, eventIDs(rc.accepted()))

		// The CLI is another process, with a jobs host of its own.
		cliStore, cliHost := b.reopen(t)
		cli, err := New(cliHost, Config{Store: cliStore})
		require.NoError(t, err)
		other := store.Tenant{ID: "other-tenant", Name: "other-tenant"}
		require.NoError(t, storetest.Write(b.store).Tenants().Create(ctx, other))
		_, err = cli.Redeliver(ctx, other, "ep", nil, "tester")
		require.ErrorIs(t, err, store.ErrNotFound, "another tenant's endpoint")
		tn, err := b.store.Tenants().Get(ctx, testTenant)
		require.NoError(t, err)
		n, err := cli.Redeliver(ctx, tn, "ep", nil, "tester")
		require.NoError(t, err)
		require.Equal(t, 2, n)
		ds = waitDeliveries(t, s, "ep", StateDelivered, 3, 10*time.Second)
		require.Equal(t, append(slices.Clone(later), dead...), eventIDs(rc.accepted()))
		for _, d := range ds {
			if d.EventID != later[0] {
				require.Equal(t, 1, d.Attempts, "attempts restart at redelivery")
			}
		}
		n, err = cli.Redeliver(ctx, tn, "ep", nil, "tester")
		require.NoError(t, err)
		require.Zero(t, n, "nothing dead any more")
		pending, err := b.store.Webhooks().Redeliveries(ctx, 10)
		require.NoError(t, err)
		require.Empty(t, pending, "requests carried out are forgotten")
	})
}

// TestRedeliverByID redelivers chosen dead deliveries only.
func TestRedeliverByID(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		rc := newReceiver(t)
		var mu sync.Mutex
		failing := true
		rc.setHandle(func(request, int) int {
			mu.Lock()
			defer mu.Unlock()
			if failing {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret, func(e *store.WebhookEndpoint) { e.MaxAttempts = 1 })
		cfg := testConfig(t, b.store)
		cfg.MaxBatch = 1
		s := startService(t, b.host, cfg)
		ids := writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 0, 3)
		s.Notify()
		ds := waitDeliveries(t, s, "ep", StateDead, 3, 10*time.Second)
		mu.Lock()
		failing = false
		mu.Unlock()
		tn, err := b.store.Tenants().Get(ctx, testTenant)
		require.NoError(t, err)
		n, err := s.Redeliver(ctx, tn, "ep", []int64{ds[1].ID}, "tester")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		waitDeliveries(t, s, "ep", StateDelivered, 1, 10*time.Second)
		require.Equal(t, []string{ids[1]}, eventIDs(rc.accepted()))
		_, err = s.Redeliver(ctx, tn, "", nil, "tester")
		require.ErrorIs(t, err, store.ErrNotFound, "no endpoint")
		_, err = s.Redeliver(ctx, tn, "ep", make([]int64, MaxRedeliverIDs+1), "tester")
		require.ErrorIs(t, err, ErrInvalid)
	})
}

// TestRedeliveryLeftBehind: a redelivery request recorded (with its audit
// row) by a process that died before carrying it out is carried out by the
// dispatcher, once.
func TestRedeliveryLeftBehind(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		rc := newReceiver(t)
		var mu sync.Mutex
		failing := true
		rc.setHandle(func(request, int) int {
			mu.Lock()
			defer mu.Unlock()
			if failing {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret, func(e *store.WebhookEndpoint) { e.MaxAttempts = 1 })
		s := startService(t, b.host, testConfig(t, b.store))
		ids := writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 0, 2)
		s.Notify()
		waitDeliveries(t, s, "ep", StateDead, 2, 10*time.Second)
		mu.Lock()
		failing = false
		mu.Unlock()

		// What Redeliver's first transaction leaves, had the process died
		// before its second.
		r := store.WebhookRedelivery{ID: "left-behind", Tenant: testTenant, Endpoint: "ep", Requested: time.Now().Add(-time.Minute)}
		require.NoError(t, storetest.Write(b.store).Webhooks().RequestRedelivery(ctx, r))
		waitDeliveries(t, s, "ep", StateDelivered, 2, 15*time.Second)
		require.Equal(t, ids, eventIDs(rc.accepted()))
		require.Eventually(t, func() bool {
			pending, err := b.store.Webhooks().Redeliveries(ctx, 10)
			return err == nil && len(pending) == 0
		}, 10*time.Second, 50*time.Millisecond, "the request is forgotten once carried out")
		n, err := s.carryOut(ctx, r)
		require.NoError(t, err)
		require.Equal(t, 2, n, "carrying it out again is a no-op that reports the first time")
		require.Len(t, rc.accepted(), 2)
	})
}

// TestOrderPerResource: events of one resource arrive in order although
// attempts fail at random, and a lane that keeps failing does not hold up
// the resources of other lanes.
func TestOrderPerResource(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		const lanes = 4
		rc := newReceiver(t)
		// Resources in distinct lanes: "stuck" fails always; the others
		// fail every other attempt of each message.
		users := usersInDistinctLanes(lanes)
		stuck := users[0]
		var mu sync.Mutex
		tries := map[string]int{}
		rc.setHandle(func(r request, _ int) int {
			if r.events[0].ResourceID == stuck {
				return http.StatusBadGateway
			}
			mu.Lock()
			defer mu.Unlock()
			tries[r.id]++
			if tries[r.id] == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret, func(e *store.WebhookEndpoint) { e.MaxAttempts = 1000 })
		cfg := testConfig(t, b.store)
		cfg.Lanes = lanes
		cfg.MaxBatch = 3
		s := startService(t, b.host, cfg)

		const perUser = 12
		want := map[string][]string{}
		for i := range perUser {
			for _, u := range users {
				want[u] = append(want[u], writeEvents(t, b.store, testTenant, u, store.UserUpdated, i, 1)...)
			}
			s.Notify()
		}
		waitDeliveries(t, s, "ep", StateDelivered, perUser*(len(users)-1), 15*time.Second)

		got := map[string][]string{}
		for _, e := range rc.accepted() {
			got[e.ResourceID] = append(got[e.ResourceID], e.ID)
		}
		for _, u := range users[1:] {
			require.Equal(t, want[u], got[u], "events of %s in order, once each", u)
		}
		require.Empty(t, got[stuck])
		pending, err := allDeliveries(s, DeliveryQuery{Endpoint: "ep", State: StatePending})
		require.NoError(t, err)
		require.Len(t, pending, perUser, "the stuck resource's events wait in its lane")
		for _, d := range pending {
			require.Equal(t, laneOf(store.Event{ResourceType: schema.UserResource, ResourceID: stuck}, lanes), d.Lane)
		}
		require.Positive(t, pending[0].Attempts)
		require.Equal(t, http.StatusBadGateway, pending[0].LastStatus)
	})
}

// usersInDistinctLanes returns one user id per lane.
func usersInDistinctLanes(lanes int) []string {
	byLane := map[int]string{}
	for i := 0; len(byLane) < lanes; i++ {
		id := "user-" + strconv.Itoa(i)
		l := laneOf(store.Event{ResourceType: schema.UserResource, ResourceID: id}, lanes)
		if _, ok := byLane[l]; !ok {
			byLane[l] = id
		}
	}
	users := make([]string, 0, lanes)
	for l := range lanes {
		users = append(users, byLane[l])
	}
	return users
}

// TestMaxBatchOne sends each event in a request of its own, in order.
func TestMaxBatchOne(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		rc := newReceiver(t)
		createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret)
		cfg := testConfig(t, b.store)
		cfg.MaxBatch = 1
		cfg.Lanes = 1
		s := startService(t, b.host, cfg)
		ids := writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 0, 5)
		ids = append(ids, writeEvents(t, b.store, testTenant, "u2", store.UserUpdated, 0, 5)...)
		s.Notify()
		waitDeliveries(t, s, "ep", StateDelivered, len(ids), 10*time.Second)
		got := rc.got()
		require.Len(t, got, len(ids))
		seen := map[string]bool{}
		for _, r := range got {
			require.Len(t, r.events, 1)
			require.False(t, seen[r.id], "a webhook-id per message")
			seen[r.id] = true
		}
		require.Equal(t, ids, eventIDs(rc.accepted()))
	})
}

// TestRestart: a Service stopped with deliveries pending (failing, and one
// in flight) leaves them to the next Service on the same databases.
func TestRestart(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		rc := newReceiver(t)
		inFlight := make(chan struct{})
		var once sync.Once
		var mu sync.Mutex
		phase := 1
		rc.setHandle(func(r request, _ int) int {
			mu.Lock()
			p := phase
			mu.Unlock()
			if p == 2 {
				return http.StatusOK
			}
			if r.events[0].ResourceID == "slow" {
				once.Do(func() { close(inFlight) })
				time.Sleep(300 * time.Millisecond) // still answering when the service stops
			}
			return http.StatusInternalServerError
		})
		createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret)
		cfg := testConfig(t, b.store)
		cfg.RetryBase, cfg.RetryMax = 200*time.Millisecond, 200*time.Millisecond
		s1, err := New(b.host, cfg)
		require.NoError(t, err)
		require.NoError(t, b.host.Start(context.Background()))
		require.NoError(t, s1.Start(context.Background()))
		ids := writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 0, 3)
		ids = append(ids, writeEvents(t, b.store, testTenant, "slow", store.UserUpdated, 0, 2)...)
		s1.Notify()
		waitDeliveries(t, s1, "ep", StatePending, len(ids), 10*time.Second)
		<-inFlight
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, s1.Stop(ctx))
		require.NoError(t, b.host.Stop(ctx))
		cancel()
		pending, err := allDeliveries(s1, DeliveryQuery{Endpoint: "ep", State: StatePending})
		require.NoError(t, err)
		require.Len(t, pending, len(ids), "nothing was delivered")

		mu.Lock()
		phase = 2
		mu.Unlock()
		st, host := b.reopen(t)
		s2 := startService(t, host, testConfig(t, st))
		waitDeliveries(t, s2, "ep", StateDelivered, len(ids), 10*time.Second)
		require.ElementsMatch(t, ids, eventIDs(rc.accepted()))
	})
}

// TestDisabledEndpoint: a disabled endpoint gets nothing; enabled again,
// it gets what it missed.
func TestDisabledEndpoint(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		rc := newReceiver(t)
		ep := createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret)
		s := startService(t, b.host, testConfig(t, b.store))
		first := writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 0, 1)
		s.Notify()
		waitDeliveries(t, s, "ep", StateDelivered, 1, 10*time.Second)

		ep.Disabled = true
		require.NoError(t, storetest.Write(b.store).Webhooks().Update(ctx, ep))
		more := writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 1, 2)
		s.Notify()
		time.Sleep(300 * time.Millisecond)
		require.Equal(t, first, eventIDs(rc.accepted()))

		ep.Disabled = false
		require.NoError(t, storetest.Write(b.store).Webhooks().Update(ctx, ep))
		s.Notify()
		waitDeliveries(t, s, "ep", StateDelivered, 3, 10*time.Second)
		require.Equal(t, append(first, more...), eventIDs(rc.accepted()))
	})
}

// TestMessage pins the body and webhook-id of a batch.
func TestMessage(t *testing.T) {
	t.Parallel()
	batch := []batchItem{{ID: 7, Payload: `{"id":"a"}`}, {ID: 9, Payload: `{"id":"b"}`}}
	id, body := message("ep", batch)
	require.JSONEq(t, `{"events":[{"id":"a"},{"id":"b"}]}`, string(body))
	require.True(t, json.Valid(body))
	id2, _ := message("ep", batch)
	require.Equal(t, id, id2)
	other, _ := message("ep", batch[:1])
	require.NotEqual(t, id, other)
	otherEp, _ := message("ep2", batch)
	require.NotEqual(t, id, otherEp)
	require.Regexp(t, `^msg_7_[0-9a-f]{16}$`, id)
	require.Equal(t, fmt.Sprintf("msg_%d_", 7), id[:6])
}

// TestTwoNodes runs two Services on the same databases, as two nodes (or
// processes) would: one dispatches, both deliver, each event arrives once
// and in order per resource.
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		rc := newReceiver(t)
		createEndpoint(t, b.store, "ep", rc.srv.URL, rc.secret)
		cfgA := testConfig(t, b.store)
		cfgA.Holder, cfgA.MaxBatch = "node-a", 2
		a := startService(t, b.host, cfgA)
		st, host := b.reopen(t)
		cfgB := testConfig(t, st)
		cfgB.Holder, cfgB.MaxBatch = "node-b", 2
		nodeB := startService(t, host, cfgB)

		users := usersInDistinctLanes(DefaultLanes)
		want := map[string][]string{}
		for i := range 10 {
			for j, u := range users {
				w := b.store
				if j%2 == 1 {
					w = st // written through the other node
				}
				want[u] = append(want[u], writeEvents(t, w, testTenant, u, store.UserUpdated, i, 1)...)
			}
			a.Notify()
			nodeB.Notify()
		}
		waitDeliveries(t, a, "ep", StateDelivered, 10*len(users), 15*time.Second)
		got := map[string][]string{}
		for _, e := range rc.accepted() {
			got[e.ResourceID] = append(got[e.ResourceID], e.ID)
		}
		for _, u := range users {
			require.Equal(t, want[u], got[u], "events of %s once each, in order", u)
		}
	})
}
