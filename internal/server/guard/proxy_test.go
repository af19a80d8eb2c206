package guard_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/server/guard"
)

func TestParseProxies(t *testing.T) {
	t.Parallel()

	p, err := guard.ParseProxies([]string{"10.0.0.0/8", " 192.168.1.7 ", "::1/128", "fd00::/8", "::ffff:172.16.0.0/108", "fe80::1%eth0"})
	require.NoError(t, err)
	for addr, want := range map[string]bool{
		"10.1.2.3:80":             true,
		"[::ffff:10.1.2.3]:80":    true, // mapped IPv4 matches the IPv4 prefix
		"192.168.1.7:1":           true,
		"192.168.1.8:1":           false,
		"[::1]:1":                 true,
		"[fd12::1]:1":             true,
		"172.16.5.5:1":            true, // mapped prefix matches plain IPv4
		"172.32.0.1:1":            false,
		"[fe80::1%eth1]:1":        true, // the zone names an interface, not a host
		"11.0.0.1:1":              false,
		"[2001:db8::1]:443":       false,
		"not-an-address-at-all:1": false,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = addr
		r.Header.Set("X-Forwarded-For", "203.0.113.1")
		got := p.Client(r).Addr == "203.0.113.1"
		require.Equal(t, want, got, addr)
	}

	for _, tc := range []struct {
		specs []string
		bad   string
	}{
		{[]string{"10.0.0.0/8", "10.0.0.0/33"}, "10.0.0.0/33"},
		{[]string{"example.com"}, "example.com"},
		{[]string{""}, `""`},
		{[]string{"1.2.3.4:80"}, "1.2.3.4:80"},
		{[]string{"[::1]"}, "[::1]"},
	} {
		_, err := guard.ParseProxies(tc.specs)
		require.ErrorContains(t, err, tc.bad)
	}

	for _, specs := range [][]string{nil, {}} {
		p, err := guard.ParseProxies(specs)
		require.NoError(t, err)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "127.0.0.1:5"
		r.Header.Set("X-Forwarded-For", "203.0.113.1")
		require.Equal(t, "127.0.0.1", p.Client(r).Addr)
	}
}

func TestClient(t *testing.T) {
	t.Parallel()

	proxies, err := guard.ParseProxies([]string{"10.0.0.0/8", "::1", "2001:db8:ffff::/48"})
	require.NoError(t, err)

	type header = map[string][]string
	for _, tc := range []struct {
		name   string
		remote string
		tls    bool
		header header
		want   guard.Client
	}{
		{
			name:   "NoHeaders",
			remote: "198.51.100.2:3456",
			want:   guard.Client{Addr: "198.51.100.2", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "TLS",
			remote: "198.51.100.2:3456",
			tls:    true,
			want:   guard.Client{Addr: "198.51.100.2", Scheme: "https", Host: "roster.test"},
		},
		{
			name:   "UntrustedPeerSpoofsEverything",
			remote: "198.51.100.2:3456",
			header: header{
				"X-Forwarded-For":   {"10.0.0.1, 1.1.1.1"},
				"X-Forwarded-Proto": {"https"},
				"X-Forwarded-Host":  {"evil.example"},
				"Forwarded":         {"for=1.1.1.1;proto=https;host=evil.example"},
			},
			want: guard.Client{Addr: "198.51.100.2", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "TrustedPeerNoHeaders",
			remote: "10.0.0.1:80",
			want:   guard.Client{Addr: "10.0.0.1", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "ClientThroughTwoProxies",
			remote: "10.0.0.1:80",
			header: header{
				"X-Forwarded-For":   {"203.0.113.9, 10.0.0.2"},
				"X-Forwarded-Proto": {"https"},
				"X-Forwarded-Host":  {"scim.example.com"},
			},
			want: guard.Client{Addr: "203.0.113.9", Scheme: "https", Host: "scim.example.com"},
		},
		{
			name:   "SpoofedLeftEntriesIgnored",
			remote: "10.0.0.1:80",
			header: header{"X-Forwarded-For": {"10.9.9.9, 6.6.6.6, 203.0.113.9"}},
			want:   guard.Client{Addr: "203.0.113.9", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "SeveralHeaderLines",
			remote: "10.0.0.1:80",
			header: header{"X-Forwarded-For": {"6.6.6.6", "203.0.113.9, 10.0.0.3", ""}},
			want:   guard.Client{Addr: "203.0.113.9", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "AllTrustedTakesLeftMost",
			remote: "10.0.0.1:80",
			header: header{"X-Forwarded-For": {"10.0.0.9, 10.0.0.8"}},
			want:   guard.Client{Addr: "10.0.0.9", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "PortsStripped",
			remote: "10.0.0.1:80",
			header: header{"X-Forwarded-For": {"203.0.113.9:5555, 10.0.0.2:443"}},
			want:   guard.Client{Addr: "203.0.113.9", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "IPv6Peer",
			remote: "[2001:db8::1]:443",
			want:   guard.Client{Addr: "2001:db8::1", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "IPv6ThroughProxy",
			remote: "[::1]:8080",
			header: header{"X-Forwarded-For": {"[2001:db8::7]:5555, [2001:db8:ffff::1]"}},
			want:   guard.Client{Addr: "2001:db8::7", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "BareIPv6Entry",
			remote: "[::1]:8080",
			header: header{"X-Forwarded-For": {"2001:db8::7"}},
			want:   guard.Client{Addr: "2001:db8::7", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "ZoneAndMappedAddressNormalised",
			remote: "[::ffff:10.0.0.1]:80",
			header: header{"X-Forwarded-For": {"[fe80::1%eth0]:9"}},
			want:   guard.Client{Addr: "fe80::1", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "RemoteAddrWithoutPort",
			remote: "198.51.100.2",
			want:   guard.Client{Addr: "198.51.100.2", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "UnixSocketPeer",
			remote: "@",
			header: header{"X-Forwarded-For": {"203.0.113.9"}},
			want:   guard.Client{Addr: "", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "MalformedEntryStopsWalk",
			remote: "10.0.0.1:80",
			header: header{"X-Forwarded-For": {"203.0.113.9, garbage, 10.0.0.3"}},
			want:   guard.Client{Addr: "10.0.0.3", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "MalformedRightMostKeepsPeer",
			remote: "10.0.0.1:80",
			header: header{"X-Forwarded-For": {"203.0.113.9, unknown"}},
			want:   guard.Client{Addr: "10.0.0.1", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "BracketedIPv4Malformed",
			remote: "10.0.0.1:80",
			header: header{"X-Forwarded-For": {"[203.0.113.9]"}},
			want:   guard.Client{Addr: "10.0.0.1", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "MalformedLeftOfClientIrrelevant",
			remote: "10.0.0.1:80",
			header: header{"X-Forwarded-For": {"<script>, 203.0.113.9"}},
			want:   guard.Client{Addr: "203.0.113.9", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "Forwarded",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {"for=192.0.2.60;proto=https;host=scim.example.com"}},
			want:   guard.Client{Addr: "192.0.2.60", Scheme: "https", Host: "scim.example.com"},
		},
		{
			name:   "ForwardedQuotedIPv6",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {`For="[2001:db8:cafe::17]:4711";Proto=HTTPS`}},
			want:   guard.Client{Addr: "2001:db8:cafe::17", Scheme: "https", Host: "roster.test"},
		},
		{
			name:   "ForwardedChainUsesClientHop",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {
				`for=6.6.6.6;host=evil.example, for=198.51.100.7;proto=https;host="a.example:8443"`,
				"for=10.0.0.5;proto=http;host=internal",
			}},
			want: guard.Client{Addr: "198.51.100.7", Scheme: "https", Host: "a.example:8443"},
		},
		{
			name:   "ForwardedQuotedSeparators",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {`for=198.51.100.7;ext="a,b;c=\"d\"", for=10.0.0.5`}},
			want:   guard.Client{Addr: "198.51.100.7", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "ForwardedUnknownStopsWalk",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {"for=198.51.100.7, for=unknown, for=10.0.0.5"}},
			want:   guard.Client{Addr: "10.0.0.5", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "ForwardedObfuscatedStopsWalk",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {"for=_hidden;proto=https"}},
			want:   guard.Client{Addr: "10.0.0.1", Scheme: "https", Host: "roster.test"},
		},
		{
			name:   "ForwardedRepeatedParameterMalformed",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {"for=198.51.100.7;for=6.6.6.6"}},
			want:   guard.Client{Addr: "10.0.0.1", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "ForwardedUnterminatedQuote",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {`for="198.51.100.7`}},
			want:   guard.Client{Addr: "10.0.0.1", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "ForwardedEscapedClosingQuote",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {`for="198.51.100.7\"`}},
			want:   guard.Client{Addr: "10.0.0.1", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "ForwardedStrayQuote",
			remote: "10.0.0.1:80",
			header: header{"Forwarded": {`for="198.51.100.7"x"`}},
			want:   guard.Client{Addr: "10.0.0.1", Scheme: "http", Host: "roster.test"},
		},
		{
			name:   "ForwardedIgnoredForAddrWhenXFFPresent",
			remote: "10.0.0.1:80",
			header: header{
				"X-Forwarded-For": {"203.0.113.9"},
				"Forwarded":       {"for=198.51.100.7;proto=https"},
			},
			want: guard.Client{Addr: "203.0.113.9", Scheme: "https", Host: "roster.test"},
		},
		{
			name:   "ProtoPerHopAligned",
			remote: "10.0.0.1:80",
			header: header{
				"X-Forwarded-For":   {"203.0.113.9, 10.0.0.7"},
				"X-Forwarded-Proto": {"https, http"},
				"X-Forwarded-Host":  {"scim.example.com, lb.internal"},
			},
			want: guard.Client{Addr: "203.0.113.9", Scheme: "https", Host: "scim.example.com"},
		},
		{
			name:   "ProtoCountMismatchTakesRightMost",
			remote: "10.0.0.1:80",
			header: header{
				"X-Forwarded-For":   {"203.0.113.9"},
				"X-Forwarded-Proto": {"http, https"},
			},
			want: guard.Client{Addr: "203.0.113.9", Scheme: "https", Host: "roster.test"},
		},
		{
			name:   "InvalidProtoAndHostIgnored",
			remote: "10.0.0.1:80",
			tls:    true,
			header: header{
				"X-Forwarded-Proto": {"gopher"},
				"X-Forwarded-Host":  {"evil.example/path?x"},
			},
			want: guard.Client{Addr: "10.0.0.1", Scheme: "https", Host: "roster.test"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "http://roster.test/scim/v2/acme/Users", nil)
			r.RemoteAddr = tc.remote
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, vs := range tc.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			require.Equal(t, tc.want, proxies.Client(r))
		})
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()

	proxies, err := guard.ParseProxies([]string{"10.0.0.0/8"})
	require.NoError(t, err)
	newRequest := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "10.0.0.1:80"
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		return r
	}

	var got guard.Client
	h := guard.Middleware(proxies, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := guard.ClientFrom(r.Context())
		require.True(t, ok)
		require.Equal(t, c, guard.ClientOf(r))
		got = c
	}))
	h.ServeHTTP(httptest.NewRecorder(), newRequest())
	require.Equal(t, "203.0.113.9", got.Addr)

	// Without the middleware nobody is trusted.
	r := newRequest()
	_, ok := guard.ClientFrom(r.Context())
	require.False(t, ok)
	require.Equal(t, "10.0.0.1", guard.ClientOf(r).Addr)
}

func TestAddrKey(t *testing.T) {
	t.Parallel()

	for addr, want := range map[string]string{
		"203.0.113.9":               "203.0.113.9",
		"2001:db8:1:2:3:4:5:6":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":      "2001:db8:1:2::/64",
		"::1":                       "::/64",
		"":                          "",
		"not an address":            "not an address",
		"tenant-3f2a":               "tenant-3f2a",
		"::ffff:203.0.113.9":        "::ffff:203.0.113.9",
		"fe80::1:2:3:4%eth0":        "fe80::/64",
		"2001:db8:abcd:12:0:0:0:ff": "2001:db8:abcd:12::/64",
	} {
		require.Equal(t, want, guard.AddrKey(addr), addr)
	}
}

func FuzzClient(f *testing.F) {
	for _, s := range [][5]string{
		{"10.0.0.1:80", "203.0.113.9, 10.0.0.2", "", "https", "scim.example.com"},
		{"[::1]:8080", "[2001:db8::7]:5555", "", "http", ""},
		{"10.0.0.1:80", "", `for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.5`, "", ""},
		{"198.51.100.2:1", "1.1.1.1", "for=1.1.1.1", "https", "evil"},
		{"@", "garbage", `for="\`, "gopher", "a b"},
		{"[fe80::1%eth0]:1", ",,,", ";;;,=,", "HTTPS", "[::1]:80"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	narrow, err := guard.ParseProxies([]string{"10.0.0.0/8", "::1"})
	require.NoError(f, err)
	everyone, err := guard.ParseProxies([]string{"0.0.0.0/0", "::/0"})
	require.NoError(f, err)

	f.Fuzz(func(t *testing.T, remote, xff, fwd, proto, host string) {
		r := httptest.NewRequest(http.MethodGet, "http://roster.test/", nil)
		r.RemoteAddr = remote
		r.Header["X-Forwarded-For"] = strings.Split(xff, "\n")
		r.Header["Forwarded"] = strings.Split(fwd, "\n")
		r.Header["X-Forwarded-Proto"] = []string{proto}
		r.Header["X-Forwarded-Host"] = []string{host}

		var peer netip.Addr
		if ap, err := netip.ParseAddrPort(remote); err == nil {
			peer = ap.Addr().Unmap().WithZone("")
		}
		narrowTrusts := netip.MustParsePrefix("10.0.0.0/8").Contains(peer) || peer == netip.IPv6Loopback()
		for _, p := range []*guard.Proxies{nil, narrow, everyone} {
			c := p.Client(r)
			if c.Addr != "" {
				a, err := netip.ParseAddr(c.Addr)
				require.NoError(t, err, "Addr %q", c.Addr)
				require.Equal(t, a.String(), c.Addr, "Addr not canonical")
			}
			require.Contains(t, []string{"http", "https"}, c.Scheme)
			require.NotContains(t, c.Host, "/")
			// A peer outside the trusted set always speaks for itself.
			if peer.IsValid() && (p == nil || p == narrow && !narrowTrusts) {
				require.Equal(t, peer.String(), c.Addr)
				require.Equal(t, "http", c.Scheme)
				require.Equal(t, "roster.test", c.Host)
			}
		}
	})
}

func BenchmarkClient(b *testing.B) {
	p, err := guard.ParseProxies([]string{"10.0.0.0/8", "172.16.0.0/12"})
	require.NoError(b, err)
	r := httptest.NewRequest(http.MethodGet, "http://roster.test/", nil)
	r.RemoteAddr = "10.0.0.1:34567"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 172.16.0.4")
	r.Header.Set("X-Forwarded-Proto", "https")
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Client(r)
	}
}
