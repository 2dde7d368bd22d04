package raft_test

// Part 3B: log replication.

import (
	"math/rand"
	"sync"
	"testing"
	"time"

	tester "6.5840/tester1"
)

func TestBasicAgree3B(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): basic agreement")
	iters := 3
	for index := 1; index < iters+1; index++ {
		if nd, _ := ts.nCommitted(index); nd > 0 {
			t.Fatalf("some have committed before Start()")
		}
		if xindex := ts.one(index*100, servers, false); xindex != index {
			t.Fatalf("got index %v but expected %v", xindex, index)
		}
	}
	ts.End()
}

// Each command must cross the wire about once per follower: resending the log would blow the byte budget.
func TestRPCBytes3B(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): RPC byte count")
	ts.one(99, servers, false)
	bytes0 := ts.BytesTotal()

	iters := 10
	var sent int64
	for index := 2; index < iters+2; index++ {
		cmd := tester.Randstring(5000)
		if xindex := ts.one(cmd, servers, false); xindex != index {
			t.Fatalf("got index %v but expected %v", xindex, index)
		}
		sent += int64(len(cmd))
	}

	got := ts.BytesTotal() - bytes0
	expected := int64(servers) * sent
	if got > expected+50000 {
		t.Fatalf("too many RPC bytes; got %v, expected %v", got, expected)
	}
	ts.End()
}

func TestFollowerFailure3B(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): test progressive failure of followers")
	ts.one(101, servers, false)

	// One follower gone: two still agree.
	leader1 := ts.checkOneLeader()
	ts.c.disconnect((leader1 + 1) % servers)
	ts.one(102, servers-1, false)
	time.Sleep(RaftElectionTimeout)
	ts.one(103, servers-1, false)

	// Both followers gone: the leader accepts but cannot commit.
	leader2 := ts.checkOneLeader()
	ts.c.disconnect((leader2 + 1) % servers)
	ts.c.disconnect((leader2 + 2) % servers)

	index, _, ok := ts.c.start(leader2, 104)
	if !ok {
		t.Fatalf("leader rejected Start()")
	}
	if index != 4 {
		t.Fatalf("expected index 4, got %v", index)
	}
	time.Sleep(2 * RaftElectionTimeout)

	if n, _ := ts.nCommitted(index); n > 0 {
		t.Fatalf("%v committed but no majority", n)
	}
	ts.End()
}

func TestLeaderFailure3B(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): test failure of leaders")
	ts.one(101, servers, false)

	leader1 := ts.checkOneLeader()
	ts.c.disconnect(leader1)
	ts.one(102, servers-1, false)
	time.Sleep(RaftElectionTimeout)
	ts.one(103, servers-1, false)

	// The lone follower left can accept nothing that commits, whoever it thinks leads.
	leader2 := ts.checkOneLeader()
	ts.c.disconnect(leader2)
	for i := 0; i < servers; i++ {
		ts.c.start(i, 104)
	}
	time.Sleep(2 * RaftElectionTimeout)

	if n, _ := ts.nCommitted(4); n > 0 {
		t.Fatalf("%v committed but no majority", n)
	}
	ts.End()
}

func TestFailAgree3B(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): agreement after follower reconnects")
	ts.one(101, servers, false)

	leader := ts.checkOneLeader()
	ts.c.disconnect((leader + 1) % servers)

	ts.one(102, servers-1, false)
	ts.one(103, servers-1, false)
	time.Sleep(RaftElectionTimeout)
	ts.one(104, servers-1, false)
	ts.one(105, servers-1, false)

	// The returning follower must catch up.
	ts.c.connect((leader + 1) % servers)
	ts.one(106, servers, true)
	time.Sleep(RaftElectionTimeout)
	ts.one(107, servers, true)
	ts.End()
}

func TestFailNoAgree3B(t *testing.T) {
	servers := 5
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): no agreement if too many followers disconnect")
	ts.one(10, servers, false)

	// Three of five gone.
	leader := ts.checkOneLeader()
	ts.c.disconnect((leader + 1) % servers)
	ts.c.disconnect((leader + 2) % servers)
	ts.c.disconnect((leader + 3) % servers)

	index, _, ok := ts.c.start(leader, 20)
	if !ok {
		t.Fatalf("leader rejected Start()")
	}
	if index != 2 {
		t.Fatalf("expected index 2, got %v", index)
	}
	time.Sleep(2 * RaftElectionTimeout)

	if n, _ := ts.nCommitted(index); n > 0 {
		t.Fatalf("%v committed but no majority", n)
	}

	ts.c.connect((leader + 1) % servers)
	ts.c.connect((leader + 2) % servers)
	ts.c.connect((leader + 3) % servers)

	// Index 2 may or may not survive the new leader.
	leader2 := ts.checkOneLeader()
	index2, _, ok2 := ts.c.start(leader2, 30)
	if !ok2 {
		t.Fatalf("leader2 rejected Start()")
	}
	if index2 < 2 || index2 > 3 {
		t.Fatalf("unexpected index %v", index2)
	}

	ts.one(1000, servers, true)
	ts.End()
}

func TestConcurrentStarts3B(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): concurrent Start()s")
	var success bool
loop:
	for try := 0; try < 5; try++ {
		if try > 0 {
			// Let a term change settle.
			time.Sleep(3 * time.Second)
		}

		leader := ts.checkOneLeader()
		_, term, ok := ts.c.start(leader, 1)
		if !ok {
			continue
		}

		iters := 5
		var wg sync.WaitGroup
		is := make(chan int, iters)
		for ii := 0; ii < iters; ii++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				index, term1, ok := ts.c.start(leader, 100+i)
				if term1 != term || !ok {
					return
				}
				is <- index
			}(ii)
		}
		wg.Wait()
		close(is)

		for j := 0; j < servers; j++ {
			if t, _ := ts.c.getState(j); t != term {
				continue loop
			}
		}

		failed := false
		cmds := []int{}
		for index := range is {
			cmd := ts.wait(index, servers, term)
			ix, ok := cmd.(int)
			if !ok {
				t.Fatalf("value %v is not an int", cmd)
			}
			if ix == -1 {
				// Term changed: try again.
				failed = true
				break
			}
			cmds = append(cmds, ix)
		}
		if failed {
			continue
		}

		for ii := 0; ii < iters; ii++ {
			x := 100 + ii
			found := false
			for _, c := range cmds {
				if c == x {
					found = true
				}
			}
			if !found {
				t.Fatalf("cmd %v missing in %v", x, cmds)
			}
		}
		success = true
		break
	}
	if !success {
		t.Fatalf("term changed too often")
	}
	ts.End()
}

func TestRejoin3B(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): rejoin of partitioned leader")
	ts.one(101, servers, true)

	// The cut-off leader takes entries nobody else will.
	leader1 := ts.checkOneLeader()
	ts.c.disconnect(leader1)
	ts.c.start(leader1, 102)
	ts.c.start(leader1, 103)
	ts.c.start(leader1, 104)

	// The new leader commits index 2 too.
	ts.one(103, 2, true)

	// Swap: the new leader goes, the old one returns and must give up its entries.
	leader2 := ts.checkOneLeader()
	ts.c.disconnect(leader2)
	ts.c.connect(leader1)
	ts.one(104, 2, true)

	ts.c.connect(leader2)
	ts.one(105, servers, true)
	ts.End()
}

// A follower far behind, with many conflicting entries, must be brought up to date quickly: one entry per
// round trip is too slow.
func TestBackup3B(t *testing.T) {
	servers := 5
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): leader backs up quickly over incorrect follower logs")
	ts.one(rand.Int(), servers, true)

	// The leader and one follower in a minority.
	leader1 := ts.checkOneLeader()
	ts.c.disconnect((leader1 + 2) % servers)
	ts.c.disconnect((leader1 + 3) % servers)
	ts.c.disconnect((leader1 + 4) % servers)

	// Uncommittable entries.
	for i := 0; i < 50; i++ {
		ts.c.start(leader1, rand.Int())
	}
	time.Sleep(RaftElectionTimeout / 2)

	ts.c.disconnect((leader1 + 0) % servers)
	ts.c.disconnect((leader1 + 1) % servers)

	// The other three commit their own.
	ts.c.connect((leader1 + 2) % servers)
	ts.c.connect((leader1 + 3) % servers)
	ts.c.connect((leader1 + 4) % servers)
	for i := 0; i < 50; i++ {
		ts.one(rand.Int(), 3, true)
	}

	// Now the new leader and one follower fall into a minority too.
	leader2 := ts.checkOneLeader()
	other := (leader1 + 2) % servers
	if leader2 == other {
		other = (leader2 + 1) % servers
	}
	ts.c.disconnect(other)

	for i := 0; i < 50; i++ {
		ts.c.start(leader2, rand.Int())
	}
	time.Sleep(RaftElectionTimeout / 2)

	// The original minority plus the follower just cut off.
	for i := 0; i < servers; i++ {
		ts.c.disconnect(i)
	}
	ts.c.connect((leader1 + 0) % servers)
	ts.c.connect((leader1 + 1) % servers)
	ts.c.connect(other)
	for i := 0; i < 50; i++ {
		ts.one(rand.Int(), 3, true)
	}

	for i := 0; i < servers; i++ {
		ts.c.connect(i)
	}
	ts.one(rand.Int(), servers, true)
	ts.End()
}

// Elections, agreement and idleness must each stay within an RPC budget.
func TestCount3B(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3B): RPC counts aren't too high")
	rpcs := func() (n int) {
		for j := 0; j < servers; j++ {
			n += ts.c.rpcCount(j)
		}
		return
	}

	leader := ts.checkOneLeader()
	total1 := rpcs()
	if total1 > 30 || total1 < 1 {
		t.Fatalf("too many or few RPCs (%v) to elect initial leader", total1)
	}

	var total2 int
	var success bool
loop:
	for try := 0; try < 5; try++ {
		if try > 0 {
			time.Sleep(3 * time.Second)
		}

		leader = ts.checkOneLeader()
		total1 = rpcs()

		iters := 10
		starti, term, ok := ts.c.start(leader, 1)
		if !ok {
			// Leader moved on.
			continue
		}
		cmds := []int{}
		for i := 1; i < iters+2; i++ {
			x := int(rand.Int31())
			cmds = append(cmds, x)
			index1, term1, ok := ts.c.start(leader, x)
			if term1 != term || !ok {
				continue loop
			}
			if starti+i != index1 {
				t.Fatalf("Start() failed")
			}
		}

		for i := 1; i < iters+1; i++ {
			cmd := ts.wait(starti+i, servers, term)
			if ix, ok := cmd.(int); !ok || ix != cmds[i-1] {
				if ix == -1 {
					continue loop
				}
				t.Fatalf("wrong value %v committed for index %v; expected %v", cmd, starti+i, cmds)
			}
		}

		failed := false
		total2 = 0
		for j := 0; j < servers; j++ {
			if t, _ := ts.c.getState(j); t != term {
				// Term changed: the RPCs of another election would be counted.
				failed = true
			}
			total2 += ts.c.rpcCount(j)
		}
		if failed {
			continue loop
		}

		if total2-total1 > (iters+1+3)*3 {
			t.Fatalf("too many RPCs (%v) for %v entries", total2-total1, iters)
		}
		success = true
		break
	}
	if !success {
		t.Fatalf("term changed too often")
	}

	time.Sleep(RaftElectionTimeout)
	total3 := rpcs()
	if total3-total2 > 3*20 {
		t.Fatalf("too many RPCs (%v) for 1 second of idleness", total3-total2)
	}
	ts.End()
}
