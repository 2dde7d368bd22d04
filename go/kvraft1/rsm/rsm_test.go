package rsm_test

// Part 4A (and TestSnapshot4C): the replicated state machine on its own, with a counter as the service. Every op
// adds 1, so the counter after an op is that op's position in the log: a value returned twice, or a counter
// beyond the number of ops submitted, means an op applied twice.

import (
	"sort"
	"sync"
	"testing"
	"time"

	"6.5840/kvraft1/rsm"
	"6.5840/kvsrv1/rpc"
)

func TestBasic4A(t *testing.T) {
	ts := makeRsmTest(t, 3, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test RSM basic")
	for want := 1; want <= 10; want++ {
		if got := ts.submit(1, ts.all()); got != want {
			t.Fatalf("op %d left the counter at %d", want, got)
		}
	}
	for i, st := range ts.waitValue(ts.all(), 10) {
		if st.Applied != 10 {
			t.Fatalf("server %d applied %d ops, want 10", i, st.Applied)
		}
	}
	ts.End()
}

func TestConcurrent4A(t *testing.T) {
	const clients, each = 5, 10
	ts := makeRsmTest(t, 3, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test RSM concurrent submits")
	ts.submit(0, ts.all()) // find the leader first: on a stable leader no attempt is left in doubt

	var mu sync.Mutex
	var values []int
	failed := 0
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &rsmTest{Test: ts.Test, t: t, clnt: ts.MakeClient(), leader: ts.leader}
			for range each {
				v, ok := c.trySubmit(1, ts.all(), nil)
				mu.Lock()
				if ok {
					values = append(values, v)
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		t.Fatalf("%d of %d concurrent ops did not commit within %v", failed, clients*each, agreeTimeout)
	}
	sort.Ints(values)
	for k, v := range values {
		if v != k+1 {
			t.Fatalf("the %d concurrent ops returned counters %v; want each of 1..%d once", clients*each, values,
				clients*each)
		}
	}
	ts.waitValue(ts.all(), clients*each)
	ts.End()
}

func TestLeaderFailure4A(t *testing.T) {
	ts := makeRsmTest(t, 3, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test RSM leader failure")
	for want := 1; want <= 3; want++ {
		if got := ts.submit(1, ts.all()); got != want {
			t.Fatalf("op %d left the counter at %d", want, got)
		}
	}
	old := ts.leader
	ts.G().DisconnectAll(old)
	others := []int{(old + 1) % 3, (old + 2) % 3}
	for want := 4; want <= 6; want++ {
		if got := ts.submit(1, others); got != want {
			t.Fatalf("op %d on the new leader left the counter at %d", want, got)
		}
	}
	ts.G().ConnectOne(old)
	if got := ts.submit(1, ts.all()); got != 7 {
		t.Fatalf("op 7 after the old leader rejoined left the counter at %d", got)
	}
	ts.waitValue(ts.all(), 7)
	ts.End()
}

func TestLeaderPartition4A(t *testing.T) {
	ts := makeRsmTest(t, 3, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test RSM leader partition")
	ts.submit(1, ts.all())
	old := ts.leader
	others := []int{(old + 1) % 3, (old + 2) % 3}
	ts.G().Partition([]int{old}, others)

	// The stranded leader may take the op but can never commit it.
	type answer struct {
		err rpc.Err
		ok  bool
	}
	stranded := make(chan answer, 1)
	go func() {
		var reply rsm.SubmitReply
		ok := ts.MakeClient().Call(ts.G().ServerName(old), "CounterServer.Submit", &rsm.SubmitArgs{Add: 1}, &reply)
		stranded <- answer{reply.Err, ok}
	}()
	for want := 2; want <= 4; want++ {
		if got := ts.submit(1, others); got != want {
			t.Fatalf("op %d in the majority left the counter at %d", want, got)
		}
	}
	select {
	case a := <-stranded:
		if a.ok && a.err == rpc.OK {
			t.Fatal("a leader cut off from the majority committed an op")
		}
	case <-time.After(time.Second):
	}

	ts.G().ConnectAll()
	select {
	case a := <-stranded:
		if a.ok && a.err != rpc.ErrWrongLeader {
			t.Fatalf("the old leader's op returned %v after the partition healed; want %v", a.err, rpc.ErrWrongLeader)
		}
	case <-time.After(agreeTimeout):
		t.Fatal("the old leader's Submit did not return after the partition healed")
	}
	if got := ts.submit(1, ts.all()); got != 5 {
		t.Fatalf("op 5 after healing left the counter at %d (the stranded op must not apply)", got)
	}
	ts.waitValue(ts.all(), 5)
	ts.End()
}

func TestRestartReplay4A(t *testing.T) {
	const ops = 10
	ts := makeRsmTest(t, 3, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test RSM restart and replay")
	for want := 1; want <= ops; want++ {
		if got := ts.submit(1, ts.all()); got != want {
			t.Fatalf("op %d left the counter at %d", want, got)
		}
	}
	ts.waitValue(ts.all(), ops)
	ts.CrashAll()
	ts.RestartAll()
	// A restarted Raft learns what is committed only once its new leader commits an entry of its own term (it
	// appends no entry of its own at election, as the lab requires), so an op is what brings the log back.
	if got := ts.submit(1, ts.all()); got != ops+1 {
		t.Fatalf("the first op after the restart left the counter at %d, want %d", got, ops+1)
	}
	// Without snapshots the counter comes back only by replaying the log.
	for i, st := range ts.waitValue(ts.all(), ops+1) {
		if st.Restored != 0 || st.Applied != ops+1 {
			t.Fatalf("server %d restored %d snapshots and applied %d ops; want a replay of all %d ops",
				i, st.Restored, st.Applied, ops+1)
		}
	}
	ts.End()
}

func TestShutdown4A(t *testing.T) {
	const pending = 10
	ts := makeRsmTest(t, 3, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test RSM shutdown")
	ts.submit(1, ts.all())
	leader := ts.leader

	// Cut the leader off so that nothing commits, give it ops that can only wait, then crash everyone.
	ts.G().DisconnectAll(leader)
	servers := ts.G().Services(leader)
	var wg sync.WaitGroup
	for range pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var reply rsm.SubmitReply
			ts.MakeClient().Call(ts.G().ServerName(leader), "CounterServer.Submit", &rsm.SubmitArgs{Add: 1}, &reply)
		}()
	}
	time.Sleep(500 * time.Millisecond)
	ts.CrashAll()

	returned := make(chan struct{})
	go func() { wg.Wait(); close(returned) }()
	select {
	case <-returned:
	case <-time.After(agreeTimeout):
		t.Fatal("Submits to a server that was shut down did not return")
	}
	// In the test process the server's handlers must also have returned, not just the clients' calls.
	if cs, ok := servers[0].(*rsm.CounterServer); ok {
		for deadline := time.Now().Add(2 * time.Second); cs.Pending() > 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d Submits still wait in a server that was killed", cs.Pending())
			}
		}
	}
	ts.End()
}

func TestRestartSubmit4A(t *testing.T) {
	const rounds, each = 3, 5
	ts := makeRsmTest(t, 3, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test RSM submit after restarts")
	want := 0
	for round := range rounds {
		if round > 0 {
			ts.CrashAll()
			ts.RestartAll()
		}
		for range each {
			want++
			if got := ts.submit(1, ts.all()); got != want {
				t.Fatalf("op %d left the counter at %d", want, got)
			}
		}
		ts.waitValue(ts.all(), want)
	}
	ts.End()
}

// TestSnapshot4C: with maxraftstate set, the log stays within twice it; a follower that fell behind the trimmed
// log catches up from the leader's snapshot, and after a crash of everyone the counter comes back from the
// snapshots. Every op adds 1, so the counter is bounded by the attempts made: an op applied twice, or lost,
// moves it out of those bounds.
func TestSnapshot4C(t *testing.T) {
	const maxraftstate, ops = 1000, 60
	ts := makeRsmTest(t, 3, true, maxraftstate)
	defer ts.Cleanup()
	ts.Begin("Test RSM snapshots")
	var n tally
	// checkBounds fails the test unless the counter after an op answered OK counts every OK op once and at
	// most each attempt left in doubt besides (an OK op's predecessors all applied before it).
	checkBounds := func(what string, got int) {
		t.Helper()
		if got < n.applied || got > n.applied+n.unknown {
			t.Fatalf("%s left the counter at %d; %d ops were answered OK and %d attempts left in doubt, so it "+
				"must be within %d..%d", what, got, n.applied, n.unknown, n.applied, n.applied+n.unknown)
		}
	}
	// While the leader keeps a majority, no attempt is left in doubt (see submit): each op adds exactly one.
	if got := ts.submitCounted(1, ts.all(), &n); got != 1 {
		t.Fatalf("the first op left the counter at %d", got)
	}
	lagging := (ts.leader + 1) % 3
	ts.G().DisconnectAll(lagging)
	others := []int{ts.leader, (ts.leader + 2) % 3}
	for op := 2; op <= ops; op++ {
		if got := ts.submitCounted(1, others, &n); got != op {
			t.Fatalf("op %d, served by a stable majority, left the counter at %d", op, got)
		}
		ts.checkLogSize(2 * maxraftstate)
	}
	ts.G().ConnectOne(lagging)
	// The lagging server's term rose while it was cut off, so once back it may depose the leader, and a new
	// leader that had not yet heard the last commit index commits that entry only together with one of its own
	// term (Figure 8; Raft here appends no no-op on election). So ops go on, as a service's clients' would,
	// until the lagging server has caught up with the latest. Attempts may now be left in doubt.
	after := ops
	deadline := time.Now().Add(agreeTimeout)
	for {
		got := ts.submitCounted(1, ts.all(), &n)
		if got <= after {
			t.Fatalf("an op after reconnecting left the counter at %d, not above %d", got, after)
		}
		checkBounds("an op after reconnecting", got)
		after = got
		time.Sleep(300 * time.Millisecond)
		if st, ok := ts.inspect(lagging); ok && st.Value == after {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %d never caught up with the counter (%d) after reconnecting", lagging, after)
		}
	}
	if st := ts.waitValue([]int{lagging}, after)[0]; st.Restored == 0 {
		t.Fatalf("server %d caught up without installing a snapshot (applied %d ops)", lagging, st.Applied)
	}
	ts.checkLogSize(2 * maxraftstate)

	ts.CrashAll()
	ts.RestartAll()
	// The snapshots may end a few ops short of the last; those come back once the new leader commits an op.
	final := ts.submitCounted(1, ts.all(), &n)
	if final <= after {
		t.Fatalf("the first op after the restart left the counter at %d, not above %d", final, after)
	}
	checkBounds("the first op after the restart", final)
	for i, st := range ts.waitValue(ts.all(), final) {
		if st.Restored == 0 || st.Applied >= ops {
			t.Fatalf("server %d restored %d snapshots and applied %d ops since its restart: it rebuilt its "+
				"counter without its snapshot", i, st.Restored, st.Applied)
		}
	}
	ts.checkLogSize(2 * maxraftstate)
	ts.End()
}
