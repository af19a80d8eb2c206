package ldapsource_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/source/ldapsource"
)

var runs atomic.Int64

// testBundle is one test's directory: its own ou under the suffix, an
// admin connection and a Source reading that ou.
type testBundle struct {
	t    *testing.T
	c    *ldap.Conn
	base string
	src  *ldapsource.Source
}

func setup(t *testing.T, o ldapsource.Options) *testBundle {
	t.Helper()
	c := admin(t)
	// A counter keeps -count=N runs, which share the package's slapd,
	// apart.
	ou := fmt.Sprintf("%s-%d", strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()), runs.Add(1))
	base := "ou=" + ou + "," + suffix
	if err := c.Add(entry(base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {ou}})); err != nil {
		t.Fatalf("add %s: %v", base, err)
	}
	o.URL, o.BindDN, o.BindPassword, o.BaseDN = server.url, rootDN, rootPW, base
	src, err := ldapsource.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testBundle{t: t, c: c, base: base, src: src}
}

// addUser adds an inetOrgPerson and returns its DN.
func (b *testBundle) addUser(uid string, mails ...string) string {
	b.t.Helper()
	dn := "uid=" + uid + "," + b.base
	err := b.c.Add(entry(dn, map[string][]string{
		"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {uid + " User"},
		"givenName": {strings.ToUpper(uid[:1]) + uid[1:]}, "sn": {"User"}, "mail": mails,
	}))
	if err != nil {
		b.t.Fatalf("add %s: %v", dn, err)
	}
	return dn
}

// addGroup adds a groupOfNames and returns its DN.
func (b *testBundle) addGroup(cn string, members ...string) string {
	b.t.Helper()
	dn := "cn=" + cn + "," + b.base
	if err := b.c.Add(entry(dn, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {cn}, "member": members})); err != nil {
		b.t.Fatalf("add %s: %v", dn, err)
	}
	return dn
}

// read returns attributes of one entry.
func (b *testBundle) read(dn string, attrs ...string) *ldap.Entry {
	b.t.Helper()
	res, err := b.c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", attrs, nil))
	if err != nil || len(res.Entries) != 1 {
		b.t.Fatalf("read %s: %v", dn, err)
	}
	return res.Entries[0]
}

// anchor returns an entry's entryUUID.
func (b *testBundle) anchor(dn string) string {
	b.t.Helper()
	return b.read(dn, "entryUUID").GetAttributeValue("entryUUID")
}

// modify replaces one attribute's values.
func (b *testBundle) modify(dn, attr string, values ...string) {
	b.t.Helper()
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace(attr, values)
	if err := b.c.Modify(m); err != nil {
		b.t.Fatalf("modify %s: %v", dn, err)
	}
}

// list collects a full listing.
func (b *testBundle) list(kind source.Kind) map[string]source.Object {
	b.t.Helper()
	out := map[string]source.Object{}
	err := b.src.List(context.Background(), kind, func(o source.Object) error {
		if _, dup := out[o.Anchor]; dup {
			b.t.Errorf("%s listed twice", o.Anchor)
		}
		out[o.Anchor] = o
		return nil
	})
	if err != nil {
		b.t.Fatalf("List %s: %v", kind, err)
	}
	return out
}

// changes runs a delta and returns the anchors reported and the next
// watermark.
func (b *testBundle) changes(kind source.Kind, w string) ([]string, string) {
	b.t.Helper()
	var got []string
	next, err := b.src.Changes(context.Background(), kind, w, func(o source.Object) error {
		got = append(got, o.Anchor)
		return nil
	})
	if err != nil {
		b.t.Fatalf("Changes(%s): %v", w, err)
	}
	slices.Sort(got)
	return got, next
}

func TestTestConnection(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{})
	if err := b.src.Test(context.Background()); err != nil {
		t.Fatalf("Test with good settings: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    ldapsource.Options
		want source.Cause
	}{
		{"wrong password", ldapsource.Options{URL: server.url, BindDN: rootDN, BindPassword: "wrong", BaseDN: b.base}, source.CauseCredentials},
		{"wrong port", ldapsource.Options{URL: fmt.Sprintf("ldap://127.0.0.1:%d", port), BaseDN: b.base}, source.CauseUnreachable},
		{"missing base DN", ldapsource.Options{URL: server.url, BindDN: rootDN, BindPassword: rootPW, BaseDN: "ou=nowhere," + suffix}, source.CauseAddress},
		{"TLS to a plain port", ldapsource.Options{URL: strings.Replace(server.url, "ldap://", "ldaps://", 1), BaseDN: b.base, Timeout: 2 * time.Second}, source.CauseTLS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := ldapsource.New(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			err = src.Test(context.Background())
			var te *source.TestError
			if !errors.As(err, &te) {
				t.Fatalf("Test = %v, want a *source.TestError", err)
			}
			if te.Cause != tc.want {
				t.Errorf("cause = %s (%v), want %s", te.Cause, err, tc.want)
			}
			if strings.Contains(te.Error(), "wrong") && tc.o.BindPassword == "wrong" {
				t.Errorf("the message shows the password: %v", te)
			}
		})
	}
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{PageSize: 2})
	want := map[string]string{}
	for i := range 7 {
		uid := fmt.Sprintf("user%d", i)
		dn := b.addUser(uid, uid+"@example.com", uid+"@alias.example.com")
		want[b.anchor(dn)] = uid
	}
	b.addGroup("staff", "uid=user0,"+b.base) // not a user: must not be listed
	got := b.list(source.User)
	if len(got) != len(want) {
		t.Fatalf("listed %d users, want %d", len(got), len(want))
	}
	for a, uid := range want {
		o, ok := got[a]
		if !ok {
			t.Fatalf("%s (%s) not listed", uid, a)
		}
		if o.Kind != source.User || o.Version == "" {
			t.Errorf("%s: kind %q version %q", uid, o.Kind, o.Version)
		}
		if v, _ := o.Get("uid"); len(v) != 1 || v[0] != uid {
			t.Errorf("%s: uid = %v", uid, v)
		}
		if v, _ := o.Get("mail"); !slices.Equal(v, source.Values{uid + "@example.com", uid + "@alias.example.com"}) {
			t.Errorf("%s: mail = %v, want both values in order", uid, v)
		}
		if v, _ := o.Get("dn"); len(v) != 1 || v[0] != "uid="+uid+","+b.base {
			t.Errorf("%s: dn = %v", uid, v)
		}
		if v, _ := o.Get("entryUUID"); len(v) != 1 || v[0] != o.Anchor {
			t.Errorf("%s: entryUUID = %v, want the anchor %s, for mappings", uid, v, o.Anchor)
		}
	}
	// An error from fn stops the listing mid-page and is returned as is.
	stop := errors.New("stop")
	n := 0
	err := b.src.List(context.Background(), source.User, func(source.Object) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("List stopped after %d with %v, want 3 and the callback's error", n, err)
	}
}

func TestGroupMembers(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{PageSize: 2})
	alice := b.addUser("alice", "alice@example.com")
	bob := b.addUser("bob", "bob@example.com")
	carol := b.addUser("carol", "carol@example.com")
	dev := b.addGroup("dev", alice, bob)
	// A nested group, a member outside the base DN and a dangling DN (no
	// refint overlay) are members of all.
	all := b.addGroup("all", dev, strings.ToUpper(carol), "uid=ghost,"+b.base, rootDN)
	got := b.list(source.Group)
	if len(got) != 2 {
		t.Fatalf("listed %d groups, want 2", len(got))
	}
	members := func(g string) []source.Member {
		o, ok := got[b.anchor(g)]
		if !ok {
			t.Fatalf("group %s not listed", g)
		}
		if _, ok := o.Get("member"); ok {
			t.Errorf("%s: member DNs left in the attributes", g)
		}
		return o.Members
	}
	wantDev := []source.Member{{Anchor: b.anchor(alice), Kind: source.User}, {Anchor: b.anchor(bob), Kind: source.User}}
	if m := members(dev); !slices.Equal(m, wantDev) {
		t.Errorf("dev members = %v, want %v", m, wantDev)
	}
	wantAll := []source.Member{{Anchor: b.anchor(dev), Kind: source.Group}, {Anchor: b.anchor(carol), Kind: source.User}}
	if m := members(all); !slices.Equal(m, wantAll) {
		t.Errorf("all members = %v, want %v", m, wantAll)
	}

	var expanded []source.Member
	if err := b.src.Members(context.Background(), b.anchor(dev), func(m source.Member) error {
		expanded = append(expanded, m)
		return nil
	}); err != nil {
		t.Fatalf("Members: %v", err)
	}
	if !slices.Equal(expanded, wantDev) {
		t.Errorf("Members(dev) = %v, want %v", expanded, wantDev)
	}
	err := b.src.Members(context.Background(), b.anchor(alice), func(source.Member) error { return nil })
	if !errors.Is(err, source.ErrNotFound) {
		t.Errorf("Members of a user = %v, want ErrNotFound", err)
	}
}

func TestChanges(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{Delta: ldapsource.DeltaTimestamp})
	var anchors []string
	dns := map[string]string{}
	for _, uid := range []string{"ann", "ben", "cat", "dan"} {
		dn := b.addUser(uid, uid+"@example.com")
		dns[uid] = dn
		anchors = append(anchors, b.anchor(dn))
	}
	slices.Sort(anchors)
	got, w := b.changes(source.User, "")
	if !slices.Equal(got, anchors) {
		t.Fatalf("first delta = %v, want every user %v", got, anchors)
	}
	// The overlap window reads the last second again; nothing changed, so
	// nothing is reported.
	if got, w2 := b.changes(source.User, w); len(got) != 0 {
		t.Fatalf("delta without changes = %v", got)
	} else {
		w = w2
	}
	b.modify(dns["ben"], "mail", "ben@new.example.com")
	got, w = b.changes(source.User, w)
	if want := []string{b.anchor(dns["ben"])}; !slices.Equal(got, want) {
		t.Fatalf("delta after modifying ben = %v, want %v", got, want)
	}

	// Two modifies in the same second, a delta between them: the second
	// must not be lost at the boundary (modifyTimestamp has 1-second
	// resolution), and the first must not be reported twice.
	for attempt := 0; ; attempt++ {
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
		b.modify(dns["cat"], "sn", fmt.Sprintf("Cat%d", attempt))
		got, w = b.changes(source.User, w)
		if want := []string{b.anchor(dns["cat"])}; !slices.Equal(got, want) {
			t.Fatalf("delta after modifying cat = %v, want %v", got, want)
		}
		b.modify(dns["dan"], "sn", fmt.Sprintf("Dan%d", attempt))
		tc := b.read(dns["cat"], "modifyTimestamp").GetAttributeValue("modifyTimestamp")
		td := b.read(dns["dan"], "modifyTimestamp").GetAttributeValue("modifyTimestamp")
		got, w = b.changes(source.User, w)
		if want := []string{b.anchor(dns["dan"])}; !slices.Equal(got, want) {
			t.Fatalf("delta after modifying dan in the same second as cat (%s, %s) = %v, want %v", tc, td, got, want)
		}
		if tc == td {
			break
		}
		if attempt == 4 {
			t.Fatalf("could not make two modifies in the same second (%s, %s)", tc, td)
		}
	}
	if got, _ := b.changes(source.User, w); len(got) != 0 {
		t.Fatalf("delta without changes = %v", got)
	}
	if _, err := b.src.Changes(context.Background(), source.User, "garbage", func(source.Object) error { return nil }); err == nil {
		t.Error("a watermark the source did not write was accepted")
	}
}

func TestGroupChanges(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{Delta: ldapsource.DeltaTimestamp})
	alice := b.addUser("alice", "alice@example.com")
	bob := b.addUser("bob", "bob@example.com")
	g := b.addGroup("dev", alice)
	_, w := b.changes(source.Group, "")
	b.modify(g, "member", alice, bob)
	var got []source.Object
	if _, err := b.src.Changes(context.Background(), source.Group, w, func(o source.Object) error {
		got = append(got, o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Anchor != b.anchor(g) || len(got[0].Members) != 2 {
		t.Fatalf("delta after adding a member = %+v, want dev with 2 members", got)
	}
}

func TestMissingAfterDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{PageSize: 2})
	known := map[string]struct{}{}
	var gone string
	for i := range 5 {
		dn := b.addUser(fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@example.com", i))
		a := b.anchor(dn)
		known[a] = struct{}{}
		if i == 3 {
			gone = a
			if err := b.c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
				t.Fatalf("delete %s: %v", dn, err)
			}
		}
	}
	missing, err := source.Missing(context.Background(), b.src, source.User, known)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []string{gone}) {
		t.Errorf("Missing = %v, want [%s]", missing, gone)
	}
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.src.List(ctx, source.User, func(source.Object) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List on a canceled context = %v", err)
	}
}

func TestTestTimeout(t *testing.T) {
	t.Parallel()
	// A listener that accepts and never answers: the bind times out.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	src, err := ldapsource.New(ldapsource.Options{URL: "ldap://" + l.Addr().String(), BindDN: rootDN, BindPassword: rootPW,
		BaseDN: suffix, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var te *source.TestError
	if err := src.Test(context.Background()); !errors.As(err, &te) || te.Cause != source.CauseTimeout {
		t.Fatalf("Test against a silent server = %v, want cause timeout", err)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	b := setup(t, ldapsource.Options{})
	alice := b.addUser("alice", "alice@example.com")
	dev := b.addGroup("dev", alice)
	var _ source.Referencer = b.src
	ghost := "uid=ghost," + b.base
	got, err := b.src.Resolve(context.Background(), []string{alice, strings.ToUpper(dev), ghost, rootDN, "not a dn"})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	want := map[string]string{alice: b.anchor(alice), strings.ToUpper(dev): b.anchor(dev)}
	if len(got) != len(want) || got[alice] != want[alice] || got[strings.ToUpper(dev)] != want[strings.ToUpper(dev)] {
		t.Errorf("Resolve = %v, want %v (a dangling DN, one outside the base and a non-DN resolve to nothing)", got, want)
	}
}
