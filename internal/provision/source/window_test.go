package source

import (
	"fmt"
	"testing"
	"time"
)

// TestWindowKeep: with Keep set, a full read of many objects modified over
// a long span remembers only those within Keep of the latest, and still
// reports an object read again unchanged within it as not news.
func TestWindowKeep(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := Window{Seen: map[string]WindowEntry{}, Keep: 2 * time.Second}
	const n = 100000
	for i := range n {
		// One object per millisecond: 100 s of modifications.
		if !w.Admit(fmt.Sprint(i), "v", t0.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("object %d reported as seen", i)
		}
	}
	if len(w.Seen) > 2*4096 {
		t.Errorf("%d entries remembered; want those within Keep (about 2,000) plus at most one pruning's slack", len(w.Seen))
	}
	last := t0.Add((n - 1) * time.Millisecond)
	if !w.Since.Equal(last) {
		t.Errorf("Since = %v, want %v", w.Since, last)
	}
	if w.Admit(fmt.Sprint(n-1), "v", last) {
		t.Error("the latest object read again unchanged was reported as news")
	}
	w.Prune(time.Second, time.Second, 10000)
	for a, e := range w.Seen {
		if e.Modified.Before(w.From(time.Second, time.Second)) {
			t.Fatalf("%s kept after Prune though older than From", a)
		}
	}
	// Without Keep nothing is forgotten before Prune (the old behaviour).
	w2 := Window{Seen: map[string]WindowEntry{}}
	for i := range 5000 {
		w2.Admit(fmt.Sprint(i), "v", t0.Add(time.Duration(i)*time.Millisecond))
	}
	if len(w2.Seen) != 5000 {
		t.Errorf("without Keep: %d entries, want 5000", len(w2.Seen))
	}
}
