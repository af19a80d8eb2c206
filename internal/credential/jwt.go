package credential

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TenantClaim is the private JWT claim that names the tenant a token is for,
// so that one shared Tenant URL can serve every tenant.
const TenantClaim = "tenant"

// MaxJWTLength is the longest JWT accepted, in bytes. Longer tokens are
// refused before any parsing.
const MaxJWTLength = 16 << 10

// Leeway is the clock skew allowed when checking exp, nbf and iat.
const Leeway = 60 * time.Second

// ErrInvalidJWT is wrapped by every error about a JWT that cannot be
// trusted. The rest of the message says why, for logs only.
var ErrInvalidJWT = errors.New("invalid JWT")

// Claims are the claims Roster reads from a JWT. Times are zero when the
// claim is absent.
type Claims struct {
	Issuer    string
	Subject   string
	ID        string // jti
	Tenant    string // the TenantClaim
	Audience  []string
	IssuedAt  time.Time
	NotBefore time.Time
	Expires   time.Time
}

// jwtClaims is the JSON form of Claims.
type jwtClaims struct {
	jwt.RegisteredClaims
	Tenant string `json:"tenant,omitempty"`
}

func (c *jwtClaims) claims() Claims {
	t := func(d *jwt.NumericDate) time.Time {
		if d == nil {
			return time.Time{}
		}
		return d.Time
	}
	return Claims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		ID:        c.ID,
		Tenant:    c.Tenant,
		Audience:  []string(c.Audience),
		IssuedAt:  t(c.IssuedAt),
		NotBefore: t(c.NotBefore),
		Expires:   t(c.ExpiresAt),
	}
}

// maxHeaderLength bounds the JOSE header LooksLikeJWT decodes; real headers
// are well under 1 KiB.
const maxHeaderLength = 4 << 10

// LooksLikeJWT reports whether s has the shape of a JWS compact
// serialisation (RFC 7515 §7.1): three unpadded base64url segments joined by
// dots, the first of which decodes to a JSON object with an "alg" string. It
// checks nothing else, so a bearer token can be routed to JWT verification
// or to a Secret Token lookup cheaply. The signature segment may be empty.
func LooksLikeJWT(s string) bool {
	header, rest, ok := strings.Cut(s, ".")
	if !ok || header == "" || len(header) > maxHeaderLength {
		return false
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || payload == "" || !isBase64URL(header) || !isBase64URL(payload) || !isBase64URL(sig) {
		return false // a third dot fails isBase64URL(sig)
	}
	_, ok = headerAlg(header)
	return ok
}

// headerAlg returns the "alg" of a base64url-encoded JOSE header.
func headerAlg(segment string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return "", false
	}
	var h struct {
		Alg *string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil || h.Alg == nil {
		return "", false
	}
	return *h.Alg, true
}

func isBase64URL(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// PeekClaims decodes the claims of raw WITHOUT verifying its signature or
// any claim. Use it only to find which tenant's settings to verify the token
// with; trust nothing it returns until VerifyJWT or VerifyIdP agrees.
func PeekClaims(raw string) (Claims, error) {
	if len(raw) > MaxJWTLength {
		return Claims{}, fmt.Errorf("%w: %d bytes is longer than %d", ErrInvalidJWT, len(raw), MaxJWTLength)
	}
	var c jwtClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: malformed: %w", ErrInvalidJWT, err)
	}
	return c.claims(), nil
}

// MinHS256SecretLen is the shortest HS256 key accepted, in bytes: as long
// as the SHA-256 output, per RFC 7518 §3.2.
const MinHS256SecretLen = 32

// NewHS256Secret returns a new random 32-byte HS256 key.
func NewHS256Secret() []byte {
	return randomBytes(MinHS256SecretLen)
}

// DefaultJWTTTL is the lifetime of a minted JWT when MintOptions.TTL is 0.
const DefaultJWTTTL = 365 * 24 * time.Hour

// MintOptions describe a JWT to mint.
type MintOptions struct {
	Tenant   string // the TenantClaim; omitted when ""
	Issuer   string // omitted when ""
	Audience string // omitted when ""
	Subject  string // omitted when ""
	// TTL is the time from issue to expiry; 0 means DefaultJWTTTL.
	TTL time.Duration
	// Now is the issue time; zero means time.Now().
	Now time.Time
}

// MintHS256 returns a JWT signed with secret using HS256. It sets iat to
// o.Now, nbf to iat, exp to iat + o.TTL and a random jti.
func MintHS256(secret []byte, o MintOptions) (string, error) {
	if len(secret) < MinHS256SecretLen {
		return "", fmt.Errorf("mint JWT: HS256 key is %d bytes, want at least %d", len(secret), MinHS256SecretLen)
	}
	if o.TTL < 0 {
		return "", fmt.Errorf("mint JWT: negative TTL %v", o.TTL)
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = DefaultJWTTTL
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	iat := jwt.NewNumericDate(now)
	c := jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    o.Issuer,
			Subject:   o.Subject,
			IssuedAt:  iat,
			NotBefore: iat,
			ExpiresAt: jwt.NewNumericDate(iat.Add(ttl)),
			ID:        randomBase64(16),
		},
		Tenant: o.Tenant,
	}
	if o.Audience != "" {
		c.Audience = jwt.ClaimStrings{o.Audience}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint JWT: %w", err)
	}
	return s, nil
}
