package credential

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewTokens(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		new    func() (string, string)
		prefix string
	}{
		{"SecretToken", NewSecretToken, "roster_"},
		{"AccessToken", NewAccessToken, "roster_at_"},
		{"SessionToken", NewSessionToken, "roster_as_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			re := regexp.MustCompile(`^` + tc.prefix + `([0-9a-f]{16})_([A-Za-z0-9_-]{43})$`)
			ids, secrets := map[string]bool{}, map[string]bool{}
			for range 1000 {
				id, token := tc.new()
				m := re.FindStringSubmatch(token)
				require.NotNil(t, m, "token %q", token)
				require.Equal(t, id, m[1])
				require.Equal(t, id, TokenID(token))
				secret, err := base64.RawURLEncoding.Strict().DecodeString(m[2])
				require.NoError(t, err)
				require.Len(t, secret, 32)
				require.False(t, ids[id], "repeated id")
				require.False(t, secrets[m[2]], "repeated secret")
				ids[id], secrets[m[2]] = true, true
			}
		})
	}
}

func TestNewClientCredentials(t *testing.T) {
	t.Parallel()
	idRE := regexp.MustCompile(`^roster-client-[0-9a-f]{16}$`)
	secretRE := regexp.MustCompile(`^roster_cs_[A-Za-z0-9_-]{43}$`)
	seen := map[string]bool{}
	for range 1000 {
		id, secret := NewClientCredentials()
		require.Regexp(t, idRE, id)
		require.Regexp(t, secretRE, secret)
		raw, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(secret, "roster_cs_"))
		require.NoError(t, err)
		require.Len(t, raw, 32)
		require.False(t, seen[id] || seen[secret], "repeated credential")
		seen[id], seen[secret] = true, true
	}
}

// legacyTokenID is tenant.tokenID as it was before this package, under
// which existing tokens are stored.
func legacyTokenID(token string) string {
	if rest, ok := strings.CutPrefix(token, "roster_"); ok {
		if id, _, ok := strings.Cut(rest, "_"); ok && len(id) == 16 {
			return id
		}
	}
	h := sha256.Sum256([]byte(token))
	return "x" + hex.EncodeToString(h[:8])
}

func TestTokenID(t *testing.T) {
	t.Parallel()
	hashID := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "x" + hex.EncodeToString(h[:])[:16]
	}
	for _, tc := range []struct {
		name, token, want string
	}{
		{"Secret", "roster_0123456789abcdef_c2VjcmV0", "0123456789abcdef"},
		{"SecretWithUnderscoreInSecret", "roster_0123456789abcdef_a_b-c", "0123456789abcdef"},
		{"Access", "roster_at_0123456789abcdef_c2VjcmV0", "0123456789abcdef"},
		{"Session", "roster_as_fedcba9876543210_c2VjcmV0", "fedcba9876543210"},
		{"Foreign", "my-bootstrap-token-0123456789", hashID("my-bootstrap-token-0123456789")},
		{"Empty", "", hashID("")},
		{"PrefixOnly", "roster_", hashID("roster_")},
		{"ShortID", "roster_0123_secret", hashID("roster_0123_secret")},
		{"LongID", "roster_0123456789abcdef0_secret", hashID("roster_0123456789abcdef0_secret")},
		{"NoSecretPart", "roster_0123456789abcdef", hashID("roster_0123456789abcdef")},
		{"AccessShortID", "roster_at_0123_secret", hashID("roster_at_0123_secret")},
		{"ClientSecret", "roster_cs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", hashID("roster_cs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")},
		{"OtherPrefixCase", "ROSTER_0123456789abcdef_secret", hashID("ROSTER_0123456789abcdef_secret")},
		// A 16-character non-hex id keeps the id it was stored under.
		{"NonHexID", "roster_bootstrap-token-_x", "bootstrap-token-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := TokenID(tc.token)
			require.Equal(t, tc.want, got)
			if !strings.HasPrefix(tc.token, "roster_at_") && !strings.HasPrefix(tc.token, "roster_as_") {
				require.Equal(t, legacyTokenID(tc.token), got, "stored ids must not change")
			}
		})
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	_, token := NewSecretToken()
	h := Hash(token)
	want := sha256.Sum256([]byte(token))
	require.Equal(t, want[:], h)
	require.True(t, HashEqual(h, Hash(token)))
	for _, tc := range []struct {
		name string
		a, b []byte
	}{
		{"Different", h, Hash(token + "x")},
		{"Shorter", h, h[:31]},
		{"BothEmpty", nil, nil},
		{"EmptyAndHash", []byte{}, h},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.False(t, HashEqual(tc.a, tc.b))
		})
	}
}
