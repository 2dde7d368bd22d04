package kvraft_test

// The service's speed, in both peer modes, on 3 servers that snapshot at the 4C threshold (without snapshots
// the log, which every persist copies whole, grows through the run and each figure would depend on what ran
// before it): sequential Puts from one clerk
// (latency: the lab's TestSpeed4B fails above 33 ms per op), the same on an unreliable network (where a lost
// AppendEntries waits for the next heartbeat), and throughput with 1, 10 and 100 clerks at once. Figures are
// recorded in docs/PERFORMANCE.md, never asserted:
//
//	cd go && PKG_CONFIG_PATH=.. go test -run '^$' -bench . -benchtime 2s ./kvraft1/      # and with -race

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kvraft "6.5840/kvraft1"
	"6.5840/kvsrv1/rpc"
	kvtest "6.5840/kvtest1"
)

// labBoundMs is the lab's limit on the mean time per operation.
const labBoundMs = 33

func BenchmarkKV(b *testing.B) {
	for _, mode := range kvtest.Modes {
		b.Run("peers="+mode, func(b *testing.B) {
			ts := kvtest.MakeTest(b, kvtest.Options{Service: kvService, Servers: 3, Reliable: true,
				MaxRaftState: maxRaftState, Mode: mode})
			defer ts.Cleanup()
			// The first Put waits for the first election, which is no part of the service's speed.
			if err := plainClerk(ts).Put("warm-up", "x", 0); err != rpc.OK {
				b.Fatalf("warm-up Put: %v", err)
			}
			b.Run("sequential", func(b *testing.B) { benchSequential(b, ts) })
			b.Run("sequential-unreliable", func(b *testing.B) {
				ts.SetReliable(false)
				defer ts.SetReliable(true)
				benchSequential(b, ts)
			})
			for _, n := range []int{1, 10, 100} {
				b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) { benchClients(b, ts, n) })
			}
		})
	}
}

// plainClerk is a clerk whose operations are not recorded: a benchmark checks no history.
func plainClerk(ts *kvtest.Test) *kvraft.Clerk {
	return kvraft.MakeClerk(ts.MakeClient(), ts.G().SrvNames())
}

var benchKeys atomic.Int64

// putLoop does Puts to a key of its own while more() says so, each at the version the last one left, and
// returns how long each took. An ErrMaybe Put (retries on an unreliable network) is followed by a Get to learn
// the version, which counts as part of that op.
func putLoop(ck *kvraft.Clerk, more func() bool) ([]time.Duration, error) {
	key := fmt.Sprintf("b%d", benchKeys.Add(1))
	version := rpc.Tversion(0)
	var took []time.Duration
	for i := 0; more(); i++ {
		t0 := time.Now()
		err := ck.Put(key, fmt.Sprint(i), version)
		switch err {
		case rpc.OK:
			version++
		case rpc.ErrMaybe:
			var gerr rpc.Err
			if _, version, gerr = ck.Get(key); gerr != rpc.OK {
				return took, fmt.Errorf("Get after ErrMaybe: %v", gerr)
			}
		default:
			return took, fmt.Errorf("Put(%q, v%d): %v", key, version, err)
		}
		took = append(took, time.Since(t0))
	}
	return took, nil
}

// reportLatency adds the median and the 99th percentile of the ops' times, in ms.
func reportLatency(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
}

func benchSequential(b *testing.B, ts *kvtest.Test) {
	ck := plainClerk(ts)
	left := b.N
	b.ResetTimer()
	start := time.Now()
	took, err := putLoop(ck, func() bool { left--; return left >= 0 })
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportLatency(b, took)
	msPerOp := elapsed.Seconds() * 1000 / float64(b.N)
	b.ReportMetric(msPerOp, "ms/op")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(labBoundMs/msPerOp, "x-under-bound")
}

func benchClients(b *testing.B, ts *kvtest.Test, clients int) {
	clerks := make([]*kvraft.Clerk, clients)
	for i := range clerks {
		clerks[i] = plainClerk(ts)
	}
	var tickets atomic.Int64
	take := func() bool { return tickets.Add(1) <= int64(b.N) }
	errs := make(chan error, clients)
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for _, ck := range clerks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took, err := putLoop(ck, take)
			if err != nil {
				errs <- err
			}
			mu.Lock()
			all = append(all, took...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	reportLatency(b, all)
}
