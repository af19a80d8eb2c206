package ldapsource

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source"
)

// List streams every user or group under the base DN (source.FullLister),
// a page of Options.PageSize entries at a time via the simple paged results
// control (RFC 2696); a page is handed to fn before the next is asked for,
// so memory is one page plus the member cache. Groups carry their members
// resolved to anchors (see the package documentation).
func (s *Source) List(ctx context.Context, kind source.Kind, fn func(source.Object) error) error {
	f, err := s.filter(kind)
	if err != nil {
		return err
	}
	return s.walk(ctx, kind, f, func(source.Object, *ldap.Entry) bool { return true }, fn)
}

// walk pages through the entries of a kind matching filter, converts them,
// keeps those keep accepts, resolves a group's members and calls fn.
func (s *Source) walk(ctx context.Context, kind source.Kind, filter string, keep func(source.Object, *ldap.Entry) bool, fn func(source.Object) error) error {
	c, done, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	return s.walkOn(ctx, c, kind, filter, keep, fn)
}

// walkOn is walk on a connection the caller holds.
func (s *Source) walkOn(ctx context.Context, c *ldap.Conn, kind source.Kind, filter string, keep func(source.Object, *ldap.Entry) bool, fn func(source.Object) error) error {
	r := newResolver(s, c)
	return s.pages(ctx, c, filter, s.attributes(), func(e *ldap.Entry) error {
		o := s.object(e, kind)
		if o.Anchor == "" {
			return fmt.Errorf("ldap source: %s has no %s; check the anchor attribute setting", e.DN, s.o.Anchor)
		}
		if !keep(o, e) {
			return nil
		}
		if kind == source.Group {
			dns, err := s.memberDNs(c, e)
			if err != nil {
				return err
			}
			err = r.each(dns, func(m source.Member) error {
				o.Members = append(o.Members, m)
				return nil
			})
			if err != nil {
				return fmt.Errorf("ldap source: members of %s: %w", e.DN, err)
			}
		}
		return fn(o)
	})
}

// pages runs a paged subtree search under the base DN and calls fn for
// each entry, one page at a time. An error from fn stops the search; the
// caller's closing of the connection releases the server's paging state.
func (s *Source) pages(ctx context.Context, c *ldap.Conn, filter string, attrs []string, fn func(*ldap.Entry) error) error {
	return s.pagesUnder(ctx, c, s.o.BaseDN, filter, attrs, nil, fn)
}

// pagesUnder is pages under another base, with more request controls.
func (s *Source) pagesUnder(ctx context.Context, c *ldap.Conn, base, filter string, attrs []string, ctrls []ldap.Control, fn func(*ldap.Entry) error) error {
	paging := ldap.NewControlPaging(uint32(s.o.PageSize))
	for {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 0, false, filter, attrs, append([]ldap.Control{paging}, ctrls...))
		res, err := c.Search(req)
		if err != nil {
			return fmt.Errorf("ldap source: search %s under %s: %w", filter, base, ctxErr(ctx, err))
		}
		for _, e := range res.Entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		p, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(p.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(p.Cookie)
	}
}

// Members streams the members of the group with the given anchor
// (source.GroupExpander). The group's member attribute is read whole, by
// ranged retrieval where AD splits it (see memberDNs).
func (s *Source) Members(ctx context.Context, group string, fn func(source.Member) error) error {
	af, err := s.anchorFilter(group)
	if err != nil {
		return err
	}
	c, done, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	req := ldap.NewSearchRequest(s.o.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, 0, false, "(&"+s.o.GroupFilter+af+")", []string{s.o.MemberAttribute}, nil)
	res, err := c.Search(req)
	if err != nil {
		return fmt.Errorf("ldap source: read group %s: %w", group, ctxErr(ctx, err))
	}
	if len(res.Entries) == 0 {
		return fmt.Errorf("ldap source: group %s: %w", group, source.ErrNotFound)
	}
	e := res.Entries[0]
	dns, err := s.memberDNs(c, e)
	if err != nil {
		return err
	}
	if err := newResolver(s, c).each(dns, fn); err != nil {
		return fmt.Errorf("ldap source: members of %s: %w", e.DN, err)
	}
	return nil
}

// Get reads one user or group by its anchor (source.Getter), a group with
// its members resolved; an entry the kind's filter excludes is
// source.ErrNotFound, as a missing one.
func (s *Source) Get(ctx context.Context, kind source.Kind, anchor string) (source.Object, error) {
	f, err := s.filter(kind)
	if err != nil {
		return source.Object{}, err
	}
	af, err := s.anchorFilter(anchor)
	if err != nil {
		return source.Object{}, err
	}
	c, done, err := s.connect(ctx)
	if err != nil {
		return source.Object{}, err
	}
	defer done()
	req := ldap.NewSearchRequest(s.o.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, 0, false, "(&"+f+af+")", s.attributes(), nil)
	res, err := c.Search(req)
	if err != nil {
		return source.Object{}, fmt.Errorf("ldap source: read %s %s: %w", kind, anchor, ctxErr(ctx, err))
	}
	if len(res.Entries) == 0 {
		return source.Object{}, fmt.Errorf("ldap source: %s %s: %w", kind, anchor, source.ErrNotFound)
	}
	var r *resolver
	if kind == source.Group {
		r = newResolver(s, c)
	}
	return s.entryObject(res.Entries[0], kind, r)
}

// Resolve maps DNs (a manager attribute's values) to the anchors of the
// users and groups they name (source.Referencer), on one connection.
func (s *Source) Resolve(ctx context.Context, dns []string) (map[string]string, error) {
	out := make(map[string]string, len(dns))
	if len(dns) == 0 {
		return out, nil
	}
	c, done, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	r := newResolver(s, c)
	for _, dn := range dns {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, ok, err := r.lookup(dn)
		if err != nil {
			return nil, fmt.Errorf("ldap source: %w", ctxErr(ctx, err))
		}
		if ok {
			out[dn] = m.Anchor
		}
	}
	return out, nil
}

// resolver turns member DNs into member anchors by reading each member
// entry once (a base-scope search), caching the answer for the rest of the
// listing. This avoids a second full listing to build a DN → anchor map of
// the whole directory, at the cost of one small request per distinct
// member not yet cached.
type resolver struct {
	s     *Source
	c     *ldap.Conn
	base  *ldap.DN
	cache map[string]resolved
}

type resolved struct {
	m  source.Member
	ok bool
}

func newResolver(s *Source, c *ldap.Conn) *resolver {
	base, _ := ldap.ParseDN(s.o.BaseDN) // New checked it.
	return &resolver{s: s, c: c, base: base, cache: map[string]resolved{}}
}

// each calls fn with the member of every DN that names a user or group in
// scope. A DN outside the base DN, of an entry that is neither a user nor a
// group by the filters, or of no entry at all (a dangling reference, common
// without the refint overlay) is skipped, as Entra's AD sync skips members
// outside its scope.
func (r *resolver) each(dns []string, fn func(source.Member) error) error {
	for _, dn := range dns {
		m, ok, err := r.lookup(dn)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

func (r *resolver) lookup(dn string) (source.Member, bool, error) {
	key := strings.ToLower(dn)
	if v, ok := r.cache[key]; ok {
		return v.m, v.ok, nil
	}
	v, err := r.read(dn)
	if err != nil {
		return source.Member{}, false, err
	}
	if len(r.cache) >= memberCacheSize {
		clear(r.cache)
	}
	r.cache[key] = v
	return v.m, v.ok, nil
}

// read looks the member entry up as a user and then as a group.
func (r *resolver) read(dn string) (resolved, error) {
	parsed, err := ldap.ParseDN(dn)
	if err != nil || !(r.base.AncestorOfFold(parsed) || r.base.EqualFold(parsed)) {
		return resolved{}, nil
	}
	for _, k := range []source.Kind{source.User, source.Group} {
		f, _ := r.s.filter(k)
		req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, 0, false, f, []string{r.s.o.Anchor}, nil)
		res, err := r.c.Search(req)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return resolved{}, nil
		}
		if err != nil {
			return resolved{}, fmt.Errorf("read member %s: %w", dn, err)
		}
		if len(res.Entries) == 1 {
			if a := r.s.anchorOf(res.Entries[0]); a != "" {
				return resolved{m: source.Member{Anchor: a, Kind: k}, ok: true}, nil
			}
		}
	}
	return resolved{}, nil
}
