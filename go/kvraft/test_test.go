package kvraft

// The tests: clerks run workloads against a group while the harness partitions, crashes and restarts it, and
// every value read is checked against what the clerks wrote. Each client appends entries that name it and
// number its appends, so a lost, repeated or reordered append shows up in any later read.

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// roundTime is how long the clerks of one workload round run.
	roundTime = 1 * time.Second
	// electionTime comfortably covers an election (timeouts of 550-850 ms), so a group left alone that long has
	// a leader again.
	electionTime = 1 * time.Second
	// maxSnapshotSize bounds the snapshot of a store holding a few short keys and one client: anything larger
	// means the snapshot carries more than the service's state.
	maxSnapshotSize = 500
)

func get(cfg *config, ck *Clerk, key string) string {
	v := ck.Get(key)
	cfg.op()
	return v
}

func put(cfg *config, ck *Clerk, key string, value string) {
	ck.Put(key, value)
	cfg.op()
}

func appendTo(cfg *config, ck *Clerk, key string, value string) {
	ck.Append(key, value)
	cfg.op()
}

func check(t *testing.T, cfg *config, ck *Clerk, key string, want string) {
	t.Helper()
	if v := get(cfg, ck, key); v != want {
		t.Fatalf("Get(%q): got %q, want %q", key, v, want)
	}
}

// appendEntry is client c's j-th append. The leading x keeps one entry from matching inside another's.
func appendEntry(c int, j int) string {
	return fmt.Sprintf("x %d %d y", c, j)
}

// clientAppends checks that value holds client c's appends 0 to count-1, each exactly once and in order, and
// describes the first that is not.
func clientAppends(c int, value string, count int) error {
	last := -1
	for j := 0; j < count; j++ {
		entry := appendEntry(c, j)
		at := strings.Index(value, entry)
		if at < 0 {
			return fmt.Errorf("client %d's append %d (%q) is missing from %q", c, j, entry, value)
		}
		if strings.LastIndex(value, entry) != at {
			return fmt.Errorf("client %d's append %d (%q) appears twice in %q", c, j, entry, value)
		}
		if at <= last {
			return fmt.Errorf("client %d's append %d (%q) comes before its append %d in %q", c, j, entry, j-1, value)
		}
		last = at
	}
	if extra := appendEntry(c, count); strings.Contains(value, extra) {
		return fmt.Errorf("client %d made %d appends but %q holds a further one, %q", c, count, value, extra)
	}
	return nil
}

// workload describes a run of concurrent clerks over several rounds.
type workload struct {
	part         string
	what         string
	servers      int
	clients      int
	unreliable   bool
	shared       bool // every client appends to one key; otherwise each has its own
	crash        bool // crash and restart every server after each round
	maxraftstate int
	rounds       int
}

type clientResult struct {
	client  int
	appends int
	err     error
}

// runClient appends to and reads key until stop is set. On a key of its own it knows the exact value to expect;
// on a shared key, that its own appends so far are all there, once each, in order.
func runClient(cfg *config, c int, key string, shared bool, stop *int32, out chan<- clientResult) {
	ck := cfg.makeClient(cfg.all())
	defer cfg.deleteClient(ck)
	want := ""
	j := 0
	for atomic.LoadInt32(stop) == 0 {
		if rand.Intn(2) == 0 {
			entry := appendEntry(c, j)
			appendTo(cfg, ck, key, entry)
			want += entry
			j++
			continue
		}
		v := get(cfg, ck, key)
		var err error
		if shared {
			err = clientAppends(c, v, j)
		} else if v != want {
			err = fmt.Errorf("client %d: Get(%q) got %q, want %q", c, key, v, want)
		}
		if err != nil {
			out <- clientResult{client: c, appends: j, err: err}
			return
		}
	}
	out <- clientResult{client: c, appends: j}
}

func (w workload) key(c int) string {
	if w.shared {
		return "shared"
	}
	return strconv.Itoa(c)
}

func runWorkload(t *testing.T, w workload) {
	cfg := makeConfig(t, w.servers, w.unreliable, w.maxraftstate)
	defer cfg.cleanup()
	cfg.begin(fmt.Sprintf("Test (%s): %s", w.part, w.what))

	ck := cfg.makeClient(cfg.all())
	check(t, cfg, ck, "absent", "")
	put(cfg, ck, "k", "a")
	appendTo(cfg, ck, "k", "b")
	check(t, cfg, ck, "k", "ab")
	put(cfg, ck, "k", "c")
	check(t, cfg, ck, "k", "c")

	for round := 0; round < w.rounds; round++ {
		for c := 0; c < w.clients; c++ {
			put(cfg, ck, w.key(c), "")
		}
		var stop int32
		results := make(chan clientResult, w.clients)
		for c := 0; c < w.clients; c++ {
			go runClient(cfg, c, w.key(c), w.shared, &stop, results)
		}
		time.Sleep(roundTime)
		atomic.StoreInt32(&stop, 1)

		appends := make([]int, w.clients)
		total := 0
		for k := 0; k < w.clients; k++ {
			r := <-results
			if r.err != nil {
				t.Fatalf("round %d: %v", round, r.err)
			}
			appends[r.client] = r.appends
			total += r.appends
		}
		if total == 0 {
			t.Fatalf("round %d: no client completed an append in %v", round, roundTime)
		}

		if w.crash {
			for i := 0; i < w.servers; i++ {
				cfg.shutdownServer(i)
			}
			for i := 0; i < w.servers; i++ {
				cfg.startServer(i)
			}
			cfg.connectAll()
		}

		for c := 0; c < w.clients; c++ {
			v := get(cfg, ck, w.key(c))
			if err := clientAppends(c, v, appends[c]); err != nil {
				t.Fatalf("round %d, after the clients stopped: %v", round, err)
			}
		}

		if w.maxraftstate > 0 {
			if size := cfg.logSize(); size > 8*w.maxraftstate {
				t.Fatalf("round %d: persisted Raft state is %d bytes, over 8 x maxraftstate (%d)",
					round, size, w.maxraftstate)
			}
		} else if size := cfg.snapshotSize(); size > 0 {
			t.Fatalf("round %d: a %d-byte snapshot was saved although maxraftstate is %d",
				round, size, w.maxraftstate)
		}
	}
	if w.maxraftstate > 0 && cfg.snapshotSize() == 0 {
		t.Fatalf("no server saved a snapshot, though the log outgrew maxraftstate (%d)", w.maxraftstate)
	}
	cfg.end()
}

// TestBasic4A: one clerk on a reliable network, each read checked against the exact value written.
func TestBasic4A(t *testing.T) {
	runWorkload(t, workload{part: "4A", what: "one client", servers: 5, clients: 1, maxraftstate: -1, rounds: 3})
}

// TestConcurrent4A: clerks' appends to one key interleave, but each clerk's must appear once each, in order.
func TestConcurrent4A(t *testing.T) {
	runWorkload(t, workload{part: "4A", what: "many clients appending to one key", servers: 5, clients: 5,
		shared: true, maxraftstate: -1, rounds: 3})
}

// TestUnreliable4A: lost requests and replies make clerks retry operations that may already have applied.
func TestUnreliable4A(t *testing.T) {
	runWorkload(t, workload{part: "4A", what: "unreliable net, many clients", servers: 5, clients: 5,
		unreliable: true, maxraftstate: -1, rounds: 3})
}

// TestOnePartition4A: a majority holding the leader keeps serving, a minority completes nothing, and the
// minority's pending operations complete once the partition heals.
func TestOnePartition4A(t *testing.T) {
	cfg := makeConfig(t, 5, false, -1)
	defer cfg.cleanup()
	cfg.begin("Test (4A): progress in majority, none in minority")

	ck := cfg.makeClient(cfg.all())
	put(cfg, ck, "1", "13")

	p1, p2 := cfg.makePartition()
	cfg.partition(p1, p2)
	ckMajority := cfg.makeClient(p1)
	put(cfg, ckMajority, "1", "14")
	check(t, cfg, ckMajority, "1", "14")

	ckPut := cfg.makeClient(p2)
	ckGet := cfg.makeClient(p2)
	putDone := make(chan struct{})
	getDone := make(chan string, 1)
	go func() {
		put(cfg, ckPut, "1", "15")
		close(putDone)
	}()
	go func() {
		getDone <- get(cfg, ckGet, "1")
	}()
	select {
	case <-putDone:
		t.Fatalf("a Put completed in the minority %v", p2)
	case v := <-getDone:
		t.Fatalf("a Get completed in the minority %v (got %q)", p2, v)
	case <-time.After(electionTime):
	}
	check(t, cfg, ckMajority, "1", "14")

	cfg.connectClient(ckPut, cfg.all())
	cfg.connectClient(ckGet, cfg.all())
	cfg.connectAll()
	deadline := time.After(5 * time.Second)
	select {
	case <-putDone:
	case <-deadline:
		t.Fatalf("the minority's Put did not complete after the partition healed")
	}
	select {
	case v := <-getDone:
		if v != "14" && v != "15" {
			t.Fatalf("the minority's Get returned %q, want 14 or 15", v)
		}
	case <-deadline:
		t.Fatalf("the minority's Get did not complete after the partition healed")
	}
	check(t, cfg, ck, "1", "15")
	cfg.end()
}

// TestPersistConcurrent4A: every server crashes after each round; the restarted group must hold every append.
func TestPersistConcurrent4A(t *testing.T) {
	runWorkload(t, workload{part: "4A", what: "restarts, many clients", servers: 5, clients: 5, crash: true,
		maxraftstate: -1, rounds: 3})
}

// TestSnapshotRPC4B: a server left behind in a minority while the others trim their logs can only catch up from
// a snapshot, and must then serve the same state.
func TestSnapshotRPC4B(t *testing.T) {
	const maxraftstate = 1000
	cfg := makeConfig(t, 3, false, maxraftstate)
	defer cfg.cleanup()
	cfg.begin("Test (4B): InstallSnapshot RPC")

	ck := cfg.makeClient(cfg.all())
	put(cfg, ck, "a", "A")
	check(t, cfg, ck, "a", "A")

	// Server 2 misses 50 operations, far more log than the others keep.
	cfg.partition([]int{0, 1}, []int{2})
	ck1 := cfg.makeClient([]int{0, 1})
	for i := 0; i < 50; i++ {
		put(cfg, ck1, strconv.Itoa(i), strconv.Itoa(i))
	}
	time.Sleep(electionTime)
	check(t, cfg, ck1, "a", "A")
	check(t, cfg, ck1, "49", "49")
	if size := cfg.logSize(); size > 8*maxraftstate {
		t.Fatalf("persisted Raft state is %d bytes, over 8 x maxraftstate (%d)", size, maxraftstate)
	}
	// A snapshot saved now covers entries server 2 never got (it could hold no more than the first few), so
	// the log that would let 2 catch up without one is gone.
	cfg.mu.Lock()
	snap := len(cfg.saved[0].ReadSnapshot())
	cfg.mu.Unlock()
	if snap == 0 {
		t.Fatalf("server 0 saved no snapshot in 50 operations, so the test cannot reach InstallSnapshot")
	}

	// Now only 0 and 2 are together: nothing can commit until 2 has caught up through 0's snapshot.
	cfg.partition([]int{0, 2}, []int{1})
	ck2 := cfg.makeClient([]int{0, 2})
	put(cfg, ck2, "c", "C")
	put(cfg, ck2, "d", "D")
	check(t, cfg, ck2, "a", "A")
	check(t, cfg, ck2, "c", "C")
	check(t, cfg, ck2, "d", "D")
	check(t, cfg, ck2, "1", "1")
	check(t, cfg, ck2, "49", "49")

	cfg.connectAll()
	put(cfg, ck, "e", "E")
	check(t, cfg, ck, "c", "C")
	check(t, cfg, ck, "e", "E")
	check(t, cfg, ck, "1", "1")
	if size := cfg.logSize(); size > 8*maxraftstate {
		t.Fatalf("persisted Raft state is %d bytes, over 8 x maxraftstate (%d)", size, maxraftstate)
	}
	cfg.end()
}

// TestSnapshotSize4B: under a steady stream of operations on a tiny store, the persisted Raft state stays within
// 8 x maxraftstate and the snapshot stays small.
func TestSnapshotSize4B(t *testing.T) {
	const maxraftstate = 1000
	cfg := makeConfig(t, 3, false, maxraftstate)
	defer cfg.cleanup()
	cfg.begin("Test (4B): snapshot size is reasonable")

	ck := cfg.makeClient(cfg.all())
	for i := 0; i < 100; i++ {
		put(cfg, ck, "x", "0")
		check(t, cfg, ck, "x", "0")
		put(cfg, ck, "x", "1")
		check(t, cfg, ck, "x", "1")
	}
	if size := cfg.logSize(); size > 8*maxraftstate {
		t.Fatalf("persisted Raft state is %d bytes, over 8 x maxraftstate (%d)", size, maxraftstate)
	}
	if size := cfg.snapshotSize(); size == 0 || size > maxSnapshotSize {
		t.Fatalf("snapshot is %d bytes, want between 1 and %d", size, maxSnapshotSize)
	}
	cfg.end()
}

// TestSnapshotRecover4B: as TestPersistConcurrent4A, with restarts from snapshots and a bounded Raft state.
func TestSnapshotRecover4B(t *testing.T) {
	runWorkload(t, workload{part: "4B", what: "restarts, snapshots, many clients", servers: 5, clients: 5,
		crash: true, maxraftstate: 1000, rounds: 3})
}
