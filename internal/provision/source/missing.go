package source

import (
	"context"
	"fmt"
)

// Missing lists every object of the kind and returns, of the known anchors,
// those the listing did not report: the objects deleted at the source (or
// moved out of its scope) since the engine last saw them. It is how a
// source whose deltas cannot report deletes has them found, by a periodic
// full listing. Memory is the known set plus one bit per listed object that
// is known; the order of the result is unspecified.
//
// A listing that fails reports nothing: an incomplete listing would make
// every unlisted object look deleted.
func Missing(ctx context.Context, l FullLister, kind Kind, known map[string]struct{}) ([]string, error) {
	seen := make(map[string]struct{}, len(known))
	err := l.List(ctx, kind, func(o Object) error {
		if _, ok := known[o.Anchor]; ok {
			seen[o.Anchor] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %ss to find deleted ones: %w", kind, err)
	}
	var gone []string
	for a := range known {
		if _, ok := seen[a]; !ok {
			gone = append(gone, a)
		}
	}
	return gone, nil
}
