package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const jobDoc = `
name: hr-to-app
source:
  type: ldap
  url: ldaps://ldap.example.com
  bindDN: cn=roster,dc=example,dc=com
  bindPassword: ${ROSTER_TEST_LDAP_PASSWORD}
  baseDN: dc=example,dc=com
target:
  url: https://app.example.com/scim/v2
  token: ${ROSTER_TEST_APP_TOKEN}
mappings:
  users:
    - target: userName
      source: uid
      matching: true
    - target: displayName
      kind: Expression
      expression: Join(" ", [givenName], [sn])
`

// TestJobCommands drives roster job apply, list, show and delete, and
// checks that secrets from the environment are stored but never printed.
func TestJobCommands(t *testing.T) {
	t.Setenv("ROSTER_TEST_LDAP_PASSWORD", "ldap-pw-secret")
	t.Setenv("ROSTER_TEST_APP_TOKEN", "app-token-secret")
	dir := t.TempDir()
	db := filepath.Join(dir, "roster.db")
	file := filepath.Join(dir, "job.yaml")
	require.NoError(t, os.WriteFile(file, []byte(jobDoc), 0o600))

	var applied struct {
		Name         string `json:"name"`
		Applied      string `json:"applied"`
		Status       string `json:"status"`
		Revision     int64  `json:"revision"`
		NeedsInitial bool   `json:"needsInitial"`
		Source       struct {
			BindPassword string `json:"bindPassword"`
		} `json:"source"`
		Target struct {
			Token string `json:"token"`
		} `json:"target"`
	}
	cliJSON(t, &applied, "job", "apply", "-f", file, "--db", db)
	require.Equal(t, "hr-to-app", applied.Name)
	require.Equal(t, "created", applied.Applied)
	require.Equal(t, "Off", applied.Status)
	require.Equal(t, int64(1), applied.Revision)
	require.True(t, applied.NeedsInitial)
	require.Equal(t, "[redacted]", applied.Source.BindPassword)
	require.Equal(t, "[redacted]", applied.Target.Token)

	// From standard input, with a changed schedule: an update.
	out := cli(t, 0, jobDoc+"schedule: {interval: 1h}\n", "job", "apply", "-f", "-", "--db", db)
	require.Contains(t, out, "Applied job hr-to-app: updated (revision 2")

	var list []map[string]any
	cliJSON(t, &list, "job", "list", "--db", db)
	require.Len(t, list, 1)
	require.Equal(t, "hr-to-app", list[0]["name"])
	require.Equal(t, "1h0m0s", list[0]["schedule"].(map[string]any)["interval"])

	for _, args := range [][]string{
		{"job", "show", "hr-to-app", "--db", db},
		{"job", "show", "hr-to-app", "--db", db, "-o", "json"},
		{"job", "list", "--db", db},
		{"job", "list", "--db", db, "-o", "json"},
		{"audit", "--db", db, "-o", "json"},
	} {
		out := cli(t, 0, "", args...)
		require.NotContains(t, out, "ldap-pw-secret", "roster %s", strings.Join(args, " "))
		require.NotContains(t, out, "app-token-secret", "roster %s", strings.Join(args, " "))
	}
	show := cli(t, 0, "", "job", "show", "hr-to-app", "--db", db)
	require.Contains(t, show, "Bind password:  [redacted]")
	require.Contains(t, show, `Join(" ", [givenName], [sn])`)
	require.Contains(t, show, "Groups mappings (defaults):")
	require.NotContains(t, show, "Notifications:", "none set")

	// Notifications: shown by job show; a tenant that does not exist is
	// refused.
	cli(t, 0, jobDoc+"notifications: {emails: [ops@example.com, 'Ops Lead <lead@example.com>']}\n", "job", "apply", "-f", "-", "--db", db)
	show = cli(t, 0, "", "job", "show", "hr-to-app", "--db", db)
	require.Contains(t, show, "Notifications:")
	require.Contains(t, show, "ops@example.com, Ops Lead <lead@example.com>")
	noTenant := filepath.Join(dir, "no-tenant.yaml")
	require.NoError(t, os.WriteFile(noTenant, []byte(jobDoc+"notifications: {tenant: nosuch}\n"), 0o600))
	require.Contains(t, cliErr(t, 1, "job", "apply", "-f", noTenant, "--db", db), `notifications.tenant "nosuch": no such tenant`)

	// Refusals: an unset variable, an unknown key, a missing job, a
	// delete without its confirmation.
	os.Unsetenv("ROSTER_TEST_APP_TOKEN")
	require.Contains(t, cliErr(t, 2, "job", "apply", "-f", file, "--db", db), "target.token: environment variable ROSTER_TEST_APP_TOKEN is not set")
	t.Setenv("ROSTER_TEST_APP_TOKEN", "app-token-secret")
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(jobDoc+"schedul: 1h\n"), 0o600))
	require.Contains(t, cliErr(t, 2, "job", "apply", "-f", bad, "--db", db), "schedul: unknown key")
	readOnly := filepath.Join(dir, "read-only.yaml")
	require.NoError(t, os.WriteFile(readOnly, []byte(jobDoc+"    - target: id\n      source: entryUUID\n"), 0o600))
	require.Contains(t, cliErr(t, 2, "job", "apply", "-f", readOnly, "--db", db), `mappings.users[2] (target "id"): id is read-only`)
	cli(t, 1, "", "job", "show", "nope", "--db", db)
	cli(t, 2, "", "job", "delete", "hr-to-app", "--db", db)

	var deleted map[string]any
	cliJSON(t, &deleted, "job", "delete", "hr-to-app", "--confirm", "hr-to-app", "--db", db)
	require.Equal(t, true, deleted["deleted"])
	cliJSON(t, &list, "job", "list", "--db", db)
	require.Empty(t, list)
}

// cliErr runs a roster command that must exit with status want and returns
// what it wrote to stderr.
func cliErr(t *testing.T, want int, args ...string) string {
	t.Helper()
	cmd := exec.Command(roster(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	require.Equal(t, want, code, "roster %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), stdout.String(), stderr.String())
	return stderr.String()
}
