package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// TokenPrefix starts every token Roster issues, so that secret scanners and
// people can recognise one.
const TokenPrefix = "roster_"

// Prefixes of the other bearer secrets Roster issues. Each starts with
// TokenPrefix.
const (
	AccessTokenPrefix  = TokenPrefix + "at_" // OAuth access tokens
	SessionTokenPrefix = TokenPrefix + "as_" // admin sessions
	ClientSecretPrefix = TokenPrefix + "cs_" // OAuth client secrets
	ClientIDPrefix     = "roster-client-"    // OAuth client ids; not secret
)

const (
	idBytes     = 8  // a token id is 16 hex characters
	secretBytes = 32 // 256 bits of entropy
)

// NewSecretToken returns a new Secret Token roster_<id>_<secret> and its id.
// The id is 16 lower-case hex characters (64 random bits); the secret is 32
// random bytes in unpadded base64url (256 bits).
func NewSecretToken() (id, token string) {
	return newToken(TokenPrefix)
}

// NewAccessToken returns a new OAuth access token roster_at_<id>_<secret> and
// its id, built like a Secret Token.
func NewAccessToken() (id, token string) {
	return newToken(AccessTokenPrefix)
}

// NewSessionToken returns a new admin session token roster_as_<id>_<secret>
// and its id, built like a Secret Token.
func NewSessionToken() (id, token string) {
	return newToken(SessionTokenPrefix)
}

func newToken(prefix string) (id, token string) {
	id = randomHex(idBytes)
	return id, prefix + id + "_" + randomBase64(secretBytes)
}

// NewClientCredentials returns a new OAuth client id roster-client-<16 hex>
// and client secret roster_cs_<43 base64url characters> (256 bits).
func NewClientCredentials() (id, secret string) {
	return ClientIDPrefix + randomHex(idBytes), ClientSecretPrefix + randomBase64(secretBytes)
}

// TokenID returns the id that a bearer token is stored under: the id part of
// a roster_, roster_at_ or roster_as_ token, or, for any other string (a
// token chosen outside Roster, such as ROSTER_BOOTSTRAP_TOKEN), "x" followed
// by the first 16 hex characters of its SHA-256. Finding a row by this id
// proves nothing; the caller must still compare Hash(token) with the stored
// hash.
func TokenID(token string) string {
	for _, p := range [...]string{AccessTokenPrefix, SessionTokenPrefix, TokenPrefix} {
		if id, ok := tokenIDAfter(token, p); ok {
			return id
		}
	}
	h := sha256.Sum256([]byte(token))
	return "x" + hex.EncodeToString(h[:idBytes])
}

// tokenIDAfter returns the id of token if it is prefix followed by a
// 16-character id and an underscore. The id is not required to be hex, so
// that ids of tokens stored before this package existed do not change.
func tokenIDAfter(token, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(token, prefix)
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 2*idBytes {
		return "", false
	}
	return id, true
}

// Hash returns the SHA-256 of a secret, the only form in which tokens and
// client secrets are stored. A fast hash is enough because every secret
// Roster generates has 256 bits of entropy.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// HashEqual reports in constant time whether two hashes are equal. Empty
// hashes are never equal, so a row with no stored hash matches nothing.
func HashEqual(a, b []byte) bool {
	return len(a) > 0 && subtle.ConstantTimeCompare(a, b) == 1
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

func randomBase64(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }
