package raft_test

// The MP2 mode: the scenarios against the MP2 shim (package 6.5840/raftmp2, generated from this package's shim
// by tools/mkshim.py), the API of UIUC ECE428/CS425 MP2's src/raft tree: Make takes no persister, returns *Raft,
// and ApplyMsg is the shim's own. Nothing survives a crash there, so only the election and agreement scenarios
// (3A, 3B) apply; a restarted peer would start empty. Select it with RAFT_PEERS=mp2.

import (
	"sync"

	"6.5840/labrpc"
	"6.5840/raftapi"
	mp2 "6.5840/raftmp2"
	tester "6.5840/tester1"
)

func init() {
	clusterModes["mp2"] = func(chk *checker, snapshot bool, n int) (cluster, tester.FstartServer, error) {
		mc := &mp2Cluster{chk: chk, peers: make([]*mp2Peer, n)}
		return mc, mc.mksrv, nil
	}
}

type mp2Cluster struct {
	groupCluster
	chk *checker

	mu    sync.Mutex
	peers []*mp2Peer
}

// mp2Peer is one incarnation, registered next to the Raft; its Kill runs at a crash and detaches the Raft, whose
// own Kill the group calls next.
type mp2Peer struct {
	mu sync.Mutex
	rf *mp2.Raft // nil once killed
}

func (p *mp2Peer) Kill() {
	p.mu.Lock()
	p.rf = nil
	p.mu.Unlock()
}

func (p *mp2Peer) raft() *mp2.Raft {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rf
}

// mksrv ignores the group's Persister, as the MP2 tester has none.
func (mc *mp2Cluster) mksrv(ends []*labrpc.ClientEnd, _ tester.Tgid, srv int, _ *tester.Persister) []tester.IService {
	l := mc.chk.newIncarnation(srv)
	applyCh := make(chan mp2.ApplyMsg)
	rf := mp2.Make(ends, srv, applyCh)
	p := &mp2Peer{rf: rf}
	go func() {
		for m := range applyCh {
			mc.chk.deliver(l, raftapi.ApplyMsg{CommandValid: m.CommandValid, Command: m.Command, CommandIndex: m.CommandIndex}, false)
		}
	}()
	mc.mu.Lock()
	mc.peers[srv] = p
	mc.mu.Unlock()
	return []tester.IService{p, rf}
}

func (mc *mp2Cluster) peer(i int) *mp2.Raft {
	mc.mu.Lock()
	p := mc.peers[i]
	mc.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.raft()
}

func (mc *mp2Cluster) n() int { return len(mc.peers) }

func (mc *mp2Cluster) start(i int, cmd interface{}) (int, int, bool) {
	if rf := mc.peer(i); rf != nil {
		return rf.Start(cmd)
	}
	return -1, -1, false
}

func (mc *mp2Cluster) getState(i int) (int, bool) {
	if rf := mc.peer(i); rf != nil {
		return rf.GetState()
	}
	return 0, false
}

// raftSize is the largest state a live peer holds in memory; MP2 has no storage outside the peers.
func (mc *mp2Cluster) raftSize() int {
	max := 0
	for i := 0; i < mc.n(); i++ {
		if rf := mc.peer(i); rf != nil {
			if n := rf.PersistBytes(); n > max {
				max = n
			}
		}
	}
	return max
}

func (mc *mp2Cluster) restart(i int) { restartOne(mc.g, i) }
func (mc *mp2Cluster) close()        {}
