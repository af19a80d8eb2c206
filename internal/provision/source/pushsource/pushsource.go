// Package pushsource is the source of a job of source type push: it reads
// the records an HR system pushed to the job (package push), staged in
// the store. A record's anchor is its externalId; its attributes are the
// SCIM user's, with an extension's attributes nested under its URN as in
// the SCIM source.
//
// Deltas are exact: every write of a record gives it the job's next seq,
// in commit order, so the watermark is the highest seq read and Changes
// reports each record written since, once. Deletes are reported only for
// records an authoritative upload marked deleted: a record that is merely
// not pushed again is never deleted, as in Entra's API-driven inbound
// provisioning. A push source has no groups.
package pushsource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/store"
)

// Source reads the records pushed to one job.
type Source struct {
	st  store.Store
	job string
}

// New returns the source of the records pushed to the named job.
func New(st store.Store, job string) *Source { return &Source{st: st, job: job} }

// Kind names the connector.
func (s *Source) Kind() string { return "push" }

// Describe names the job whose records the source reads.
func (s *Source) Describe() string { return "the records pushed to job " + s.job }

// Test checks that the staged records can be read.
func (s *Source) Test(ctx context.Context) error {
	if _, err := s.st.Push().LastSeq(ctx, s.job); err != nil {
		return &source.TestError{Cause: source.CauseServer, Message: "Roster's database did not answer for the records pushed to job " + s.job, Err: err}
	}
	return nil
}

// List reports every record not marked deleted.
func (s *Source) List(ctx context.Context, kind source.Kind, fn func(source.Object) error) error {
	_, err := s.Changes(ctx, kind, "", fn)
	return err
}

// Changes reports the records written since the watermark (a seq); from
// the empty watermark, every record not marked deleted.
func (s *Source) Changes(ctx context.Context, kind source.Kind, watermark string, fn func(source.Object) error) (string, error) {
	var after int64
	if watermark != "" {
		var err error
		if after, err = strconv.ParseInt(watermark, 10, 64); err != nil || after < 0 {
			// Not one of ours: read everything, which the contract allows.
			after = 0
			watermark = ""
		}
	}
	if kind != source.User {
		return strconv.FormatInt(after, 10), nil
	}
	last := after
	err := s.st.Push().Records(ctx, s.job, after, func(r store.PushRecord) error {
		last = r.Seq
		if r.Deleted {
			if watermark == "" {
				return nil // a full read reports what exists
			}
			return fn(source.Object{Anchor: r.Anchor, Kind: source.User, Deleted: true})
		}
		o, err := Decode(r)
		if err != nil {
			return err
		}
		return fn(o)
	})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(last, 10), nil
}

// Get reads one record by its externalId.
func (s *Source) Get(ctx context.Context, kind source.Kind, anchor string) (source.Object, error) {
	if kind != source.User {
		return source.Object{}, fmt.Errorf("group %s: a push source has no groups: %w", anchor, source.ErrNotFound)
	}
	r, err := s.st.Push().Record(ctx, s.job, anchor)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.Deleted) {
		return source.Object{}, fmt.Errorf("user %s: %w", anchor, source.ErrNotFound)
	}
	if err != nil {
		return source.Object{}, err
	}
	return Decode(r)
}

// Decode turns a staged record into an Object. Numbers stay json.Number;
// a JSON null or empty array is a null attribute (RFC 7643 §2.5).
func Decode(r store.PushRecord) (source.Object, error) {
	d := json.NewDecoder(bytes.NewReader(r.Data))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		return source.Object{}, fmt.Errorf("record %s of job %s: %w", r.Anchor, r.Job, err)
	}
	o := source.Object{Anchor: r.Anchor, Kind: source.User, Version: strconv.FormatInt(r.Seq, 10),
		Attributes: make(map[string]source.Values, len(doc))}
	for k, v := range doc {
		if k == "schemas" || k == "meta" || k == "id" {
			continue
		}
		o.Attributes[k] = source.ValuesOf(v)
	}
	return o, nil
}
