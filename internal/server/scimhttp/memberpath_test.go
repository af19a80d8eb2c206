package scimhttp_test

import (
	"net/http"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMemberValuePath checks add and replace with a value path on a
// group's members (RFC 7644 §3.5.2.1 and §3.5.2.3), applied to the stored
// memberships.
func TestMemberValuePath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	members := func(want ...string) func(t *testing.T, r resp) {
		return func(t *testing.T, r resp) {
			var got []string
			for _, m := range path(r.JSON, "members").([]any) {
				got = append(got, m.(map[string]any)["value"].(string))
			}
			for i, w := range want {
				want[i] = e.vars[w]
			}
			sort.Strings(got)
			sort.Strings(want)
			require.Equal(t, want, got, "%s", r.Body)
		}
	}
	patchGroup := func(name, ops string, status int) step {
		return step{name: name, method: http.MethodPatch, path: "/Groups/{{g}}", status: status,
			body: `{` + patchOp + `,"Operations":` + ops + `}`}
	}
	scimType := func(st step, typ string) step {
		st.check = func(t *testing.T, r resp) { require.Equal(t, typ, r.JSON["scimType"], "%s", r.Body) }
		return st
	}
	getGroup := func(name string, want ...string) step {
		return step{name: name, method: http.MethodGet, path: "/Groups/{{g}}", status: http.StatusOK, check: members(want...)}
	}
	e.replay([]step{
		{name: "UserA", method: http.MethodPost, path: "/Users", status: http.StatusCreated, body: `{"userName":"a@example.com"}`, save: map[string]string{"a": "id"}},
		{name: "UserB", method: http.MethodPost, path: "/Users", status: http.StatusCreated, body: `{"userName":"b@example.com"}`, save: map[string]string{"b": "id"}},
		{name: "UserC", method: http.MethodPost, path: "/Users", status: http.StatusCreated, body: `{"userName":"c@example.com"}`, save: map[string]string{"c": "id"}},
		{name: "Group", method: http.MethodPost, path: "/Groups", status: http.StatusCreated,
			body: `{"displayName":"Paths","members":[{"value":"{{a}}"}]}`, save: map[string]string{"g": "id"}},
		patchGroup("AddByValuePath", `[{"op":"add","path":"members[value eq \"{{b}}\"]"}]`, http.StatusNoContent),
		getGroup("AfterAdd", "a", "b"),
		patchGroup("AddByValuePathWithValue", `[{"op":"add","path":"members[value eq \"{{b}}\"]","value":{"value":"{{b}}"}}]`, http.StatusNoContent),
		getGroup("AddIsIdempotent", "a", "b"),
		patchGroup("ReplaceByValuePath", `[{"op":"replace","path":"members[value eq \"{{a}}\"]","value":{"value":"{{c}}","type":"User"}}]`, http.StatusNoContent),
		getGroup("AfterReplace", "b", "c"),
		patchGroup("ReplaceRetried", `[{"op":"replace","path":"members[value eq \"{{a}}\"]","value":{"value":"{{c}}","type":"User"}}]`, http.StatusNoContent),
		getGroup("RetryChangesNothing", "b", "c"),
		patchGroup("ReplaceValueSubAttribute", `[{"op":"replace","path":"members[value eq \"{{b}}\"].value","value":"{{a}}"}]`, http.StatusNoContent),
		getGroup("AfterReplaceValue", "a", "c"),
		scimType(patchGroup("ReplaceOtherFilterNoMatch", `[{"op":"replace","path":"members[value sw \"no-such-id\"]","value":{"value":"{{b}}"}}]`, http.StatusBadRequest), "noTarget"),
		scimType(patchGroup("AddOtherIDRefused", `[{"op":"add","path":"members[value eq \"{{b}}\"]","value":{"value":"{{c}}"}}]`, http.StatusBadRequest), "invalidValue"),
		getGroup("FailuresChangeNothing", "a", "c"),
		patchGroup("ReplaceWithNullRemoves", `[{"op":"replace","path":"members[value eq \"{{c}}\"]","value":null}]`, http.StatusNoContent),
		getGroup("AfterRemove", "a"),
	})
}
