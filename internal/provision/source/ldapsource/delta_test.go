package ldapsource_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/source/ldapsource"
	"github.com/rosterhq/roster/internal/provision/source/ldapsource/slapdtest"
)

// delta is what one Changes call reported.
type delta struct {
	changed, deleted []string
	objects          map[string]source.Object
}

// delta runs Changes and sorts what it reported into changed and deleted
// anchors; an anchor reported twice in one call fails the test.
func (b *testBundle) delta(kind source.Kind, w string) (delta, string) {
	b.t.Helper()
	d := delta{objects: map[string]source.Object{}}
	next, err := b.src.Changes(context.Background(), kind, w, func(o source.Object) error {
		if _, dup := d.objects[o.Anchor]; dup {
			b.t.Errorf("Changes(%s) reported %s twice", kind, o.Anchor)
		}
		d.objects[o.Anchor] = o
		if o.Deleted {
			d.deleted = append(d.deleted, o.Anchor)
		} else {
			d.changed = append(d.changed, o.Anchor)
		}
		return nil
	})
	if err != nil {
		b.t.Fatalf("Changes(%s, %.80s): %v", kind, w, err)
	}
	slices.Sort(d.changed)
	slices.Sort(d.deleted)
	return d, next
}

// names maps the anchors of a delta back to test names; anchors not in
// by are kept as "?anchor".
func names(anchors []string, by map[string]string) []string {
	out := []string{}
	for _, a := range anchors {
		n, ok := by[a]
		if !ok {
			n = "?" + a
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// ofKind keeps the anchors in by, the test's own objects of one kind.
// syncprov's session log also reports, as deletes, entries changed since
// the cookie that are outside the search's content: the other kind, and
// other subtrees (the package's other tests run in parallel). They are
// deletes in the contract's sense (not in this scope) and the engine
// ignores anchors it has no link for, so the test does not count them.
func ofKind(anchors []string, by map[string]string) []string {
	return slices.DeleteFunc(slices.Clone(anchors), func(a string) bool {
		_, ok := by[a]
		return !ok
	})
}

func TestSyncreplChanges(t *testing.T) {
	t.Parallel()
	if m, err := setup(t, ldapsource.Options{}).src.Mechanism(context.Background()); err != nil || m != ldapsource.DeltaTimestampSync {
		t.Fatalf("auto Mechanism = %q, %v; want timestampsync: syncrepl is chosen only when configured", m, err)
	}
	b := setup(t, ldapsource.Options{Delta: ldapsource.DeltaSyncrepl})
	byAnchor := map[string]string{}
	users, groups := map[string]string{}, map[string]string{}
	dns := map[string]string{}
	user := func(uid string) {
		dns[uid] = b.addUser(uid, uid+"@example.com")
		byAnchor[b.anchor(dns[uid])] = uid
		users[b.anchor(dns[uid])] = uid
	}
	group := func(cn string, members ...string) {
		var m []string
		for _, u := range members {
			m = append(m, dns[u])
		}
		dns[cn] = b.addGroup(cn, m...)
		byAnchor[b.anchor(dns[cn])] = cn
		groups[b.anchor(dns[cn])] = cn
	}
	del := func(name string) {
		if err := b.c.Del(ldap.NewDelRequest(dns[name], nil)); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
	}
	user("ann")
	user("ben")
	user("cat")
	group("dev", "ann")

	wm := map[source.Kind]string{}
	steps := []struct {
		name         string
		do           func()
		users        []string // changed users, by name
		deletedUsers []string
		groups       []string
		deletedGroup []string
	}{
		{name: "full read", do: func() {}, users: []string{"ann", "ben", "cat"}, groups: []string{"dev"}},
		{name: "nothing changed", do: func() {}},
		{name: "modify", do: func() { b.modify(dns["ben"], "mail", "ben@new.example.com") }, users: []string{"ben"}},
		{name: "add", do: func() { user("dan") }, users: []string{"dan"}},
		{name: "rename", do: func() {
			if err := b.c.ModifyDN(ldap.NewModifyDNRequest(dns["cat"], "uid=kit", true, "")); err != nil {
				t.Fatalf("rename: %v", err)
			}
			dns["cat"] = "uid=kit," + b.base
		}, users: []string{"cat"}},
		// The memberof overlay's memberOf writes do not change ben's
		// entryCSN: only the group is reported.
		{name: "membership", do: func() { b.modify(dns["dev"], "member", dns["ann"], dns["ben"]) }, groups: []string{"dev"}},
		{name: "delete user", do: func() { del("dan") }, deletedUsers: []string{"dan"}},
		{name: "delete group", do: func() { del("dev") }, deletedGroup: []string{"dev"}},
		{name: "nothing changed again", do: func() {}},
	}
	for _, st := range steps {
		st.do()
		u, next := b.delta(source.User, wm[source.User])
		wm[source.User] = next
		g, next := b.delta(source.Group, wm[source.Group])
		wm[source.Group] = next
		for _, c := range []struct {
			what      string
			got, want []string
		}{
			{"changed users", names(u.changed, byAnchor), st.users},
			{"deleted users", names(ofKind(u.deleted, users), byAnchor), st.deletedUsers},
			{"changed groups", names(g.changed, byAnchor), st.groups},
			{"deleted groups", names(ofKind(g.deleted, groups), byAnchor), st.deletedGroup},
		} {
			if !slices.Equal(c.got, append([]string{}, c.want...)) {
				t.Errorf("%s: %s = %v, want %v", st.name, c.what, c.got, c.want)
			}
		}
		if st.name == "rename" {
			if got := u.objects[b.anchor(dns["cat"])].Attributes["dn"]; len(got) != 1 || got[0] != dns["cat"] {
				t.Errorf("renamed user's dn = %v, want %s", got, dns["cat"])
			}
		}
		if st.name == "membership" {
			if got := g.objects[b.anchor(dns["dev"])].Members; len(got) != 2 {
				t.Errorf("dev's members after the change = %v, want ann and ben", got)
			}
		}
	}
}

// TestMechanismSwitch checks that a watermark written by another mechanism
// is read as the empty one (everything reported), and that a watermark the
// source did not write is an error.
func TestMechanismSwitch(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{})
	ann := b.anchor(b.addUser("ann", "ann@example.com"))
	ben := b.anchor(b.addUser("ben", "ben@example.com"))
	all := []string{ann, ben}
	slices.Sort(all)
	other := func(o ldapsource.Options) *ldapsource.Source {
		o.URL, o.BindDN, o.BindPassword, o.BaseDN = server.url, rootDN, rootPW, b.base
		s, err := ldapsource.New(o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	stamp := other(ldapsource.Options{Delta: ldapsource.DeltaTimestamp})
	sync := other(ldapsource.Options{Delta: ldapsource.DeltaSyncrepl})
	mark := func(s *ldapsource.Source) string {
		w, err := s.Changes(context.Background(), source.User, "", func(source.Object) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for _, c := range []struct {
		name string
		src  *ldapsource.Source
		w    string
		want []string
	}{
		{"syncrepl reading a timestamp watermark", sync, mark(stamp), all},
		{"timestamp reading a syncrepl watermark", stamp, mark(sync), all},
		{"syncrepl reading its own", sync, mark(sync), nil},
	} {
		b.src = c.src
		d, _ := b.delta(source.User, c.w)
		if !slices.Equal(d.changed, c.want) {
			t.Errorf("%s: changed = %v, want %v", c.name, d.changed, c.want)
		}
	}
	for _, w := range []string{"garbage", `{"v":2,"m":"dirsync"}`, `{"v":3}`} {
		if _, err := sync.Changes(context.Background(), source.User, w, func(source.Object) error { return nil }); err == nil {
			t.Errorf("watermark %s was accepted", w)
		}
	}
}

func TestNewDelta(t *testing.T) {
	for _, c := range []struct {
		o   ldapsource.Options
		bad bool
	}{
		{o: ldapsource.Options{}},
		{o: ldapsource.Options{Delta: "usn", Anchor: "objectGUID"}},
		{o: ldapsource.Options{Delta: "syncrepl"}},
		{o: ldapsource.Options{Delta: "syncrepl", Anchor: "objectGUID"}, bad: true},
		{o: ldapsource.Options{Delta: "dirsync"}, bad: true},
	} {
		c.o.URL, c.o.BaseDN = "ldap://127.0.0.1:1", "dc=example,dc=com"
		if _, err := ldapsource.New(c.o); (err != nil) != c.bad {
			t.Errorf("New(Delta %q, Anchor %q) error = %v, want error %t", c.o.Delta, c.o.Anchor, err, c.bad)
		}
	}
}

// TestSyncreplPresentPhase runs the syncrepl delta against a slapd whose
// syncprov keeps no session log: a synchronisation from a cookie then
// answers with the present phase. Changed entries are reported, unchanged
// ones (named present) are not, and a delete cannot be named: it is left
// to the engine's periodic full read, and nothing is reported deleted by
// mistake.
func TestSyncreplPresentPhase(t *testing.T) {
	t.Parallel()
	if server.skip != "" {
		t.Skip(server.skip)
	}
	srv, err := slapdtest.StartWith(slapdtest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c := slapdtest.Admin(t, srv.URL)
	base := "ou=people," + suffix
	if err := c.Add(entry(base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})); err != nil {
		t.Fatal(err)
	}
	src, err := ldapsource.New(ldapsource.Options{URL: srv.URL, BindDN: rootDN, BindPassword: rootPW, BaseDN: base, Delta: ldapsource.DeltaSyncrepl})
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{t: t, c: c, base: base, src: src}
	byAnchor := map[string]string{}
	dns := map[string]string{}
	for _, uid := range []string{"ann", "ben", "cat"} {
		dns[uid] = b.addUser(uid, uid+"@example.com")
		byAnchor[b.anchor(dns[uid])] = uid
	}
	d, w := b.delta(source.User, "")
	if got := names(d.changed, byAnchor); !slices.Equal(got, []string{"ann", "ben", "cat"}) {
		t.Fatalf("full read = %v", got)
	}
	b.modify(dns["ben"], "mail", "ben@new.example.com")
	if err := c.Del(ldap.NewDelRequest(dns["cat"], nil)); err != nil {
		t.Fatal(err)
	}
	d, w = b.delta(source.User, w)
	if got := names(d.changed, byAnchor); !slices.Equal(got, []string{"ben"}) {
		t.Errorf("changed after a modify and a delete = %v, want [ben]", got)
	}
	if len(d.deleted) != 0 {
		t.Errorf("deleted = %v, want none: the present phase names no deletes", names(d.deleted, byAnchor))
	}
	d, _ = b.delta(source.User, w)
	if len(d.changed)+len(d.deleted) != 0 {
		t.Errorf("nothing changed, yet %v changed and %v deleted", names(d.changed, byAnchor), names(d.deleted, byAnchor))
	}
}

// TestTimestampSyncChanges: auto's mechanism on a server offering content
// synchronisation reports changes by modifyTimestamp (each once) and
// deletes, users' and groups', by the sync protocol.
func TestTimestampSyncChanges(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{})
	alice := b.addUser("alice", "alice@example.com")
	bob := b.addUser("bob", "bob@example.com")
	dev := b.addGroup("dev", alice, bob)
	anchors := map[source.Kind]map[string]string{
		source.User:  {b.anchor(alice): "alice", b.anchor(bob): "bob"},
		source.Group: {b.anchor(dev): "dev"},
	}
	changes := func(kind source.Kind, w string) (changed, deleted []string, next string) {
		t.Helper()
		next, err := b.src.Changes(context.Background(), kind, w, func(o source.Object) error {
			name, ours := anchors[kind][o.Anchor]
			switch {
			case !ours:
				// syncprov also reports, as deletes, entries of the other
				// kind or outside this test's ou (see ofKind).
			case o.Deleted:
				deleted = append(deleted, name)
			default:
				changed = append(changed, name)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		slices.Sort(changed)
		return changed, deleted, next
	}
	got, _, uw := changes(source.User, "")
	want(t, "first users", got, "alice", "bob")
	got, _, gw := changes(source.Group, "")
	want(t, "first groups", got, "dev")
	if !strings.Contains(uw, `"m":"timestampsync"`) {
		t.Errorf("watermark %s is not timestampsync's", uw)
	}

	time.Sleep(1100 * time.Millisecond) // modifyTimestamp has whole seconds
	b.modify(alice, "mail", "alice@new.example.com")
	for _, dn := range []string{bob, dev} {
		if err := b.c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
			t.Fatalf("delete %s: %v", dn, err)
		}
	}
	got, del, uw := changes(source.User, uw)
	want(t, "changed users (the modified one, once)", got, "alice")
	want(t, "deleted users (by the sync protocol)", del, "bob")
	got, del, _ = changes(source.Group, gw)
	want(t, "changed groups", got)
	want(t, "deleted groups", del, "dev")
	got, del, _ = changes(source.User, uw)
	want(t, "changed users after nothing changed", got)
	want(t, "deleted users after nothing changed", del)
}

func want(t *testing.T, what string, got []string, names ...string) {
	t.Helper()
	if !slices.Equal(got, names) {
		t.Errorf("%s = %v, want %v", what, got, names)
	}
}
