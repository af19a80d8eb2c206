package tenant

import (
	"context"
	"crypto/sha256"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
)

// TestAuthCacheHoldsNoToken: the cache is keyed by a SHA-256, and nothing
// it holds after authenticating contains the token or its secret part.
func TestAuthCacheHoldsNoToken(t *testing.T) {
	t.Parallel()
	k := reflect.TypeOf(newAuthCache(1).entries).Key()
	require.True(t, k.Kind() == reflect.Array && k.Len() == sha256.Size && k.Elem().Kind() == reflect.Uint8,
		"keyed by a SHA-256, not by the token: %s", k)
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		s := New(st)
		t.Cleanup(s.Close)
		_, err := s.Create(ctx, "acme", "tester")
		require.NoError(t, err)
		iss, err := s.IssueToken(ctx, "acme", TokenRequest{CreatedBy: "tester"})
		require.NoError(t, err)
		_, _, err = s.Authenticate(ctx, "acme", iss.Plaintext)
		require.NoError(t, err)
		require.Equal(t, 1, s.auths.len())
		secret := iss.Plaintext[strings.LastIndexByte(iss.Plaintext, '_')+1:]
		for k, e := range s.auths.entries {
			dump := fmt.Sprintf("%#v %#v %s %v", k, e, k[:], e)
			require.NotContains(t, dump, secret)
		}
	})
}

// TestAuthCacheBounds checks the cache's rules: at most max entries, only
// entries of one version, and no entries at all when max is 0.
func TestAuthCacheBounds(t *testing.T) {
	t.Parallel()
	key := func(i int) authKey { return sha256.Sum256(fmt.Appendf(nil, "token %d", i)) }
	tests := []struct {
		name    string
		max     int
		puts    []int64 // the version of each put, keys 0, 1, 2…
		wantLen int
	}{
		{"Bounded", 3, []int64{1, 1, 1, 1, 1, 1}, 3},
		{"NewVersionDropsOlder", 10, []int64{1, 1, 1, 2}, 1},
		{"Disabled", 0, []int64{1, 1}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newAuthCache(tc.max)
			for i, v := range tc.puts {
				c.put(key(i), authEntry{version: v, tokenID: fmt.Sprint(i)})
			}
			require.Equal(t, tc.wantLen, c.len())
			if tc.wantLen > 0 {
				last := len(tc.puts) - 1
				e, ok := c.get(key(last))
				require.True(t, ok, "the last put is kept")
				require.Equal(t, fmt.Sprint(last), e.tokenID)
			}
		})
	}
}
