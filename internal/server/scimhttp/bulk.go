package scimhttp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/bulk"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// bulk serves POST /Bulk, per RFC 7644 §3.7: it parses the request within
// the advertised limits, has the directory service run it, and writes the
// BulkResponse with each operation's location, version or error.
func (h *Handler) bulk(w http.ResponseWriter, r *request) error {
	body, err := readBody(r.Request, MaxBulkPayload)
	if err != nil {
		return err
	}
	req, err := bulk.Parse(body, MaxBulkOperations)
	if err != nil {
		return err
	}
	results := h.dir.Bulk(r.Context(), r.tenant.ID, req)
	out := struct {
		Schemas    []string         `json:"schemas"`
		Operations []*bulk.Response `json:"Operations"`
	}{Schemas: []string{schema.BulkResponseURN}, Operations: make([]*bulk.Response, 0, len(results))}
	for _, res := range results {
		out.Operations = append(out.Operations, h.bulkResponse(r, res))
	}
	return writeJSON(w, http.StatusOK, out)
}

// bulkResponse is one operation's element of the BulkResponse.
func (h *Handler) bulkResponse(r *request, res directory.BulkResult) *bulk.Response {
	out := &bulk.Response{Method: res.Method, BulkID: res.BulkID, Status: strconv.Itoa(res.Status)}
	if res.Err != nil {
		se := scimerr.As(res.Err)
		if se == nil {
			var pe *directory.PanicError
			if errors.As(res.Err, &pe) {
				h.log.Error("SCIM-0502 panic in bulk operation", "method", res.Method, "path", res.Path, "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
			} else {
				h.log.Error("SCIM-0503 bulk operation failed", "method", res.Method, "path", res.Path, "err", res.Err)
			}
			se = scimerr.New(http.StatusInternalServerError, "", "internal error")
		}
		out.Status = strconv.Itoa(se.Status)
		out.Response = errorBody{
			Schemas: []string{schema.ErrorURN}, Status: out.Status,
			ScimType: string(se.ScimType), Detail: se.Detail,
		}
		return out
	}
	if res.Type != nil {
		out.Location = h.location(r, res.Type, res.ID)
	}
	if res.Version > 0 {
		out.Version = resource.ETag(res.Version)
	}
	return out
}
