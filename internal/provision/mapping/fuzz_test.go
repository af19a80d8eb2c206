package mapping

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
)

var pathSeeds = []string{
	"userName",
	"name.givenName",
	`emails[type eq "work"].value`,
	`addresses[type eq "work" and primary eq true].locality`,
	`roles[primary eq "True"].value`,
	`phoneNumbers[type eq 1.5].value`,
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
	"urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge",
	`emails[type eq "a\"b"].value`,
	`emails[type ne "work"].value`,
	`emails[type eq null].value`,
	"id",
	"meta.created",
}

// FuzzParsePath checks that a mapping path that parses prints a form that
// parses to the same path, and that compiling any path as a User or Group
// target neither panics nor yields a canonical path that compiles
// differently.
func FuzzParsePath(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(s)
	}
	reg := schema.Default()
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err == nil {
			printed := p.String()
			again, err := ParsePath(printed)
			require.NoError(t, err, "printed form %q of %q does not parse", printed, s)
			require.True(t, reflect.DeepEqual(p, again), "%q → %q parses to %#v, not %#v", s, printed, again, p)
			require.Equal(t, printed, again.String())
		}
		for _, rt := range []*schema.ResourceType{reg.User(), reg.Group()} {
			tg, err := compileTarget(rt, s)
			if err != nil {
				continue
			}
			canon := tg.path.String()
			tg2, err := compileTarget(rt, canon)
			require.NoError(t, err, "canonical %q of %q does not compile", canon, s)
			require.Equal(t, canon, tg2.path.String())
			require.Equal(t, tg.typ, tg2.typ)
			require.Equal(t, tg.ref, tg2.ref)
		}
	})
}
