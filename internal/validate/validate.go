// Package validate runs the request sequences that identity providers really
// send (Microsoft Entra ID, Okta) and the RFC 7643/7644 conformance checks
// against any SCIM 2.0 endpoint, and reports each check with the document and
// section it comes from. `roster validate` is its command line.
package validate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Profiles lists the profiles in the order they run by default.
var Profiles = []string{"entra", "okta", "rfc"}

// Status is the outcome of one check.
type Status string

// The outcomes of a check.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Check is one entry of a profile's table.
type Check struct {
	ID       string
	Name     string
	Source   string // document and section, e.g. "RFC 7644 §3.4.2.2"
	Required bool
	// Feature names a ServiceProviderConfig capability ("sort", "etag",
	// "bulk", "filter"): the check is skipped when the endpoint does not
	// advertise it and is required when it does.
	Feature string
	Run     func(ctx context.Context, r *run) error
}

// checks returns the table of a profile.
func checks(profile string) ([]Check, bool) {
	switch profile {
	case "entra":
		return entraChecks(), true
	case "okta":
		return oktaChecks(), true
	case "rfc":
		return rfcChecks(), true
	}
	return nil, false
}

// CheckList returns every check of a profile, for documentation and --list.
func CheckList(profile string) []Check {
	c, _ := checks(profile)
	return c
}

// Runner runs profiles against one SCIM endpoint.
type Runner struct {
	URL   string // Tenant URL, e.g. https://host/scim/v2/default
	Token string // bearer token
	// HTTPClient defaults to a client with a 30s timeout.
	HTTPClient *http.Client
	// CleanupTimeout bounds deleting what the run created, which happens
	// even after ctx is cancelled. Default 30s.
	CleanupTimeout time.Duration
	// RunID names the run; test resources are prefixed with
	// "roster-validate-<RunID>-". Default: random.
	RunID string
}

// skipError marks a check that did not run.
type skipError struct{ reason string }

func (e skipError) Error() string { return e.reason }

func skipf(format string, args ...any) error { return skipError{fmt.Sprintf(format, args...)} }

// run is the state shared by the checks of one run.
type run struct {
	c       *client
	id      string
	prefix  string
	vars    map[string]string
	spc     map[string]any
	spcErr  error
	created []string // paths of resources to delete, in creation order
	note    string   // shown as the detail of a passing check
}

// Run runs the profiles in order and deletes every resource it created,
// also when ctx is cancelled. The error is ctx's when the run was
// interrupted; a failing check is not an error (see Report.Passed).
func (rn *Runner) Run(ctx context.Context, profiles ...string) (*Report, error) {
	if len(profiles) == 0 {
		profiles = Profiles
	}
	var tables [][]Check
	for _, p := range profiles {
		t, ok := checks(p)
		if !ok {
			return nil, fmt.Errorf("unknown profile %q (want %s)", p, strings.Join(Profiles, ", "))
		}
		tables = append(tables, t)
	}
	if _, err := url.ParseRequestURI(rn.URL); err != nil || !strings.HasPrefix(rn.URL, "http") {
		return nil, fmt.Errorf("--url %q is not an http(s) URL", rn.URL)
	}
	hc := rn.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c, err := newClient(rn.URL, rn.Token, hc)
	if err != nil {
		return nil, err
	}
	id := rn.RunID
	if id == "" {
		id = strings.ToLower(rand.Text()[:8])
	}
	r := &run{
		c:      c,
		id:     id,
		prefix: "roster-validate-" + id + "-",
		vars:   map[string]string{},
	}
	rep := &Report{URL: rn.URL, RunID: id, Started: time.Now()}
	defer func() {
		timeout := rn.CleanupTimeout
		if timeout == 0 {
			timeout = 30 * time.Second
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		rep.Cleanup = r.cleanup(cctx)
		rep.Duration = time.Since(rep.Started)
	}()
	for i, table := range tables {
		pr := ProfileReport{Name: profiles[i]}
		for _, c := range table {
			pr.Results = append(pr.Results, r.runCheck(ctx, c))
		}
		rep.Profiles = append(rep.Profiles, pr)
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("interrupted: %w", err)
	}
	return rep, nil
}

// runCheck runs one check and turns its error into a result.
func (r *run) runCheck(ctx context.Context, c Check) Result {
	res := Result{ID: c.ID, Name: c.Name, Source: c.Source, Required: c.Required}
	if ctx.Err() != nil {
		res.Status, res.Detail = Skip, "interrupted"
		return res
	}
	if c.Feature != "" {
		ok, err := r.advertised(ctx, c.Feature)
		switch {
		case err != nil:
			res.Status, res.Detail = Skip, fmt.Sprintf("%s: cannot read /ServiceProviderConfig: %v", c.Feature, err)
			return res
		case !ok:
			res.Status, res.Detail = Skip, fmt.Sprintf("%s.supported is not true in /ServiceProviderConfig", c.Feature)
			return res
		}
		res.Required = true
	}
	r.c.lastReq, r.c.lastResp, r.note = nil, nil, ""
	start := time.Now()
	err := c.Run(ctx, r)
	res.Duration = time.Since(start)
	var skip skipError
	switch {
	case err == nil:
		res.Status, res.Detail = Pass, r.note
	case ctx.Err() != nil:
		res.Status, res.Detail = Skip, "interrupted"
	case errors.As(err, &skip):
		res.Status, res.Detail = Skip, skip.reason
	default:
		res.Status, res.Detail = Fail, err.Error()
		res.Request, res.Response = r.c.lastReq, r.c.lastResp
	}
	return res
}

// advertised reports whether the ServiceProviderConfig says
// <feature>.supported is true (RFC 7643 §5).
func (r *run) advertised(ctx context.Context, feature string) (bool, error) {
	if r.spc == nil && r.spcErr == nil {
		res, err := r.c.do(ctx, http.MethodGet, "/ServiceProviderConfig", nil)
		switch {
		case err != nil:
			r.spcErr = err
		case res.Status != http.StatusOK || res.JSON == nil:
			r.spcErr = fmt.Errorf("status %d", res.Status)
		default:
			r.spc = res.JSON
		}
	}
	if r.spcErr != nil {
		return false, r.spcErr
	}
	return get(r.spc, feature+".supported") == true, nil
}

// need returns a value an earlier check saved, or a skip error naming it.
func (r *run) need(names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		v, ok := r.vars[n]
		if !ok {
			return nil, skipf("needs %s, which an earlier check did not produce", n)
		}
		out[i] = v
	}
	return out, nil
}

// name returns a unique test resource name: the run prefix plus suffix.
func (r *run) name(suffix string) string { return r.prefix + suffix }

// create POSTs a resource to endpoint ("/Users" or "/Groups"), records it for
// cleanup and returns its id. The status must be 201.
func (r *run) create(ctx context.Context, endpoint string, body any) (*response, string, error) {
	res, err := r.c.do(ctx, http.MethodPost, endpoint, body)
	if err != nil {
		return nil, "", err
	}
	id := str(res.JSON["id"])
	if id != "" && res.Status < 300 {
		r.track(endpoint + "/" + id)
	}
	if err := expect(res, http.StatusCreated); err != nil {
		return res, "", err
	}
	if id == "" {
		return res, "", errors.New("the created resource has no id (RFC 7643 §3.1)")
	}
	return res, id, nil
}

// track records a resource for cleanup.
func (r *run) track(path string) {
	if !slices.Contains(r.created, path) {
		r.created = append(r.created, path)
	}
}

// remove DELETEs a resource and forgets it when it is gone.
func (r *run) remove(ctx context.Context, path string) (*response, error) {
	res, err := r.c.do(ctx, http.MethodDelete, path, nil)
	if err != nil {
		return nil, err
	}
	if res.Status < 300 || res.Status == http.StatusNotFound {
		r.created = slices.DeleteFunc(r.created, func(p string) bool { return p == path })
	}
	return res, nil
}

// cleanup deletes what the run created, newest first, then sweeps both
// resource types for names with the run prefix (a create interrupted after
// the server committed it leaves a resource the run never learnt about).
func (r *run) cleanup(ctx context.Context) Cleanup {
	var cl Cleanup
	for _, p := range slices.Backward(slices.Clone(r.created)) {
		res, err := r.remove(ctx, p)
		switch {
		case err != nil:
			cl.Problems = append(cl.Problems, fmt.Sprintf("DELETE %s: %v", p, err))
		case res.Status < 300:
			cl.Deleted++
		case res.Status != http.StatusNotFound:
			cl.Problems = append(cl.Problems, fmt.Sprintf("DELETE %s: status %d", p, res.Status))
		}
	}
	for _, sweep := range []struct{ endpoint, attr string }{{"/Groups", "displayName"}, {"/Users", "userName"}} {
		filter := fmt.Sprintf("%s sw %q", sweep.attr, r.prefix)
		res, err := r.c.do(ctx, http.MethodGet, sweep.endpoint+"?count=200&filter="+url.QueryEscape(filter), nil)
		if err != nil || res.Status != http.StatusOK {
			continue // the endpoint may not support sw; the registry did what it could
		}
		for _, id := range ids(res) {
			if id == "" {
				continue
			}
			if d, err := r.c.do(ctx, http.MethodDelete, sweep.endpoint+"/"+id, nil); err == nil && d.Status < 300 {
				cl.Deleted++
			} else if err != nil {
				cl.Problems = append(cl.Problems, fmt.Sprintf("DELETE %s/%s: %v", sweep.endpoint, id, err))
			}
		}
	}
	return cl
}

// patchOp builds a PatchOp request body (RFC 7644 §3.5.2).
func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": ops,
	}
}

// op builds one PATCH operation; path "" leaves it out, value nil too.
func op(name, path string, value any) map[string]any {
	m := map[string]any{"op": name}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// filterQuery returns "?filter=<escaped>" plus extra query parameters.
func filterQuery(filter string, extra ...string) string {
	q := "?filter=" + url.QueryEscape(filter)
	for _, e := range extra {
		q += "&" + e
	}
	return q
}

// guid returns a random GUID-shaped string, as Entra's Test Connection uses.
func guid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// fetch GETs path and requires 200.
func (r *run) fetch(ctx context.Context, path string) (*response, error) {
	res, err := r.c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return res, expect(res, http.StatusOK)
}

// send sends a write and requires one of the statuses (200 and 204 by
// default, as RFC 7644 §3.5.2 allows either for PATCH).
func (r *run) send(ctx context.Context, method, path string, body any, statuses ...int) (*response, error) {
	res, err := r.c.do(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if len(statuses) == 0 {
		statuses = []int{http.StatusOK, http.StatusNoContent}
	}
	return res, expect(res, statuses...)
}

// total returns totalResults of a ListResponse.
func total(res *response) (int, error) {
	n, ok := integer(res.JSON["totalResults"])
	if !ok {
		return 0, fmt.Errorf("totalResults is %v, want an integer (RFC 7644 §3.4.2)", res.JSON["totalResults"])
	}
	return n, nil
}

// wantTotal requires a ListResponse with n results.
func wantTotal(res *response, n int) error {
	got, err := total(res)
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("totalResults is %d, want %d", got, n)
	}
	if len(list(res)) != n && n <= 100 {
		return fmt.Errorf("%d Resources, want %d", len(list(res)), n)
	}
	return nil
}

// wantEqual compares a value at a JSON path.
// patchUser PATCHes a user with ops and reads it back: a PATCH may answer
// 204, so only the read shows what it did.
func (r *run) patchUser(ctx context.Context, id string, ops ...map[string]any) (map[string]any, error) {
	if _, err := r.send(ctx, http.MethodPatch, "/Users/"+id, patchOp(ops...)); err != nil {
		return nil, err
	}
	return r.user(ctx, id)
}

// wantAfterPatch checks values read back after a PATCH, given as path and
// value pairs.
func wantAfterPatch(doc map[string]any, pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := wantEqual(doc, pairs[i].(string), pairs[i+1]); err != nil {
			return fmt.Errorf("after the PATCH, %w", err)
		}
	}
	return nil
}

func wantEqual(doc map[string]any, path string, want any) error {
	if got := get(doc, path); got != want {
		return fmt.Errorf("%s is %v, want %v", path, jsonish(got), jsonish(want))
	}
	return nil
}

func jsonish(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	if v == nil {
		return "absent"
	}
	return fmt.Sprint(v)
}
