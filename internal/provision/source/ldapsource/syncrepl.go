package ldapsource

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/provision/source"
)

// syncBuffer is how many sync messages go-ldap holds ahead of the caller.
const syncBuffer = 64

// maxSyncChanges bounds the changes one incremental synchronisation holds
// in memory; past it the source reads everything instead.
const maxSyncChanges = 50000

// errTooManyChanges stops a synchronisation that outgrew maxSyncChanges.
var errTooManyChanges = errors.New("more changes than one synchronisation holds")

// changesBySync reports the users or groups changed since the cookie in
// the watermark by an RFC 4533 refreshOnly content synchronisation: add
// and modify states are reported as objects (read with the listing's
// attributes and member resolution), delete states and syncIdSets with
// refreshDeletes TRUE as Deleted objects anchored by their entryUUID.
//
// The synchronisation is read to its end before fn sees anything: with a
// consumer as slow as the engine (a request to the target per object),
// slapd's refresh left entries out, silently (measured: up to 10 groups
// of 300 in half the runs of an initial cycle), and with nothing held
// back it never did. So a full read (no cookie, a cookie the server no
// longer accepts, or more than maxSyncChanges changes) takes a cookie
// first, with a synchronisation that carries no attributes and is read as
// fast as it comes, and then lists every object page by page: what
// changes in between is reported again by the next call, never lost.
func (s *Source) changesBySync(ctx context.Context, kind source.Kind, m marked, fn func(source.Object) error) (string, error) {
	if len(m.Cookie) == 0 {
		return s.fullBySync(ctx, kind, fn)
	}
	objs, cookie, err := s.sync(ctx, kind, m.Cookie, syncAll)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSyncRefreshRequired) || errors.Is(err, errTooManyChanges) {
		return s.fullBySync(ctx, kind, fn)
	}
	if err != nil {
		return "", err
	}
	for _, o := range objs {
		if err := fn(o); err != nil {
			return "", err
		}
	}
	return marked{M: DeltaSyncrepl, Cookie: cookie}.String(), nil
}

// fullBySync takes a cookie and then lists every object.
func (s *Source) fullBySync(ctx context.Context, kind source.Kind, fn func(source.Object) error) (string, error) {
	_, cookie, err := s.sync(ctx, kind, nil, syncCookie)
	if err != nil {
		return "", err
	}
	if err := s.List(ctx, kind, fn); err != nil {
		return "", err
	}
	// Without any cookie (the server had nothing to synchronise yet) the
	// next call reads everything again, which is cheap while that holds.
	return marked{M: DeltaSyncrepl, Cookie: cookie}.String(), nil
}

// What a synchronisation returns besides the cookie.
type syncMode int

const (
	syncCookie  syncMode = iota // nothing: only the cookie
	syncDeletes                 // the deletes only
	syncAll                     // every change
)

// sync runs one refreshOnly synchronisation from cookie (nil: from the
// beginning) and returns the changes mode asks for, read whole, and the
// server's last cookie (the one it started from when the server sent
// none). Unless mode is syncAll it asks for no attributes.
func (s *Source) sync(ctx context.Context, kind source.Kind, cookie []byte, mode syncMode) ([]source.Object, []byte, error) {
	keep := mode == syncAll
	next := cookie
	f, _ := s.filter(kind)
	c, done, err := s.connect(ctx)
	if err != nil {
		return nil, next, err
	}
	defer done()
	// go-ldap's reader drops a response the consumer has not taken within
	// the connection's timeout; member lookups can be slow, so this
	// connection waits for them instead. ctx still ends it.
	c.SetTimeout(0)
	var r *resolver
	if kind == source.Group && keep {
		// Member lookups need their own connection: the sync search
		// holds the first one's reader until its results are taken.
		c2, done2, err := s.connect(ctx)
		if err != nil {
			return nil, next, err
		}
		defer done2()
		r = newResolver(s, c2)
	}
	attrs := []string{"1.1"} // RFC 4511 §4.5.1.8: no attributes
	if keep {
		attrs = s.attributes()
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := ldap.NewSearchRequest(s.o.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, f, attrs, nil)
	res := c.Syncrepl(sctx, req, syncBuffer, ldap.SyncRequestModeRefreshOnly, cookie, false)
	var out []source.Object
	add := func(o source.Object) error {
		if mode == syncCookie {
			return nil
		}
		if len(out) >= maxSyncChanges {
			return errTooManyChanges
		}
		out = append(out, o)
		return nil
	}
	deleted := func(id uuid.UUID) error {
		return add(source.Object{Anchor: id.String(), Kind: kind, Deleted: true})
	}
	for res.Next() {
		if e := res.Entry(); e != nil {
			st, _ := ldap.FindControl(res.Controls(), ldap.ControlTypeSyncState).(*ldap.ControlSyncState)
			if st != nil && len(st.Cookie) > 0 {
				next = st.Cookie
			}
			switch {
			case st != nil && st.State == ldap.SyncStateDelete:
				if err := deleted(st.EntryUUID); err != nil {
					return nil, next, err
				}
				continue
			case !keep:
				continue
			case st != nil && st.State == ldap.SyncStatePresent:
				continue
			}
			o, err := s.entryObject(e, kind, r)
			if err != nil {
				return nil, next, err
			}
			if err := add(o); err != nil {
				return nil, next, err
			}
			continue
		}
		for _, ctl := range res.Controls() {
			switch ctl := ctl.(type) {
			case *ldap.ControlSyncInfo:
				switch {
				case ctl.NewCookie != nil:
					next = keepCookie(next, ctl.NewCookie.Cookie)
				case ctl.RefreshDelete != nil:
					next = keepCookie(next, ctl.RefreshDelete.Cookie)
				case ctl.RefreshPresent != nil:
					// The present phase: entries not named present are
					// deleted, but the source keeps no set of anchors to
					// diff against; the engine's full listing finds them
					// (see the package documentation).
					next = keepCookie(next, ctl.RefreshPresent.Cookie)
				case ctl.SyncIdSet != nil:
					next = keepCookie(next, ctl.SyncIdSet.Cookie)
					if !ctl.SyncIdSet.RefreshDeletes {
						continue // present, not deleted
					}
					for _, id := range ctl.SyncIdSet.SyncUUIDs {
						if err := deleted(id); err != nil {
							return nil, next, err
						}
					}
				}
			case *ldap.ControlSyncDone:
				next = keepCookie(next, ctl.Cookie)
			}
		}
	}
	if err := res.Err(); err != nil {
		return nil, next, fmt.Errorf("ldap source: content synchronisation %s under %s: %w", f, s.o.BaseDN, ctxErr(ctx, err))
	}
	if err := ctx.Err(); err != nil {
		// go-ldap ends a cancelled synchronisation without an error.
		return nil, next, err
	}
	return out, next, nil
}

// keepCookie returns the new cookie when the server sent one, else the old.
func keepCookie(old, new []byte) []byte {
	if len(new) > 0 {
		return new
	}
	return old
}

// entryObject converts an entry a delta read and, for a group, resolves
// its members with r.
func (s *Source) entryObject(e *ldap.Entry, kind source.Kind, r *resolver) (source.Object, error) {
	o := s.object(e, kind)
	if o.Anchor == "" {
		return o, fmt.Errorf("ldap source: %s has no %s; check the anchor attribute setting", e.DN, s.o.Anchor)
	}
	if kind != source.Group {
		return o, nil
	}
	dns, err := s.memberDNs(r.c, e)
	if err != nil {
		return o, err
	}
	err = r.each(dns, func(m source.Member) error {
		o.Members = append(o.Members, m)
		return nil
	})
	if err != nil {
		return o, fmt.Errorf("ldap source: members of %s: %w", e.DN, err)
	}
	return o, nil
}

// changesByTimestampSync reports changes by modifyTimestamp and deletes by
// content synchronisation (the "timestampsync" mechanism, auto's choice
// for a server offering RFC 4533 with entryUUID anchors): the reliability
// of the timestamp rule for what changed, the sync protocol's knowledge of
// what was deleted. The first call takes a cookie before it reads, so that
// no delete after it is missed; a cookie the server no longer accepts, or
// more deletes than one synchronisation holds, leave those deletes to the
// engine's periodic full read.
func (s *Source) changesByTimestampSync(ctx context.Context, kind source.Kind, m marked, fn func(source.Object) error) (string, error) {
	var deletes []source.Object
	cookie := m.Cookie
	if len(cookie) > 0 {
		var err error
		deletes, cookie, err = s.sync(ctx, kind, cookie, syncDeletes)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSyncRefreshRequired) || errors.Is(err, errTooManyChanges) {
			deletes, cookie = nil, nil
		} else if err != nil {
			return "", err
		}
	}
	if len(cookie) == 0 {
		var err error
		if _, cookie, err = s.sync(ctx, kind, nil, syncCookie); err != nil {
			return "", err
		}
	}
	window, err := s.changesByTimestamp(ctx, kind, m.Window, fn)
	if err != nil {
		return "", err
	}
	for _, o := range deletes {
		if err := fn(o); err != nil {
			return "", err
		}
	}
	return marked{M: DeltaTimestampSync, Window: window, Cookie: cookie}.String(), nil
}
