package raft_test

// The classic mode: the same scenarios against the classic shim (package 6.5840/raft, generated from this
// package's shim by tools/mkshim.py), the API of the 2020-24 src/raft trees: Make returns *Raft, ApplyMsg is the
// shim's own, and storage is package raft's Persister, which copies nothing. Select it with RAFT_PEERS=classic.
// The cluster here serves every shim of that shape (classicAPI says how to make one's peers); the 2016-17 shim
// uses it too (classic2016_test.go).

import (
	"sync"

	"6.5840/labrpc"
	classic "6.5840/raft"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

func init() {
	clusterModes["classic"] = func(chk *checker, snapshot bool, n int) (cluster, tester.FstartServer, error) {
		cc := newClassicCluster(chk, snapshot, n, classicAPI{
			persister: func() classicStorage { return classic.MakePersister() },
			copy:      func(s classicStorage) classicStorage { return s.(*classic.Persister).Copy() },
			start:     startClassicPeer,
		})
		return cc, cc.mksrv, nil
	}
}

// classicRaft is what the scenarios call on a peer of a classic shim.
type classicRaft interface {
	Start(command interface{}) (int, int, bool)
	GetState() (int, bool)
	Snapshot(index int, snapshot []byte)
	Kill()
}

// classicStorage is a classic tree's Persister as the cluster reads it.
type classicStorage interface {
	RaftStateSize() int
	ReadSnapshot() []byte
}

// classicAPI is how one classic shim's peers are made: a fresh Persister, the copy a crash leaves, and a peer
// started on a Persister whose every apply message goes to deliver in raftapi's form.
type classicAPI struct {
	persister func() classicStorage
	copy      func(classicStorage) classicStorage
	start     func(cc *classicCluster, ends []*labrpc.ClientEnd, srv int, ps classicStorage, deliver func(raftapi.ApplyMsg)) classicRaft
}

func startClassicPeer(cc *classicCluster, ends []*labrpc.ClientEnd, srv int, ps classicStorage, deliver func(raftapi.ApplyMsg)) classicRaft {
	applyCh := make(chan classic.ApplyMsg)
	rf := classic.Make(ends, srv, ps.(*classic.Persister), applyCh)
	go func() {
		for m := range applyCh {
			if m.CommandValid && m.CommandTerm < 1 {
				// The shim fills in the field some services add to ApplyMsg: every entry has a term of 1 or more.
				cc.chk.failf("apply of index %d on server %d carries CommandTerm %d", m.CommandIndex, srv, m.CommandTerm)
			}
			deliver(raftapi.ApplyMsg{CommandValid: m.CommandValid, Command: m.Command, CommandIndex: m.CommandIndex,
				SnapshotValid: m.SnapshotValid, Snapshot: m.Snapshot, SnapshotTerm: m.SnapshotTerm,
				SnapshotIndex: m.SnapshotIndex})
		}
	}()
	return rf
}

type classicCluster struct {
	groupCluster
	chk      *checker
	snapshot bool
	api      classicAPI

	mu    sync.Mutex
	peers []*classicPeer
	saved []classicStorage // each peer's storage, which survives its crashes
}

func newClassicCluster(chk *checker, snapshot bool, n int, api classicAPI) *classicCluster {
	cc := &classicCluster{chk: chk, snapshot: snapshot, api: api, peers: make([]*classicPeer, n), saved: make([]classicStorage, n)}
	for i := range cc.saved {
		cc.saved[i] = api.persister()
	}
	return cc
}

// classicPeer is one incarnation, registered next to the Raft like the local mode's peer. Its Kill runs first
// at a crash: it detaches the Raft and, as the classic tester does, gives the slot a copy of the storage, so
// whatever the killed Raft still saves lands in a Persister nobody reads.
type classicPeer struct {
	cc  *classicCluster
	srv int

	mu sync.Mutex
	rf classicRaft // nil once killed
}

func (p *classicPeer) Kill() {
	p.mu.Lock()
	p.rf = nil
	p.mu.Unlock()
	p.cc.mu.Lock()
	p.cc.saved[p.srv] = p.cc.api.copy(p.cc.saved[p.srv])
	p.cc.mu.Unlock()
}

func (p *classicPeer) raft() classicRaft {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rf
}

// mksrv ignores the group's Persister: classic peers keep their storage in package raft's own.
func (cc *classicCluster) mksrv(ends []*labrpc.ClientEnd, _ tester.Tgid, srv int, _ *tester.Persister) []tester.IService {
	l := cc.chk.newIncarnation(srv)
	cc.mu.Lock()
	ps := cc.saved[srv]
	cc.mu.Unlock()
	if cc.snapshot {
		if snap := ps.ReadSnapshot(); len(snap) > 0 {
			cc.chk.ingest(l, snap, -1)
		}
	}
	p := &classicPeer{cc: cc, srv: srv}
	// The peer may apply before start returns; its messages wait here until p knows its Raft.
	var ready sync.WaitGroup
	ready.Add(1)
	rf := cc.api.start(cc, ends, srv, ps, func(m raftapi.ApplyMsg) {
		ready.Wait()
		if snap := cc.chk.deliver(l, m, cc.snapshot); snap != nil {
			if rf := p.raft(); rf != nil {
				rf.Snapshot(m.CommandIndex, snap)
			}
		}
	})
	p.mu.Lock()
	p.rf = rf
	p.mu.Unlock()
	ready.Done()
	cc.mu.Lock()
	cc.peers[srv] = p
	cc.mu.Unlock()
	return []tester.IService{p, rf}
}

func (cc *classicCluster) peer(i int) classicRaft {
	cc.mu.Lock()
	p := cc.peers[i]
	cc.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.raft()
}

func (cc *classicCluster) n() int { return len(cc.peers) }

func (cc *classicCluster) start(i int, cmd interface{}) (int, int, bool) {
	if rf := cc.peer(i); rf != nil {
		return rf.Start(cmd)
	}
	return -1, -1, false
}

func (cc *classicCluster) getState(i int) (int, bool) {
	if rf := cc.peer(i); rf != nil {
		return rf.GetState()
	}
	return 0, false
}

func (cc *classicCluster) raftSize() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	max := 0
	for _, ps := range cc.saved {
		if n := ps.RaftStateSize(); n > max {
			max = n
		}
	}
	return max
}

func (cc *classicCluster) restart(i int) { restartOne(cc.g, i) }
func (cc *classicCluster) close()        {}
