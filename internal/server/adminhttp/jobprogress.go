package adminhttp

import (
	"net/http"
)

// jobProgress answers GET /admin/api/jobs/{name}/progress: the job's
// engine state alone (its running cycle's progress, statistics to date
// and steady state), small enough to poll once a second.
func (h *Handler) jobProgress(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	st, err := h.cfg.Reports.State(c.Context(), name)
	if err != nil {
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusOK, st)
}
