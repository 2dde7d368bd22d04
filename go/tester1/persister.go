package tester

import "sync"

// Persister is a peer's stable storage: the Raft state and the service's snapshot, replaced together.
//
// Every Save and every read copies, so a caller can neither change stored bytes afterwards nor be changed by a
// later Save. One consequence matters to Raft: Save(state, nil) stores an empty snapshot, erasing any earlier one,
// so after a snapshot every Save must pass the snapshot again.
type Persister struct {
	mu        sync.Mutex
	raftstate []byte
	snapshot  []byte
}

// MakePersister returns an empty Persister.
func MakePersister() *Persister {
	return &Persister{}
}

func clone(orig []byte) []byte {
	x := make([]byte, len(orig))
	copy(x, orig)
	return x
}

// Copy returns a new Persister with the same contents (the 2025 tester's crash step). Sharing the slices is safe
// because nothing ever writes into a stored slice.
func (ps *Persister) Copy() *Persister {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return &Persister{raftstate: ps.raftstate, snapshot: ps.snapshot}
}

// Checkpoint returns a deep copy (the 2026 tester's crash step).
func (ps *Persister) Checkpoint() *Persister {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return &Persister{raftstate: clone(ps.raftstate), snapshot: clone(ps.snapshot)}
}

// ReadRaftState returns a copy of the Raft state; never nil.
func (ps *Persister) ReadRaftState() []byte {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return clone(ps.raftstate)
}

// RaftStateSize is the length of the stored Raft state.
func (ps *Persister) RaftStateSize() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.raftstate)
}

// Save atomically replaces both the Raft state and the snapshot with copies of the arguments.
func (ps *Persister) Save(raftstate []byte, snapshot []byte) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.raftstate = clone(raftstate)
	ps.snapshot = clone(snapshot)
}

// ReadSnapshot returns a copy of the snapshot; never nil, so test len() > 0 rather than != nil.
func (ps *Persister) ReadSnapshot() []byte {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return clone(ps.snapshot)
}

// SnapshotSize is the length of the stored snapshot.
func (ps *Persister) SnapshotSize() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.snapshot)
}
