package raft_test

// Part 3C: persistence. A crash keeps only what the peer passed to Persister.Save.

import (
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPersist13C(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3C): basic persistence")
	ts.one(11, servers, true)

	ts.crashAll()
	ts.restartAll()
	ts.one(12, servers, true)

	leader1 := ts.checkOneLeader()
	ts.c.crash(leader1)
	ts.c.restart(leader1)
	ts.one(13, servers, true)

	// The crashed leader comes back and must learn index 4.
	leader2 := ts.checkOneLeader()
	ts.c.crash(leader2)
	ts.one(14, servers-1, true)
	ts.c.restart(leader2)
	ts.wait(4, servers, -1)

	i3 := (ts.checkOneLeader() + 1) % servers
	ts.c.crash(i3)
	ts.one(15, servers-1, true)
	ts.c.restart(i3)
	ts.one(16, servers, true)
	ts.End()
}

func TestPersist23C(t *testing.T) {
	servers := 5
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3C): more persistence")
	index := 1
	for iters := 0; iters < 5; iters++ {
		ts.one(10+index, servers, true)
		index++

		leader1 := ts.checkOneLeader()
		ts.c.crash((leader1 + 1) % servers)
		ts.c.crash((leader1 + 2) % servers)
		ts.one(10+index, servers-2, true)
		index++

		// Everyone who saw the last entry goes down; the two that missed it come back first.
		ts.c.crash((leader1 + 0) % servers)
		ts.c.crash((leader1 + 3) % servers)
		ts.c.crash((leader1 + 4) % servers)
		ts.c.restart((leader1 + 1) % servers)
		ts.c.restart((leader1 + 2) % servers)
		time.Sleep(RaftElectionTimeout)
		ts.c.restart((leader1 + 3) % servers)
		ts.one(10+index, servers-2, true)
		index++

		ts.c.restart((leader1 + 4) % servers)
		ts.c.restart((leader1 + 0) % servers)
	}
	ts.one(1000, servers, true)
	ts.End()
}

func TestPersist33C(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3C): partitioned leader and one follower crash, leader restarts")
	ts.one(101, 3, true)

	leader := ts.checkOneLeader()
	ts.c.disconnect((leader + 2) % servers)
	ts.one(102, 2, true)

	ts.c.crash((leader + 0) % servers)
	ts.c.crash((leader + 1) % servers)
	ts.c.connect((leader + 2) % servers)
	ts.c.restart((leader + 0) % servers)
	ts.one(103, 2, true)

	ts.c.restart((leader + 1) % servers)
	ts.one(104, servers, true)
	ts.End()
}

// figure8Sleep is the Figure 8 tests' pause: usually a few ms, sometimes up to half an election timeout.
func figure8Sleep() {
	if rand.Int()%1000 < 100 {
		time.Sleep(time.Duration(rand.Int63()%int64(RaftElectionTimeout/2/time.Millisecond)) * time.Millisecond)
	} else {
		time.Sleep(time.Duration(rand.Int63()%13) * time.Millisecond)
	}
}

// Leaders crash, often before their entries spread, so later leaders must not commit an entry of an earlier term
// by counting replicas (the scenario of the paper's Figure 8).
func TestFigure83C(t *testing.T) {
	servers := 5
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3C): Figure 8")
	ts.one(rand.Int(), 1, true)

	nup := servers
	for iters := 0; iters < 1000; iters++ {
		leader := -1
		for i := 0; i < servers; i++ {
			if ts.c.alive(i) {
				if _, _, ok := ts.c.start(i, rand.Int()); ok {
					leader = i
				}
			}
		}

		figure8Sleep()

		if leader != -1 {
			ts.c.crash(leader)
			nup--
		}

		if nup < 3 {
			s := rand.Int() % servers
			if !ts.c.alive(s) {
				ts.c.restart(s)
				nup++
			}
		}
	}

	for i := 0; i < servers; i++ {
		if !ts.c.alive(i) {
			ts.c.restart(i)
		}
	}
	ts.one(rand.Int(), servers, true)
	ts.End()
}

func TestUnreliableAgree3C(t *testing.T) {
	servers := 5
	ts := makeTest(t, servers, false, false)
	defer ts.cleanup()

	ts.Begin("Test (3C): unreliable agreement")
	var wg sync.WaitGroup
	for iters := 1; iters < 50; iters++ {
		for j := 0; j < 4; j++ {
			wg.Add(1)
			go func(iters, j int) {
				defer wg.Done()
				ts.one((100*iters)+j, 1, true)
			}(iters, j)
		}
		ts.one(iters, 1, true)
	}

	ts.SetReliable(true)
	wg.Wait()
	ts.one(100, servers, true)
	ts.End()
}

func TestFigure8Unreliable3C(t *testing.T) {
	servers := 5
	ts := makeTest(t, servers, false, false)
	defer ts.cleanup()

	ts.Begin("Test (3C): Figure 8 (unreliable)")
	ts.one(rand.Int()%10000, 1, true)

	nup := servers
	for iters := 0; iters < 1000; iters++ {
		if iters == 200 {
			ts.SetLongReordering(true)
		}
		leader := -1
		for i := 0; i < servers; i++ {
			if _, _, ok := ts.c.start(i, rand.Int()%10000); ok && ts.c.connected(i) {
				leader = i
			}
		}

		figure8Sleep()

		if leader != -1 && (rand.Int()%1000) < int(RaftElectionTimeout/time.Millisecond)/2 {
			ts.c.disconnect(leader)
			nup--
		}

		if nup < 3 {
			s := rand.Int() % servers
			if !ts.c.connected(s) {
				ts.c.connect(s)
				nup++
			}
		}
	}

	for i := 0; i < servers; i++ {
		if !ts.c.connected(i) {
			ts.c.connect(i)
		}
	}
	ts.one(rand.Int()%10000, servers, true)
	ts.End()
}

// internalChurn has three clients proposing to whoever accepts while peers are cut off, crashed and restarted at
// random; afterwards every value a client saw committed must be in the final log.
func internalChurn(t *testing.T, reliable bool) {
	servers := 5
	ts := makeTest(t, servers, reliable, false)
	defer ts.cleanup()

	if reliable {
		ts.Begin("Test (3C): churn")
	} else {
		ts.Begin("Test (3C): unreliable churn")
	}

	var stop int32

	// A client returns the values it saw committed, or nil if it failed.
	cfn := func(me int, ch chan []int) {
		var ret []int
		defer func() { ch <- ret }()
		values := []int{}
		for atomic.LoadInt32(&stop) == 0 {
			x := rand.Int()
			index := -1
			ok := false
			for i := 0; i < servers; i++ {
				// Whoever accepts may be the leader.
				if ts.c.alive(i) {
					if index1, _, ok1 := ts.c.start(i, x); ok1 {
						ok = ok1
						index = index1
					}
				}
			}
			if ok {
				// Poll briefly; most attempts never commit, and that is fine.
				for _, to := range []int{10, 20, 50, 100, 200} {
					nd, cmd := ts.nCommitted(index)
					if nd > 0 {
						if xx, ok := cmd.(int); ok {
							if xx == x {
								values = append(values, x)
							}
						} else {
							ts.t.Fatalf("wrong command type")
						}
						break
					}
					time.Sleep(time.Duration(to) * time.Millisecond)
				}
			} else {
				time.Sleep(time.Duration(79+me*17) * time.Millisecond)
			}
		}
		ret = values
	}

	ncli := 3
	cha := []chan []int{}
	for i := 0; i < ncli; i++ {
		cha = append(cha, make(chan []int))
		go cfn(i, cha[i])
	}

	for iters := 0; iters < 20; iters++ {
		if (rand.Int() % 1000) < 200 {
			i := rand.Int() % servers
			ts.c.disconnect(i)
		}

		if (rand.Int() % 1000) < 500 {
			i := rand.Int() % servers
			if !ts.c.alive(i) {
				ts.c.restart(i)
			}
			ts.c.connect(i)
		}

		if (rand.Int() % 1000) < 200 {
			i := rand.Int() % servers
			if ts.c.alive(i) {
				ts.c.crash(i)
			}
		}

		// Less than an election timeout, so leaders get a chance to commit between disruptions.
		time.Sleep((RaftElectionTimeout * 7) / 10)
	}

	time.Sleep(RaftElectionTimeout)
	ts.SetReliable(true)
	for i := 0; i < servers; i++ {
		if !ts.c.alive(i) {
			ts.c.restart(i)
		}
		ts.c.connect(i)
	}

	atomic.StoreInt32(&stop, 1)

	values := []int{}
	for i := 0; i < ncli; i++ {
		vv := <-cha[i]
		if vv == nil {
			t.Fatal("client failed")
		}
		values = append(values, vv...)
	}

	time.Sleep(RaftElectionTimeout)

	lastIndex := ts.one(rand.Int(), servers, true)

	really := make([]int, 0, lastIndex)
	for index := 1; index <= lastIndex; index++ {
		v := ts.wait(index, servers, -1)
		vi, ok := v.(int)
		if !ok {
			t.Fatalf("not an int")
		}
		really = append(really, vi)
	}

	for _, v1 := range values {
		found := false
		for _, v2 := range really {
			if v1 == v2 {
				found = true
			}
		}
		if !found {
			t.Fatalf("didn't find a value")
		}
	}
	ts.End()
}

func TestReliableChurn3C(t *testing.T) {
	internalChurn(t, true)
}

func TestUnreliableChurn3C(t *testing.T) {
	internalChurn(t, false)
}
