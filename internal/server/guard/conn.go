package guard

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"
)

// ConnLimits bounds the connections a listener keeps open. A connection
// costs a file descriptor from the moment it is accepted, before a request
// arrives, so one client opening connections it never finishes can use up
// the process's descriptors and cut every other client off, /healthz
// included. Limits per request (rates, failed authentications) cannot help:
// they act only once a request has been read.
type ConnLimits struct {
	// Max is how many connections may be open at once in all; 0 means no
	// limit.
	Max int
	// PerClient is how many connections one client address (an IPv4
	// address, or an IPv6 /64, see [AddrKey]) may hold open; 0 means no
	// limit. Trusted proxies are exempt: every client behind them shares
	// their address.
	PerClient int
	// Proxies are the trusted reverse proxies, exempt from PerClient.
	Proxies *Proxies
	// Key returns the client a connection counts against, from its remote
	// address; nil means [ConnKey]. Tests set it to tell loopback clients
	// apart.
	Key func(remote net.Addr) string
	// Logger receives one line, at most every LogEvery, while connections
	// are being refused. Nil: no logging.
	Logger *slog.Logger
	// LogEvery is the least time between two such lines; 0 means 10 s.
	LogEvery time.Duration
}

// ConnKey returns the client key of a remote address: [AddrKey] of its IP,
// or "" when it has none (a Unix socket).
func ConnKey(remote net.Addr) string {
	if remote == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(remote.String())
	if err != nil {
		return ""
	}
	return AddrKey(normalize(ap.Addr()).String())
}

// LimitListener returns ln with l enforced: Accept closes a new connection
// at once, unanswered, while the listener holds Max connections, or its
// client holds PerClient, and goes on to the next. A refused client sees its
// connection closed; the clients within their limits are served as before.
// With neither limit set it returns ln itself.
func LimitListener(ln net.Listener, l ConnLimits) net.Listener {
	if l.Max <= 0 && l.PerClient <= 0 {
		return ln
	}
	if l.Key == nil {
		l.Key = ConnKey
	}
	if l.LogEvery <= 0 {
		l.LogEvery = 10 * time.Second
	}
	return &limitListener{Listener: ln, l: l, open: make(map[string]int)}
}

type limitListener struct {
	net.Listener
	l ConnLimits

	mu    sync.Mutex
	total int
	open  map[string]int // per client key; keys with no connection are removed
	// Refusals since the last log line, and when it was written.
	refusedTotal, refusedClient int
	lastClient                  string
	logged                      time.Time
}

// Accept returns the next connection within the limits.
func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := ll.l.Key(c.RemoteAddr())
		perClient := ll.l.PerClient > 0 && key != "" && !ll.trusted(c.RemoteAddr())
		if ll.admit(key, perClient) {
			return &limitedConn{Conn: c, release: func() { ll.release(key, perClient) }}, nil
		}
		// Closing at once, without reading, costs the least; a lingering
		// reset would only tie the descriptor up longer.
		_ = c.Close()
	}
}

// trusted reports whether remote is a trusted proxy.
func (ll *limitListener) trusted(remote net.Addr) bool {
	if ll.l.Proxies == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(remote.String())
	return err == nil && ll.l.Proxies.trusts(normalize(ap.Addr()))
}

// admit counts a new connection of key, or reports that a limit is full.
func (ll *limitListener) admit(key string, perClient bool) bool {
	ll.mu.Lock()
	defer ll.mu.Unlock()
	switch {
	case ll.l.Max > 0 && ll.total >= ll.l.Max:
		ll.refusedTotal++
	case perClient && ll.open[key] >= ll.l.PerClient:
		ll.refusedClient++
		ll.lastClient = key
	default:
		ll.total++
		if perClient {
			ll.open[key]++
		}
		return true
	}
	ll.logLocked()
	return false
}

// logLocked writes the rate-limited line about refused connections, saying
// how many were refused since the last one and why, so an operator sees a
// flood without the log becoming one.
func (ll *limitListener) logLocked() {
	if ll.l.Logger == nil {
		return
	}
	now := time.Now()
	if now.Sub(ll.logged) < ll.l.LogEvery {
		return
	}
	ll.l.Logger.Warn("CONN-0429 refusing new connections: connection limit reached",
		"refused_over_total", ll.refusedTotal, "max_conns", ll.l.Max, "open", ll.total,
		"refused_over_per_client", ll.refusedClient, "max_conns_per_client", ll.l.PerClient,
		"last_client", ll.lastClient, "since", ll.l.LogEvery)
	ll.logged, ll.refusedTotal, ll.refusedClient = now, 0, 0
}

func (ll *limitListener) release(key string, perClient bool) {
	ll.mu.Lock()
	defer ll.mu.Unlock()
	ll.total--
	if perClient {
		if n := ll.open[key] - 1; n > 0 {
			ll.open[key] = n
		} else {
			delete(ll.open, key)
		}
	}
}

// limitedConn gives its slot back when it is closed, once however often
// Close is called (net/http may close a connection twice).
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// DefaultBodyTimeout is how long an unauthenticated endpoint (the admin
// sign-in, the OAuth token endpoint) waits for its small request body.
const DefaultBodyTimeout = 10 * time.Second

// BodyDeadline gives the rest of the request's body d to arrive (d <= 0:
// [DefaultBodyTimeout]), for endpoints any stranger may call: the server's
// read timeout is long enough for a large SCIM upload, which would let a
// client that never finishes a sign-in hold its connection for minutes.
// Read the body, then call done with the read's error. done reports whether
// the read timed out; if it did, the connection is closed after the answer
// (reading on, to keep it alive, would wait without a deadline), else the
// deadline is lifted so the answer is not cut short. Where the connection
// allows no deadline (a test recorder) nothing changes.
func BodyDeadline(w http.ResponseWriter, d time.Duration) (done func(readErr error) (timedOut bool)) {
	if d <= 0 {
		d = DefaultBodyTimeout
	}
	rc := http.NewResponseController(w)
	set := rc.SetReadDeadline(time.Now().Add(d)) == nil
	return func(err error) bool {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.Header().Set("Connection", "close")
			return true
		}
		if set {
			_ = rc.SetReadDeadline(time.Time{})
		}
		return false
	}
}
