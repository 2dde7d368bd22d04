package raft_test

// The local mode, the default: every peer is built by Make in this test binary, the 2025 lab's model.

import (
	"sync"

	"6.5840/labrpc"
	raft "6.5840/raft1"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

func init() {
	clusterModes["local"] = func(chk *checker, snapshot bool, n int) (cluster, tester.FstartServer, error) {
		lc := &localCluster{chk: chk, snapshot: snapshot, peers: make([]*peer, n)}
		return lc, lc.mksrv, nil
	}
}

// localCluster runs every peer in this process, the 2025 lab's model.
type localCluster struct {
	groupCluster
	chk      *checker
	snapshot bool

	mu    sync.Mutex
	peers []*peer // current incarnation of each peer
}

// peer is one incarnation. It is registered as a labrpc service next to the Raft (it has no handlers) so that
// the group's crash step, which Kills every service, first detaches the Raft from the tests and then kills it.
type peer struct {
	mu sync.Mutex
	rf raftapi.Raft // nil once killed
}

// Kill detaches the Raft; the group calls the Raft's own Kill right after.
func (p *peer) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rf = nil
}

func (p *peer) raft() raftapi.Raft {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rf
}

// mksrv is the group's start function: a fresh record in the checker, Make, then the applyCh reader.
func (lc *localCluster) mksrv(ends []*labrpc.ClientEnd, _ tester.Tgid, srv int, persister *tester.Persister) []tester.IService {
	l := lc.chk.newIncarnation(srv)
	applyCh := make(chan raftapi.ApplyMsg)
	rf := raft.Make(ends, srv, persister, applyCh)
	p := &peer{rf: rf}
	// The reader starts only after Make returned, as in the lab: Make must not send on applyCh itself.
	if lc.snapshot {
		if snap := persister.ReadSnapshot(); len(snap) > 0 {
			lc.chk.ingest(l, snap, -1)
		}
	}
	go lc.applier(p, l, applyCh)
	lc.mu.Lock()
	lc.peers[srv] = p
	lc.mu.Unlock()
	return []tester.IService{p, rf}
}

// applier reads applyCh for ever, like the lab's: a killed Raft that keeps applying is still read, and checked.
// It calls Snapshot synchronously from the goroutine that drains the unbuffered applyCh, holding no lock: a Raft
// that holds a lock Snapshot needs while it sends on applyCh deadlocks here.
func (lc *localCluster) applier(p *peer, l *applyLog, applyCh chan raftapi.ApplyMsg) {
	for m := range applyCh {
		if snap := lc.chk.deliver(l, m, lc.snapshot); snap != nil {
			if rf := p.raft(); rf != nil {
				rf.Snapshot(m.CommandIndex, snap)
			}
		}
	}
}

func (lc *localCluster) peer(i int) *peer {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.peers[i]
}

func (lc *localCluster) n() int { return len(lc.peers) }

func (lc *localCluster) start(i int, cmd interface{}) (int, int, bool) {
	if p := lc.peer(i); p != nil {
		if rf := p.raft(); rf != nil {
			return rf.Start(cmd)
		}
	}
	return -1, -1, false
}

func (lc *localCluster) getState(i int) (int, bool) {
	if p := lc.peer(i); p != nil {
		if rf := p.raft(); rf != nil {
			return rf.GetState()
		}
	}
	return 0, false
}

func (lc *localCluster) raftSize() int { return lc.g.LogSize() }
func (lc *localCluster) close()        {}

func (lc *localCluster) restart(i int) { restartOne(lc.g, i) }
