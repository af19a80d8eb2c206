package main_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/source/ldapsource/slapdtest"
)

// TestJobRunCLI provisions a real slapd into a running `roster serve`
// through the CLI's contract: job apply, test-connection, run --once
// (dry run first), logs (JSON and CSV), cycles, links, start and the exit
// codes of a run that cannot run.
func TestJobRunCLI(t *testing.T) {
	srv, err := slapdtest.Start()
	if err != nil {
		t.Skip(err.Error())
	}
	t.Cleanup(srv.Stop)
	admin := slapdtest.Admin(t, srv.URL)
	base := "ou=cli," + slapdtest.Suffix
	require.NoError(t, admin.Add(slapdtest.Entry(base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"cli"}})))
	var dns []string
	for _, uid := range []string{"alice", "bob", "carol"} {
		dn := "uid=" + uid + "," + base
		dns = append(dns, dn)
		require.NoError(t, admin.Add(slapdtest.Entry(dn, map[string][]string{
			"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {uid}, "sn": {"Person"}, "mail": {uid + "@example.com"}})))
	}
	require.NoError(t, admin.Add(slapdtest.Entry("cn=app-users,"+base, map[string][]string{
		"objectClass": {"groupOfNames"}, "cn": {"app-users"}, "member": dns[:2]})))

	dir := t.TempDir()
	db := filepath.Join(dir, "roster.db")
	s := start(t, db)
	t.Setenv("ROSTER_TEST_LDAP_PASSWORD", slapdtest.RootPW)
	t.Setenv("ROSTER_TEST_APP_TOKEN", bootstrapToken)
	doc := fmt.Sprintf(`name: hr
source: {type: ldap, url: %s, bindDN: %q, bindPassword: '${ROSTER_TEST_LDAP_PASSWORD}', baseDN: %q}
target: {url: %s, token: '${ROSTER_TEST_APP_TOKEN}'}
scope: assigned
assignments: [{group: app-users, role: User}]
`, srv.URL, slapdtest.RootDN, base, s.tenantURL)
	file := filepath.Join(dir, "hr.yaml")
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o600))
	cli(t, 0, "", "job", "apply", "-f", file, "--db", db)

	var conn struct {
		Source, Target struct {
			OK      bool   `json:"ok"`
			Cause   string `json:"cause"`
			Message string `json:"message"`
		}
	}
	cliJSON(t, &conn, "job", "test-connection", "hr", "--db", db)
	require.True(t, conn.Source.OK, "%+v", conn)
	require.True(t, conn.Target.OK, "%+v", conn)

	type report struct {
		Cycle   string
		Initial bool
		DryRun  bool
		Status  string
		Stats   struct{ Created, Skipped, Failed int64 }
	}
	var rep report
	cliJSON(t, &rep, "job", "run", "hr", "--once", "--dry-run", "--db", db)
	require.True(t, rep.DryRun)
	require.Equal(t, "Succeeded", rep.Status)
	require.Equal(t, 0, len(listUsers(t, s.tenantURL)), "a dry run sends nothing")

	cliJSON(t, &rep, "job", "run", "hr", "--once", "--db", db)
	require.True(t, rep.Initial)
	require.EqualValues(t, 3, rep.Stats.Created, "alice, bob and the group: %+v", rep)
	require.Zero(t, rep.Stats.Failed)
	require.ElementsMatch(t, []string{"alice", "bob"}, listUsers(t, s.tenantURL))

	out := cli(t, 0, "", "job", "logs", "hr", "--cycle", rep.Cycle, "--db", db, "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, "seq", rows[0][0])
	actions := map[string]string{}
	for _, r := range rows[1:] {
		actions[r[6]] = r[8] + "/" + r[9] // sourceName → action/status
	}
	require.Equal(t, "Create/Success", actions["alice"])
	require.Equal(t, "Other/Skipped", actions["carol"], "not assigned")
	var failures []map[string]any
	cliJSON(t, &failures, "job", "logs", "hr", "--status", "Failure", "--db", db)
	require.Empty(t, failures)
	var cycles []map[string]any
	cliJSON(t, &cycles, "job", "cycles", "hr", "--db", db)
	require.Len(t, cycles, 2)
	show := cli(t, 0, "", "job", "show", "hr", "--db", db)
	require.Regexp(t, `Next run:\s+none \(the job is Off\)`, show)
	require.Regexp(t, `Last cycle:\s+`+rep.Cycle+`, initial, Succeeded`, show)
	var links []map[string]any
	cliJSON(t, &links, "job", "links", "hr", "--db", db)
	require.Len(t, links, 3)

	// A link is deleted only while the job is not On.
	anchor := ""
	for _, l := range links {
		if l["displayName"] == "alice" {
			anchor = l["sourceAnchor"].(string)
		}
	}
	require.NotEmpty(t, anchor)
	cli(t, 0, "", "job", "start", "hr", "--db", db)
	require.Contains(t, cliErr(t, 1, "job", "links", "hr", "--anchor", anchor, "--delete", "--db", db), "pause or stop it first")
	cli(t, 0, "", "job", "pause", "hr", "--db", db)
	cli(t, 0, "", "job", "links", "hr", "--anchor", anchor, "--delete", "--db", db)

	// The next cycle matches alice again instead of creating her twice.
	cliJSON(t, &rep, "job", "run", "hr", "--once", "--db", db)
	require.Zero(t, rep.Stats.Created+rep.Stats.Failed, "%+v", rep)
	require.ElementsMatch(t, []string{"alice", "bob"}, listUsers(t, s.tenantURL))

	// Provision on demand: carol is not assigned, and the answer says so.
	var carol string
	res, err := admin.Search(ldap.NewSearchRequest(dns[2], ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"entryUUID"}, nil))
	require.NoError(t, err)
	carol = res.Entries[0].GetAttributeValue("entryUUID")
	out = cli(t, 0, "", "job", "provision", "hr", "--user", carol, "--db", db)
	require.Contains(t, out, "carol")
	require.Contains(t, out, "Skipped")
	require.Contains(t, out, "Scope:")
	require.Contains(t, cliErr(t, 2, "job", "provision", "hr", "--db", db), "--user")

	// A run that cannot run exits 1 and says why.
	bad := strings.Replace(doc, "name: hr", "name: wrong-token", 1)
	bad = strings.Replace(bad, "'${ROSTER_TEST_APP_TOKEN}'", "not-the-token", 1)
	require.NoError(t, os.WriteFile(file, []byte(bad), 0o600))
	cli(t, 0, "", "job", "apply", "-f", file, "--db", db)
	out = cli(t, 1, "", "job", "test-connection", "wrong-token", "--db", db, "-o", "json")
	require.NoError(t, json.Unmarshal([]byte(out), &conn))
	require.True(t, conn.Source.OK)
	require.Equal(t, "credentials", conn.Target.Cause, "%+v", conn)
	require.Contains(t, cliErr(t, 1, "job", "test-connection", "wrong-token", "--db", db), "test connection failed")
	require.Contains(t, cliErr(t, 1, "job", "run", "wrong-token", "--once", "--db", db), "token")

	// The refused credentials quarantined the job; show says why and how
	// to clear it, the escrow is empty (no object is to blame), and a
	// restart clears the quarantine.
	show = cli(t, 0, "", "job", "show", "wrong-token", "--db", db)
	require.Regexp(t, `Quarantine:\s+EncounteredQuarantineException since .*, 1 cycles: target: `, show)
	require.Contains(t, show, "roster job restart wrong-token")
	var escrow []map[string]any
	cliJSON(t, &escrow, "job", "escrow", "wrong-token", "--db", db)
	require.Empty(t, escrow)
	require.Contains(t, cli(t, 0, "", "job", "restart", "wrong-token", "--db", db), "initial and due now")
	require.NotContains(t, cli(t, 0, "", "job", "show", "wrong-token", "--db", db), "Quarantine:")
	require.Contains(t, cliErr(t, 1, "job", "restart", "nope", "--db", db), "nope")
}

// listUsers returns the userNames a Tenant URL holds.
func listUsers(t *testing.T, tenantURL string) []string {
	t.Helper()
	code, body := scimCall(t, "GET", tenantURL+"/Users?count=100", bootstrapToken, "")
	require.Equal(t, 200, code)
	var names []string
	rs, _ := body["Resources"].([]any)
	for _, r := range rs {
		names = append(names, r.(map[string]any)["userName"].(string))
	}
	return names
}
