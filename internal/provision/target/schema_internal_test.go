package target

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParsePath splits mapping target paths into schema, attribute and
// sub-attribute.
func TestParsePath(t *testing.T) {
	t.Parallel()
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	for _, tc := range []struct {
		in   string
		want attrPath
	}{
		{"userName", attrPath{Attr: "userName"}},
		{"name.givenName", attrPath{Attr: "name", Sub: "givenName"}},
		{`emails[type eq "work"].value`, attrPath{Attr: "emails", Sub: "value"}},
		{`emails[type eq "a]b.c:d"].value`, attrPath{Attr: "emails", Sub: "value"}},
		{`addresses[type eq "work" and primary eq true].formatted`, attrPath{Attr: "addresses", Sub: "formatted"}},
		{`roles[primary eq "True"].value`, attrPath{Attr: "roles", Sub: "value"}},
		{"members", attrPath{Attr: "members"}},
		{ent + ":manager", attrPath{URN: ent, Attr: "manager"}},
		{ent + ":manager.value", attrPath{URN: ent, Attr: "manager", Sub: "value"}},
		{"urn:example:custom:foo", attrPath{URN: "urn:example:custom", Attr: "foo"}},
		{"URN:Example:X:y", attrPath{URN: "URN:Example:X", Attr: "y"}},
		{"", attrPath{}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, parsePath(tc.in))
		})
	}
}
