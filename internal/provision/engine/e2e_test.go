package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app/apptest"
	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/source/ldapsource/slapdtest"
	"github.com/rosterhq/roster/internal/scimclient"
	"github.com/rosterhq/roster/internal/store"
)

// The package's slapd, or why there is none.
var slapd struct {
	url  string
	skip string
}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	if os.Getenv(targetEnv) != "" {
		os.Exit(serveTarget())
	}
	if slices.ContainsFunc(os.Args, func(a string) bool { return strings.HasPrefix(a, "-test.fuzzworker") }) {
		// A fuzz worker runs only the fuzz target: no directory needed.
		os.Exit(m.Run())
	}
	srv, err := slapdtest.Start()
	if err != nil {
		slapd.skip = err.Error()
	} else {
		slapd.url = srv.URL
	}
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

var runs atomic.Int64

// world is one test's source directory (its own ou in the package's
// slapd), target (a real Roster over HTTP on its own SQLite file) and
// engine (over the target's store: Roster runs both sides).
type world struct {
	t      *testing.T
	ldap   *ldap.Conn
	base   string
	target string // Tenant URL
	token  string
	client *scimclient.Client
	st     store.Store
	eng    *engine.Engine
	jobs   *job.Service
}

func newWorld(t *testing.T) *world { return newWorldOn(t, "sqlite") }

// newWorldOn is newWorld on a backend: "sqlite", or "postgres" (which
// skips unless ROSTER_TEST_PG_DSN is set).
func newWorldOn(t *testing.T, backend string) *world { return newWorldWith(t, backend, nil, nil) }

// newWorldWith is newWorldOn with the target's handler wrapped (faults)
// and the engine's configuration changed.
func newWorldWith(t *testing.T, backend string, wrap func(http.Handler) http.Handler, config func(*engine.Config)) *world {
	t.Helper()
	if slapd.skip != "" {
		t.Skip(slapd.skip)
	}
	c := slapdtest.Admin(t, slapd.url)
	ou := fmt.Sprintf("%s-%d", strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()), runs.Add(1))
	base := "ou=" + ou + "," + slapdtest.Suffix
	require.NoError(t, c.Add(slapdtest.Entry(base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {ou}})))

	srv := apptest.Start(t, backend, wrap)
	st, tenant := srv.Store, srv.TenantURL
	client, err := scimclient.New(tenant, scimclient.Options{Token: srv.Token})
	require.NoError(t, err)
	cfg := engine.Config{Store: st, FlushEvery: 20 * time.Millisecond}
	if config != nil {
		config(&cfg)
	}
	return &world{t: t, ldap: c, base: base, target: tenant, token: srv.Token, client: client, st: st,
		eng: engine.New(cfg), jobs: job.New(st)}
}

// apply creates or updates the test's job from YAML; extra is appended
// to a document that reads the test's ou and writes the Roster tenant.
func (w *world) apply(extra string) job.Job {
	w.t.Helper()
	doc := fmt.Sprintf(`name: e2e
source: {type: ldap, url: %q, bindDN: %q, bindPassword: %q, baseDN: %q}
target: {url: %q, token: %q}
`, slapd.url, slapdtest.RootDN, slapdtest.RootPW, w.base, w.target, w.token) + extra
	j, err := job.Parse([]byte(doc), func(string) (string, bool) { return "", false })
	require.NoError(w.t, err)
	_, j, err = w.jobs.Apply(context.Background(), j, "test")
	require.NoError(w.t, err)
	return j
}

func (w *world) run(o engine.RunOptions) engine.Report {
	w.t.Helper()
	rep, err := w.eng.Run(context.Background(), "e2e", o)
	require.NoError(w.t, err)
	require.Equal(w.t, engine.CycleSucceeded, rep.Status)
	return rep
}

// addUser adds an inetOrgPerson under the test's ou; attrs override the
// defaults.
func (w *world) addUser(uid string, attrs map[string][]string) string {
	w.t.Helper()
	dn := "uid=" + uid + "," + w.base
	a := map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {uid + " Person"},
		"givenName": {strings.ToUpper(uid[:1]) + uid[1:]}, "sn": {"Person"}, "mail": {uid + "@example.com"}}
	for k, v := range attrs {
		a[k] = v
	}
	require.NoError(w.t, w.ldap.Add(slapdtest.Entry(dn, a)))
	return dn
}

func (w *world) addGroup(cn string, members ...string) string {
	w.t.Helper()
	dn := "cn=" + cn + "," + w.base
	if len(members) == 0 {
		members = []string{""} // groupOfNames requires a member; "" is the empty DN
	}
	require.NoError(w.t, w.ldap.Add(slapdtest.Entry(dn, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {cn}, "member": members})))
	return dn
}

func (w *world) modify(dn string, fn func(m *ldap.ModifyRequest)) {
	w.t.Helper()
	m := ldap.NewModifyRequest(dn, nil)
	fn(m)
	require.NoError(w.t, w.ldap.Modify(m))
}

// users returns the target's users by userName.
func (w *world) users() map[string]map[string]any {
	w.t.Helper()
	out := map[string]map[string]any{}
	for _, r := range w.list("/Users") {
		out[r["userName"].(string)] = r
	}
	return out
}

func (w *world) groups() map[string]map[string]any {
	w.t.Helper()
	out := map[string]map[string]any{}
	for _, r := range w.list("/Groups") {
		out[r["displayName"].(string)] = r
	}
	return out
}

func (w *world) list(ep string) []map[string]any {
	w.t.Helper()
	res, err := w.client.Do(context.Background(), scimclient.Request{Method: "GET", Path: ep + "?count=1000"})
	require.NoError(w.t, err)
	var lr struct {
		Resources []map[string]any `json:"Resources"`
	}
	require.NoError(w.t, json.Unmarshal(res.Body, &lr))
	return lr.Resources
}

// memberNames returns a target group's members' display names.
func memberNames(g map[string]any, users map[string]map[string]any) []string {
	byID := map[string]string{}
	for name, u := range users {
		byID[u["id"].(string)] = name
	}
	var out []string
	ms, _ := g["members"].([]any)
	for _, m := range ms {
		out = append(out, byID[m.(map[string]any)["value"].(string)])
	}
	return out
}

func manager(u map[string]any) string {
	ext, _ := u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
	m, _ := ext["manager"].(map[string]any)
	v, _ := m["value"].(string)
	return v
}

// logs returns a cycle's log entries.
func (w *world) logs(cycle string) []store.ProvisionLog {
	w.t.Helper()
	ls, err := w.st.Provisioning().Logs(context.Background(), store.ProvisionLogQuery{Job: "e2e", Cycle: cycle, Limit: 10000})
	require.NoError(w.t, err)
	return ls
}

// outcome finds the log entry of an object in a cycle.
func (w *world) outcome(cycle, name string) store.ProvisionLog {
	w.t.Helper()
	for _, l := range w.logs(cycle) {
		if strings.EqualFold(l.SourceName, name) {
			return l
		}
	}
	w.t.Fatalf("no log entry for %s in cycle %s: %+v", name, cycle, w.logs(cycle))
	return store.ProvisionLog{}
}

// tick waits for the next second: modifyTimestamp has one-second
// resolution, and a change in the same second as the previous cycle's
// read is found by the overlap, but a test reads more plainly when each
// step is in its own second.
func tick() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
}

func TestLifecycle(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { testLifecycle(t, newWorldOn(t, backend)) })
	}
}

func testLifecycle(t *testing.T, w *world) {
	alice := w.addUser("alice", map[string][]string{"title": {"Engineer"}})
	bob := w.addUser("bob", map[string][]string{"manager": {alice}})
	carol := w.addUser("carol", nil)
	w.addGroup("eng", alice, bob)
	w.apply("scope: all\nschedule: {interval: 1m}\n")

	// Initial cycle: everything created, the manager resolved.
	rep := w.run(engine.RunOptions{})
	require.True(t, rep.Initial)
	require.EqualValues(t, 4, rep.Stats.Created, "%+v", rep.Stats)
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	us := w.users()
	require.Len(t, us, 3)
	require.Equal(t, "Engineer", us["alice"]["title"])
	require.Equal(t, us["alice"]["id"], manager(us["bob"]), "bob's manager is alice's target id")
	gs := w.groups()
	require.ElementsMatch(t, []string{"alice", "bob"}, memberNames(gs["eng"], us))
	l := w.outcome(rep.Cycle, "alice")
	require.Equal(t, engine.ActionCreate, l.Action)
	require.Equal(t, engine.StatusSuccess, l.Status)
	require.Equal(t, us["alice"]["id"], l.TargetID)
	require.Contains(t, string(l.Steps), `"Import"`)
	require.Contains(t, string(l.Steps), `"Match"`)
	require.Contains(t, string(l.Modified), "Engineer")

	// Nothing changed: nothing sent, nothing logged.
	tick()
	rep = w.run(engine.RunOptions{})
	require.False(t, rep.Initial)
	require.Zero(t, rep.Stats.Created+rep.Stats.Updated+rep.Stats.Failed, "%+v", rep.Stats)

	// An attribute update, a rename and a manager change.
	w.modify(alice, func(m *ldap.ModifyRequest) { m.Replace("title", []string{"Lead"}) })
	require.NoError(t, w.ldap.ModifyDN(ldap.NewModifyDNRequest(bob, "uid=robert", true, "")))
	bob = "uid=robert," + w.base
	w.modify(bob, func(m *ldap.ModifyRequest) { m.Replace("manager", []string{carol}) })
	tick()
	rep = w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	us = w.users()
	require.Equal(t, "Lead", us["alice"]["title"])
	require.Contains(t, us, "robert", "renamed in place")
	require.NotContains(t, us, "bob")
	require.Len(t, us, 3)
	require.Equal(t, us["carol"]["id"], manager(us["robert"]))
	l = w.outcome(rep.Cycle, "alice")
	require.Equal(t, engine.ActionUpdate, l.Action)
	require.Contains(t, string(l.Modified), `"Engineer"`)
	require.Contains(t, string(l.Modified), `"Lead"`)

	// Manager cleared; group members changed.
	w.modify(bob, func(m *ldap.ModifyRequest) { m.Delete("manager", nil) })
	w.modify("cn=eng,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("member", []string{bob, carol}) })
	tick()
	rep = w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	us = w.users()
	require.Empty(t, manager(us["robert"]), "the manager was cleared")
	require.ElementsMatch(t, []string{"robert", "carol"}, memberNames(w.groups()["eng"], us))

	// A hard delete at the source is seen by the next full read.
	require.NoError(t, w.ldap.Del(ldap.NewDelRequest(carol, nil)))
	w.modify("cn=eng,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("member", []string{bob}) })
	tick()
	rep = w.run(engine.RunOptions{Initial: true})
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	require.EqualValues(t, 1, rep.Stats.Deleted, "%+v", rep.Stats)
	us = w.users()
	require.NotContains(t, us, "carol")
	require.ElementsMatch(t, []string{"robert"}, memberNames(w.groups()["eng"], us))
	var del store.ProvisionLog
	for _, l := range w.logs(rep.Cycle) {
		if l.Action == engine.ActionDelete {
			del = l
		}
	}
	require.Equal(t, engine.StatusSuccess, del.Status)
}

func TestAssignedScope(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { testAssignedScope(t, newWorldOn(t, backend)) })
	}
}

func testAssignedScope(t *testing.T, w *world) {
	alice := w.addUser("alice", nil)
	bob := w.addUser("bob", nil)
	dora := w.addUser("dora", nil)
	w.addUser("eve", nil) // in no group
	w.addGroup("app-users", alice, bob)
	w.addGroup("app-guests", dora)
	w.apply(`scope: assigned
assignments:
  - {group: app-users, role: User}
  - {group: app-guests, role: Default Access}
`)
	rep := w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	us := w.users()
	require.Len(t, us, 2, "only alice and bob are effectively entitled")
	require.Contains(t, us, "alice")
	require.Contains(t, us, "bob")
	l := w.outcome(rep.Cycle, "dora")
	require.Equal(t, engine.StatusSkipped, l.Status)
	require.Contains(t, strings.ToLower(l.Reason), "default access")
	l = w.outcome(rep.Cycle, "eve")
	require.Equal(t, engine.StatusSkipped, l.Status)
	gs := w.groups()
	require.Contains(t, gs, "app-users", "an assigned group is provisioned")
	require.ElementsMatch(t, []string{"alice", "bob"}, memberNames(gs["app-users"], us))

	// Unassigned: disabled, not deleted.
	w.modify("cn=app-users,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("member", []string{alice}) })
	tick()
	rep = w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	require.EqualValues(t, 1, rep.Stats.Disabled, "%+v", rep.Stats)
	us = w.users()
	require.Equal(t, false, us["bob"]["active"])
	require.Equal(t, true, us["alice"]["active"])
	require.Equal(t, engine.ActionDisable, w.outcome(rep.Cycle, "bob").Action)

	// Assigned again: enabled again.
	w.modify("cn=app-users,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("member", []string{alice, bob}) })
	tick()
	rep = w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	us = w.users()
	require.Equal(t, true, us["bob"]["active"])
	require.Len(t, us, 2)
}

func TestMatchingOutcomes(t *testing.T) {
	w := newWorld(t)
	// A target user that already exists is linked, not created again.
	_, err := w.client.Create(context.Background(), scimclient.Users, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "alice", "title": "Old"})
	require.NoError(t, err)
	w.addUser("alice", map[string][]string{"title": {"New"}})
	// Two source users with the same uid (in different ous).
	w.addUser("twin", nil)
	other := "ou=other," + w.base
	require.NoError(t, w.ldap.Add(slapdtest.Entry(other, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"other"}})))
	require.NoError(t, w.ldap.Add(slapdtest.Entry("uid=twin,"+other, map[string][]string{
		"objectClass": {"inetOrgPerson"}, "uid": {"twin"}, "cn": {"Twin Two"}, "sn": {"Two"}})))
	// A user without a uid: no matching value.
	require.NoError(t, w.ldap.Add(slapdtest.Entry("cn=nouid,"+w.base, map[string][]string{
		"objectClass": {"inetOrgPerson"}, "cn": {"nouid"}, "sn": {"None"}})))
	w.apply("scope: all\n")

	rep := w.run(engine.RunOptions{})
	us := w.users()
	require.Equal(t, "New", us["alice"]["title"], "the matched user was updated")
	require.EqualValues(t, 1, rep.Stats.Linked, "%+v", rep.Stats)
	require.Contains(t, us, "twin")
	var codes []string
	for _, l := range w.logs(rep.Cycle) {
		if l.Status == engine.StatusFailure {
			codes = append(codes, l.ErrorCode)
		}
	}
	require.ElementsMatch(t, []string{"DuplicateSourceEntries", "MissingMatchingValue"}, codes)
	l := w.outcome(rep.Cycle, "alice")
	require.Contains(t, string(l.Steps), "matched target object")

	// Matching by a non-unique attribute finds two target users.
	_, err = w.client.Create(context.Background(), scimclient.Users, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "x1", "displayName": "Same Name"})
	require.NoError(t, err)
	_, err = w.client.Create(context.Background(), scimclient.Users, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "x2", "displayName": "Same Name"})
	require.NoError(t, err)
	w.addUser("samename", map[string][]string{"displayName": {"Same Name"}})
	w.apply(`scope: all
mappings:
  users:
    - {target: displayName, source: displayName, matching: true, precedence: 1}
    - {target: userName, source: uid}
`)
	rep = w.run(engine.RunOptions{})
	l = w.outcome(rep.Cycle, "samename")
	require.Equal(t, engine.StatusFailure, l.Status)
	require.Equal(t, "DuplicateTargetEntries", l.ErrorCode)
}

func TestScopingFilterAndDryRun(t *testing.T) {
	w := newWorld(t)
	w.addUser("sam", map[string][]string{"departmentNumber": {"Sales"}})
	eng := w.addUser("erin", map[string][]string{"departmentNumber": {"Engineering"}})
	w.apply(`scope: all
scopingFilters:
  users:
    - clauses:
        - {attribute: departmentNumber, operator: EQUALS, value: Sales}
    - clauses:
        - {attribute: departmentNumber, operator: EQUALS, value: Support}
`)
	// A dry run sends nothing and logs what it would do.
	rep := w.run(engine.RunOptions{DryRun: true})
	require.True(t, rep.DryRun)
	require.Empty(t, w.users(), "a dry run creates nothing")
	l := w.outcome(rep.Cycle, "sam")
	require.Equal(t, engine.ActionCreate, l.Action)
	require.Equal(t, "DryRun", l.ErrorCode)
	j, err := w.jobs.Get(context.Background(), "e2e")
	require.NoError(t, err)
	require.True(t, j.NeedsInitial, "a dry run does not count as the initial cycle")

	rep = w.run(engine.RunOptions{})
	us := w.users()
	require.Len(t, us, 1)
	require.Contains(t, us, "sam")
	require.Equal(t, engine.StatusSkipped, w.outcome(rep.Cycle, "erin").Status)

	// Moving into scope provisions; moving out disables.
	w.modify(eng, func(m *ldap.ModifyRequest) { m.Replace("departmentNumber", []string{"Support"}) })
	w.modify("uid=sam,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("departmentNumber", []string{"Marketing"}) })
	tick()
	rep = w.run(engine.RunOptions{})
	us = w.users()
	require.Equal(t, true, us["erin"]["active"])
	require.Equal(t, false, us["sam"]["active"])
	require.EqualValues(t, 1, rep.Stats.Disabled)
}

// TestAdoptOn409 matches by externalId, which the target's existing user
// lacks: the create clashes on userName. Without adoptOn409 that is a
// failure; with it the existing user is linked and updated.
func TestAdoptOn409(t *testing.T) {
	w := newWorld(t)
	_, err := w.client.Create(context.Background(), scimclient.Users, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "adoptee"})
	require.NoError(t, err)
	w.addUser("adoptee", nil)
	mappings := `mappings:
  users:
    - {target: externalId, source: entryUUID, matching: true, precedence: 1}
    - {target: userName, source: uid}
    - {target: title, kind: Constant, value: Adopted}
`
	w.apply("scope: all\n" + mappings)
	rep := w.run(engine.RunOptions{})
	l := w.outcome(rep.Cycle, "adoptee")
	require.Equal(t, engine.StatusFailure, l.Status)
	require.Equal(t, "HTTP409", l.ErrorCode)

	w.apply("scope: all\nactions: {adoptOn409: true}\n" + mappings)
	rep = w.run(engine.RunOptions{})
	l = w.outcome(rep.Cycle, "adoptee")
	require.Equal(t, engine.StatusSuccess, l.Status, "%+v", l)
	require.Contains(t, string(l.Steps), "adopted")
	u := w.users()["adoptee"]
	require.Equal(t, "Adopted", u["title"])
	require.NotEmpty(t, u["externalId"])
	require.Len(t, w.users(), 1)
}

// TestDeprovisionByDelete deletes, rather than disables, a user that
// leaves the scope when the job says so, and a group that is unassigned.
func TestDeprovisionByDelete(t *testing.T) {
	w := newWorld(t)
	alice := w.addUser("alice", nil)
	bob := w.addUser("bob", nil)
	w.addGroup("app-users", alice, bob)
	w.addGroup("app-admins", alice)
	w.apply(`scope: assigned
assignments: [{group: app-users}, {group: app-admins, role: Admin}]
actions: {deprovision: delete}
`)
	rep := w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	require.Len(t, w.users(), 2)
	require.Len(t, w.groups(), 2)

	w.modify("cn=app-users,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("member", []string{alice}) })
	w.apply(`scope: assigned
assignments: [{group: app-users}]
actions: {deprovision: delete}
`)
	tick()
	rep = w.run(engine.RunOptions{})
	require.Zero(t, rep.Stats.Failed, "%+v", w.logs(rep.Cycle))
	require.EqualValues(t, 2, rep.Stats.Deleted, "bob and the unassigned group: %+v", rep.Stats)
	require.NotContains(t, w.users(), "bob")
	require.NotContains(t, w.groups(), "app-admins")
	require.Contains(t, w.groups(), "app-users")
	require.Equal(t, engine.ActionDelete, w.outcome(rep.Cycle, "bob").Action)
	_ = bob
}

// TestOneCyclePerJob runs the same job from two engines (two nodes) at
// once: the second is refused with ErrBusy while the first holds the
// job's lease, and runs once the first is done.
func TestOneCyclePerJob(t *testing.T) {
	w := newWorld(t)
	for i := range 40 {
		w.addUser(fmt.Sprintf("user%02d", i), nil)
	}
	// 40 creates at 40 per second: the first cycle takes about a second.
	w.apply("scope: all\n")
	j, err := w.jobs.Get(context.Background(), "e2e")
	require.NoError(t, err)
	j.Target.RequestsPerSecond = 40
	_, _, err = w.jobs.Apply(context.Background(), j, "test")
	require.NoError(t, err)

	nodeA := engine.New(engine.Config{Store: w.st, Holder: "node-a"})
	nodeB := engine.New(engine.Config{Store: w.st, Holder: "node-b"})
	done := make(chan error, 1)
	go func() {
		_, err := nodeA.Run(context.Background(), "e2e", engine.RunOptions{})
		done <- err
	}()
	require.Eventually(t, func() bool { return len(w.list("/Users")) > 0 }, 10*time.Second, 10*time.Millisecond)
	_, err = nodeB.Run(context.Background(), "e2e", engine.RunOptions{})
	require.ErrorIs(t, err, engine.ErrBusy)
	require.NoError(t, <-done)
	rep, err := nodeB.Run(context.Background(), "e2e", engine.RunOptions{})
	require.NoError(t, err, "the lease is released at the end of a cycle")
	require.Zero(t, rep.Stats.Created+rep.Stats.Failed)
	require.Len(t, w.users(), 40)
}

// TestDeletionThreshold: a cycle whose disables exceed the job's threshold
// sends none, logs them as StagedDelete and pauses the job; AllowDeletes
// sends exactly those; a cycle within the threshold sends its own.
func TestDeletionThreshold(t *testing.T) {
	w := newWorld(t)
	var dns []string
	for _, uid := range []string{"u1", "u2", "u3", "u4", "u5"} {
		dns = append(dns, w.addUser(uid, nil))
	}
	w.addGroup("app-users", dns...)
	w.apply("scope: assigned\nassignments: [{group: app-users}]\ndeletionThreshold: {count: 2}\n")
	rep := w.run(engine.RunOptions{})
	require.EqualValues(t, 6, rep.Stats.Created, "%+v", rep.Stats)

	// Three users leave the assignment: one more than the threshold.
	w.modify("cn=app-users,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("member", dns[:2]) })
	tick()
	rep = w.run(engine.RunOptions{})
	require.Equal(t, 3, rep.Held)
	require.Zero(t, rep.Stats.Disabled)
	for _, u := range []string{"u3", "u4", "u5"} {
		require.Equal(t, true, w.users()[u]["active"], "%s not disabled while held", u)
		l := w.outcome(rep.Cycle, u)
		require.Equal(t, "StagedDelete", l.ErrorCode)
		require.Equal(t, engine.ActionDisable, l.Action)
	}
	j, err := w.jobs.Get(context.Background(), "e2e")
	require.NoError(t, err)
	require.Equal(t, job.StatusPaused, j.Status, "the job stops with the reason")

	// Another cycle meanwhile does not send them either, nor hold them twice.
	rep = w.run(engine.RunOptions{})
	require.Equal(t, 3, rep.Held)
	held, err := w.eng.Held(context.Background(), "e2e")
	require.NoError(t, err)
	require.Len(t, held, 3)

	rep, err = w.eng.AllowDeletes(context.Background(), "e2e", "test:admin")
	require.NoError(t, err)
	require.EqualValues(t, 3, rep.Stats.Disabled, "%+v", rep.Stats)
	for _, u := range []string{"u3", "u4", "u5"} {
		require.Equal(t, false, w.users()[u]["active"], u)
	}
	held, err = w.eng.Held(context.Background(), "e2e")
	require.NoError(t, err)
	require.Empty(t, held)
	_, err = w.eng.AllowDeletes(context.Background(), "e2e", "test:admin")
	require.ErrorIs(t, err, engine.ErrNothingHeld)

	// Within the threshold: sent at once.
	w.modify("cn=app-users,"+w.base, func(m *ldap.ModifyRequest) { m.Replace("member", dns[:1]) })
	tick()
	rep = w.run(engine.RunOptions{})
	require.Zero(t, rep.Held)
	require.EqualValues(t, 1, rep.Stats.Disabled)
	require.Equal(t, false, w.users()["u2"]["active"])
	evs, err := w.st.Audit().List(context.Background(), store.AuditQuery{})
	require.NoError(t, err)
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action+" "+e.Actor)
	}
	require.Contains(t, actions, "job.allow-deletes test:admin")
}

// TestCycleThatCannotStart: a job whose source cannot be opened gets a
// Failed cycle saying why, and its next run one interval away.
func TestCycleThatCannotStart(t *testing.T) {
	w := newWorld(t)
	w.apply("scope: all\n")
	eng := engine.New(engine.Config{Store: w.st, OpenSource: func(job.Source) (source.Source, error) {
		return nil, errors.New("no such directory")
	}})
	rep, err := eng.Run(context.Background(), "e2e", engine.RunOptions{})
	require.ErrorContains(t, err, "no such directory")
	require.Equal(t, engine.CycleFailed, rep.Status)
	c, err := w.st.Provisioning().Cycle(context.Background(), rep.Cycle)
	require.NoError(t, err)
	require.Contains(t, c.Error, "no such directory")
	st, err := w.st.Provisioning().State(context.Background(), "e2e")
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(40*time.Minute), st.NextRun, time.Minute)
}

// TestProvisionOnDemand provisions one user and one group now, with each
// step's outcome, leaving the job's schedule and watermarks alone.
func TestProvisionOnDemand(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	alice := w.addUser("alice", map[string][]string{"title": {"Engineer"}})
	bob := w.addUser("bob", nil)
	carol := w.addUser("carol", nil)
	group := w.addGroup("app-users", alice, carol)
	w.apply("scope: assigned\nassignments: [{group: app-users}]\n")
	anchor := func(dn string) string {
		t.Helper()
		res, err := w.ldap.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"entryUUID"}, nil))
		require.NoError(t, err)
		return res.Entries[0].GetAttributeValue("entryUUID")
	}

	rep, logs, err := w.eng.ProvisionOnDemand(ctx, "e2e", source.User, anchor(alice))
	require.NoError(t, err)
	require.Len(t, logs, 1)
	require.Equal(t, engine.ActionCreate, logs[0].Action)
	require.Equal(t, engine.StatusSuccess, logs[0].Status)
	require.Contains(t, string(logs[0].Steps), `"step":"Scope"`)
	require.Contains(t, string(logs[0].Modified), "Engineer")
	require.Equal(t, "Engineer", w.users()["alice"]["title"])
	require.EqualValues(t, 1, rep.Stats.Created)

	// Out of scope: the answer says why, and nothing is sent.
	_, logs, err = w.eng.ProvisionOnDemand(ctx, "e2e", source.User, anchor(bob))
	require.NoError(t, err)
	require.Len(t, logs, 1)
	require.Equal(t, engine.StatusSkipped, logs[0].Status)
	require.Contains(t, logs[0].Reason, "not assigned")
	require.NotContains(t, w.users(), "bob")

	// Again: up to date, still answered.
	_, logs, err = w.eng.ProvisionOnDemand(ctx, "e2e", source.User, anchor(alice))
	require.NoError(t, err)
	require.Len(t, logs, 1)
	require.Contains(t, logs[0].Reason, "up to date")

	// A group, with its members.
	_, logs, err = w.eng.ProvisionOnDemand(ctx, "e2e", source.Group, anchor(group))
	require.NoError(t, err)
	require.Len(t, logs, 3, "carol, alice (up to date) and the group")
	us := w.users()
	require.ElementsMatch(t, []string{"alice", "carol"}, memberNames(w.groups()["app-users"], us))

	// Unknown anchor: an error, nothing sent.
	_, _, err = w.eng.ProvisionOnDemand(ctx, "e2e", source.User, "00000000-1111-2222-3333-444444444444")
	require.ErrorIs(t, err, source.ErrNotFound)

	j, err := w.jobs.Get(ctx, "e2e")
	require.NoError(t, err)
	require.True(t, j.NeedsInitial, "on demand is not the initial cycle")
	st, err := w.st.Provisioning().State(ctx, "e2e")
	require.NoError(t, err)
	require.True(t, st.NextRun.IsZero(), "the schedule is left alone")
	require.Empty(t, st.Watermarks)
}
