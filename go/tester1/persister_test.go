package tester

import (
	"bytes"
	"testing"
)

func TestSaveAndReadCopy(t *testing.T) {
	ps := MakePersister()
	state := []byte("state")
	snap := []byte("snap")
	ps.Save(state, snap)
	state[0], snap[0] = 'X', 'X'
	if got := ps.ReadRaftState(); string(got) != "state" {
		t.Fatalf("Save kept the caller's slice: state now %q", got)
	}
	if got := ps.ReadSnapshot(); string(got) != "snap" {
		t.Fatalf("Save kept the caller's slice: snapshot now %q", got)
	}

	got := ps.ReadRaftState()
	got[0] = 'Y'
	if again := ps.ReadRaftState(); string(again) != "state" {
		t.Fatalf("ReadRaftState returned the stored slice: now %q", again)
	}
	if ps.RaftStateSize() != 5 || ps.SnapshotSize() != 4 {
		t.Fatalf("sizes %d %d", ps.RaftStateSize(), ps.SnapshotSize())
	}
}

// Save(x, nil) erases the snapshot: a Raft that forgets to pass its snapshot again loses it.
func TestSaveNilErasesSnapshot(t *testing.T) {
	ps := MakePersister()
	ps.Save([]byte("a"), []byte("snap"))
	ps.Save([]byte("b"), nil)
	snap := ps.ReadSnapshot()
	if snap == nil || len(snap) != 0 || ps.SnapshotSize() != 0 {
		t.Fatalf("snapshot after Save(x, nil): %#v (size %d); want empty and non-nil", snap, ps.SnapshotSize())
	}
}

func TestFreshPersisterReadsEmpty(t *testing.T) {
	ps := MakePersister()
	if s := ps.ReadRaftState(); s == nil || len(s) != 0 {
		t.Fatalf("fresh state %#v", s)
	}
	if s := ps.ReadSnapshot(); s == nil || len(s) != 0 {
		t.Fatalf("fresh snapshot %#v", s)
	}
}

// A crash copies the persister; what the dead peer saves afterwards must not reach the copy, nor the reverse.
func TestCopyAndCheckpointAreIndependent(t *testing.T) {
	for name, dup := range map[string]func(*Persister) *Persister{
		"Copy":       (*Persister).Copy,
		"Checkpoint": (*Persister).Checkpoint,
	} {
		ps := MakePersister()
		ps.Save([]byte("one"), []byte("s1"))
		cp := dup(ps)
		ps.Save([]byte("two"), []byte("s2"))
		if !bytes.Equal(cp.ReadRaftState(), []byte("one")) || !bytes.Equal(cp.ReadSnapshot(), []byte("s1")) {
			t.Fatalf("%s: later Save on the original reached the copy", name)
		}
		cp.Save([]byte("three"), nil)
		if !bytes.Equal(ps.ReadRaftState(), []byte("two")) || !bytes.Equal(ps.ReadSnapshot(), []byte("s2")) {
			t.Fatalf("%s: Save on the copy reached the original", name)
		}
	}
}
