package adminhttp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/server/respond"
)

// listResources lists a tenant's users or groups with SCIM's filter,
// sortBy, sortOrder, startIndex, count, attributes and excludedAttributes
// parameters. The resources are rendered by the directory service exactly
// as SCIM renders them (users with their groups, groups with their members
// streamed); only the envelope is the admin API's own.
func (h *Handler) listResources(typ string) handlerFunc {
	return func(w http.ResponseWriter, c *call) error {
		t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
		if err != nil {
			return err
		}
		rt := h.dir.Registry().ResourceType(typ)
		v, err := view(c, rt, t.Name)
		if err != nil {
			return err
		}
		q := c.URL.Query()
		p := directory.ListParams{Filter: q.Get("filter"), SortBy: q.Get("sortBy"), SortOrder: q.Get("sortOrder"), Count: -1}
		if p.StartIndex, err = intParam(q.Get("startIndex"), 0); err != nil {
			return err
		}
		if p.Count, err = intParam(q.Get("count"), -1); err != nil {
			return err
		}
		res, err := h.dir.List(c.Context(), t.ID, rt, p)
		if err != nil {
			return err
		}
		return h.stream(w, c, func(sw io.Writer) error {
			head, err := json.Marshal(struct {
				Total      int `json:"total"`
				StartIndex int `json:"start_index"`
			}{res.Total, res.StartIndex})
			if err != nil {
				return err
			}
			if _, err := sw.Write(head[:len(head)-1]); err != nil {
				return err
			}
			if _, err := io.WriteString(sw, `,"resources":`); err != nil {
				return err
			}
			if err := h.dir.WriteResources(c.Context(), sw, t.ID, res.Resources, v); err != nil {
				return err
			}
			_, err = io.WriteString(sw, "}\n")
			return err
		})
	}
}

// getResource shows one user or group as SCIM shows it.
func (h *Handler) getResource(typ string) handlerFunc {
	return func(w http.ResponseWriter, c *call) error {
		t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
		if err != nil {
			return err
		}
		rt := h.dir.Registry().ResourceType(typ)
		v, err := view(c, rt, t.Name)
		if err != nil {
			return err
		}
		r, err := h.dir.Get(c.Context(), t.ID, rt, c.PathValue("id"))
		if err != nil {
			return err
		}
		return h.stream(w, c, func(sw io.Writer) error {
			if err := h.dir.WriteResource(c.Context(), sw, t.ID, r, v); err != nil {
				return err
			}
			_, err := io.WriteString(sw, "\n")
			return err
		})
	}
}

// view renders resources with the tenant's own Tenant URL, the one its
// SCIM clients use, and the projection the request asks for.
func view(c *call, rt *schema.ResourceType, tenantName string) (directory.View, error) {
	q := c.URL.Query()
	proj, err := resource.NewProjection(rt, splitList(q["attributes"]), splitList(q["excludedAttributes"]))
	if err != nil {
		return directory.View{}, err
	}
	return directory.View{BaseURL: c.urls.TenantURL(tenantName), Projection: proj}, nil
}

// splitList splits comma-separated attribute names, as SCIM clients send
// them.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// stream answers 200 with the JSON that write produces, through a buffer.
// The status line goes out with the first bytes that leave the buffer, so
// an error before then (a small answer, or an early failure) still gets a
// proper error answer; after it, the response can only be cut short.
func (h *Handler) stream(w http.ResponseWriter, c *call, write func(io.Writer) error) error {
	out := respond.NewWriter(w, http.StatusOK, "application/json")
	bw := bufio.NewWriterSize(out, 32<<10)
	err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	switch {
	case err == nil:
		return nil
	case !out.Started():
		return err
	case !errors.Is(err, context.Canceled):
		h.log.Warn("ADMIN-0502 response cut short", "method", c.Method, "path", c.URL.Path, "err", err)
	}
	return nil
}
