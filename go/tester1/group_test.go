package tester

import (
	"sync"
	"testing"

	"6.5840/labrpc"
)

type PingArgs struct{ From int }
type PingReply struct{ To int }

// pinger is a minimal peer: it answers pings and records being killed.
type pinger struct {
	me     int
	ends   []*labrpc.ClientEnd
	ps     *Persister
	mu     sync.Mutex
	killed bool
}

func (p *pinger) Ping(args *PingArgs, reply *PingReply) { reply.To = p.me }

func (p *pinger) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killed = true
}

func (p *pinger) ping(to int) bool {
	var reply PingReply
	return p.ends[to].Call("pinger.Ping", &PingArgs{From: p.me}, &reply) && reply.To == to
}

// newTestGroup starts n pingers on a network whose failures are quick (long delays off).
func newTestGroup(t *testing.T, n int) (*Group, func() []*pinger) {
	net := labrpc.MakeNetwork()
	t.Cleanup(net.Cleanup)
	var mu sync.Mutex
	current := make([]*pinger, n)
	g := newGroup(net, GRP0, n, func(ends []*labrpc.ClientEnd, _ Tgid, srv int, ps *Persister) []IService {
		p := &pinger{me: srv, ends: ends, ps: ps}
		mu.Lock()
		current[srv] = p
		mu.Unlock()
		return []IService{p}
	})
	g.StartServers()
	g.ConnectAll()
	return g, func() []*pinger {
		mu.Lock()
		defer mu.Unlock()
		return append([]*pinger(nil), current...)
	}
}

func TestGroupPartitions(t *testing.T) {
	g, peers := newTestGroup(t, 3)
	ps := peers()
	if !ps[0].ping(1) || !ps[1].ping(2) {
		t.Fatal("connected peers cannot talk")
	}

	// Disconnect cuts both directions.
	g.DisconnectAll(1)
	if ps[0].ping(1) || ps[1].ping(0) {
		t.Fatal("a disconnected peer is still reachable")
	}
	if !ps[0].ping(2) {
		t.Fatal("disconnecting one peer cut the others")
	}

	// ConnectOne links only toward peers that are connected themselves.
	g.DisconnectAll(2)
	g.ConnectOne(1)
	if !ps[0].ping(1) || !ps[1].ping(0) {
		t.Fatal("reconnected peer cannot reach a connected one")
	}
	if ps[1].ping(2) || ps[2].ping(1) {
		t.Fatal("ConnectOne linked to a disconnected peer")
	}
}

func TestGroupCrashAndRestart(t *testing.T) {
	g, peers := newTestGroup(t, 3)
	old := peers()[1]
	old.ps.Save([]byte("before"), []byte("snap"))

	g.ShutdownServer(1)
	if !old.killed {
		t.Fatal("ShutdownServer did not Kill the services")
	}
	if g.IsAlive(1) || g.IsConnected(1) {
		t.Fatal("crashed peer is still alive or connected")
	}
	// The dead incarnation's late writes are lost.
	old.ps.Save([]byte("after"), nil)

	g.StartServer(1)
	g.ConnectOne(1)
	fresh := peers()[1]
	if fresh == old || fresh.ps == old.ps {
		t.Fatal("restart reused the old incarnation or its persister")
	}
	if string(fresh.ps.ReadRaftState()) != "before" || string(fresh.ps.ReadSnapshot()) != "snap" {
		t.Fatalf("restart saw state %q snapshot %q; want what was saved before the crash",
			fresh.ps.ReadRaftState(), fresh.ps.ReadSnapshot())
	}
	if !peers()[0].ping(1) || !fresh.ping(0) {
		t.Fatal("restarted peer is not reachable")
	}
	// The old incarnation's ends stay dead.
	if old.ping(0) {
		t.Fatal("the crashed incarnation can still send")
	}
	if g.RpcCount(1) != 1 {
		t.Fatalf("restarted peer's count %d, want 1 (counts restart with the server)", g.RpcCount(1))
	}
}

func TestRandstring(t *testing.T) {
	s := Randstring(5000)
	if len(s) != 5000 {
		t.Fatalf("length %d", len(s))
	}
	if Randstring(20) == Randstring(20) {
		t.Fatal("two random names are equal")
	}
}

func TestGroupPartitionInTwo(t *testing.T) {
	g, peers := newTestGroup(t, 5)
	ps := peers()
	g.Partition([]int{0, 1}, []int{2, 3})
	if !ps[0].ping(1) || !ps[2].ping(3) || !ps[3].ping(2) {
		t.Fatal("peers on the same side cannot talk")
	}
	if ps[0].ping(2) || ps[3].ping(1) {
		t.Fatal("peers on opposite sides can talk")
	}
	if ps[4].ping(0) || ps[2].ping(4) || g.IsConnected(4) {
		t.Fatal("a peer in neither side is reachable or marked connected")
	}
	g.ConnectAll()
	if !ps[0].ping(2) || !ps[4].ping(3) {
		t.Fatal("ConnectAll did not heal the partition")
	}
}

func TestClntReachesOnlyWhatItIsConnectedTo(t *testing.T) {
	cfg := MakeConfig(t, 3, true, func(ends []*labrpc.ClientEnd, _ Tgid, srv int, ps *Persister) []IService {
		return []IService{&pinger{me: srv, ends: ends, ps: ps}}
	})
	cfg.Net().LongDelays(false)
	t.Cleanup(cfg.Cleanup)
	g := cfg.Group(GRP0)
	clnt := cfg.MakeClient()
	reaches := func(i int) bool {
		var reply PingReply
		return clnt.Call(g.ServerName(i), "pinger.Ping", &PingArgs{From: -1}, &reply) && reply.To == i
	}
	if !reaches(0) || !reaches(2) {
		t.Fatal("a new client cannot reach every server")
	}
	clnt.ConnectTo([]string{g.ServerName(1)})
	if reaches(0) || reaches(2) || !reaches(1) {
		t.Fatal("ConnectTo did not limit the client to the one server")
	}
	// A partition of the servers leaves clients' links alone.
	g.DisconnectAll(1)
	if !reaches(1) {
		t.Fatal("cutting a server off from its peers cut the client off too")
	}
	clnt.ConnectAll()
	if !reaches(0) || !reaches(2) {
		t.Fatal("ConnectAll did not restore the client's links")
	}
	clnt.DisconnectAll()
	if reaches(1) {
		t.Fatal("a disconnected client still reaches a server")
	}
}
