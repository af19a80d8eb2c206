package ldapsource_test

import (
	"os"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source/ldapsource/slapdtest"
)

// The test directory: one real slapd per test package (see
// docs/provisioning.md), each test working under its own ou below the
// suffix.
const (
	suffix = slapdtest.Suffix
	rootDN = slapdtest.RootDN
	rootPW = slapdtest.RootPW
)

// server is the package's slapd: its URL, or why there is none.
var server struct {
	url  string
	skip string
}

func TestMain(m *testing.M) {
	srv, err := slapdtest.Start()
	if err != nil {
		server.skip = err.Error()
	} else {
		server.url = srv.URL
	}
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

// needSlapd skips the test without a server.
func needSlapd(t *testing.T) string {
	t.Helper()
	if server.skip != "" {
		t.Skip(server.skip)
	}
	return server.url
}

var (
	entry    = slapdtest.Entry
	freePort = slapdtest.FreePort
)

// admin connects as the root DN; the connection is closed at cleanup.
func admin(t *testing.T) *ldap.Conn {
	t.Helper()
	return slapdtest.Admin(t, needSlapd(t))
}
