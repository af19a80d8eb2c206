package ldapsource

import (
	"context"
	"fmt"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/provision/source"
)

// syncBuffer is how many sync messages go-ldap holds ahead of the caller.
const syncBuffer = 64

// changesBySync reports the users or groups changed since the cookie in
// the watermark by an RFC 4533 refreshOnly content synchronisation: add
// and modify states are reported as objects (read with the listing's
// attributes and member resolution), delete states and syncIdSets with
// refreshDeletes TRUE as Deleted objects anchored by their entryUUID. A
// cookie the server no longer accepts (e-syncRefreshRequired) is dropped
// and everything read again. The returned watermark holds the server's
// last cookie.
func (s *Source) changesBySync(ctx context.Context, kind source.Kind, m marked, fn func(source.Object) error) (string, error) {
	cookie, err := s.sync(ctx, kind, m.Cookie, fn)
	if len(m.Cookie) > 0 && ldap.IsErrorWithCode(err, ldap.LDAPResultSyncRefreshRequired) {
		cookie, err = s.sync(ctx, kind, nil, fn)
	}
	if err != nil {
		return "", err
	}
	// Without any cookie (the server had nothing to synchronise yet) the
	// next call reads everything again, which is cheap while that holds.
	return marked{M: DeltaSyncrepl, Cookie: cookie}.String(), nil
}

// sync runs one refreshOnly synchronisation from cookie (nil: from the
// beginning), calls fn for each change and returns the server's last
// cookie (the one it started from when the server sent none).
func (s *Source) sync(ctx context.Context, kind source.Kind, cookie []byte, fn func(source.Object) error) ([]byte, error) {
	next := cookie
	f, _ := s.filter(kind)
	c, done, err := s.connect(ctx)
	if err != nil {
		return next, err
	}
	defer done()
	// go-ldap's reader drops a response the consumer has not taken within
	// the connection's timeout; fn may be slow (the engine writes to the
	// target), so this connection waits for it instead. ctx still ends it.
	c.SetTimeout(0)
	var r *resolver
	if kind == source.Group {
		// Member lookups need their own connection: the sync search
		// holds the first one's reader until its results are taken.
		c2, done2, err := s.connect(ctx)
		if err != nil {
			return next, err
		}
		defer done2()
		r = newResolver(s, c2)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := ldap.NewSearchRequest(s.o.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, f, s.attributes(), nil)
	res := c.Syncrepl(sctx, req, syncBuffer, ldap.SyncRequestModeRefreshOnly, cookie, false)
	deleted := func(id uuid.UUID) error {
		return fn(source.Object{Anchor: id.String(), Kind: kind, Deleted: true})
	}
	for res.Next() {
		if e := res.Entry(); e != nil {
			st, _ := ldap.FindControl(res.Controls(), ldap.ControlTypeSyncState).(*ldap.ControlSyncState)
			if st != nil && len(st.Cookie) > 0 {
				next = st.Cookie
			}
			switch {
			case st != nil && st.State == ldap.SyncStatePresent:
				continue
			case st != nil && st.State == ldap.SyncStateDelete:
				if err := deleted(st.EntryUUID); err != nil {
					return next, err
				}
				continue
			}
			o, err := s.entryObject(e, kind, r)
			if err != nil {
				return next, err
			}
			if err := fn(o); err != nil {
				return next, err
			}
			continue
		}
		for _, ctl := range res.Controls() {
			switch ctl := ctl.(type) {
			case *ldap.ControlSyncInfo:
				switch {
				case ctl.NewCookie != nil:
					next = keep(next, ctl.NewCookie.Cookie)
				case ctl.RefreshDelete != nil:
					next = keep(next, ctl.RefreshDelete.Cookie)
				case ctl.RefreshPresent != nil:
					// The present phase: entries not named present are
					// deleted, but the source keeps no set of anchors to
					// diff against; the engine's full listing finds them
					// (see the package documentation).
					next = keep(next, ctl.RefreshPresent.Cookie)
				case ctl.SyncIdSet != nil:
					next = keep(next, ctl.SyncIdSet.Cookie)
					if !ctl.SyncIdSet.RefreshDeletes {
						continue // present, not deleted
					}
					for _, id := range ctl.SyncIdSet.SyncUUIDs {
						if err := deleted(id); err != nil {
							return next, err
						}
					}
				}
			case *ldap.ControlSyncDone:
				next = keep(next, ctl.Cookie)
			}
		}
	}
	if err := res.Err(); err != nil {
		return next, fmt.Errorf("ldap source: content synchronisation %s under %s: %w", f, s.o.BaseDN, ctxErr(ctx, err))
	}
	if err := ctx.Err(); err != nil {
		// go-ldap ends a cancelled synchronisation without an error.
		return next, err
	}
	return next, nil
}

// keep returns the new cookie when the server sent one, else the old.
func keep(old, new []byte) []byte {
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
