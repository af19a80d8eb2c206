// Package slapdtest starts a real OpenLDAP slapd for tests: Debian's
// slapd package, a static configuration (mdb with dbnosync, the memberof
// and syncprov overlays, and a small Active-Directory-like schema, see
// ADSchema), on a free loopback port, in a temporary directory, stopped by
// its PID. Tests that need a directory start one per
// package in TestMain and skip, with the message Skip returns, where slapd
// is not installed. Runtime code never imports it.
package slapdtest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The directory's suffix and root credentials.
const (
	Suffix  = "dc=example,dc=com"
	RootDN  = "cn=admin,dc=example,dc=com"
	RootPW  = "secret"
	NoSlapd = "slapd not installed: apt-get install slapd ldap-utils; .ci/run installs it"
	suffix  = Suffix
	rootDN  = RootDN
	rootPW  = RootPW
)

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:PORT.
	URL  string
	stop func()
}

// Stop stops the server by its PID and removes its directory.
func (s *Server) Stop() {
	if s != nil && s.stop != nil {
		s.stop()
	}
}

// ADSchema is an Active-Directory-like schema for tests of the AD code
// paths (uSNChanged deltas, objectGUID anchors, tombstones). Debian's
// msuser.schema has the AD attributes but no matching rules, so no filter
// on them matches; this one has the AD OIDs where AD has them and the
// rules the source's filters need: uSNChanged orders (integerMatch,
// integerOrderingMatch) so that (uSNChanged>=n) works. user and group are
// auxiliary classes here (structural in AD), added to inetOrgPerson and
// groupOfNames entries. slapd does not maintain any of it: a test plays
// the domain controller and writes uSNChanged itself.
//
// AD computes highestCommittedUSN, dsServiceName and defaultNamingContext
// in its rootDSE, which no client can write, so a test keeps them in an
// ordinary entry of class adLiteDSE (attribute types under the example
// enterprise arc 1.3.6.1.4.1.32473, RFC 5612) and points
// ldapsource.Options.DSEEntry at it; the DC's invocationId lives, as in
// AD, on the entry dsServiceName names (class adLiteDSA).
const ADSchema = `attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID'
	EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.120 NAME 'uSNChanged'
	EQUALITY integerMatch ORDERING integerOrderingMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.19 NAME 'uSNCreated'
	EQUALITY integerMatch ORDERING integerOrderingMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
	EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.48 NAME 'isDeleted'
	EQUALITY booleanMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.781 NAME 'lastKnownParent'
	EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.115 NAME 'invocationId'
	EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.1.1.1 NAME 'highestCommittedUSN'
	EQUALITY integerMatch ORDERING integerOrderingMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.1.1.2 NAME 'dsServiceName'
	EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.1.1.3 NAME 'defaultNamingContext'
	EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' AUXILIARY
	MAY ( objectGUID $ uSNChanged $ uSNCreated $ userAccountControl $ sAMAccountName $
		userPrincipalName $ isDeleted $ lastKnownParent ) )
objectclass ( 1.2.840.113556.1.5.8 NAME 'group' AUXILIARY
	MAY ( objectGUID $ uSNChanged $ uSNCreated $ sAMAccountName $ isDeleted $ lastKnownParent ) )
objectclass ( 1.3.6.1.4.1.32473.1.2.1 NAME 'adLiteDSE' STRUCTURAL
	MUST cn MAY ( highestCommittedUSN $ dsServiceName $ defaultNamingContext ) )
objectclass ( 1.3.6.1.4.1.32473.1.2.2 NAME 'adLiteDSA' STRUCTURAL
	MUST cn MAY invocationId )
`

// rootDSE adds AD's Show Deleted control (1.2.840.113556.1.4.417) to the
// controls the rootDSE advertises, so that the AD delta reads tombstones.
// slapd does not implement it; sent non-critical, as go-ldap sends it, it
// is ignored, and a test keeps its "tombstones" (entries with isDeleted
// TRUE) where AD would, under CN=Deleted Objects of the naming context.
const rootDSE = `dn:
supportedControl: 1.2.840.113556.1.4.417
`

const slapdConf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include {dir}/ad-lite.schema
rootDSE {dir}/rootdse.ldif
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload syncprov
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
sizelimit unlimited
database mdb
maxsize 1073741824
suffix "` + suffix + `"
rootdn "` + rootDN + `"
rootpw ` + rootPW + `
directory {dir}/db
dbnosync
index objectClass eq
index uid,mail,sAMAccountName,userPrincipalName eq
index entryUUID,entryCSN,objectGUID eq
index uSNChanged eq
overlay memberof
overlay syncprov
{sessionlog}`

// Start writes a static configuration into a temporary directory, starts
// slapd in the foreground on a free loopback port (as uid 65534 when the
// tests run as root, since slapd should not run as root and the directory
// is handed to that user), waits for a bind to succeed and adds the suffix
// entry. An error with the message NoSlapd means slapd is not installed.
// ROSTER_TEST_SLAPD names another slapd binary, as python-ldap's slapdtest
// honours SLAPD.
func Start() (*Server, error) { return StartWith(Config{SessionLog: 10000}) }

// Config varies the server Start configures.
type Config struct {
	// SessionLog is syncprov-sessionlog, the deletes syncprov remembers
	// to report them by entryUUID; 0 configures none, so that a content
	// synchronisation with a cookie answers with the present phase.
	SessionLog int
}

// StartWith is Start with another configuration.
func StartWith(cfg Config) (*Server, error) {
	slapdBin := cmp.Or(os.Getenv("ROSTER_TEST_SLAPD"), "/usr/sbin/slapd")
	if _, err := os.Stat(slapdBin); err != nil {
		return nil, errors.New(NoSlapd)
	}
	dir, err := os.MkdirTemp("", "roster-slapd-")
	if err != nil {
		return nil, fmt.Errorf("slapd temp dir: %w", err)
	}
	fail := func(err error) (*Server, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		return fail(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	files := []struct{ name, text string }{
		{conf, strings.NewReplacer("{dir}", dir, "{sessionlog}", sessionLog(cfg.SessionLog)).Replace(slapdConf)},
		{filepath.Join(dir, "ad-lite.schema"), ADSchema},
		{filepath.Join(dir, "rootdse.ldif"), rootDSE},
	}
	for _, f := range files {
		if err := os.WriteFile(f.name, []byte(f.text), 0o600); err != nil {
			return fail(err)
		}
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		for _, p := range []string{dir, filepath.Join(dir, "db"), conf, files[1].name, files[2].name} {
			if err := os.Chown(p, 65534, 65534); err != nil {
				return fail(fmt.Errorf("slapd temp dir: %w", err))
			}
		}
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	url := fmt.Sprintf("ldap://127.0.0.1:%d", port)
	var out bytes.Buffer
	cmd := exec.Command(slapdBin, "-d", "0", "-h", url+"/", "-f", conf)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("start slapd: %w", err))
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = os.RemoveAll(dir)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := ldap.DialURL(url)
		if err == nil {
			err = c.Bind(rootDN, rootPW)
			if err == nil {
				err = c.Add(Entry(suffix, map[string][]string{
					"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}}))
			}
			_ = c.Close()
			if err != nil {
				stop()
				return nil, fmt.Errorf("slapd at %s: %w", url, err)
			}
			return &Server{URL: url, stop: stop}, nil
		}
		select {
		case <-exited:
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("slapd exited at start (an AppArmor profile can forbid the temp dir): %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("slapd did not answer at %s within 15s: %s", url, out.String())
		}
	}
}

func sessionLog(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("syncprov-sessionlog %d\n", n)
}

// FreePort is freePort for tests that need an address nothing listens on.
func FreePort() (int, error) { return freePort() }

// freePort returns a loopback port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Entry builds an add request.
func Entry(dn string, attrs map[string][]string) *ldap.AddRequest {
	r := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		r.Attribute(k, v)
	}
	return r
}

// Admin connects to the server as the root DN; the connection is closed
// at cleanup.
func Admin(t testing.TB, url string) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(url)
	if err != nil {
		t.Fatalf("dial slapd: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Bind(RootDN, RootPW); err != nil {
		t.Fatalf("bind: %v", err)
	}
	return c
}
