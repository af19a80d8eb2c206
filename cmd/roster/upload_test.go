package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestJobUploadCLI drives the push job's CLI contract against a running
// `roster serve`: push-token, upload --validate (problems listed, exit 1,
// nothing sent), upload --url through the inbound endpoint, a cycle that
// provisions the records, and an --authoritative upload into the local
// database that deprovisions the one record the file left out.
func TestJobUploadCLI(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "roster.db")
	s := start(t, db)
	root, _, _ := strings.Cut(s.tenantURL, "/scim/")
	t.Setenv("ROSTER_TEST_APP_TOKEN", bootstrapToken)
	doc := fmt.Sprintf("name: hr\nscope: all\nsource: {type: push}\ntarget: {url: %s, token: '${ROSTER_TEST_APP_TOKEN}'}\n", s.tenantURL)
	file := filepath.Join(dir, "hr.yaml")
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o600))
	cli(t, 0, "", "job", "apply", "-f", file, "--db", db)

	var tok struct{ Token, Endpoint string }
	cliJSON(t, &tok, "job", "push-token", "hr", "--db", db)
	require.True(t, strings.HasPrefix(tok.Token, "roster_pt_"), tok.Token)
	require.Contains(t, tok.Endpoint, "/provisioning/jobs/hr/bulkUpload")

	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	bad := write("bad.csv", "EmployeeID,UserName,Active,Shoe\n,a@x,true,1\nE2,b@x,maybe,2\nE3,c@x,true,3\nE3,d@x,true,4\n")
	out := cli(t, 1, "", "job", "upload", "hr", bad, "--validate", "--db", db)
	for _, want := range []string{"line 1, column Shoe: unknown column", "line 2, column EmployeeID: no externalId",
		`line 3, column Active: "maybe" is not a boolean`, `line 5, column EmployeeID: externalId "E3" is also on line 4`} {
		require.Contains(t, out, want)
	}
	cli(t, 1, "", "job", "upload", "hr", bad, "--url", root, "--token", tok.Token, "--db", db)
	require.Empty(t, listUsers(t, s.tenantURL))

	good := write("good.csv", "EmployeeID,UserName,FirstName,LastName,Active\nE1,alice,Alice,Archer,true\nE2,bob,Bob,Baker,true\nE3,carol,Carol,Cole,true\n")
	require.Contains(t, cli(t, 0, "", "job", "upload", "hr", good, "--validate", "--db", db), "3 records, no problems")
	require.Contains(t, cliErr(t, 2, "job", "upload", "hr", good, "--url", root), "--token")
	require.Contains(t, cliErr(t, 1, "job", "upload", "hr", good, "--url", root, "--token", "roster_pt_wrong"), "401")
	out = cli(t, 0, "", "job", "upload", "hr", good, "--url", root, "--token", tok.Token, "--db", db)
	require.Contains(t, out, "Sent 3 records to job hr in 1 requests: 3 accepted, 0 rejected.")
	require.Contains(t, out, "/admin/api/jobs/hr/logs?since=")

	type report struct {
		Stats struct{ Created, Deleted, Failed int64 }
	}
	var rep report
	cliJSON(t, &rep, "job", "run", "hr", "--once", "--db", db)
	require.EqualValues(t, 3, rep.Stats.Created, "%+v", rep)
	require.ElementsMatch(t, []string{"alice", "bob", "carol"}, listUsers(t, s.tenantURL))

	// Without --authoritative a shorter file deletes nothing; with it, the
	// record it leaves out is deprovisioned.
	short := write("short.csv", "EmployeeID,UserName\nE1,alice\nE2,bob\n")
	cli(t, 0, "", "job", "upload", "hr", short, "--db", db)
	cliJSON(t, &rep, "job", "run", "hr", "--once", "--db", db)
	require.Zero(t, rep.Stats.Deleted)
	require.Len(t, listUsers(t, s.tenantURL), 3)
	out = cli(t, 0, "", "job", "upload", "hr", short, "--authoritative", "--db", db)
	require.Contains(t, out, "Marked 1 records absent from the file deleted")
	cliJSON(t, &rep, "job", "run", "hr", "--once", "--db", db)
	require.EqualValues(t, 1, rep.Stats.Deleted, "%+v", rep)
	require.ElementsMatch(t, []string{"alice", "bob"}, listUsers(t, s.tenantURL))
}
