package password_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/password"
)

func TestHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := password.Hash(ctx, "Tr0ub4dor&3")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=7168,t=5,p=1$"), h)
	require.NotContains(t, h, "Tr0ub4dor")
	require.True(t, password.IsHash(h))
	ok, err := password.Check(h, "Tr0ub4dor&3")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = password.Check(h, "Tr0ub4dor&4")
	require.NoError(t, err)
	require.False(t, ok)
	h2, err := password.Hash(ctx, "Tr0ub4dor&3")
	require.NoError(t, err)
	require.NotEqual(t, h, h2, "salted")

	for _, tc := range []struct{ name, in string }{
		{"Empty", ""},
		{"TooLong", strings.Repeat("x", password.MaxBytes+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := password.Hash(ctx, tc.in)
			require.Error(t, err)
		})
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for range 64 { // more than there are slots: some call must wait and see ctx end
		if _, err := password.Hash(cancelled, "x"); err != nil {
			require.ErrorIs(t, err, context.Canceled)
			break
		}
	}
}

func TestIsHash(t *testing.T) {
	t.Parallel()
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	for _, tc := range []struct {
		name string
		in   string
		want bool
	}{
		{"Valid", "$argon2id$v=19$m=7168,t=5,p=1$" + salt + "$" + key, true},
		{"AdminParameters", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key, true},
		{"ClearText", "hunter2", false},
		{"Argon2i", "$argon2i$v=19$m=7168,t=5,p=1$" + salt + "$" + key, false},
		{"OldVersion", "$argon2id$v=16$m=7168,t=5,p=1$" + salt + "$" + key, false},
		{"HugeMemory", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key, false},
		{"TooMuchWork", "$argon2id$v=19$m=65536,t=4,p=1$" + salt + "$" + key, false},
		{"ZeroPasses", "$argon2id$v=19$m=7168,t=0,p=1$" + salt + "$" + key, false},
		{"BadSalt", "$argon2id$v=19$m=7168,t=5,p=1$!!$" + key, false},
		{"ShortKey", "$argon2id$v=19$m=7168,t=5,p=1$" + salt + "$a2V5", false},
		{"Padded", "$argon2id$v=19$m=7168,t=5,p=1$" + salt + "==$" + key, false},
		{"Extra", "$argon2id$v=19$m=7168,t=5,p=1$" + salt + "$" + key + "$", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, password.IsHash(tc.in))
			_, err := password.Check(tc.in, "x")
			require.Equal(t, tc.want, err == nil, "%v", err)
		})
	}
}

// BenchmarkHash measures the cost a create with a password adds (see
// docs/security.md): go test -bench Hash -benchmem ./internal/scim/password.
func BenchmarkHash(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		if _, err := password.Hash(ctx, "Tr0ub4dor&3"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHashAll(t *testing.T) {
	t.Parallel()
	clears := []string{"one", "", "two", strings.Repeat("long", password.MaxBytes), "one"}
	hashes, err := password.HashAll(context.Background(), clears)
	require.NoError(t, err)
	require.Len(t, hashes, len(clears))
	require.Empty(t, hashes[1])
	require.NotEqual(t, hashes[0], hashes[4], "salted")
	for i, c := range clears {
		if c == "" {
			continue
		}
		ok, err := password.Check(hashes[i], c)
		require.NoError(t, err)
		if len(c) > password.MaxBytes {
			require.False(t, ok, "Check refuses what Hash would not hash")
			continue
		}
		require.True(t, ok, c)
	}
}
