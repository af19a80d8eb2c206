package credential

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/rosterhq/roster/internal/store"
)

// ErrKeysUnavailable is wrapped, together with ErrInvalidJWT, when an
// identity provider's JWKS cannot be fetched, so a caller can tell an outage
// from a bad token.
var ErrKeysUnavailable = errors.New("signing keys unavailable")

// JWKS caching parameters.
const (
	defaultHTTPTimeout = 10 * time.Second
	// jwksRefreshInterval is how often a JWKS in use is fetched again.
	jwksRefreshInterval = time.Hour
	// jwksUnknownKIDEvery is the least time between fetches caused by a
	// token whose kid is not in the cached JWKS; such a fetch may wait up to
	// the HTTP timeout for its turn.
	jwksUnknownKIDEvery = time.Minute
	// jwksRetryAfter is how long a failed first fetch is remembered before
	// the next request tries again.
	jwksRetryAfter = 10 * time.Second
	// jwksIdle is how long an unused JWKS stays cached.
	jwksIdle = 24 * time.Hour
	// maxJWKSBytes bounds a JWKS response.
	maxJWKSBytes = 1 << 20
	// maxCachedPEMs bounds the parsed-PEM cache.
	maxCachedPEMs = 1024
)

// Verifier verifies JWTs against tenants' settings. It caches parsed PEM
// keys and, for each JWKS URL, the fetched key set, which it refreshes in the
// background and whenever a token names a key id it does not know, so an
// identity provider rotating its keys keeps working. A Verifier is safe for
// concurrent use; Close stops its background refreshes.
type Verifier struct {
	client  *http.Client
	timeout time.Duration
	retry   time.Duration // jwksRetryAfter; tests shorten it
	logger  *slog.Logger
	ctx     context.Context // ends with Close
	cancel  context.CancelFunc

	mu        sync.Mutex
	jwks      map[string]*jwksEntry // by URL
	lastSweep time.Time
	pems      map[string]pemEntry // by PEM text
}

type jwksEntry struct {
	done   chan struct{} // closed once kf or err is set
	kf     keyfunc.Keyfunc
	err    error
	failed time.Time // when err was set
	cancel context.CancelFunc
	used   time.Time // guarded by Verifier.mu
}

type pemEntry struct {
	key any
	err error
}

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier)

// WithLogger makes a Verifier log failed background JWKS refreshes to l.
// Without it they go to slog.Default().
func WithLogger(l *slog.Logger) VerifierOption {
	return func(v *Verifier) { v.logger = l }
}

// NewVerifier returns a Verifier that fetches JWKS documents with client, or
// with a client with a 10 s timeout when client is nil. Responses are
// limited to 1 MiB, and redirects to plain http are refused unless to a
// loopback address. The client decides which hosts may be reached; pass one
// whose dialer refuses internal addresses if tenants must not make Roster
// fetch from them.
func NewVerifier(client *http.Client, opts ...VerifierOption) *Verifier {
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	c := *client // keep the caller's client unchanged
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = limitTransport{base: base}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkJWKSURL(req.URL.String()); err != nil {
			return fmt.Errorf("redirect: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		return nil
	}
	timeout := c.Timeout
	if timeout <= 0 || timeout > defaultHTTPTimeout {
		timeout = defaultHTTPTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &Verifier{
		client:  &c,
		timeout: timeout,
		retry:   jwksRetryAfter,
		logger:  slog.Default(),
		ctx:     ctx,
		cancel:  cancel,
		jwks:    map[string]*jwksEntry{},
		pems:    map[string]pemEntry{},
	}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Close stops the background JWKS refreshes. Verifying with a JWKS URL
// fails after Close; other verification still works.
func (v *Verifier) Close() {
	v.cancel()
	v.mu.Lock()
	defer v.mu.Unlock()
	for u, e := range v.jwks {
		e.cancel()
		delete(v.jwks, u)
	}
}

// VerifyJWT verifies raw, a JWT that Roster or the tenant's app signed,
// against s at time now, and returns its claims. Only s.Algorithm is
// accepted. The token must have exp; exp, nbf and iat are checked with a
// Leeway of clock skew; aud must contain s.Audience and, when s.Issuer is
// set, iss must equal it. Every error wraps ErrInvalidJWT.
func (v *Verifier) VerifyJWT(ctx context.Context, raw string, s store.JWTSettings, now time.Time) (Claims, error) {
	if s.Audience == "" {
		return Claims{}, fmt.Errorf("%w: tenant JWT settings have no audience", ErrInvalidJWT)
	}
	var key any
	switch s.Algorithm {
	case HS256:
		if len(s.Secret) < MinHS256SecretLen {
			return Claims{}, fmt.Errorf("%w: tenant HS256 secret is shorter than %d bytes", ErrInvalidJWT, MinHS256SecretLen)
		}
		key = s.Secret
	case RS256, ES256:
		k, err := v.publicKey(s.PublicKeyPEM)
		if err != nil {
			return Claims{}, fmt.Errorf("%w: tenant JWT settings: %w", ErrInvalidJWT, err)
		}
		if !keyFits(s.Algorithm, k) {
			return Claims{}, fmt.Errorf("%w: tenant JWT settings: %s needs %s, not %s",
				ErrInvalidJWT, s.Algorithm, keyWanted(s.Algorithm), describeKey(k))
		}
		key = k
	default:
		return Claims{}, fmt.Errorf("%w: tenant JWT settings: unsupported algorithm %q", ErrInvalidJWT, s.Algorithm)
	}
	keyFunc := func(t *jwt.Token) (any, error) {
		if t.Method.Alg() != s.Algorithm { // already refused by WithValidMethods
			return nil, fmt.Errorf("algorithm %s is not %s", t.Method.Alg(), s.Algorithm)
		}
		return key, nil
	}
	return verify(raw, []string{s.Algorithm}, keyFunc, s.Audience, s.Issuer, now, nil)
}

// VerifyIdP verifies raw, a JWT that the tenant's identity provider issued,
// against s at time now, and returns its claims. It accepts RS256, RS384,
// RS512, PS256, ES256 and ES384 with a key of the matching type, from
// s.PublicKeyPEM or from the JWKS at s.JWKSURL. The token must have exp;
// exp, nbf and iat are checked with a Leeway of clock skew; iss must equal
// s.Issuer and aud must contain s.Audience. Fetching the JWKS is bounded by
// ctx and the HTTP timeout. Every error wraps ErrInvalidJWT.
func (v *Verifier) VerifyIdP(ctx context.Context, raw string, s store.IdPSettings, now time.Time) (Claims, error) {
	if err := checkIdPSettings(s); err != nil {
		return Claims{}, fmt.Errorf("%w: tenant %w", ErrInvalidJWT, err)
	}
	if s.PublicKeyPEM != "" {
		k, err := v.publicKey(s.PublicKeyPEM)
		if err != nil {
			return Claims{}, fmt.Errorf("%w: tenant IdP settings: %w", ErrInvalidJWT, err)
		}
		algs := idpKeyAlgorithms(k)
		if len(algs) == 0 {
			return Claims{}, fmt.Errorf("%w: tenant IdP settings: the public key is %s, want an RSA, EC P-256 or EC P-384 key",
				ErrInvalidJWT, describeKey(k))
		}
		keyFunc := func(t *jwt.Token) (any, error) {
			if !keyFits(t.Method.Alg(), k) {
				return nil, fmt.Errorf("%s cannot verify %s", describeKey(k), t.Method.Alg())
			}
			return k, nil
		}
		return verify(raw, algs, keyFunc, s.Audience, s.Issuer, now, nil)
	}
	var kf keyfunc.Keyfunc
	load := func() error { // after the cheap checks, so garbage costs no fetch
		var err error
		kf, err = v.jwksKeyfunc(ctx, s.JWKSURL)
		return err
	}
	keyFunc := func(t *jwt.Token) (any, error) {
		return jwksKey(ctx, kf, t)
	}
	return verify(raw, idpAlgorithms, keyFunc, s.Audience, s.Issuer, now, load)
}

// errUnknownKID means no key in the JWKS has the token's kid.
var errUnknownKID = errors.New("unknown key id")

// jwksKey returns the key from kf that verifies t, checking that its type
// fits t's algorithm.
func jwksKey(ctx context.Context, kf keyfunc.Keyfunc, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	k, err := kf.KeyfuncCtx(ctx)(t)
	if err != nil {
		kid, _ := t.Header[jwkset.HeaderKID].(string)
		if !hasKID(ctx, kf, kid) {
			return nil, fmt.Errorf("%w %q", errUnknownKID, kid)
		}
		return nil, oneLine{err}
	}
	if set, ok := k.(jwt.VerificationKeySet); ok { // the token has no kid
		var fit jwt.VerificationKeySet
		for _, key := range set.Keys {
			if keyFits(alg, key) {
				fit.Keys = append(fit.Keys, key)
			}
		}
		if len(fit.Keys) == 0 {
			return nil, fmt.Errorf("no key in the JWKS can verify %s", alg)
		}
		return fit, nil
	}
	if !keyFits(alg, k) {
		return nil, fmt.Errorf("key %v is %s, which cannot verify %s", t.Header[jwkset.HeaderKID], describeKey(k), alg)
	}
	return k, nil
}

func hasKID(ctx context.Context, kf keyfunc.Keyfunc, kid string) bool {
	keys, err := kf.Storage().KeyReadAll(ctx)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(keys, func(k jwkset.JWK) bool { return k.Marshal().KID == kid })
}

// verify is the common part of VerifyJWT and VerifyIdP. load, when not nil,
// runs after the checks that need no key.
func verify(raw string, algs []string, keyFunc jwt.Keyfunc, aud, iss string, now time.Time, load func() error) (Claims, error) {
	if len(raw) > MaxJWTLength {
		return Claims{}, fmt.Errorf("%w: %d bytes is longer than %d", ErrInvalidJWT, len(raw), MaxJWTLength)
	}
	header, _, _ := strings.Cut(raw, ".")
	alg, ok := headerAlg(header)
	if !ok {
		return Claims{}, fmt.Errorf("%w: malformed: no JOSE header with an alg", ErrInvalidJWT)
	}
	if !slices.Contains(algs, alg) {
		return Claims{}, fmt.Errorf("%w: algorithm %q is not allowed, want %s", ErrInvalidJWT, alg, strings.Join(algs, " or "))
	}
	if load != nil {
		if err := load(); err != nil {
			return Claims{}, fmt.Errorf("%w: %w: %w", ErrInvalidJWT, ErrKeysUnavailable, err)
		}
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithAudience(aud),
	}
	if iss != "" {
		opts = append(opts, jwt.WithIssuer(iss))
	}
	var c jwtClaims
	if _, err := jwt.NewParser(opts...).ParseWithClaims(raw, &c, keyFunc); err != nil {
		return Claims{}, fmt.Errorf("%w: %s: %w", ErrInvalidJWT, reason(err, &c, aud, iss, now), err)
	}
	return c.claims(), nil
}

// reason says in a few words why the jwt package refused a token.
func reason(err error, c *jwtClaims, aud, iss string, now time.Time) string {
	ts := func(d *jwt.NumericDate) string {
		if d == nil {
			return "?"
		}
		return d.UTC().Format(time.RFC3339)
	}
	var rs []string
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, errUnknownKID):
		return "unknown key id"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "no key to verify with"
	}
	if errors.Is(err, jwt.ErrTokenRequiredClaimMissing) {
		rs = append(rs, "missing required claim")
	}
	if errors.Is(err, jwt.ErrTokenExpired) {
		rs = append(rs, fmt.Sprintf("expired at %s (now %s)", ts(c.ExpiresAt), now.UTC().Format(time.RFC3339)))
	}
	if errors.Is(err, jwt.ErrTokenNotValidYet) {
		rs = append(rs, fmt.Sprintf("not yet valid until %s (now %s)", ts(c.NotBefore), now.UTC().Format(time.RFC3339)))
	}
	if errors.Is(err, jwt.ErrTokenUsedBeforeIssued) {
		rs = append(rs, fmt.Sprintf("issued in the future at %s (now %s)", ts(c.IssuedAt), now.UTC().Format(time.RFC3339)))
	}
	if errors.Is(err, jwt.ErrTokenInvalidAudience) {
		rs = append(rs, fmt.Sprintf("wrong audience %q, want %q", []string(c.Audience), aud))
	}
	if errors.Is(err, jwt.ErrTokenInvalidIssuer) {
		rs = append(rs, fmt.Sprintf("wrong issuer %q, want %q", c.Issuer, iss))
	}
	if len(rs) == 0 {
		return "invalid claims"
	}
	return strings.Join(rs, "; ")
}

// publicKey parses pemText through a cache.
func (v *Verifier) publicKey(pemText string) (any, error) {
	v.mu.Lock()
	e, ok := v.pems[pemText]
	v.mu.Unlock()
	if ok {
		return e.key, e.err
	}
	k, err := parsePublicKeyPEM(pemText)
	v.mu.Lock()
	if len(v.pems) >= maxCachedPEMs {
		clear(v.pems)
	}
	v.pems[pemText] = pemEntry{key: k, err: err}
	v.mu.Unlock()
	return k, err
}

// jwksKeyfunc returns the cached Keyfunc for the JWKS at u, creating it on
// first use. Concurrent first uses share one fetch; a failed fetch is
// reported to every waiter and retried after jwksRetryAfter.
func (v *Verifier) jwksKeyfunc(ctx context.Context, u string) (keyfunc.Keyfunc, error) {
	now := time.Now()
	v.mu.Lock()
	if v.ctx.Err() != nil {
		v.mu.Unlock()
		return nil, errors.New("verifier is closed")
	}
	v.sweepLocked(now)
	e := v.jwks[u]
	if e != nil && e.failedBefore(now.Add(-v.retry)) {
		delete(v.jwks, u)
		e = nil
	}
	if e == nil {
		ectx, cancel := context.WithCancel(v.ctx)
		e = &jwksEntry{done: make(chan struct{}), cancel: cancel}
		v.jwks[u] = e
		go v.load(ectx, e, u)
	}
	e.used = now
	v.mu.Unlock()

	select {
	case <-e.done:
		return e.kf, e.err
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch JWKS %s: %w", u, context.Cause(ctx))
	}
}

// failedBefore reports whether e's fetch failed before t.
func (e *jwksEntry) failedBefore(t time.Time) bool {
	select {
	case <-e.done:
		return e.err != nil && e.failed.Before(t)
	default:
		return false
	}
}

// sweepLocked forgets JWKS unused for jwksIdle, stopping their refreshes.
func (v *Verifier) sweepLocked(now time.Time) {
	if now.Sub(v.lastSweep) < 10*time.Minute {
		return
	}
	v.lastSweep = now
	for u, e := range v.jwks {
		if now.Sub(e.used) > jwksIdle {
			e.cancel()
			delete(v.jwks, u)
		}
	}
}

// load fetches the JWKS at u and sets e.kf, or e.err.
func (v *Verifier) load(ctx context.Context, e *jwksEntry, u string) {
	defer close(e.done)
	noErrorFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{u}, keyfunc.Override{
		Client:                    v.client,
		HTTPTimeout:               v.timeout,
		NoErrorReturnFirstHTTPReq: &noErrorFirst,
		RateLimitWaitMax:          v.timeout,
		RefreshInterval:           jwksRefreshInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(jwksUnknownKIDEvery), 1),
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				v.logger.WarnContext(ctx, "refresh JWKS", "url", u, "err", err)
			}
		},
	})
	if err == nil {
		// Use only keys meant for signatures; many JWKS omit "use".
		kf, err = keyfunc.New(keyfunc.Options{
			Ctx:          ctx,
			Storage:      kf.Storage(),
			UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
		})
	}
	if err != nil {
		e.cancel() // stop the refresh goroutine already started
		e.err = fmt.Errorf("fetch JWKS %s: %w", u, oneLine{err})
		e.failed = time.Now()
		return
	}
	e.kf = kf
}

// limitTransport caps response bodies at maxJWKSBytes.
type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitBody{ReadCloser: resp.Body, left: maxJWKSBytes}
	return resp, nil
}

type limitBody struct {
	io.ReadCloser
	left int64
}

var errJWKSTooLarge = fmt.Errorf("JWKS response is larger than %d bytes", maxJWKSBytes)

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Allow a final read that reports io.EOF.
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, errJWKSTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// oneLine keeps the newlines of errors.Join out of log lines.
type oneLine struct{ err error }

func (e oneLine) Error() string { return strings.ReplaceAll(e.err.Error(), "\n", "; ") }

func (e oneLine) Unwrap() error { return e.err }
