package kvraft_test

// Part 4C: snapshots. With maxraftstate = 1000 the persisted Raft state must stay within 8 × 1000 bytes, a
// server that fell behind the trimmed log must catch up from the leader's snapshot, and a restarted server must
// come back from its own.

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"6.5840/kvraft1/rsm"
	"6.5840/kvsrv1/rpc"
	"6.5840/labgob"
)

// TestSnapshotRPC4C: server 2 misses many Puts while the log is trimmed past them; then it must carry the
// majority with server 0 alone, which it can only do after installing server 0's snapshot.
func TestSnapshotRPC4C(t *testing.T) {
	const puts = 50
	ts := makeKVTest(t, 3, true, maxRaftState)
	defer ts.Cleanup()
	ts.Begin("Test: InstallSnapshot to a lagging server")
	ck := ts.MakeClerk()
	mustPut(t, ck, "a", "A", 0)

	ts.G().Partition([]int{0, 1}, []int{2})
	ck01 := ts.MakeClerkOn(clientOf(ts, []int{0, 1}))
	entries := 0 // a lower bound on what the Puts' log entries weigh
	for i := range puts {
		args := rpc.PutArgs{Key: fmt.Sprintf("k%d", i), Value: fmt.Sprintf("v%d", i)}
		mustPut(t, ck01, args.Key, args.Value, 0)
		entries += encodedSize(t, rsm.Op{Req: args})
		ts.Op()
	}
	checkStorage(t, ts, maxRaftState)
	// The servers keep less than the partition's entries weigh, so neither log reaches back to server 2's end:
	// server 2 can catch up only from a snapshot.
	if kept := ts.G().LogSize(); kept >= entries {
		t.Fatalf("the servers keep %d bytes of Raft state, not less than the %d bytes of the partition's entries",
			kept, entries)
	}
	if _, snap := ts.G().StorageSizes(2); snap != 0 {
		t.Fatalf("server 2 has a %d-byte snapshot before it could have received one", snap)
	}

	ts.G().Partition([]int{0, 2}, []int{1})
	ck02 := ts.MakeClerkOn(clientOf(ts, []int{0, 2}))
	mustPut(t, ck02, "b", "B", 0)
	for _, i := range []int{0, puts / 2, puts - 1} {
		key := fmt.Sprintf("k%d", i)
		if v, ver, err := ck02.Get(key); err != rpc.OK || v != fmt.Sprintf("v%d", i) || ver != 1 {
			t.Fatalf("Get(%q) in {0, 2}: %q v%d %v", key, v, ver, err)
		}
	}
	if _, snap := ts.G().StorageSizes(2); snap == 0 {
		t.Fatal("server 2 caught up without a snapshot")
	}
	checkStorage(t, ts, maxRaftState)

	ts.G().ConnectAll()
	mustPut(t, ck, "c", "C", 0)
	if v, _, err := ck.Get("a"); err != rpc.OK || v != "A" {
		t.Fatalf("Get(\"a\") after healing: %q %v", v, err)
	}
	checkStorage(t, ts, maxRaftState)
	ts.CheckPorcupine()
	ts.End()
}

// TestSnapshotSize4C: many Puts to a few keys keep both the Raft state and the snapshot small.
func TestSnapshotSize4C(t *testing.T) {
	const puts, maxSnapshot = 200, 500
	ts := makeKVTest(t, 3, true, maxRaftState)
	defer ts.Cleanup()
	ts.Begin("Test: snapshot size is reasonable")
	ck := ts.MakeClerk()
	for i := range puts {
		key := fmt.Sprintf("k%d", i%2)
		mustPut(t, ck, key, fmt.Sprintf("v%d", i), rpc.Tversion(i/2))
		ts.Op()
	}
	if v, ver, err := ck.Get("k1"); err != rpc.OK || v != fmt.Sprintf("v%d", puts-1) || ver != puts/2 {
		t.Fatalf("Get(\"k1\"): %q v%d %v", v, ver, err)
	}
	checkStorage(t, ts, maxRaftState)
	if size := ts.G().SnapshotSize(); size == 0 || size > maxSnapshot {
		t.Fatalf("snapshot is %d bytes; want some, and at most %d for two short keys", size, maxSnapshot)
	}
	ts.CheckPorcupine()
	ts.End()
}

// TestSnapshotRecover4C: every server restarts from its snapshot in the middle of each round.
func TestSnapshotRecover4C(t *testing.T) {
	runScenario(t, "Test: restarts, snapshots, many clients", scenario{
		servers: 5, clients: 5, keys: 3, reliable: true, crash: true, maxraftstate: maxRaftState, rounds: 3,
		round: time.Second,
	})
}

func TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4C(t *testing.T) {
	runScenario(t, "Test: unreliable net, restarts, partitions, snapshots, many clients, linearizability",
		scenario{
			servers: 5, clients: 5, keys: 3, reliable: false, partitions: true, crash: true,
			maxraftstate: maxRaftState, rounds: 3, round: 2 * time.Second,
		})
}

// encodedSize is the labgob size of v: a log entry holding v is at least this long.
func encodedSize(t *testing.T, v any) int {
	w := new(bytes.Buffer)
	if err := labgob.NewEncoder(w).Encode(v); err != nil {
		t.Fatal(err)
	}
	return w.Len()
}
