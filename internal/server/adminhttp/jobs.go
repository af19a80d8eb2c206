package adminhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/internal/admin"
	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/mapping"
	"github.com/rosterhq/roster/internal/provision/push"
	"github.com/rosterhq/roster/internal/provision/report"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/store"
)

func (h *Handler) jobRoutes() {
	h.handle("GET /admin/api/jobs", admin.ReadJobs, h.listJobs)
	h.handle("GET /admin/api/jobs/{name}", admin.ReadJobs, h.showJob)
	h.handle("PUT /admin/api/jobs/{name}", admin.ManageJobs, h.applyJob)
	h.handle("DELETE /admin/api/jobs/{name}", admin.ManageJobs, h.deleteJob)
	h.handle("POST /admin/api/jobs/{name}/start", admin.ManageJobs, h.setJobStatus(job.StatusOn))
	h.handle("POST /admin/api/jobs/{name}/stop", admin.ManageJobs, h.setJobStatus(job.StatusOff))
	h.handle("POST /admin/api/jobs/{name}/pause", admin.ManageJobs, h.setJobStatus(job.StatusPaused))
	h.handle("POST /admin/api/jobs/{name}/run", admin.ManageJobs, h.runJob)
	h.handle("POST /admin/api/jobs/{name}/push-token", admin.ManageJobs, h.issuePushToken)
	h.handle("GET /admin/api/jobs/{name}/held", admin.ReadJobs, h.heldActions)
	h.handle("POST /admin/api/jobs/{name}/allow-deletes", admin.ManageJobs, h.allowDeletes)
	h.handle("POST /admin/api/jobs/{name}/restart", admin.ManageJobs, h.restartJob)
	h.handle("GET /admin/api/jobs/{name}/escrow", admin.ReadJobs, h.escrow)
	h.handle("POST /admin/api/jobs/{name}/provision", admin.ManageJobs, h.provisionOnDemand)
	h.handle("POST /admin/api/jobs/{name}/test-connection", admin.ManageJobs, h.testJobConnection)
	h.handle("GET /admin/api/jobs/{name}/progress", admin.ReadJobs, h.jobProgress)
	h.handle("GET /admin/api/jobs/{name}/cycles", admin.ReadJobs, h.listCycles)
	h.handle("GET /admin/api/jobs/{name}/cycles/{id}", admin.ReadJobs, h.showCycle)
	// The log holds attribute values, as the history does.
	h.handle("GET /admin/api/jobs/{name}/logs", admin.ReadHistory, h.jobLogs)
	h.handle("GET /admin/api/jobs/{name}/links", admin.ReadJobs, h.listLinks)
	h.handle("DELETE /admin/api/jobs/{name}/links/{kind}/{anchor...}", admin.ManageJobs, h.deleteLink)
	h.handle("GET /admin/api/jobs/{name}/schema", admin.ReadJobs, h.exportSchema)
	h.handle("PUT /admin/api/jobs/{name}/schema", admin.ManageJobs, h.importSchema)
}

// jobView is a job as the admin API shows it: as the CLI does
// (job.View), and, when one job is shown, with the engine's state.
type jobView struct {
	job.View
	Engine *report.State `json:"engine,omitempty"`
}

func viewOfJob(j job.Job) jobView { return jobView{View: job.ViewOf(j)} }

func (h *Handler) listJobs(w http.ResponseWriter, c *call) error {
	js, err := h.cfg.Jobs.List(c.Context())
	if err != nil {
		return err
	}
	out := make([]jobView, 0, len(js))
	for _, j := range js {
		out = append(out, viewOfJob(j))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"jobs": out})
}

func (h *Handler) showJob(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	j, err := h.cfg.Jobs.Get(c.Context(), name)
	if err != nil {
		return jobNotFound(err, name)
	}
	st, err := h.cfg.Reports.State(c.Context(), name)
	if err != nil {
		return jobNotFound(err, name)
	}
	v := viewOfJob(j)
	v.Engine = &st
	return writeJSON(w, http.StatusOK, v)
}

// applyJob creates or replaces a job from its document, as `roster job
// apply` does, but with no ${VAR} expansion: that reads the environment of
// the process, which for the API would be the server's.
func (h *Handler) applyJob(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	body, err := readJSON(c.Request)
	if err != nil {
		return err
	}
	doc, err := jobDocument(body, name)
	if err != nil {
		return err
	}
	var envVar string
	j, err := job.Parse(doc, func(v string) (string, bool) {
		if envVar == "" {
			envVar = v
		}
		return "", false
	})
	if envVar != "" && err != nil {
		msg := strings.TrimPrefix(err.Error(), job.ErrInvalid.Error()+": ")
		return badRequest("%s", strings.Replace(msg, "environment variable "+envVar+" is not set",
			"${"+envVar+"} is expanded only by `roster job apply`, from its environment; send the value itself", 1))
	}
	if err != nil {
		return err
	}
	if cur, gerr := h.cfg.Jobs.Get(c.Context(), name); gerr == nil {
		j = j.KeepSecrets(cur)
	} else if !errors.Is(gerr, store.ErrNotFound) {
		return gerr
	}
	if field := j.RedactedLeft(); field != "" {
		return badRequest("%s: %q is the placeholder of a hidden secret, and there is none stored to keep; send the secret", field, job.Redacted)
	}
	if err := mapping.CheckJob(j); err != nil {
		return err
	}
	created, j, err := h.cfg.Jobs.Apply(c.Context(), j, c.actor())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/admin/api/jobs/"+j.Name)
	}
	return writeJSON(w, status, viewOfJob(j))
}

// jobDocument checks that body is one JSON object whose "name", if it has
// one, is the name in the path, and returns it with the name set.
func jobDocument(body []byte, name string) ([]byte, error) {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, badRequest("invalid JSON body: the job document must be a JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("invalid JSON body: data after the JSON value")
	}
	if doc == nil {
		return nil, badRequest("invalid JSON body: the job document must be a JSON object")
	}
	if raw, ok := doc["name"]; ok {
		var n string
		if err := json.Unmarshal(raw, &n); err != nil || n != name {
			return nil, badRequest("name: the document names job %s, the path %q; leave name out or make them equal", raw, name)
		}
	}
	doc["name"], _ = json.Marshal(name)
	return json.Marshal(doc)
}

// deleteJob deletes a job with its links, cycles and log. As for a
// tenant, and as `roster job delete NAME --confirm NAME`, the request must
// name the job twice: a new job under the name starts afresh, matching
// every object again.
func (h *Handler) deleteJob(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	if c.URL.Query().Get("confirm") != name {
		if _, err := h.cfg.Jobs.Get(c.Context(), name); err != nil {
			return jobNotFound(err, name)
		}
		return badRequest("deleting job %s deletes its links, cycles and log: confirm with ?confirm=%s", name, name)
	}
	if err := h.cfg.Jobs.Delete(c.Context(), name, c.actor()); err != nil {
		return jobNotFound(err, name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) setJobStatus(s job.Status) handlerFunc {
	return func(w http.ResponseWriter, c *call) error {
		name := c.PathValue("name")
		j, err := h.cfg.Jobs.SetStatus(c.Context(), name, s, c.actor())
		if err != nil {
			return jobNotFound(err, name)
		}
		return writeJSON(w, http.StatusOK, viewOfJob(j))
	}
}

// runJob makes an On job due now; the scheduler of a node runs its cycle
// within seconds. A job that is not On has no scheduled cycles to bring
// forward.
func (h *Handler) runJob(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	j, err := h.cfg.Jobs.Get(c.Context(), name)
	if err != nil {
		return jobNotFound(err, name)
	}
	if j.Status != job.StatusOn {
		return &apiError{http.StatusConflict, "conflict", fmt.Sprintf(
			"job %s is %s: start it (POST /admin/api/jobs/%s/start), or run one cycle with `roster job run %s --once`", name, j.Status, name, name)}
	}
	if err := h.cfg.Engine.Trigger(c.Context(), name); err != nil {
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusAccepted, map[string]any{
		"job": name, "message": "the job's next cycle is due now; a running roster serve starts it within 15 seconds",
	})
}

// issuePushToken issues the push token of a job of source type push, as
// `roster job push-token` does; the token is in this answer only.
func (h *Handler) issuePushToken(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	token, err := h.cfg.Push.IssueToken(c.Context(), name, c.actor())
	if errors.Is(err, push.ErrNotPushJob) {
		return &apiError{http.StatusConflict, "conflict", err.Error()}
	}
	if err != nil {
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"job": name, "token": token,
		"endpoint": "/provisioning/jobs/" + name + "/bulkUpload",
		"message":  "shown once: an earlier push token of the job no longer works",
	})
}

// heldActions lists the disables and deletes a job holds because they
// exceeded its deletion threshold.
func (h *Handler) heldActions(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	held, err := h.cfg.Engine.Held(c.Context(), name)
	if err != nil {
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"held": held})
}

// restartJob clears the job's watermarks, escrow and quarantine (Entra's
// "Restart provisioning"); 409 while a cycle runs.
func (h *Handler) restartJob(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	err := h.cfg.Engine.Restart(c.Context(), name, c.actor())
	switch {
	case errors.Is(err, engine.ErrBusy):
		return &apiError{http.StatusConflict, "conflict", fmt.Sprintf("a cycle of job %s is running; try again when it ends", name)}
	case err != nil:
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"job": name, "message": "watermarks, escrow and quarantine cleared; the next cycle is initial and due now",
	})
}

// escrow lists the job's objects in escrow.
func (h *Handler) escrow(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	out := []report.Escrow{}
	err := h.cfg.Reports.Escrow(c.Context(), name, func(x report.Escrow) error {
		out = append(out, x)
		return nil
	})
	if err != nil {
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"escrow": out})
}

// allowDeletes sends exactly the held actions, synchronously, and answers
// the report of the cycle that sent them; 409 when nothing is held.
func (h *Handler) allowDeletes(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	rep, err := h.cfg.Engine.AllowDeletes(c.Context(), name, c.actor())
	switch {
	case errors.Is(err, engine.ErrNothingHeld):
		return &apiError{http.StatusConflict, "conflict", fmt.Sprintf("job %s holds no disables or deletes", name)}
	case errors.Is(err, engine.ErrBusy):
		return &apiError{http.StatusConflict, "conflict", fmt.Sprintf("a cycle of job %s is running; try again when it ends", name)}
	case err != nil:
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusOK, rep)
}

// provisionOnDemand provisions one user, or one group with up to five
// members, now: body {"user": anchor} or {"group": anchor}; the answer
// is the cycle's log entries, each with its steps and properties sent.
func (h *Handler) provisionOnDemand(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	var body struct {
		User  string `json:"user"`
		Group string `json:"group"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	kind, anchor := source.User, body.User
	switch {
	case (body.User == "") == (body.Group == ""):
		return &apiError{http.StatusBadRequest, "invalid_request", "give one of user and group: the object's anchor in the source"}
	case body.Group != "":
		kind, anchor = source.Group, body.Group
	}
	rep, logs, err := h.cfg.Engine.ProvisionOnDemand(c.Context(), name, kind, anchor)
	switch {
	case errors.Is(err, engine.ErrBusy):
		return &apiError{http.StatusConflict, "conflict", fmt.Sprintf("a cycle of job %s is running; try again when it ends", name)}
	case errors.Is(err, source.ErrNotFound):
		return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("the source of job %s has no %s %s", name, kind, anchor)}
	case err != nil:
		return jobNotFound(err, name)
	}
	entries := make([]report.Log, 0, len(logs))
	for _, l := range logs {
		entries = append(entries, report.LogOf(l))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"cycle": rep.Cycle, "entries": entries})
}

// testJobConnection answers 200 with the outcome, passed or not: the
// request worked, and the outcome says what to fix.
func (h *Handler) testJobConnection(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	res, err := h.cfg.Engine.TestConnection(c.Context(), name)
	if err != nil {
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusOK, res)
}

func (h *Handler) listCycles(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	limit, err := intParam(c.URL.Query().Get("limit"), 50)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 1000 {
		return badRequest("limit must be from 1 to 1000")
	}
	cs, err := h.cfg.Reports.Cycles(c.Context(), name, limit)
	if err != nil {
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"cycles": cs})
}

func (h *Handler) showCycle(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	id := c.PathValue("id")
	cy, err := h.cfg.Reports.Cycle(c.Context(), name, id)
	if errors.Is(err, store.ErrNotFound) && h.jobExists(c, name) {
		return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("job %s has no cycle %s", name, id)}
	}
	if err != nil {
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusOK, cy)
}

// maxLogPage bounds a page of log entries in JSON.
const maxLogPage = 1000

// jobLogs serves a job's log entries, oldest first, as a JSON page with a
// cursor, or, asked for CSV, every entry the filters select as one
// streamed CSV export.
func (h *Handler) jobLogs(w http.ResponseWriter, c *call) error {
	if !admin.Allowed(c.admin.Role, admin.ReadJobs) {
		return errForbidden
	}
	name := c.PathValue("name")
	q := c.URL.Query()
	lq := store.ProvisionLogQuery{Job: name, Cycle: q.Get("cycle"), Status: q.Get("status"), Action: q.Get("action"), Object: q.Get("object")}
	after, err := intParam(q.Get("after"), 0)
	if err != nil {
		return err
	}
	lq.After = int64(after)
	if lq.Since, err = timeParam("since", q.Get("since")); err != nil {
		return err
	}
	if lq.Until, err = timeParam("until", q.Get("until")); err != nil {
		return err
	}
	csvOut, err := wantsCSV(c.Request)
	if err != nil {
		return err
	}
	limit, err := intParam(q.Get("limit"), 0)
	if err != nil {
		return err
	}
	if limit < 0 || (!csvOut && limit > maxLogPage) {
		return badRequest("limit must be from 1 to %d (0 for the default)", maxLogPage)
	}
	if csvOut {
		// Every entry, unless limit says otherwise, read in pages.
		lq.Limit = limit
		if err := h.cfg.Reports.CheckJob(c.Context(), name); err != nil {
			return jobNotFound(err, name)
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-logs.csv"`, name))
		w.WriteHeader(http.StatusOK)
		if err := h.cfg.Reports.WriteLogsCSV(c.Context(), lq, flushWriter{w, http.NewResponseController(w)}); err != nil {
			// The status is sent: all that can be done is to stop, and a
			// client sees the export end short of a whole row.
			h.log.Error("ADMIN-0502 provisioning log export failed", "job", name, "err", err)
			panic(http.ErrAbortHandler)
		}
		return nil
	}
	lq.Limit = limit
	if lq.Limit == 0 {
		lq.Limit = 100
	}
	entries, err := h.cfg.Reports.Logs(c.Context(), lq)
	if err != nil {
		return jobNotFound(err, name)
	}
	next := lq.After
	if len(entries) > 0 {
		next = entries[len(entries)-1].Seq
	}
	return writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next": next})
}

// flushWriter sends what is written to the client at once, so that an
// export streams page by page instead of waiting in the server's buffer.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		_ = f.rc.Flush()
	}
	return n, err
}

// wantsCSV reports whether a request asks for CSV, with ?format=csv or an
// Accept header that names text/csv.
func wantsCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, badRequest("format must be json or csv, not %q", f)
	}
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(a, ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/csv") {
			return true, nil
		}
	}
	return false, nil
}

func (h *Handler) listLinks(w http.ResponseWriter, c *call) error {
	name := c.PathValue("name")
	q := c.URL.Query()
	kind, anchor, target := q.Get("kind"), q.Get("anchor"), q.Get("target")
	if kind != "" && kind != "user" && kind != "group" {
		return badRequest("kind must be user or group, not %q", kind)
	}
	if anchor != "" && target != "" {
		return badRequest("give anchor or target, not both")
	}
	out := []report.Link{}
	if anchor != "" || target != "" {
		if kind == "" {
			kind = "user"
		}
		id, byTarget := anchor, target != ""
		if byTarget {
			id = target
		}
		l, err := h.cfg.Reports.Link(c.Context(), name, kind, id, byTarget)
		switch {
		case errors.Is(err, store.ErrNotFound) && h.jobExists(c, name):
			// No such link: an empty list, as a filter that matches nothing.
		case err != nil:
			return jobNotFound(err, name)
		default:
			out = append(out, l)
		}
		return writeJSON(w, http.StatusOK, map[string]any{"links": out})
	}
	err := h.cfg.Reports.Links(c.Context(), name, kind, func(l report.Link) error {
		out = append(out, l)
		return nil
	})
	if err != nil {
		return jobNotFound(err, name)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"links": out})
}

func (h *Handler) jobExists(c *call, name string) bool {
	return h.cfg.Reports.CheckJob(c.Context(), name) == nil
}

// deleteLink deletes the link of one source object, so that the next cycle
// matches it again. The job must be Off or Paused, as Entra requires.
func (h *Handler) deleteLink(w http.ResponseWriter, c *call) error {
	name, kind, anchor := c.PathValue("name"), c.PathValue("kind"), c.PathValue("anchor")
	if kind != "user" && kind != "group" {
		return badRequest("kind must be user or group, not %q", kind)
	}
	err := h.cfg.Jobs.DeleteLink(c.Context(), name, kind, anchor, c.actor())
	if errors.Is(err, job.ErrJobActive) {
		return &apiError{http.StatusConflict, "conflict", fmt.Sprintf(
			"job %s is On: pause or stop it before deleting a link, so that a running cycle does not write the link again", name)}
	}
	if errors.Is(err, store.ErrNotFound) && h.jobExists(c, name) {
		return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("job %s has no link of %s %s", name, kind, anchor)}
	}
	if err != nil {
		return jobNotFound(err, name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// jobNotFound words store.ErrNotFound for a job the way every job route
// answers it.
func jobNotFound(err error, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &apiError{http.StatusNotFound, "not_found", "no job named " + name}
	}
	return err
}
