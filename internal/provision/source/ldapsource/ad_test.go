package ldapsource_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/source/ldapsource"
)

// fakeDC plays an Active Directory domain controller in slapd with the
// AD-like schema of slapdtest: every write it makes carries the next
// uSNChanged, and highestCommittedUSN (in an adLiteDSE entry, which
// Options.DSEEntry points at) follows, as AD's rootDSE does.
type fakeDC struct {
	b      *testBundle
	nc     string // the naming context: the test's ou
	people string // the source's base DN
	dse    string // the adLiteDSE entry
	usn    int64
	guids  map[string][]byte // test name → objectGUID
	names  map[string]string // anchor → test name
	dns    map[string]string // test name → DN
	kinds  map[string]source.Kind
}

func newFakeDC(t *testing.T) (*fakeDC, *ldapsource.Source) {
	b := setup(t, ldapsource.Options{Delta: ldapsource.DeltaTimestamp})
	dc := &fakeDC{b: b, nc: b.base, people: "ou=people," + b.base, dse: "cn=dse," + b.base, usn: 1000,
		guids: map[string][]byte{}, names: map[string]string{}, dns: map[string]string{}, kinds: map[string]source.Kind{}}
	dc.add(dc.people, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	dc.add("cn=Deleted Objects,"+dc.nc, map[string][]string{"objectClass": {"organizationalRole"}, "cn": {"Deleted Objects"}})
	dc.add("cn=NTDS Settings,"+dc.nc, map[string][]string{"objectClass": {"adLiteDSA"}, "cn": {"NTDS Settings"}, "invocationId": {string(newGUID())}})
	dc.add(dc.dse, map[string][]string{"objectClass": {"adLiteDSE"}, "cn": {"dse"},
		"highestCommittedUSN": {"1000"}, "dsServiceName": {"cn=NTDS Settings," + dc.nc}, "defaultNamingContext": {dc.nc}})
	src, err := ldapsource.New(ldapsource.Options{URL: server.url, BindDN: rootDN, BindPassword: rootPW,
		BaseDN: dc.people, UserFilter: "(objectClass=user)", GroupFilter: "(objectClass=group)",
		Anchor: "objectGUID", DSEEntry: dc.dse})
	if err != nil {
		t.Fatal(err)
	}
	b.src = src
	return dc, src
}

func newGUID() []byte {
	g := make([]byte, 16)
	_, _ = rand.Read(g)
	return g
}

// guidString is AD's GUID text form of objectGUID bytes.
func guidString(b []byte) string {
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8:10], b[10:16])
}

func (dc *fakeDC) add(dn string, attrs map[string][]string) {
	dc.b.t.Helper()
	if err := dc.b.c.Add(entry(dn, attrs)); err != nil {
		dc.b.t.Fatalf("add %s: %v", dn, err)
	}
}

// next takes the next USN without committing it to highestCommittedUSN.
func (dc *fakeDC) next() string {
	dc.usn++
	return strconv.FormatInt(dc.usn, 10)
}

// commit publishes every USN taken as highestCommittedUSN.
func (dc *fakeDC) commit() {
	dc.b.modify(dc.dse, "highestCommittedUSN", strconv.FormatInt(dc.usn, 10))
}

func (dc *fakeDC) user(name string) {
	g := newGUID()
	dn := "cn=" + name + "," + dc.people
	dc.add(dn, map[string][]string{"objectClass": {"inetOrgPerson", "user"}, "cn": {name}, "sn": {name},
		"sAMAccountName": {name}, "userPrincipalName": {name + "@example.com"}, "userAccountControl": {"512"},
		"objectGUID": {string(g)}, "uSNCreated": {strconv.FormatInt(dc.usn+1, 10)}, "uSNChanged": {dc.next()}})
	dc.guids[name], dc.dns[name], dc.names[guidString(g)], dc.kinds[name] = g, dn, name, source.User
	dc.commit()
}

func (dc *fakeDC) group(name string, members ...string) {
	g := newGUID()
	dn := "cn=" + name + "," + dc.people
	var m []string
	for _, u := range members {
		m = append(m, dc.dns[u])
	}
	dc.add(dn, map[string][]string{"objectClass": {"groupOfNames", "group"}, "cn": {name}, "member": m,
		"sAMAccountName": {name}, "objectGUID": {string(g)}, "uSNChanged": {dc.next()}})
	dc.guids[name], dc.dns[name], dc.names[guidString(g)], dc.kinds[name] = g, dn, name, source.Group
	dc.commit()
}

// modify replaces one attribute of a named object with the next USN;
// commit false leaves the change in flight (above highestCommittedUSN).
func (dc *fakeDC) modify(name, attr string, commit bool, values ...string) {
	m := ldap.NewModifyRequest(dc.dns[name], nil)
	m.Replace(attr, values)
	m.Replace("uSNChanged", []string{dc.next()})
	if err := dc.b.c.Modify(m); err != nil {
		dc.b.t.Fatalf("modify %s: %v", name, err)
	}
	if commit {
		dc.commit()
	}
}

// delete does what AD does: the object becomes a tombstone under
// CN=Deleted Objects with isDeleted, its objectGUID, a new uSNChanged and
// its lastKnownParent.
func (dc *fakeDC) delete(name string) {
	if err := dc.b.c.Del(ldap.NewDelRequest(dc.dns[name], nil)); err != nil {
		dc.b.t.Fatalf("delete %s: %v", name, err)
	}
	class := "user"
	if dc.kinds[name] == source.Group {
		class = "group"
	}
	g := dc.guids[name]
	dc.add("cn="+name+" DEL "+guidString(g)+",cn=Deleted Objects,"+dc.nc, map[string][]string{
		"objectClass": {"applicationProcess", class}, "cn": {name + " DEL " + guidString(g)}, "isDeleted": {"TRUE"},
		"objectGUID": {string(g)}, "uSNChanged": {dc.next()}, "lastKnownParent": {dc.people}})
	dc.commit()
}

func (dc *fakeDC) namesOf(anchors []string) []string {
	out := []string{}
	for _, a := range anchors {
		n, ok := dc.names[a]
		if !ok {
			n = "?" + a
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestUSNChanges(t *testing.T) {
	t.Parallel()
	dc, src := newFakeDC(t)
	b := dc.b
	if m, err := src.Mechanism(context.Background()); err != nil || m != ldapsource.DeltaUSN {
		t.Fatalf("Mechanism = %q, %v; want usn (highestCommittedUSN is there)", m, err)
	}
	dc.user("ann")
	dc.user("ben")
	dc.group("dev", "ann")
	// A tombstone of an object outside the base DN: not reported.
	outside := newGUID()
	wm := map[source.Kind]string{}
	steps := []struct {
		name                  string
		do                    func()
		users, deletedUsers   []string
		groups, deletedGroups []string
		check                 func(u, g delta)
	}{
		{name: "full read", do: func() {}, users: []string{"ann", "ben"}, groups: []string{"dev"}},
		{name: "nothing changed", do: func() {}},
		{name: "modify", do: func() { dc.modify("ben", "mail", true, "ben@new.example.com") }, users: []string{"ben"}},
		// A change above highestCommittedUSN is not read yet...
		{name: "in flight", do: func() { dc.modify("ann", "sn", false, "Ann") }},
		// ...and is once it is committed.
		{name: "committed", do: func() { dc.commit() }, users: []string{"ann"}},
		{name: "disable", do: func() { dc.modify("ann", "userAccountControl", true, "514") }, users: []string{"ann"},
			check: func(u, _ delta) {
				if got := u.objects[guidString(dc.guids["ann"])].Attributes["userAccountControl"]; len(got) != 1 || got[0] != "514" {
					t.Errorf("ann's userAccountControl = %v, want 514", got)
				}
			}},
		{name: "membership", do: func() { dc.modify("dev", "member", true, dc.dns["ann"], dc.dns["ben"]) }, groups: []string{"dev"},
			check: func(_, g delta) {
				if got := g.objects[guidString(dc.guids["dev"])].Members; len(got) != 2 {
					t.Errorf("dev's members = %v, want ann and ben", got)
				}
			}},
		{name: "delete", do: func() {
			dc.modify("dev", "member", true, dc.dns["ann"])
			dc.delete("ben")
			dc.add("cn=gone DEL,cn=Deleted Objects,"+dc.nc, map[string][]string{
				"objectClass": {"applicationProcess", "user"}, "cn": {"gone DEL"}, "isDeleted": {"TRUE"},
				"objectGUID": {string(outside)}, "uSNChanged": {dc.next()}, "lastKnownParent": {"ou=elsewhere," + dc.nc}})
			dc.commit()
		}, deletedUsers: []string{"ben"}, groups: []string{"dev"}},
		{name: "delete group", do: func() { dc.delete("dev") }, deletedGroups: []string{"dev"}},
		{name: "nothing changed again", do: func() {}},
		// The DC restored from backup: a new invocationId, a full read.
		{name: "restored", do: func() { b.modify("cn=NTDS Settings,"+dc.nc, "invocationId", string(newGUID())) }, users: []string{"ann"}},
		{name: "nothing after the restore", do: func() {}},
		// Another DC answers (its own USNs): a full read.
		{name: "another DC", do: func() {
			dc.add("cn=DC2,"+dc.nc, map[string][]string{"objectClass": {"adLiteDSA"}, "cn": {"DC2"}, "invocationId": {string(newGUID())}})
			b.modify(dc.dse, "dsServiceName", "cn=DC2,"+dc.nc)
		}, users: []string{"ann"}},
		{name: "nothing after the switch", do: func() {}},
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
			{"changed users", dc.namesOf(u.changed), st.users},
			{"deleted users", dc.namesOf(u.deleted), st.deletedUsers},
			{"changed groups", dc.namesOf(g.changed), st.groups},
			{"deleted groups", dc.namesOf(g.deleted), st.deletedGroups},
		} {
			if !slices.Equal(c.got, append([]string{}, c.want...)) {
				t.Errorf("%s: %s = %v, want %v", st.name, c.what, c.got, c.want)
			}
		}
		if st.check != nil {
			st.check(u, g)
		}
	}
}
