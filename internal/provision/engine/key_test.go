package engine

import (
	"strings"
	"testing"
)

// TestKeyRoundTrip: every anchor and id comes back exactly as given,
// packed when it is a canonical UUID and kept as text otherwise.
func TestKeyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in     string
		packed bool
	}{
		{"01a251ec-8e40-724e-ac3e-ba32e4733965", true},
		{"01A251EC-8E40-724E-AC3E-BA32E4733965", false}, // not canonical: kept as written
		{"{01a251ec-8e40-724e-ac3e-ba32e4733965}", false},
		{"00000000-0000-0000-0000-000000000000", false},
		{"user-42", false},
		{"", false},
	} {
		k := keyOf(tc.in)
		if got := k.String(); got != tc.in {
			t.Errorf("keyOf(%q).String() = %q", tc.in, got)
		}
		if (k.s == "" && tc.in != "") != tc.packed {
			t.Errorf("keyOf(%q) packed = %v, want %v", tc.in, k.s == "", tc.packed)
		}
	}
	a, b := "01a251ec-8e40-724e-ac3e-ba32e4733965", strings.Clone("01a251ec-8e40-724e-ac3e-ba32e4733965")
	if keyOf(a) != keyOf(b) {
		t.Error("equal anchors give different keys")
	}
}
