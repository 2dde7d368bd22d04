package raft

// Persister is a peer's stable storage in the MIT 2016-17 src/raft layout (their method set): the Raft state and
// the service's snapshot, each saved on its own. It is part of our harness, never installed into a lab tree, whose
// own persister.go declares this type. As in those trees, it has no SnapshotSize and no combined save.

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

// Copy returns a Persister sharing the same stored slices (the crash step).
func (ps *Persister) Copy() *Persister {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return &Persister{raftstate: ps.raftstate, snapshot: ps.snapshot}
}

// SaveRaftState replaces the Raft state.
func (ps *Persister) SaveRaftState(data []byte) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.raftstate = data
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

// SaveSnapshot replaces the snapshot.
func (ps *Persister) SaveSnapshot(snapshot []byte) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.snapshot = snapshot
}

// ReadSnapshot returns the stored snapshot.
func (ps *Persister) ReadSnapshot() []byte {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.snapshot
}
