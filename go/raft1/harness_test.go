// Our own reproduction of the lab's Raft tester, in the test package only so that nothing here ever compiles into
// a lab's package raft (whose real test.go, server.go and util.go declare their own names).
//
// Tests reach peers only through the cluster interface; RAFT_PEERS picks the implementation, each in its own file:
//   - local (local_test.go, the default): the 2025 in-process lab. Every peer is built by Make in this binary and
//     registered on a labrpc network as the object Make returns; a crash is Kill plus a copy of the peer's
//     Persister; a restart is a new Make from that copy.
//   - process (daemon_test.go): the 2026 lab. One raft1d process per peer behind the tester's network; a crash
//     checkpoints the peer's storage and SIGKILLs it.
//   - classic (classic_test.go): the 2020-24 src/raft API through the generated classic shim.
//
// In every mode an apply checker sees each peer's applied messages and compares every applied command across
// peers, and in snapshot mode hands snapshots back through Snapshot from the goroutine reading applyCh.
package raft_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"6.5840/labgob"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

const (
	// RaftElectionTimeout is the tests' unit of "long enough for an election"; the handout asks for a new leader
	// within five of them.
	RaftElectionTimeout = 1000 * time.Millisecond
	// snapShotInterval: in snapshot mode the checker snapshots after applying indices 9, 19, 29, ...
	snapShotInterval = 10
	// maxLogSize bounds the persisted Raft state in the snapshot tests: with snapshots, the log must stay short.
	maxLogSize = 2000
)

// cluster is everything a test does to its peers.
type cluster interface {
	n() int
	start(i int, cmd interface{}) (index int, term int, ok bool)
	getState(i int) (term int, leader bool)
	alive(i int) bool     // started and not crashed since
	connected(i int) bool // marked connected by the test
	connect(i int)
	disconnect(i int)
	crash(i int)   // cut off, keep a copy of its storage, kill it
	restart(i int) // start again from the copy, then connect it
	rpcCount(i int) int
	raftSize() int // largest persisted Raft state over all peers
	close()        // after the group shut down: release what the cluster holds outside the test process
	setGroup(g *tester.Group)
}

// Test is one test's state: the tester config (network, timing, counting), the peers, and the apply checker.
type Test struct {
	*tester.Config
	t        *testing.T
	c        cluster
	chk      *checker
	finished int32 // set at cleanup; client goroutines of a test stop retrying
}

// clusterModes holds a constructor per way of running peers (RAFT_PEERS), each registered by its own file, so
// this file names none of them: a fake lab tree may carry only the modes its generation has.
var clusterModes = map[string]func(chk *checker, snapshot bool, n int) (cluster, tester.FstartServer, error){}

// peerMode is how the tests run peers: RAFT_PEERS, else local if this build has it, else its only mode.
func peerMode() string {
	if mode := os.Getenv("RAFT_PEERS"); mode != "" {
		return mode
	}
	if _, ok := clusterModes["local"]; ok || len(clusterModes) != 1 {
		return "local"
	}
	for mode := range clusterModes {
		return mode
	}
	return ""
}

func makeTest(t *testing.T, n int, reliable bool, snapshot bool) *Test {
	chk := newChecker(n)
	mode := peerMode()
	mk, ok := clusterModes[mode]
	if !ok {
		t.Fatalf("RAFT_PEERS=%q: want one of %v (local: every peer in the test process, the 2025 lab; process: "+
			"one process per peer, the 2026 lab; classic: the src/raft API of the 2020-24 labs)", mode, modeNames())
	}
	c, mks, err := mk(chk, snapshot, n)
	if err != nil {
		t.Fatal(err)
	}
	ts := &Test{t: t, chk: chk, c: c}
	ts.Config = tester.MakeConfig(t, n, reliable, mks)
	c.setGroup(ts.Group(tester.GRP0))
	return ts
}

func modeNames() []string {
	names := make([]string, 0, len(clusterModes))
	for name := range clusterModes {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (ts *Test) cleanup() {
	atomic.StoreInt32(&ts.finished, 1)
	ts.Config.Cleanup()
	ts.c.close()
	// An apply error no later nCommitted saw still fails the test.
	if err := ts.chk.firstError(); err != "" && !ts.t.Failed() {
		ts.t.Fatal(err)
	}
}

func (ts *Test) checkFinished() bool {
	return atomic.LoadInt32(&ts.finished) != 0
}

// checkOneLeader waits up to ten rounds of about half a second for a leader among the connected peers, fails if
// any term has two, and returns the leader of the newest term.
func (ts *Test) checkOneLeader() int {
	ts.t.Helper()
	for iters := 0; iters < 10; iters++ {
		time.Sleep(time.Duration(450+rand.Int63()%100) * time.Millisecond)

		leaders := map[int][]int{}
		for i := 0; i < ts.c.n(); i++ {
			if ts.c.connected(i) {
				if term, leader := ts.c.getState(i); leader {
					leaders[term] = append(leaders[term], i)
				}
			}
		}
		lastTermWithLeader := -1
		for term, ls := range leaders {
			if len(ls) > 1 {
				ts.t.Fatalf("term %d has %d (>1) leaders", term, len(ls))
			}
			if term > lastTermWithLeader {
				lastTermWithLeader = term
			}
		}
		if len(leaders) != 0 {
			return leaders[lastTermWithLeader][0]
		}
	}
	ts.t.Fatalf("expected one leader, got none")
	return -1
}

// checkTerms fails unless every connected peer reports the same term, and returns it.
func (ts *Test) checkTerms() int {
	ts.t.Helper()
	term := -1
	for i := 0; i < ts.c.n(); i++ {
		if ts.c.connected(i) {
			xterm, _ := ts.c.getState(i)
			if term == -1 {
				term = xterm
			} else if term != xterm {
				ts.t.Fatalf("servers disagree on term")
			}
		}
	}
	return term
}

// checkNoLeader fails if any connected peer claims to lead.
func (ts *Test) checkNoLeader() {
	ts.t.Helper()
	for i := 0; i < ts.c.n(); i++ {
		if ts.c.connected(i) {
			if _, leader := ts.c.getState(i); leader {
				ts.t.Fatalf("expected no leader among connected servers, but %v claims to be leader", i)
			}
		}
	}
}

// nCommitted is how many peers applied index, and the value they applied. Any recorded apply error fails the test.
func (ts *Test) nCommitted(index int) (int, interface{}) {
	ts.t.Helper()
	count, cmd, err := ts.chk.nCommitted(index)
	if err != "" {
		ts.t.Fatal(err)
	}
	return count, cmd
}

// one submits cmd to whichever connected peer accepts it and waits until at least expectedServers peers applied
// it. Within an overall 10 s it retries on another leader when retry is set; otherwise the first 2 s window that
// fails is fatal. It returns the index cmd got.
func (ts *Test) one(cmd interface{}, expectedServers int, retry bool) int {
	ts.t.Helper()
	t0 := time.Now()
	starts := 0
	for time.Since(t0) < 10*time.Second && !ts.checkFinished() {
		index := -1
		for tries := 0; tries < ts.c.n(); tries++ {
			starts = (starts + 1) % ts.c.n()
			if ts.c.connected(starts) {
				if index1, _, ok := ts.c.start(starts, cmd); ok {
					index = index1
					break
				}
			}
		}

		if index != -1 {
			t1 := time.Now()
			for time.Since(t1) < 2*time.Second {
				nd, cmd1 := ts.nCommitted(index)
				if nd > 0 && nd >= expectedServers && cmd1 == cmd {
					ts.Op()
					return index
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !retry {
				ts.t.Fatalf("one(%v) failed to reach agreement", cmd)
			}
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ts.checkFinished() {
		ts.t.Fatalf("one(%v) failed to reach agreement", cmd)
	}
	return -1
}

// wait polls, with backoff up to about 30 s, until n peers applied index, and returns the value. With startTerm
// above -1 it gives up early, returning -1, once any peer moves past that term.
func (ts *Test) wait(index int, n int, startTerm int) interface{} {
	ts.t.Helper()
	to := 10 * time.Millisecond
	for iters := 0; iters < 30; iters++ {
		if nd, _ := ts.nCommitted(index); nd >= n {
			break
		}
		time.Sleep(to)
		if to < time.Second {
			to *= 2
		}
		if startTerm > -1 {
			for r := 0; r < ts.c.n(); r++ {
				if t, _ := ts.c.getState(r); t > startTerm {
					return -1
				}
			}
		}
	}
	nd, cmd := ts.nCommitted(index)
	if nd < n {
		ts.t.Fatalf("only %d decided for index %d; wanted %d", nd, index, n)
	}
	return cmd
}

func (ts *Test) crashAll() {
	for i := 0; i < ts.c.n(); i++ {
		ts.c.crash(i)
	}
}

func (ts *Test) restartAll() {
	for i := 0; i < ts.c.n(); i++ {
		ts.c.restart(i)
	}
}

// checker records what each peer applied and reports the first inconsistency.
//
// Each incarnation of a peer gets its own record, and a restart starts from an empty one (or from its snapshot), so
// a restarted peer must re-apply from index 1 or from its snapshot. A killed incarnation's applier may still report;
// it is checked against the live records but writes only into its own.
type checker struct {
	mu       sync.Mutex
	logs     []*applyLog // current incarnation of each peer
	maxIndex int
	err      string
}

type applyLog struct {
	server      int
	entries     map[int]interface{}
	lastApplied int
}

func newChecker(n int) *checker {
	chk := &checker{logs: make([]*applyLog, n)}
	for i := range chk.logs {
		chk.logs[i] = &applyLog{server: i, entries: map[int]interface{}{}}
	}
	return chk
}

func (chk *checker) newIncarnation(i int) *applyLog {
	chk.mu.Lock()
	defer chk.mu.Unlock()
	l := &applyLog{server: i, entries: map[int]interface{}{}}
	chk.logs[i] = l
	return l
}

func (chk *checker) fail(err string) {
	if chk.err == "" {
		fmt.Println(err)
		chk.err = err
	}
}

// failf records an error found outside the checker (a peer process that died or never started).
func (chk *checker) failf(format string, args ...interface{}) {
	chk.mu.Lock()
	defer chk.mu.Unlock()
	chk.fail(fmt.Sprintf(format, args...))
}

func (chk *checker) firstError() string {
	chk.mu.Lock()
	defer chk.mu.Unlock()
	return chk.err
}

// record stores an applied command after comparing it, with !=, against what every live peer applied there, and
// checks that the peer applied the previous index first.
func (chk *checker) record(l *applyLog, m raftapi.ApplyMsg) {
	for j, other := range chk.logs {
		if old, ok := other.entries[m.CommandIndex]; ok && old != m.Command {
			chk.fail(fmt.Sprintf("commit index=%v server=%v %v != server=%v %v",
				m.CommandIndex, l.server, m.Command, j, old))
		}
	}
	_, prevok := l.entries[m.CommandIndex-1]
	l.entries[m.CommandIndex] = m.Command
	if m.CommandIndex > chk.maxIndex {
		chk.maxIndex = m.CommandIndex
	}
	if m.CommandIndex > 1 && !prevok {
		chk.fail(fmt.Sprintf("server %v apply out of order %v", l.server, m.CommandIndex))
	}
}

func (chk *checker) applyCommand(l *applyLog, m raftapi.ApplyMsg) {
	chk.mu.Lock()
	defer chk.mu.Unlock()
	chk.record(l, m)
}

// applySnapMode is applyCommand with snapshot mode's stricter order (exactly lastApplied+1). At every
// snapShotInterval-th index it returns the snapshot the caller must hand to Snapshot: the index, then the
// applied log from 0 through it.
func (chk *checker) applySnapMode(l *applyLog, m raftapi.ApplyMsg) []byte {
	chk.mu.Lock()
	defer chk.mu.Unlock()
	if m.CommandIndex != l.lastApplied+1 {
		chk.fail(fmt.Sprintf("server %v apply out of order, expected index %v, got %v",
			l.server, l.lastApplied+1, m.CommandIndex))
	}
	chk.record(l, m)
	l.lastApplied = m.CommandIndex
	if (m.CommandIndex+1)%snapShotInterval != 0 {
		return nil
	}
	w := new(bytes.Buffer)
	e := labgob.NewEncoder(w)
	if err := e.Encode(m.CommandIndex); err != nil {
		chk.fail(fmt.Sprintf("server %v snapshot encode: %v", l.server, err))
	}
	xlog := make([]interface{}, 0, m.CommandIndex+1)
	for j := 0; j <= m.CommandIndex; j++ {
		xlog = append(xlog, l.entries[j])
	}
	if err := e.Encode(xlog); err != nil {
		chk.fail(fmt.Sprintf("server %v snapshot encode: %v", l.server, err))
	}
	return w.Bytes()
}

// ingest replaces a peer's record with a snapshot's contents. index is the SnapshotIndex the message claimed, or
// -1 for the snapshot read from storage at start-up.
func (chk *checker) ingest(l *applyLog, snapshot []byte, index int) {
	chk.mu.Lock()
	defer chk.mu.Unlock()
	d := labgob.NewDecoder(bytes.NewBuffer(snapshot))
	var lastIncluded int
	var xlog []interface{}
	if d.Decode(&lastIncluded) != nil || d.Decode(&xlog) != nil {
		chk.fail(fmt.Sprintf("server %v snapshot decode error", l.server))
		return
	}
	if index != -1 && index != lastIncluded {
		chk.fail(fmt.Sprintf("server %v snapshot doesn't match m.SnapshotIndex (%v != %v)",
			l.server, lastIncluded, index))
		return
	}
	l.entries = map[int]interface{}{}
	for j, v := range xlog {
		l.entries[j] = v
	}
	l.lastApplied = lastIncluded
}

// deliver checks one message a peer sent on applyCh, in the lab service's plain or snapshot mode, and returns the
// snapshot the service takes after it, if any, which the caller must pass to Snapshot.
func (chk *checker) deliver(l *applyLog, m raftapi.ApplyMsg, snapshot bool) []byte {
	switch {
	case snapshot && m.SnapshotValid:
		chk.ingest(l, m.Snapshot, m.SnapshotIndex)
	case snapshot && m.CommandValid:
		return chk.applySnapMode(l, m)
	case m.CommandValid:
		chk.applyCommand(l, m)
	}
	return nil
}

func (chk *checker) nCommitted(index int) (count int, cmd interface{}, err string) {
	chk.mu.Lock()
	defer chk.mu.Unlock()
	if chk.err != "" {
		return 0, nil, chk.err
	}
	for _, l := range chk.logs {
		if cmd1, ok := l.entries[index]; ok {
			if count > 0 && cmd != cmd1 {
				return 0, nil, fmt.Sprintf("committed values do not match: index %v, %v, %v", index, cmd, cmd1)
			}
			count++
			cmd = cmd1
		}
	}
	return count, cmd, ""
}

// groupCluster is the part of a cluster the tester's group does the same way in both modes.
type groupCluster struct{ g *tester.Group }

func (gc *groupCluster) setGroup(g *tester.Group) { gc.g = g }
func (gc *groupCluster) alive(i int) bool         { return gc.g.IsAlive(i) }
func (gc *groupCluster) connected(i int) bool     { return gc.g.IsConnected(i) }
func (gc *groupCluster) connect(i int)            { gc.g.ConnectOne(i) }
func (gc *groupCluster) disconnect(i int)         { gc.g.DisconnectAll(i) }
func (gc *groupCluster) crash(i int)              { gc.g.ShutdownServer(i) }
func (gc *groupCluster) rpcCount(i int) int       { return gc.g.RpcCount(i) }

// restartOne connects only the restarted peer (the 2026 tester's ConnectOne); peers the test cut off stay cut off.
func restartOne(g *tester.Group, i int) {
	g.StartServer(i)
	g.ConnectOne(i)
}
