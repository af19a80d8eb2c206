// Package respond holds what the SCIM handler and the admin API share to
// write a response body piece by piece: a writer that sends the status line
// only when the body's first bytes leave, so that behind a buffer a handler
// can still answer a failure found before then with an error status.
package respond

import "net/http"

// Writer is an io.Writer over an http.ResponseWriter that sends the status
// line, with the body's Content-Type, just before the first bytes of the
// body, or earlier at Start. Until then a handler may still answer with
// something else, such as an error; once it has Started, the status is
// final and a failure can only cut the body short.
type Writer struct {
	w           http.ResponseWriter
	status      int
	contentType string
	started     bool
}

// NewWriter returns a Writer that answers status with a body of
// contentType through w.
func NewWriter(w http.ResponseWriter, status int, contentType string) *Writer {
	return &Writer{w: w, status: status, contentType: contentType}
}

// Start sends the status line now, if it has not been sent. A handler calls
// it when the status must stand whatever happens while the body is written,
// such as the success of a change that has already committed.
func (w *Writer) Start() {
	if !w.started {
		w.started = true
		w.w.Header().Set("Content-Type", w.contentType)
		w.w.WriteHeader(w.status)
	}
}

// Started reports whether the status line has been sent.
func (w *Writer) Started() bool { return w.started }

// Write sends the status line if it has not been sent, then p.
func (w *Writer) Write(p []byte) (int, error) {
	w.Start()
	return w.w.Write(p)
}
