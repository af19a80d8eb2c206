// Package push takes in the source records an HR system pushes to a job of
// source type push, as Entra's API-driven inbound provisioning does: a
// SCIM BulkRequest (RFC 7644 §3.7) of at most MaxOperations records, each
// a POST of a SCIM user to /Users whose externalId is the record's anchor.
//
// Records carry no create, update or delete meaning: the job decides what
// each becomes in the target, asynchronously, in its next cycle. A record
// is the full state of one person as the HR system sees it; a termination
// arrives as active:false, and a record the HR system stops sending is
// never deleted for being absent. Only an authoritative upload (Sweep after
// a full file, see `roster job upload --authoritative`) marks the records
// it did not send deleted, and the job's deletion threshold guards what
// that deprovisions.
//
// The request is refused as a whole (nothing is kept) only when its shape
// is wrong: not JSON, not a BulkRequest, no operations, more than
// MaxOperations. Otherwise it is accepted, and each operation that is not
// a valid record (a method other than POST, a path other than /Users, no
// externalId, active that is not a boolean, …) is reported as a Failure in
// the job's provisioning log and skipped, as Entra reports per-record
// outcomes in its provisioning logs after answering 202.
//
// The package also maps CSV files to records (ReadCSV), in the two stages
// of Microsoft's CSV2SCIM tooling: CSV columns to SCIM attributes of the
// source record here, then the job's own attribute mappings in the engine.
package push
