package ldapsource

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestGUID(t *testing.T) {
	t.Parallel()
	// AD stores objectGUID with its first three fields little-endian
	// (Python's uuid.bytes_le order).
	raw := []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	const want = "00112233-4455-6677-8899-aabbccddeeff"
	if got := formatGUID(raw); got != want {
		t.Fatalf("formatGUID = %s, want %s", got, want)
	}
	back, err := parseGUID(want)
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("parseGUID = %x, %v; want %x", back, err, raw)
	}
	for _, bad := range []string{"", "0011", "00112233-4455-6677-8899-aabbccddeefg", "001122334455667788990aabbccddeeff"} {
		if _, err := parseGUID(bad); err == nil {
			t.Errorf("parseGUID(%q) accepted", bad)
		}
	}
	s, err := New(Options{URL: "ldap://dc.example.com", BaseDN: "dc=example,dc=com", Anchor: "objectGUID"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.anchorFilter(want)
	if wantF := `(objectGUID=\33\22\11\00\55\44\77\66\88\99\aa\bb\cc\dd\ee\ff)`; err != nil || f != wantF {
		t.Errorf("anchorFilter = %s, %v; want %s", f, err, wantF)
	}
	if f, _ := (&Source{o: Options{Anchor: "entryUUID"}}).anchorFilter("a*(b)"); f != `(entryUUID=a\2a\28b\29)` {
		t.Errorf("anchorFilter does not escape: %s", f)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{BaseDN: "dc=example,dc=com"},
		{URL: "http://x", BaseDN: "dc=example,dc=com"},
		{URL: "ldap://x"},
		{URL: "ldap://x", BaseDN: "not a dn"},
		{URL: "ldap://x", BaseDN: "dc=example,dc=com", UserFilter: "(uid=x"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	s, err := New(Options{URL: "ldap://x", BaseDN: "dc=example,dc=com", BindDN: "cn=a", BindPassword: "hunter2"})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Describe(); strings.Contains(d, "hunter2") || !strings.Contains(d, "cn=a") {
		t.Errorf("Describe = %q", d)
	}
}

func TestWatermark(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
	ts := func(d time.Duration) string { return t0.Add(d).Format(generalized) }
	st, _ := parseWatermark("")
	if !st.admit("a", "csn1", ts(0)) || !st.admit("b", "csn2", ts(time.Second)) {
		t.Fatal("new objects not admitted")
	}
	if st.admit("a", "csn1", ts(0)) {
		t.Error("an object read again unchanged was admitted")
	}
	if !st.admit("a", "csn3", ts(0)) {
		t.Error("an object changed within the same second (new entryCSN) was not admitted")
	}
	if !st.admit("c", "", "not a time") {
		t.Error("an object without a modifyTimestamp was not admitted")
	}
	if !st.Since.Equal(t0.Add(time.Second)) {
		t.Errorf("Since = %v", st.Since)
	}
	// AD writes a fraction: 20261207180001.0Z.
	if !st.admit("d", "", t0.Add(time.Second).Format("20060102150405")+".0Z") {
		t.Error("AD's fractional modifyTimestamp not admitted")
	}
	st.admit("old", "", ts(-time.Hour))
	st.prune(time.Second, 10)
	if _, ok := st.Seen["old"]; ok {
		t.Error("an entry before the window was kept")
	}
	back, err := parseWatermark(st.String())
	if err != nil || back.String() != st.String() || len(back.Seen) != 3 {
		t.Fatalf("round trip: %v, %s vs %s", err, back.String(), st.String())
	}
	// Past MaxSeen the oldest are forgotten.
	for i := range 5 {
		st.admit(fmt.Sprintf("n%d", i), "", ts(time.Second))
	}
	st.prune(time.Second, 4)
	if len(st.Seen) != 4 {
		t.Errorf("after prune to 4: %d entries", len(st.Seen))
	}
	if f := st.from(time.Second); !f.Equal(t0) {
		t.Errorf("from = %v, want %v", f, t0)
	}
	for _, bad := range []string{"x", `{"v":2}`, `{"v":1,"since":"yesterday"}`} {
		if _, err := parseWatermark(bad); err == nil {
			t.Errorf("parseWatermark(%q) accepted", bad)
		}
	}
}
