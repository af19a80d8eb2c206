package push

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/store"
)

// ErrNotPushJob reports a job whose source is not of type push.
var ErrNotPushJob = errors.New("the job's source is not of type push")

// ErrUnauthorized reports a push token that is not the job's.
var ErrUnauthorized = errors.New("not the job's push token")

// PushTokenPrefix starts every push token.
const PushTokenPrefix = credential.TokenPrefix + "pt_"

// Service stages pushed records and manages push tokens.
type Service struct {
	store store.Store
	jobs  *job.Service
	now   func() time.Time
}

// New returns the push service over the store.
func New(st store.Store) *Service {
	return &Service{store: st, jobs: job.New(st), now: time.Now}
}

// pushJob returns the job if its source is of type push.
func (s *Service) pushJob(ctx context.Context, name string) (job.Job, error) {
	j, err := s.jobs.Get(ctx, name)
	if err != nil {
		return job.Job{}, fmt.Errorf("job %s: %w", name, err)
	}
	if j.Source.Type != job.SourcePush {
		return job.Job{}, fmt.Errorf("job %s: %w (it is %s)", name, ErrNotPushJob, j.Source.Type)
	}
	return j, nil
}

// IssueToken issues the job's push token, replacing any earlier one, and
// records it in the audit log. The token is returned once; only its hash
// is kept.
func (s *Service) IssueToken(ctx context.Context, name, actor string) (string, error) {
	if _, err := s.pushJob(ctx, name); err != nil {
		return "", err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	token := PushTokenPrefix + id + "_" + hex.EncodeToString(secret)
	now := s.now().UTC().Truncate(time.Microsecond)
	err := s.store.Write(ctx, func(w store.Writer) error {
		if err := w.Push().PutToken(ctx, store.PushToken{Job: name, ID: id, Hash: credential.Hash(token), Created: now}); err != nil {
			return err
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "job.push-token", Target: name,
			Detail: map[string]any{"id": id}})
	})
	if err != nil {
		return "", fmt.Errorf("issue the push token of job %s: %w", name, err)
	}
	return token, nil
}

// Authenticate checks that token is the job's push token. A job that does
// not exist, or has no token, is ErrUnauthorized too, so that a caller
// cannot learn which jobs exist.
func (s *Service) Authenticate(ctx context.Context, name, token string) error {
	t, err := s.store.Push().Token(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnauthorized
	}
	if err != nil {
		return fmt.Errorf("read the push token of job %s: %w", name, err)
	}
	if !credential.HashEqual(credential.Hash(token), t.Hash) {
		return ErrUnauthorized
	}
	return nil
}

// Receipt is what Push did with a request.
type Receipt struct {
	// UploadID names the request in the job's log.
	UploadID string `json:"uploadId"`
	// Received is when the request was staged: the job's log from then on
	// shows what became of its records.
	Received time.Time `json:"received"`
	Accepted int       `json:"accepted"`
	Rejected int       `json:"rejected"`
	// LastSeq is the job's record seq after the request.
	LastSeq int64 `json:"lastSeq"`
	// Logs is the admin API's query of the job's log from Received, as
	// the endpoint's Location.
	Logs string `json:"logs,omitempty"`
}

// Push stages a request's valid records for the job's next cycle, and
// logs each rejected operation as a Failure, in one transaction.
func (s *Service) Push(ctx context.Context, name string, req BulkRequest) (Receipt, error) {
	if _, err := s.pushJob(ctx, name); err != nil {
		return Receipt{}, err
	}
	recs, rejected := req.Records()
	return s.stage(ctx, name, recs, rejected)
}

// Stage stages records already checked (ReadCSV's), as Push does with a
// request's valid records: the local path of `roster job upload`.
func (s *Service) Stage(ctx context.Context, name string, recs []Record) (Receipt, error) {
	if _, err := s.pushJob(ctx, name); err != nil {
		return Receipt{}, err
	}
	return s.stage(ctx, name, recs, nil)
}

func (s *Service) stage(ctx context.Context, name string, recs []Record, rejected []Rejected) (Receipt, error) {
	now := s.now().UTC()
	rc := Receipt{UploadID: uuid.NewString(), Received: now, Accepted: len(recs), Rejected: len(rejected)}
	rows := make([]store.PushRecord, len(recs))
	for i, r := range recs {
		rows[i] = store.PushRecord{Job: name, Anchor: r.ExternalID, Data: r.Data}
	}
	logs := make([]store.ProvisionLog, 0, len(rejected))
	for _, r := range rejected {
		steps, _ := json.Marshal([]map[string]string{{"step": "Import", "status": "Failure", "detail": r.Reason}})
		logs = append(logs, store.ProvisionLog{Job: name, Cycle: "upload-" + rc.UploadID, Change: uuid.NewString(),
			Time: now, Kind: "user", SourceAnchor: r.ExternalID, SourceName: cmpOr(r.BulkID, fmt.Sprintf("operation %d", r.Op)),
			Action: "Other", Status: "Failure", ErrorCode: "InvalidRecord",
			Reason: fmt.Sprintf("upload %s, operation %d: %s", rc.UploadID, r.Op, r.Reason), Steps: steps})
	}
	err := s.store.Write(ctx, func(w store.Writer) error {
		if len(rows) > 0 {
			if err := w.Push().PutRecords(ctx, name, rows); err != nil {
				return err
			}
		}
		if len(logs) > 0 {
			return w.Provisioning().AppendLogs(ctx, logs)
		}
		return nil
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("job %s: stage pushed records: %w", name, err)
	}
	if len(rows) > 0 {
		rc.LastSeq = rows[len(rows)-1].Seq
	}
	rc.Logs = "/admin/api/jobs/" + url.PathEscape(name) + "/logs?since=" + url.QueryEscape(now.Format(time.RFC3339Nano))
	return rc, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Mark returns the job's record seq now: an authoritative upload takes it
// before it sends the first record and passes it to Sweep after the last.
func (s *Service) Mark(ctx context.Context, name string) (int64, error) {
	if _, err := s.pushJob(ctx, name); err != nil {
		return 0, err
	}
	return s.store.Push().LastSeq(ctx, name)
}

// Sweep ends an authoritative upload: every record of the job not written
// since mark (not in the full file just sent) is marked deleted, so the
// job's next cycle deprovisions it, within the job's deletion threshold.
// It returns how many records it marked, and records the sweep in the
// audit log.
func (s *Service) Sweep(ctx context.Context, name string, mark int64, actor string) (int, error) {
	if _, err := s.pushJob(ctx, name); err != nil {
		return 0, err
	}
	var n int
	err := s.store.Write(ctx, func(w store.Writer) error {
		var err error
		if n, err = w.Push().DeleteRecordsUpTo(ctx, name, mark); err != nil {
			return err
		}
		return audit.Record(ctx, w, s.now(), audit.Action{Actor: actor, Action: "job.upload.sweep", Target: name,
			Detail: map[string]any{"mark": mark, "deleted": n}})
	})
	if err != nil {
		return 0, fmt.Errorf("job %s: mark records absent from the upload deleted: %w", name, err)
	}
	return n, nil
}
