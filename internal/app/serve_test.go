package app_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
)

// syncBuffer is a buffer the server and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve runs app.Serve with cfg on a fresh SQLite file and a free loopback
// port until the test ends, and returns the server's address and log.
func serve(t *testing.T, cfg app.Config) (addr string, log *syncBuffer) {
	t.Helper()
	out, log := &syncBuffer{}, &syncBuffer{}
	cfg.Addr = "127.0.0.1:0"
	cfg.DB = filepath.Join(t.TempDir(), "roster.db")
	cfg.Out = out
	cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
	cfg.ShutdownTimeout = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not stop")
		}
	})
	banner := regexp.MustCompile(`serving SCIM 2\.0 at http://(\S+) `)
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			require.NoError(t, err, "Serve ended early")
		default:
		}
		m := banner.FindStringSubmatch(out.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 20*time.Second, 10*time.Millisecond)
	return addr, log
}

// dialFrom connects to addr from the loopback address src: Linux routes all
// of 127.0.0.0/8 to lo, so each src is a client address of its own.
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

// closedAtOnce reports whether the server closed c without answering.
func closedAtOnce(t *testing.T, c net.Conn) bool {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestConnectionLimits runs `roster serve` and shows that one client
// address holding its quota of idle connections gets no more, while
// another client still reaches /healthz; and that a sign-in or token
// request whose body trickles in is answered 408 after the short body
// timeout instead of holding its connection for the server's two-minute
// read timeout.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	addr, log := serve(t, app.Config{MaxConns: 100, MaxConnsPerClient: 4, BodyTimeout: 300 * time.Millisecond})

	var idle []net.Conn
	for range 4 {
		idle = append(idle, dialFrom(t, "127.0.0.2", addr))
	}
	require.True(t, closedAtOnce(t, dialFrom(t, "127.0.0.2", addr)), "a fifth connection from the same address is refused")
	for _, c := range idle {
		require.False(t, closedAtOnce(t, c), "the first four stay open")
	}

	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")},
	}).DialContext}, Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	res, err := client.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode, "another client is served")
	require.Contains(t, log.String(), "CONN-0429")

	for _, tc := range []struct{ name, path, contentType string }{
		{"AdminLogin", "/admin/api/login", "application/json"},
		{"OAuthToken", "/oauth/default/token", "application/x-www-form-urlencoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialFrom(t, "127.0.0.4", addr)
			_, err := c.Write([]byte("POST " + tc.path + " HTTP/1.1\r\nHost: roster\r\nContent-Type: " + tc.contentType +
				"\r\nContent-Length: 100\r\n\r\n{"))
			require.NoError(t, err)
			start := time.Now()
			require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			require.NoError(t, err, "answered before the server's long read timeout")
			res.Body.Close()
			require.Equal(t, http.StatusRequestTimeout, res.StatusCode)
			require.Less(t, time.Since(start), 3*time.Second)
		})
	}
	require.False(t, strings.Contains(log.String(), "level=ERROR"), "%s", log)
}

// TestMaxConnsBelowFileLimit shows a --max-conns above the open files the
// process may hold lowered, with a warning, so that clients cannot take
// the descriptors the database needs.
func TestMaxConnsBelowFileLimit(t *testing.T) {
	t.Parallel()
	_, log := serve(t, app.Config{MaxConns: 1 << 30})
	require.Contains(t, log.String(), "CONN-0001")
	require.Contains(t, log.String(), "lowered_to=")
}
