package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/webhook"
)

// Receiver is a webhook endpoint for load runs: it verifies each
// delivery's signature, counts distinct events, and tells how long after
// the load ended the last one arrived.
type Receiver struct {
	secret string
	srv    *http.Server
	ln     net.Listener

	mu       sync.Mutex
	seen     map[string]struct{}
	requests int
	invalid  int
	first    time.Time
	last     time.Time
}

// ReceiverReport is what a Receiver saw.
type ReceiverReport struct {
	Events    int           `json:"events"`   // distinct events (by id)
	Requests  int           `json:"requests"` // delivery requests
	Invalid   int           `json:"invalid"`  // requests whose signature did not verify
	Lag       time.Duration `json:"lag_ns"`   // from the end of the load to the last event
	PerSecond float64       `json:"per_second"`
}

func (r ReceiverReport) String() string {
	return fmt.Sprintf("webhooks: %d events in %d requests (%d invalid), %.0f events/s, last one %s after the load ended\n",
		r.Events, r.Requests, r.Invalid, r.PerSecond, r.Lag.Round(time.Millisecond))
}

// Listen starts a Receiver on addr, verifying with secret.
func Listen(addr, secret string) (*Receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	r := &Receiver{secret: secret, ln: ln, seen: map[string]struct{}{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// URL is where the receiver listens.
func (r *Receiver) URL() string { return "http://" + r.ln.Addr().String() + "/" }

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	if err := webhook.Verify(r.secret, req.Header, body, webhook.DefaultTolerance, time.Now()); err != nil {
		r.mu.Lock()
		r.invalid++
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var msg struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	r.mu.Lock()
	r.requests++
	if r.first.IsZero() {
		r.first = now
	}
	for _, e := range msg.Events {
		if _, dup := r.seen[e.ID]; !dup {
			r.seen[e.ID] = struct{}{}
			r.last = now
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Drain waits until want events have arrived, or none arrived for quiet,
// and reports; loadEnd is when the load finished.
func (r *Receiver) Drain(ctx context.Context, want int, quiet time.Duration, loadEnd time.Time) ReceiverReport {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		r.mu.Lock()
		n, last := len(r.seen), r.last
		r.mu.Unlock()
		idle := time.Since(last)
		if last.IsZero() {
			idle = time.Since(loadEnd)
		}
		if n >= want || idle > quiet {
			break
		}
		select {
		case <-ctx.Done():
		case <-t.C:
			continue
		}
		break
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := ReceiverReport{Events: len(r.seen), Requests: r.requests, Invalid: r.invalid}
	if !r.last.IsZero() {
		rep.Lag = max(0, r.last.Sub(loadEnd))
		if d := r.last.Sub(r.first).Seconds(); d > 0 {
			rep.PerSecond = float64(len(r.seen)) / d
		}
	}
	return rep
}

// Close stops the receiver.
func (r *Receiver) Close() error {
	err := r.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
