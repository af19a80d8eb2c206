package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/feed"
	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/notify/delivery"
	"github.com/rosterhq/roster/internal/provision/notify/smtptest"
	"github.com/rosterhq/roster/internal/provision/target"
	"github.com/rosterhq/roster/internal/store"
)

// fault is how the target misbehaves for the requests a rule matches.
type fault string

const (
	fail500  fault = "500"         // answers 500 without doing anything
	fail400  fault = "400"         // refuses the request as invalid
	slow429  fault = "429"         // answers 429 with Retry-After: 1
	lost     fault = "lost"        // does the request, then answers too late
	refuse   fault = "401"         // refuses the credentials
	nullMems fault = "nullMembers" // does the request, answers members: null
	garbage  fault = "garbage"     // answers 200 with a body that is not JSON
	passThru fault = ""
)

// faults sits in front of a real Roster and misbehaves on command: each
// rule applies to the next n requests (n < 0: all) of a method and path
// prefix, and the requests it spoiled are counted.
type faults struct {
	mu     sync.Mutex
	rules  []*rule
	served map[fault]int
}

type rule struct {
	method, path string
	f            fault
	n            int
}

// timeout is the engine's per-request timeout in these tests; a lost
// answer comes later than that.
const timeout = time.Second

func (fs *faults) set(rs ...*rule) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.rules, fs.served = rs, map[fault]int{}
}

func (fs *faults) count(f fault) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.served[f]
}

func (fs *faults) pick(r *http.Request) fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, ru := range fs.rules {
		if ru.n == 0 || (ru.method != "" && ru.method != r.Method) || !strings.Contains(r.URL.Path, ru.path) {
			continue
		}
		if ru.n > 0 {
			ru.n--
		}
		fs.served[ru.f]++
		return ru.f
	}
	return passThru
}

func (fs *faults) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch fs.pick(r) {
		case fail500:
			http.Error(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500"}`, http.StatusInternalServerError)
		case fail400:
			http.Error(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue"}`, http.StatusBadRequest)
		case slow429:
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429"}`, http.StatusTooManyRequests)
		case refuse:
			http.Error(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401"}`, http.StatusUnauthorized)
		case garbage:
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("<html>proxy error</html>"))
		case nullMems:
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err == nil {
				body["members"] = nil
				b, _ := json.Marshal(body)
				w.Header().Set("Content-Type", "application/scim+json")
				w.WriteHeader(rec.Code)
				_, _ = w.Write(b)
				return
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		case lost:
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			time.Sleep(timeout + 500*time.Millisecond)
			w.WriteHeader(rec.Code)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// mailbox is the fault tests' notification path, the one roster serve
// wires: the engine's Notifier is a delivery.Service that queues each
// notice on a jobs host of the world's store, whose river workers e-mail
// it through a real SMTP server started by the test (STARTTLS, AUTH
// PLAIN) and write it to the outbox of the tenant the job names.
type mailbox struct {
	t    *testing.T
	st   store.Store
	srv  *smtptest.Server
	host *jobs.Host
}

// mailWait bounds the wait for an asynchronous delivery.
const mailWait = 10 * time.Second

func startMailbox(t *testing.T, st store.Store) (*mailbox, *delivery.Service) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := smtptest.Start(t, smtptest.Options{})
	mailer, err := delivery.NewMailer(delivery.SMTPConfig{Addr: srv.Addr, Username: smtptest.User, Password: smtptest.Password,
		From: "roster@example.com", TLS: delivery.TLSStartTLS, CAFile: srv.CA.File, Timeout: mailWait})
	require.NoError(t, err)
	host, err := jobs.Open(ctx, st, jobs.Config{Logger: log})
	require.NoError(t, err)
	svc, err := delivery.New(host, delivery.Config{Store: st, Mailer: mailer, Logger: log, RetryBase: 50 * time.Millisecond, MaxAttempts: 3})
	require.NoError(t, err)
	require.NoError(t, host.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), mailWait)
		defer cancel()
		require.NoError(t, host.Stop(sctx))
		require.NoError(t, host.Close())
	})
	return &mailbox{t: t, st: st, srv: srv, host: host}, svc
}

// settle waits, up to mailWait, until the jobs queue holds nothing left to
// work: every notice queued so far has been delivered. The engine queues a
// notice before its cycle returns, so once the queue is empty no more mail
// is coming for the cycles run so far. None may have been given up on.
func (m *mailbox) settle() {
	m.t.Helper()
	ctx := context.Background()
	client, err := m.host.Client()
	require.NoError(m.t, err)
	deadline := time.Now().Add(mailWait)
	for {
		res, err := client.JobList(ctx, river.NewJobListParams().First(10).States(rivertype.JobStateAvailable,
			rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled))
		require.NoError(m.t, err)
		if len(res.Jobs) == 0 {
			break
		}
		require.False(m.t, time.Now().After(deadline), "notice deliveries still queued after %v: %+v", mailWait, res.Jobs[0])
		time.Sleep(20 * time.Millisecond)
	}
	res, err := client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateCancelled, rivertype.JobStateDiscarded))
	require.NoError(m.t, err)
	require.Empty(m.t, res.Jobs, "every notice is delivered, none given up")
}

// expect waits for the SMTP server to have received n messages, then for
// the queue to settle, and checks that exactly n arrived, each sent over
// TLS after AUTH with the configured credentials. It returns them read.
func (m *mailbox) expect(n int) []smtptest.Read {
	m.t.Helper()
	m.srv.Await(m.t, n, mailWait)
	m.settle()
	msgs := m.srv.Messages()
	out := make([]smtptest.Read, 0, len(msgs))
	subjects := make([]string, 0, len(msgs))
	for _, msg := range msgs {
		require.Equal(m.t, "roster@example.com", msg.From)
		require.Equal(m.t, []string{"ops@example.com"}, msg.To)
		r, err := msg.Read()
		require.NoError(m.t, err)
		out, subjects = append(out, r), append(subjects, r.Subject)
	}
	require.Len(m.t, subjects, n, "exactly %d messages", n)
	for _, a := range m.srv.Auths() {
		require.Equal(m.t, smtptest.Auth{User: smtptest.User, Pass: smtptest.Password, TLS: true}, a, "AUTH PLAIN over TLS only")
	}
	return out
}

// events returns the provisioning events in the pull feed of the tenant
// named tenant, in order; call it after settle.
func (m *mailbox) events(tenant string) []store.Event {
	m.t.Helper()
	ctx := context.Background()
	tn, err := m.st.Tenants().GetByName(ctx, tenant)
	require.NoError(m.t, err)
	f := feed.New(m.st, nil, 0)
	defer f.Close()
	var out []store.Event
	for after := ""; ; {
		es, next, err := f.Read(ctx, store.EventQuery{Tenant: tn.ID, After: after, Limit: store.EventsMaxLimit}, 0)
		require.NoError(m.t, err)
		if len(es) == 0 {
			return out
		}
		for _, e := range es {
			if strings.HasPrefix(e.Type, "provisioning.") {
				out = append(out, e)
			}
		}
		after = next
	}
}

func newFaultWorld(t *testing.T, thresholds engine.EscrowThresholds) (*world, *faults, *mailbox) {
	fs := &faults{}
	var mb *mailbox
	w := newWorldWith(t, "sqlite", fs.wrap, func(c *engine.Config) {
		var svc *delivery.Service
		mb, svc = startMailbox(t, c.Store)
		c.Notifier = svc
		c.EscrowThresholds = thresholds
		c.QuarantineBackoff = []time.Duration{time.Hour, 2 * time.Hour}
		c.OpenTarget = func(t job.Target) (*target.Target, error) {
			o, err := target.FromJob(t)
			if err != nil {
				return nil, err
			}
			o.Timeout = timeout
			return target.New(o)
		}
	})
	return w, fs, mb
}

func (w *world) escrow() map[string]store.Escrow {
	w.t.Helper()
	out := map[string]store.Escrow{}
	require.NoError(w.t, w.st.Provisioning().Escrows(context.Background(), "e2e", func(e store.Escrow) error {
		out[e.Display] = e
		return nil
	}))
	return out
}

func (w *world) state() store.ProvisionState {
	w.t.Helper()
	st, err := w.st.Provisioning().State(context.Background(), "e2e")
	require.NoError(w.t, err)
	return st
}

// runFailing runs a cycle that is expected to fail as a whole.
func (w *world) runFailing() engine.Report {
	w.t.Helper()
	rep, err := w.eng.Run(context.Background(), "e2e", engine.RunOptions{})
	require.Error(w.t, err)
	require.Equal(w.t, engine.CycleFailed, rep.Status)
	return rep
}

// TestFaults runs a job against a target that answers 500, 429 with
// Retry-After, loses an answer past the timeout, and refuses the
// credentials, in that order: requests are retried where that is safe,
// failed objects go to escrow and are retried by later cycles, the job is
// quarantined and notified once, recovers with one notice, and the
// target ends with every user exactly once. Each notice is one e-mail the
// test's SMTP server received and one event in the default tenant's feed.
func TestFaults(t *testing.T) {
	w, fs, mb := newFaultWorld(t, engine.EscrowThresholds{MinFailures: 5, Proportion: 0.4, MaxFailures: 1000, MaxTotal: 2000})
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
		w.addUser(u, nil)
	}
	w.apply("scope: all\nschedule: {interval: 1m}\nnotifications: {emails: [ops@example.com], tenant: default}\n")

	// 500: the first two creates fail and go to escrow; the first two
	// queries are retried within the cycle and succeed.
	fs.set(&rule{method: "POST", path: "/Users", f: fail500, n: 2},
		&rule{method: "GET", path: "/Users", n: 1}, // Test Connection, sent once
		&rule{method: "GET", path: "/Users", f: fail500, n: 2})
	rep := w.run(engine.RunOptions{})
	require.EqualValues(t, 4, rep.Stats.Created, "%+v", rep.Stats)
	require.EqualValues(t, 2, rep.Stats.Failed)
	require.Equal(t, 4, fs.count(fail500), "two creates and two queries answered 500")
	require.Equal(t, 2, rep.Escrow)
	require.Nil(t, rep.Quarantine, "two failures are below the thresholds")
	esc := w.escrow()
	require.Len(t, esc, 2)
	for name, e := range esc {
		require.Equal(t, 1, e.Failures, name)
		require.Equal(t, "HTTP500", e.ErrorCode, name)
		require.Equal(t, engine.ActionCreate, e.Action, name)
		require.False(t, e.NextRetry.After(time.Now()), "retried by the next cycle")
	}
	require.NotEmpty(t, w.state().Watermarks["user"], "the watermark moves on past the escrowed users")
	fs.set()
	require.Len(t, w.users(), 4)

	// 429 with Retry-After: the next cycle retries the escrowed users
	// (the source did not change them), waiting as told.
	fs.set(&rule{path: "/Users", f: slow429, n: 2})
	tick()
	start := time.Now()
	rep = w.run(engine.RunOptions{})
	require.EqualValues(t, 2, rep.Stats.Created, "%+v %+v", rep.Stats, w.logs(rep.Cycle))
	require.Zero(t, rep.Stats.Failed)
	require.Equal(t, 2, fs.count(slow429))
	require.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After: 1 was honoured")
	require.Empty(t, w.escrow(), "out of escrow once provisioned")
	fs.set()
	require.Len(t, w.users(), 6)

	// A create whose answer is lost (the target created the user, the
	// answer came after the timeout): escrowed, then found by matching,
	// not created twice.
	w.addUser("u7", nil)
	tick()
	fs.set(&rule{method: "POST", path: "/Users", f: lost, n: 1})
	rep = w.run(engine.RunOptions{})
	require.EqualValues(t, 1, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	require.Equal(t, 1, fs.count(lost))
	require.Contains(t, w.escrow(), "u7")
	fs.set()
	tick()
	rep = w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Created, "%+v", w.logs(rep.Cycle))
	require.EqualValues(t, 1, rep.Stats.Linked, "the lost create is matched")
	require.Empty(t, w.escrow())
	require.Len(t, w.users(), 7)
	mb.expect(0) // failing objects below the thresholds notify nobody

	// 401 in the middle of a cycle: the cycle stops, the job is
	// quarantined and notified once.
	w.modify("uid=u2,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("title", []string{"Lead"}) })
	tick()
	fs.set(&rule{method: "PATCH", f: refuse, n: -1})
	rep = w.runFailing()
	require.NotNil(t, rep.Quarantine)
	require.Equal(t, engine.ReasonCredentials, rep.Quarantine.Reason)
	require.Empty(t, w.escrow(), "a refused credential is the job's failure, not the object's")
	st := w.state()
	require.NotNil(t, st.Quarantine)
	require.WithinDuration(t, time.Now().Add(time.Hour), st.NextRun, time.Minute, "a quarantined job waits the backoff")
	msgs := mb.expect(1)
	require.Equal(t, "[Roster] Job e2e is in quarantine: "+engine.ReasonCredentials, msgs[0].Subject)
	require.Contains(t, msgs[0].Body, "roster job restart e2e")
	es := mb.events("default")
	require.Len(t, es, 1, "the job's notifications name tenant default")
	require.Equal(t, store.ProvisioningQuarantined, es[0].Type)
	require.Equal(t, "e2e", es[0].ResourceID)
	require.Equal(t, "<"+es[0].ID+"@example.com>", msgs[0].Header.Get("Message-Id"), "the e-mail and the event are one notice")
	var data delivery.EventData
	require.NoError(t, json.Unmarshal(es[0].Data, &data))
	require.Equal(t, engine.ReasonCredentials, data.Reason)
	require.Equal(t, rep.Cycle, data.Cycle)

	// 401 on everything, twice more: still quarantined, nothing more sent.
	fs.set(&rule{f: refuse, n: -1})
	for range 2 {
		rep = w.runFailing()
		require.Equal(t, engine.ReasonCredentials, rep.Quarantine.Reason)
	}
	st = w.state()
	require.Equal(t, 3, st.Quarantine.Runs)
	require.WithinDuration(t, time.Now().Add(2*time.Hour), st.NextRun, time.Minute, "the backoff grows")
	mb.expect(1) // one notice per state change, not per cycle
	require.Len(t, mb.events("default"), 1)

	// The credentials work again: the first cycle that succeeds ends the
	// quarantine, with one notice, and sends what was pending.
	fs.set()
	rep = w.run(engine.RunOptions{})
	require.Nil(t, rep.Quarantine)
	require.Nil(t, w.state().Quarantine)
	msgs = mb.expect(2)
	require.Equal(t, "[Roster] Job e2e has recovered", msgs[1].Subject)
	es = mb.events("default")
	require.Len(t, es, 2)
	require.Equal(t, store.ProvisioningRecovered, es[1].Type)
	require.Equal(t, "<"+es[1].ID+"@example.com>", msgs[1].Header.Get("Message-Id"))
	data = delivery.EventData{}
	require.NoError(t, json.Unmarshal(es[1].Data, &data))
	require.Equal(t, rep.Cycle, data.Cycle, "the cycle that succeeded")
	us := w.users()
	require.Len(t, us, 7, "every user exactly once")
	require.Equal(t, "Lead", us["u2"]["title"], "nothing lost")
	require.WithinDuration(t, time.Now().Add(time.Minute), w.state().NextRun, 10*time.Second, "back on the schedule")
}

// TestEscrowQuarantine: objects failing past the escrow thresholds
// quarantine the job (EncounteredEscrowProportionThreshold); a restart
// clears escrow, quarantine and watermarks and runs an initial cycle
// that matches what exists instead of creating it again. One e-mail says
// the job entered quarantine, one that it recovered.
func TestEscrowQuarantine(t *testing.T) {
	w, fs, mb := newFaultWorld(t, engine.EscrowThresholds{MinFailures: 5, Proportion: 0.4, MaxFailures: 1000, MaxTotal: 2000})
	for _, u := range []string{"a1", "a2", "a3", "a4"} {
		w.addUser(u, nil)
	}
	w.apply("scope: all\nschedule: {interval: 1m}\nnotifications: {emails: [ops@example.com]}\n")
	w.run(engine.RunOptions{})

	for _, u := range []string{"b1", "b2", "b3", "b4", "b5", "b6"} {
		w.addUser(u, nil)
	}
	tick()
	fs.set(&rule{method: "POST", path: "/Users", f: fail400, n: -1})
	rep := w.run(engine.RunOptions{})
	require.EqualValues(t, 6, rep.Stats.Failed)
	require.NotNil(t, rep.Quarantine, "6 of 10 objects failing is past 40 %%")
	require.Equal(t, engine.ReasonEscrow, rep.Quarantine.Reason)
	msgs := mb.expect(1)
	require.Equal(t, "[Roster] Job e2e is in quarantine: "+engine.ReasonEscrow, msgs[0].Subject)
	require.Len(t, w.escrow(), 6)

	// The failures persist: they are retried, counted, and the job stays
	// quarantined without another notice.
	tick()
	rep = w.run(engine.RunOptions{})
	require.EqualValues(t, 6, rep.Stats.Failed, "escrowed users retried")
	for name, e := range w.escrow() {
		require.Equal(t, 2, e.Failures, name)
		require.WithinDuration(t, time.Now().Add(6*time.Hour), e.NextRetry, time.Minute, "%s: the second failure waits 6 h", name)
	}
	tick()
	rep = w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Failed, "not due again for 6 h")
	mb.expect(1)

	// Restart: escrow, quarantine and watermarks cleared; the initial
	// cycle that follows creates the six and matches nothing twice.
	fs.set()
	require.NoError(t, w.eng.Restart(context.Background(), "e2e", "test:admin"))
	st := w.state()
	require.Nil(t, st.Quarantine)
	require.Empty(t, st.Watermarks)
	require.True(t, st.NextRun.IsZero(), "due now")
	require.Empty(t, w.escrow())
	j, err := w.jobs.Get(context.Background(), "e2e")
	require.NoError(t, err)
	require.True(t, j.NeedsInitial)
	rep = w.run(engine.RunOptions{})
	require.True(t, rep.Initial)
	require.EqualValues(t, 6, rep.Stats.Created, "%+v", rep.Stats)
	require.Zero(t, rep.Stats.Failed)
	require.Len(t, w.users(), 10)
	msgs = mb.expect(2)
	require.Equal(t, "[Roster] Job e2e has recovered", msgs[1].Subject)
	require.Empty(t, mb.events("default"), "no tenant named, no event")
}

// TestDefaultDeletionThreshold: 600 users leaving the scope at once pass
// Entra's default threshold of 500: all 600 are held, one e-mail says so
// however many cycles see it, and allow-deletes disables exactly those.
func TestDefaultDeletionThreshold(t *testing.T) {
	w, _, mb := newFaultWorld(t, engine.DefaultEscrowThresholds)
	keep := w.addUser("keeper", nil)
	dns := []string{keep}
	for i := range 600 {
		dns = append(dns, w.addUser(fmt.Sprintf("leaver%03d", i), nil))
	}
	w.addGroup("app-users", dns...)
	j := w.apply("scope: assigned\nassignments: [{group: app-users}]\nnotifications: {emails: [ops@example.com]}\n")
	require.Equal(t, 500, j.DeletionThreshold.Count, "Entra's default")
	rep := w.run(engine.RunOptions{})
	require.EqualValues(t, 602, rep.Stats.Created, "%+v", rep.Stats)

	w.modify("cn=app-users,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("member", []string{keep}) })
	tick()
	rep = w.run(engine.RunOptions{})
	require.Equal(t, 600, rep.Held)
	require.Zero(t, rep.Stats.Disabled)
	msgs := mb.expect(1)
	require.Equal(t, "[Roster] Job e2e held 600 deletions: DeletionThresholdExceeded", msgs[0].Subject)
	require.Contains(t, msgs[0].Body, "Held:    600 disables and deletes")
	require.Contains(t, msgs[0].Body, "roster job allow-deletes e2e")
	active := 0
	for _, u := range w.users() {
		if u["active"] == true {
			active++
		}
	}
	require.Equal(t, 601, active, "nothing disabled while held")

	rep = w.run(engine.RunOptions{})
	require.Equal(t, 600, rep.Held, "still held, not twice")
	mb.expect(1) // one notice per state change

	rep, err := w.eng.AllowDeletes(context.Background(), "e2e", "test:admin")
	require.NoError(t, err)
	require.EqualValues(t, 600, rep.Stats.Disabled, "%+v", rep.Stats)
	us := w.users()
	require.Equal(t, true, us["keeper"]["active"])
	for i := range 600 {
		require.Equal(t, false, us[fmt.Sprintf("leaver%03d", i)]["active"])
	}
	mb.expect(1) // releasing is the admin's act: no notice
	require.Empty(t, mb.events("default"), "no tenant named, no event")
	require.Empty(t, w.state().Notified, "a later hold is notified again")
}

// TestBadResponses: answers a SCIM client does not expect (a group with
// members: null, a 200 that is not JSON) fail at most the object they
// concern, never the cycle.
func TestBadResponses(t *testing.T) {
	w, fs, _ := newFaultWorld(t, engine.DefaultEscrowThresholds)
	a, b := w.addUser("ann", nil), w.addUser("ben", nil)
	w.addUser("cat", nil)
	w.addGroup("team", a)
	w.apply("scope: all\nschedule: {interval: 1m}\n")
	w.run(engine.RunOptions{})

	// The group gains a member; the target answers the group with
	// members: null. ben's user is changed too, and read back as garbage.
	w.modify("cn=team,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("member", []string{a, b}) })
	w.modify("uid=cat,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("title", []string{"Chief"}) })
	w.modify("uid=ben,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("title", []string{"Builder"}) })
	tick()
	benID := w.users()["ben"]["id"].(string)
	fs.set(&rule{method: "GET", path: "/Groups/", f: nullMems, n: -1}, &rule{method: "GET", path: "/Users/" + benID, f: garbage, n: -1})
	rep := w.run(engine.RunOptions{})
	require.Equal(t, engine.CycleSucceeded, rep.Status)
	require.Positive(t, fs.count(nullMems))
	require.Positive(t, fs.count(garbage))
	fs.set()
	us := w.users()
	require.Equal(t, "Chief", us["cat"]["title"], "the others are provisioned")
	require.ElementsMatch(t, []string{"ann", "ben"}, memberNames(w.groups()["team"], us), "members: null read as no members")
	require.Contains(t, w.escrow(), "ben", "the garbled object is retried later")

	tick()
	rep = w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	require.Equal(t, "Builder", w.users()["ben"]["title"])
	require.Empty(t, w.escrow())
}
