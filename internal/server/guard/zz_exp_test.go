package guard_test

import (
	"hash/maphash"
	"runtime"

	"github.com/rosterhq/roster/internal/server/guard"
	"sync/atomic"
	"testing"
)

func BenchmarkExpKeysOnly(b *testing.B) {
	keys := benchKeys(1 << 20)
	seed := maphash.MakeSeed()
	var seq atomic.Uint64
	var sink atomic.Uint64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) << 32
		var x uint64
		for pb.Next() {
			i++
			key := keys[int(i*0x9E3779B97F4A7C15>>40)%len(keys)]
			x += maphash.String(seed, key)
		}
		sink.Add(x)
	})
}

func TestExpMemory(t *testing.T) {
	keys := benchKeys(guard.DefaultMaxKeys)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	l := guard.NewFailureLimiter(10, 5)
	for _, k := range keys {
		l.Fail(k, t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	t.Logf("%d keys, %.0f bytes/key (keys' own bytes shared with the test)", l.Len(), float64(m1.HeapAlloc-m0.HeapAlloc)/float64(l.Len()))
	runtime.KeepAlive(l)
}
