package scimsource

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scimclient"
)

const t0 = "2026-12-07T10:00:00.123Z"

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

// TestAdmit is the de-duplication rule: within the overlap window, an id
// at the version and time already reported is not news; anything else is.
func TestAdmit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		seen      map[string]source.WindowEntry
		id        string
		m         meta
		news      bool
		wantSince string
	}{
		{"new id in the watermark's millisecond", map[string]source.WindowEntry{"a": {Version: "v1"}}, "b", meta{"v1", t0}, true, t0},
		{"same id, version and time: the window re-read it", map[string]source.WindowEntry{"a": {Version: "v1"}}, "a", meta{"v1", t0}, false, t0},
		{"same id, new version in the same millisecond", map[string]source.WindowEntry{"a": {Version: "v1"}}, "a", meta{"v2", t0}, true, t0},
		{"same id and version, later time (no versions kept)", map[string]source.WindowEntry{"a": {Version: ""}}, "a", meta{"", "2026-12-07T10:00:00.124Z"}, true, "2026-12-07T10:00:00.124Z"},
		{"later object moves Since", nil, "c", meta{"v1", "2026-12-07T10:00:01Z"}, true, "2026-12-07T10:00:01Z"},
		{"earlier object (out of order) leaves Since", nil, "c", meta{"v1", "2026-12-07T09:59:59.5Z"}, true, t0},
		{"no lastModified: always news", map[string]source.WindowEntry{"a": {Version: "v1"}}, "a", meta{"v1", ""}, true, t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := state{source.Window{Since: at(t, t0), Seen: map[string]source.WindowEntry{}}}
			for id, s := range tc.seen {
				if s.Modified.IsZero() {
					s.Modified = at(t, t0)
				}
				st.Seen[id] = s
			}
			require.Equal(t, tc.news, st.admit(tc.id, tc.m))
			require.True(t, at(t, tc.wantSince).Equal(st.Since), "since %v", st.Since)
		})
	}
}

// TestPrune keeps what the next window re-reads and bounds the rest.
func TestPrune(t *testing.T) {
	t.Parallel()
	since := at(t, "2026-12-07T10:00:10Z")
	for _, tc := range []struct {
		name string
		mods map[string]string
		max  int
		want []string
	}{
		{"all inside the window", map[string]string{"a": "2026-12-07T10:00:09Z", "b": "2026-12-07T10:00:10Z"}, 10, []string{"a", "b"}},
		{"older than the window forgotten", map[string]string{"a": "2026-12-07T10:00:07.999Z", "b": "2026-12-07T10:00:08Z"}, 10, []string{"b"}},
		{"over max: the oldest go", map[string]string{"a": "2026-12-07T10:00:08.5Z", "b": "2026-12-07T10:00:09Z", "c": "2026-12-07T10:00:10Z"}, 2, []string{"b", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := state{source.Window{Since: since, Seen: map[string]source.WindowEntry{}}}
			for id, m := range tc.mods {
				st.Seen[id] = source.WindowEntry{Version: "v", Modified: at(t, m)}
			}
			st.prune(2*time.Second, tc.max)
			var got []string
			for id := range st.Seen {
				got = append(got, id)
			}
			require.ElementsMatch(t, tc.want, got)
		})
	}
}

// TestWatermark round-trips a state and refuses strings it did not write.
func TestWatermark(t *testing.T) {
	t.Parallel()
	st := state{source.Window{Since: at(t, t0), Seen: map[string]source.WindowEntry{
		"b": {Version: "W/\"2\"", Modified: at(t, t0)},
		"a": {Modified: at(t, "2026-12-07T09:59:59.000000001Z")},
	}}}
	w := st.String()
	require.Equal(t, w, st.String(), "deterministic")
	back, err := parseWatermark(w)
	require.NoError(t, err)
	require.True(t, st.Since.Equal(back.Since))
	require.Len(t, back.Seen, 2)
	require.True(t, st.Seen["a"].Modified.Equal(back.Seen["a"].Modified))
	require.Equal(t, st.Seen["b"].Version, back.Seen["b"].Version)

	zero, err := parseWatermark("")
	require.NoError(t, err)
	require.True(t, zero.Since.IsZero())
	for _, bad := range []string{"x", `{"v":2}`, `{"v":1,"since":"yesterday"}`, `{"v":1,"seen":[{"id":"a","mod":"no"}]}`} {
		_, err := parseWatermark(bad)
		require.Error(t, err, bad)
	}
	// The filter's lower bound is cut to the millisecond, widening it.
	require.Equal(t, "2026-12-07T09:59:58.123Z", st.from(2*time.Second).Format(filterTime))
}

// TestDecode turns SCIM JSON into an Object: nulls and empty arrays are
// null, absent stays absent, numbers keep their digits.
func TestDecode(t *testing.T) {
	t.Parallel()
	raw := json.RawMessage(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"42",
		"userName":"ann","title":null,"phoneNumbers":[],"emails":[{"value":"a@x"},{"value":"b@x"}],
		"employeeNumber":12345678901234567890,"active":true,
		"meta":{"version":"W/\"3\"","lastModified":"2026-12-07T10:00:00.123Z"}}`)
	o, m, err := decode(source.User, raw)
	require.NoError(t, err)
	require.Equal(t, "42", o.Anchor)
	require.Equal(t, `W/"3"`, o.Version)
	require.Equal(t, "2026-12-07T10:00:00.123Z", m.LastModified)
	for _, tc := range []struct {
		name    string
		want    source.Values
		present bool
	}{
		{"userName", source.Values{"ann"}, true},
		{"title", nil, true},
		{"phoneNumbers", nil, true},
		{"emails", source.Values{map[string]any{"value": "a@x"}, map[string]any{"value": "b@x"}}, true},
		{"employeeNumber", source.Values{json.Number("12345678901234567890")}, true},
		{"active", source.Values{true}, true},
		{"nickName", nil, false},
		{"id", nil, false},
		{"schemas", nil, false},
		{"meta", nil, false},
	} {
		v, ok := o.Get(tc.name)
		require.Equal(t, tc.present, ok, tc.name)
		require.Equal(t, tc.want, v, tc.name)
	}
	_, _, err = decode(source.User, json.RawMessage(`{"userName":"no id"}`))
	require.Error(t, err)
}

// TestRefusedFilter falls back only when the filtered list itself is
// refused, not when a member read during the walk fails.
func TestRefusedFilter(t *testing.T) {
	t.Parallel()
	respErr := func(status int, path string) error {
		return fmt.Errorf("scim source: list: %w", &scimclient.ResponseError{
			Method: http.MethodGet, Path: path, Response: &scimclient.Response{Status: status},
			SCIM: scimclient.DecodeError(status, nil),
		})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"400 to the filtered list", respErr(400, "/Users?count=100&filter=meta.lastModified+ge"), true},
		{"501 to the filtered list", respErr(501, "/Groups?filter=x"), true},
		{"403 to the filtered list", respErr(403, "/Users?filter=x"), true},
		{"400 to a member read", respErr(400, "/Groups/1?attributes=members"), false},
		{"500 to the filtered list", respErr(500, "/Users?filter=x"), false},
		{"401 to the filtered list", respErr(401, "/Users?filter=x"), false},
		{"no response", errors.New("connection refused"), false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, refusedFilter(tc.err))
		})
	}
}
