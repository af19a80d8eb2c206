package engine

import (
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/source/pushsource"
	"github.com/rosterhq/roster/internal/store"
)

// openSourceWith is OpenSource with the push source added: unlike the
// other connectors it reads Roster's own store, the records pushed to the
// job, so the engine's default opener captures the store.
func openSourceWith(st store.Store) func(job.Source) (source.Source, error) {
	return func(s job.Source) (source.Source, error) {
		if s.Type == job.SourcePush {
			return pushsource.New(st, s.Job), nil
		}
		return OpenSource(s)
	}
}
