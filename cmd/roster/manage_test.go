package main_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cli runs a roster command and returns its stdout, failing the test unless
// it exits with status want.
func cli(t *testing.T, want int, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(roster(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
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
	return stdout.String()
}

// cliJSON runs a roster command with -o json and decodes what it prints.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := cli(t, 0, "", append(args, "-o", "json")...)
	require.NoError(t, json.Unmarshal([]byte(out), v), "%s", out)
}

// status sends a GET with a bearer token and returns the status code.
func status(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// TestCLIWhileServing manages tenants, tokens and admins with the CLI on
// the database a running `roster serve` uses, and shows each change take
// effect on the server's next request.
func TestCLIWhileServing(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "roster.db")
	srv := start(t, db)
	scimBase := strings.TrimSuffix(srv.tenantURL, "/default")

	var tn struct {
		Name      string `json:"name"`
		TenantURL string `json:"tenant_url"`
	}
	cliJSON(t, &tn, "tenant", "create", "acme", "--db", db)
	require.Equal(t, "acme", tn.Name)
	require.Equal(t, scimBase+"/acme", tn.TenantURL, "the CLI prints the URL the server recorded")
	cli(t, 1, "", "tenant", "create", "acme", "--db", db)
	cli(t, 1, "", "tenant", "create", "users", "--db", db)

	var tok struct {
		ID        string `json:"id"`
		Token     string `json:"token"`
		TenantURL string `json:"tenant_url"`
	}
	cliJSON(t, &tok, "token", "issue", "acme", "--label", "Entra", "--db", db)
	require.True(t, strings.HasPrefix(tok.Token, "roster_"))
	require.Equal(t, tn.TenantURL, tok.TenantURL)
	require.Equal(t, 200, status(t, tok.TenantURL+"/Users", tok.Token), "a token issued by the CLI works at once")
	require.Equal(t, 401, status(t, srv.tenantURL+"/Users", tok.Token), "but not for another tenant")

	var listed []map[string]any
	cliJSON(t, &listed, "token", "list", "acme", "--db", db)
	require.Len(t, listed, 1)
	require.Equal(t, tok.ID, listed[0]["id"])
	require.NotContains(t, listed[0], "token")
	require.Contains(t, cli(t, 0, "", "token", "list", "acme", "--db", db), "Entra")

	cli(t, 0, "", "tenant", "disable", "acme", "--db", db)
	require.Equal(t, 403, status(t, tok.TenantURL+"/Users", tok.Token), "disabled on the next request")
	cli(t, 0, "", "tenant", "enable", "acme", "--db", db)
	require.Equal(t, 200, status(t, tok.TenantURL+"/Users", tok.Token))

	var set struct {
		StorePasswords string `json:"store_passwords"`
	}
	cliJSON(t, &set, "tenant", "set", "acme", "--store-passwords", "none", "--db", db)
	require.Equal(t, "none", set.StorePasswords)
	cli(t, 1, "", "tenant", "set", "acme", "--store-passwords", "clear", "--db", db)

	cli(t, 0, "", "token", "revoke", "acme", tok.ID, "--db", db)
	require.Equal(t, 401, status(t, tok.TenantURL+"/Users", tok.Token), "revoked on the next request")

	// JWTs: Roster keeps an HS256 secret and mints tokens for the shared URL.
	cli(t, 0, "", "tenant", "jwt", "acme", "--alg", "HS256", "--aud", "roster", "--db", db)
	var minted struct {
		Token string `json:"token"`
	}
	cliJSON(t, &minted, "token", "issue", "acme", "--jwt", "--ttl", "1h", "--db", db)
	require.Equal(t, 200, status(t, scimBase+"/Users", minted.Token))

	// Admins: the first super admin is made with the CLI.
	cli(t, 0, "a long enough password\n", "admin", "create", "root", "--password-stdin", "--db", db)
	cli(t, 1, "short\n", "admin", "create", "weak", "--password-stdin", "--db", db)
	var admins []map[string]any
	cliJSON(t, &admins, "admin", "list", "--db", db)
	require.Len(t, admins, 1)
	require.Equal(t, "super_admin", admins[0]["role"])
	base := strings.TrimSuffix(scimBase, "/scim/v2")
	login := func(pw string) int {
		res, err := http.Post(base+"/admin/api/login", "application/json", strings.NewReader(`{"name":"root","password":"`+pw+`"}`))
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, 200, login("a long enough password"))
	cli(t, 0, "another long password\n", "admin", "passwd", "root", "--password-stdin", "--db", db)
	require.Equal(t, 401, login("a long enough password"))
	require.Equal(t, 200, login("another long password"))

	cli(t, 2, "", "tenant", "delete", "acme", "--db", db)
	cli(t, 1, "", "tenant", "delete", "acme", "--confirm", "acm", "--db", db)
	cli(t, 0, "", "tenant", "delete", "acme", "--confirm", "acme", "--db", db)
	require.Equal(t, 401, status(t, scimBase+"/Users", minted.Token))

	var events []map[string]any
	cliJSON(t, &events, "audit", "--tenant", "acme", "--db", db)
	var actions []string
	for _, e := range events {
		require.True(t, strings.HasPrefix(e["actor"].(string), "cli:"), "%v", e)
		actions = append(actions, e["action"].(string))
	}
	require.Equal(t, []string{"tenant.create", "token.issue", "tenant.disable", "tenant.enable", "tenant.store_passwords", "token.revoke",
		"tenant.jwt.configure", "jwt.mint", "tenant.delete"}, actions)
}

// TestServeTLS serves HTTPS with a certificate made in the test.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	srv := start(t, filepath.Join(dir, "roster.db"), "--tls-cert", certFile, "--tls-key", keyFile)
	require.True(t, strings.HasPrefix(srv.tenantURL, "https://127.0.0.1:"), srv.tenantURL)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, body, err := do(ctx, client, "GET", srv.tenantURL+"/Users?count=1", "")
	require.NoError(t, err)
	require.Equal(t, 200, code, "%v", body)

	plain := strings.Replace(srv.tenantURL, "https://", "http://", 1)
	res, err := http.Get(plain + "/Users")
	if err == nil {
		res.Body.Close()
		require.Equal(t, http.StatusBadRequest, res.StatusCode, "plain HTTP to the TLS port is refused")
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// files and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "roster test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
