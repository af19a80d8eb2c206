package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrDestination is the error of a webhook destination that is refused:
// an endpoint URL's literal address when the endpoint is created, or the
// address a delivery was about to connect to.
var ErrDestination = errors.New("webhook destination is not a public address")

// reach is the kind of network an address belongs to.
type reach int

const (
	public reach = iota
	// private addresses belong to this host or its organisation's
	// network: loopback, RFC 1918, RFC 4193 and carrier-grade NAT. An
	// on-premises receiver may have one (Config.AllowPrivate).
	private
	// never addresses are no receiver's: link-local (among them the cloud
	// metadata service at 169.254.169.254), unspecified (0.0.0.0 reaches
	// this host), multicast and reserved.
	never
)

// Ranges IsPrivate, IsLoopback and friends do not cover.
var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598 shared address space
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")     // RFC 1122 "this host on this network"
	reservedV4  = []netip.Prefix{
		netip.MustParsePrefix("192.0.0.0/24"),  // RFC 6890 IETF protocol assignments
		netip.MustParsePrefix("198.18.0.0/15"), // RFC 2544 benchmarking
		netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and the broadcast address
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: an IPv4 address in IPv6
	siteLocal = netip.MustParsePrefix("fec0::/10")    // deprecated, still routed internally
)

// reachOf classifies a: IPv4-mapped (::ffff:a.b.c.d) and NAT64
// (64:ff9b::a.b.c.d) addresses as the IPv4 address they carry, which is
// where a connection to them ends up.
func reachOf(a netip.Addr) reach {
	a = a.WithZone("")
	if a.Is4In6() {
		a = a.Unmap()
	}
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:16]))
	}
	switch {
	case !a.IsValid(), a.IsUnspecified(), a.IsLinkLocalUnicast(), a.IsMulticast(),
		a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast(), thisNetwork.Contains(a):
		return never
	case a.Is4() && containsAny(reservedV4, a):
		return never
	case a.IsLoopback(), a.IsPrivate(), cgnat.Contains(a), siteLocal.Contains(a):
		return private
	}
	return public
}

func containsAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkAddr refuses a destination address a receiver may not have.
func checkAddr(a netip.Addr, allowPrivate bool) error {
	switch reachOf(a) {
	case never:
		return fmt.Errorf("%w: %s is link-local, unspecified, multicast or reserved", ErrDestination, a)
	case private:
		if !allowPrivate {
			return fmt.Errorf("%w: %s is a loopback or private address; for receivers on premises, run roster serve with --webhook-allow-private (and roster webhook add with --allow-private)", ErrDestination, a)
		}
	}
	return nil
}

// checkHost refuses, when an endpoint is created, a URL host that is an IP
// address (or localhost) no delivery could reach. Names are resolved only
// when delivering, so that a name that resolves elsewhere later (DNS
// rebinding) is still caught by the dialer's check.
func checkHost(host string, allowPrivate bool) error {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if !allowPrivate && (h == "localhost" || strings.HasSuffix(h, ".localhost")) {
		// RFC 6761 §6.3: always the loopback address.
		return fmt.Errorf("%w: %s is this host; for receivers on premises, run roster serve with --webhook-allow-private (and roster webhook add with --allow-private)", ErrDestination, host)
	}
	a, err := netip.ParseAddr(h)
	if err == nil {
		return checkAddr(a, allowPrivate)
	}
	if endsInNumber(h) {
		// "127.1", "2130706433", "0x7f.0.0.1": IPv4 addresses to
		// browsers (the WHATWG URL standard) and to inet_aton, which a
		// system resolver may use, though not to Go's parser; no DNS name
		// ends in a number.
		return fmt.Errorf("%s is an IP address in a non-standard form or no valid host name; write an address as a.b.c.d", host)
	}
	return nil // a name, checked when it is resolved
}

// endsInNumber reports whether the last label of a host name is a decimal,
// octal or hexadecimal number, which makes the WHATWG URL standard parse
// the host as an IPv4 address.
func endsInNumber(host string) bool {
	labels := strings.Split(host, ".")
	last := labels[len(labels)-1]
	if last == "" && len(labels) > 1 {
		last = labels[len(labels)-2]
	}
	if last == "" {
		return false
	}
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// dialControl returns the dialer's Control function: it runs after the
// name was resolved and before each connection is made, on the address
// actually dialled, so neither a name that resolves to a private address
// nor one whose answer changes between check and use (DNS rebinding)
// gets through.
func dialControl(allowPrivate bool) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(_ context.Context, network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse dialled address %q (%s)", ErrDestination, address, network)
		}
		return checkAddr(ap.Addr(), allowPrivate)
	}
}

// newHTTPClient returns the delivery client: it follows no redirects (a
// 3xx counts as a failure, and the receiver cannot send Roster elsewhere)
// and connects only to addresses checkAddr allows. It uses no HTTP proxy
// from the environment: through a proxy, the dialer would check the
// proxy's address instead of the receiver's.
func newHTTPClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{
		Timeout:        timeout,
		KeepAlive:      30 * time.Second,
		ControlContext: dialControl(allowPrivate),
	}
	// http.DefaultTransport's settings, without its Proxy.
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Timeout:       timeout,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
