package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/feed"
	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/provision/notify"
	"github.com/rosterhq/roster/internal/provision/notify/delivery"
	"github.com/rosterhq/roster/internal/provision/notify/smtptest"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
)

// syncBuffer is a log sink the workers write to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testBundle is a store with tenants "a" and "b", an SMTP server and a
// started Service on the store's jobs host.
type testBundle struct {
	st       store.Store
	srv      *smtptest.Server
	svc      *delivery.Service
	log      *syncBuffer
	idA, idB string
}

func setup(t *testing.T, st store.Store, mailer bool, prepare func(*smtptest.Server)) *testBundle {
	t.Helper()
	ctx := context.Background()
	b := &testBundle{st: st, log: &syncBuffer{}, idA: "tenant-a-id", idB: "tenant-b-id"}
	for id, name := range map[string]string{b.idA: "a", b.idB: "b"} {
		require.NoError(t, st.Write(ctx, func(w store.Writer) error {
			return w.Tenants().Create(ctx, store.Tenant{ID: id, Name: name, Created: time.Now()})
		}))
	}
	b.srv = smtptest.Start(t, smtptest.Options{})
	if prepare != nil {
		prepare(b.srv)
	}
	cfg := delivery.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.MultiWriter(b.log, t.Output()), nil)),
		RetryBase: 50 * time.Millisecond, MaxAttempts: 3}
	if mailer {
		m, err := delivery.NewMailer(delivery.SMTPConfig{Addr: b.srv.Addr, Username: smtptest.User, Password: smtptest.Password,
			From: "roster@example.com", CAFile: b.srv.CA.File, Timeout: 10 * time.Second})
		require.NoError(t, err)
		cfg.Mailer = m
	}
	host, err := jobs.Open(ctx, st, jobs.Config{Logger: cfg.Logger})
	require.NoError(t, err)
	b.svc, err = delivery.New(host, cfg)
	require.NoError(t, err)
	require.NoError(t, host.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, host.Stop(sctx))
		require.NoError(t, host.Close())
	})
	return b
}

// readEvents reads a tenant's events through the pull feed, waiting up to
// wait for the first.
func readEvents(t *testing.T, st store.Store, tenant string, wait time.Duration) []store.Event {
	t.Helper()
	f := feed.New(st, nil, 50*time.Millisecond)
	defer f.Close()
	es, _, err := f.Read(context.Background(), store.EventQuery{Tenant: tenant}, wait)
	require.NoError(t, err)
	return es
}

// TestNotifyQueued notifies through the queue: the SMTP server refuses the
// first DATA with 451, the e-mail arrives once on the retry, and the event
// reaches tenant a's feed and not tenant b's.
func TestNotifyQueued(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, true, func(s *smtptest.Server) { s.RefuseData(1) })
		ctx := context.Background()
		n := quarantined()
		require.NoError(t, b.svc.Notify(ctx, notify.Recipients{Emails: []string{"ops@example.com", "lead@example.com"}, Tenant: "a"}, n))

		require.Eventually(t, func() bool { return len(b.srv.Messages()) > 0 }, 60*time.Second, 20*time.Millisecond)
		es := readEvents(t, st, b.idA, 30*time.Second)
		require.Len(t, es, 1)
		// Let a second delivery, if there were one, arrive.
		time.Sleep(time.Second)
		msgs := b.srv.Messages()
		require.Len(t, msgs, 1, "exactly one message")
		require.Equal(t, 2, b.srv.DataTries(), "refused once, then delivered")
		require.Equal(t, []string{"ops@example.com", "lead@example.com"}, msgs[0].To)
		m, subject, body := readMessage(t, msgs[0].Data)
		require.Equal(t, "[Roster] Job hr-to-app is in quarantine: EncounteredQuarantineException", subject)
		require.Contains(t, body, "Cycle:   cyc-42")

		e := es[0]
		require.Equal(t, store.ProvisioningQuarantined, e.Type)
		require.Equal(t, delivery.ResourceType, e.ResourceType)
		require.Equal(t, "hr-to-app", e.ResourceID)
		require.Equal(t, "<"+e.ID+"@example.com>", m.Header.Get("Message-Id"), "the e-mail and the event share the notice's id")
		var data map[string]any
		require.NoError(t, json.Unmarshal(e.Data, &data))
		require.Equal(t, map[string]any{"job": "hr-to-app", "kind": "quarantined", "reason": "EncounteredQuarantineException",
			"detail": n.Detail, "cycle": "cyc-42", "time": "2026-12-07T21:00:00Z", "since": "2026-12-07T20:00:00Z"}, data)
		require.Empty(t, readEvents(t, st, b.idB, 0), "tenant b hears nothing of tenant a's job")

		// A notice for b reaches b only.
		require.NoError(t, b.svc.Notify(ctx, notify.Recipients{Tenant: "b"},
			notify.Notice{Job: "crm", Kind: notify.DeletesHeld, Reason: "DeletionThresholdExceeded", Held: 7, Cycle: "c9", Time: at}))
		esB := readEvents(t, st, b.idB, 30*time.Second)
		require.Len(t, esB, 1)
		require.Equal(t, store.ProvisioningDeletesHeld, esB[0].Type)
		require.JSONEq(t, `{"job":"crm","kind":"deletesHeld","reason":"DeletionThresholdExceeded","cycle":"c9","time":"2026-12-07T21:00:00Z","held":7}`, string(esB[0].Data))
		require.Len(t, readEvents(t, st, b.idA, 0), 1, "a still has its one event")
		require.Len(t, b.srv.Messages(), 1, "no e-mail for recipients without addresses")
		require.NotContains(t, b.log.String(), smtptest.Password, "the password is never logged")
	})
}

// TestNotifyPermanentRefusal checks that a 5xx is not retried: one try,
// an error logged, no message.
func TestNotifyPermanentRefusal(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, true, func(s *smtptest.Server) { s.RefuseDataWith(554) })
		require.NoError(t, b.svc.Notify(context.Background(), notify.Recipients{Emails: []string{"ops@example.com"}}, quarantined()))
		require.Eventually(t, func() bool { return strings.Contains(b.log.String(), "NOTIFY-0003") }, 60*time.Second, 20*time.Millisecond)
		time.Sleep(time.Second)
		require.Equal(t, 1, b.srv.DataTries(), "not retried")
		require.Empty(t, b.srv.Messages())
	})
}

// TestNotifyWithoutSMTP checks that a notice with addresses but no SMTP
// server configured still reaches the tenant, and says why no e-mail went.
func TestNotifyWithoutSMTP(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, false, nil)
		n := notify.Notice{Job: "hr-to-app", Kind: notify.Recovered, Cycle: "c3", Time: at}
		require.NoError(t, b.svc.Notify(context.Background(), notify.Recipients{Emails: []string{"ops@example.com"}, Tenant: "a"}, n))
		require.Contains(t, b.log.String(), "NOTIFY-0001")
		es := readEvents(t, st, b.idA, 30*time.Second)
		require.Len(t, es, 1)
		require.Equal(t, store.ProvisioningRecovered, es[0].Type)
		require.Empty(t, b.srv.Messages())
	})
}

// TestDeliver checks the synchronous path, and a tenant that does not
// exist (deleted after the job was applied).
func TestDeliver(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		b := setup(t, st, true, nil)
		ctx := context.Background()
		n := notify.Notice{Job: "hr-to-app", Kind: notify.DeletesHeld, Reason: "DeletionThresholdExceeded", Held: 3, Time: at}
		require.NoError(t, b.svc.Deliver(ctx, notify.Recipients{Emails: []string{"ops@example.com"}, Tenant: "b"}, n))
		require.Len(t, b.srv.Messages(), 1)
		require.Len(t, readEvents(t, st, b.idB, 0), 1)
		require.Empty(t, readEvents(t, st, b.idA, 0))

		err := b.svc.Deliver(ctx, notify.Recipients{Tenant: "gone"}, n)
		require.ErrorIs(t, err, delivery.ErrNoTenant)
		err = b.svc.WriteEvent(ctx, "id-1", "a", notify.Notice{Job: "j", Kind: "sideways"})
		require.ErrorContains(t, err, `unknown notice kind "sideways"`)
	})
}
