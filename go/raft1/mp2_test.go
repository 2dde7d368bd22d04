package raft_test

// The MP2 mode: the scenarios against the MP2 shim (package 6.5840/raftmp2, generated from this package's shim
// by tools/mkshim.py), the API of UIUC ECE428/CS425 MP2's src/raft tree: Make takes no persister, returns *Raft,
// and ApplyMsg is the shim's own. It runs on the cluster of peers without storage (memory_test.go). Select it
// with RAFT_PEERS=mp2.

import (
	"6.5840/labrpc"
	mp2 "6.5840/raftmp2"
	tester "6.5840/tester1"
)

func init() {
	clusterModes["mp2"] = func(chk *checker, snapshot bool, n int) (cluster, tester.FstartServer, error) {
		mc := &memoryCluster{chk: chk, peers: make([]*memoryPeer, n), startPeer: startMP2Peer}
		return mc, mc.mksrv, nil
	}
}

type mp2Raft struct{ *mp2.Raft }

func (rf mp2Raft) state(*checker, int) (int, bool) { return rf.GetState() }

func startMP2Peer(ends []*labrpc.ClientEnd, srv int, deliver func(index int, command interface{})) (memoryRaft, tester.IService) {
	applyCh := make(chan mp2.ApplyMsg)
	rf := mp2.Make(ends, srv, applyCh)
	go func() {
		for m := range applyCh {
			deliver(m.CommandIndex, m.Command)
		}
	}()
	return mp2Raft{rf}, rf
}
