package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// BenchmarkDeliverySQLite measures end-to-end delivery on SQLite: b.N
// events of 100 users are in the outbox; the clock runs from Start until
// the last one is delivered to a local receiver that answers 204. It
// reports deliveries (events) per second and requests per second.
//
//	go test ./internal/webhook -run '^$' -bench DeliverySQLite -benchtime 20000x
func BenchmarkDeliverySQLite(b *testing.B) {
	for _, c := range []struct {
		lanes, batch int
	}{{8, 100}, {8, 1}, {32, 100}} {
		b.Run(fmt.Sprintf("Lanes%d/MaxBatch%d", c.lanes, c.batch), func(b *testing.B) {
			benchDelivery(b, c.lanes, c.batch)
		})
	}
}

func benchDelivery(b *testing.B, lanes, maxBatch int) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "roster.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	host, err := jobs.Open(ctx, st, jobs.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer host.Close()
	if err := storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: testTenant, Name: testTenant}); err != nil {
		b.Fatal(err)
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	secret, _ := NewSecret()
	if err := storetest.Write(st).Webhooks().Create(ctx, store.WebhookEndpoint{
		ID: "ep", Tenant: testTenant, URL: srv.URL, Secret: secret, Created: time.Now().Add(-time.Hour),
	}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; {
		err := st.Write(ctx, func(w store.Writer) error {
			for j := 0; j < 500 && i < b.N; j, i = j+1, i+1 {
				u := "user-" + strconv.Itoa(i%100)
				if err := w.Record(ctx, &store.Change{
					Tenant: testTenant, ResourceType: schema.UserResource, ResourceID: u, ResourceName: u,
					Operation: "patch", Version: int64(i + 1), Actor: "bench",
					Events: []store.Event{{ID: uuid.NewString(), Type: store.UserUpdated,
						Data: json.RawMessage(`{"resource":{"userName":"` + u + `","active":true,"name":{"givenName":"Ada","familyName":"Lovelace"}}}`)}},
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	s, err := New(host, Config{
		Store: st, Lanes: lanes, MaxBatch: maxBatch, Workers: lanes, AllowPrivate: true,
		Logger: slog.New(slog.NewTextHandler(b.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := host.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	for {
		var n int
		if err := host.DB().QueryRowContext(ctx, "SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'").Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n >= b.N {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err := s.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	if err := host.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(requests.Load())/elapsed.Seconds(), "requests/s")
}
