package sqlfilter

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	attrs := map[string]any{
		"s":     "quote \" backslash \\ nl \n tab \t ctl \x01 ☃ <&>",
		"int":   int64(-9007199254740993),
		"float": 2.0,
		"exp":   1e300,
		"small": 2.5e-10,
		"bool":  false,
		"list":  []any{"a", int64(1), 1.5, true, map[string]any{"k": "v"}},
		"obj":   map[string]any{"nested": map[string]any{"x": int64(0)}},
	}
	text, err := EncodeAttrs(attrs)
	require.NoError(t, err)
	require.True(t, json.Valid([]byte(text)))
	got, err := DecodeAttrs(text)
	require.NoError(t, err)
	require.Equal(t, attrs, got)

	// Keys are sorted, so equal attributes are equal text.
	again, err := EncodeAttrs(got)
	require.NoError(t, err)
	require.Equal(t, text, again)
}

func TestCodecStrings(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "\x00\x1f\x7f", "bad \xff utf8", "é\u2028"} {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		var a, b string
		require.NoError(t, json.Unmarshal(appendString(nil, s), &a), "%q", s)
		require.NoError(t, json.Unmarshal(want, &b))
		require.Equal(t, b, a, "%q decodes as encoding/json's encoding does", s)
	}
}

func TestCodecRejects(t *testing.T) {
	t.Parallel()
	for _, v := range []any{math.NaN(), math.Inf(1), struct{}{}} {
		_, err := EncodeAttrs(map[string]any{"x": v})
		require.Error(t, err, "%v", v)
	}
}
