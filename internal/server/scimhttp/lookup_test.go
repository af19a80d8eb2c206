package scimhttp

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIndexedLookup pins which filters skip the per-tenant list slot: the
// equality lookups identity providers send before each create, which an
// index answers; every other filter queues.
func TestIndexedLookup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{`userName eq "ada@example.com"`, true},
		{`USERNAME eq "ada@example.com"`, true},
		{`externalId eq "e-1"`, true},
		{`id eq "01a2"`, true},
		{`displayName eq "Admins"`, true},
		{`emails[type eq "work"].value eq "ada@example.com"`, true},
		{`emails[value eq "ada@example.com"]`, true},
		{`emails.value eq "ada@example.com"`, true},
		{`userName eq "ada@example.com" and title co "x"`, true},
		{``, false},
		{`userName co "ada"`, false},
		{`userName sw "a"`, false},
		{`userName ne "ada"`, false},
		{`userName pr`, false},
		{`active eq true`, false},
		{`title eq "Engineer"`, false},
		{`name.familyName eq "Lovelace"`, false},
		{`emails[type eq "work"]`, false},
		{`userName eq "a" or userName co "b"`, false},
		{`not (userName eq "a")`, false},
		{`not a filter`, false},
	} {
		require.Equal(t, tc.want, indexedLookup(tc.filter), "%s", tc.filter)
	}
}
