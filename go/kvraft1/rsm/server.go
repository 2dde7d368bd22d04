package rsm

// CounterServer: the smallest service on an RSM, a replicated counter. The rsm tests run it in the test process
// or, one process per peer, in main/rsm1d.go, and reach it only through its RPCs, so the same test drives both.

import (
	"bytes"
	"log"
	"sync"
	"sync/atomic"

	"6.5840/kvsrv1/rpc"
	"6.5840/labgob"
	"6.5840/labrpc"
	tester "6.5840/tester1"
)

// CounterOp adds Add to the counter (0 reads it) and yields the counter's new value.
type CounterOp struct {
	Add int
}

// SubmitArgs asks the server to Submit a CounterOp.
type SubmitArgs struct {
	Add int
}

// SubmitReply is Submit's error and, on OK, the counter after the op. NotStarted says the server refused the op
// before handing it to Raft, so it can never apply; any other answer but OK leaves its fate unknown.
type SubmitReply struct {
	Err        rpc.Err
	Value      int
	NotStarted bool
}

// InspectArgs asks for a server's local state, read without the log. Server is the index the caller means to
// ask, so a test's call that reached the wrong server fails loudly instead of misleading it.
type InspectArgs struct {
	Server int
}

// InspectReply is a server's own view: its counter, how many ops it applied since it started (replayed ones
// included), and how many snapshots it restored the counter from.
type InspectReply struct {
	Value    int
	Applied  int
	Restored int
}

func init() {
	labgob.Register(CounterOp{})
}

// CounterServer is one peer of the replicated counter.
type CounterServer struct {
	me       int
	rsm      *RSM
	inflight atomic.Int32 // Submit handlers that have not returned

	mu       sync.Mutex // DoOp runs on the RSM's reader, Inspect on an RPC goroutine
	value    int
	applied  int
	restored int
}

// StartCounterServer starts peer me of the counter service, in the shape of the lab's StartKVServer: the
// returned services are the counter (its RPCs) and its Raft (the peers' RPCs).
func StartCounterServer(servers []*labrpc.ClientEnd, gid tester.Tgid, me int, persister *tester.Persister, maxraftstate int) []tester.IService {
	cs := &CounterServer{me: me}
	cs.rsm = MakeRSM(servers, me, persister, maxraftstate, cs)
	return []tester.IService{cs, cs.rsm.Raft()}
}

// Submit runs one CounterOp through the log.
func (cs *CounterServer) Submit(args *SubmitArgs, reply *SubmitReply) {
	cs.inflight.Add(1)
	defer cs.inflight.Add(-1)
	// ErrWrongLeader from Submit does not say whether the op reached the log, so a test counting ops exactly
	// could only bound them loosely; a follower's refusal is told apart here.
	if _, isLeader := cs.rsm.Raft().GetState(); !isLeader {
		reply.Err, reply.NotStarted = rpc.ErrWrongLeader, true
		return
	}
	err, value := cs.rsm.Submit(CounterOp{Add: args.Add})
	reply.Err = err
	if err == rpc.OK {
		reply.Value = value.(int)
	}
}

// Inspect reports this server's local state.
func (cs *CounterServer) Inspect(args *InspectArgs, reply *InspectReply) {
	if args.Server != cs.me {
		log.Fatalf("rsm: Inspect meant for server %d reached server %d", args.Server, cs.me)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	reply.Value, reply.Applied, reply.Restored = cs.value, cs.applied, cs.restored
}

// Kill stops the peer (the in-process tester's crash).
func (cs *CounterServer) Kill() {
	cs.rsm.Kill()
}

// Pending is the number of Submit RPCs this peer has not answered yet; after Kill it must drop to zero.
func (cs *CounterServer) Pending() int {
	return int(cs.inflight.Load())
}

func (cs *CounterServer) DoOp(req any) any {
	op := req.(CounterOp)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.value += op.Add
	cs.applied++
	return cs.value
}

func (cs *CounterServer) Snapshot() []byte {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	w := new(bytes.Buffer)
	if err := labgob.NewEncoder(w).Encode(cs.value); err != nil {
		log.Fatalf("rsm: counter snapshot: %v", err)
	}
	return w.Bytes()
}

func (cs *CounterServer) Restore(data []byte) {
	var value int
	if err := labgob.NewDecoder(bytes.NewBuffer(data)).Decode(&value); err != nil {
		log.Fatalf("rsm: counter restore: %v", err)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.value = value
	cs.restored++
}
