// Package kvraft is a fault-tolerant key/value service on the classic Raft API (6.5840/raft): every server of a
// group proposes the clerks' operations to Raft and applies what Raft commits, in log order, to its own copy of
// the store, so all copies agree and every answer reflects every operation committed before it.
package kvraft

import (
	"bytes"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"6.5840/labgob"
	"6.5840/labrpc"
	"6.5840/raft"
)

const (
	// opTimeout bounds how long a handler waits for its operation to commit. A leader cut off in a minority
	// keeps believing it leads until it hears of a newer term, and its entries never commit; past this the
	// handler gives up so the clerk can try another server.
	opTimeout = 800 * time.Millisecond
	// leaderCheck is how often a waiting handler asks Raft whether it still leads in the term it proposed in; a
	// lost term usually means the entry will be overwritten, and the clerk should not wait out opTimeout.
	leaderCheck = 50 * time.Millisecond
)

// Op is one clerk operation as it travels through the Raft log.
type Op struct {
	Kind     string // "Get", "Put" or "Append"
	Key      string
	Value    string
	ClientId int64
	Seq      int64
}

// applied is what the applier tells the handler waiting on a log index: whose operation landed there, and its
// outcome. A handler whose operation did not land there (another leader's entry replaced it) sees other ids.
type applied struct {
	ClientId int64
	Seq      int64
	Err      Err
	Value    string
}

type KVServer struct {
	mu      sync.Mutex
	me      int
	rf      *raft.Raft
	applyCh chan raft.ApplyMsg
	dead    int32         // set by Kill
	quit    chan struct{} // closed by Kill: stops the applier, whose applyCh is never closed

	maxraftstate int // snapshot when the persisted Raft state grows to about this many bytes (-1: never)
	persister    *raft.Persister

	// The replicated state: the same on every server once it has applied the same log prefix, and what a
	// snapshot holds.
	data        map[string]string
	lastSeq     map[int64]int64 // by client id: the highest sequence number applied
	lastApplied int             // the log index data reflects

	waiting map[int]chan applied // by log index: the handler waiting for that entry to commit
}

// StartKVServer starts server me of the group that servers reaches, from whatever persister holds. It returns
// at once; the applier runs in its own goroutine. maxraftstate is the persisted Raft state's size limit in bytes
// (-1: no snapshots).
func StartKVServer(servers []*labrpc.ClientEnd, me int, persister *raft.Persister, maxraftstate int) *KVServer {
	// The log carries Ops inside interface{} values, which gob can only decode for registered types.
	labgob.Register(Op{})

	kv := &KVServer{
		me:           me,
		maxraftstate: maxraftstate,
		persister:    persister,
		applyCh:      make(chan raft.ApplyMsg),
		quit:         make(chan struct{}),
		data:         map[string]string{},
		lastSeq:      map[int64]int64{},
		waiting:      map[int]chan applied{},
	}
	// Before Raft starts: Raft resumes applying after the snapshot's index, so the state must be there first.
	kv.restore(persister.ReadSnapshot())
	kv.rf = raft.Make(servers, me, persister, kv.applyCh)
	go kv.applier()
	return kv
}

// Kill stops the server (the tester's crash). Handlers still waiting give up within leaderCheck.
func (kv *KVServer) Kill() {
	if atomic.CompareAndSwapInt32(&kv.dead, 0, 1) {
		close(kv.quit)
		kv.rf.Kill()
	}
}

func (kv *KVServer) killed() bool {
	return atomic.LoadInt32(&kv.dead) == 1
}

// Get reads through the log rather than from the local copy: a leader that has been deposed without knowing it
// would otherwise answer from a stale copy.
func (kv *KVServer) Get(args *GetArgs, reply *GetReply) {
	res := kv.submit(Op{Kind: "Get", Key: args.Key, ClientId: args.ClientId, Seq: args.Seq})
	reply.Err, reply.Value = res.Err, res.Value
}

// PutAppend proposes a Put or an Append and reports once it has been applied (by this try or an earlier one).
func (kv *KVServer) PutAppend(args *PutAppendArgs, reply *PutAppendReply) {
	res := kv.submit(Op{Kind: args.Op, Key: args.Key, Value: args.Value, ClientId: args.ClientId, Seq: args.Seq})
	reply.Err = res.Err
}

// submit proposes op and waits for the entry at its index to be applied.
func (kv *KVServer) submit(op Op) applied {
	if kv.killed() {
		return applied{Err: ErrWrongLeader}
	}
	// Start and the registration happen under the lock the applier applies under, so the entry cannot be
	// applied in between and leave the waiter waiting for an index that has already gone by.
	kv.mu.Lock()
	index, term, isLeader := kv.rf.Start(op)
	if !isLeader {
		kv.mu.Unlock()
		return applied{Err: ErrWrongLeader}
	}
	ch := make(chan applied, 1) // the applier never blocks on a handler that already gave up
	if old, ok := kv.waiting[index]; ok {
		// An earlier leader's entry at this index was overwritten: its handler will never see it applied.
		old <- applied{Err: ErrWrongLeader}
	}
	kv.waiting[index] = ch
	kv.mu.Unlock()

	timeout := time.NewTimer(opTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(leaderCheck)
	defer tick.Stop()
	for {
		select {
		case res := <-ch:
			if res.ClientId != op.ClientId || res.Seq != op.Seq {
				return applied{Err: ErrWrongLeader}
			}
			return res
		case <-tick.C:
			if t, leader := kv.rf.GetState(); t != term || !leader || kv.killed() {
				kv.forget(index, ch)
				return applied{Err: ErrWrongLeader}
			}
		case <-timeout.C:
			kv.forget(index, ch)
			return applied{Err: ErrWrongLeader}
		}
	}
}

// forget removes a handler's registration, unless a later handler has already taken the index over.
func (kv *KVServer) forget(index int, ch chan applied) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.waiting[index] == ch {
		delete(kv.waiting, index)
	}
}

// applier applies what Raft commits, in order, until Kill.
func (kv *KVServer) applier() {
	for {
		select {
		case <-kv.quit:
			return
		case msg := <-kv.applyCh:
			if msg.CommandValid {
				kv.applyCommand(msg)
			} else if msg.SnapshotValid {
				kv.applySnapshot(msg)
			}
		}
	}
}

func (kv *KVServer) applyCommand(msg raft.ApplyMsg) {
	kv.mu.Lock()
	if msg.CommandIndex <= kv.lastApplied {
		// Already in the state, through a snapshot installed after Raft queued this entry.
		kv.mu.Unlock()
		return
	}
	kv.lastApplied = msg.CommandIndex
	op, ok := msg.Command.(Op)
	if !ok {
		kv.mu.Unlock()
		log.Fatalf("kvraft: server %d: log index %d holds a %T, not an Op", kv.me, msg.CommandIndex, msg.Command)
	}
	res := kv.apply(op)
	if ch, ok := kv.waiting[msg.CommandIndex]; ok {
		ch <- res
		delete(kv.waiting, msg.CommandIndex)
	}
	var snapshot []byte
	if kv.maxraftstate != -1 && kv.persister.RaftStateSize() >= kv.maxraftstate*3/4 {
		snapshot = kv.encode()
	}
	kv.mu.Unlock()
	// Outside the lock: handlers calling Start need not wait for the encoding to be stored. Only this goroutine
	// takes snapshots, so they still reach Raft in index order.
	if snapshot != nil {
		kv.rf.Snapshot(msg.CommandIndex, snapshot)
	}
}

// apply performs op on the store. A Put or an Append whose sequence number this client has already had applied
// is a retry, and changes nothing; a Get always reads, since reading twice is harmless.
func (kv *KVServer) apply(op Op) applied {
	res := applied{ClientId: op.ClientId, Seq: op.Seq, Err: OK}
	fresh := op.Seq > kv.lastSeq[op.ClientId]
	if fresh {
		kv.lastSeq[op.ClientId] = op.Seq
	}
	switch op.Kind {
	case "Get":
		value, ok := kv.data[op.Key]
		if !ok {
			res.Err = ErrNoKey
		}
		res.Value = value
	case "Put":
		if fresh {
			kv.data[op.Key] = op.Value
		}
	case "Append":
		if fresh {
			kv.data[op.Key] += op.Value
		}
	default:
		log.Fatalf("kvraft: server %d: unknown operation %q", kv.me, op.Kind)
	}
	return res
}

// applySnapshot switches to a snapshot Raft received from the leader, if it is ahead of the store.
func (kv *KVServer) applySnapshot(msg raft.ApplyMsg) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if msg.SnapshotIndex <= kv.lastApplied {
		return
	}
	kv.restore(msg.Snapshot)
	kv.lastApplied = msg.SnapshotIndex
	// The entries up to the snapshot's index will never be applied here one by one, so their handlers cannot
	// learn whose entry landed where; they report failure and the clerks retry.
	for index, ch := range kv.waiting {
		if index <= msg.SnapshotIndex {
			ch <- applied{Err: ErrWrongLeader}
			delete(kv.waiting, index)
		}
	}
}

// encode serializes the replicated state, the duplicate table included: a server restored from a snapshot must
// still recognise retries of operations the snapshot already reflects.
func (kv *KVServer) encode() []byte {
	w := new(bytes.Buffer)
	e := labgob.NewEncoder(w)
	if e.Encode(kv.data) != nil || e.Encode(kv.lastSeq) != nil || e.Encode(kv.lastApplied) != nil {
		log.Fatalf("kvraft: server %d: cannot encode a snapshot", kv.me)
	}
	return w.Bytes()
}

// restore replaces the replicated state with a snapshot's; an empty one (a fresh server) leaves it empty.
func (kv *KVServer) restore(snapshot []byte) {
	if len(snapshot) == 0 {
		return
	}
	d := labgob.NewDecoder(bytes.NewBuffer(snapshot))
	var data map[string]string
	var lastSeq map[int64]int64
	var lastApplied int
	if d.Decode(&data) != nil || d.Decode(&lastSeq) != nil || d.Decode(&lastApplied) != nil {
		log.Fatalf("kvraft: server %d: cannot decode a snapshot of %d bytes", kv.me, len(snapshot))
	}
	// gob leaves a map it decoded from an empty one nil, and the applier writes to these.
	if data == nil {
		data = map[string]string{}
	}
	if lastSeq == nil {
		lastSeq = map[int64]int64{}
	}
	kv.data, kv.lastSeq, kv.lastApplied = data, lastSeq, lastApplied
}
