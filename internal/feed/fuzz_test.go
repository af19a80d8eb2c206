package feed_test

import (
	"testing"

	"github.com/rosterhq/roster/internal/feed"
)

// FuzzCursorLess checks that comparing untrusted cursors never panics and
// is a strict order: never both a < b and b < a, never a < a.
func FuzzCursorLess(f *testing.F) {
	f.Add("1", "2")
	f.Add("740.12", "740.9")
	f.Add("", "1")
	f.Add("1.2.3", "x")
	f.Add("18446744073709551615", "18446744073709551616")
	f.Fuzz(func(t *testing.T, a, b string) {
		if feed.CursorLess(a, a) {
			t.Fatalf("%q < itself", a)
		}
		if feed.CursorLess(a, b) && feed.CursorLess(b, a) {
			t.Fatalf("%q and %q are each less than the other", a, b)
		}
	})
}
