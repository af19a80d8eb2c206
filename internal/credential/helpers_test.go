package credential

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// testKeys are generated once per test binary; RSA generation is slow.
type testKeys struct {
	rsa, rsa2, rsa1024 *rsa.PrivateKey
	ec, ec2, ec384     *ecdsa.PrivateKey
	hs                 []byte

	rsaPKIX, rsaPKCS1, rsaCert, rsa1024PEM string
	ecPKIX, ec384PKIX, ec521PKIX, ecCert   string
}

var keys = sync.OnceValue(func() *testKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	newRSA := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		must(err)
		return k
	}
	newEC := func(c elliptic.Curve) *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		must(err)
		return k
	}
	pkix := func(pub any) string {
		der, err := x509.MarshalPKIXPublicKey(pub)
		must(err)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	k := &testKeys{
		rsa:  newRSA(2048),
		rsa2: newRSA(2048),
		ec:   newEC(elliptic.P256()),
		ec2:  newEC(elliptic.P256()),
		hs:   NewHS256Secret(),
	}
	k.ec384 = newEC(elliptic.P384())
	// 1024-bit keys need GODEBUG=rsa1024min=0 to generate; build one from
	// two primes instead.
	k.rsa1024 = rsa1024()
	k.rsaPKIX = pkix(&k.rsa.PublicKey)
	k.rsaPKCS1 = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)}))
	k.rsa1024PEM = pkix(&k.rsa1024.PublicKey)
	k.ecPKIX = pkix(&k.ec.PublicKey)
	k.ec384PKIX = pkix(&k.ec384.PublicKey)
	k.ec521PKIX = pkix(&newEC(elliptic.P521()).PublicKey)
	k.rsaCert = selfSigned(k.rsa)
	k.ecCert = selfSigned(k.ec)
	return k
})

// rsa1024 returns a 1024-bit RSA public key; only its size matters.
func rsa1024() *rsa.PrivateKey {
	n := new(big.Int).Lsh(big.NewInt(1), 1023)
	n.Add(n, big.NewInt(1))
	return &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}}
}

func selfSigned(key crypto.Signer) string {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "roster test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// testNow is the fixed time tokens are checked at.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// claims returns valid claims for iss and aud at testNow, changed by mods.
func claims(iss, aud string, mods ...func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": iss,
		"aud": aud,
		"sub": "scim-client",
		"iat": testNow.Add(-time.Minute).Unix(),
		"nbf": testNow.Add(-time.Minute).Unix(),
		"exp": testNow.Add(time.Hour).Unix(),
		"jti": "jti-1",
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

func set(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }

func del(k string) func(jwt.MapClaims) { return func(c jwt.MapClaims) { delete(c, k) } }

func at(d time.Duration) int64 { return testNow.Add(d).Unix() }

// sign returns c signed with key using method, with header kid when not "".
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// newTestVerifier returns a Verifier that logs to the test and is closed at
// the end of the test.
func newTestVerifier(t *testing.T) *Verifier {
	t.Helper()
	v := NewVerifier(nil, WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	t.Cleanup(v.Close)
	return v
}

// publishedKey is a public key in a test JWKS.
type publishedKey struct {
	kid, alg string // alg "" leaves the JWK's alg out
	key      any
}

// jwksServer serves a JWKS that a test can replace, and counts requests.
type jwksServer struct {
	*httptest.Server
	body     atomic.Pointer[[]byte]
	status   atomic.Int32
	requests atomic.Int32
}

func newJWKSServer(t *testing.T, ks ...publishedKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.status.Store(http.StatusOK)
	s.publish(t, ks...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(s.status.Load()))
		_, _ = w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(t *testing.T, ks ...publishedKey) {
	t.Helper()
	var set jwkset.JWKSMarshal
	for _, k := range ks {
		jwk, err := jwkset.NewJWKFromKey(k.key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: k.kid, ALG: jwkset.ALG(k.alg), USE: jwkset.UseSig,
		}})
		require.NoError(t, err)
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	s.body.Store(&b)
}

func (s *jwksServer) jwksURL() string { return s.URL + "/.well-known/jwks.json" }

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
