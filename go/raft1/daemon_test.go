package raft_test

// The per-process mode: each peer is a raft1d process (go/main/raft1d.go) built from this same shim with the
// tests' own -race setting, the 2026 lab's model. The tests are the same; only the cluster differs. Select it with
// RAFT_PEERS=process.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"

	"6.5840/labrpc"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

// raceEnabled: whether this test binary runs under the race detector, read from its build settings (one file for
// both cases, as a lab tree's single test file needs), so that peer daemons are built to match.
var raceEnabled = func() bool {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}()

func init() {
	clusterModes["process"] = func(chk *checker, snapshot bool, n int) (cluster, tester.FstartServer, error) {
		dc, err := newDaemonCluster(chk, snapshot, n)
		if err != nil {
			return nil, nil, err
		}
		return dc, dc.mksrv, nil
	}
}

var daemonBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// daemonBinary builds raft1d once per test binary, with -race when the tests have it: the lab builds its daemon
// with -race too, and a stale daemon would silently test old code, so it is always rebuilt here.
func daemonBinary() (string, error) {
	b := &daemonBuild
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "raft1d-bin-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "raft1d")
		args := []string{"build", "-o", b.bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "../main/raft1d.go")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building raft1d: %v\n%s", err, out)
		}
	})
	return b.bin, b.err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if daemonBuild.dir != "" {
		os.RemoveAll(daemonBuild.dir)
	}
	os.Exit(code)
}

// daemonCluster runs every peer in its own process; the checker stays here and sees each applied message over
// the peer's socket, answering with the snapshot the peer must take.
type daemonCluster struct {
	groupCluster
	chk      *checker
	snapshot bool
	spec     tester.DaemonSpec

	mu    sync.Mutex
	peers []*tester.DaemonPeer // current incarnation of each peer; nil if it failed to start
}

func newDaemonCluster(chk *checker, snapshot bool, n int) (*daemonCluster, error) {
	bin, err := daemonBinary()
	if err != nil {
		return nil, err
	}
	// Socket paths must stay short (about 100 bytes), so not under t.TempDir's long names.
	dir, err := os.MkdirTemp("", "raft1d-")
	if err != nil {
		return nil, err
	}
	dc := &daemonCluster{chk: chk, snapshot: snapshot, peers: make([]*tester.DaemonPeer, n)}
	dc.spec = tester.DaemonSpec{
		Binary: bin,
		Dir:    dir,
		OnExit: func(srv int, err error) { chk.failf("%v", err) },
	}
	return dc, nil
}

// mksrv is the group's start function: a fresh record in the checker, then a new process that runs Make.
func (dc *daemonCluster) mksrv(ends []*labrpc.ClientEnd, _ tester.Tgid, srv int, persister *tester.Persister) []tester.IService {
	l := dc.chk.newIncarnation(srv)
	if dc.snapshot {
		if snap := persister.ReadSnapshot(); len(snap) > 0 {
			dc.chk.ingest(l, snap, -1)
		}
	}
	spec := dc.spec
	spec.OnApply = func(_ int, m raftapi.ApplyMsg) []byte { return dc.chk.deliver(l, m, dc.snapshot) }
	p, err := tester.StartDaemon(spec, srv, ends, persister)
	dc.mu.Lock()
	dc.peers[srv] = p
	dc.mu.Unlock()
	if err != nil {
		dc.chk.failf("%v", err)
		return nil
	}
	return []tester.IService{p}
}

func (dc *daemonCluster) peer(i int) *tester.DaemonPeer {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	return dc.peers[i]
}

func (dc *daemonCluster) n() int { return len(dc.peers) }

func (dc *daemonCluster) start(i int, cmd interface{}) (int, int, bool) {
	if p := dc.peer(i); p != nil && dc.alive(i) {
		return p.Start(cmd)
	}
	return -1, -1, false
}

func (dc *daemonCluster) getState(i int) (int, bool) {
	if p := dc.peer(i); p != nil && dc.alive(i) {
		return p.GetState()
	}
	return 0, false
}

// raftSize asks live peers for their storage size; a crashed peer's is its last checkpoint.
func (dc *daemonCluster) raftSize() int {
	max := 0
	for i := 0; i < dc.n(); i++ {
		size := dc.g.Persister(i).RaftStateSize()
		if p := dc.peer(i); p != nil && dc.alive(i) {
			size = p.RaftStateSize()
		}
		if size > max {
			max = size
		}
	}
	return max
}

func (dc *daemonCluster) restart(i int) { restartOne(dc.g, i) }

func (dc *daemonCluster) close() { os.RemoveAll(dc.spec.Dir) }
