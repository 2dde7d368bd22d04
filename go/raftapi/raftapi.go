// Package raftapi is the contract between a Raft implementation and whatever runs on top of it (the lab's tests,
// and later its key/value service).
package raftapi

// Raft is what Make returns. This is the 2025 shape, which still has Kill; the 2026 tester kills whole processes
// instead, and an implementation that also offers Kill satisfies both.
type Raft interface {
	// Start proposes command for agreement and returns at once with the index it would occupy, the current term,
	// and whether this peer believes it is the leader. It does not wait for commitment.
	Start(command interface{}) (int, int, bool)
	// GetState returns the current term and whether this peer believes it is the leader.
	GetState() (int, bool)
	// Snapshot tells Raft that the service has a snapshot holding everything through index, so the log up to
	// there may be dropped.
	Snapshot(index int, snapshot []byte)
	// PersistBytes is the size of the persisted Raft state, which services use to decide when to snapshot.
	PersistBytes() int
	// Kill stops the peer and its goroutines; it must be idempotent.
	Kill()
}

// ApplyMsg is sent on applyCh for each newly committed entry (CommandValid) or for a snapshot the service must
// install (SnapshotValid); exactly one of the two flags is true.
type ApplyMsg struct {
	CommandValid bool
	Command      interface{}
	CommandIndex int

	SnapshotValid bool
	Snapshot      []byte
	SnapshotTerm  int
	SnapshotIndex int
}
