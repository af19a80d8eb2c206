package scimhttp_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/tenant"
)

// bearer returns the header arguments of e.do for a token.
func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// TestSecretTokenLifecycle shows rotation without downtime, revocation on
// the very next request, expiry, and the tenant's own checks.
func TestSecretTokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	first := e.token
	second, err := e.tenants.IssueToken(ctx, "default", tenant.TokenRequest{Label: "rotated", CreatedBy: "test"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(second.Plaintext, "roster_"), "recognisable prefix")

	require.Equal(t, 200, e.do("GET", "/Users", "", bearer(first)...).Status)
	require.Equal(t, 200, e.do("GET", "/Users", "", bearer(second.Plaintext)...).Status, "both tokens live during rotation")

	toks, err := e.tenants.ListTokens(ctx, "default")
	require.NoError(t, err)
	require.Len(t, toks, 2)
	require.Equal(t, "rotated", toks[1].Label)
	require.Equal(t, "test", toks[1].CreatedBy)
	require.Eventually(t, func() bool {
		toks, err := e.tenants.ListTokens(ctx, "default")
		return err == nil && !toks[0].LastUsed.IsZero() && !toks[1].LastUsed.IsZero()
	}, 5*time.Second, 10*time.Millisecond, "last use is recorded (off the request path)")
	firstID := credential.TokenID(first)
	require.NoError(t, e.tenants.RevokeToken(ctx, "default", firstID, "test"))
	r := e.do("GET", "/Users", "", bearer(first)...)
	require.Equal(t, 401, r.Status, "revoked token refused on the next request")
	requireSCIMError(t, r, 401)
	require.Equal(t, `Bearer realm="roster"`, r.Header.Get("WWW-Authenticate"))
	require.Equal(t, 200, e.do("GET", "/Users", "", bearer(second.Plaintext)...).Status, "the rotated token keeps working")

	// An expired token, written as the store keeps it.
	id, expired := credential.NewSecretToken()
	tn, err := e.tenants.Get(ctx, "default")
	require.NoError(t, err)
	require.NoError(t, storetest.Write(e.st).Tokens().Create(ctx, store.Token{
		ID: id, Tenant: tn.ID, SecretHash: credential.Hash(expired), Created: time.Now().Add(-2 * time.Hour),
		Expires: time.Now().Add(-time.Second),
	}))
	require.Equal(t, 401, e.do("GET", "/Users", "", bearer(expired)...).Status, "expired token")

	for name, tok := range map[string]string{
		"empty":                  "",
		"unknown id":             "roster_0123456789abcdef_" + strings.Repeat("A", 43),
		"right id, wrong secret": "roster_" + credential.TokenID(second.Plaintext) + "_" + strings.Repeat("A", 43),
		"garbage":                "not a token",
		"jwt-shaped junk":        "eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnQiOiJkZWZhdWx0In0.c2ln",
	} {
		require.Equal(t, 401, e.do("GET", "/Users", "", bearer(tok)...).Status, name)
	}
	r = e.do("GET", "/Users", "", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("u:"+second.Plaintext)))
	require.Equal(t, 401, r.Status, "only the Bearer scheme is accepted")
}

// TestSharedTenantURL shows the shared URL, where the token alone names the
// tenant, next to the per-tenant URL, with locations that match each.
func TestSharedTenantURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	shared := e.srv.URL + "/scim/v2"
	r := e.do("POST", shared+"/Users", `{"userName":"shared@example.com"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	id := r.JSON["id"].(string)
	require.Equal(t, shared+"/Users/"+id, r.Header.Get("Location"))
	require.Equal(t, shared+"/Users/"+id, path(r.JSON, "meta.location"))

	r = e.do("GET", "/Users/"+id, "")
	require.Equal(t, 200, r.Status, "created through the shared URL, read through the tenant's")
	require.Equal(t, e.tenantURL+"/Users/"+id, path(r.JSON, "meta.location"))
	require.Equal(t, 200, e.do("GET", shared+"/ServiceProviderConfig", "").Status)
	require.Equal(t, 200, e.do("GET", shared+"/schemas", "").Status, "endpoint names match case-insensitively")
	require.Equal(t, 401, e.do("GET", shared+"/Users", "", bearer("")...).Status)
}

// TestReservedTenantNames shows that a tenant cannot be named like a SCIM
// endpoint, which would make the shared URL ambiguous.
func TestReservedTenantNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, name := range []string{"users", "groups", "bulk", "schemas", "me", ".search", "serviceproviderconfig", "resourcetypes", "Acme", "a_b", "-x", ""} {
		_, err := e.tenants.Create(context.Background(), name, "test")
		require.ErrorIs(t, err, tenant.ErrInvalid, name)
	}
}

// signer makes JWTs with a key generated in the test.
type signer struct {
	method jwt.SigningMethod
	key    any
	kid    string
}

func (s signer) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, claims)
	if s.kid != "" {
		tok.Header["kid"] = s.kid
	}
	raw, err := tok.SignedString(s.key)
	require.NoError(t, err)
	return raw
}

func publicPEM(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func claims(aud, iss, tenantName string, exp time.Time) jwt.MapClaims {
	c := jwt.MapClaims{"aud": aud, "exp": exp.Unix(), "iat": time.Now().Add(-time.Minute).Unix(), "sub": "idp"}
	if iss != "" {
		c["iss"] = iss
	}
	if tenantName != "" {
		c["tenant"] = tenantName
	}
	return c
}

// TestJWTAuthentication covers HS256 JWTs minted by Roster and RS256/ES256
// JWTs signed by the app, on the tenant's and the shared URL, and rejects
// wrong signatures, audiences, issuers, expiry and tenants.
func TestJWTAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	otherEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	// HS256: Roster keeps the secret and mints the token.
	_, err = e.tenants.Create(ctx, "hs", "test")
	require.NoError(t, err)
	tn, err := e.tenants.ConfigureJWT(ctx, "hs", store.JWTSettings{Algorithm: "HS256", Audience: "roster"}, "test")
	require.NoError(t, err)
	minted, _, err := e.tenants.MintJWT(ctx, "hs", time.Hour, "test")
	require.NoError(t, err)
	hs := signer{jwt.SigningMethodHS256, tn.Settings.JWT.Secret, ""}

	// RS256 and ES256: the app holds the private key.
	for name, s := range map[string]store.JWTSettings{
		"rs": {Algorithm: "RS256", Audience: "roster", Issuer: "https://app.example.com", PublicKeyPEM: publicPEM(t, &rsaKey.PublicKey)},
		"es": {Algorithm: "ES256", Audience: "roster", PublicKeyPEM: publicPEM(t, &ecKey.PublicKey)},
	} {
		_, err = e.tenants.Create(ctx, name, "test")
		require.NoError(t, err)
		_, err = e.tenants.ConfigureJWT(ctx, name, s, "test")
		require.NoError(t, err)
	}
	rs := signer{jwt.SigningMethodRS256, rsaKey, ""}
	es := signer{jwt.SigningMethodES256, ecKey, ""}
	hour := time.Now().Add(time.Hour)
	base := e.srv.URL + "/scim/v2/"
	cases := []struct {
		name   string
		url    string
		token  string
		status int
	}{
		{"HS256 minted, tenant URL", base + "hs/Users", minted, 200},
		{"HS256 minted, shared URL", base + "Users", minted, 200},
		{"HS256 without tenant claim, tenant URL", base + "hs/Users", hs.sign(t, claims("roster", "", "", hour)), 200},
		{"HS256 without tenant claim, shared URL", base + "Users", hs.sign(t, claims("roster", "", "", hour)), 401},
		{"HS256 on another tenant's URL", base + "rs/Users", minted, 401},
		{"HS256 naming another tenant", base + "hs/Users", hs.sign(t, claims("roster", "", "rs", hour)), 401},
		{"HS256 wrong audience", base + "hs/Users", hs.sign(t, claims("someone-else", "", "hs", hour)), 401},
		{"HS256 expired", base + "hs/Users", hs.sign(t, claims("roster", "", "hs", time.Now().Add(-5*time.Minute))), 401},
		{"HS256 not yet valid", base + "hs/Users", hs.sign(t, jwt.MapClaims{"aud": "roster", "exp": hour.Unix(), "nbf": time.Now().Add(10 * time.Minute).Unix()}), 401},
		{"HS256 without expiry", base + "hs/Users", hs.sign(t, jwt.MapClaims{"aud": "roster", "tenant": "hs"}), 401},
		{"HS256 wrong secret", base + "hs/Users", signer{jwt.SigningMethodHS256, []byte(strings.Repeat("k", 32)), ""}.sign(t, claims("roster", "", "hs", hour)), 401},
		{"HS256 tampered payload", base + "hs/Users", tamper(minted), 401},
		{"RS256, tenant URL", base + "rs/Users", rs.sign(t, claims("roster", "https://app.example.com", "", hour)), 200},
		{"RS256, shared URL", base + "Users", rs.sign(t, claims("roster", "https://app.example.com", "rs", hour)), 200},
		{"RS256 wrong issuer", base + "rs/Users", rs.sign(t, claims("roster", "https://evil.example.com", "", hour)), 401},
		{"RS256 alg confusion (HS256 keyed with the public key)", base + "rs/Users",
			signer{jwt.SigningMethodHS256, []byte(publicPEM(t, &rsaKey.PublicKey)), ""}.sign(t, claims("roster", "https://app.example.com", "", hour)), 401},
		{"ES256, tenant URL", base + "es/Users", es.sign(t, claims("roster", "", "", hour)), 200},
		{"ES256 other key", base + "es/Users", signer{jwt.SigningMethodES256, otherEC, ""}.sign(t, claims("roster", "", "", hour)), 401},
		{"ES256 wrong audience", base + "es/Users", es.sign(t, claims("other", "", "", hour)), 401},
		{"ES256 token on the RS256 tenant", base + "rs/Users", es.sign(t, claims("roster", "https://app.example.com", "", hour)), 401},
		{"JWT on a tenant without JWT settings", base + "default/Users", es.sign(t, claims("roster", "", "", hour)), 401},
		{"alg none", base + "hs/Users", noneToken(claims("roster", "", "hs", hour)), 401},
	}
	for _, c := range cases {
		r := e.do("GET", c.url, "", bearer(c.token)...)
		require.Equal(t, c.status, r.Status, "%s: %s", c.name, r.Body)
	}

	// Switching JWTs off refuses the token on the next request.
	_, err = e.tenants.DisableJWT(ctx, "hs", "test")
	require.NoError(t, err)
	require.Equal(t, 401, e.do("GET", base+"hs/Users", "", bearer(minted)...).Status)
}

func tamper(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = bytes.Replace(payload, []byte(`"hs"`), []byte(`"rs"`), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func noneToken(c jwt.MapClaims) string {
	raw, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	return raw
}

// jwks serves a JSON Web Key Set of RSA keys that the test can rotate.
type jwks struct {
	mu   sync.Mutex
	keys map[string]*rsa.PublicKey
}

func (j *jwks) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []map[string]string
	for kid, k := range j.keys {
		out = append(out, map[string]string{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": out})
}

// TestIdPIssuedJWT shows a tenant trusting the JWTs Entra ID sends when the
// Secret Token box is left blank: keys from a JWKS URL, Entra's issuer and
// audience shapes, key rotation, and the shared URL matched by issuer.
func TestIdPIssuedJWT(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	key1, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	key2, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keys := &jwks{keys: map[string]*rsa.PublicKey{"k1": &key1.PublicKey}}
	keySrv := httptest.NewServer(keys)
	t.Cleanup(keySrv.Close)

	const entraTenant = "5f0c3f5e-0000-4000-8000-00000000c0de"
	iss := "https://sts.windows.net/" + entraTenant + "/"
	const aud = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
	_, err = e.tenants.Create(ctx, "contoso", "test")
	require.NoError(t, err)
	_, err = e.tenants.ConfigureIdP(ctx, "contoso", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: keySrv.URL}, "test")
	require.NoError(t, err)

	entra := func(key *rsa.PrivateKey, kid string, c jwt.MapClaims) string {
		c["tid"] = entraTenant
		return signer{jwt.SigningMethodRS256, key, kid}.sign(t, c)
	}
	hour := time.Now().Add(time.Hour)
	tenantURL := e.srv.URL + "/scim/v2/contoso/Users"
	shared := e.srv.URL + "/scim/v2/Users"
	require.Equal(t, 200, e.do("GET", tenantURL, "", bearer(entra(key1, "k1", claims(aud, iss, "", hour)))...).Status)
	require.Equal(t, 200, e.do("GET", shared, "", bearer(entra(key1, "k1", claims(aud, iss, "", hour)))...).Status, "shared URL finds the tenant by issuer")
	require.Equal(t, 401, e.do("GET", tenantURL, "", bearer(entra(key1, "k1", claims("another-app", iss, "", hour)))...).Status, "wrong audience")
	require.Equal(t, 401, e.do("GET", tenantURL, "", bearer(entra(key1, "k1", claims(aud, "https://sts.windows.net/other/", "", hour)))...).Status, "wrong issuer")
	require.Equal(t, 401, e.do("GET", tenantURL, "", bearer(entra(key1, "k1", claims(aud, iss, "", time.Now().Add(-5*time.Minute))))...).Status, "expired")
	require.Equal(t, 401, e.do("GET", tenantURL, "", bearer(entra(key2, "k1", claims(aud, iss, "", hour)))...).Status, "signed with a key not in the set")
	require.Equal(t, 401, e.do("GET", e.srv.URL+"/scim/v2/default/Users", "", bearer(entra(key1, "k1", claims(aud, iss, "", hour)))...).Status, "another tenant does not trust it")

	// The identity provider rotates its keys: a token with the new key id
	// verifies once Roster refetches the set.
	keys.mu.Lock()
	keys.keys = map[string]*rsa.PublicKey{"k2": &key2.PublicKey}
	keys.mu.Unlock()
	require.Equal(t, 200, e.do("GET", tenantURL, "", bearer(entra(key2, "k2", claims(aud, iss, "", hour)))...).Status, "rotated key")

	// When the keys cannot be fetched the answer is 503, not 401: the
	// credential may be fine, and the identity provider should retry.
	_, err = e.tenants.Create(ctx, "fabrikam", "test")
	require.NoError(t, err)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	_, err = e.tenants.ConfigureIdP(ctx, "fabrikam", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: down.URL}, "test")
	require.ErrorIs(t, err, store.ErrConflict, "one issuer, one tenant: the shared URL finds the tenant by issuer")
	const fabrikamIss = "https://sts.windows.net/00000000-0000-4000-8000-00000000fab0/"
	_, err = e.tenants.ConfigureIdP(ctx, "fabrikam", store.IdPSettings{Issuer: fabrikamIss, Audience: aud, JWKSURL: down.URL}, "test")
	require.NoError(t, err)
	r := e.do("GET", e.srv.URL+"/scim/v2/fabrikam/Users", "", bearer(signer{jwt.SigningMethodRS256, key2, "k2"}.sign(t, claims(aud, fabrikamIss, "", hour)))...)
	require.Equal(t, 503, r.Status, "%s", r.Body)
	requireSCIMError(t, r, 503)
	require.NotEmpty(t, r.Header.Get("Retry-After"))
}

// TestOAuthClientCredentials shows the token endpoint: a client's id and
// secret buy a short-lived bearer token, by HTTP Basic or in the body, on
// the tenant's or the shared endpoint; wrong secrets and revoked clients
// are refused.
func TestOAuthClientCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	client, secret, err := e.tenants.CreateOAuthClient(ctx, "default", "entra", "test")
	require.NoError(t, err)

	token := func(endpoint string, form url.Values, basic bool) (int, map[string]any, http.Header) {
		req, err := http.NewRequest("POST", e.srv.URL+endpoint, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(url.QueryEscape(client.ID), url.QueryEscape(secret))
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		return res.StatusCode, body, res.Header
	}
	grant := url.Values{"grant_type": {"client_credentials"}}
	status, body, _ := token("/oauth/default/token", grant, true)
	require.Equal(t, 200, status, "%v", body)
	require.Equal(t, "Bearer", body["token_type"])
	require.InDelta(t, 3600, body["expires_in"], 5)
	access := body["access_token"].(string)
	require.Equal(t, 200, e.do("GET", "/Users", "", bearer(access)...).Status)
	require.Equal(t, 200, e.do("GET", e.srv.URL+"/scim/v2/Users", "", bearer(access)...).Status, "shared URL")

	inBody := url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ID}, "client_secret": {secret}}
	status, body, _ = token("/oauth/token", inBody, false)
	require.Equal(t, 200, status, "shared token endpoint, credentials in the body: %v", body)

	wrong := url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ID}, "client_secret": {"roster_cs_wrong"}}
	status, body, _ = token("/oauth/default/token", wrong, false)
	require.Equal(t, 401, status)
	require.Equal(t, "invalid_client", body["error"])
	_, err = e.tenants.Create(ctx, "other", "test")
	require.NoError(t, err)
	status, body, hdr := token("/oauth/other/token", grant, true)
	require.Equal(t, 401, status, "a client of another tenant")
	require.Equal(t, "invalid_client", body["error"])
	require.Contains(t, hdr.Get("WWW-Authenticate"), "Basic")
	status, body, _ = token("/oauth/default/token", url.Values{"grant_type": {"password"}}, true)
	require.Equal(t, 400, status)
	require.Equal(t, "unsupported_grant_type", body["error"])

	require.NoError(t, e.tenants.RevokeOAuthClient(ctx, "default", client.ID, "test"))
	require.Equal(t, 401, e.do("GET", "/Users", "", bearer(access)...).Status, "a revoked client's access token stops working")
	status, _, _ = token("/oauth/default/token", grant, true)
	require.Equal(t, 401, status)
}

// TestDatabaseHoldsNoSecret issues every kind of credential, then reads the
// database files byte by byte and finds none of them.
func TestDatabaseHoldsNoSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "roster.db")
	st, err := sqlite.Open(ctx, dbPath)
	require.NoError(t, err)
	roster, err := app.New(context.Background(), app.Config{}, st)
	require.NoError(t, err)
	var secrets []string
	tn, issued, err := roster.Tenants.Bootstrap(ctx, "default", "")
	require.NoError(t, err)
	secrets = append(secrets, issued.Plaintext)
	const userPassword = "a SCIM user's password"
	_, err = roster.Directory.Create(ctx, tn.ID, schema.Default().User(), map[string]any{"userName": "u", "password": userPassword})
	require.NoError(t, err)
	secrets = append(secrets, userPassword)
	for i := range 5 {
		iss, err := roster.Tenants.IssueToken(ctx, "default", tenant.TokenRequest{Label: "t" + strconv.Itoa(i), CreatedBy: "test"})
		require.NoError(t, err)
		secrets = append(secrets, iss.Plaintext)
	}
	_, clientSecret, err := roster.Tenants.CreateOAuthClient(ctx, "default", "c", "test")
	require.NoError(t, err)
	secrets = append(secrets, clientSecret)
	clients, err := roster.Tenants.ListOAuthClients(ctx, "default")
	require.NoError(t, err)
	access, err := roster.Tenants.ExchangeClientCredentials(ctx, "default", clients[0].ID, clientSecret)
	require.NoError(t, err)
	secrets = append(secrets, access.Token)
	const password = "correct horse battery staple"
	_, err = roster.Admins.Create(ctx, "root", password, store.RoleSuperAdmin, "test")
	require.NoError(t, err)
	sess, err := roster.Admins.Login(ctx, "root", password)
	require.NoError(t, err)
	secrets = append(secrets, password, sess.Token)
	roster.Close()

	// Read the files while open (WAL included), then again after a checkpoint.
	check := func(when string) {
		for _, name := range []string{"roster.db", "roster.db-wal"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if os.IsNotExist(err) {
				continue
			}
			require.NoError(t, err)
			for _, s := range secrets {
				_, secretPart, _ := strings.Cut(strings.TrimPrefix(s, "roster_"), "_")
				require.False(t, bytes.Contains(b, []byte(s)), "%s: %s holds a credential", when, name)
				if len(secretPart) >= 32 {
					require.False(t, bytes.Contains(b, []byte(secretPart)), "%s: %s holds a token's secret part", when, name)
				}
			}
		}
	}
	check("while open")
	require.NoError(t, st.Close())
	check("after close")
}

// TestNoSecretInLogs runs failing and succeeding requests with debug logging
// and finds no token in the log.
func TestNoSecretInLogs(t *testing.T) {
	t.Parallel()
	var buf safeBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnvWith(t, app.Config{Logger: log})
	wrong := "roster_" + credential.TokenID(e.token) + "_" + strings.Repeat("B", 43)
	require.Equal(t, 200, e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "x"`), "").Status)
	require.Equal(t, 401, e.do("GET", "/Users", "", bearer(wrong)...).Status)
	require.Equal(t, 401, e.do("GET", "/Users", "", bearer("eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnQiOiJkZWZhdWx0In0.c2ln")...).Status)
	out := buf.String()
	require.Contains(t, out, "SCIM-0401", "failures are logged")
	for _, s := range []string{e.token, wrong, strings.Repeat("B", 43), "c2ln"} {
		require.NotContains(t, out, s)
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAbuseLimits shows the failed-authentication limits per client address
// and per tenant, and the per-tenant request rate limit, each answering 429
// with Retry-After.
func TestAbuseLimits(t *testing.T) {
	t.Parallel()
	t.Run("per client address", func(t *testing.T) {
		t.Parallel()
		e := newEnvWith(t, app.Config{ClientAuthFailures: 3, TrustedProxies: []string{"127.0.0.1"}})
		from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }
		for range 2 {
			require.Equal(t, 401, e.do("GET", "/Users", "", append(bearer("wrong-token-0000000000000000"), from("198.51.100.7")...)...).Status)
		}
		r := e.do("GET", "/Users", "", append(bearer("wrong-token-0000000000000000"), from("198.51.100.7")...)...)
		require.Equal(t, 429, r.Status, "failures past the budget")
		requireSCIMError(t, r, 429)
		require.Equal(t, 200, e.do("GET", "/Users", "", from("198.51.100.7")...).Status,
			"a valid token passes from an address over its budget (identity providers share addresses)")
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		require.NoError(t, err)
		require.GreaterOrEqual(t, wait, 1)
		require.Equal(t, 200, e.do("GET", "/Users", "", from("198.51.100.8")...).Status, "other addresses are not affected")
	})
	t.Run("per tenant", func(t *testing.T) {
		t.Parallel()
		e := newEnvWith(t, app.Config{TenantAuthFailures: 3})
		for range 2 {
			require.Equal(t, 401, e.do("GET", "/Users", "", bearer("wrong-token-0000000000000000")...).Status)
		}
		r := e.do("GET", "/Users", "", bearer("wrong-token-0000000000000000")...)
		require.Equal(t, 429, r.Status)
		require.NotEmpty(t, r.Header.Get("Retry-After"))
		require.Equal(t, 200, e.do("GET", "/Users", "").Status, "the tenant's valid token still works")
	})
	t.Run("request rate", func(t *testing.T) {
		t.Parallel()
		e := newEnvWith(t, app.Config{RateLimit: 2})
		statuses := map[int]int{}
		for range 6 {
			statuses[e.do("GET", "/Users", "").Status]++
		}
		require.GreaterOrEqual(t, statuses[429], 3, "%v", statuses)
		r := e.do("GET", "/Users", "")
		require.Equal(t, 429, r.Status)
		require.NotEmpty(t, r.Header.Get("Retry-After"))
		// A tenant's own setting overrides the default.
		_, err := e.tenants.SetRateLimit(context.Background(), "default", 1000, "test")
		require.NoError(t, err)
		// The bucket refills at the new rate from the next request on.
		require.Eventually(t, func() bool { return e.do("GET", "/Users", "").Status == 200 }, time.Second, 5*time.Millisecond)
	})
}

// TestBehindReverseProxy shows that a trusted proxy's X-Forwarded-Proto and
// -Host shape the URLs Roster returns, and an untrusted client's do not.
func TestBehindReverseProxy(t *testing.T) {
	t.Parallel()
	fwd := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "roster.example.com", "X-Forwarded-For", "203.0.113.9"}
	trusted := newEnvWith(t, app.Config{TrustedProxies: []string{"127.0.0.0/8"}})
	r := trusted.do("POST", "/Users", `{"userName":"proxied@example.com"}`, fwd...)
	require.Equal(t, 201, r.Status)
	require.True(t, strings.HasPrefix(path(r.JSON, "meta.location").(string), "https://roster.example.com/scim/v2/default/Users/"), "%s", r.Body)

	untrusted := newEnv(t)
	r = untrusted.do("POST", "/Users", `{"userName":"proxied@example.com"}`, fwd...)
	require.Equal(t, 201, r.Status)
	require.True(t, strings.HasPrefix(path(r.JSON, "meta.location").(string), untrusted.tenantURL+"/Users/"), "%s", r.Body)

	configured := newEnvWith(t, app.Config{BaseURL: "https://id.example.com/", Prefix: "/rest/scim/v2/"})
	configured.tenantURL = configured.srv.URL + "/rest/scim/v2/default"
	r = configured.do("POST", "/Users", `{"userName":"prefixed@example.com"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	require.True(t, strings.HasPrefix(r.Header.Get("Location"), "https://id.example.com/rest/scim/v2/default/Users/"), r.Header.Get("Location"))
}
