package filter

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
)

// filterSeeds returns every filter of the test tables, valid or not.
func filterSeeds() []string {
	var seeds []string
	for _, tc := range parseCases {
		seeds = append(seeds, tc.in)
	}
	for _, tc := range filterErrorCases {
		if len(tc.in) <= 512 {
			seeds = append(seeds, tc.in)
		}
	}
	for _, tc := range rfcCases {
		seeds = append(seeds, tc.in)
	}
	for _, tc := range pathCases {
		if tc.want.Filter != nil {
			seeds = append(seeds, tc.want.Filter.String())
		}
	}
	return append(seeds,
		`emails[type eq "work"].value eq "x"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "x"`,
		`active eq "True" and meta.created lt "2011-05-13T04:42:34Z"`,
		`schemas eq "urn:ietf:params:scim:schemas:core:2.0:User"`,
	)
}

// FuzzParse checks that Parse never panics and that the canonical form of
// any filter it accepts parses back to an equal AST and prints identically.
func FuzzParse(f *testing.F) {
	for _, s := range filterSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		canon := e.String()
		if len(canon) > MaxLength {
			// Escaping can lengthen a filter near the limit past it; the
			// round trip is only promised for filters within the limit.
			return
		}
		again, err := Parse(canon)
		require.NoError(t, err, "canonical form %q of %q does not parse", canon, s)
		require.Equal(t, e, again, "canonical form %q of %q", canon, s)
		require.Equal(t, canon, again.String())
	})
}

// FuzzParsePath checks that ParsePath never panics and that the canonical
// form of any path it accepts parses back to an equal Path.
func FuzzParsePath(f *testing.F) {
	for _, tc := range pathCases {
		f.Add(tc.in)
	}
	for _, tc := range pathErrorCases {
		if len(tc.in) <= 512 {
			f.Add(tc.in)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		canon := p.String()
		again, err := ParsePath(canon)
		require.NoError(t, err, "canonical form %q of %q does not parse", canon, s)
		require.Equal(t, p, again, "canonical form %q of %q", canon, s)
		require.Equal(t, canon, again.String())
	})
}

// FuzzEval checks that parsing, validating and evaluating any filter
// against fixed documents never panics, that the validated form is a fixed
// point of Parse and Validate, and that evaluation agrees between a
// validated filter, its re-parsed canonical form and the unvalidated AST.
func FuzzEval(f *testing.F) {
	for _, s := range filterSeeds() {
		f.Add(s)
	}
	type target struct {
		rt   *schema.ResourceType
		docs []map[string]any
	}
	users := []map[string]any{evalUser(), {}}
	for _, d := range sampleUsers() {
		users = append(users, d)
	}
	targets := []target{
		{userType(), users},
		{groupType(), []map[string]any{{"displayName": "G", "members": []any{map[string]any{"value": "u1", "type": "User"}}}}},
		{widgetType(), []map[string]any{evalWidget()}},
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		for _, tg := range targets {
			for _, doc := range tg.docs {
				_ = Eval(e, tg.rt, doc) // unvalidated: must not panic
			}
			v, err := Validate(e, tg.rt)
			if err != nil {
				continue
			}
			again, err := Parse(v.String())
			require.NoError(t, err, "validated form %q of %q does not parse", v.String(), s)
			revalidated, err := Validate(again, tg.rt)
			require.NoError(t, err, "validated form %q of %q does not validate", v.String(), s)
			require.Equal(t, v, revalidated, "validated form %q of %q", v.String(), s)
			for _, doc := range tg.docs {
				got := Eval(v, tg.rt, doc)
				require.Equal(t, got, Eval(again, tg.rt, doc), "%q re-parsed", v.String())
				require.Equal(t, got, Eval(e, tg.rt, doc), "%q unvalidated", s)
				require.Equal(t, !got, Eval(&Not{X: v}, tg.rt, doc))
			}
			if vp, ok := v.(*ValuePath); ok {
				res, err := tg.rt.Resolve(vp.Path.URI, vp.Path.Name, "")
				require.NoError(t, err)
				for _, doc := range tg.docs {
					for _, el := range flatten(doc[res.Attr.Name]) {
						if m, ok := el.(map[string]any); ok {
							require.Equal(t, Matches(vp.Filter, res.Attr, m), Matches(e.(*ValuePath).Filter, res.Attr, m))
						}
					}
				}
			}
		}
	})
}
