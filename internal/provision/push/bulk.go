package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Schema URNs of a push.
const (
	BulkRequestSchema = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	UserSchema        = "urn:ietf:params:scim:schemas:core:2.0:User"
	EnterpriseSchema  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// MaxOperations is the most records one request may carry: Entra's limit
// for /bulkUpload (50 records per request).
const MaxOperations = 50

// MaxBodyBytes bounds a request's body: 50 records of up to about 40 KB
// each.
const MaxBodyBytes = 2 << 20

// ErrBadRequest reports a request whose shape is wrong; nothing of it is
// kept.
var ErrBadRequest = errors.New("not a valid BulkRequest")

// ErrTooManyOperations reports a request of more than MaxOperations
// records.
var ErrTooManyOperations = fmt.Errorf("more than %d operations in one request", MaxOperations)

// BulkRequest is a SCIM BulkRequest (RFC 7644 §3.7) of source records.
type BulkRequest struct {
	Schemas []string `json:"schemas"`
	// FailOnErrors is accepted and ignored, as Entra does: records are
	// processed asynchronously, so there is nothing to stop.
	FailOnErrors *int        `json:"failOnErrors,omitempty"`
	Operations   []Operation `json:"Operations"`
}

// Operation is one record of a BulkRequest.
type Operation struct {
	Method string          `json:"method"`
	BulkID string          `json:"bulkId,omitempty"`
	Path   string          `json:"path"`
	Data   json.RawMessage `json:"data"`
}

// ParseBulkRequest reads a BulkRequest and checks its shape: a JSON object
// naming the BulkRequest schema with 1 to MaxOperations operations. The
// operations themselves are checked by Records.
func ParseBulkRequest(body []byte) (BulkRequest, error) {
	var req BulkRequest
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&req); err != nil {
		return BulkRequest{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if d.More() {
		return BulkRequest{}, fmt.Errorf("%w: data after the JSON object", ErrBadRequest)
	}
	if !slices.Contains(req.Schemas, BulkRequestSchema) {
		return BulkRequest{}, fmt.Errorf("%w: schemas must contain %s", ErrBadRequest, BulkRequestSchema)
	}
	if len(req.Operations) == 0 {
		return BulkRequest{}, fmt.Errorf("%w: no Operations", ErrBadRequest)
	}
	if len(req.Operations) > MaxOperations {
		return BulkRequest{}, fmt.Errorf("%w (%d)", ErrTooManyOperations, len(req.Operations))
	}
	return req, nil
}

// Record is one valid source record: its anchor and its SCIM document.
type Record struct {
	// Op is the record's index in the request, and BulkID its bulkId.
	Op     int
	BulkID string
	// ExternalID is the anchor.
	ExternalID string
	// UserName is the record's userName, if any, to name it in logs.
	UserName string
	Data     json.RawMessage
}

// Rejected is an operation that is not a valid record, and why.
type Rejected struct {
	Op         int
	BulkID     string
	ExternalID string
	Reason     string
}

// Records checks each operation and returns the valid records and the
// rejected operations. Of several records with the same externalId in one
// request the last one is kept, since each is the whole state of the person
// and the later one is the newer; the earlier ones are rejected as
// superseded, so that the log says what became of each.
func (r BulkRequest) Records() (recs []Record, rejected []Rejected) {
	last := map[string]int{}
	for i, op := range r.Operations {
		rec, err := checkOperation(i, op)
		if err != nil {
			rejected = append(rejected, Rejected{Op: i, BulkID: op.BulkID, ExternalID: rec.ExternalID, Reason: err.Error()})
			continue
		}
		if j, ok := last[rec.ExternalID]; ok {
			prev := recs[j]
			rejected = append(rejected, Rejected{Op: prev.Op, BulkID: prev.BulkID, ExternalID: prev.ExternalID,
				Reason: fmt.Sprintf("superseded by operation %d, a later record with the same externalId", i)})
			recs[j] = rec
			continue
		}
		last[rec.ExternalID] = len(recs)
		recs = append(recs, rec)
	}
	slices.SortFunc(rejected, func(a, b Rejected) int { return a.Op - b.Op })
	return recs, rejected
}

// checkOperation checks one operation as a record of a person.
func checkOperation(i int, op Operation) (Record, error) {
	rec := Record{Op: i, BulkID: op.BulkID}
	if !strings.EqualFold(op.Method, "POST") {
		return rec, fmt.Errorf("method %q: only POST is supported; a record is the person's whole state", op.Method)
	}
	if !strings.EqualFold(strings.TrimSuffix(op.Path, "/"), "/Users") {
		return rec, fmt.Errorf("path %q: records go to /Users", op.Path)
	}
	d := json.NewDecoder(bytes.NewReader(op.Data))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil || doc == nil {
		return rec, errors.New("data must be a JSON object (a SCIM user)")
	}
	if id, ok := doc["externalId"].(string); ok {
		rec.ExternalID = id
	}
	schemas, _ := doc["schemas"].([]any)
	if !slices.Contains(schemas, any(UserSchema)) {
		return rec, fmt.Errorf("data.schemas must contain %s", UserSchema)
	}
	if strings.TrimSpace(rec.ExternalID) == "" {
		return rec, errors.New("data.externalId is required: it is the record's anchor")
	}
	if v, ok := doc["active"]; ok && v != nil {
		if _, ok := v.(bool); !ok {
			return rec, fmt.Errorf("data.active must be true or false, not %v", v)
		}
	}
	if v, ok := doc["userName"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return rec, errors.New("data.userName must be a string")
		}
		rec.UserName = s
	}
	for k, v := range doc {
		if strings.HasPrefix(strings.ToLower(k), "urn:") && !strings.EqualFold(k, "schemas") {
			if _, ok := v.(map[string]any); !ok && v != nil {
				return rec, fmt.Errorf("data[%q]: an extension's attributes must be a JSON object", k)
			}
		}
	}
	rec.Data = op.Data
	return rec, nil
}
