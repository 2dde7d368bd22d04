// Package rsm is a replicated state machine on Raft: a service hands each operation to Submit, which runs it
// through the Raft log, and every peer applies the log's operations to its own copy of the StateMachine in log
// order. It snapshots the state machine when the persisted Raft state grows past maxraftstate, and restores from
// the snapshot after a crash or when Raft installs a newer one from the leader.
//
// Reaching Raft only through raft.Make and raftapi.Raft, it runs unchanged on the raftcore shim (go/raft1).
package rsm

import (
	"bytes"
	"fmt"
	"log"
	"math/rand"
	"sync"
	"time"

	"6.5840/kvsrv1/rpc"
	"6.5840/labgob"
	"6.5840/labrpc"
	raft "6.5840/raft1"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

// leadershipCheck is how often a waiting Submit asks Raft whether it still leads in the term it started in. A
// deposed leader hears of the new term only from a peer; until then it believes it leads, and Submit waits. The
// check costs a cgo call; it bounds how long a Submit outlives the leader's loss of its term, which is dwarfed by
// the election that follows.
const leadershipCheck = 50 * time.Millisecond

// Op is what travels through the Raft log: the service's request and who submitted it. Id is random, so an
// entry a previous incarnation of this peer proposed is never mistaken for a current Submit's.
type Op struct {
	Me  int
	Id  int64
	Req any
}

func init() {
	labgob.Register(Op{})
}

// StateMachine is the service's state. DoOp, Snapshot and Restore are called from one goroutine (the reader of
// applyCh), in log order, and Restore also before Raft starts.
type StateMachine interface {
	// DoOp applies one request and returns its result, which Submit returns on the peer that submitted it.
	DoOp(req any) any
	// Snapshot encodes the whole state.
	Snapshot() []byte
	// Restore replaces the whole state with one Snapshot encoded.
	Restore(data []byte)
}

// RSM is one peer's replicated state machine.
type RSM struct {
	me           int
	rf           raftapi.Raft
	applyCh      chan raftapi.ApplyMsg
	maxraftstate int // snapshot once the Raft state exceeds this many bytes; -1: never
	sm           StateMachine
	done         chan struct{} // closed by Kill
	// sizeAfterSnapshot is PersistBytes right after the last snapshot: what a snapshot could not trim, the
	// entries not yet applied. Only the reader touches it.
	sizeAfterSnapshot int

	mu          sync.Mutex
	dead        bool
	lastApplied int                 // highest log index reflected in sm
	waiting     map[int]*submission // by the log index each was started at
}

// submission is one Submit waiting for its index to be applied.
type submission struct {
	id   int64
	done chan outcome // buffered: whoever settles it never blocks
}

type outcome struct {
	err   rpc.Err
	value any
}

// MakeRSM starts a peer: it restores sm from the persisted snapshot, if any, starts Raft, and reads what Raft
// applies. servers, me and persister are raft.Make's. maxraftstate is in bytes of persisted Raft state (-1: no
// snapshots).
func MakeRSM(servers []*labrpc.ClientEnd, me int, persister *tester.Persister, maxraftstate int, sm StateMachine) *RSM {
	rsm := &RSM{
		me:           me,
		applyCh:      make(chan raftapi.ApplyMsg),
		maxraftstate: maxraftstate,
		sm:           sm,
		done:         make(chan struct{}),
		waiting:      map[int]*submission{},
	}
	if snap := persister.ReadSnapshot(); len(snap) > 0 {
		rsm.lastApplied = rsm.restore(snap)
	}
	rsm.rf = raft.Make(servers, me, persister, rsm.applyCh)
	go rsm.reader()
	return rsm
}

// Raft is this peer's Raft, which the service registers for the other peers' RPCs.
func (rsm *RSM) Raft() raftapi.Raft {
	return rsm.rf
}

// Submit runs req through the log and returns what DoOp returned for it on this peer. It returns
// ErrWrongLeader, with no value, if this peer is not the leader, or if it loses its term, its log index goes to
// another peer's operation, or it is killed before req is applied. In the first and third case req never
// applies; in the others it may still apply later, which a caller that retries elsewhere must allow for.
func (rsm *RSM) Submit(req any) (rpc.Err, any) {
	op := Op{Me: rsm.me, Id: rand.Int63(), Req: req}

	// Start and the registration happen under mu, which the reader takes before it settles an index, so even
	// an operation applied at once finds its submission.
	rsm.mu.Lock()
	if rsm.dead {
		rsm.mu.Unlock()
		return rpc.ErrWrongLeader, nil
	}
	index, term, isLeader := rsm.rf.Start(op)
	if !isLeader {
		rsm.mu.Unlock()
		return rpc.ErrWrongLeader, nil
	}
	s := &submission{id: op.Id, done: make(chan outcome, 1)}
	if old := rsm.waiting[index]; old != nil {
		// An earlier term's Start got this index too; its entry is gone from this leader's log.
		old.done <- outcome{err: rpc.ErrWrongLeader}
	}
	rsm.waiting[index] = s
	rsm.mu.Unlock()

	tick := time.NewTicker(leadershipCheck)
	defer tick.Stop()
	for {
		select {
		case o := <-s.done:
			return o.err, o.value
		case <-tick.C:
			if t, leader := rsm.rf.GetState(); t != term || !leader {
				return rsm.abandon(index, s)
			}
		}
	}
}

// abandon withdraws a submission whose leader lost its term, unless the reader settled it meanwhile.
func (rsm *RSM) abandon(index int, s *submission) (rpc.Err, any) {
	rsm.mu.Lock()
	if rsm.waiting[index] == s {
		delete(rsm.waiting, index)
	}
	rsm.mu.Unlock()
	select {
	case o := <-s.done:
		return o.err, o.value
	default:
		return rpc.ErrWrongLeader, nil
	}
}

// Kill stops the peer: pending Submits return ErrWrongLeader, and Raft is killed. The in-process tester calls
// it at a crash; a peer in its own process simply dies.
func (rsm *RSM) Kill() {
	rsm.mu.Lock()
	if rsm.dead {
		rsm.mu.Unlock()
		return
	}
	rsm.dead = true
	close(rsm.done)
	for index, s := range rsm.waiting {
		s.done <- outcome{err: rpc.ErrWrongLeader}
		delete(rsm.waiting, index)
	}
	rsm.mu.Unlock()
	rsm.rf.Kill()
}

// reader applies what Raft delivers, in order, until Kill. It is the only goroutine that touches sm after
// MakeRSM, and it calls Snapshot on Raft itself, holding no lock, as Raft expects of its applyCh reader.
func (rsm *RSM) reader() {
	for {
		select {
		case m := <-rsm.applyCh:
			switch {
			case m.CommandValid:
				rsm.applyCommand(m)
				rsm.maybeSnapshot(m.CommandIndex)
			case m.SnapshotValid:
				rsm.applySnapshot(m)
			}
		case <-rsm.done:
			return
		}
	}
}

func (rsm *RSM) applyCommand(m raftapi.ApplyMsg) {
	rsm.mu.Lock()
	defer rsm.mu.Unlock()
	if m.CommandIndex <= rsm.lastApplied {
		return // already in the snapshot sm was restored from
	}
	if m.CommandIndex != rsm.lastApplied+1 {
		log.Fatalf("rsm: peer %d: Raft applied index %d after %d", rsm.me, m.CommandIndex, rsm.lastApplied)
	}
	rsm.lastApplied = m.CommandIndex
	op, ok := m.Command.(Op)
	if !ok {
		log.Fatalf("rsm: peer %d: index %d holds a %T, not an rsm.Op", rsm.me, m.CommandIndex, m.Command)
	}
	value := rsm.sm.DoOp(op.Req)
	if s := rsm.waiting[m.CommandIndex]; s != nil {
		delete(rsm.waiting, m.CommandIndex)
		if op.Me == rsm.me && op.Id == s.id {
			s.done <- outcome{err: rpc.OK, value: value}
		} else {
			s.done <- outcome{err: rpc.ErrWrongLeader}
		}
	}
}

// applySnapshot installs a snapshot Raft received from the leader, if it is newer than what sm holds.
// Submissions at the indices it covers never learn their fate here.
func (rsm *RSM) applySnapshot(m raftapi.ApplyMsg) {
	rsm.mu.Lock()
	defer rsm.mu.Unlock()
	if m.SnapshotIndex <= rsm.lastApplied {
		return
	}
	if index := rsm.restore(m.Snapshot); index != m.SnapshotIndex {
		log.Fatalf("rsm: peer %d: a snapshot for index %d holds index %d", rsm.me, m.SnapshotIndex, index)
	}
	rsm.lastApplied = m.SnapshotIndex
	for index, s := range rsm.waiting {
		if index <= m.SnapshotIndex {
			s.done <- outcome{err: rpc.ErrWrongLeader}
			delete(rsm.waiting, index)
		}
	}
}

// maybeSnapshot hands Raft a snapshot through index once the persisted Raft state passes maxraftstate and has
// grown by half of it since the last snapshot. The second condition matters under load: entries not yet applied
// stay in the log whatever the snapshot, and once they alone pass maxraftstate the first condition would call
// for a snapshot after every applied entry, each encoding the whole state to trim one entry (with 100 clients
// that cost a fifth of the CPU). Without load the log is empty after a snapshot, and only the first counts.
func (rsm *RSM) maybeSnapshot(index int) {
	if rsm.maxraftstate < 0 {
		return
	}
	size := rsm.rf.PersistBytes()
	if size <= rsm.maxraftstate || size-rsm.sizeAfterSnapshot < rsm.maxraftstate/2 {
		return
	}
	w := new(bytes.Buffer)
	e := labgob.NewEncoder(w)
	if err := e.Encode(index); err != nil {
		log.Fatalf("rsm: peer %d: encode snapshot: %v", rsm.me, err)
	}
	if err := e.Encode(rsm.sm.Snapshot()); err != nil {
		log.Fatalf("rsm: peer %d: encode snapshot: %v", rsm.me, err)
	}
	rsm.rf.Snapshot(index, w.Bytes())
	rsm.sizeAfterSnapshot = rsm.rf.PersistBytes()
}

// restore loads sm from a snapshot maybeSnapshot made and returns the index it covers. A snapshot that does not
// decode is fatal: going on from an empty state would silently lose every operation it held.
func (rsm *RSM) restore(snapshot []byte) int {
	d := labgob.NewDecoder(bytes.NewBuffer(snapshot))
	var index int
	var state []byte
	if err := decodeAll(d, &index, &state); err != nil {
		log.Fatalf("rsm: peer %d: %v", rsm.me, err)
	}
	rsm.sm.Restore(state)
	return index
}

func decodeAll(d *labgob.LabDecoder, into ...any) error {
	for _, x := range into {
		if err := d.Decode(x); err != nil {
			return fmt.Errorf("snapshot does not decode: %w", err)
		}
	}
	return nil
}
