package guard_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/server/guard"
)

// dialFrom opens a TCP connection to addr from the loopback address src:
// Linux routes all of 127.0.0.0/8 to lo, so each src is a client of its own.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		// Only Linux routes all of 127.0.0.0/8 to lo out of the box.
		t.Skipf("cannot connect from %s on this system: %v", src, err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// refused reports whether the server closed c without a word: a read ends
// at once with EOF or a reset instead of waiting.
func refused(t *testing.T, c net.Conn) bool {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err := c.Read(make([]byte, 1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	require.Error(t, err, "the test server never writes")
	return true
}

// holdServer accepts connections from ln and keeps them open, unanswered,
// until the client closes its end or the test ends.
func holdServer(t *testing.T, ln net.Listener) {
	t.Helper()
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
}

// TestLimitListener opens idle connections from distinct loopback
// addresses over real sockets and shows each limit refusing the next
// connection while other clients still get in, a closed connection giving
// its slot back, trusted proxies exempt from the per-client limit, and the
// refusal logged once, not per connection.
func TestLimitListener(t *testing.T) {
	t.Parallel()
	type bundle struct {
		ln   net.Listener
		addr string
		log  *lockedWriter
	}
	setup := func(t *testing.T, l guard.ConnLimits) bundle {
		t.Helper()
		raw, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		log := &lockedWriter{}
		l.Logger = slog.New(slog.NewTextHandler(log, nil))
		ln := guard.LimitListener(raw, l)
		holdServer(t, ln)
		return bundle{ln: ln, addr: raw.Addr().String(), log: log}
	}
	// opened waits until the listener has accepted total connections: the
	// kernel completes a handshake before Accept sees it.
	opened := func(t *testing.T, b bundle, total int) {
		t.Helper()
		require.Eventually(t, func() bool { n, _ := guard.OpenConns(b.ln, ""); return n == total },
			2*time.Second, 5*time.Millisecond)
	}

	t.Run("PerClient", func(t *testing.T) {
		t.Parallel()
		b := setup(t, guard.ConnLimits{Max: 100, PerClient: 3})
		var mine []net.Conn
		for range 3 {
			mine = append(mine, dialFrom(t, "127.0.0.2", b.addr))
		}
		opened(t, b, 3)
		for _, c := range mine {
			require.False(t, refused(t, c), "within the limit")
		}
		require.True(t, refused(t, dialFrom(t, "127.0.0.2", b.addr)), "one more from the same address")
		require.False(t, refused(t, dialFrom(t, "127.0.0.3", b.addr)), "another address gets in")

		mine[0].Close()
		require.Eventually(t, func() bool { _, n := guard.OpenConns(b.ln, "127.0.0.2"); return n == 2 },
			2*time.Second, 5*time.Millisecond, "a closed connection gives its slot back")
		require.False(t, refused(t, dialFrom(t, "127.0.0.2", b.addr)))
		require.Contains(t, b.log.String(), "CONN-0429")
		require.Contains(t, b.log.String(), "last_client=127.0.0.2")
	})
	t.Run("Total", func(t *testing.T) {
		t.Parallel()
		b := setup(t, guard.ConnLimits{Max: 4, PerClient: 3})
		for _, src := range []string{"127.0.0.4", "127.0.0.4", "127.0.0.5", "127.0.0.6"} {
			dialFrom(t, src, b.addr)
		}
		opened(t, b, 4)
		require.True(t, refused(t, dialFrom(t, "127.0.0.7", b.addr)), "a fresh address is refused when the server is full")
	})
	t.Run("TrustedProxyExempt", func(t *testing.T) {
		t.Parallel()
		proxies, err := guard.ParseProxies([]string{"127.0.0.8"})
		require.NoError(t, err)
		b := setup(t, guard.ConnLimits{Max: 100, PerClient: 2, Proxies: proxies})
		var conns []net.Conn
		for range 4 {
			conns = append(conns, dialFrom(t, "127.0.0.8", b.addr))
		}
		opened(t, b, 4)
		for _, c := range conns {
			require.False(t, refused(t, c), "a trusted proxy carries many clients")
		}
	})
	t.Run("LogRateLimited", func(t *testing.T) {
		t.Parallel()
		b := setup(t, guard.ConnLimits{PerClient: 1})
		dialFrom(t, "127.0.0.9", b.addr)
		opened(t, b, 1)
		for range 5 {
			require.True(t, refused(t, dialFrom(t, "127.0.0.9", b.addr)))
		}
		require.Equal(t, 1, bytes.Count([]byte(b.log.String()), []byte("CONN-0429")), "one line for the burst: %s", b.log)
	})
	t.Run("NoLimits", func(t *testing.T) {
		t.Parallel()
		raw, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer raw.Close()
		require.Same(t, raw, guard.LimitListener(raw, guard.ConnLimits{}))
	})
}

func TestConnKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 5}, "192.0.2.1"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 5}, "192.0.2.1"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 5}, "2001:db8:1:2::/64"},
		{&net.UnixAddr{Name: "/run/roster.sock", Net: "unix"}, ""},
		{nil, ""},
	} {
		require.Equal(t, tc.want, guard.ConnKey(tc.addr), "%v", tc.addr)
	}
}

// lockedWriter lets the listener's goroutine and the test share a buffer.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
