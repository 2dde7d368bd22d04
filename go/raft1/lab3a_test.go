package raft_test

// Part 3A: leader election.

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

func TestInitialElection3A(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3A): initial election")
	ts.checkOneLeader()

	// Give followers a moment to learn the leader's term.
	time.Sleep(50 * time.Millisecond)
	term1 := ts.checkTerms()
	if term1 < 1 {
		t.Fatalf("term is %v, but should be at least 1", term1)
	}

	// With no failures the term should stay put.
	time.Sleep(2 * RaftElectionTimeout)
	term2 := ts.checkTerms()
	if term1 != term2 {
		fmt.Printf("warning: term changed even though there were no failures\n")
	}

	ts.checkOneLeader()
	ts.End()
}

func TestReElection3A(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3A): election after network failure")
	leader1 := ts.checkOneLeader()

	// The rest elect a new leader when the old one leaves.
	ts.c.disconnect(leader1)
	ts.checkOneLeader()

	// The old leader's return must not disturb the new one.
	ts.c.connect(leader1)
	leader2 := ts.checkOneLeader()

	// No quorum, no leader.
	ts.c.disconnect(leader2)
	ts.c.disconnect((leader2 + 1) % servers)
	time.Sleep(2 * RaftElectionTimeout)
	ts.checkNoLeader()

	// A quorum again.
	ts.c.connect((leader2 + 1) % servers)
	ts.checkOneLeader()

	// And the last one back.
	ts.c.connect(leader2)
	ts.checkOneLeader()

	ts.End()
}

func TestManyElections3A(t *testing.T) {
	servers := 7
	ts := makeTest(t, servers, true, false)
	defer ts.cleanup()

	ts.Begin("Test (3A): multiple elections")
	ts.checkOneLeader()

	iters := 10
	for ii := 1; ii < iters; ii++ {
		// Cut off up to three (they may coincide); the remaining majority must elect.
		i1 := rand.Int() % servers
		i2 := rand.Int() % servers
		i3 := rand.Int() % servers
		ts.c.disconnect(i1)
		ts.c.disconnect(i2)
		ts.c.disconnect(i3)

		ts.checkOneLeader()

		ts.c.connect(i1)
		ts.c.connect(i2)
		ts.c.connect(i3)
	}
	ts.checkOneLeader()
	ts.End()
}
