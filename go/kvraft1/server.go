// Package kvraft is a fault-tolerant key/value service: versioned Puts and Gets (package kvsrv1/rpc) replicated
// with an RSM on Raft, served by every peer of a group, and a Clerk that finds the leader and retries across
// servers. Both operations go through the log, so every answer is linearizable.
package kvraft

import (
	"bytes"
	"log"

	"6.5840/kvraft1/rsm"
	"6.5840/kvsrv1/rpc"
	"6.5840/labgob"
	"6.5840/labrpc"
	tester "6.5840/tester1"
)

func init() {
	// The requests travel inside rsm.Op's interface field, in every process of the service.
	labgob.Register(rpc.PutArgs{})
	labgob.Register(rpc.GetArgs{})
}

// entry is one key's value and version, in memory and in snapshots.
type entry struct {
	Value   string
	Version rpc.Tversion
}

// KVServer is one peer of the service; its Get and Put are the clerks' RPCs.
type KVServer struct {
	me  int
	rsm *rsm.RSM

	data map[string]entry // touched only by the RSM's reader (DoOp, Snapshot, Restore)
}

// StartKVServer starts peer me of a group whose peers servers reaches. It snapshots once the persisted Raft
// state exceeds maxraftstate bytes (-1: never). The returned services are the key/value server and its Raft.
func StartKVServer(servers []*labrpc.ClientEnd, gid tester.Tgid, me int, persister *tester.Persister, maxraftstate int) []tester.IService {
	kv := &KVServer{me: me, data: map[string]entry{}}
	kv.rsm = rsm.MakeRSM(servers, me, persister, maxraftstate, kv)
	return []tester.IService{kv, kv.rsm.Raft()}
}

// Get reads a key through the log, so a deposed leader cannot answer from a stale copy.
func (kv *KVServer) Get(args *rpc.GetArgs, reply *rpc.GetReply) {
	err, result := kv.rsm.Submit(*args)
	if err != rpc.OK {
		reply.Err = rpc.ErrWrongLeader
		return
	}
	*reply = result.(rpc.GetReply)
}

// Put applies a versioned Put through the log. A follower answers ErrWrongLeader: the Put was never started, so
// the clerk may retry it as new. A Put that was started but whose fate this peer could not learn (it lost its
// term, or died) is answered ErrMaybe, so the clerk knows a retry that meets ErrVersion may be its own echo.
func (kv *KVServer) Put(args *rpc.PutArgs, reply *rpc.PutReply) {
	if _, leader := kv.rsm.Raft().GetState(); !leader {
		reply.Err = rpc.ErrWrongLeader
		return
	}
	err, result := kv.rsm.Submit(*args)
	if err != rpc.OK {
		// Submit also says ErrWrongLeader when leadership ended between the check above and its Start; calling
		// that a maybe is merely cautious.
		reply.Err = rpc.ErrMaybe
		return
	}
	*reply = result.(rpc.PutReply)
}

// Kill stops the peer (the in-process tester's crash).
func (kv *KVServer) Kill() {
	kv.rsm.Kill()
}

// DoOp applies one request; the RSM calls it for every log entry, in order, on every peer.
func (kv *KVServer) DoOp(req any) any {
	switch args := req.(type) {
	case rpc.GetArgs:
		e, ok := kv.data[args.Key]
		if !ok {
			return rpc.GetReply{Err: rpc.ErrNoKey}
		}
		return rpc.GetReply{Value: e.Value, Version: e.Version, Err: rpc.OK}
	case rpc.PutArgs:
		e, ok := kv.data[args.Key]
		switch {
		case !ok && args.Version != 0:
			return rpc.PutReply{Err: rpc.ErrNoKey}
		case e.Version != args.Version:
			return rpc.PutReply{Err: rpc.ErrVersion}
		}
		kv.data[args.Key] = entry{Value: args.Value, Version: args.Version + 1}
		return rpc.PutReply{Err: rpc.OK}
	}
	log.Fatalf("kvraft: server %d: the log holds a %T, not a Get or a Put", kv.me, req)
	return nil
}

// Snapshot encodes every key's value and version.
func (kv *KVServer) Snapshot() []byte {
	w := new(bytes.Buffer)
	if err := labgob.NewEncoder(w).Encode(kv.data); err != nil {
		log.Fatalf("kvraft: server %d: encode snapshot: %v", kv.me, err)
	}
	return w.Bytes()
}

// Restore replaces the store with a snapshot's.
func (kv *KVServer) Restore(data []byte) {
	var restored map[string]entry
	if err := labgob.NewDecoder(bytes.NewBuffer(data)).Decode(&restored); err != nil {
		log.Fatalf("kvraft: server %d: decode snapshot: %v", kv.me, err)
	}
	kv.data = restored
}
