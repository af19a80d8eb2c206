package credential

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

func TestVerifyJWT(t *testing.T) {
	t.Parallel()
	k := keys()
	const iss, aud = "https://app.example.com", "roster"
	hs := store.JWTSettings{Algorithm: HS256, Secret: k.hs, Issuer: iss, Audience: aud}
	rs := store.JWTSettings{Algorithm: RS256, PublicKeyPEM: k.rsaPKIX, Issuer: iss, Audience: aud}
	es := store.JWTSettings{Algorithm: ES256, PublicKeyPEM: k.ecPKIX, Issuer: iss, Audience: aud}
	anyIss := hs
	anyIss.Issuer = ""
	with := func(s store.JWTSettings, pem string) store.JWTSettings { s.PublicKeyPEM = pem; return s }

	hsTok := func(mods ...func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodHS256, k.hs, "", claims(iss, aud, mods...))
	}
	rsTok := sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(iss, aud))
	esTok := sign(t, jwt.SigningMethodES256, k.ec, "", claims(iss, aud))
	noneTok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(iss, aud))
	tamper := func(tok string) string {
		p := strings.Split(tok, ".")
		c, err := base64.RawURLEncoding.DecodeString(p[1])
		require.NoError(t, err)
		p[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(c), "scim-client", "scim-admin!", 1)))
		return strings.Join(p, ".")
	}

	for _, tc := range []struct {
		name     string
		settings store.JWTSettings
		token    string
		now      time.Duration // after testNow
		wantErr  string        // "" for valid
		wantIs   error         // a jwt sentinel the error also wraps
	}{
		{name: "HS256Valid", settings: hs, token: hsTok()},
		{name: "RS256Valid", settings: rs, token: rsTok},
		{name: "RS256PKCS1", settings: with(rs, k.rsaPKCS1), token: rsTok},
		{name: "RS256Certificate", settings: with(rs, k.rsaCert), token: rsTok},
		{name: "ES256Valid", settings: es, token: esTok},
		{name: "ES256Certificate", settings: with(es, k.ecCert), token: esTok},
		{name: "AudienceInList", settings: hs, token: hsTok(set("aud", []string{"other", aud}))},
		{name: "AnyIssuer", settings: anyIss, token: hsTok(set("iss", "https://elsewhere"))},
		{name: "AnyIssuerNoIssuer", settings: anyIss, token: hsTok(del("iss"))},
		{name: "NoNbfNoIat", settings: hs, token: hsTok(del("nbf"), del("iat"))},
		{name: "TenantClaimIgnored", settings: hs, token: hsTok(set("tenant", "acme"))},

		{name: "Expired", settings: hs, token: hsTok(set("exp", at(-61*time.Second))), wantErr: "expired at 2026-03-01T11:58:59Z", wantIs: jwt.ErrTokenExpired},
		{name: "ExpiredAtLeewayEdge", settings: hs, token: hsTok(set("exp", at(-60*time.Second))), wantErr: "expired", wantIs: jwt.ErrTokenExpired},
		{name: "ExpiredWithinLeeway", settings: hs, token: hsTok(set("exp", at(-59*time.Second)))},
		{name: "ExpiredLater", settings: hs, token: hsTok(), now: time.Hour + time.Minute, wantErr: "expired", wantIs: jwt.ErrTokenExpired},
		{name: "NotYetValid", settings: hs, token: hsTok(set("nbf", at(61*time.Second))), wantErr: "not yet valid until 2026-03-01T12:01:01Z", wantIs: jwt.ErrTokenNotValidYet},
		{name: "NotYetValidLeewayEdge", settings: hs, token: hsTok(set("nbf", at(60*time.Second)))},
		{name: "IssuedInFuture", settings: hs, token: hsTok(set("iat", at(61*time.Second))), wantErr: "issued in the future", wantIs: jwt.ErrTokenUsedBeforeIssued},
		{name: "IssuedInFutureLeewayEdge", settings: hs, token: hsTok(set("iat", at(60*time.Second)))},
		{name: "MissingExp", settings: hs, token: hsTok(del("exp")), wantErr: "exp claim is required", wantIs: jwt.ErrTokenRequiredClaimMissing},
		{name: "WrongAudience", settings: hs, token: hsTok(set("aud", "someone-else")), wantErr: `wrong audience ["someone-else"], want "roster"`, wantIs: jwt.ErrTokenInvalidAudience},
		{name: "MissingAudience", settings: hs, token: hsTok(del("aud")), wantErr: "aud claim is required", wantIs: jwt.ErrTokenRequiredClaimMissing},
		{name: "WrongIssuer", settings: hs, token: hsTok(set("iss", "https://evil")), wantErr: `wrong issuer "https://evil", want "https://app.example.com"`, wantIs: jwt.ErrTokenInvalidIssuer},
		{name: "MissingIssuer", settings: hs, token: hsTok(del("iss")), wantErr: "iss claim is required", wantIs: jwt.ErrTokenRequiredClaimMissing},
		{name: "SeveralReasons", settings: hs, token: hsTok(set("aud", "x"), set("exp", at(-time.Hour))), wantErr: "expired at 2026-03-01T11:00:00Z (now 2026-03-01T12:00:00Z); wrong audience"},

		{name: "HS256WrongSecret", settings: hs, token: sign(t, jwt.SigningMethodHS256, NewHS256Secret(), "", claims(iss, aud)), wantErr: "bad signature", wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "HS256Tampered", settings: hs, token: tamper(hsTok()), wantErr: "bad signature", wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "RS256Tampered", settings: rs, token: tamper(rsTok), wantErr: "bad signature", wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "RS256WrongKey", settings: rs, token: sign(t, jwt.SigningMethodRS256, k.rsa2, "", claims(iss, aud)), wantErr: "bad signature"},
		{name: "ES256WrongKey", settings: es, token: sign(t, jwt.SigningMethodES256, k.ec2, "", claims(iss, aud)), wantErr: "bad signature"},
		{name: "SignatureStripped", settings: rs, token: rsTok[:strings.LastIndex(rsTok, ".")+1], wantErr: "bad signature"},
		// The classic confusion: an HS256 token whose HMAC key is the
		// tenant's public key PEM, which is no secret.
		{name: "AlgConfusionPKIX", settings: rs, token: sign(t, jwt.SigningMethodHS256, []byte(k.rsaPKIX), "", claims(iss, aud)), wantErr: `algorithm "HS256" is not allowed, want RS256`},
		{name: "AlgConfusionES", settings: es, token: sign(t, jwt.SigningMethodHS256, []byte(k.ecPKIX), "", claims(iss, aud)), wantErr: `algorithm "HS256" is not allowed`},
		{name: "RS256TokenForHS256Tenant", settings: hs, token: rsTok, wantErr: `algorithm "RS256" is not allowed, want HS256`},
		{name: "ES256TokenForRS256Tenant", settings: rs, token: esTok, wantErr: `algorithm "ES256" is not allowed`},
		{name: "RS384ForRS256Tenant", settings: rs, token: sign(t, jwt.SigningMethodRS384, k.rsa, "", claims(iss, aud)), wantErr: `algorithm "RS384" is not allowed`},
		{name: "AlgNone", settings: hs, token: noneTok, wantErr: `algorithm "none" is not allowed`},
		{name: "AlgNoneRS", settings: rs, token: noneTok, wantErr: `algorithm "none" is not allowed`},

		{name: "Oversized", settings: hs, token: hsTok(set("pad", strings.Repeat("a", MaxJWTLength))), wantErr: "longer than 16384"},
		{name: "Empty", settings: hs, token: "", wantErr: "malformed"},
		{name: "Garbage", settings: hs, token: "roster_0123456789abcdef_secret", wantErr: "malformed"},
		{name: "BadPayload", settings: hs, token: strings.Split(hsTok(), ".")[0] + ".!!!.sig", wantErr: "malformed", wantIs: jwt.ErrTokenMalformed},
		{name: "ExpNotNumber", settings: hs, token: hsTok(set("exp", "tomorrow")), wantErr: "malformed"},

		{name: "SettingsNoAudience", settings: store.JWTSettings{Algorithm: HS256, Secret: k.hs}, token: hsTok(), wantErr: "no audience"},
		{name: "SettingsShortSecret", settings: store.JWTSettings{Algorithm: HS256, Secret: k.hs[:31], Audience: aud}, token: hsTok(), wantErr: "shorter than 32 bytes"},
		{name: "SettingsUnknownAlg", settings: store.JWTSettings{Algorithm: "none", Audience: aud}, token: noneTok, wantErr: `unsupported algorithm "none"`},
		{name: "SettingsBadPEM", settings: with(rs, "not a pem"), token: rsTok, wantErr: "no PEM block"},
		{name: "SettingsKeyMismatch", settings: with(rs, k.ecPKIX), token: rsTok, wantErr: "RS256 needs an RSA key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newTestVerifier(t)
			c, err := v.VerifyJWT(t.Context(), tc.token, tc.settings, testNow.Add(tc.now))
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, "scim-client", c.Subject)
				require.Contains(t, c.Audience, aud)
				require.False(t, c.Expires.IsZero())
				return
			}
			require.ErrorIs(t, err, ErrInvalidJWT)
			require.ErrorContains(t, err, tc.wantErr)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
			require.Zero(t, c)
		})
	}
}

func TestVerifyJWTCachesPEM(t *testing.T) {
	t.Parallel()
	k := keys()
	v := newTestVerifier(t)
	s := store.JWTSettings{Algorithm: RS256, PublicKeyPEM: k.rsaPKIX, Audience: "roster"}
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "", claims("", "roster"))
	for range 3 {
		_, err := v.VerifyJWT(t.Context(), tok, s, testNow)
		require.NoError(t, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	require.Len(t, v.pems, 1)
}

func TestValidateJWTSettings(t *testing.T) {
	t.Parallel()
	k := keys()
	for _, tc := range []struct {
		name string
		s    store.JWTSettings
		msg  string // "" for valid
	}{
		{"HS256", store.JWTSettings{Algorithm: HS256, Secret: k.hs, Audience: "a"}, ""},
		{"HS256WithIssuer", store.JWTSettings{Algorithm: HS256, Secret: k.hs, Issuer: "i", Audience: "a"}, ""},
		{"RS256PKIX", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: k.rsaPKIX, Audience: "a"}, ""},
		{"RS256PKCS1", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: k.rsaPKCS1, Audience: "a"}, ""},
		{"RS256Certificate", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: k.rsaCert, Audience: "a"}, ""},
		{"RS256Whitespace", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: "\n  " + k.rsaPKIX + "\n\n", Audience: "a"}, ""},
		{"ES256", store.JWTSettings{Algorithm: ES256, PublicKeyPEM: k.ecPKIX, Audience: "a"}, ""},
		{"ES256Certificate", store.JWTSettings{Algorithm: ES256, PublicKeyPEM: k.ecCert, Audience: "a"}, ""},

		{"NoAudience", store.JWTSettings{Algorithm: HS256, Secret: k.hs}, "audience is required"},
		{"NoAlgorithm", store.JWTSettings{Audience: "a"}, `algorithm "" is not one of HS256, RS256, ES256`},
		{"None", store.JWTSettings{Algorithm: "none", Audience: "a"}, `algorithm "none" is not one of`},
		{"LowerCase", store.JWTSettings{Algorithm: "hs256", Secret: k.hs, Audience: "a"}, "is not one of"},
		{"RS384", store.JWTSettings{Algorithm: RS384, PublicKeyPEM: k.rsaPKIX, Audience: "a"}, "is not one of"},
		{"HS256ShortSecret", store.JWTSettings{Algorithm: HS256, Secret: k.hs[:31], Audience: "a"}, "31 bytes, want at least 32"},
		{"HS256NoSecret", store.JWTSettings{Algorithm: HS256, Audience: "a"}, "0 bytes"},
		{"HS256WithPEM", store.JWTSettings{Algorithm: HS256, Secret: k.hs, PublicKeyPEM: k.rsaPKIX, Audience: "a"}, "not a public key"},
		{"RS256NoPEM", store.JWTSettings{Algorithm: RS256, Audience: "a"}, "needs a public key PEM"},
		{"RS256WithSecret", store.JWTSettings{Algorithm: RS256, Secret: k.hs, PublicKeyPEM: k.rsaPKIX, Audience: "a"}, "not a secret"},
		{"RS256ECKey", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: k.ecPKIX, Audience: "a"}, "RS256 needs an RSA key of 2048 to 8192 bits, not an EC P-256 key"},
		{"RS256SmallKey", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: k.rsa1024PEM, Audience: "a"}, "1024 bits, want 2048 to 8192"},
		{"ES256RSAKey", store.JWTSettings{Algorithm: ES256, PublicKeyPEM: k.rsaPKIX, Audience: "a"}, "ES256 needs an EC P-256 key, not an RSA key of 2048 bits"},
		{"ES256P384Key", store.JWTSettings{Algorithm: ES256, PublicKeyPEM: k.ec384PKIX, Audience: "a"}, "not an EC P-384 key"},
		{"PEMGarbage", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: "MIIBIjANBgkq", Audience: "a"}, "no PEM block"},
		{"PEMPrivateKey", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", Audience: "a"}, "RSA PRIVATE KEY; give the public key instead"},
		{"PEMOtherType", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", Audience: "a"}, "want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE"},
		{"PEMCorrupt", store.JWTSettings{Algorithm: RS256, PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", Audience: "a"}, "parse PUBLIC KEY PEM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateJWTSettings(tc.s)
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestValidateIdPSettings(t *testing.T) {
	t.Parallel()
	k := keys()
	const iss, aud = "https://idp.example.com/", "roster"
	for _, tc := range []struct {
		name string
		s    store.IdPSettings
		msg  string // "" for valid
	}{
		{"JWKS", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "https://login.microsoftonline.com/common/discovery/keys"}, ""},
		{"JWKSLoopbackHTTP", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "http://127.0.0.1:8080/jwks"}, ""},
		{"JWKSLoopbackIPv6", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "http://[::1]:8080/jwks"}, ""},
		{"RSAPEM", store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.rsaPKIX}, ""},
		{"RSACertificate", store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.rsaCert}, ""},
		{"P256PEM", store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.ecPKIX}, ""},
		{"P384PEM", store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.ec384PKIX}, ""},

		{"NoIssuer", store.IdPSettings{Audience: aud, PublicKeyPEM: k.rsaPKIX}, "issuer is required"},
		{"NoAudience", store.IdPSettings{Issuer: iss, PublicKeyPEM: k.rsaPKIX}, "audience is required"},
		{"NoKeys", store.IdPSettings{Issuer: iss, Audience: aud}, "need a JWKS URL or a public key PEM"},
		{"BothKeys", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "https://x/jwks", PublicKeyPEM: k.rsaPKIX}, "not both"},
		{"JWKSHTTP", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "http://idp.example.com/jwks"}, "must use https"},
		{"JWKSLocalhostName", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "http://localhost/jwks"}, "must use https"},
		{"JWKSPrivateIP", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "http://10.0.0.1/jwks"}, "must use https"},
		{"JWKSFile", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "file:///etc/passwd"}, "must be an absolute URL"},
		{"JWKSRelative", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "/jwks"}, "must be an absolute URL"},
		{"JWKSUserInfo", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "https://u:p@idp.example.com/jwks"}, "without user info"},
		{"JWKSUnparsable", store.IdPSettings{Issuer: iss, Audience: aud, JWKSURL: "https://idp.example.com/%zz"}, "JWKS URL"},
		{"SmallRSA", store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.rsa1024PEM}, "1024 bits"},
		{"BadPEM", store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: "nope"}, "no PEM block"},
		{"P521PEM", store.IdPSettings{Issuer: iss, Audience: aud, PublicKeyPEM: k.ec521PKIX}, "is an EC P-521 key, want an RSA, EC P-256 or EC P-384 key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateIdPSettings(tc.s)
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestMintHS256(t *testing.T) {
	t.Parallel()
	secret := NewHS256Secret()
	require.Len(t, secret, 32)
	require.NotEqual(t, secret, NewHS256Secret())
	s := store.JWTSettings{Algorithm: HS256, Secret: secret, Issuer: "roster", Audience: "https://roster.example.com/scim/v2"}
	o := MintOptions{Tenant: "acme", Issuer: s.Issuer, Audience: s.Audience, Subject: "okta", TTL: 24 * time.Hour, Now: testNow}
	tok, err := MintHS256(secret, o)
	require.NoError(t, err)
	require.True(t, LooksLikeJWT(tok))

	v := newTestVerifier(t)
	c, err := v.VerifyJWT(t.Context(), tok, s, testNow)
	require.NoError(t, err)
	require.Equal(t, "acme", c.Tenant)
	require.Equal(t, "roster", c.Issuer)
	require.Equal(t, "okta", c.Subject)
	require.Equal(t, []string{s.Audience}, c.Audience)
	require.True(t, c.IssuedAt.Equal(testNow))
	require.True(t, c.NotBefore.Equal(testNow))
	require.True(t, c.Expires.Equal(testNow.Add(24*time.Hour)))
	require.Len(t, c.ID, 22)

	peeked, err := PeekClaims(tok)
	require.NoError(t, err)
	require.Equal(t, c, peeked)

	_, err = v.VerifyJWT(t.Context(), tok, s, testNow.Add(24*time.Hour+Leeway))
	require.ErrorIs(t, err, jwt.ErrTokenExpired)
	_, err = v.VerifyJWT(t.Context(), tok, s, testNow.Add(-Leeway-time.Second))
	require.ErrorIs(t, err, jwt.ErrTokenNotValidYet)

	again, err := MintHS256(secret, o)
	require.NoError(t, err)
	c2, err := PeekClaims(again)
	require.NoError(t, err)
	require.NotEqual(t, c.ID, c2.ID, "jti must be random")

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		before := time.Now().Truncate(time.Second)
		tok, err := MintHS256(secret, MintOptions{})
		require.NoError(t, err)
		c, err := PeekClaims(tok)
		require.NoError(t, err)
		require.Empty(t, c.Tenant)
		require.Empty(t, c.Issuer)
		require.Empty(t, c.Audience)
		require.False(t, c.IssuedAt.Before(before))
		require.Equal(t, DefaultJWTTTL, c.Expires.Sub(c.IssuedAt))
	})
	t.Run("ShortSecret", func(t *testing.T) {
		t.Parallel()
		_, err := MintHS256(secret[:31], o)
		require.ErrorContains(t, err, "31 bytes, want at least 32")
	})
	t.Run("NegativeTTL", func(t *testing.T) {
		t.Parallel()
		_, err := MintHS256(secret, MintOptions{TTL: -time.Second})
		require.ErrorContains(t, err, "negative TTL")
	})
}

func TestPeekClaims(t *testing.T) {
	t.Parallel()
	k := keys()
	full := sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("https://sts.windows.net/t/", "aud1", set("tenant", "acme"), set("aud", []string{"a", "b"})))
	for _, tc := range []struct {
		name  string
		token string
		want  Claims
		msg   string
	}{
		{"Unverified", full, Claims{
			Issuer: "https://sts.windows.net/t/", Subject: "scim-client", ID: "jti-1", Tenant: "acme",
			Audience: []string{"a", "b"}, IssuedAt: testNow.Add(-time.Minute), NotBefore: testNow.Add(-time.Minute), Expires: testNow.Add(time.Hour),
		}, ""},
		{"WrongKeyStillPeeks", sign(t, jwt.SigningMethodHS256, []byte("x"), "", jwt.MapClaims{"tenant": "t2"}), Claims{Tenant: "t2"}, ""},
		{"ExpiredStillPeeks", sign(t, jwt.SigningMethodHS256, []byte("x"), "", jwt.MapClaims{"exp": 1}), Claims{Expires: time.Unix(1, 0)}, ""},
		{"Empty", "", Claims{}, "malformed"},
		{"TwoSegments", "eyJhbGciOiJIUzI1NiJ9.e30", Claims{}, "malformed"},
		{"NotBase64", "!.!.!", Claims{}, "malformed"},
		{"TenantNotString", sign(t, jwt.SigningMethodHS256, []byte("x"), "", jwt.MapClaims{"tenant": 1}), Claims{}, "malformed"},
		{"Oversized", sign(t, jwt.SigningMethodHS256, []byte("x"), "", jwt.MapClaims{"pad": strings.Repeat("a", MaxJWTLength)}), Claims{}, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := PeekClaims(tc.token)
			if tc.msg != "" {
				require.ErrorIs(t, err, ErrInvalidJWT)
				require.ErrorContains(t, err, tc.msg)
				return
			}
			require.NoError(t, err)
			for _, tm := range []*time.Time{&c.IssuedAt, &c.NotBefore, &c.Expires} {
				if !tm.IsZero() {
					*tm = tm.UTC()
				}
			}
			tc.want.Expires = tc.want.Expires.UTC()
			require.Equal(t, tc.want, c)
		})
	}
}

func TestLooksLikeJWT(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	hdr := b64(`{"alg":"RS256","kid":"k"}`)
	tok, err := MintHS256(NewHS256Secret(), MintOptions{Tenant: "t"})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		s    string
		want bool
	}{
		{"Minted", tok, true},
		{"Minimal", hdr + ".e30.c2ln", true},
		{"EmptySignature", b64(`{"alg":"none"}`) + ".e30.", true},
		{"PayloadNotDecoded", hdr + ".x.y", true},

		{"Empty", "", false},
		{"SecretToken", "roster_0123456789abcdef_c2VjcmV0", false},
		{"AccessToken", "roster_at_0123456789abcdef_c2VjcmV0", false},
		{"OneDot", hdr + ".e30", false},
		{"ThreeDots", hdr + ".e30.c2ln.x", false},
		{"EmptyHeader", ".e30.c2ln", false},
		{"EmptyPayload", hdr + "..c2ln", false},
		{"Padding", b64(`{"alg":"RS256"}`) + "=.e30.c2ln", false},
		{"StdAlphabet", hdr + ".e3+/.c2ln", false},
		{"Whitespace", hdr + ". e30.c2ln", false},
		{"HeaderNotJSON", b64("alg") + ".e30.c2ln", false},
		{"HeaderNoAlg", b64(`{"typ":"JWT"}`) + ".e30.c2ln", false},
		{"HeaderAlgNotString", b64(`{"alg":1}`) + ".e30.c2ln", false},
		{"HeaderAlgNull", b64(`{"alg":null}`) + ".e30.c2ln", false},
		{"HeaderArray", b64(`["alg"]`) + ".e30.c2ln", false},
		{"HeaderTooLong", b64(`{"alg":"RS256","x":"`+strings.Repeat("a", maxHeaderLength)+`"}`) + ".e30.c2ln", false},
		{"JWE", hdr + ".a.b.c.d", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, LooksLikeJWT(tc.s))
		})
	}
}
