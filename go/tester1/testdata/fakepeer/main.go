// Command fakepeer is a stand-in Raft for testing the per-process plumbing without the Rust core: it counts
// commands in its persisted state, applies each at once, pings the next peer from GetState, and exits on request.
package main

import (
	"os"
	"strconv"
	"sync"

	"6.5840/labrpc"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

// Fake is registered as the service "Fake".
type Fake struct {
	mu        sync.Mutex
	me        int
	peers     []*labrpc.ClientEnd
	persister *tester.Persister
	applyCh   chan raftapi.ApplyMsg
	count     int
}

// PingArgs and PingReply carry one Ping.
type PingArgs struct{ From int }
type PingReply struct{ To int }

// Ping answers with this peer's index.
func (f *Fake) Ping(args *PingArgs, reply *PingReply) { reply.To = f.me }

// Start counts the command, saves the count, and applies the command; "exit" ends the process instead.
func (f *Fake) Start(cmd interface{}) (int, int, bool) {
	if cmd == "exit" {
		os.Exit(3)
	}
	f.mu.Lock()
	f.count++
	index := f.count
	f.persister.Save([]byte(strconv.Itoa(index)), f.persister.ReadSnapshot())
	f.mu.Unlock()
	go func() { f.applyCh <- raftapi.ApplyMsg{CommandValid: true, Command: cmd, CommandIndex: index} }()
	return index, 0, true
}

// GetState pings the next peer: term 1 and leader if the ping got through.
func (f *Fake) GetState() (int, bool) {
	var reply PingReply
	next := (f.me + 1) % len(f.peers)
	if f.peers[next].Call("Fake.Ping", &PingArgs{From: f.me}, &reply) && reply.To == next {
		return 1, true
	}
	return 0, false
}

// Snapshot stores the snapshot and confirms it on applyCh.
func (f *Fake) Snapshot(index int, snapshot []byte) {
	f.mu.Lock()
	f.persister.Save(f.persister.ReadRaftState(), snapshot)
	f.mu.Unlock()
	go func() { f.applyCh <- raftapi.ApplyMsg{SnapshotValid: true, Snapshot: snapshot, SnapshotIndex: index} }()
}

func (f *Fake) PersistBytes() int { return f.persister.RaftStateSize() }
func (f *Fake) Kill()             {}

func main() {
	tester.RunDaemon(os.Args[1:], func(peers []*labrpc.ClientEnd, me int, persister *tester.Persister,
		applyCh chan raftapi.ApplyMsg) raftapi.Raft {
		count, _ := strconv.Atoi(string(persister.ReadRaftState()))
		return &Fake{me: me, peers: peers, persister: persister, applyCh: applyCh, count: count}
	})
}
