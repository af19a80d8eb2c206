package webhook

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

func TestReachOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		addr string
		want reach
	}{
		{"93.184.215.14", public},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", public},
		{"8.8.8.8", public},
		{"127.0.0.1", private},
		{"127.255.255.254", private},
		{"::1", private},
		{"10.1.2.3", private},
		{"172.16.0.1", private},
		{"172.31.255.255", private},
		{"192.168.1.1", private},
		{"fd00::1", private},    // RFC 4193
		{"fc00::1", private},    // RFC 4193
		{"100.64.0.1", private}, // carrier-grade NAT
		{"100.127.255.255", private},
		{"fec0::1", private}, // site-local
		{"::ffff:127.0.0.1", private},
		{"::ffff:10.0.0.1", private},
		{"64:ff9b::a00:1", private}, // NAT64 of 10.0.0.1
		{"169.254.169.254", never},  // cloud metadata
		{"169.254.0.1", never},
		{"::ffff:169.254.169.254", never},
		{"64:ff9b::a9fe:a9fe", never}, // NAT64 of 169.254.169.254
		{"fe80::1", never},
		{"fe80::1%eth0", never},
		{"0.0.0.0", never},
		{"0.1.2.3", never},
		{"::", never},
		{"::ffff:0.0.0.0", never},
		{"224.0.0.1", never},
		{"ff02::1", never},
		{"255.255.255.255", never},
		{"240.0.0.1", never},
		{"198.18.0.1", never},
		{"192.0.0.8", never},
		{"172.32.0.1", public},
		{"100.128.0.1", public},
		{"64:ff9b::5db8:d70e", public}, // NAT64 of a public address
	}
	for _, c := range cases {
		t.Run(c.addr, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, reachOf(netip.MustParseAddr(c.addr)))
		})
	}
}

// TestCreateRefusesNonPublicURL: an endpoint whose URL is an address no
// delivery may reach is refused when it is created.
func TestCreateRefusesNonPublicURL(t *testing.T) {
	t.Parallel()
	b := setupSQLite(t)
	tenant := store.Tenant{ID: testTenant, Name: testTenant}
	cases := []struct {
		url                string
		allowed, allowedIf bool // without and with allowPrivate
	}{
		{"https://hooks.example.com/roster", true, true},
		{"https://93.184.215.14/hook", true, true},
		{"http://127.0.0.1:8080/hook", false, true},
		{"http://[::1]/hook", false, true},
		{"http://[::ffff:127.0.0.1]/hook", false, true},
		{"http://10.0.0.5/hook", false, true},
		{"http://192.168.0.10/hook", false, true},
		{"http://[fd12:3456::1]/hook", false, true},
		{"http://100.64.1.1/hook", false, true},
		{"http://localhost:9000/hook", false, true},
		{"http://LOCALHOST./hook", false, true},
		{"http://app.localhost/hook", false, true},
		{"http://169.254.169.254/latest/meta-data/", false, false},
		{"http://[::ffff:169.254.169.254]/latest/meta-data/", false, false},
		{"http://[fe80::1%25eth0]/hook", false, false},
		{"http://0.0.0.0:8080/hook", false, false},
		{"http://224.0.0.1/hook", false, false},
		{"http://127.1/hook", false, false},
		{"http://2130706433/hook", false, false},
		{"http://0x7f000001/hook", false, false},
		{"http://0x7f.0.0.1/hook", false, false},
		{"http://017700000001/hook", false, false},
		{"http://hooks.example.com.:8443/hook", true, true},
		{"http://1password.example/hook", true, true},
		{"http://api.v2.example/hook", true, true},
	}
	for _, c := range cases {
		for _, allowPrivate := range []bool{false, true} {
			want := c.allowed
			if allowPrivate {
				want = c.allowedIf
			}
			_, err := NewEndpoints(b.store, allowPrivate).Create(context.Background(), tenant, EndpointRequest{URL: c.url}, "test")
			if want {
				require.NoError(t, err, "%s, allowPrivate %v", c.url, allowPrivate)
			} else {
				require.ErrorIs(t, err, ErrInvalid, "%s, allowPrivate %v", c.url, allowPrivate)
			}
		}
	}
}

// TestDeliveryRefusesNonPublicAddress: without AllowPrivate no request
// reaches a receiver on a loopback address, whether the URL names the
// address or a name that resolves to it (as a rebinding DNS name does at
// delivery time), and with it the cloud metadata address is still refused.
// Endpoints are written to the store directly, as if created before the
// creation check or by a name that resolved elsewhere then.
func TestDeliveryRefusesNonPublicAddress(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		rc := newReceiver(t)
		port := rc.srv.Listener.Addr().(*net.TCPAddr).Port
		cases := []struct{ id, url, wantErr string }{
			{"literal", rc.srv.URL, "127.0.0.1 is a loopback or private address"},
			{"name", "http://localhost:" + itoa(port) + "/", "is a loopback or private address"},
			{"mapped", "http://[::ffff:127.0.0.1]:" + itoa(port) + "/", "127.0.0.1 is a loopback or private address"},
			{"metadata", "http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"},
		}
		for _, c := range cases {
			createEndpoint(t, b.store, c.id, c.url, rc.secret, func(e *store.WebhookEndpoint) { e.MaxAttempts = 1 })
		}
		cfg := testConfig(t, b.store)
		cfg.AllowPrivate = false
		s := startService(t, b.host, cfg)
		writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 0, 1)
		s.Notify()
		for _, c := range cases {
			d := waitDeliveries(t, s, c.id, StateDead, 1, 10*time.Second)[0]
			require.Contains(t, d.LastError, ErrDestination.Error(), c.id)
			require.Contains(t, d.LastError, c.wantErr, c.id)
			require.Zero(t, d.LastStatus, c.id)
		}
		require.Empty(t, rc.got(), "no request reached the receiver")
	})
}

// TestFailedDeliveryKeepsNoResponseBytes: a failed delivery records the
// status and its standard text, never what the receiver answered: not the
// body, not its own reason phrase, not the banner of a service that does
// not speak HTTP. With AllowPrivate a loopback receiver gets its
// deliveries, and the metadata address stays refused.
func TestFailedDeliveryKeepsNoResponseBytes(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		rc := newReceiver(t)
		rc.setHandle(func(r request, _ int) int { return 204 })
		cases := []struct {
			id, url   string
			state     string
			status    int
			wantError string // the whole last_error; "" for none
			contains  string // part of last_error, when wantError is not known exactly
		}{
			{id: "ok", url: rc.srv.URL, state: StateDelivered, status: 204},
			{id: "body", url: "http://" + rawServer(t, "HTTP/1.1 500 password=hunter2\r\nContent-Length: 27\r\nConnection: close\r\n\r\nredis: password is hunter2\n"),
				state: StateDead, status: 500, wantError: "HTTP 500 Internal Server Error"},
			{id: "redirect", url: "http://" + rawServer(t, "HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1/hunter2\r\nContent-Length: 7\r\nConnection: close\r\n\r\nhunter2"),
				state: StateDead, status: 302, wantError: "HTTP 302 Found"},
			{id: "banner", url: "http://" + rawServer(t, "SSH-2.0-OpenSSH_9.6 hunter2\r\n"),
				state: StateDead, wantError: "the receiver's answer was not a valid HTTP response"},
			{id: "metadata", url: "http://169.254.169.254/latest/meta-data/", state: StateDead, contains: "169.254.169.254 is link-local"},
		}
		for _, c := range cases {
			createEndpoint(t, b.store, c.id, c.url, rc.secret, func(e *store.WebhookEndpoint) { e.MaxAttempts = 1 })
		}
		cfg := testConfig(t, b.store)
		cfg.AllowPrivate = true
		s := startService(t, b.host, cfg)
		writeEvents(t, b.store, testTenant, "u1", store.UserUpdated, 0, 1)
		s.Notify()
		for _, c := range cases {
			d := waitDeliveries(t, s, c.id, c.state, 1, 10*time.Second)[0]
			require.Equal(t, c.status, d.LastStatus, c.id)
			if c.contains != "" {
				require.Contains(t, d.LastError, c.contains, c.id)
			} else {
				require.Equal(t, c.wantError, d.LastError, c.id)
			}
			require.NotContains(t, d.LastError, "hunter2", c.id)
		}
	})
}

// rawServer listens on 127.0.0.1 and answers every connection with resp
// after reading the request's head; it returns its address.
func rawServer(t *testing.T, resp string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				if !strings.HasPrefix(resp, "HTTP/") {
					// A service that greets first, as SSH does.
					_, _ = conn.Write([]byte(resp))
				}
				br := bufio.NewReader(conn)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				if strings.HasPrefix(resp, "HTTP/") {
					_, _ = conn.Write([]byte(resp))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func itoa(n int) string { return strconv.Itoa(n) }
