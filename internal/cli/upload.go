package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/push"
)

// jobPushCommands are the commands of jobs of source type push: issuing
// the push token and uploading a CSV file.
func jobPushCommands(f *manageFlags) []*cobra.Command {
	token := &cobra.Command{
		Use:   "push-token NAME",
		Short: "Issue the push token of a job of source type push (shown once; replaces the earlier one)",
		Long: `Issues the bearer token an HR system presents to push records to the job's
inbound endpoint, POST /provisioning/jobs/NAME/bulkUpload on roster serve's
listener. Only its hash is kept: it is printed once, and issuing another makes
the earlier one stop working.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				tok, err := push.New(e.store).IssueToken(e.ctx, args[0], actor())
				if err != nil {
					return notFoundHint(err, "job")
				}
				endpoint := e.urls.Base + "/provisioning/jobs/" + args[0] + "/bulkUpload"
				return e.print(map[string]string{"job": args[0], "token": tok, "endpoint": endpoint}, func(w io.Writer) {
					fmt.Fprintf(w, "Push token of job %s (shown once; the earlier one no longer works):\n%s\n", args[0], tok)
					fmt.Fprintf(w, "Endpoint:\tPOST %s\n", endpoint)
				})
			})
		},
	}

	var o uploadOptions
	upload := &cobra.Command{
		Use:   "upload NAME FILE.csv [--map FILE] [--validate] [--authoritative]",
		Short: "Send the rows of a CSV file to a push job as source records",
		Long: `Maps each row of a CSV file to a SCIM user record (stage 1: columns to
attributes, with --map or the default column map for common HR columns; stage
2 is the job's own attribute mappings) and sends the records to the job in
BulkRequests of 50, as Microsoft's CSV2SCIM does for Entra's inbound API.

With --url (a running Roster's root URL) and --token (the job's push token,
or ROSTER_PUSH_TOKEN) the records go through the inbound endpoint; without
--url they are staged directly in the database given by --db. Either way the
job's next cycle processes them.

--validate checks every row (missing externalId, a bad boolean, an externalId
used twice, an unknown column) and sends nothing; it exits 1 if any row is
bad. A file with problems is never sent: fix it or run --validate first.

--authoritative treats the file as the full population: the job's records the
file does not contain are marked deleted, so the job deprovisions them (the
job's deletion threshold holds a cycle with too many). Without it, a record
missing from the file is left as it is: terminations are sent as Active=false.`,
		Example: `  roster job upload hr-push workers.csv --validate
  roster job upload hr-push workers.csv --map columns.yaml --url https://roster.example.com --token "$PUSH_TOKEN"
  roster job upload hr-push everyone.csv --authoritative`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUpload(cmd, f, args[0], args[1], o)
		},
	}
	fl := upload.Flags()
	fl.StringVar(&o.mapFile, "map", "", "column map (YAML or JSON): externalId column, column → SCIM attribute path, ignored columns")
	fl.BoolVar(&o.validate, "validate", false, "check every row and send nothing; exit 1 if any row is bad")
	fl.BoolVar(&o.authoritative, "authoritative", false, "the file is everyone: mark the job's records absent from it deleted")
	fl.StringVar(&o.url, "url", "", "root URL of a running Roster, e.g. https://roster.example.com (default: stage in --db)")
	fl.StringVar(&o.token, "token", "", "the job's push token, with --url (default: $ROSTER_PUSH_TOKEN)")
	fl.IntVar(&o.concurrency, "concurrency", 4, "requests in flight, with --url")
	return []*cobra.Command{token, upload}
}

type uploadOptions struct {
	mapFile, url, token     string
	validate, authoritative bool
	concurrency             int
}

// uploader sends records to a job: through the endpoint, or into the
// local database.
type uploader interface {
	mark(ctx context.Context) (int64, error)
	send(ctx context.Context, req push.BulkRequest) (push.Receipt, error)
	sweep(ctx context.Context, mark int64) (int, error)
}

// uploadResult is what an upload did.
type uploadResult struct {
	Job      string `json:"job"`
	Records  int    `json:"records"`
	Requests int    `json:"requests"`
	Accepted int    `json:"accepted"`
	Rejected int    `json:"rejected"`
	// Deleted counts the records an authoritative upload marked deleted.
	Deleted int    `json:"deleted"`
	Logs    string `json:"logs,omitempty"`
}

func runUpload(cmd *cobra.Command, f *manageFlags, name, file string, o uploadOptions) error {
	m := push.DefaultColumnMap()
	if o.mapFile != "" {
		doc, err := os.ReadFile(o.mapFile)
		if err != nil {
			return usageError{fmt.Errorf("--map: %w", err)}
		}
		if m, err = push.ParseColumnMap(doc); err != nil {
			return usageError{fmt.Errorf("--map %s: %w", o.mapFile, err)}
		}
	}
	in, err := os.Open(file)
	if err != nil {
		return usageError{err}
	}
	defer in.Close()
	recs, problems, err := push.ReadCSV(in, m)
	out := cmd.OutOrStdout()
	for _, p := range problems {
		fmt.Fprintf(out, "%s: %s\n", file, p)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %d problems; nothing was sent", file, len(problems))
	}
	if o.validate {
		fmt.Fprintf(out, "%s: %d records, no problems\n", file, len(recs))
		return nil
	}
	if o.url == "" {
		return f.run(cmd, func(e *env) error {
			u := localUploader{svc: push.New(e.store), name: name}
			res, err := upload(e.ctx, u, name, recs, o)
			if err != nil {
				return notFoundHint(err, "job")
			}
			// A running roster serve picks the records up at its next
			// scheduling pass.
			if err := engine.New(engine.Config{Store: e.store}).Trigger(e.ctx, name); err != nil {
				return err
			}
			return e.print(res, func(w io.Writer) { printUpload(w, res) })
		})
	}
	tok := o.token
	if tok == "" {
		tok = os.Getenv("ROSTER_PUSH_TOKEN")
	}
	if tok == "" {
		return usageError{errors.New("--url needs --token (or ROSTER_PUSH_TOKEN): the job's push token")}
	}
	u := &httpUploader{base: strings.TrimRight(o.url, "/"), name: name, token: tok, client: &http.Client{Timeout: time.Minute}}
	res, err := upload(cmd.Context(), u, name, recs, o)
	if err != nil {
		return err
	}
	if f.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printUpload(out, res)
	return nil
}

func printUpload(w io.Writer, r uploadResult) {
	fmt.Fprintf(w, "Sent %d records to job %s in %d requests: %d accepted, %d rejected.\n", r.Records, r.Job, r.Requests, r.Accepted, r.Rejected)
	if r.Deleted > 0 {
		fmt.Fprintf(w, "Marked %d records absent from the file deleted (--authoritative).\n", r.Deleted)
	}
	if r.Logs != "" {
		fmt.Fprintf(w, "The job's log of what became of them: %s\n", r.Logs)
	}
}

// upload sends the records in requests of push.MaxOperations, with
// o.concurrency in flight, then sweeps when authoritative.
func upload(ctx context.Context, u uploader, name string, recs []push.Record, o uploadOptions) (uploadResult, error) {
	res := uploadResult{Job: name, Records: len(recs)}
	var mark int64
	if o.authoritative {
		var err error
		if mark, err = u.mark(ctx); err != nil {
			return res, err
		}
	}
	reqs := push.Requests(recs)
	res.Requests = len(reqs)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan push.BulkRequest)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range max(1, o.concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for req := range next {
				rc, err := u.send(ctx, req)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				res.Accepted += rc.Accepted
				res.Rejected += rc.Rejected
				if res.Logs == "" && rc.UploadID != "" {
					res.Logs = rc.Logs
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, req := range reqs {
		select {
		case next <- req:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return res, first
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if o.authoritative {
		// Only once every record is in: a record not sent yet would be
		// swept.
		n, err := u.sweep(ctx, mark)
		if err != nil {
			return res, err
		}
		res.Deleted = n
	}
	return res, nil
}

type localUploader struct {
	svc  *push.Service
	name string
}

func (l localUploader) mark(ctx context.Context) (int64, error) { return l.svc.Mark(ctx, l.name) }

func (l localUploader) send(ctx context.Context, req push.BulkRequest) (push.Receipt, error) {
	return l.svc.Push(ctx, l.name, req)
}

func (l localUploader) sweep(ctx context.Context, mark int64) (int, error) {
	return l.svc.Sweep(ctx, l.name, mark, actor())
}

// httpUploader sends to the inbound endpoint of a running Roster.
type httpUploader struct {
	base, name, token string
	client            *http.Client
}

func (h *httpUploader) endpoint() string {
	return h.base + "/provisioning/jobs/" + url.PathEscape(h.name) + "/bulkUpload"
}

// do sends one request and decodes a 2xx answer into out. A 429 or 503 is
// tried again after a pause, up to 5 times.
func (h *httpUploader) do(ctx context.Context, method, u string, body []byte, out any) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+h.token)
		if body != nil {
			req.Header.Set("Content-Type", "application/scim+json")
		}
		resp, err := h.client.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, u, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: read the answer: %w", method, u, err)
		}
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < 5 {
			select {
			case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if resp.StatusCode/100 != 2 {
			var e struct {
				Detail string `json:"detail"`
			}
			_ = json.Unmarshal(b, &e)
			return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, e.Detail)
		}
		return json.Unmarshal(b, out)
	}
}

func (h *httpUploader) mark(ctx context.Context) (int64, error) {
	var v struct {
		LastSeq int64 `json:"lastSeq"`
	}
	err := h.do(ctx, http.MethodGet, h.endpoint(), nil, &v)
	return v.LastSeq, err
}

func (h *httpUploader) send(ctx context.Context, req push.BulkRequest) (push.Receipt, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return push.Receipt{}, err
	}
	var rc push.Receipt
	err = h.do(ctx, http.MethodPost, h.endpoint(), body, &rc)
	return rc, err
}

func (h *httpUploader) sweep(ctx context.Context, mark int64) (int, error) {
	body, _ := json.Marshal(map[string]int64{"mark": mark})
	var v struct {
		Deleted int `json:"deleted"`
	}
	err := h.do(ctx, http.MethodPost, h.endpoint()+"/sweep", body, &v)
	return v.Deleted, err
}
