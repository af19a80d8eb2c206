package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// The provisioning store's benchmarks, shared by the backends' bench_test.go
// so that their figures compare: an initial cycle writes 100,000 links and
// as many log entries in Writes of ProvisionBatch.

// ProvisionBatch is how many links or log entries the engine writes per
// Write.
const ProvisionBatch = 500

// BenchLinks returns n links of job, the i-th with anchor number from+i.
func BenchLinks(job string, from, n int) []store.Link {
	now := time.Now().UTC()
	out := make([]store.Link, n)
	for i := range out {
		k := from + i
		out[i] = store.Link{Job: job, Kind: "user", SourceAnchor: fmt.Sprintf("%08x-1111-4000-8000-%012x", k, k),
			TargetID: fmt.Sprintf("%08x-2222-4000-8000-%012x", k, k), Display: fmt.Sprintf("user%07d@example.com", k),
			State: "active", Hash: fmt.Sprintf("%064x", k), Created: now, Updated: now}
	}
	return out
}

// BenchLogs returns n log entries of job and cycle, with steps and
// modified properties of a typical create.
func BenchLogs(job, cycle string, from, n int) []store.ProvisionLog {
	now := time.Now().UTC()
	out := make([]store.ProvisionLog, n)
	for i := range out {
		k := from + i
		name := fmt.Sprintf("user%07d@example.com", k)
		out[i] = store.ProvisionLog{Job: job, Cycle: cycle, Change: fmt.Sprintf("chg-%d", k), Time: now, Kind: "user",
			SourceAnchor: fmt.Sprintf("%08x-1111-4000-8000-%012x", k, k), SourceName: name,
			TargetID: fmt.Sprintf("%08x-2222-4000-8000-%012x", k, k), Action: "Create", Status: "Success",
			Steps: json.RawMessage(`[{"step":"Import","status":"Success"},{"step":"Scope","status":"Success","detail":"in scope"},` +
				`{"step":"Match","status":"Success","detail":"no match on userName"},{"step":"Action","status":"Success"}]`),
			Modified: json.RawMessage(`[{"name":"userName","new":"` + name + `"},{"name":"active","new":true},` +
				`{"name":"displayName","new":"User ` + fmt.Sprint(k) + `"}]`),
			Duration: 3 * time.Millisecond}
	}
	return out
}

// BenchPutLinks measures PutLinks of ProvisionBatch new links per Write.
func BenchPutLinks(b *testing.B, s store.Store) {
	ctx := context.Background()
	batches := make([][]store.Link, b.N)
	for i := range batches {
		batches[i] = BenchLinks("bench", i*ProvisionBatch, ProvisionBatch)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := s.Write(ctx, func(w store.Writer) error { return w.Provisioning().PutLinks(ctx, batches[i]) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*ProvisionBatch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchAppendLogs measures AppendLogs of ProvisionBatch entries per Write.
func BenchAppendLogs(b *testing.B, s store.Store) {
	ctx := context.Background()
	batches := make([][]store.ProvisionLog, b.N)
	for i := range batches {
		batches[i] = BenchLogs("bench", "c1", i*ProvisionBatch, ProvisionBatch)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := s.Write(ctx, func(w store.Writer) error { return w.Provisioning().AppendLogs(ctx, batches[i]) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*ProvisionBatch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchInitialCycle measures the writes of an initial cycle of n objects:
// each Write puts ProvisionBatch links and their log entries.
func BenchInitialCycle(b *testing.B, newStore func() store.Store, n int) {
	ctx := context.Background()
	for i := range b.N {
		b.StopTimer()
		s := newStore()
		job := fmt.Sprintf("bench-%d", i)
		b.StartTimer()
		for from := 0; from < n; from += ProvisionBatch {
			links, logs := BenchLinks(job, from, ProvisionBatch), BenchLogs(job, "c1", from, ProvisionBatch)
			if err := s.Write(ctx, func(w store.Writer) error {
				if err := w.Provisioning().PutLinks(ctx, links); err != nil {
					return err
				}
				return w.Provisioning().AppendLogs(ctx, logs)
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// SeedLinks writes n links of job in Writes of ProvisionBatch.
func SeedLinks(tb testing.TB, s store.Store, job string, n int) {
	tb.Helper()
	ctx := context.Background()
	for from := 0; from < n; from += ProvisionBatch {
		links := BenchLinks(job, from, min(ProvisionBatch, n-from))
		if err := s.Write(ctx, func(w store.Writer) error { return w.Provisioning().PutLinks(ctx, links) }); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchStreamLinks measures Links over a job of n links, seeded first.
func BenchStreamLinks(b *testing.B, s store.Store, n int) {
	ctx := context.Background()
	SeedLinks(b, s, "bench", n)
	b.ResetTimer()
	for range b.N {
		seen := 0
		if err := s.Provisioning().Links(ctx, "bench", "", func(store.Link) error { seen++; return nil }); err != nil {
			b.Fatal(err)
		}
		if seen != n {
			b.Fatalf("streamed %d links, want %d", seen, n)
		}
	}
}
