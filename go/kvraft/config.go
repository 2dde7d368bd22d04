package kvraft

// The test harness, a non-test file of the package as in the classic lab tree: a labrpc network of key/value
// servers over per-server Persisters, clerks with ends of their own, and the faults the tests inflict
// (partitions, crashes and restarts, an unreliable network), with the figures each test reports at its end.

import (
	"fmt"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"6.5840/labrpc"
	"6.5840/raft"
)

// maxTestTime is the per-test wall-clock limit the lab grades by.
const maxTestTime = 120 * time.Second

type config struct {
	t            *testing.T
	net          *labrpc.Network
	n            int
	maxraftstate int
	start        time.Time // makeConfig; the time limit counts from here

	mu        sync.Mutex
	kvservers []*KVServer // nil while crashed
	saved     []*raft.Persister
	ends      [][]string          // ends[i][j]: the name of server i's end to server j
	clerks    map[*Clerk][]string // a clerk's end names, by server
	nextEnd   int

	// What end reports, counted from begin.
	t0    time.Time
	rpcs0 int
	ops   int32
}

// makeConfig starts n connected servers on a fresh network. maxraftstate goes to every server (-1: no
// snapshots).
func makeConfig(t *testing.T, n int, unreliable bool, maxraftstate int) *config {
	// The lab pins this so scheduling pressure is comparable across machines.
	runtime.GOMAXPROCS(4)
	cfg := &config{
		t:            t,
		net:          labrpc.MakeNetwork(),
		n:            n,
		maxraftstate: maxraftstate,
		start:        time.Now(),
		kvservers:    make([]*KVServer, n),
		saved:        make([]*raft.Persister, n),
		ends:         make([][]string, n),
		clerks:       map[*Clerk][]string{},
	}
	cfg.net.Reliable(!unreliable)
	for i := 0; i < n; i++ {
		cfg.saved[i] = raft.MakePersister()
		cfg.startServer(i)
	}
	cfg.connectAll()
	return cfg
}

// cleanup kills every server and closes the network, then applies the time limit. All tests share one process,
// so servers left running would slow the tests after this one.
func (cfg *config) cleanup() {
	for i := 0; i < cfg.n; i++ {
		cfg.shutdownServer(i)
	}
	cfg.net.Cleanup()
	cfg.checkTimeout()
}

func (cfg *config) checkTimeout() {
	if !cfg.t.Failed() && time.Since(cfg.start) > maxTestTime {
		cfg.t.Fatal("test took longer than 120 seconds")
	}
}

// all lists every server.
func (cfg *config) all() []int {
	all := make([]int, cfg.n)
	for i := range all {
		all[i] = i
	}
	return all
}

// newEndName returns a name no end on this network has had; the caller holds cfg.mu.
func (cfg *config) newEndName() string {
	cfg.nextEnd++
	return fmt.Sprintf("end-%d", cfg.nextEnd)
}

// connect enables the links both ways between server i and each server in to.
func (cfg *config) connect(i int, to []int) {
	cfg.setLinks(i, to, true)
}

// disconnect disables the links both ways between server i and each server in from.
func (cfg *config) disconnect(i int, from []int) {
	cfg.setLinks(i, from, false)
}

func (cfg *config) setLinks(i int, peers []int, enabled bool) {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	for _, j := range peers {
		if cfg.ends[i] != nil {
			cfg.net.Enable(cfg.ends[i][j], enabled)
		}
		if cfg.ends[j] != nil {
			cfg.net.Enable(cfg.ends[j][i], enabled)
		}
	}
}

func (cfg *config) connectAll() {
	for i := 0; i < cfg.n; i++ {
		cfg.connect(i, cfg.all())
	}
}

// partition splits the servers into p1 and p2: links within each side work, links across do not. Clerks are
// not touched; connectClient points them at a side.
func (cfg *config) partition(p1 []int, p2 []int) {
	for _, i := range p1 {
		cfg.disconnect(i, p2)
		cfg.connect(i, p1)
	}
	for _, i := range p2 {
		cfg.disconnect(i, p1)
		cfg.connect(i, p2)
	}
}

// makePartition proposes a split into a majority holding the current leader (if any) and the rest.
func (cfg *config) makePartition() (p1 []int, p2 []int) {
	_, l := cfg.leader()
	p1 = []int{l}
	for i := 0; i < cfg.n; i++ {
		if i == l {
			continue
		}
		if len(p1) < cfg.n/2+1 {
			p1 = append(p1, i)
		} else {
			p2 = append(p2, i)
		}
	}
	return p1, p2
}

// makeClient returns a clerk with ends of its own, connected to the servers in to. Its ends are in a random
// order, so clerks do not all start with the same server and each must find the leader.
func (cfg *config) makeClient(to []int) *Clerk {
	cfg.mu.Lock()
	names := make([]string, cfg.n)
	ends := make([]*labrpc.ClientEnd, cfg.n)
	for j := 0; j < cfg.n; j++ {
		names[j] = cfg.newEndName()
		ends[j] = cfg.net.MakeEnd(names[j])
		cfg.net.Connect(names[j], j)
	}
	shuffled := make([]*labrpc.ClientEnd, cfg.n)
	for k, j := range rand.Perm(cfg.n) {
		shuffled[k] = ends[j]
	}
	ck := MakeClerk(shuffled)
	cfg.clerks[ck] = names
	cfg.mu.Unlock()
	cfg.connectClient(ck, to)
	return ck
}

// deleteClient cuts a clerk off for good; its ends stay on the network, disabled.
func (cfg *config) deleteClient(ck *Clerk) {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	for _, name := range cfg.clerks[ck] {
		cfg.net.Enable(name, false)
	}
	delete(cfg.clerks, ck)
}

// connectClient lets ck reach exactly the servers in to.
func (cfg *config) connectClient(ck *Clerk, to []int) {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	names := cfg.clerks[ck]
	for j := range names {
		cfg.net.Enable(names[j], false)
	}
	for _, j := range to {
		cfg.net.Enable(names[j], true)
	}
}

// shutdownServer crashes server i: cut off, removed from the network, killed. It restarts from what it had
// persisted by then.
func (cfg *config) shutdownServer(i int) {
	cfg.disconnect(i, cfg.all())
	// Calls in flight to it fail, and replies from it are no longer delivered.
	cfg.net.DeleteServer(i)

	cfg.mu.Lock()
	kv := cfg.kvservers[i]
	cfg.kvservers[i] = nil
	cfg.mu.Unlock()
	if kv == nil {
		return
	}
	kv.Kill()

	// Copied only after Kill, once Raft saves nothing more, so the copy holds the last state this incarnation
	// persisted; the next incarnation gets a Persister of its own.
	cfg.mu.Lock()
	cfg.saved[i] = cfg.saved[i].Copy()
	cfg.mu.Unlock()
}

// startServer starts server i from its saved Persister, with fresh ends to every server (disabled until
// connect), and makes it reachable under its number.
func (cfg *config) startServer(i int) {
	cfg.mu.Lock()
	names := make([]string, cfg.n)
	ends := make([]*labrpc.ClientEnd, cfg.n)
	for j := 0; j < cfg.n; j++ {
		names[j] = cfg.newEndName()
		ends[j] = cfg.net.MakeEnd(names[j])
		cfg.net.Connect(names[j], j)
	}
	cfg.ends[i] = names
	persister := cfg.saved[i]
	cfg.mu.Unlock()

	kv := StartKVServer(ends, i, persister, cfg.maxraftstate)

	cfg.mu.Lock()
	cfg.kvservers[i] = kv
	cfg.mu.Unlock()

	srv := labrpc.MakeServer()
	srv.AddService(labrpc.MakeService(kv))
	srv.AddService(labrpc.MakeService(kv.rf))
	cfg.net.AddServer(i, srv)
}

// leader reports whether some running server believes it leads, and which.
func (cfg *config) leader() (bool, int) {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	for i, kv := range cfg.kvservers {
		if kv == nil {
			continue
		}
		if _, isLeader := kv.rf.GetState(); isLeader {
			return true, i
		}
	}
	return false, 0
}

// logSize is the largest persisted Raft state of any server.
func (cfg *config) logSize() int {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	size := 0
	for _, ps := range cfg.saved {
		if n := ps.RaftStateSize(); n > size {
			size = n
		}
	}
	return size
}

// snapshotSize is the largest persisted snapshot of any server.
func (cfg *config) snapshotSize() int {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	size := 0
	for _, ps := range cfg.saved {
		if n := len(ps.ReadSnapshot()); n > size {
			size = n
		}
	}
	return size
}

// rpcTotal counts every RPC sent on the network, lost ones included.
func (cfg *config) rpcTotal() int {
	return cfg.net.GetTotalCount()
}

// begin prints the test's description and starts the figures end reports.
func (cfg *config) begin(description string) {
	fmt.Printf("%s ...\n", description)
	cfg.t0 = time.Now()
	cfg.rpcs0 = cfg.rpcTotal()
	atomic.StoreInt32(&cfg.ops, 0)
}

// op counts one completed clerk operation.
func (cfg *config) op() {
	atomic.AddInt32(&cfg.ops, 1)
}

// end applies the time limit and, if the test passed, prints the line the lab's tables are made of.
func (cfg *config) end() {
	cfg.checkTimeout()
	if cfg.t.Failed() {
		return
	}
	secs := time.Since(cfg.t0).Seconds()
	nrpc := cfg.rpcTotal() - cfg.rpcs0
	ops := atomic.LoadInt32(&cfg.ops)
	fmt.Printf("  ... Passed --  time %4.1fs #peers %d #RPCs %5d #Ops %4d\n", secs, cfg.n, nrpc, ops)
}
