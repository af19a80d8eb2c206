package ldapsource

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// memberDNs returns every value of a group entry's member attribute. Where
// Active Directory answered with ranged retrieval (member;range=0-1499
// instead of member, past its MaxValRange), the remaining ranges are read
// with base searches for member;range=N-* on c until a range ends in *.
func (s *Source) memberDNs(c *ldap.Conn, e *ldap.Entry) ([]string, error) {
	attr := s.o.MemberAttribute
	for _, a := range e.Attributes {
		if _, _, ok := parseRange(attr, a.Name); ok {
			dns, err := walkRanges(attr, a.Name, a.Values, func(lo int) (*ldap.EntryAttribute, error) {
				return s.readRange(c, e.DN, attr, lo)
			})
			if err != nil {
				return nil, fmt.Errorf("ldap source: members of %s: %w", e.DN, err)
			}
			return dns, nil
		}
	}
	return e.GetAttributeValues(attr), nil
}

// readRange reads the values of attr from lo on (attr;range=lo-*) of one
// entry and returns the ranged attribute the server sent, or nil.
func (s *Source) readRange(c *ldap.Conn, dn, attr string, lo int) (*ldap.EntryAttribute, error) {
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{fmt.Sprintf("%s;range=%d-*", attr, lo)}, nil)
	res, err := c.Search(req)
	if err != nil {
		return nil, fmt.Errorf("read %s;range=%d-*: %w", attr, lo, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("read %s;range=%d-*: the entry is gone", attr, lo)
	}
	for _, a := range res.Entries[0].Attributes {
		if _, _, ok := parseRange(attr, a.Name); ok {
			return a, nil
		}
	}
	return nil, nil
}

// walkRanges collects the values of a ranged attribute: first holds the
// values of the range named name (e.g. member;range=0-1499); fetch reads
// the range starting at lo and returns the attribute the server sent
// (member;range=1500-2999, or member;range=3000-* for the last one). It
// stops at the range whose end is *, and refuses a range that does not
// continue where the previous one ended, which would drop members.
func walkRanges(attr, name string, first []string, fetch func(lo int) (*ldap.EntryAttribute, error)) ([]string, error) {
	out := append([]string(nil), first...)
	for {
		_, hi, ok := parseRange(attr, name)
		if !ok {
			return nil, fmt.Errorf("%q is not a range of %s", name, attr)
		}
		if hi < 0 {
			return out, nil
		}
		next := hi + 1
		a, err := fetch(next)
		if err != nil {
			return nil, err
		}
		if a == nil {
			return nil, fmt.Errorf("the server sent no %s;range=%d-*", attr, next)
		}
		nlo, _, ok := parseRange(attr, a.Name)
		if !ok || nlo != next {
			return nil, fmt.Errorf("the server answered %s;range=%d-* with %s", attr, next, a.Name)
		}
		out = append(out, a.Values...)
		name = a.Name
	}
}

// parseRange parses an attribute description attr;range=lo-hi (hi may be
// *, returned as -1), case-insensitively.
func parseRange(attr, name string) (lo, hi int, ok bool) {
	prefix := strings.ToLower(attr) + ";range="
	if !strings.HasPrefix(strings.ToLower(name), prefix) {
		return 0, 0, false
	}
	l, h, found := strings.Cut(name[len(prefix):], "-")
	if !found {
		return 0, 0, false
	}
	lo, err := strconv.Atoi(l)
	if err != nil || lo < 0 {
		return 0, 0, false
	}
	if h == "*" {
		return lo, -1, true
	}
	hi, err = strconv.Atoi(h)
	if err != nil || hi < lo {
		return 0, 0, false
	}
	return lo, hi, true
}
