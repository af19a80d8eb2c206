package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

func TestWellFormed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", true},
		{"default", true},
		{"roster_0123456789abcdef_secret", true},
		{"Zoë Ünicode 名前 🙂", true},
		{"space and ~ punctuation!", true},
		{"a\x00b", false},
		{"tab\there", false},
		{"line\nbreak", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"\xff", false},
		{"trunc\xc3", false},
		{"\xc3\x28", false},
		{"\xed\xa0\x80", false}, // a UTF-16 surrogate
		{"\uFFFD", true},        // the replacement character itself is fine
	} {
		require.Equal(t, tc.want, store.WellFormed(tc.in), "%q", tc.in)
	}
}
