package notify

import (
	"net/mail"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string // want is the address, "" for an error
	}{
		{"ops@example.com", "ops@example.com"},
		{"Ops Team <ops@example.com>", "ops@example.com"},
		{"  ops@example.com  ", "ops@example.com"},
		{`"Jöns" <jons@example.com>`, "jons@example.com"},
		{"", ""},
		{"   ", ""},
		{"ops", ""},
		{"ops@", ""},
		{"@example.com", ""},
		{"a@example.com, b@example.com", ""},
		{"ops@example.com\r\nBcc: evil@example.com", ""},
		{`"a b"@example.com`, ""},
		{"x@" + string(make([]byte, 300)), ""},
	} {
		got, err := ParseAddress(tc.in)
		if tc.want == "" {
			require.Error(t, err, "%q", tc.in)
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		require.Equal(t, tc.want, got.Address, "%q", tc.in)
	}
}

// FuzzParseAddress checks that ParseAddress never panics and that what it
// accepts is an address that, written as a header, reads back the same.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"ops@example.com", "Ops <ops@example.com>", `"a\"b" <x@y.z>`, "=?utf-8?q?J=C3=B6ns?= <j@x.y>", "a@b,c@d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		back, err := mail.ParseAddress(a.String())
		if err != nil {
			t.Fatalf("%q parsed to %q, which does not parse: %v", s, a.String(), err)
		}
		if back.Address != a.Address {
			t.Fatalf("%q: address %q read back as %q", s, a.Address, back.Address)
		}
	})
}
