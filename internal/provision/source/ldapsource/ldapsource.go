package ldapsource

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source"
)

// Defaults of Options.
const (
	DefaultAnchor      = "entryUUID"
	DefaultUserFilter  = "(objectClass=inetOrgPerson)"
	DefaultGroupFilter = "(objectClass=groupOfNames)"
	// ADUserFilter and ADGroupFilter are Active Directory's users (people,
	// not computers) and groups.
	ADUserFilter           = "(&(objectCategory=person)(objectClass=user))"
	ADGroupFilter          = "(objectClass=group)"
	DefaultMemberAttribute = "member"
	DefaultPageSize        = 500
	DefaultTimeout         = 30 * time.Second
	DefaultOverlap         = time.Second
	DefaultMaxSeen         = 10000
	// memberCacheSize bounds the DN → anchor cache of one listing; past it
	// the cache is emptied, which costs lookups, never correctness.
	memberCacheSize = 10000
)

// Options configure a Source.
type Options struct {
	// URL is the server, ldap://host:389 or ldaps://host:636.
	URL string
	// BindDN and BindPassword are the credentials of a simple bind. An
	// empty BindDN binds anonymously (no bind request at all).
	BindDN       string
	BindPassword string
	// BaseDN is the subtree read, e.g. dc=example,dc=com.
	BaseDN string
	// UserFilter and GroupFilter select the users and the groups under
	// BaseDN. Defaults: (objectClass=inetOrgPerson) and
	// (objectClass=groupOfNames); for Active Directory, e.g.
	// (&(objectCategory=person)(objectClass=user)) and (objectClass=group).
	UserFilter  string
	GroupFilter string
	// Anchor is the attribute holding an entry's immutable id: entryUUID
	// (the default; OpenLDAP, 389-ds) or objectGUID (Active Directory,
	// formatted as a GUID string).
	Anchor string
	// MemberAttribute is a group's attribute listing its members' DNs.
	// Default member.
	MemberAttribute string
	// PageSize is the simple paged results page size. Default 500, which
	// keeps a page of typical entries near 10 MiB of client heap.
	PageSize int
	// Timeout bounds the connection and each request. Default 30s.
	Timeout time.Duration
	// Overlap is how far before the last modifyTimestamp seen a delta reads
	// again (see the package documentation). Default 1s, the timestamp's
	// resolution.
	Overlap time.Duration
	// MaxSeen bounds how many anchors a watermark remembers for
	// de-duplication; past it the oldest are forgotten and may be reported
	// again, never lost. Default 10,000.
	MaxSeen int
	// Delta names the mechanism of Changes: "auto" (the default) picks
	// uSNChanged where the rootDSE has highestCommittedUSN (Active
	// Directory), RFC 4533 content synchronisation where it advertises the
	// sync request control and the anchor is entryUUID, else
	// modifyTimestamp; "syncrepl", "usn" and "timestamp" force one. See
	// the package documentation.
	Delta string
	// DSEEntry, when set, is the DN of an entry read instead of the
	// rootDSE for AD's highestCommittedUSN, dsServiceName and
	// defaultNamingContext (the supported controls are always read from
	// the rootDSE). Empty, the default, reads the rootDSE, the only right
	// choice against a real domain controller. AD computes these in its
	// rootDSE and no client can write them, so tests against an OpenLDAP
	// playing a DC (slapdtest.ADSchema) keep them in an ordinary entry;
	// the code path is otherwise the same.
	DSEEntry string
	// TLSConfig, if set, is used for ldaps:// (custom roots).
	TLSConfig *tls.Config
}

// Source reads users and groups from an LDAP directory or Active
// Directory. It implements source.Source, source.FullLister,
// source.DeltaLister and source.GroupExpander. Each call opens its own
// connection, so a Source is safe for concurrent use.
type Source struct {
	o Options
}

var (
	_ source.Source        = (*Source)(nil)
	_ source.FullLister    = (*Source)(nil)
	_ source.DeltaLister   = (*Source)(nil)
	_ source.GroupExpander = (*Source)(nil)
)

// New returns a source reading the directory the options describe. It
// sends nothing; Test checks the configuration.
func New(o Options) (*Source, error) {
	if o.URL == "" {
		return nil, errors.New("ldap source: URL is required")
	}
	if !strings.HasPrefix(o.URL, "ldap://") && !strings.HasPrefix(o.URL, "ldaps://") {
		return nil, fmt.Errorf("ldap source: URL %q must start with ldap:// or ldaps://", o.URL)
	}
	if _, err := ldap.ParseDN(o.BaseDN); err != nil || o.BaseDN == "" {
		return nil, fmt.Errorf("ldap source: base DN %q is not a DN", o.BaseDN)
	}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&o.Anchor, DefaultAnchor)
	def(&o.UserFilter, DefaultUserFilter)
	def(&o.GroupFilter, DefaultGroupFilter)
	def(&o.MemberAttribute, DefaultMemberAttribute)
	for _, f := range []string{o.UserFilter, o.GroupFilter} {
		if _, err := ldap.CompileFilter(f); err != nil {
			return nil, fmt.Errorf("ldap source: filter %q: %w", f, err)
		}
	}
	switch o.Delta {
	case "":
		o.Delta = DeltaAuto
	case DeltaAuto, DeltaUSN, DeltaTimestamp:
	case DeltaSyncrepl, DeltaTimestampSync:
		if !strings.EqualFold(o.Anchor, "entryUUID") {
			return nil, fmt.Errorf("ldap source: the %s delta reports deletes by entryUUID and needs it as the anchor, not %s", o.Delta, o.Anchor)
		}
	default:
		return nil, fmt.Errorf("ldap source: delta %q is not one of auto, syncrepl, usn, timestamp, timestampsync", o.Delta)
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Overlap <= 0 {
		o.Overlap = DefaultOverlap
	}
	if o.MaxSeen <= 0 {
		o.MaxSeen = DefaultMaxSeen
	}
	return &Source{o: o}, nil
}

// Kind returns "ldap".
func (s *Source) Kind() string { return "ldap" }

// Describe names the server, base DN and bind DN; the password is never
// shown.
func (s *Source) Describe() string {
	who := "anonymously"
	if s.o.BindDN != "" {
		who = "as " + s.o.BindDN
	}
	return fmt.Sprintf("LDAP server %s, base %s, bound %s", s.o.URL, s.o.BaseDN, who)
}

// connect dials and binds. The connection is closed when ctx ends, which
// makes a blocked request return: go-ldap's requests take no context.
func (s *Source) connect(ctx context.Context) (*ldap.Conn, func(), error) {
	d := &net.Dialer{Timeout: s.o.Timeout}
	opts := []ldap.DialOpt{ldap.DialWithDialer(d)}
	if s.o.TLSConfig != nil {
		opts = append(opts, ldap.DialWithTLSConfig(s.o.TLSConfig))
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c, err := ldap.DialURL(s.o.URL, opts...)
	if err != nil {
		return nil, nil, &dialError{url: s.o.URL, err: err}
	}
	c.SetTimeout(s.o.Timeout)
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	done := func() {
		stop()
		_ = c.Close()
	}
	if s.o.BindDN != "" {
		if err := c.Bind(s.o.BindDN, s.o.BindPassword); err != nil {
			done()
			return nil, nil, fmt.Errorf("ldap source: bind as %s: %w", s.o.BindDN, ctxErr(ctx, err))
		}
	}
	return c, done, nil
}

// dialError is a failed connection (TCP and, for ldaps://, the TLS
// handshake), kept apart so that Test can tell a TLS handshake cut short
// from a later network failure.
type dialError struct {
	url string
	err error
}

func (e *dialError) Error() string {
	return fmt.Sprintf("ldap source: connect to %s: %v", e.url, e.err)
}

func (e *dialError) Unwrap() error { return e.err }

// ctxErr prefers the context's error when it ended, since closing the
// connection makes go-ldap report a less telling network error.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// filter returns the filter of a kind.
func (s *Source) filter(kind source.Kind) (string, error) {
	switch kind {
	case source.User:
		return s.o.UserFilter, nil
	case source.Group:
		return s.o.GroupFilter, nil
	}
	return "", fmt.Errorf("ldap source: unknown object kind %q", kind)
}

// isGUID reports whether the anchor is AD's binary objectGUID.
func (s *Source) isGUID() bool { return strings.EqualFold(s.o.Anchor, "objectGUID") }

// anchorOf returns an entry's anchor, or "" when it has none.
func (s *Source) anchorOf(e *ldap.Entry) string {
	if s.isGUID() {
		b := e.GetRawAttributeValue(s.o.Anchor)
		if len(b) != 16 {
			return ""
		}
		return formatGUID(b)
	}
	return e.GetAttributeValue(s.o.Anchor)
}

// anchorFilter is the equality assertion selecting the entry of an anchor.
func (s *Source) anchorFilter(anchor string) (string, error) {
	if !s.isGUID() {
		return fmt.Sprintf("(%s=%s)", s.o.Anchor, ldap.EscapeFilter(anchor)), nil
	}
	b, err := parseGUID(anchor)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, `\%02x`, c)
	}
	return fmt.Sprintf("(%s=%s)", s.o.Anchor, sb.String()), nil
}

// formatGUID writes AD's objectGUID, stored with its first three fields
// little-endian, in the usual xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx form.
func formatGUID(b []byte) string {
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8:10], b[10:16])
}

// parseGUID is formatGUID's inverse.
func parseGUID(s string) ([]byte, error) {
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 || len(s) != 36 {
		return nil, fmt.Errorf("ldap source: %q is not a GUID", s)
	}
	return []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6],
		h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]}, nil
}

// attributes are the attributes a listing asks for: every user attribute
// ("*") and the operational ones the source needs, the anchor and the
// change markers of the delta rule.
func (s *Source) attributes() []string {
	return []string{"*", s.o.Anchor, "modifyTimestamp", "entryCSN"}
}

// object converts an entry. Every attribute becomes an Object attribute of
// string values under the name the server wrote; the anchor attribute
// holds the anchor as the engine sees it (objectGUID as a GUID string, not
// its bytes), so that mappings such as externalId ← entryUUID read it; the
// member attribute of a group becomes Members (resolved by the caller).
// The entry's DN is kept as the attribute "dn", which mappings use.
func (s *Source) object(e *ldap.Entry, kind source.Kind) source.Object {
	o := source.Object{Anchor: s.anchorOf(e), Kind: kind, Attributes: make(map[string]source.Values, len(e.Attributes)+1)}
	o.Attributes["dn"] = source.Values{e.DN}
	if o.Anchor != "" {
		o.Attributes[s.o.Anchor] = source.Values{o.Anchor}
	}
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, s.o.Anchor) || (kind == source.Group && strings.EqualFold(a.Name, s.o.MemberAttribute)) {
			continue
		}
		v := make(source.Values, len(a.Values))
		for i, x := range a.Values {
			v[i] = x
		}
		o.Attributes[a.Name] = v
	}
	o.Version = e.GetAttributeValue("entryCSN")
	if o.Version == "" {
		o.Version = e.GetAttributeValue("modifyTimestamp")
	}
	return o
}
