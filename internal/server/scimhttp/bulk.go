package scimhttp

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/scim/bulk"
	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// bulk serves POST /Bulk, per RFC 7644 §3.7, on top of the same directory
// service as the single-resource endpoints. Each operation commits on its
// own; failOnErrors stops the request after that many failures.
func (h *Handler) bulk(w http.ResponseWriter, r *request) error {
	body, err := readBody(r.Request, MaxBulkPayload)
	if err != nil {
		return err
	}
	req, err := bulk.Parse(body, MaxBulkOperations)
	if err != nil {
		return err
	}
	results := make([]*bulk.Response, len(req.Operations))
	ids := map[string]string{}
	failures := 0
	for _, i := range bulk.Order(req.Operations) {
		if req.FailOnErrors > 0 && failures >= req.FailOnErrors {
			break
		}
		op := req.Operations[i]
		res := h.bulkOperation(r, op, ids)
		if st, _ := strconv.Atoi(res.Status); st >= 400 {
			failures++
		}
		results[i] = res
	}
	out := struct {
		Schemas    []string         `json:"schemas"`
		Operations []*bulk.Response `json:"Operations"`
	}{Schemas: []string{schema.BulkResponseURN}, Operations: []*bulk.Response{}}
	for _, res := range results {
		if res != nil {
			out.Operations = append(out.Operations, res)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// bulkOperation runs one operation. A panic fails only that operation.
func (h *Handler) bulkOperation(r *request, op bulk.Operation, ids map[string]string) (res *bulk.Response) {
	res = &bulk.Response{Method: op.Method, BulkID: op.BulkID}
	defer func() {
		if v := recover(); v != nil {
			h.log.Error("SCIM-0502 panic in bulk operation", "method", op.Method, "path", op.Path, "panic", fmt.Sprint(v))
			setBulkError(res, scimerr.New(http.StatusInternalServerError, "", "internal error"))
		}
	}()
	err := h.runBulkOperation(r.Context(), r, op, ids, res)
	if err != nil {
		se := scimerr.As(err)
		if se == nil {
			h.log.Error("SCIM-0503 bulk operation failed", "method", op.Method, "path", op.Path, "err", err)
			se = scimerr.New(http.StatusInternalServerError, "", "internal error")
		}
		setBulkError(res, se)
	}
	return res
}

func setBulkError(res *bulk.Response, se *scimerr.Error) {
	res.Status = strconv.Itoa(se.Status)
	res.Response = errorBody{
		Schemas: []string{schema.ErrorURN}, Status: res.Status,
		ScimType: string(se.ScimType), Detail: se.Detail,
	}
}

func (h *Handler) runBulkOperation(ctx context.Context, r *request, op bulk.Operation, ids map[string]string, res *bulk.Response) error {
	op, err := bulk.Resolve(op, ids)
	if err != nil {
		return err
	}
	segs := splitPath(op.Path)
	if len(segs) == 0 || len(segs) > 2 {
		return scimerr.InvalidValue("bulk path %q names no resource endpoint", op.Path)
	}
	var rt *schema.ResourceType
	switch strings.ToLower(segs[0]) {
	case "users":
		rt = h.reg.User()
	case "groups":
		rt = h.reg.Group()
	default:
		return scimerr.InvalidValue("bulk path %q names no resource endpoint", op.Path)
	}
	if (op.Method == "POST") != (len(segs) == 1) {
		return scimerr.InvalidValue("%s needs path %s", op.Method, map[bool]string{true: rt.Endpoint, false: rt.Endpoint + "/{id}"}[op.Method == "POST"])
	}
	tenant := r.tenant.ID
	switch op.Method {
	case "POST":
		doc, err := resource.Decode(op.Data)
		if err != nil {
			return err
		}
		created, err := h.dir.Create(ctx, tenant, rt, doc)
		if err != nil {
			return err
		}
		ids[op.BulkID] = created.ID
		res.Status, res.Location, res.Version = "201", h.location(r, rt, created.ID), resource.ETag(created.Version)
	case "PUT":
		doc, err := resource.Decode(op.Data)
		if err != nil {
			return err
		}
		out, err := h.dir.Replace(ctx, tenant, rt, segs[1], op.Version, doc)
		if err != nil {
			return err
		}
		res.Status, res.Location, res.Version = "200", h.location(r, rt, out.ID), resource.ETag(out.Version)
	case "PATCH":
		req, err := patch.ParseRequest(op.Data)
		if err != nil {
			return err
		}
		out, err := h.dir.Patch(ctx, tenant, rt, segs[1], op.Version, req)
		if err != nil {
			return err
		}
		res.Status, res.Location, res.Version = "200", h.location(r, rt, out.ID), resource.ETag(out.Version)
	case "DELETE":
		if err := h.dir.Delete(ctx, tenant, rt, segs[1], op.Version); err != nil {
			return err
		}
		res.Status, res.Location = "204", h.location(r, rt, segs[1])
	}
	return nil
}
