// Package loadgen drives a SCIM endpoint with provisioning-shaped load and
// reports throughput and latency percentiles, and the server's CPU time
// per request when the server runs on the same Linux machine and its pid
// is given (see ServerCPU). It talks plain HTTP through
// internal/scimclient, with raw bodies and retries off, so it measures
// Roster or any other SCIM server the same way. Every run is bounded
// by a request count and a duration and stops by itself.
package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster/internal/scimclient"
)

// Options configure a run.
type Options struct {
	URL         string // Tenant URL, e.g. http://127.0.0.1:8080/scim/v2/default
	Token       string // bearer token
	Scenario    string // see Scenarios
	N           int    // requests to send (the scenario's unit of work)
	Concurrency int
	Duration    time.Duration // upper bound on the measured phase
	// Seed is how many users the lookup, patch-users, list and
	// group-membership scenarios create before measuring.
	Seed int
	// Groups is how many groups entra-cycle creates (0: one per 100 users).
	Groups int
	// ServerPID, when set, is the process id of the server on this
	// machine: each measured phase then reports the server's CPU time per
	// request, read from /proc/ServerPID/stat (Linux only).
	ServerPID int
	Client    *http.Client
}

// Scenarios lists the scenario names Run accepts.
var Scenarios = []string{"create-users", "lookup", "patch-users", "list", "group-membership", "entra-cycle"}

// Report is the outcome of a run.
type Report struct {
	Scenario    string         `json:"scenario"`
	Requests    int            `json:"requests"`
	Concurrency int            `json:"concurrency"`
	Elapsed     time.Duration  `json:"elapsed_ns"`
	PerSecond   float64        `json:"per_second"`
	P50         time.Duration  `json:"p50_ns"`
	P90         time.Duration  `json:"p90_ns"`
	P99         time.Duration  `json:"p99_ns"`
	Max         time.Duration  `json:"max_ns"`
	Errors      map[string]int `json:"errors,omitempty"` // by HTTP status or error kind
	// Truncated says why a run stopped before its last request, if it did.
	Truncated string `json:"truncated,omitempty"`
	// ServerCPU is set when Options.ServerPID is: the server's CPU time
	// over the measured phases (not over seeding).
	ServerCPU *ServerCPU `json:"server_cpu,omitempty"`
	// Phases are the reports of each phase of a scenario that has several
	// (entra-cycle), when Options.ServerPID is set, so that each kind of
	// request has its own CPU cost.
	Phases []Report `json:"phases,omitempty"`
}

// String formats the report for a terminal.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s: %d requests in %s at concurrency %d = %.0f/s\n",
		r.Scenario, r.Requests, r.Elapsed.Round(time.Millisecond), r.Concurrency, r.PerSecond)
	fmt.Fprintf(&b, "latency p50 %s  p90 %s  p99 %s  max %s\n", r.P50, r.P90, r.P99, r.Max)
	if c := r.ServerCPU; c != nil {
		fmt.Fprintf(&b, "server CPU %.0f µs per request (pid %d, %s in all)\n", c.PerRequestUS, c.PID, c.Total.Round(time.Millisecond))
	}
	if r.Truncated != "" {
		fmt.Fprintf(&b, "truncated: %s\n", r.Truncated)
	}
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "errors %s: %d\n", k, r.Errors[k])
		}
	}
	for _, p := range r.Phases {
		for l := range strings.Lines(p.String()) {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}

// Run runs one scenario.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.N <= 0 {
		o.N = 1000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.Duration <= 0 {
		o.Duration = time.Minute
	}
	// A retry would hide what the server did and skew the latencies, so
	// every request is sent once; the idle pool holds a connection for
	// each worker, so that connections are reused.
	c, err := scimclient.New(o.URL, scimclient.Options{
		Token: o.Token, HTTPClient: o.Client, Retry: scimclient.NoRetry,
		Timeout: 30 * time.Second, MaxIdleConnsPerHost: o.Concurrency * 2,
	})
	if err != nil {
		return Report{}, fmt.Errorf("bench: %w", err)
	}
	var cpu *cpuMeter
	if o.ServerPID != 0 {
		// Checked before seeding, so that a wrong pid fails at once.
		if cpu, err = openServerCPU(o.ServerPID); err != nil {
			return Report{}, fmt.Errorf("bench: %w", err)
		}
	}
	run := runID()
	var work func(ctx context.Context, i int) (int, error)
	switch o.Scenario {
	case "create-users":
		work = func(ctx context.Context, i int) (int, error) {
			res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPost, Path: "/Users", Body: userJSON(run, i)})
			return expect(res, err, http.StatusCreated)
		}
	case "lookup":
		seed := max(o.Seed, 1000)
		if _, err := seedUsers(ctx, c, run, seed, o.Concurrency); err != nil {
			return Report{}, err
		}
		work = func(ctx context.Context, i int) (int, error) {
			u := newUser(run, i%seed)
			var f string
			switch i % 3 {
			case 0:
				f = fmt.Sprintf("userName eq %q", u["userName"])
			case 1:
				f = fmt.Sprintf("externalId eq %q", u["externalId"])
			default:
				f = fmt.Sprintf(`emails[type eq "work"].value eq %q`, workEmail(u))
			}
			res, err := c.Do(ctx, scimclient.Request{Method: http.MethodGet, Path: "/Users?filter=" + url.QueryEscape(f)})
			st, err := expect(res, err, http.StatusOK)
			if err != nil {
				return st, err
			}
			if !bytes.Contains(res.Body, []byte(`"totalResults":1`)) {
				return st, errors.New("lookup did not find exactly one user")
			}
			return st, nil
		}
	case "patch-users":
		seed := max(o.Seed, 1000)
		ids, err := seedUsers(ctx, c, run, seed, o.Concurrency)
		if err != nil {
			return Report{}, err
		}
		work = func(ctx context.Context, i int) (int, error) {
			res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPatch, Path: "/Users/" + ids[i%seed], Body: entraUserPatch(run, i)})
			return expect(res, err, http.StatusOK, http.StatusNoContent)
		}
	case "entra-cycle":
		return entraCycle(ctx, c, run, o, cpu)
	case "list":
		seed := max(o.Seed, 1000)
		if _, err := seedUsers(ctx, c, run, seed, o.Concurrency); err != nil {
			return Report{}, err
		}
		work = func(ctx context.Context, i int) (int, error) {
			res, err := c.Do(ctx, scimclient.Request{Method: http.MethodGet, Path: fmt.Sprintf("/Users?startIndex=%d&count=100", 1+(i*100)%seed)})
			return expect(res, err, http.StatusOK)
		}
	case "group-membership":
		seed := max(o.Seed, 1000)
		ids, err := seedUsers(ctx, c, run, seed, o.Concurrency)
		if err != nil {
			return Report{}, err
		}
		res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPost, Path: "/Groups", Body: map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "bench-" + run,
		}})
		if _, err := expect(res, err, http.StatusCreated); err != nil {
			return Report{}, fmt.Errorf("create group: %w", err)
		}
		var g struct{ ID string }
		_ = json.Unmarshal(res.Body, &g)
		batches := (len(ids) + 99) / 100
		change := func(ctx context.Context, op string, b int) (int, error) {
			members := make([]map[string]string, 0, 100)
			for _, id := range ids[b*100 : min(len(ids), b*100+100)] {
				members = append(members, map[string]string{"value": id})
			}
			res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPatch, Path: "/Groups/" + g.ID, Body: map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []map[string]any{{"op": op, "path": "members", "value": members}},
			}})
			return expect(res, err, http.StatusNoContent, http.StatusOK)
		}
		// Fill the group with every seeded user first (not measured), so
		// the measured changes hit a group of --seed members.
		fill, _ := measure(ctx, Options{Scenario: "fill", N: batches, Concurrency: 4, Duration: time.Hour}, nil,
			func(ctx context.Context, b int) (int, error) { return change(ctx, "Add", b) })
		if len(fill.Errors) > 0 || fill.Requests != batches {
			return Report{}, fmt.Errorf("filling the group: %d batches, errors %v", fill.Requests, fill.Errors)
		}
		// Measured: remove a batch of 100 members, then add it back, in
		// Entra's value-array form.
		work = func(ctx context.Context, i int) (int, error) {
			op := "Remove"
			if i%2 == 1 {
				op = "Add"
			}
			return change(ctx, op, (i/2)%batches)
		}
	default:
		return Report{}, fmt.Errorf("unknown scenario %q; choose one of %s", o.Scenario, strings.Join(Scenarios, ", "))
	}
	return measure(ctx, o, cpu, work)
}

// expect returns the status of a response and an error unless it is one
// of ok; the status is 0 when no response came.
func expect(res *scimclient.Response, err error, ok ...int) (int, error) {
	if err != nil {
		return 0, err
	}
	if !slices.Contains(ok, res.Status) {
		return res.Status, fmt.Errorf("status %d", res.Status)
	}
	return res.Status, nil
}

// measure runs work(i) for i in [0, N) on Concurrency workers, stopping early
// when Duration passes or ctx ends. With a cpu meter it also reports the
// server's CPU time; the error is only ever that of reading it.
func measure(ctx context.Context, o Options, cpu *cpuMeter, work func(context.Context, int) (int, error)) (Report, error) {
	var r recorder
	return r.measure(ctx, o, cpu, work)
}

// recorder keeps the latencies and errors of several measured phases, for
// one report over all of them.
type recorder struct {
	lat     []time.Duration
	errs    map[string]int
	elapsed time.Duration
	cpuPID  int           // the server whose CPU time was measured, if any
	cpu     time.Duration // its CPU time over the phases
}

// report summarises every phase recorded so far.
func (r *recorder) report(scenario string, concurrency int) Report {
	all := slices.Clone(r.lat)
	slices.Sort(all)
	rep := Report{Scenario: scenario, Concurrency: concurrency, Elapsed: r.elapsed, Errors: map[string]int{}, Requests: len(all)}
	maps.Copy(rep.Errors, r.errs)
	if len(all) > 0 {
		pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
		rep.P50, rep.P90, rep.P99, rep.Max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
		rep.PerSecond = float64(len(all)) / r.elapsed.Seconds()
	}
	if r.cpuPID != 0 {
		rep.ServerCPU = &ServerCPU{PID: r.cpuPID, Total: r.cpu}
		if len(all) > 0 {
			rep.ServerCPU.PerRequestUS = float64(r.cpu) / float64(time.Microsecond) / float64(len(all))
		}
	}
	return rep
}

// measure runs one phase, adds it to the recorder and reports on it alone.
// With a cpu meter, the server's CPU time is read just before the first
// request and just after the last answer, so that it covers the phase and
// nothing else.
func (r *recorder) measure(ctx context.Context, o Options, cpu *cpuMeter, work func(context.Context, int) (int, error)) (Report, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var cpu0 time.Duration
	if cpu != nil {
		var err error
		if cpu0, err = cpu.read(); err != nil {
			return Report{}, err
		}
	}
	var next atomic.Int64
	lat := make([][]time.Duration, o.Concurrency)
	errs := make([]map[string]int, o.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Concurrency {
		errs[w] = map[string]int{}
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.N {
					return
				}
				t0 := time.Now()
				st, err := work(ctx, i)
				if ctx.Err() != nil {
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					key := "transport"
					if st != 0 {
						key = fmt.Sprint(st)
					}
					errs[w][key]++
				}
			}
		})
	}
	wg.Wait()
	phase := recorder{elapsed: time.Since(start), errs: map[string]int{}}
	if cpu != nil {
		cpu1, err := cpu.read()
		if err != nil {
			return Report{}, err
		}
		phase.cpuPID, phase.cpu = cpu.pid, cpu1-cpu0
		r.cpuPID = cpu.pid
		r.cpu += phase.cpu
	}
	for w := range o.Concurrency {
		phase.lat = append(phase.lat, lat[w]...)
		for k, v := range errs[w] {
			phase.errs[k] += v
		}
	}
	r.lat = append(r.lat, phase.lat...)
	r.elapsed += phase.elapsed
	if r.errs == nil {
		r.errs = map[string]int{}
	}
	for k, v := range phase.errs {
		r.errs[k] += v
	}
	return phase.report(o.Scenario, o.Concurrency), nil
}

func runID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUser returns the i-th user of a run, shaped like an Entra create.
func newUser(run string, i int) map[string]any {
	name := fmt.Sprintf("user%d.%s@example.com", i, run)
	return map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"userName":   name,
		"externalId": fmt.Sprintf("ext-%s-%d", run, i),
		"active":     true,
		"name":       map[string]any{"givenName": "User", "familyName": fmt.Sprint(i), "formatted": fmt.Sprintf("User %d", i)},
		"emails":     []any{map[string]any{"primary": true, "type": "work", "value": "work." + name}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Engineering", "employeeNumber": fmt.Sprint(i)},
	}
}

// userJSON is newUser encoded without reflection, so that the load
// generator spends its CPU on requests rather than on encoding them.
func userJSON(run string, i int) []byte {
	name := fmt.Sprintf("user%d.%s@example.com", i, run)
	return fmt.Appendf(nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],`+
		`"userName":%q,"externalId":"ext-%s-%d","active":true,"name":{"givenName":"User","familyName":"%d","formatted":"User %d"},`+
		`"emails":[{"primary":true,"type":"work","value":"work.%s"}],`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Engineering","employeeNumber":"%d"}}`,
		name, run, i, i, i, name, i)
}

func workEmail(u map[string]any) string {
	return u["emails"].([]any)[0].(map[string]any)["value"].(string)
}

// seedUsers creates the users the read scenarios query and returns their
// ids, in creation order.
func seedUsers(ctx context.Context, c *scimclient.Client, run string, n, conc int) ([]string, error) {
	ids := make([]string, n)
	rep, _ := measure(ctx, Options{Scenario: "seed", N: n, Concurrency: max(conc, 16), Duration: time.Hour}, nil,
		func(ctx context.Context, i int) (int, error) {
			res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPost, Path: "/Users", Body: userJSON(run, i)})
			st, err := expect(res, err, http.StatusCreated)
			if err != nil {
				return st, err
			}
			var u struct{ ID string }
			if err := json.Unmarshal(res.Body, &u); err != nil || u.ID == "" {
				return st, fmt.Errorf("create response has no id: %v", err)
			}
			ids[i] = u.ID
			return st, nil
		})
	if len(rep.Errors) > 0 || rep.Requests != n {
		return nil, fmt.Errorf("seeding %d users: %d created, errors %v", n, rep.Requests, rep.Errors)
	}
	return ids, nil
}
