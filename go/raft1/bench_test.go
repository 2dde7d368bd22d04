package raft_test

// The cost of crossing into the Rust core, next to a plain Go Raft doing the same bookkeeping in place (what a
// typical lab solution does: one mutex, a slice log, the whole state labgob-encoded into Persister.Save on every
// change). Run with and without -race:
//
//	cd go && PKG_CONFIG_PATH=.. go test -run '^$' -bench . -benchtime 2s ./raft1/
//
// Figures are recorded in docs/PERFORMANCE.md, never asserted.

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"6.5840/labgob"
	"6.5840/labrpc"
	raft "6.5840/raft1"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

// benchSnapshotEvery keeps both logs short, as a service snapshotting on a size limit does, so a long benchmark
// measures a steady state rather than an ever longer log.
const benchSnapshotEvery = 100

// benchLeader is a one-peer cluster: it elects itself, so Start takes the leader's full path (append, persist,
// commit, apply). A reader drains applyCh and snapshots every benchSnapshotEvery entries.
func benchLeader(b *testing.B) (*raft.Raft, func()) {
	b.Helper()
	net := labrpc.MakeNetwork()
	end := net.MakeEnd("self")
	applyCh := make(chan raftapi.ApplyMsg)
	rf := raft.Make([]*labrpc.ClientEnd{end}, 0, tester.MakePersister(), applyCh).(*raft.Raft)
	go func() {
		for m := range applyCh {
			if m.CommandValid && m.CommandIndex%benchSnapshotEvery == 0 {
				rf.Snapshot(m.CommandIndex, []byte("service state"))
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, leader := rf.GetState(); leader {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("a one-peer cluster did not elect itself")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return rf, func() {
		rf.Kill()
		close(applyCh)
		net.Cleanup()
	}
}

func BenchmarkStart(b *testing.B) {
	rf, stop := benchLeader(b)
	defer stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, ok := rf.Start(i); !ok {
			b.Fatal("the only peer stopped leading")
		}
	}
}

func BenchmarkGetState(b *testing.B) {
	rf, stop := benchLeader(b)
	defer stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rf.GetState()
	}
}

// Raft stands in for peer 2 of a three-peer cluster and keeps the first AppendEntries request it is sent: a real
// heartbeat in the core's wire format, to replay into a follower. Its empty replies count as lost.
type Raft struct{ got chan []byte }

func (r *Raft) AppendEntries(args *raft.AppendEntriesArgs, reply *raft.AppendEntriesReply) {
	select {
	case r.got <- args.Data:
	default:
	}
}

func (r *Raft) RequestVote(args *raft.RequestVoteArgs, reply *raft.RequestVoteReply) {}

// BenchmarkAppendEntriesHeartbeat replays the current leader's heartbeat into a follower through the labrpc
// handler the tester would call: labgob decoding, Go to C, the core's event loop, and back.
func BenchmarkAppendEntriesHeartbeat(b *testing.B) {
	net := labrpc.MakeNetwork()
	defer net.Cleanup()
	recorder := &Raft{got: make(chan []byte, 1)}
	var rafts []*raft.Raft
	for i := 0; i < 3; i++ {
		ends := make([]*labrpc.ClientEnd, 3)
		for j := range ends {
			name := [2]int{i, j}
			ends[j] = net.MakeEnd(name)
			net.Connect(name, j)
			net.Enable(name, true)
		}
		srv := labrpc.MakeServer()
		if i == 2 {
			srv.AddService(labrpc.MakeService(recorder))
		} else {
			applyCh := make(chan raftapi.ApplyMsg)
			go func() {
				for range applyCh {
				}
			}()
			rf := raft.Make(ends, i, tester.MakePersister(), applyCh).(*raft.Raft)
			defer rf.Kill()
			rafts = append(rafts, rf)
			srv.AddService(labrpc.MakeService(rf))
		}
		net.AddServer(i, srv)
	}
	var heartbeat []byte
	select {
	case heartbeat = <-recorder.got:
	case <-time.After(10 * time.Second):
		b.Fatal("no leader sent a heartbeat")
	}
	follower := rafts[0]
	if _, leader := follower.GetState(); leader {
		follower = rafts[1]
	}
	// Decoded from labgob bytes on every call, as labrpc does, and as the baseline does.
	w := new(bytes.Buffer)
	if err := labgob.NewEncoder(w).Encode(raft.AppendEntriesArgs{Data: heartbeat}); err != nil {
		b.Fatal(err)
	}
	wire := w.Bytes()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var args raft.AppendEntriesArgs
		if err := labgob.NewDecoder(bytes.NewReader(wire)).Decode(&args); err != nil {
			b.Fatal(err)
		}
		var reply raft.AppendEntriesReply
		follower.AppendEntries(&args, &reply)
		if len(reply.Data) == 0 {
			b.Fatal("the follower did not answer the heartbeat")
		}
	}
}

// goRaft is the baseline: the bookkeeping of a plain Go Raft for the same three operations.
type goRaft struct {
	mu          sync.Mutex
	persister   *tester.Persister
	currentTerm int
	votedFor    int
	leader      bool
	log         []goEntry // log[0] is the snapshot's last entry
	snapIndex   int
	commitIndex int
	lastContact time.Time
	snapshot    []byte
}

type goEntry struct {
	Term    int
	Command interface{}
}

type goAppendArgs struct {
	Term, LeaderId, PrevLogIndex, PrevLogTerm, LeaderCommit int
	Entries                                                 []goEntry
}

type goAppendReply struct {
	Term    int
	Success bool
}

func newGoRaft() *goRaft {
	return &goRaft{persister: tester.MakePersister(), currentTerm: 1, votedFor: 0, leader: true,
		log: []goEntry{{}}}
}

// persist encodes the whole state, as lab solutions do.
func (rf *goRaft) persist() {
	w := new(bytes.Buffer)
	e := labgob.NewEncoder(w)
	e.Encode(rf.currentTerm)
	e.Encode(rf.votedFor)
	e.Encode(rf.snapIndex)
	e.Encode(rf.log)
	rf.persister.Save(w.Bytes(), rf.snapshot)
}

func (rf *goRaft) Start(command interface{}) (int, int, bool) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	rf.log = append(rf.log, goEntry{Term: rf.currentTerm, Command: command})
	rf.persist()
	index := rf.snapIndex + len(rf.log) - 1
	if index%benchSnapshotEvery == 0 {
		// The service's snapshot, as in BenchmarkStart: the log is trimmed and persisted with it.
		rf.log = []goEntry{{Term: rf.currentTerm}}
		rf.snapIndex = index
		rf.snapshot = []byte("service state")
		rf.persist()
	}
	return index, rf.currentTerm, true
}

func (rf *goRaft) GetState() (int, bool) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	return rf.currentTerm, rf.leader
}

func (rf *goRaft) AppendEntries(args *goAppendArgs, reply *goAppendReply) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	reply.Term = rf.currentTerm
	if args.Term < rf.currentTerm {
		return
	}
	if args.Term > rf.currentTerm {
		rf.currentTerm, rf.votedFor = args.Term, -1
		rf.persist()
	}
	rf.leader = false
	rf.lastContact = time.Now()
	last := rf.snapIndex + len(rf.log) - 1
	if args.PrevLogIndex > last || rf.log[args.PrevLogIndex-rf.snapIndex].Term != args.PrevLogTerm {
		return
	}
	if len(args.Entries) > 0 {
		rf.log = append(rf.log[:args.PrevLogIndex-rf.snapIndex+1], args.Entries...)
		rf.persist()
	}
	if args.LeaderCommit > rf.commitIndex {
		rf.commitIndex = min(args.LeaderCommit, rf.snapIndex+len(rf.log)-1)
	}
	reply.Success = true
}

func BenchmarkGoBaselineStart(b *testing.B) {
	rf := newGoRaft()
	for i := 0; i < b.N; i++ {
		rf.Start(i)
	}
}

func BenchmarkGoBaselineGetState(b *testing.B) {
	rf := newGoRaft()
	for i := 0; i < b.N; i++ {
		rf.GetState()
	}
}

// The baseline heartbeat is also decoded from labgob bytes, as labrpc hands it to a Go handler.
func BenchmarkGoBaselineAppendEntriesHeartbeat(b *testing.B) {
	rf := newGoRaft()
	w := new(bytes.Buffer)
	if err := labgob.NewEncoder(w).Encode(goAppendArgs{Term: 1, LeaderId: 1}); err != nil {
		b.Fatal(err)
	}
	wire := w.Bytes()
	for i := 0; i < b.N; i++ {
		var args goAppendArgs
		if err := labgob.NewDecoder(bytes.NewReader(wire)).Decode(&args); err != nil {
			b.Fatal(err)
		}
		var reply goAppendReply
		rf.AppendEntries(&args, &reply)
		if !reply.Success {
			b.Fatal("baseline rejected its heartbeat")
		}
	}
}
