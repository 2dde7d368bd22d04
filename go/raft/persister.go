package raft

// Persister is a peer's stable storage in the classic src/raft layout (the 2021-24 trees' method set): the Raft
// state and the service's snapshot, replaced together. It is part of our classic harness, never installed into a
// lab tree, whose own persister.go declares this type.
//
// Unlike the raft1 Persister, nothing is copied (as in the classic lab): Save keeps the caller's slices and reads
// return the stored ones, so neither side may modify them afterwards.

import "sync"

type Persister struct {
	mu        sync.Mutex
	raftstate []byte
	snapshot  []byte
}

// MakePersister returns an empty Persister.
func MakePersister() *Persister {
	return &Persister{}
}

// Copy returns a Persister sharing the same stored slices (the classic crash step).
func (ps *Persister) Copy() *Persister {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return &Persister{raftstate: ps.raftstate, snapshot: ps.snapshot}
}

// Save replaces both blobs at once.
func (ps *Persister) Save(raftstate []byte, snapshot []byte) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.raftstate = raftstate
	ps.snapshot = snapshot
}

// ReadRaftState returns the stored Raft state.
func (ps *Persister) ReadRaftState() []byte {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.raftstate
}

// RaftStateSize is the length of the stored Raft state.
func (ps *Persister) RaftStateSize() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.raftstate)
}

// ReadSnapshot returns the stored snapshot.
func (ps *Persister) ReadSnapshot() []byte {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.snapshot
}

// SnapshotSize is the length of the stored snapshot.
func (ps *Persister) SnapshotSize() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.snapshot)
}
