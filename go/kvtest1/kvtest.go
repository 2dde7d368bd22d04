// Package kvtest runs the tests of the services built on Raft (rsm, kvraft): it starts a group of servers in
// either peer mode, records every client operation with its call and return times, and checks the history for
// linearizability with porcupine.
//
// Peer modes, chosen by RAFT_PEERS as for the Raft tests:
//   - local (the default): every server lives in the test process, the 2025 lab's model; a crash kills its
//     services and keeps a copy of its Persister.
//   - process: every server is a daemon (a main file under go/main that calls tester.RunServiceDaemon), the 2026
//     lab's model; its clients' and its peers' RPCs all cross the tester's network, and a crash checkpoints its
//     storage and SIGKILLs it. The daemon is built once per test binary, with -race if the tests have it, so a
//     test never runs a stale one.
package kvtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"6.5840/kvsrv1/rpc"
	"6.5840/labrpc"
	tester "6.5840/tester1"
)

// IKVClerk is a key/value client: what the tests drive and what the history records.
type IKVClerk interface {
	Get(key string) (string, rpc.Tversion, rpc.Err)
	Put(key string, value string, version rpc.Tversion) rpc.Err
}

// Service says how to run one server of a service in either mode.
type Service struct {
	Start  tester.ServiceFunc // in the test process
	Daemon string             // the daemon's main file, relative to the module root, e.g. "main/kvraft1d.go"
	// MakeClerk makes a client of the service's servers; nil for services without a key/value clerk.
	MakeClerk func(clnt *tester.Clnt, servers []string) IKVClerk
}

// Options describe one test's group.
type Options struct {
	Service      Service
	Servers      int
	Reliable     bool
	MaxRaftState int    // passed to every server; -1: no snapshots
	Mode         string // "local" or "process"; empty: RAFT_PEERS, else local
}

// Modes are the peer modes these tests run in.
var Modes = []string{"local", "process"}

// PeerMode is the mode RAFT_PEERS asks for.
func PeerMode() string {
	if mode := os.Getenv("RAFT_PEERS"); mode != "" {
		return mode
	}
	return "local"
}

// Test is one test's world: the tester config with its group GRP0, the clients' history, and the daemons.
type Test struct {
	*tester.Config
	t    testing.TB
	opts Options
	mode string
	log  *OpLog

	sockets string // the daemons' socket directory, process mode only

	mu       sync.Mutex
	running  bool // until Cleanup: daemon failures may still be reported to t
	nclients int
}

// MakeTest starts the group: opts.Servers servers, all connected.
func MakeTest(t testing.TB, opts Options) *Test {
	t.Helper()
	ts := &Test{t: t, opts: opts, mode: opts.Mode, log: NewOpLog(), running: true}
	if ts.mode == "" {
		ts.mode = PeerMode()
	}
	var mks tester.FstartServer
	switch ts.mode {
	case "local":
		mks = func(ends []*labrpc.ClientEnd, gid tester.Tgid, srv int, persister *tester.Persister) []tester.IService {
			return opts.Service.Start(ends, gid, srv, persister, opts.MaxRaftState)
		}
	case "process":
		bin, err := daemonBinary(opts.Service.Daemon)
		if err != nil {
			t.Fatal(err)
		}
		// Socket paths must stay short (about 100 bytes), so not under t.TempDir's long names.
		if ts.sockets, err = os.MkdirTemp("", "kv-"); err != nil {
			t.Fatal(err)
		}
		mks = ts.daemonStart(bin)
	default:
		t.Fatalf("RAFT_PEERS=%q: the services' tests run in mode local (every server in the test process) or "+
			"process (one process per server)", ts.mode)
	}
	ts.Config = tester.MakeConfigTB(t, opts.Servers, opts.Reliable, mks)
	return ts
}

// daemonStart is the group's start function in process mode: a new daemon from the server's saved storage.
func (ts *Test) daemonStart(bin string) tester.FstartServer {
	return func(ends []*labrpc.ClientEnd, gid tester.Tgid, srv int, persister *tester.Persister) []tester.IService {
		spec := tester.DaemonSpec{
			Binary:       bin,
			Dir:          ts.sockets,
			Gid:          gid,
			MaxRaftState: ts.opts.MaxRaftState,
			OnExit:       func(srv int, err error) { ts.fail("%v", err) },
		}
		p, err := tester.StartDaemon(spec, srv, ends, persister)
		if err != nil {
			ts.fail("%v", err)
			return nil
		}
		return []tester.IService{p}
	}
}

// fail reports a failure found off the test's goroutine, such as a daemon that died by itself.
func (ts *Test) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Println(msg)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.running {
		ts.t.Error(msg)
	}
}

// Mode is the peer mode this test runs in.
func (ts *Test) Mode() string { return ts.mode }

// G is the test's group of servers.
func (ts *Test) G() *tester.Group { return ts.Group(tester.GRP0) }

// Cleanup kills every server and closes the network, then applies the time limit (tests only).
func (ts *Test) Cleanup() {
	ts.mu.Lock()
	ts.running = false
	ts.mu.Unlock()
	if _, isTest := ts.t.(*testing.T); isTest {
		ts.Config.Cleanup()
	} else {
		// A benchmark runs longer than a test may.
		ts.G().Shutdown()
		ts.Net().Cleanup()
	}
	if ts.sockets != "" {
		os.RemoveAll(ts.sockets)
	}
}

// MakeClerk returns a recorded clerk connected to every server.
func (ts *Test) MakeClerk() IKVClerk {
	return ts.MakeClerkOn(ts.MakeClient())
}

// MakeClerkOn returns a recorded clerk that talks through clnt, which the test may cut off from some servers.
func (ts *Test) MakeClerkOn(clnt *tester.Clnt) IKVClerk {
	ts.mu.Lock()
	id := ts.nclients
	ts.nclients++
	ts.mu.Unlock()
	return ts.log.Record(id, ts.opts.Service.MakeClerk(clnt, ts.G().SrvNames()))
}

// Names maps server indices to server names, for Clnt.ConnectTo.
func (ts *Test) Names(servers []int) []string {
	names := make([]string, 0, len(servers))
	for _, i := range servers {
		names = append(names, ts.G().ServerName(i))
	}
	return names
}

// Leader returns a connected server that believes it leads in the highest term any of them reports, asking
// each Raft (in either mode, through whatever service answers GetState); ok is false if none does.
func (ts *Test) Leader() (leader int, ok bool) {
	g := ts.G()
	best := -1
	for i := range g.N() {
		if !g.IsConnected(i) {
			continue
		}
		for _, svc := range g.Services(i) {
			if rf, isRaft := svc.(interface{ GetState() (int, bool) }); isRaft {
				if term, isLeader := rf.GetState(); isLeader && term > best {
					best, leader = term, i
				}
				break
			}
		}
	}
	return leader, best >= 0
}

// CrashAll crashes every server.
func (ts *Test) CrashAll() { ts.G().Shutdown() }

// RestartAll starts every crashed server from its saved storage and connects it.
func (ts *Test) RestartAll() {
	g := ts.G()
	for i := range g.N() {
		if !g.IsAlive(i) {
			g.StartServer(i)
		}
	}
	g.ConnectAll()
}

// History is the recorded client history.
func (ts *Test) History() *OpLog { return ts.log }

// CheckPorcupine fails the test unless every recorded operation so far is linearizable.
func (ts *Test) CheckPorcupine() {
	ts.t.Helper()
	if err := ts.log.Check(ts.t.Name()); err != nil {
		ts.t.Fatal(err)
	}
}

var daemons struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string // main file -> binary
}

// daemonBinary builds the daemon whose main file is src (relative to the module root) once per test binary,
// with the tests' -race setting, since a daemon built earlier may hold older code.
func daemonBinary(src string) (string, error) {
	daemons.mu.Lock()
	defer daemons.mu.Unlock()
	if bin, ok := daemons.bins[src]; ok {
		return bin, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	if daemons.dir == "" {
		if daemons.dir, err = os.MkdirTemp("", "kvd-bin-"); err != nil {
			return "", err
		}
		daemons.bins = map[string]string{}
	}
	bin := filepath.Join(daemons.dir, filepath.Base(src[:len(src)-len(filepath.Ext(src))]))
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, src)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", src, err, out)
	}
	daemons.bins[src] = bin
	return bin, nil
}

// moduleRoot is the directory of the go.mod above the working directory (a test runs in its package's).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Main runs a test binary's tests and then removes the daemons it built; call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	daemons.mu.Lock()
	if daemons.dir != "" {
		os.RemoveAll(daemons.dir)
	}
	daemons.mu.Unlock()
	os.Exit(code)
}
