package guard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies knows which peers are trusted reverse proxies. A nil *Proxies
// trusts nobody.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies parses trusted proxy specs, each a CIDR prefix ("10.0.0.0/8",
// "::1/128") or a bare IP address. No specs means trust nobody.
func ParseProxies(specs []string) (*Proxies, error) {
	p := &Proxies{}
	for _, spec := range specs {
		pf, err := parseProxy(strings.TrimSpace(spec))
		if err != nil {
			return nil, fmt.Errorf("guard: trusted proxy %q: %w", spec, err)
		}
		p.prefixes = append(p.prefixes, pf)
	}
	return p, nil
}

func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		// Addresses are unmapped before matching, so ::ffff:10.0.0.0/104
		// must become 10.0.0.0/8 to ever match.
		if pf.Addr().Is4In6() && pf.Bits() >= 96 {
			pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
		}
		return pf.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an IP address or CIDR prefix")
	}
	a = normalize(a)
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// trusts reports whether a is a trusted proxy.
func (p *Proxies) trusts(a netip.Addr) bool {
	if p == nil {
		return false
	}
	for _, pf := range p.prefixes {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// Client describes who sent a request as seen through trusted proxies.
type Client struct {
	Addr   string // client IP address (no port); "" if the peer is not an IP (a Unix socket)
	Scheme string // "https" or "http"
	Host   string // host (and port) the client asked for
}

// Client works out who sent r. Forwarding headers count only when the
// immediate peer is a trusted proxy; anyone else could write them.
//
// Addr is found by walking X-Forwarded-For (or, without it, the for=
// parameters of RFC 7239 Forwarded) from right to left, skipping trusted
// proxies: each proxy appends the peer it saw, so only the entries right of
// the first untrusted address were written by proxies we trust, and that
// address is the client. Everything further left is whatever the client
// chose to send. If every entry is trusted, the left-most one is taken. A
// malformed entry (such as "unknown") stops the walk at the last good
// address: the proxy that wrote it did not say who its peer was.
//
// Scheme and Host come from X-Forwarded-Proto and X-Forwarded-Host (or the
// proto= and host= of Forwarded). When proxies append one value per hop, the
// value of the hop that saw the client is used; otherwise the right-most,
// written by the nearest proxy. Values that are not a valid scheme or host
// are ignored.
func (p *Proxies) Client(r *http.Request) Client {
	c := Client{Scheme: "http", Host: r.Host}
	if r.TLS != nil {
		c.Scheme = "https"
	}
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return c
	}
	if !p.trusts(peer) {
		c.Addr = peer.String()
		return c
	}

	h := r.Header
	var (
		fwd       []forwardedElem
		fwdParsed bool
	)
	forwarded := func() []forwardedElem {
		if !fwdParsed {
			fwd, fwdParsed = parseForwarded(h.Values("Forwarded")), true
		}
		return fwd
	}

	// Index of the hop that named the client in X-Forwarded-For or
	// Forwarded; -1 if the client is the peer or that header was not used.
	xIdx, fIdx := -1, -1
	addr := peer
	xff := splitList(h.Values("X-Forwarded-For"))
	if len(xff) > 0 {
		addr, xIdx = p.walk(peer, len(xff), func(i int) (netip.Addr, bool) {
			return parseAddr(xff[i])
		})
	} else if f := forwarded(); len(f) > 0 {
		addr, fIdx = p.walk(peer, len(f), func(i int) (netip.Addr, bool) {
			if !f[i].ok {
				return netip.Addr{}, false
			}
			return parseAddr(f[i].forAddr)
		})
	}
	c.Addr = addr.String()

	if s, ok := scheme(pick(splitList(h.Values("X-Forwarded-Proto")), len(xff), xIdx)); ok {
		c.Scheme = s
	} else if e, ok := elemAt(forwarded(), fIdx); ok {
		if s, ok := scheme(e.proto); ok {
			c.Scheme = s
		}
	}
	if host := pick(splitList(h.Values("X-Forwarded-Host")), len(xff), xIdx); validHost(host) {
		c.Host = host
	} else if e, ok := elemAt(forwarded(), fIdx); ok && validHost(e.host) {
		c.Host = e.host
	}
	return c
}

// walk finds the client among n hops, numbered left (far) to right (near),
// starting from the trusted peer. It returns the address and index of the
// hop chosen, or the peer and -1.
func (p *Proxies) walk(peer netip.Addr, n int, at func(i int) (netip.Addr, bool)) (netip.Addr, int) {
	addr, idx := peer, -1
	for i := n - 1; i >= 0; i-- {
		a, ok := at(i)
		if !ok {
			break
		}
		addr, idx = a, i
		if !p.trusts(a) {
			break
		}
	}
	return addr, idx
}

// pick returns the value of hop idx when values has one entry per hop of a
// chain of n, else the right-most value.
func pick(values []string, n, idx int) string {
	switch {
	case len(values) == 0:
		return ""
	case idx >= 0 && len(values) == n:
		return values[idx]
	default:
		return values[len(values)-1]
	}
}

// elemAt returns Forwarded element idx, or the right-most one if idx < 0.
func elemAt(f []forwardedElem, idx int) (forwardedElem, bool) {
	if idx < 0 {
		idx = len(f) - 1
	}
	if idx < 0 || !f[idx].ok {
		return forwardedElem{}, false
	}
	return f[idx], true
}

func scheme(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "https":
		return "https", true
	case "http":
		return "http", true
	}
	return "", false
}

// validHost accepts a host[:port] made of the characters a DNS name, an IP
// literal and a port use, so a forwarded host cannot smuggle a path, a space
// or a header break into URLs Roster builds from it.
func validHost(s string) bool {
	if s == "" || len(s) > 262 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// parseAddr parses an IP address with or without a port or brackets:
// "1.2.3.4", "1.2.3.4:5", "::1", "[::1]", "[::1]:80". It picks the parser
// by shape rather than by trial, because a failed parse allocates its error.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	var (
		a   netip.Addr
		err error
	)
	switch {
	case len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']':
		if a, err = netip.ParseAddr(s[1 : len(s)-1]); err == nil && !a.Is6() {
			return netip.Addr{}, false
		}
	case strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1:
		var ap netip.AddrPort
		ap, err = netip.ParseAddrPort(s)
		a = ap.Addr()
	default:
		a, err = netip.ParseAddr(s)
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return normalize(a), true
}

// normalize gives each client one spelling: ::ffff:1.2.3.4 is 1.2.3.4, and
// a zone says which interface, not which client.
func normalize(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// splitList splits comma-separated header lines into trimmed, non-empty
// values.
func splitList(lines []string) []string {
	if len(lines) == 0 {
		return nil
	}
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ",") + 1
	}
	out := make([]string, 0, n)
	for _, line := range lines {
		for v := range strings.SplitSeq(line, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// forwardedElem is one hop of an RFC 7239 Forwarded header.
type forwardedElem struct {
	forAddr, proto, host string
	ok                   bool // well-formed, with no parameter repeated
}

// parseForwarded parses Forwarded header lines per RFC 7239 §4 into one
// element per hop, keeping malformed elements (ok false) so the walk can stop
// at them.
func parseForwarded(lines []string) []forwardedElem {
	var out []forwardedElem
	for _, line := range lines {
		for _, el := range splitQuoted(line, ',') {
			if el = strings.TrimSpace(el); el != "" {
				out = append(out, parseForwardedElem(el))
			}
		}
	}
	return out
}

func parseForwardedElem(s string) forwardedElem {
	e := forwardedElem{ok: true}
	var seenFor, seenProto, seenHost bool
	set := func(dst *string, seen *bool, v string) {
		if *seen {
			// A repeated parameter is ambiguous; RFC 7239 §4 forbids it.
			e.ok = false
		}
		*dst, *seen = v, true
	}
	for _, pair := range splitQuoted(s, ';') {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		k, v, found := strings.Cut(pair, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		v, vok := unquote(strings.TrimSpace(v))
		if !found || !vok || k == "" {
			e.ok = false
			continue
		}
		switch k {
		case "for":
			set(&e.forAddr, &seenFor, v)
		case "proto":
			set(&e.proto, &seenProto, v)
		case "host":
			set(&e.host, &seenHost, v)
		}
	}
	return e
}

// splitQuoted splits s at sep outside quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote returns the value of a token or an RFC 9110 quoted-string.
func unquote(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if s[0] != '"' {
		return s, !strings.ContainsAny(s, "\" \t")
	}
	if len(s) < 2 || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		switch c {
		case '\\':
			i++
			if i == len(s)-1 {
				return "", false
			}
			c = s[i]
		case '"':
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

type clientKey struct{}

// Middleware works out the Client of each request once, through p, and
// stores it in the request context for [ClientFrom] and [ClientOf].
func Middleware(p *Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := p.Client(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, c)))
	})
}

// ClientFrom returns the Client that [Middleware] stored in ctx.
func ClientFrom(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientKey{}).(Client)
	return c, ok
}

// ClientOf returns the Client from r's context, or computes it with no
// trusted proxies, so a handler mounted without [Middleware] still gets a
// safe answer.
func ClientOf(r *http.Request) Client {
	if c, ok := ClientFrom(r.Context()); ok {
		return c
	}
	return (*Proxies)(nil).Client(r)
}

// AddrKey returns the limiter key for a client address: the address itself
// for IPv4, its /64 for IPv6, because one IPv6 host usually holds a whole
// /64 and could otherwise fail from a fresh address every time.
func AddrKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is6() || a.Is4In6() {
		return addr
	}
	pf, _ := a.WithZone("").Prefix(64)
	return pf.String()
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request's id (the one echoed in
// X-Request-Id), for the revision history.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
