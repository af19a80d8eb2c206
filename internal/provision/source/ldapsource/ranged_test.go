package ldapsource

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// slapd has no ranged retrieval (and "range=" is not a valid attribute
// option there), so the range walk is tested against a fake that answers
// as AD does with MaxValRange 1500.

func TestParseRange(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		lo, hi int
		ok     bool
	}{
		{"member;range=0-1499", 0, 1499, true},
		{"Member;Range=1500-*", 1500, -1, true},
		{"member;range=3000-2999", 0, 0, false},
		{"member;range=x-1", 0, 0, false},
		{"member;range=5", 0, 0, false},
		{"member", 0, 0, false},
		{"memberOf;range=0-1", 0, 0, false},
	} {
		lo, hi, ok := parseRange("member", c.name)
		if lo != c.lo || hi != c.hi || ok != c.ok {
			t.Errorf("parseRange(%q) = %d, %d, %t; want %d, %d, %t", c.name, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
}

// fakeRanges answers ranged reads of n values max at a time, as AD does.
func fakeRanges(values []string, max int) func(lo int) (*ldap.EntryAttribute, error) {
	return func(lo int) (*ldap.EntryAttribute, error) {
		hi := lo + max - 1
		name := fmt.Sprintf("member;range=%d-%d", lo, hi)
		if hi >= len(values)-1 {
			hi = len(values) - 1
			name = fmt.Sprintf("member;range=%d-*", lo)
		}
		return &ldap.EntryAttribute{Name: name, Values: values[lo : hi+1]}, nil
	}
}

func TestWalkRanges(t *testing.T) {
	t.Parallel()
	all := make([]string, 3700)
	for i := range all {
		all[i] = fmt.Sprintf("cn=u%d,dc=example,dc=com", i)
	}
	ad := fakeRanges(all, 1500)
	first, _ := ad(0)
	boom := errors.New("connection reset")
	for _, c := range []struct {
		name    string
		first   *ldap.EntryAttribute
		fetch   func(int) (*ldap.EntryAttribute, error)
		want    []string
		wantErr bool
	}{
		{name: "three ranges", first: first, fetch: ad, want: all},
		{name: "one range ending in *", first: &ldap.EntryAttribute{Name: "member;range=0-*", Values: all[:3]},
			fetch: func(int) (*ldap.EntryAttribute, error) { return nil, errors.New("not called") }, want: all[:3]},
		{name: "a gap between ranges", first: first, fetch: func(lo int) (*ldap.EntryAttribute, error) {
			return ad(lo + 1)
		}, wantErr: true},
		{name: "no ranged attribute in the answer", first: first,
			fetch: func(int) (*ldap.EntryAttribute, error) { return nil, nil }, wantErr: true},
		{name: "a failed read", first: first,
			fetch: func(int) (*ldap.EntryAttribute, error) { return nil, boom }, wantErr: true},
	} {
		got, err := walkRanges("member", c.first.Name, c.first.Values, c.fetch)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: error = %v, want error %t", c.name, err, c.wantErr)
			continue
		}
		if !c.wantErr && !slices.Equal(got, c.want) {
			t.Errorf("%s: %d values, want %d", c.name, len(got), len(c.want))
		}
	}
}
