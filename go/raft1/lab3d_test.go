package raft_test

// Part 3D: log compaction. The checker snapshots every snapShotInterval entries and the persisted Raft state must
// stay small; lagging or restarted peers catch up through InstallSnapshot.

import (
	"math/rand"
	"testing"
)

// snapcommon runs 30 rounds in which one peer (the victim) is optionally cut off or crashed while the others move
// on by more than a snapshot interval, so that on its return it can only catch up from a snapshot.
func snapcommon(t *testing.T, name string, disconnect bool, reliable bool, crash bool) {
	iters := 30
	servers := 3
	ts := makeTest(t, servers, reliable, true)
	defer ts.cleanup()

	ts.Begin(name)
	ts.one(rand.Int(), servers, true)
	leader1 := ts.checkOneLeader()

	for i := 0; i < iters; i++ {
		victim := (leader1 + 1) % servers
		sender := leader1
		if i%3 == 1 {
			// Sometimes the leader itself falls behind.
			sender = (leader1 + 1) % servers
			victim = leader1
		}

		if disconnect {
			ts.c.disconnect(victim)
			ts.one(rand.Int(), servers-1, true)
		}
		if crash {
			ts.c.crash(victim)
			ts.one(rand.Int(), servers-1, true)
		}

		// Enough entries, maybe uncommitted (the sender may not lead), to cross a snapshot point.
		nn := (snapShotInterval / 2) + (rand.Int() % snapShotInterval)
		for i := 0; i < nn; i++ {
			ts.c.start(sender, rand.Int())
		}

		// Let the entries commit, so the peers snapshot.
		if !disconnect && !crash {
			ts.one(rand.Int(), servers, true)
		} else {
			ts.one(rand.Int(), servers-1, true)
		}

		if ts.c.raftSize() >= maxLogSize {
			t.Fatalf("Log size too large")
		}
		if disconnect {
			// The victim may need InstallSnapshot.
			ts.c.connect(victim)
			ts.one(rand.Int(), servers, true)
			leader1 = ts.checkOneLeader()
		}
		if crash {
			ts.c.restart(victim)
			ts.one(rand.Int(), servers, true)
			leader1 = ts.checkOneLeader()
		}
	}
	ts.End()
}

func TestSnapshotBasic3D(t *testing.T) {
	snapcommon(t, "Test (3D): snapshots basic", false, true, false)
}

func TestSnapshotInstall3D(t *testing.T) {
	snapcommon(t, "Test (3D): install snapshots (disconnect)", true, true, false)
}

func TestSnapshotInstallUnreliable3D(t *testing.T) {
	snapcommon(t, "Test (3D): install snapshots (disconnect)", true, false, false)
}

func TestSnapshotInstallCrash3D(t *testing.T) {
	snapcommon(t, "Test (3D): install snapshots (crash)", false, true, true)
}

func TestSnapshotInstallUnCrash3D(t *testing.T) {
	snapcommon(t, "Test (3D): install snapshots (crash)", false, false, true)
}

// Every peer crashes at once, repeatedly; after each restart the log must continue past where it was.
func TestSnapshotAllCrash3D(t *testing.T) {
	servers := 3
	iters := 5
	ts := makeTest(t, servers, false, true)
	defer ts.cleanup()

	ts.Begin("Test (3D): crash and restart all servers")
	ts.one(rand.Int(), servers, true)

	for i := 0; i < iters; i++ {
		// Enough entries to cross a snapshot point.
		nn := (snapShotInterval / 2) + (rand.Int() % snapShotInterval)
		for i := 0; i < nn; i++ {
			ts.one(rand.Int(), servers, true)
		}

		index1 := ts.one(rand.Int(), servers, true)

		ts.crashAll()
		ts.restartAll()

		index2 := ts.one(rand.Int(), servers, true)
		if index2 < index1+1 {
			t.Fatalf("index decreased from %v to %v", index1, index2)
		}
	}
	ts.End()
}

// A peer restarted from a snapshot must keep the snapshot in every later Save: a Save that drops it shows up at
// the second restart.
func TestSnapshotInit3D(t *testing.T) {
	servers := 3
	ts := makeTest(t, servers, false, true)
	defer ts.cleanup()

	ts.Begin("Test (3D): snapshot initialization after crash")
	ts.one(rand.Int(), servers, true)

	// Enough ops to make a snapshot.
	nn := snapShotInterval + 1
	for i := 0; i < nn; i++ {
		ts.one(rand.Int(), servers, true)
	}

	ts.crashAll()
	ts.restartAll()

	// A single op, to get something written back to persistent storage.
	ts.one(rand.Int(), servers, true)

	ts.crashAll()
	ts.restartAll()

	// Do another op to trigger a potential bug.
	ts.one(rand.Int(), servers, true)
	ts.End()
}
