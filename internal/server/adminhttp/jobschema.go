package adminhttp

import (
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/internal/provision/entraschema"
	"github.com/rosterhq/roster/internal/provision/mapping"
)

// exportWarningHeader carries each export warning, so that the body stays
// the schema Entra's editor takes.
const exportWarningHeader = "Roster-Export-Warning"

// exportSchema answers the job's mappings, scoping filters and flow types
// as Entra's synchronization schema JSON, as `roster job export` prints
// it; what the schema cannot carry is in Roster-Export-Warning headers.
func (h *Handler) exportSchema(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	j, err := h.cfg.Jobs.Get(c.Context(), name)
	if err != nil {
		return jobNotFound(err, name)
	}
	s, warns := entraschema.Export(j)
	for _, warn := range warns {
		w.Header().Add(exportWarningHeader, warn)
	}
	return writeJSON(w, http.StatusOK, s)
}

// importSchema replaces the job's mappings, scoping filters and flow types
// with those of an Entra synchronization schema, as `roster job import`
// does; ?dryRun=true answers the resulting job without applying it.
func (h *Handler) importSchema(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	dryRun := false
	if v := c.URL.Query().Get("dryRun"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("dryRun %q: use true or false", v)
		}
		dryRun = b
	}
	body, err := readJSON(c.Request)
	if err != nil {
		return err
	}
	s, err := entraschema.Parse(body)
	if err != nil {
		return badRequest("%v", err)
	}
	cur, err := h.cfg.Jobs.Get(c.Context(), name)
	if err != nil {
		return jobNotFound(err, name)
	}
	j, changes, err := entraschema.Merge(cur, s)
	if err != nil {
		return badRequest("%v", err)
	}
	if err := mapping.CheckJob(j); err != nil {
		return err
	}
	if changes == nil {
		changes = []string{}
	}
	if !dryRun {
		if _, j, err = h.cfg.Jobs.Apply(c.Context(), j, c.actor()); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"job": viewOfJob(j), "changes": changes, "applied": !dryRun})
}
