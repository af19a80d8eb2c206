package ldapsource

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source"
)

// changesByUSN reports the users or groups changed since the watermark by
// Active Directory's uSNChanged, following Microsoft's "Polling for
// Changes Using uSNChanged": highestCommittedUSN is read from the rootDSE
// before the search and on its connection, and the search is
// (&(filter)(uSNChanged>=last+1)(uSNChanged<=highestCommittedUSN)), so a
// change committed during the search is left for the next delta. USNs are
// local to one domain controller: the watermark pins the DC
// (dsServiceName) and its invocationId, and a watermark of another DC, or
// of this DC restored from backup (a new invocationId), is read as the
// empty one: every object is reported. Deletes are read as tombstones
// with the Show Deleted control where the server offers it (see
// tombstones); otherwise they are found by the engine's periodic full
// listing.
func (s *Source) changesByUSN(ctx context.Context, kind source.Kind, m marked, fn func(source.Object) error) (string, error) {
	// One connection for the rootDSE, the search and the tombstones: a
	// second one could reach another DC behind the same name.
	c, done, err := s.connect(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	d, err := s.readDSE(ctx, c)
	if err != nil {
		return "", err
	}
	if !d.hasUSN {
		return "", fmt.Errorf("ldap source: the rootDSE %q has no highestCommittedUSN; this is not Active Directory, use another delta mechanism", s.o.DSEEntry)
	}
	f, _ := s.filter(kind)
	next := marked{M: DeltaUSN, DSA: d.dsa, Invocation: d.invocation, USN: d.highestUSN}
	full := m.M != DeltaUSN || !strings.EqualFold(m.DSA, d.dsa) || m.Invocation != d.invocation
	if full {
		if err := s.walkOn(ctx, c, kind, f, all, fn); err != nil {
			return "", err
		}
		return next.String(), nil
	}
	if d.highestUSN <= m.USN {
		return next.String(), nil // nothing committed since
	}
	f = fmt.Sprintf("(&%s(uSNChanged>=%d)(uSNChanged<=%d))", f, m.USN+1, d.highestUSN)
	if err := s.walkOn(ctx, c, kind, f, all, fn); err != nil {
		return "", err
	}
	if d.supports(oidShowDeleted) {
		if err := s.tombstones(ctx, c, kind, d, m.USN+1, fn); err != nil {
			return "", err
		}
	}
	return next.String(), nil
}

// all keeps every entry a walk reads.
func all(source.Object, *ldap.Entry) bool { return true }

// tombstoneClass is the objectClass value a tombstone keeps, by kind: AD
// strips most attributes of a deleted object (objectCategory among them,
// so the kind's filter cannot match it) but keeps objectClass.
var tombstoneClass = map[source.Kind]string{source.User: "user", source.Group: "group"}

// tombstones reports the objects of a kind deleted between lo and the
// DC's highestCommittedUSN as Deleted objects: a search of the naming
// context (defaultNamingContext, where CN=Deleted Objects lives; the base
// DN when the rootDSE names none) with the Show Deleted control for
// (&(isDeleted=TRUE)(objectClass=user|group)(uSNChanged in range)), kept
// when their lastKnownParent is within the base DN (or unknown). An object
// deleted that the engine never saw is reported too; the engine ignores
// anchors it has no link for.
func (s *Source) tombstones(ctx context.Context, c *ldap.Conn, kind source.Kind, d *dse, lo int64, fn func(source.Object) error) error {
	base := cmp.Or(d.namingContext, s.o.BaseDN)
	f := fmt.Sprintf("(&(isDeleted=TRUE)(objectClass=%s)(uSNChanged>=%d)(uSNChanged<=%d))", tombstoneClass[kind], lo, d.highestUSN)
	within, _ := ldap.ParseDN(s.o.BaseDN) // New checked it.
	attrs := []string{s.o.Anchor, "lastKnownParent", "isDeleted"}
	return s.pagesUnder(ctx, c, base, f, attrs, []ldap.Control{ldap.NewControlMicrosoftShowDeleted()}, func(e *ldap.Entry) error {
		if !strings.EqualFold(e.GetAttributeValue("isDeleted"), "TRUE") {
			return nil
		}
		if p := e.GetAttributeValue("lastKnownParent"); p != "" {
			pd, err := ldap.ParseDN(p)
			if err != nil || !(within.EqualFold(pd) || within.AncestorOfFold(pd)) {
				return nil
			}
		}
		a := s.anchorOf(e)
		if a == "" {
			return nil
		}
		return fn(source.Object{Anchor: a, Kind: kind, Deleted: true})
	})
}
