package raft

// raftcore shim: the lab's raft1 API on top of libraftcore, the Rust Raft core (docs/ABI.md is the contract).
//
// This one file replaces a lab tree's raft1/raft.go unchanged, so it declares none of the identifiers the lab's
// other raft1 files declare; its own unexported names start with "core" or "shim" to stay out of their way.
//
// Who runs where:
//   - Go calls Rust: Make, Start, GetState, GetLeader, Snapshot, PersistBytes, Kill and the three RPC handlers.
//     Rust hands each call to the instance's event loop and answers promptly, even while the applier is parked
//     in Go.
//   - Rust calls Go through a callback table whose user value is a runtime/cgo.Handle of the *Raft, so Rust never
//     holds a Go pointer. send_rpc and persist come from the event-loop thread, apply from the applier thread.
//     A callback never calls back into its own instance synchronously: the event loop would wait on itself.
//   - Every outbound RPC gets its own goroutine, because a labrpc Call can block for seconds; its reply goes
//     back through raft_rpc_reply.
//
// Commands cross the boundary as bytes and must come back as the same Go type and value (the lab compares
// them with ==, and asserts .(int)); see coreEncode.

// Linking: raftcore.pc carries the library's rpath, so test binaries run from any directory without
// LD_LIBRARY_PATH. Go's build cache hashes neither the .pc file nor the library: after rebuilding or moving
// libraftcore, run tests with -count=1 and, if the .pc changed, `go clean -cache`.
//
// Language: the classic shims generated from this file go into trees whose go.mod says `go 1.15` (MIT 2021-24),
// so it uses nothing the go directive gates after 1.15: no generics, any, min/max, clear, range over an int,
// unsafe.Slice or unsafe.String. Newer library APIs (sync/atomic's types) are not gated and are fine.

/*
#cgo pkg-config: raftcore
#include <stdlib.h>
#include "raftcore.h"

// This preamble is compiled into two C files (this package's and cgo's export file), so it may only hold
// declarations and static functions, which each file gets its own copy of.

// The Go callbacks below. cgo's export header cannot spell const, so each is reached through a static
// trampoline of the exact type the callback table wants.
extern void shimGoSendRPC(uint64_t user, uint32_t peer, uint32_t kind, uint64_t req_id, uint8_t *req, size_t len);
extern int32_t shimGoPersist(uint64_t user, uint8_t *state, size_t state_len, uint8_t *snapshot, size_t snapshot_len);
extern int32_t shimGoApply(uint64_t user, RaftApplyMsg *msg);
extern void shimGoLog(uint64_t user, int32_t level, uint8_t *msg, size_t len);

static inline void shim_send_rpc(uint64_t user, uint32_t peer, uint32_t kind, uint64_t req_id,
                                 const uint8_t *req, size_t len) {
	shimGoSendRPC(user, peer, kind, req_id, (uint8_t *)req, len);
}

static inline int32_t shim_persist(uint64_t user, const uint8_t *state, size_t state_len,
                                   const uint8_t *snapshot, size_t snapshot_len) {
	return shimGoPersist(user, (uint8_t *)state, state_len, (uint8_t *)snapshot, snapshot_len);
}

static inline int32_t shim_apply(uint64_t user, const RaftApplyMsg *msg) {
	return shimGoApply(user, (RaftApplyMsg *)msg);
}

static inline void shim_log(uint64_t user, int32_t level, const uint8_t *msg, size_t len) {
	shimGoLog(user, level, (uint8_t *)msg, len);
}

static inline RaftCallbacks shim_callbacks(uint64_t user) {
	RaftCallbacks cbs = {0};
	cbs.user = user;
	cbs.send_rpc = shim_send_rpc;
	cbs.persist = shim_persist;
	cbs.apply = shim_apply;
	cbs.log = shim_log;
	return cbs;
}
*/
import "C"

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"
	"reflect"
	"runtime/cgo"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"6.5840/labgob"
	"6.5840/labrpc"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

// Raft is one peer: a thin handle on a libraftcore instance. labrpc registers it under this type name, so the
// service name in every Call is "Raft".
type Raft struct {
	peers     []*labrpc.ClientEnd
	me        int
	persister *tester.Persister
	applyCh   chan raftapi.ApplyMsg

	self cgo.Handle // the user value of every callback; deleted once raft_kill has returned

	// core is Rust's handle. Callbacks can start before raft_make returns it, so readers that may run on a
	// callback's behalf wait for made first; everyone else runs after Make returned.
	core C.uint64_t
	made chan struct{}

	dead     atomic.Bool
	done     chan struct{} // closed by Kill: releases an apply parked on applyCh
	killOnce sync.Once

	// lastTerm is the highest term Rust reported, so a killed peer can still answer GetState sensibly.
	lastTerm atomic.Int64
}

// RequestVoteArgs and its siblings carry Rust's encoded requests and replies. labrpc needs one exported field;
// an empty reply means the handler could not answer, which the caller treats as a lost message.
type RequestVoteArgs struct{ Data []byte }
type RequestVoteReply struct{ Data []byte }
type AppendEntriesArgs struct{ Data []byte }
type AppendEntriesReply struct{ Data []byte }
type InstallSnapshotArgs struct{ Data []byte }
type InstallSnapshotReply struct{ Data []byte }

// Make starts a peer from whatever persister holds. It returns as soon as Rust's threads are running: the 2026
// tester waits on it before a restarted peer joins, and nobody reads applyCh until it has returned.
func Make(peers []*labrpc.ClientEnd, me int, persister *tester.Persister, applyCh chan raftapi.ApplyMsg) raftapi.Raft {
	if err := coreCheckABI(); err != nil {
		panic(err)
	}
	rf := &Raft{
		peers:     peers,
		me:        me,
		persister: persister,
		applyCh:   applyCh,
		made:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	rf.self = cgo.NewHandle(rf)

	// The persisted bytes go over in C memory: a Go struct handed to C may not point into Go memory.
	state := shimCBytes(persister.ReadRaftState())
	defer C.free(unsafe.Pointer(state.ptr))
	snapshot := shimCBytes(persister.ReadSnapshot())
	defer C.free(unsafe.Pointer(snapshot.ptr))
	cfg := C.RaftConfig{
		me:           C.uint32_t(me),
		peers:        C.uint32_t(len(peers)),
		pacing:       corePacing(),
		state:        state.ptr,
		state_len:    state.len,
		snapshot:     snapshot.ptr,
		snapshot_len: snapshot.len,
	}
	cbs := C.shim_callbacks(C.uint64_t(rf.self))

	var h C.uint64_t
	var e C.RaftBuf
	st := C.raft_make(&cfg, &cbs, &h, &e)
	if st != C.RAFT_STATUS_OK {
		msg := shimTakeError(st, &e)
		rf.dead.Store(true)
		close(rf.done)
		close(rf.made)
		rf.self.Delete()
		// Starting fresh instead would let this peer vote twice in a term it already voted in.
		panic(fmt.Sprintf("raft.Make: raftcore refused to start peer %d from its persisted state (%d bytes, snapshot %d bytes): %s",
			me, persister.RaftStateSize(), persister.SnapshotSize(), msg))
	}
	rf.core = h
	close(rf.made)
	return rf
}

// Start proposes command. It answers at once; the command shows up on applyCh if it commits.
func (rf *Raft) Start(command interface{}) (index int, term int, isLeader bool) {
	index, term, isLeader = -1, int(rf.lastTerm.Load()), false
	defer shimRecover("Start")
	if rf.dead.Load() {
		return
	}
	cmd, err := coreEncode(command)
	if err != nil {
		log.Printf("raft.Start: peer %d cannot encode command %#v (type %T): %v", rf.me, command, command, err)
		return
	}
	var idx, t C.int64_t
	var leader C.bool
	var e C.RaftBuf
	st := C.raft_start(rf.core, shimPtr(cmd), C.size_t(len(cmd)), &idx, &t, &leader, &e)
	if st != C.RAFT_STATUS_OK {
		rf.complain("raft_start", st, &e)
		return
	}
	rf.noteTerm(int64(t))
	if !bool(leader) {
		return -1, int(t), false
	}
	return int(idx), int(t), true
}

// GetState returns the current term and whether this peer believes it is the leader.
func (rf *Raft) GetState() (term int, isLeader bool) {
	term = int(rf.lastTerm.Load())
	defer shimRecover("GetState")
	if rf.dead.Load() {
		return term, false
	}
	var t C.int64_t
	var leader C.bool
	var e C.RaftBuf
	st := C.raft_get_state(rf.core, &t, &leader, &e)
	if st != C.RAFT_STATUS_OK {
		rf.complain("raft_get_state", st, &e)
		return term, false
	}
	rf.noteTerm(int64(t))
	return int(t), bool(leader)
}

// Snapshot tells Raft that the service's state through index is in snapshot, so the log up to there can go.
// The lab calls it from the goroutine that reads applyCh, while Rust's applier waits on that same goroutine;
// raft_snapshot never waits on the applier, so this cannot deadlock.
func (rf *Raft) Snapshot(index int, snapshot []byte) {
	defer shimRecover("Snapshot")
	if rf.dead.Load() {
		return
	}
	var e C.RaftBuf
	st := C.raft_snapshot(rf.core, C.int64_t(index), shimPtr(snapshot), C.size_t(len(snapshot)), &e)
	if st != C.RAFT_STATUS_OK {
		rf.complain(fmt.Sprintf("raft_snapshot(index %d, %d bytes)", index, len(snapshot)), st, &e)
	}
}

// PersistBytes is the size of the persisted Raft state, which services compare with their limit.
func (rf *Raft) PersistBytes() (n int) {
	defer shimRecover("PersistBytes")
	if !rf.dead.Load() {
		var out C.int64_t
		var e C.RaftBuf
		if st := C.raft_persist_bytes(rf.core, &out, &e); st == C.RAFT_STATUS_OK {
			return int(out)
		} else {
			rf.complain("raft_persist_bytes", st, &e)
		}
	}
	return rf.persister.RaftStateSize()
}

// Kill stops the peer for good: no more RPCs, saves or applies once it returns. It may be called any number
// of times, from any goroutine except one that Rust is calling back on.
func (rf *Raft) Kill() {
	defer shimRecover("Kill")
	rf.killOnce.Do(func() {
		rf.dead.Store(true)
		// raft_kill joins the applier, which may be parked sending on applyCh that nobody reads any more.
		close(rf.done)
		var e C.RaftBuf
		if st := C.raft_kill(rf.core, &e); st != C.RAFT_STATUS_OK && st != C.RAFT_STATUS_CLOSED {
			log.Printf("raft.Kill: peer %d: %s", rf.me, shimTakeError(st, &e))
		}
		// Only now: raft_kill guarantees no callback runs after it returns.
		rf.self.Delete()
	})
}

// Killed reports whether Kill has been called. The course's API has no such method, but services written
// against a Raft that exports it poll it in their long-running goroutines.
func (rf *Raft) Killed() bool {
	return rf.dead.Load()
}

// GetLeader is the leader hint some services add to their Raft interface: the peer this one last heard from as
// leader of its current term (me when it leads), or -1 when it knows none (just started or restarted, during an
// election) or is killed. It tells a client where to try next; that peer may have lost leadership since.
func (rf *Raft) GetLeader() (leader int) {
	leader = -1
	defer shimRecover("GetLeader")
	if rf.dead.Load() {
		return
	}
	var out C.int64_t
	var e C.RaftBuf
	if st := C.raft_get_leader(rf.core, &out, &e); st != C.RAFT_STATUS_OK {
		rf.complain("raft_get_leader", st, &e)
		return
	}
	return int(out)
}

// String describes the peer for a service's log lines. Services print their Raft with %s or %v, which go vet's
// printf check accepts only for a type with a String method, as many students' Rafts have.
func (rf *Raft) String() string {
	term, isLeader := rf.GetState()
	role := "follower or candidate"
	if isLeader {
		role = "leader"
	}
	return fmt.Sprintf("raftcore peer %d (term %d, %s)", rf.me, term, role)
}

// shimCommandTerm is where the tree's ApplyMsg keeps a CommandTerm, if it has one: not in the course's API, but
// services written against a Raft that reports the term of each committed entry read it (to tell whether the
// entry is the one they proposed in that term). Found once by reflection, since the struct is the tree's own.
var shimCommandTerm struct {
	once  sync.Once
	index []int // nil when ApplyMsg has no int field named CommandTerm
}

func shimSetCommandTerm(msg *raftapi.ApplyMsg, term int) {
	shimCommandTerm.once.Do(func() {
		if f, ok := reflect.TypeOf(*msg).FieldByName("CommandTerm"); ok && f.Type.Kind() == reflect.Int {
			shimCommandTerm.index = f.Index
		}
	})
	if shimCommandTerm.index != nil {
		reflect.ValueOf(msg).Elem().FieldByIndex(shimCommandTerm.index).SetInt(int64(term))
	}
}

// RequestVote, AppendEntries and InstallSnapshot are the labrpc handlers; Rust persists whatever the request
// changed before it returns the reply.
func (rf *Raft) RequestVote(args *RequestVoteArgs, reply *RequestVoteReply) {
	defer shimRecover("RequestVote handler")
	reply.Data = rf.serve(C.RAFT_RPC_KIND_REQUEST_VOTE, args.Data)
}

func (rf *Raft) AppendEntries(args *AppendEntriesArgs, reply *AppendEntriesReply) {
	defer shimRecover("AppendEntries handler")
	reply.Data = rf.serve(C.RAFT_RPC_KIND_APPEND_ENTRIES, args.Data)
}

func (rf *Raft) InstallSnapshot(args *InstallSnapshotArgs, reply *InstallSnapshotReply) {
	defer shimRecover("InstallSnapshot handler")
	reply.Data = rf.serve(C.RAFT_RPC_KIND_INSTALL_SNAPSHOT, args.Data)
}

// serve returns nil when it cannot answer: the caller then treats the call as lost.
func (rf *Raft) serve(kind C.uint32_t, req []byte) []byte {
	if rf.dead.Load() {
		return nil
	}
	var out, e C.RaftBuf
	st := C.raft_handle_rpc(rf.core, kind, shimPtr(req), C.size_t(len(req)), &out, &e)
	if st != C.RAFT_STATUS_OK {
		rf.complain(fmt.Sprintf("raft_handle_rpc(kind %d, %d bytes)", kind, len(req)), st, &e)
		return nil
	}
	defer C.raft_buf_free(out)
	return shimCopy(out.ptr, out.len)
}

// call delivers one request to a peer and hands the outcome back to Rust. It runs in its own goroutine.
func (rf *Raft) call(peer int, kind uint32, reqID uint64, req []byte) {
	defer shimRecover("outbound RPC")
	<-rf.made
	var reply []byte
	ok := false
	if peer >= 0 && peer < len(rf.peers) && !rf.dead.Load() {
		end := rf.peers[peer]
		switch kind {
		case C.RAFT_RPC_KIND_REQUEST_VOTE:
			r := &RequestVoteReply{}
			ok = end.Call("Raft.RequestVote", &RequestVoteArgs{Data: req}, r)
			reply = r.Data
		case C.RAFT_RPC_KIND_APPEND_ENTRIES:
			r := &AppendEntriesReply{}
			ok = end.Call("Raft.AppendEntries", &AppendEntriesArgs{Data: req}, r)
			reply = r.Data
		case C.RAFT_RPC_KIND_INSTALL_SNAPSHOT:
			r := &InstallSnapshotReply{}
			ok = end.Call("Raft.InstallSnapshot", &InstallSnapshotArgs{Data: req}, r)
			reply = r.Data
		default:
			log.Printf("raftcore: peer %d asked to send an RPC of unknown kind %d", rf.me, kind)
		}
	}
	if rf.dead.Load() {
		return
	}
	ok = ok && len(reply) > 0
	var e C.RaftBuf
	st := C.raft_rpc_reply(rf.core, C.uint64_t(reqID), C.bool(ok), shimPtr(reply), C.size_t(len(reply)), &e)
	if st != C.RAFT_STATUS_OK {
		rf.complain("raft_rpc_reply", st, &e)
	}
}

// complain reports an unexpected status from Rust. CLOSED is expected once the peer is killed.
func (rf *Raft) complain(what string, st C.int32_t, e *C.RaftBuf) {
	msg := shimTakeError(st, e)
	if st == C.RAFT_STATUS_CLOSED && rf.dead.Load() {
		return
	}
	log.Printf("raftcore: peer %d: %s: %s", rf.me, what, msg)
}

func (rf *Raft) noteTerm(t int64) {
	for {
		old := rf.lastTerm.Load()
		if t <= old || rf.lastTerm.CompareAndSwap(old, t) {
			return
		}
	}
}

// shimPeer finds the Raft behind a callback's user value; it panics (and the callback reports failure) if the
// handle is already gone.
func shimPeer(user C.uint64_t) *Raft {
	return cgo.Handle(user).Value().(*Raft)
}

//export shimGoSendRPC
func shimGoSendRPC(user C.uint64_t, peer C.uint32_t, kind C.uint32_t, reqID C.uint64_t, req *C.uint8_t, n C.size_t) {
	defer shimRecover("send_rpc callback")
	rf := shimPeer(user)
	data := shimCopy(req, n)
	go rf.call(int(peer), uint32(kind), uint64(reqID), data)
}

//export shimGoPersist
func shimGoPersist(user C.uint64_t, state *C.uint8_t, stateLen C.size_t, snapshot *C.uint8_t, snapshotLen C.size_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			shimReport("persist callback", r)
			rc = 1
		}
	}()
	rf := shimPeer(user)
	rf.persister.Save(shimCopy(state, stateLen), shimCopy(snapshot, snapshotLen))
	return 0
}

//export shimGoApply
func shimGoApply(user C.uint64_t, m *C.RaftApplyMsg) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			shimReport("apply callback", r)
			rc = 1
		}
	}()
	rf := shimPeer(user)
	var msg raftapi.ApplyMsg
	data := shimCopy(m.data, m.len)
	switch {
	case bool(m.command_valid):
		cmd, err := coreDecode(data)
		if err != nil {
			// Delivering anything else would hand the service a wrong command; stopping the applier makes the
			// failure show as a stall right after this line.
			log.Printf("raftcore: peer %d cannot decode the command committed at index %d; applying stops: %v",
				rf.me, uint64(m.index), err)
			return 1
		}
		msg.CommandValid, msg.Command, msg.CommandIndex = true, cmd, int(m.index)
		shimSetCommandTerm(&msg, int(m.term))
	case bool(m.snapshot_valid):
		msg.SnapshotValid, msg.Snapshot = true, data
		msg.SnapshotTerm, msg.SnapshotIndex = int(m.term), int(m.index)
	default:
		log.Printf("raftcore: peer %d got an apply message that is neither a command nor a snapshot (index %d)",
			rf.me, uint64(m.index))
		return 1
	}
	select {
	case <-rf.done:
		return 1
	default:
	}
	select {
	case rf.applyCh <- msg:
		return 0
	case <-rf.done:
		return 1
	}
}

//export shimGoLog
func shimGoLog(user C.uint64_t, level C.int32_t, msg *C.uint8_t, n C.size_t) {
	defer shimRecover("log callback")
	if int32(level) > coreLogLevel() {
		return
	}
	me := -1
	func() {
		defer func() { _ = recover() }() // a line logged while Kill runs still deserves printing
		me = shimPeer(user).me
	}()
	log.Printf("raftcore: peer %d %s: %s", me, coreLogLevelNames[int32(level)], shimCopy(msg, n))
}

var coreLogLevelNames = map[int32]string{
	C.RAFT_LOG_LEVEL_ERROR: "error",
	C.RAFT_LOG_LEVEL_WARN:  "warn",
	C.RAFT_LOG_LEVEL_INFO:  "info",
	C.RAFT_LOG_LEVEL_DEBUG: "debug",
}

// coreLogLevel is the most verbose level printed: errors and warnings unless RAFTCORE_LOG names another level.
// Test output is the only place a lab run shows them, so the default stays quiet.
func coreLogLevel() int32 {
	coreLogSetting.once.Do(func() {
		coreLogSetting.level = C.RAFT_LOG_LEVEL_WARN
		want := strings.ToLower(os.Getenv("RAFTCORE_LOG"))
		for level, name := range coreLogLevelNames {
			if name == want {
				coreLogSetting.level = level
			}
		}
	})
	return coreLogSetting.level
}

var coreLogSetting struct {
	once  sync.Once
	level int32
}

// corePacingEnv selects when a leader sends new entries (docs/ABI.md, RaftPacing). "heartbeat" sends them only
// with heartbeats, as a typical hand-written lab Raft does, so commits come about a heartbeat after Start: a
// service test that fails on raftcore and passes under it points at a timing race in the service, not at Raft.
// It is read at every Make, so a test may change it between clusters.
const corePacingEnv = "RAFTCORE_PACING"

func corePacing() C.uint32_t {
	value := os.Getenv(corePacingEnv)
	heartbeat, ok := coreParsePacing(value)
	if !ok {
		corePacingWarning.Do(func() {
			fmt.Fprintf(os.Stderr, "raftcore: %s=%q is not a pacing (heartbeat, or prompt, the default); using prompt\n",
				corePacingEnv, value)
		})
	}
	if heartbeat {
		return C.RAFT_PACING_HEARTBEAT
	}
	return C.RAFT_PACING_PROMPT
}

// coreParsePacing reads a RAFTCORE_PACING value: whether it asks for heartbeat pacing, and whether it is one
// this shim knows (unset, "prompt" and "off" are the default).
func coreParsePacing(value string) (heartbeat bool, ok bool) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "", "prompt", "off":
		return false, true
	case "heartbeat":
		return true, true
	}
	return false, false
}

// corePacingWarning keeps an unknown value to one line per process, however many peers it makes.
var corePacingWarning sync.Once

// The command encoding: one tag byte, then the value. int and string, what the raft tests send, get compact
// forms so the RPC byte budget holds; anything else is labgob inside a wrapper whose interface field carries
// the type's registered name, so it decodes to the same type in any process that registered it.
const (
	coreCmdNil    = 0
	coreCmdInt    = 1 // a signed varint
	coreCmdString = 2 // the raw bytes
	coreCmdGob    = 3 // labgob of coreCommand
)

type coreCommand struct {
	Command interface{}
}

func coreEncode(command interface{}) ([]byte, error) {
	switch v := command.(type) {
	case nil:
		return []byte{coreCmdNil}, nil
	case int:
		return binary.AppendVarint([]byte{coreCmdInt}, int64(v)), nil
	case string:
		return append([]byte{coreCmdString}, v...), nil
	}
	var w bytes.Buffer
	w.WriteByte(coreCmdGob)
	if err := labgob.NewEncoder(&w).Encode(coreCommand{Command: command}); err != nil {
		return nil, fmt.Errorf("labgob: %w (is the type labgob.Register'ed?)", err)
	}
	return w.Bytes(), nil
}

func coreDecode(b []byte) (interface{}, error) {
	if len(b) == 0 {
		return nil, errors.New("empty command")
	}
	switch b[0] {
	case coreCmdNil:
		if len(b) != 1 {
			return nil, fmt.Errorf("nil command with %d trailing bytes", len(b)-1)
		}
		return nil, nil
	case coreCmdInt:
		v, n := binary.Varint(b[1:])
		if n <= 0 || n != len(b)-1 || int64(int(v)) != v {
			return nil, fmt.Errorf("bad int command % x", b)
		}
		return int(v), nil
	case coreCmdString:
		return string(b[1:]), nil
	case coreCmdGob:
		var c coreCommand
		if err := labgob.NewDecoder(bytes.NewReader(b[1:])).Decode(&c); err != nil {
			return nil, fmt.Errorf("labgob: %w (is the type labgob.Register'ed in this process?)", err)
		}
		return c.Command, nil
	}
	return nil, fmt.Errorf("unknown command tag %d", b[0])
}

var coreABI struct {
	once sync.Once
	err  error
}

func coreCheckABI() error {
	coreABI.once.Do(func() {
		if got, want := uint32(C.raft_abi_version()), uint32(C.RAFT_ABI_VERSION); got != want {
			coreABI.err = fmt.Errorf("raft.Make: libraftcore speaks ABI version %d but this shim was built for %d; rebuild the library and the Go code together", got, want)
		}
	})
	return coreABI.err
}

type shimCBuf struct {
	ptr *C.uint8_t
	len C.size_t
}

// shimCBytes copies b into C memory (nil for empty); the caller frees ptr.
func shimCBytes(b []byte) shimCBuf {
	if len(b) == 0 {
		return shimCBuf{}
	}
	return shimCBuf{ptr: (*C.uint8_t)(C.CBytes(b)), len: C.size_t(len(b))}
}

// shimPtr borrows b for the length of one C call; Rust copies what it keeps.
func shimPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// shimCopy copies bytes Rust lends only for the duration of a call. The result is never nil.
func shimCopy(p *C.uint8_t, n C.size_t) []byte {
	if n == 0 || p == nil {
		return []byte{}
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

// shimTakeError turns a status and its optional message into text and frees the message.
func shimTakeError(st C.int32_t, e *C.RaftBuf) string {
	msg := string(shimCopy(e.ptr, e.len))
	C.raft_buf_free(*e)
	*e = C.RaftBuf{}
	name, ok := shimStatusNames[int32(st)]
	if !ok {
		name = fmt.Sprintf("status %d", int32(st))
	}
	if msg == "" {
		return name
	}
	return name + ": " + msg
}

var shimStatusNames = map[int32]string{
	C.RAFT_STATUS_OK:               "OK",
	C.RAFT_STATUS_NULL_ARGUMENT:    "NULL_ARGUMENT",
	C.RAFT_STATUS_INVALID_ARGUMENT: "INVALID_ARGUMENT",
	C.RAFT_STATUS_UNKNOWN_HANDLE:   "UNKNOWN_HANDLE",
	C.RAFT_STATUS_CLOSED:           "CLOSED",
	C.RAFT_STATUS_MALFORMED:        "MALFORMED",
	C.RAFT_STATUS_OUT_OF_RANGE:     "OUT_OF_RANGE",
	C.RAFT_STATUS_CORRUPT_STATE:    "CORRUPT_STATE",
	C.RAFT_STATUS_CALLBACK_FAILED:  "CALLBACK_FAILED",
	C.RAFT_STATUS_PANIC:            "PANIC",
	C.RAFT_STATUS_INTERNAL:         "INTERNAL",
}

// shimRecover keeps a panic in the shim from unwinding into Rust frames or killing the tester; the log line
// and the stack make the failure visible.
func shimRecover(where string) {
	if r := recover(); r != nil {
		shimReport(where, r)
	}
}

func shimReport(where string, r interface{}) {
	log.Printf("raftcore shim: panic in %s: %v\n%s", where, r, debug.Stack())
}
