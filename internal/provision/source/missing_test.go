package source_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/source"
)

// listed is a FullLister over fixed anchors, for testing Missing's diff
// only; the sources themselves are tested against real servers.
type listed struct {
	anchors []string
	err     error
}

func (l listed) List(_ context.Context, kind source.Kind, fn func(source.Object) error) error {
	for _, a := range l.anchors {
		if err := fn(source.Object{Anchor: a, Kind: kind}); err != nil {
			return err
		}
	}
	return l.err
}

func set(xs ...string) map[string]struct{} {
	m := map[string]struct{}{}
	for _, x := range xs {
		m[x] = struct{}{}
	}
	return m
}

func TestMissing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		lister  listed
		known   map[string]struct{}
		want    []string
		wantErr bool
	}{
		{"nothing known", listed{anchors: []string{"a", "b"}}, set(), nil, false},
		{"all present", listed{anchors: []string{"a", "b", "c"}}, set("a", "b"), nil, false},
		{"some gone", listed{anchors: []string{"b", "new"}}, set("a", "b", "c"), []string{"a", "c"}, false},
		{"source empty", listed{}, set("a"), []string{"a"}, false},
		{"failed listing reports nothing", listed{anchors: []string{"b"}, err: errors.New("boom")}, set("a", "b"), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := source.Missing(context.Background(), tc.lister, source.User, tc.known)
			if tc.wantErr {
				require.Error(t, err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.ElementsMatch(t, tc.want, got)
		})
	}
}

func TestObjectGet(t *testing.T) {
	t.Parallel()
	o := source.Object{Attributes: map[string]source.Values{
		"userName": {"ann"},
		"title":    nil,
		"emails":   {"a@x", "b@x"},
	}}
	for _, tc := range []struct {
		name    string
		want    source.Values
		present bool
	}{
		{"userName", source.Values{"ann"}, true},
		{"USERNAME", source.Values{"ann"}, true},
		{"title", nil, true},
		{"emails", source.Values{"a@x", "b@x"}, true},
		{"nickName", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, ok := o.Get(tc.name)
			require.Equal(t, tc.present, ok)
			require.Equal(t, tc.want, v)
		})
	}
}
