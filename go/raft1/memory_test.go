package raft_test

// The cluster of peers without storage, for the shims of trees that have no Persister and never restart a crashed
// peer: MP2's (mp2_test.go) and CMU 15-440's (cmu18_test.go, cmu21_test.go). Only the election and agreement
// scenarios (3A, 3B) apply to them; a restarted peer would start empty.

import (
	"sync"

	"6.5840/labrpc"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

// memoryRaft is what the scenarios call on a peer of a shim without storage; state answers GetState whatever
// shape the tree gives it.
type memoryRaft interface {
	Start(command interface{}) (int, int, bool)
	PersistBytes() int
	Kill()
	state(chk *checker, srv int) (term int, isLeader bool)
}

// idState checks the id that CMU's GetState reports along with the term and leadership.
func idState(chk *checker, srv int, me, term int, isLeader bool) (int, bool) {
	if me != srv {
		chk.failf("GetState of server %d says it is server %d", srv, me)
	}
	return term, isLeader
}

type memoryCluster struct {
	groupCluster
	chk *checker
	// startPeer makes a peer whose applied commands go to deliver; it returns the peer and the service labrpc
	// registers (the shim's *Raft itself, so that requests reach it under its type's name).
	startPeer func(ends []*labrpc.ClientEnd, srv int, deliver func(index int, command interface{})) (memoryRaft, tester.IService)

	mu    sync.Mutex
	peers []*memoryPeer
}

// memoryPeer is one incarnation, registered next to the Raft; its Kill runs at a crash and detaches the Raft,
// whose own Kill the group calls next.
type memoryPeer struct {
	mu sync.Mutex
	rf memoryRaft // nil once killed
}

func (p *memoryPeer) Kill() {
	p.mu.Lock()
	p.rf = nil
	p.mu.Unlock()
}

func (mc *memoryCluster) mksrv(ends []*labrpc.ClientEnd, _ tester.Tgid, srv int, _ *tester.Persister) []tester.IService {
	l := mc.chk.newIncarnation(srv)
	rf, service := mc.startPeer(ends, srv, func(index int, command interface{}) {
		mc.chk.deliver(l, raftapi.ApplyMsg{CommandValid: true, Command: command, CommandIndex: index}, false)
	})
	p := &memoryPeer{rf: rf}
	mc.mu.Lock()
	mc.peers[srv] = p
	mc.mu.Unlock()
	return []tester.IService{p, service}
}

func (mc *memoryCluster) peer(i int) memoryRaft {
	mc.mu.Lock()
	p := mc.peers[i]
	mc.mu.Unlock()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rf
}

func (mc *memoryCluster) n() int { return len(mc.peers) }

func (mc *memoryCluster) start(i int, cmd interface{}) (int, int, bool) {
	if rf := mc.peer(i); rf != nil {
		return rf.Start(cmd)
	}
	return -1, -1, false
}

func (mc *memoryCluster) getState(i int) (int, bool) {
	if rf := mc.peer(i); rf != nil {
		return rf.state(mc.chk, i)
	}
	return 0, false
}

// raftSize is the largest state a live peer holds in memory; these trees have no storage outside the peers.
func (mc *memoryCluster) raftSize() int {
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

func (mc *memoryCluster) restart(i int) { restartOne(mc.g, i) }
func (mc *memoryCluster) close()        {}
