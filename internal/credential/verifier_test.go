package credential

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

const (
	entraIssuer   = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"
	entraAudience = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621" // non-gallery SCIM apps
)

func TestVerifyIdPJWKS(t *testing.T) {
	t.Parallel()
	k := keys()
	srv := newJWKSServer(t,
		publishedKey{kid: "rsa1", alg: RS256, key: &k.rsa.PublicKey},
		publishedKey{kid: "rsa-noalg", key: &k.rsa2.PublicKey},
		publishedKey{kid: "ec1", alg: ES256, key: &k.ec.PublicKey},
		publishedKey{kid: "ec384", alg: ES384, key: &k.ec384.PublicKey},
	)
	s := store.IdPSettings{Issuer: entraIssuer, Audience: entraAudience, JWKSURL: srv.jwksURL()}
	c := func(mods ...func(jwt.MapClaims)) jwt.MapClaims { return claims(entraIssuer, entraAudience, mods...) }
	v := newTestVerifier(t)

	for _, tc := range []struct {
		name    string
		token   string
		wantErr string
		wantIs  error
	}{
		{name: "RS256", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c())},
		{name: "RS384KeyWithoutAlg", token: sign(t, jwt.SigningMethodRS384, k.rsa2, "rsa-noalg", c())},
		{name: "RS512KeyWithoutAlg", token: sign(t, jwt.SigningMethodRS512, k.rsa2, "rsa-noalg", c())},
		{name: "PS256KeyWithoutAlg", token: sign(t, jwt.SigningMethodPS256, k.rsa2, "rsa-noalg", c())},
		{name: "ES256", token: sign(t, jwt.SigningMethodES256, k.ec, "ec1", c())},
		{name: "ES384", token: sign(t, jwt.SigningMethodES384, k.ec384, "ec384", c())},
		{name: "NoKID", token: sign(t, jwt.SigningMethodRS256, k.rsa2, "", c())},
		{name: "NoKIDEC", token: sign(t, jwt.SigningMethodES256, k.ec, "", c())},

		{name: "RS256ForES256Key", token: sign(t, jwt.SigningMethodRS256, k.rsa, "ec1", c()), wantErr: "no key to verify with"},
		{name: "ES256ForRSAKeyWithoutAlg", token: sign(t, jwt.SigningMethodES256, k.ec, "rsa-noalg", c()), wantErr: "cannot verify ES256"},
		{name: "ES384ForP256Key", token: sign(t, jwt.SigningMethodES384, k.ec384, "ec1", c()), wantErr: "no key to verify with"},
		{name: "RS384ForRS256Key", token: sign(t, jwt.SigningMethodRS384, k.rsa, "rsa1", c()), wantErr: "does not match token"},
		{name: "WrongKeySameKID", token: sign(t, jwt.SigningMethodRS256, k.rsa2, "rsa1", c()), wantErr: "bad signature", wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "NoKIDUnknownKey", token: sign(t, jwt.SigningMethodES256, k.ec2, "", c()), wantErr: "bad signature"},
		{name: "HS256", token: sign(t, jwt.SigningMethodHS256, k.hs, "rsa1", c()), wantErr: `algorithm "HS256" is not allowed, want RS256 or RS384 or RS512 or PS256 or ES256 or ES384`},
		{name: "None", token: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa1", c()), wantErr: `algorithm "none" is not allowed`},
		{name: "ES512", token: b64URL(`{"alg":"ES512","kid":"ec1"}`) + ".e30.c2ln", wantErr: `algorithm "ES512" is not allowed`},
		// Entra v2.0 tokens have another issuer; the settings must say which.
		{name: "EntraV2Issuer", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c(set("iss", "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"))), wantErr: "wrong issuer", wantIs: jwt.ErrTokenInvalidIssuer},
		{name: "NoIssuer", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c(del("iss"))), wantErr: "iss claim is required"},
		{name: "WrongAudience", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c(set("aud", "00000003-0000-0000-c000-000000000000"))), wantErr: "wrong audience", wantIs: jwt.ErrTokenInvalidAudience},
		{name: "Expired", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c(set("exp", at(-time.Hour)))), wantErr: "expired", wantIs: jwt.ErrTokenExpired},
		{name: "MissingExp", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c(del("exp"))), wantErr: "exp claim is required"},
		{name: "NotYetValid", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c(set("nbf", at(time.Hour)))), wantErr: "not yet valid"},
		{name: "Oversized", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c(set("pad", strings.Repeat("x", MaxJWTLength)))), wantErr: "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.VerifyIdP(t.Context(), tc.token, s, testNow)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, entraIssuer, got.Issuer)
				require.Equal(t, []string{entraAudience}, got.Audience)
				return
			}
			require.ErrorIs(t, err, ErrInvalidJWT)
			require.ErrorContains(t, err, tc.wantErr)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
		})
	}
	t.Run("UnknownKID", func(t *testing.T) {
		// Not parallel: it spends the one immediate unknown-kid refresh,
		// before the parallel subtests run.
		_, err := v.VerifyIdP(t.Context(), sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c()), s, testNow)
		require.NoError(t, err)
		before := srv.requests.Load()
		start := time.Now()
		_, err = v.VerifyIdP(t.Context(), sign(t, jwt.SigningMethodRS256, k.rsa, "nope", c()), s, testNow)
		require.ErrorIs(t, err, ErrInvalidJWT)
		require.ErrorContains(t, err, `unknown key id: token is unverifiable: error while executing keyfunc: unknown key id "nope"`)
		require.Less(t, time.Since(start), 2*time.Second)
		require.Equal(t, before+1, srv.requests.Load(), "one refresh")
	})
}

// TestVerifyIdPKeyRotation follows an identity provider that switches to a
// new signing key under a new kid.
func TestVerifyIdPKeyRotation(t *testing.T) {
	t.Parallel()
	k := keys()
	srv := newJWKSServer(t, publishedKey{kid: "old", alg: RS256, key: &k.rsa.PublicKey})
	s := store.IdPSettings{Issuer: entraIssuer, Audience: entraAudience, JWKSURL: srv.jwksURL()}
	v := newTestVerifier(t)
	oldTok := sign(t, jwt.SigningMethodRS256, k.rsa, "old", claims(entraIssuer, entraAudience))
	newTok := sign(t, jwt.SigningMethodRS256, k.rsa2, "new", claims(entraIssuer, entraAudience))

	for range 3 {
		_, err := v.VerifyIdP(t.Context(), oldTok, s, testNow)
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, srv.requests.Load(), "the JWKS is cached")

	srv.publish(t, publishedKey{kid: "new", alg: RS256, key: &k.rsa2.PublicKey})
	c, err := v.VerifyIdP(t.Context(), newTok, s, testNow)
	require.NoError(t, err, "an unknown kid refreshes the JWKS")
	require.Equal(t, "scim-client", c.Subject)
	require.EqualValues(t, 2, srv.requests.Load())
	_, err = v.VerifyIdP(t.Context(), newTok, s, testNow)
	require.NoError(t, err)
	require.EqualValues(t, 2, srv.requests.Load())

	// The old key is gone; a token naming it is refused at once, without
	// another fetch, because unknown-kid refreshes are rate limited.
	start := time.Now()
	_, err = v.VerifyIdP(t.Context(), oldTok, s, testNow)
	require.ErrorContains(t, err, `unknown key id "old"`)
	require.Less(t, time.Since(start), time.Second)
	require.EqualValues(t, 2, srv.requests.Load())
}

func TestVerifyIdPConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	k := keys()
	srv := newJWKSServer(t, publishedKey{kid: "k", alg: ES256, key: &k.ec.PublicKey})
	s := store.IdPSettings{Issuer: entraIssuer, Audience: entraAudience, JWKSURL: srv.jwksURL()}
	v := newTestVerifier(t)
	tok := sign(t, jwt.SigningMethodES256, k.ec, "k", claims(entraIssuer, entraAudience))
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = v.VerifyIdP(t.Context(), tok, s, testNow)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, srv.requests.Load(), "one fetch for all")
}

func TestVerifyIdPJWKSUnavailable(t *testing.T) {
	t.Parallel()
	k := keys()
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "k", claims(entraIssuer, entraAudience))
	settings := func(u string) store.IdPSettings {
		return store.IdPSettings{Issuer: entraIssuer, Audience: entraAudience, JWKSURL: u}
	}
	requireUnavailable := func(t *testing.T, err error, msg string) {
		t.Helper()
		require.ErrorIs(t, err, ErrInvalidJWT)
		require.ErrorIs(t, err, ErrKeysUnavailable)
		require.ErrorContains(t, err, msg)
	}

	t.Run("ServerDown", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL + "/jwks"
		srv.Close()
		v := newTestVerifier(t)
		start := time.Now()
		_, err := v.VerifyIdP(t.Context(), tok, settings(u), testNow)
		requireUnavailable(t, err, "connection refused")
		require.Less(t, time.Since(start), 2*time.Second)
		// The failure is remembered for a while, so a down IdP is not
		// hammered by every request.
		_, err = v.VerifyIdP(t.Context(), tok, settings(u), testNow)
		requireUnavailable(t, err, "connection refused")
	})
	t.Run("ServerHangs", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		v := newTestVerifier(t) // closed before srv, which ends the request
		start := time.Now()
		_, err := v.VerifyIdP(ctxTimeout(t, 200*time.Millisecond), tok, settings(srv.URL), testNow)
		requireUnavailable(t, err, "context deadline exceeded")
		require.Less(t, time.Since(start), 2*time.Second)
	})
	t.Run("ErrorStatusThenRecovers", func(t *testing.T) {
		t.Parallel()
		srv := newJWKSServer(t, publishedKey{kid: "k", alg: RS256, key: &k.rsa.PublicKey})
		srv.status.Store(http.StatusServiceUnavailable)
		v := newTestVerifier(t)
		v.retry = 0
		_, err := v.VerifyIdP(t.Context(), tok, settings(srv.jwksURL()), testNow)
		requireUnavailable(t, err, "503")
		srv.status.Store(http.StatusOK)
		_, err = v.VerifyIdP(t.Context(), tok, settings(srv.jwksURL()), testNow)
		require.NoError(t, err)
	})
	t.Run("NotJSON", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>sign in</html>"))
		}))
		t.Cleanup(srv.Close)
		_, err := newTestVerifier(t).VerifyIdP(t.Context(), tok, settings(srv.URL), testNow)
		requireUnavailable(t, err, "decode")
	})
	t.Run("TooLarge", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"keys":["`))
			_, _ = w.Write([]byte(strings.Repeat("a", 2<<20)))
		}))
		t.Cleanup(srv.Close)
		_, err := newTestVerifier(t).VerifyIdP(t.Context(), tok, settings(srv.URL), testNow)
		requireUnavailable(t, err, "larger than 1048576 bytes")
	})
	t.Run("RedirectToHTTP", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.RedirectHandler("http://idp.example.com/jwks", http.StatusFound))
		t.Cleanup(srv.Close)
		_, err := newTestVerifier(t).VerifyIdP(t.Context(), tok, settings(srv.URL), testNow)
		requireUnavailable(t, err, "must use https")
	})
	t.Run("Closed", func(t *testing.T) {
		t.Parallel()
		srv := newJWKSServer(t, publishedKey{kid: "k", alg: RS256, key: &k.rsa.PublicKey})
		v := newTestVerifier(t)
		_, err := v.VerifyIdP(t.Context(), tok, settings(srv.jwksURL()), testNow)
		require.NoError(t, err)
		v.Close()
		_, err = v.VerifyIdP(t.Context(), tok, settings(srv.jwksURL()), testNow)
		requireUnavailable(t, err, "verifier is closed")
	})
	t.Run("GarbageTokenFetchesNothing", func(t *testing.T) {
		t.Parallel()
		srv := newJWKSServer(t, publishedKey{kid: "k", alg: RS256, key: &k.rsa.PublicKey})
		v := newTestVerifier(t)
		for _, raw := range []string{"", "roster_0123456789abcdef_x", sign(t, jwt.SigningMethodHS256, k.hs, "", claims(entraIssuer, entraAudience))} {
			_, err := v.VerifyIdP(t.Context(), raw, settings(srv.jwksURL()), testNow)
			require.ErrorIs(t, err, ErrInvalidJWT)
		}
		require.Zero(t, srv.requests.Load())
	})
}

func TestVerifyIdPPEM(t *testing.T) {
	t.Parallel()
	k := keys()
	const iss, aud = "https://idp.example.com", "roster"
	rsaS := store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.rsaPKIX}
	ecS := store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.ecCert}
	ec384S := store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.ec384PKIX}
	c := claims(iss, aud)
	for _, tc := range []struct {
		name    string
		s       store.IdPSettings
		token   string
		wantErr string
	}{
		{"RS256", rsaS, sign(t, jwt.SigningMethodRS256, k.rsa, "any", c), ""},
		{"RS384", rsaS, sign(t, jwt.SigningMethodRS384, k.rsa, "", c), ""},
		{"RS512", rsaS, sign(t, jwt.SigningMethodRS512, k.rsa, "", c), ""},
		{"PS256", rsaS, sign(t, jwt.SigningMethodPS256, k.rsa, "", c), ""},
		{"ES256Certificate", ecS, sign(t, jwt.SigningMethodES256, k.ec, "", c), ""},
		{"ES384", ec384S, sign(t, jwt.SigningMethodES384, k.ec384, "", c), ""},

		{"ES256ForRSAKey", rsaS, sign(t, jwt.SigningMethodES256, k.ec, "", c), `algorithm "ES256" is not allowed, want RS256 or RS384 or RS512 or PS256`},
		{"RS256ForECKey", ecS, sign(t, jwt.SigningMethodRS256, k.rsa, "", c), `algorithm "RS256" is not allowed, want ES256`},
		{"ES384ForP256Key", ecS, sign(t, jwt.SigningMethodES384, k.ec384, "", c), `algorithm "ES384" is not allowed, want ES256`},
		{"AlgConfusion", rsaS, sign(t, jwt.SigningMethodHS256, []byte(k.rsaPKIX), "", c), `algorithm "HS256" is not allowed`},
		{"WrongKey", rsaS, sign(t, jwt.SigningMethodRS256, k.rsa2, "", c), "bad signature"},
		{"WrongIssuer", rsaS, sign(t, jwt.SigningMethodRS256, k.rsa, "", claims("https://other", aud)), "wrong issuer"},
		{"P521Key", store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.ec521PKIX}, sign(t, jwt.SigningMethodES256, k.ec, "", c), "the public key is an EC P-521 key"},
		{"BadPEM", store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: "x"}, sign(t, jwt.SigningMethodRS256, k.rsa, "", c), "no PEM block"},
		{"NoIssuerSetting", store.IdPSettings{Audience: aud, PublicKeyPEM: k.rsaPKIX}, sign(t, jwt.SigningMethodRS256, k.rsa, "", c), "issuer is required"},
		{"HTTPJWKSSetting", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "http://idp.example.com/jwks"}, sign(t, jwt.SigningMethodRS256, k.rsa, "", c), "must use https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := newTestVerifier(t).VerifyIdP(t.Context(), tc.token, tc.s, testNow)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, iss, got.Issuer)
				return
			}
			require.ErrorIs(t, err, ErrInvalidJWT)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestNewVerifierKeepsClient(t *testing.T) {
	t.Parallel()
	client := &http.Client{Timeout: time.Minute}
	v := NewVerifier(client)
	defer v.Close()
	require.Nil(t, client.Transport)
	require.Nil(t, client.CheckRedirect)
	require.Equal(t, defaultHTTPTimeout, v.timeout, "the JWKS timeout is capped")

	// A caller's dialer still decides which addresses may be reached.
	refuse := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Err: errRefused}
	}}}
	v2 := NewVerifier(refuse)
	defer v2.Close()
	k := keys()
	srv := newJWKSServer(t, publishedKey{kid: "k", alg: RS256, key: &k.rsa.PublicKey})
	_, err := v2.VerifyIdP(t.Context(), sign(t, jwt.SigningMethodRS256, k.rsa, "k", claims("i", "a")),
		store.IdPSettings{Issuer: "i", Audience: "a", JWKSURL: srv.jwksURL()}, testNow)
	require.ErrorIs(t, err, ErrKeysUnavailable)
	require.ErrorContains(t, err, "internal address refused")
	require.Zero(t, srv.requests.Load())
}

func b64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

var errRefused = &refusedError{}

type refusedError struct{}

func (*refusedError) Error() string { return "internal address refused" }
