package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/rosterhq/roster/internal/scimclient"
)

const (
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchOpURN    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	// memberBatch is how many members one membership PATCH of entra-cycle
	// adds: Entra sends several members per PATCH (IDP-NOTES §1.3).
	memberBatch = 50
	// managerEvery: one user in this many is the manager of the next ones.
	managerEvery = 10
)

// entraUserPatch is the i-th PATCH of patch-users, in the forms Entra
// sends in incremental cycles: capitalised ops, a filtered multi-valued
// path, and active as the string "False"/"True".
func entraUserPatch(run string, i int) []byte {
	var op string
	switch i % 4 {
	case 0:
		op = fmt.Sprintf(`{"op":"Replace","path":"name.familyName","value":"Family %s %d"}`, run, i)
	case 1:
		op = fmt.Sprintf(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"moved%d.%s@example.com"}`, i, run)
	case 2:
		op = `{"op":"Replace","path":"active","value":"False"}`
	default:
		op = `{"op":"Replace","path":"active","value":"True"}`
	}
	return []byte(`{"schemas":["` + patchOpURN + `"],"Operations":[` + op + `]}`)
}

// entraCycle replays the request mix of an Entra ID initial cycle for N
// users and Groups groups (IDP-NOTES §1.7): for each user a matching query
// by userName and a create; then the manager references; then for each
// group a matching query by displayName (members excluded), a create
// without members, and membership PATCHes of memberBatch users. Every
// request counts in the report; each phase runs at --concurrency. With a
// cpu meter, the report also has each phase's own report.
func entraCycle(ctx context.Context, c *scimclient.Client, run string, o Options, cpu *cpuMeter) (Report, error) {
	groups := o.Groups
	if groups <= 0 {
		groups = max(1, o.N/100)
	}
	deadline, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var (
		rec    recorder
		phases []Report
		cpuErr error
	)
	phase := func(name string, n int, work func(context.Context, int) (int, error)) {
		if deadline.Err() != nil || cpuErr != nil {
			return
		}
		p, err := rec.measure(deadline, Options{Scenario: o.Scenario + "/" + name, N: n, Concurrency: o.Concurrency, Duration: o.Duration}, cpu, work)
		if err != nil {
			cpuErr = err
			return
		}
		phases = append(phases, p)
	}

	// The matching queries of all users run before the creates, rather
	// than each just before its own create, so that under concurrency a
	// query never races its user's create; the request mix is the same.
	phase("user-queries", o.N, func(ctx context.Context, u int) (int, error) {
		f := fmt.Sprintf("userName eq %q", newUser(run, u)["userName"])
		res, err := c.Do(ctx, scimclient.Request{Method: http.MethodGet, Path: "/Users?filter=" + url.QueryEscape(f)})
		st, err := expect(res, err, http.StatusOK)
		if err != nil {
			return st, err
		}
		if !bytes.Contains(res.Body, []byte(`"totalResults":0`)) {
			return st, errors.New("matching query found a user that should not exist yet")
		}
		return st, nil
	})
	ids := make([]string, o.N)
	phase("user-creates", o.N, func(ctx context.Context, u int) (int, error) {
		res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPost, Path: "/Users", Body: userJSON(run, u)})
		st, err := expect(res, err, http.StatusCreated)
		if err != nil {
			return st, err
		}
		var created struct{ ID string }
		if err := json.Unmarshal(res.Body, &created); err != nil || created.ID == "" {
			return st, errors.New("create response has no id")
		}
		ids[u] = created.ID
		return st, nil
	})

	phase("manager-patches", o.N, func(ctx context.Context, u int) (int, error) {
		mgr := u - u%managerEvery
		if mgr == u || ids[u] == "" || ids[mgr] == "" {
			return http.StatusOK, nil // a manager, or a user whose create failed: no request
		}
		body := fmt.Sprintf(`{"schemas":["%s"],"Operations":[{"op":"Add","path":"%s:manager","value":"%s"}]}`, patchOpURN, enterpriseURN, ids[mgr])
		res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPatch, Path: "/Users/" + ids[u], Body: []byte(body)})
		return expect(res, err, http.StatusOK, http.StatusNoContent)
	})

	groupIDs := make([]string, groups)
	phase("group-queries-creates", 2*groups, func(ctx context.Context, i int) (int, error) {
		g := i / 2
		name := fmt.Sprintf("group%d.%s", g, run)
		if i%2 == 0 {
			f := fmt.Sprintf("displayName eq %q", name)
			res, err := c.Do(ctx, scimclient.Request{Method: http.MethodGet, Path: "/Groups?excludedAttributes=members&filter=" + url.QueryEscape(f)})
			return expect(res, err, http.StatusOK)
		}
		res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPost, Path: "/Groups", Body: map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
			"externalId":  fmt.Sprintf("ext-group-%s-%d", run, g),
			"displayName": name,
		}})
		st, err := expect(res, err, http.StatusCreated)
		if err != nil {
			return st, err
		}
		var created struct{ ID string }
		if err := json.Unmarshal(res.Body, &created); err != nil || created.ID == "" {
			return st, errors.New("create response has no id")
		}
		groupIDs[g] = created.ID
		return st, nil
	})

	// Each user is a member of one group (user u of group u mod groups);
	// a group's members are added memberBatch at a time.
	type batch struct {
		group   string
		members []string
	}
	var batches []batch
	for g := range groups {
		var members []string
		for u := g; u < o.N; u += groups {
			if ids[u] != "" {
				members = append(members, ids[u])
			}
		}
		for len(members) > 0 && groupIDs[g] != "" {
			n := min(memberBatch, len(members))
			batches = append(batches, batch{groupIDs[g], members[:n]})
			members = members[n:]
		}
	}
	phase("memberships", len(batches), func(ctx context.Context, i int) (int, error) {
		b := batches[i]
		value := make([]map[string]any, len(b.members))
		for j, id := range b.members {
			value[j] = map[string]any{"$ref": nil, "value": id}
		}
		res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPatch, Path: "/Groups/" + b.group, Body: map[string]any{
			"schemas":    []string{patchOpURN},
			"Operations": []map[string]any{{"op": "Add", "path": "members", "value": value}},
		}})
		return expect(res, err, http.StatusNoContent, http.StatusOK)
	})
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	if cpuErr != nil {
		return Report{}, cpuErr
	}
	rep := rec.report(o.Scenario, o.Concurrency)
	if cpu != nil {
		rep.Phases = phases
	}
	if deadline.Err() != nil {
		rep.Truncated = fmt.Sprintf("stopped after --duration %s", o.Duration.Round(time.Second))
	}
	return rep, nil
}
