package raft_test

// The CMU 15-440 Fall 2019-23 mode: the scenarios against that tree's shim (package 6.5840/raftcmu21, generated
// by tools/mkshim.py) on the cluster of peers without storage (memory_test.go): a peer is built by NewPeer and
// driven by PutCommand and Stop, GetState also returns its id, and it applies ApplyCommand{Index, Command}.
// Select it with RAFT_PEERS=cmu21.

import (
	"6.5840/labrpc"
	cmu21 "6.5840/raftcmu21"
	tester "6.5840/tester1"
)

func init() {
	clusterModes["cmu21"] = func(chk *checker, snapshot bool, n int) (cluster, tester.FstartServer, error) {
		mc := &memoryCluster{chk: chk, peers: make([]*memoryPeer, n), startPeer: startCMU21Peer}
		return mc, mc.mksrv, nil
	}
}

type cmu21Raft struct{ *cmu21.Raft }

func (rf cmu21Raft) state(chk *checker, srv int) (int, bool) {
	me, term, isLeader := rf.GetState()
	return idState(chk, srv, me, term, isLeader)
}

// The tester calls PutCommand and Stop; the scenarios reach them through the cluster's Start and Kill.
func (rf cmu21Raft) Start(command interface{}) (int, int, bool) { return rf.PutCommand(command) }
func (rf cmu21Raft) Kill()                                     { rf.Stop() }

func startCMU21Peer(ends []*labrpc.ClientEnd, srv int, deliver func(index int, command interface{})) (memoryRaft, tester.IService) {
	applyCh := make(chan cmu21.ApplyCommand)
	rf := cmu21.NewPeer(ends, srv, applyCh)
	go func() {
		for m := range applyCh {
			deliver(m.Index, m.Command)
		}
	}()
	return cmu21Raft{rf}, rf
}
