package engine

import (
	"encoding/json"
	"testing"
)

// FuzzAppendJSON: the hand-written log encoding is valid JSON and decodes
// to what encoding/json's own encoding of the same values decodes to.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{"", "plain", `quo"te \ back`, "ctl\x00\x1f\n\t\r", "é ✓ \U0001F600", "bad \xff\xfe utf8", "\u2028\u2029"} {
		f.Add(s, s+"!")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		steps := []Step{{Name: a, Status: b, Detail: a + b}, {Name: "Match", Status: "Success"}}
		mods := []Modified{{Name: a, Old: b, New: nil}, {Name: b, Old: true, New: int64(7)}, {Name: "x", Old: []any{a}, New: map[string]any{"value": b}}}
		for _, enc := range []struct {
			mine []byte
			v    any
		}{{appendSteps(nil, steps), steps}, {appendModified(nil, mods), mods}} {
			if !json.Valid(enc.mine) {
				t.Fatalf("invalid JSON: %q", enc.mine)
			}
			ref, err := json.Marshal(enc.v)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(enc.mine, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(ref, &want); err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("decoded differently:\n got %s\nwant %s", g, w)
			}
		}
	})
}
