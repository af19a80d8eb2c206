package directory

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/rosterhq/roster/internal/scim/bulk"
	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// The statuses of Bulk operations, per RFC 7644 §3.7.3: an operation's
// result carries the HTTP status its request alone would have had. Plain
// numbers, so that the service does not depend on net/http.
const (
	statusOK            = 200
	statusCreated       = 201
	statusNoContent     = 204
	statusInternalError = 500
)

// BulkResult is the outcome of one operation of a bulk request, per RFC
// 7644 §3.7.3, before the HTTP layer turns it into a response element (a
// Location from Type and ID, an ETag from Version, an error body from Err).
type BulkResult struct {
	Method string // the operation's method, upper-case
	BulkID string
	Path   string // the operation's path as the request gave it, for logs
	// Type and ID name the resource the operation wrote; both are set
	// only when it succeeded.
	Type *schema.ResourceType
	ID   string
	// Version is the resource's version after a successful POST, PUT or
	// PATCH; 0 otherwise.
	Version int64
	// Status is the HTTP status of the operation: 201, 200 or 204 when it
	// succeeded, the status of Err otherwise.
	Status int
	// Err is why the operation failed: a *scimerr.Error for what the
	// client can act on, a *PanicError, or an internal error the caller
	// reports as such without its detail.
	Err error
}

// PanicError is a panic recovered while running one bulk operation: it
// fails that operation only.
type PanicError struct {
	Value any
	Stack []byte
}

// Error describes the panic.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Bulk runs the operations of a parsed bulk request (see bulk.Parse), per
// RFC 7644 §3.7, through the same methods as single requests. Each
// operation commits on its own. Operations run in bulk.Order, so that one
// referring to "bulkId:x" runs after the POST defining x; after
// req.FailOnErrors failures (when positive) the rest are skipped. A panic in
// one operation fails that operation only.
//
// Bulk returns the results of the operations that ran, in request order.
func (s *Service) Bulk(ctx context.Context, tenant string, req bulk.Request) []BulkResult {
	results := make([]*BulkResult, len(req.Operations))
	ids := map[string]string{}
	failures := 0
	for _, i := range bulk.Order(req.Operations) {
		if req.FailOnErrors > 0 && failures >= req.FailOnErrors {
			break
		}
		res := s.bulkOperation(ctx, tenant, req.Operations[i], ids)
		if res.Status >= 400 {
			failures++
		}
		results[i] = &res
	}
	out := make([]BulkResult, 0, len(results))
	for _, res := range results {
		if res != nil {
			out = append(out, *res)
		}
	}
	return out
}

// bulkOperation runs one operation, recording in ids the id a POST creates
// for its bulkId.
func (s *Service) bulkOperation(ctx context.Context, tenant string, op bulk.Operation, ids map[string]string) (res BulkResult) {
	res = BulkResult{Method: op.Method, BulkID: op.BulkID, Path: op.Path}
	defer func() {
		if v := recover(); v != nil {
			res = BulkResult{Method: op.Method, BulkID: op.BulkID, Path: op.Path, Status: statusInternalError,
				Err: &PanicError{Value: v, Stack: debug.Stack()}}
		}
	}()
	if err := s.runBulkOperation(ctx, tenant, op, ids, &res); err != nil {
		status := statusInternalError
		if se := scimerr.As(err); se != nil {
			status = se.Status
		}
		res = BulkResult{Method: op.Method, BulkID: op.BulkID, Path: op.Path, Status: status, Err: err}
	}
	return res
}

func (s *Service) runBulkOperation(ctx context.Context, tenant string, op bulk.Operation, ids map[string]string, res *BulkResult) error {
	op, err := bulk.Resolve(op, ids)
	if err != nil {
		return err
	}
	rt, id, err := s.bulkTarget(op)
	if err != nil {
		return err
	}
	switch op.Method {
	case "POST":
		doc, err := resource.Decode(op.Data)
		if err != nil {
			return err
		}
		created, err := s.Create(ctx, tenant, rt, doc)
		if err != nil {
			return err
		}
		ids[op.BulkID] = created.ID
		*res = BulkResult{Method: op.Method, BulkID: op.BulkID, Path: op.Path, Type: rt, ID: created.ID, Version: created.Version, Status: statusCreated}
	case "PUT":
		doc, err := resource.Decode(op.Data)
		if err != nil {
			return err
		}
		out, err := s.Replace(ctx, tenant, rt, id, op.Version, doc)
		if err != nil {
			return err
		}
		*res = BulkResult{Method: op.Method, BulkID: op.BulkID, Path: op.Path, Type: rt, ID: out.ID, Version: out.Version, Status: statusOK}
	case "PATCH":
		req, err := patch.ParseRequest(op.Data)
		if err != nil {
			return err
		}
		out, err := s.Patch(ctx, tenant, rt, id, op.Version, req)
		if err != nil {
			return err
		}
		*res = BulkResult{Method: op.Method, BulkID: op.BulkID, Path: op.Path, Type: rt, ID: out.ID, Version: out.Version, Status: statusOK}
	case "DELETE":
		if err := s.Delete(ctx, tenant, rt, id, op.Version); err != nil {
			return err
		}
		*res = BulkResult{Method: op.Method, BulkID: op.BulkID, Path: op.Path, Type: rt, ID: id, Status: statusNoContent}
	default:
		// bulk.Parse admits no other method; a request built another way
		// gets the same answer.
		return scimerr.InvalidValue("unsupported bulk method %q", op.Method)
	}
	return nil
}

// bulkTarget resolves an operation's path, per RFC 7644 §3.7: "/Users" or
// "/Groups" for a POST, "/Users/{id}" or "/Groups/{id}" for the others.
// Endpoint names match case-insensitively, as in single requests.
func (s *Service) bulkTarget(op bulk.Operation) (*schema.ResourceType, string, error) {
	var segs []string
	for _, seg := range strings.Split(op.Path, "/") {
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	if len(segs) == 0 || len(segs) > 2 {
		return nil, "", scimerr.InvalidValue("bulk path %q names no resource endpoint", op.Path)
	}
	var rt *schema.ResourceType
	switch strings.ToLower(segs[0]) {
	case "users":
		rt = s.registry.User()
	case "groups":
		rt = s.registry.Group()
	default:
		return nil, "", scimerr.InvalidValue("bulk path %q names no resource endpoint", op.Path)
	}
	post := op.Method == "POST"
	if post != (len(segs) == 1) {
		want := rt.Endpoint + "/{id}"
		if post {
			want = rt.Endpoint
		}
		return nil, "", scimerr.InvalidValue("%s needs path %s", op.Method, want)
	}
	if post {
		return rt, "", nil
	}
	return rt, segs[1], nil
}
