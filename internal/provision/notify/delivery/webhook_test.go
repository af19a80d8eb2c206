package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/provision/notify"
	"github.com/rosterhq/roster/internal/provision/notify/delivery"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
	"github.com/rosterhq/roster/internal/webhook"
)

// receiver is a webhook endpoint that records the events it is sent.
type receiver struct {
	mu     sync.Mutex
	events []store.Event
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Events []store.Event `json:"events"`
	}
	b, _ := io.ReadAll(req.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.events = append(r.events, body.Events...)
	r.mu.Unlock()
}

func (r *receiver) Events() []store.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]store.Event(nil), r.events...)
}

// TestNoticeByWebhook checks that a notice for tenant a reaches the
// webhook endpoint a subscribed to provisioning events, through the
// webhook service, and that tenant b's endpoint, subscribed to the same
// types, gets nothing.
func TestNoticeByWebhook(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		tenants := map[string]store.Tenant{}
		for _, name := range []string{"a", "b"} {
			tn := store.Tenant{ID: "id-" + name, Name: name, Created: time.Now()}
			require.NoError(t, st.Write(ctx, func(w store.Writer) error { return w.Tenants().Create(ctx, tn) }))
			tenants[name] = tn
		}
		recvA, recvB := &receiver{}, &receiver{}
		for name, r := range map[string]*receiver{"a": recvA, "b": recvB} {
			srv := httptest.NewServer(r)
			t.Cleanup(srv.Close)
			_, err := webhook.NewEndpoints(st, true).Create(ctx, tenants[name], webhook.EndpointRequest{URL: srv.URL,
				EventTypes: []string{store.ProvisioningQuarantined, store.ProvisioningDeletesHeld, store.ProvisioningRecovered}}, "test")
			require.NoError(t, err)
		}
		host, err := jobs.Open(ctx, st, jobs.Config{Logger: log})
		require.NoError(t, err)
		hooks, err := webhook.New(host, webhook.Config{Store: st, Logger: log, Holder: "test-node", Timeout: 2 * time.Second,
			RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, PollInterval: 20 * time.Millisecond, AllowPrivate: true})
		require.NoError(t, err)
		notices, err := delivery.New(host, delivery.Config{Store: st, Logger: log, RetryBase: 50 * time.Millisecond})
		require.NoError(t, err)
		require.NoError(t, host.Start(ctx))
		require.NoError(t, hooks.Start(ctx))
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, hooks.Stop(sctx))
			require.NoError(t, host.Stop(sctx))
			require.NoError(t, host.Close())
		})

		require.NoError(t, notices.Notify(ctx, notify.Recipients{Tenant: "a"}, notify.Notice{Job: "hr-to-app", Kind: notify.Recovered,
			Cycle: "c7", Time: at, Since: at.Add(-2 * time.Hour)}))
		require.Eventually(t, func() bool { return len(recvA.Events()) > 0 }, 60*time.Second, 20*time.Millisecond)
		time.Sleep(500 * time.Millisecond)
		got := recvA.Events()
		require.Len(t, got, 1)
		require.Equal(t, store.ProvisioningRecovered, got[0].Type)
		require.Equal(t, "id-a", got[0].Tenant)
		require.JSONEq(t, `{"job":"hr-to-app","kind":"recovered","cycle":"c7","time":"2026-12-07T21:00:00Z","since":"2026-12-07T19:00:00Z"}`, string(got[0].Data))
		require.Empty(t, recvB.Events(), "tenant b's endpoint hears nothing of tenant a's notice")
	})
}
