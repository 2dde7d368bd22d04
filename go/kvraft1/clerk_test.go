package kvraft_test

// The Clerk's retry rules, against scripted servers: which answers send it to another server, and when a Put
// that met ErrVersion must be reported as ErrMaybe.

import (
	"sync"
	"testing"
	"time"

	kvraft "6.5840/kvraft1"
	"6.5840/kvsrv1/rpc"
	"6.5840/labrpc"
	tester "6.5840/tester1"
)

// answer is one scripted reply to a Put; a delay beyond the clerk's patience makes the attempt look lost.
type answer struct {
	err   rpc.Err
	delay time.Duration
}

// KVServer is a scripted stand-in, registered under the real service's name.
type KVServer struct {
	mu     sync.Mutex
	script []answer
	calls  int
}

func (s *KVServer) Put(args *rpc.PutArgs, reply *rpc.PutReply) {
	s.mu.Lock()
	a := answer{err: rpc.ErrWrongLeader}
	if s.calls < len(s.script) {
		a = s.script[s.calls]
	}
	s.calls++
	s.mu.Unlock()
	time.Sleep(a.delay)
	reply.Err = a.err
}

func (s *KVServer) Get(args *rpc.GetArgs, reply *rpc.GetReply) { reply.Err = rpc.ErrWrongLeader }

func (s *KVServer) Kill() {}

// scriptedPut runs one Put of a fresh clerk against servers answering as scripted.
func scriptedPut(t *testing.T, scripts ...[]answer) rpc.Err {
	fakes := make([]*KVServer, len(scripts))
	for i, script := range scripts {
		fakes[i] = &KVServer{script: script}
	}
	cfg := tester.MakeConfig(t, len(scripts), true,
		func(_ []*labrpc.ClientEnd, _ tester.Tgid, srv int, _ *tester.Persister) []tester.IService {
			return []tester.IService{fakes[srv]}
		})
	defer cfg.Cleanup()
	ck := kvraft.MakeClerk(cfg.MakeClient(), cfg.Group(tester.GRP0).SrvNames())
	return ck.Put("k", "v", 1)
}

func TestClerkRetries4B(t *testing.T) {
	lost := answer{err: rpc.OK, delay: 1500 * time.Millisecond} // applied, but the clerk gives up first
	cases := []struct {
		name    string
		scripts [][]answer
		want    rpc.Err
	}{
		{"a follower, then the leader's refusal", [][]answer{{{err: rpc.ErrWrongLeader}}, {{err: rpc.ErrVersion}}},
			rpc.ErrVersion},
		{"a lost reply, then a refusal", [][]answer{{lost, {err: rpc.ErrVersion}}}, rpc.ErrMaybe},
		{"a leader that lost its term, then a refusal", [][]answer{{{err: rpc.ErrMaybe}}, {{err: rpc.ErrVersion}}},
			rpc.ErrMaybe},
		{"a lost reply, then success", [][]answer{{lost, {err: rpc.OK}}}, rpc.OK},
		{"no key", [][]answer{{{err: rpc.ErrNoKey}}}, rpc.ErrNoKey},
	}
	for _, c := range cases {
		if got := scriptedPut(t, c.scripts...); got != c.want {
			t.Errorf("%s: Put returned %v, want %v", c.name, got, c.want)
		}
	}
}
