package tester

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"6.5840/labrpc"
	"6.5840/raftapi"
)

// daemonFixture is a group of two fakepeer processes on a tester network without long delays.
type daemonFixture struct {
	cfg     *Config
	g       *Group
	applied chan raftapi.ApplyMsg
	exits   chan error
	peers   [2]*DaemonPeer
}

func newDaemonFixture(t *testing.T) *daemonFixture {
	dir, err := os.MkdirTemp("", "fp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "fakepeer")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/fakepeer").CombinedOutput(); err != nil {
		t.Fatalf("building fakepeer: %v\n%s", err, out)
	}
	f := &daemonFixture{applied: make(chan raftapi.ApplyMsg, 100), exits: make(chan error, 10)}
	spec := DaemonSpec{
		Binary: bin,
		Dir:    dir,
		OnApply: func(srv int, m raftapi.ApplyMsg) []byte {
			if srv != 0 {
				return nil
			}
			f.applied <- m
			if m.CommandValid && m.CommandIndex%2 == 0 {
				return []byte(fmt.Sprintf("snap-%d", m.CommandIndex))
			}
			return nil
		},
		OnExit: func(srv int, err error) { f.exits <- err },
	}
	mks := func(ends []*labrpc.ClientEnd, _ Tgid, srv int, persister *Persister) []IService {
		p, err := StartDaemon(spec, srv, ends, persister)
		if err != nil {
			t.Errorf("start peer %d: %v", srv, err)
			return nil
		}
		f.peers[srv] = p
		return []IService{p}
	}
	f.cfg = MakeConfig(t, 2, true, mks)
	f.cfg.Net().LongDelays(false)
	f.g = f.cfg.Group(GRP0)
	t.Cleanup(f.cfg.Cleanup)
	return f
}

func (f *daemonFixture) nextApplied(t *testing.T) raftapi.ApplyMsg {
	t.Helper()
	select {
	case m := <-f.applied:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no applied message within 10 s")
		return raftapi.ApplyMsg{}
	}
}

func TestDaemonForwardsThroughTheNetwork(t *testing.T) {
	f := newDaemonFixture(t)
	if term, ok := f.peers[0].GetState(); !ok || term != 1 {
		t.Fatalf("peer 0 could not ping peer 1 through the tester: term %d ok %v", term, ok)
	}
	if got := f.g.RpcCount(1); got != 1 {
		t.Fatalf("peer 1's server counted %d requests, want 1", got)
	}
	f.g.DisconnectAll(1)
	if _, ok := f.peers[0].GetState(); ok {
		t.Fatal("peer 0 reached peer 1 although the tester cut it off")
	}
	if got := f.cfg.RpcTotal(); got != 2 {
		t.Fatalf("network counted %d calls, want 2 (the lost one included)", got)
	}
}

func TestDaemonAppliesSnapshotsAndSurvivesCrash(t *testing.T) {
	f := newDaemonFixture(t)
	for want := 1; want <= 2; want++ {
		if index, _, ok := f.peers[0].Start(100 + want); !ok || index != want {
			t.Fatalf("Start: index %d ok %v, want %d", index, ok, want)
		}
		if m := f.nextApplied(t); !m.CommandValid || m.CommandIndex != want || m.Command != 100+want {
			t.Fatalf("applied %+v, want command %d at %d", m, 100+want, want)
		}
	}
	// The tester's answer to index 2 was a snapshot; the peer confirms it took it.
	if m := f.nextApplied(t); !m.SnapshotValid || string(m.Snapshot) != "snap-2" {
		t.Fatalf("applied %+v, want the snapshot for index 2", m)
	}

	f.g.ShutdownServer(0)
	saved := f.g.Persister(0)
	if state, snap := string(saved.ReadRaftState()), string(saved.ReadSnapshot()); state != "2" || snap != "snap-2" {
		t.Fatalf("checkpoint holds state %q snapshot %q, want \"2\" and \"snap-2\"", state, snap)
	}
	if _, _, ok := f.peers[0].Start(1); ok {
		t.Fatal("a killed peer accepted Start")
	}

	f.g.StartServer(0)
	f.g.ConnectOne(0)
	if index, _, ok := f.peers[0].Start(103); !ok || index != 3 {
		t.Fatalf("restarted peer: Start gave index %d ok %v, want 3 (its storage came back)", index, ok)
	}
	select {
	case err := <-f.exits:
		t.Fatalf("a killed peer was reported as exiting by itself: %v", err)
	default:
	}
}

func TestDaemonThatDiesIsReported(t *testing.T) {
	f := newDaemonFixture(t)
	f.peers[1].Start("exit")
	select {
	case err := <-f.exits:
		if !strings.Contains(err.Error(), "peer 1") {
			t.Fatalf("exit report %q does not name peer 1", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a peer process that exited was not reported")
	}
}

// TestServiceDaemon: a daemon built with RunServiceDaemon serves its service's RPCs to clients and peers through
// the tester's network, gets its group and snapshot threshold, reports its storage, and keeps it across a crash.
func TestServiceDaemon(t *testing.T) {
	dir, err := os.MkdirTemp("", "fs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "fakeservice")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/fakeservice").CombinedOutput(); err != nil {
		t.Fatalf("building fakeservice: %v\n%s", err, out)
	}
	exits := make(chan error, 10)
	peers := make([]*DaemonPeer, 2)
	spec := DaemonSpec{Binary: bin, Dir: dir, Gid: 7, MaxRaftState: 1234, OnExit: func(_ int, err error) { exits <- err }}
	cfg := MakeConfig(t, 2, true, func(ends []*labrpc.ClientEnd, gid Tgid, srv int, persister *Persister) []IService {
		p, err := StartDaemon(spec, srv, ends, persister)
		if err != nil {
			t.Errorf("start peer %d: %v", srv, err)
			return nil
		}
		peers[srv] = p
		return []IService{p}
	})
	cfg.Net().LongDelays(false)
	t.Cleanup(cfg.Cleanup)
	g := cfg.Group(GRP0)
	clnt := cfg.MakeClient()

	type helloArgs struct {
		Save  string
		Relay bool
	}
	type helloReply struct {
		Me, Gid, MaxRaftState int
		Saved                 string
		Relayed               int
	}
	var reply helloReply
	if !clnt.Call(g.ServerName(1), "Echo.Hello", &helloArgs{Save: "abc", Relay: true}, &reply) {
		t.Fatal("a client's call to a service daemon failed")
	}
	if want := (helloReply{Me: 1, Gid: 7, MaxRaftState: 1234, Saved: "abc", Relayed: 0}); reply != want {
		t.Fatalf("Echo.Hello answered %+v, want %+v", reply, want)
	}
	if state, snap := g.StorageSizes(1); state != 3 || snap != 0 {
		t.Fatalf("peer 1 reports storage %d/%d bytes, want 3/0", state, snap)
	}
	if term, leader := peers[0].GetState(); term != 1 || !leader {
		t.Fatalf("GetState through the daemon: %d %v, want the service's answer 1 true", term, leader)
	}

	g.ShutdownServer(1)
	g.StartServer(1)
	g.ConnectOne(1)
	reply = helloReply{}
	if !clnt.Call(g.ServerName(1), "Echo.Hello", &helloArgs{}, &reply) || reply.Saved != "abc" {
		t.Fatalf("after a restart peer 1 answered %+v; want its saved \"abc\" back", reply)
	}
	clnt.DisconnectAll()
	if clnt.Call(g.ServerName(1), "Echo.Hello", &helloArgs{}, &reply) {
		t.Fatal("a client cut off from every server still reached one")
	}
	select {
	case err := <-exits:
		t.Fatalf("a killed peer was reported as exiting by itself: %v", err)
	default:
	}
}
