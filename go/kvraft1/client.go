package kvraft

// The Clerk: finds the leader among the servers, remembers it, and retries an operation until some server gives
// a definite answer.

import (
	"sync/atomic"
	"time"

	"6.5840/kvsrv1/rpc"
	tester "6.5840/tester1"
)

const (
	// attemptTimeout bounds one RPC. A call to a crashed or unreachable server fails only after up to 7 s, and
	// one to a leader stranded in a minority waits until it hears of a new term; meanwhile another server may
	// be able to answer. An abandoned attempt may still run on its server, so a Put that timed out counts as one
	// that may have applied.
	attemptTimeout = time.Second
	// roundPause is the wait after every server said it is not the leader: an election is under way.
	roundPause = 50 * time.Millisecond
	// lostPause is the wait after a round in which some attempt got no answer: on a lossy network the leader is
	// most likely still the one just tried, so the clerk goes round again soon, but not at once, since calls on
	// a closed network fail at once and a clerk left running would spin.
	lostPause = 10 * time.Millisecond
)

// Clerk is one client of the service. Its methods block until they have an answer, so a test stops a clerk by
// healing the network, never by abandoning it.
type Clerk struct {
	clnt    *tester.Clnt
	servers []string
	leader  atomic.Int32 // index of the server that last answered; tried first
}

// MakeClerk returns a clerk that reaches the named servers through clnt.
func MakeClerk(clnt *tester.Clnt, servers []string) *Clerk {
	return &Clerk{clnt: clnt, servers: servers}
}

// Get returns key's value and version, or ErrNoKey if it has none.
func (ck *Clerk) Get(key string) (string, rpc.Tversion, rpc.Err) {
	args := rpc.GetArgs{Key: key}
	for {
		first := int(ck.leader.Load())
		lost := false
		for k := range len(ck.servers) {
			i := (first + k) % len(ck.servers)
			reply, ok := attempt[rpc.GetReply](ck, ck.servers[i], "KVServer.Get", &args)
			if !ok {
				lost = true
				continue
			}
			if reply.Err == rpc.ErrWrongLeader {
				continue
			}
			ck.leader.Store(int32(i))
			return reply.Value, reply.Version, reply.Err
		}
		if lost {
			time.Sleep(lostPause)
		} else {
			time.Sleep(roundPause)
		}
	}
}

// Put sets key to value if key's version is version (0 creates the key). It returns OK, ErrNoKey or
// ErrVersion, except when an earlier try of this Put may have applied and a later one met ErrVersion: that may
// be the earlier try's own effect, so the answer is ErrMaybe.
func (ck *Clerk) Put(key string, value string, version rpc.Tversion) rpc.Err {
	args := rpc.PutArgs{Key: key, Value: value, Version: version}
	mayHaveApplied := false
	for {
		first := int(ck.leader.Load())
		lost := false
		for k := range len(ck.servers) {
			i := (first + k) % len(ck.servers)
			reply, ok := attempt[rpc.PutReply](ck, ck.servers[i], "KVServer.Put", &args)
			if !ok || reply.Err == rpc.ErrMaybe {
				mayHaveApplied = true
				lost = true
				continue
			}
			if reply.Err == rpc.ErrWrongLeader {
				continue
			}
			ck.leader.Store(int32(i))
			if reply.Err == rpc.ErrVersion && mayHaveApplied {
				return rpc.ErrMaybe
			}
			return reply.Err
		}
		if lost {
			time.Sleep(lostPause)
		} else {
			time.Sleep(roundPause)
		}
	}
}

// attempt makes one RPC and waits for it at most attemptTimeout. The reply is private to the attempt, so a late
// one lands where nobody looks.
func attempt[R any](ck *Clerk, server string, svcMeth string, args any) (R, bool) {
	type result struct {
		reply R
		ok    bool
	}
	done := make(chan result, 1)
	go func() {
		var reply R
		ok := ck.clnt.Call(server, svcMeth, args, &reply)
		done <- result{reply, ok}
	}()
	timer := time.NewTimer(attemptTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.reply, r.ok
	case <-timer.C:
		var zero R
		return zero, false
	}
}
