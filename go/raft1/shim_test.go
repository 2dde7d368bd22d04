package raft

// Tests of the cgo shim itself: what crosses the boundary and how it behaves around Kill. The lab scenarios
// live in the raft_test package; these reach into the shim (codec, handle) and so are in package raft.

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"testing"
	"time"

	"6.5840/labgob"
	"6.5840/labrpc"
	"6.5840/raftapi"
	tester "6.5840/tester1"
)

// shimOp stands in for a later lab's registered command type (rsm.Op and the like).
type shimOp struct {
	Key   string
	Value string
	N     int
	Tags  []string
}

func init() {
	labgob.Register(shimOp{})
}

// shimUnregistered is never registered, so it cannot travel inside an interface.
type shimUnregistered struct{ X int }

func TestShimCodec(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	values := []interface{}{
		0, 1, -1, 300, math.MaxInt, math.MinInt,
		"", "x", big,
		nil,
		int64(7), int32(-3), uint(5), 3.5, true,
		[]byte{1, 2, 3}, []byte(big),
		shimOp{}, shimOp{Key: "k", Value: "v", N: -4, Tags: []string{"a", ""}},
	}
	for _, v := range values {
		b, err := coreEncode(v)
		if err != nil {
			t.Fatalf("encode %T: %v", v, err)
		}
		got, err := coreDecode(b)
		if err != nil {
			t.Fatalf("decode %T: %v", v, err)
		}
		if reflect.TypeOf(got) != reflect.TypeOf(v) || !reflect.DeepEqual(got, v) {
			t.Fatalf("round trip of %T changed it: got %T %.40v", v, got, got)
		}
	}

	// The compact forms are what keeps the lab's RPC byte budget: a tag byte and the value, no gob type info.
	if b, _ := coreEncode(5000); len(b) > 3 {
		t.Errorf("int 5000 encodes to %d bytes", len(b))
	}
	if b, _ := coreEncode(big[:5000]); len(b) != 5001 {
		t.Errorf("a 5000-byte string encodes to %d bytes", len(b))
	}

	if _, err := coreEncode(shimUnregistered{1}); err == nil {
		t.Errorf("an unregistered struct encoded without error")
	}
	for _, bad := range [][]byte{nil, {}, {coreCmdNil, 1}, {coreCmdInt}, {coreCmdInt, 0x80}, {coreCmdInt, 1, 2},
		{coreCmdGob}, {coreCmdGob, 1, 2, 3}, {99}} {
		if v, err := coreDecode(bad); err == nil {
			t.Errorf("decode % x gave %v, want an error", bad, v)
		}
	}
}

// shimCluster is a few peers on a reliable labrpc network, built the way the 2025 lab builds them.
type shimCluster struct {
	t          *testing.T
	net        *labrpc.Network
	n          int
	persisters []*tester.Persister
	rafts      []*Raft
	applyChs   []chan raftapi.ApplyMsg
	ends       [][]string // ends[i][j]: i's end to j
	gen        int
}

func shimNewCluster(t *testing.T, n int) *shimCluster {
	c := &shimCluster{t: t, net: labrpc.MakeNetwork(), n: n}
	c.persisters = make([]*tester.Persister, n)
	c.rafts = make([]*Raft, n)
	c.applyChs = make([]chan raftapi.ApplyMsg, n)
	c.ends = make([][]string, n)
	for i := range c.persisters {
		c.persisters[i] = tester.MakePersister()
	}
	return c
}

// start makes peer i from its persister, with fresh ends, and returns the applyCh nobody reads yet.
func (c *shimCluster) start(i int) chan raftapi.ApplyMsg {
	c.gen++
	ends := make([]*labrpc.ClientEnd, c.n)
	c.ends[i] = make([]string, c.n)
	for j := range ends {
		name := fmt.Sprintf("shim-%d-%d-%d", c.gen, i, j)
		c.ends[i][j] = name
		ends[j] = c.net.MakeEnd(name)
		c.net.Connect(name, j)
		c.net.Enable(name, true)
	}
	ch := make(chan raftapi.ApplyMsg)
	rf := Make(ends, i, c.persisters[i], ch).(*Raft)
	srv := labrpc.MakeServer()
	srv.AddService(labrpc.MakeService(rf))
	c.net.AddServer(i, srv)
	c.rafts[i], c.applyChs[i] = rf, ch
	return ch
}

// crash cuts peer i off, keeps a copy of its storage as the lab does, and kills it.
func (c *shimCluster) crash(i int) {
	c.net.DeleteServer(i)
	c.persisters[i] = c.persisters[i].Copy()
	c.rafts[i].Kill()
	close(c.applyChs[i]) // ends its reader: Kill has stopped the applier, so nothing sends any more
}

// connect enables (or disables) every end from and to peer i.
func (c *shimCluster) connect(i int, on bool) {
	for j := 0; j < c.n; j++ {
		if c.ends[i] != nil {
			c.net.Enable(c.ends[i][j], on)
		}
		if c.ends[j] != nil {
			c.net.Enable(c.ends[j][i], on)
		}
	}
}

func (c *shimCluster) cleanup() {
	for i, rf := range c.rafts {
		if rf != nil {
			rf.Kill()
			close(c.applyChs[i])
		}
	}
	c.net.Cleanup()
}

// leader waits for exactly one peer among live to claim leadership in the highest term.
func (c *shimCluster) leader(live ...int) int {
	c.t.Helper()
	if live == nil {
		for i := 0; i < c.n; i++ {
			live = append(live, i)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		best, bestTerm := -1, -1
		for _, i := range live {
			if term, ok := c.rafts[i].GetState(); ok && term > bestTerm {
				best, bestTerm = i, term
			}
		}
		if best >= 0 {
			return best
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no leader among %v", live)
	return -1
}

// shimLog records what one peer applied; a reader goroutine fills it.
type shimLog struct {
	mu      sync.Mutex
	cmds    map[int]interface{}
	last    int // highest index applied or covered by a snapshot
	snaps   int // snapshots installed through applyCh
	err     string
	changed chan struct{}
}

func shimNewLog() *shimLog {
	return &shimLog{cmds: map[int]interface{}{}, changed: make(chan struct{}, 1)}
}

func (l *shimLog) fail(format string, args ...interface{}) {
	if l.err == "" {
		l.err = fmt.Sprintf(format, args...)
	}
}

// read drains ch into l. With snapEvery > 0 it calls rf.Snapshot from this goroutine every snapEvery indices,
// as the lab's snapshot applier does, while Rust's applier waits for this very goroutine.
func (l *shimLog) read(rf *Raft, ch chan raftapi.ApplyMsg, snapEvery int) {
	for m := range ch {
		var snap []byte
		l.mu.Lock()
		switch {
		case m.CommandValid:
			if m.CommandIndex != l.last+1 {
				l.fail("applied index %d after %d", m.CommandIndex, l.last)
			}
			l.cmds[m.CommandIndex] = m.Command
			l.last = m.CommandIndex
			if snapEvery > 0 && m.CommandIndex%snapEvery == 0 {
				snap = []byte(fmt.Sprintf("snapshot through %d", m.CommandIndex))
			}
		case m.SnapshotValid:
			want := fmt.Sprintf("snapshot through %d", m.SnapshotIndex)
			if string(m.Snapshot) != want || m.CommandValid || m.SnapshotTerm <= 0 {
				l.fail("bad snapshot message %+v", m)
			}
			if m.SnapshotIndex < l.last {
				l.fail("snapshot %d moves back from %d", m.SnapshotIndex, l.last)
			}
			l.last = m.SnapshotIndex
			l.snaps++
		default:
			l.fail("message with neither flag: %+v", m)
		}
		l.mu.Unlock()
		if snap != nil {
			rf.Snapshot(m.CommandIndex, snap)
		}
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}
}

func (l *shimLog) status() (last int, err string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last, l.err
}

func (l *shimLog) get(index int) (interface{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.cmds[index]
	return v, ok
}

// shimWaitApplied waits until every log has applied through index.
func shimWaitApplied(t *testing.T, logs []*shimLog, index int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, l := range logs {
		for {
			last, err := l.status()
			if err != "" {
				t.Fatal(err)
			}
			if last >= index {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("index %d not applied everywhere within 10 s (one peer is at %d)", index, last)
			}
			select {
			case <-l.changed:
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// shimStartAll starts every peer with a reader and returns the logs.
func (c *shimCluster) startAll(snapEvery int) []*shimLog {
	logs := make([]*shimLog, c.n)
	for i := range logs {
		ch := c.start(i)
		logs[i] = shimNewLog()
		go logs[i].read(c.rafts[i], ch, snapEvery)
	}
	return logs
}

// commit gets cmd committed through the current leader, retrying across leader changes, and returns its index.
func (c *shimCluster) commit(logs []*shimLog, cmd interface{}) int {
	c.t.Helper()
	for try := 0; try < 5; try++ {
		ld := c.leader()
		index, _, ok := c.rafts[ld].Start(cmd)
		if !ok {
			continue
		}
		shimWaitApplied(c.t, logs, index)
		if got, _ := logs[ld].get(index); reflect.DeepEqual(got, cmd) {
			return index
		}
	}
	c.t.Fatalf("could not commit %.40v", cmd)
	return -1
}

func TestShimCommandRoundTrip(t *testing.T) {
	c := shimNewCluster(t, 3)
	defer c.cleanup()
	logs := c.startAll(0)

	big := strings.Repeat("raftcore", 1<<17) // 1 MiB
	cmds := []interface{}{
		42, -7, 0, math.MinInt, "hello", "", int64(42),
		shimOp{Key: "k", Value: "v", N: 3, Tags: []string{"x"}},
		big, []byte(big),
	}
	for _, cmd := range cmds {
		index := c.commit(logs, cmd)
		for i, l := range logs {
			got, _ := l.get(index)
			if reflect.TypeOf(got) != reflect.TypeOf(cmd) || !reflect.DeepEqual(got, cmd) {
				t.Fatalf("peer %d applied %T %.40v at %d, want %T %.40v", i, got, got, index, cmd, cmd)
			}
		}
	}
	// Bytes no peer sends get no answer (logged once), and the peer carries on.
	ld := c.leader()
	reply := &AppendEntriesReply{}
	c.rafts[ld].AppendEntries(&AppendEntriesArgs{Data: []byte("not a request")}, reply)
	if len(reply.Data) != 0 {
		t.Fatalf("a garbage AppendEntries got an answer")
	}
	c.commit(logs, "still fine")

	// A command the service never registered: Start refuses it rather than committing something undecodable.
	ld = c.leader()
	if index, _, ok := c.rafts[ld].Start(shimUnregistered{1}); ok {
		t.Fatalf("Start of an unregistered type was accepted at %d", index)
	}
}

func TestShimSnapshotFromApplyReader(t *testing.T) {
	c := shimNewCluster(t, 3)
	defer c.cleanup()
	logs := c.startAll(10)

	last := 0
	for k := 0; k < 45; k++ {
		last = c.commit(logs, k)
	}
	for i := range logs {
		if size := c.persisters[i].RaftStateSize(); size > 2000 {
			t.Errorf("peer %d persists %d bytes of raft state after snapshots", i, size)
		}
		// A reader may still be inside Snapshot(40), so 30 is as far as every peer is known to be.
		if index := shimSnapIndex(t, c.persisters[i].ReadSnapshot()); index < 30 || index%10 != 0 {
			t.Errorf("peer %d persisted the snapshot through %d after %d commands", i, index, last)
		}
		pb, size := 0, 0
		for try := 0; try < 20; try++ { // equal once no save is in flight
			if pb, size = c.rafts[i].PersistBytes(), c.persisters[i].RaftStateSize(); pb == size {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if pb != size {
			t.Errorf("peer %d: PersistBytes %d, persister holds %d", i, pb, size)
		}
	}

	// A follower cut off while the others snapshot past it must catch up through InstallSnapshot.
	f := (c.leader() + 1) % 3
	c.connect(f, false)
	others := []*shimLog{}
	for i := range logs {
		if i != f {
			others = append(others, logs[i])
		}
	}
	for k := 0; k < 30; k++ {
		ld := c.leader(shimExcept(f, 3)...)
		if index, _, ok := c.rafts[ld].Start(1000 + k); ok {
			shimWaitApplied(t, others, index)
			last = index
		}
	}
	c.connect(f, true)
	shimWaitApplied(t, logs, last)
	logs[f].mu.Lock()
	snaps := logs[f].snaps
	logs[f].mu.Unlock()
	if snaps == 0 {
		t.Errorf("the lagging follower caught up without an InstallSnapshot")
	}

	// A restarted peer resumes after its snapshot: the reader checks that applies continue from there.
	c.crash(f)
	logs[f] = shimNewLog()
	logs[f].last = shimSnapIndex(t, c.persisters[f].ReadSnapshot())
	ch := c.start(f)
	go logs[f].read(c.rafts[f], ch, 10)
	last = c.commit(logs, "after restart")
	shimWaitApplied(t, logs, last)
}

func shimExcept(skip, n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if i != skip {
			out = append(out, i)
		}
	}
	return out
}

func shimSnapIndex(t *testing.T, snap []byte) int {
	t.Helper()
	var index int
	if _, err := fmt.Sscanf(string(snap), "snapshot through %d", &index); err != nil {
		t.Fatalf("persisted snapshot %q: %v", snap, err)
	}
	return index
}

func TestShimKillWhileApplyBlocked(t *testing.T) {
	c := shimNewCluster(t, 3)
	defer c.net.Cleanup()
	for i := 0; i < 3; i++ {
		c.start(i) // nobody reads applyCh: every applier parks on its first command
	}
	ld := c.leader()
	for k := 0; k < 5; k++ {
		c.rafts[ld].Start(k)
	}
	time.Sleep(500 * time.Millisecond) // long enough to commit and park the appliers

	done := make(chan struct{})
	go func() {
		for _, rf := range c.rafts {
			rf.Kill()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Kill hangs while apply is blocked on applyCh")
	}

	rf := c.rafts[ld]
	rf.Kill() // idempotent
	if _, _, ok := rf.Start(99); ok {
		t.Errorf("a killed peer accepted Start")
	}
	if term, leader := rf.GetState(); leader || term < 1 {
		t.Errorf("a killed peer reports term %d leader %v; want its last term and false", term, leader)
	}
	rf.Snapshot(1, []byte("x"))
	_ = rf.PersistBytes()
	reply := &AppendEntriesReply{}
	rf.AppendEntries(&AppendEntriesArgs{Data: []byte{1, 2, 3}}, reply)
	if len(reply.Data) != 0 {
		t.Errorf("a killed peer answered an AppendEntries")
	}
	func() {
		defer func() { _ = recover() }()
		cgo.Handle(rf.self).Value()
		t.Errorf("the cgo.Handle outlived Kill")
	}()
	select {
	case m := <-c.applyChs[ld]:
		t.Errorf("a killed peer still applies: %+v", m)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestShimConcurrentStartGetState(t *testing.T) {
	c := shimNewCluster(t, 3)
	defer c.cleanup()
	logs := c.startAll(0)
	c.commit(logs, 1)

	for try := 0; try < 5; try++ {
		ld := c.leader()
		term0, _ := c.rafts[ld].GetState()
		type started struct{ index, term, cmd int }
		var mu sync.Mutex
		var accepted []started
		var wg sync.WaitGroup
		for g := 0; g < 5; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for k := 0; k < 20; k++ {
					cmd := 100*(try+1)*1000 + g*100 + k
					index, term, ok := c.rafts[ld].Start(cmd)
					if ok {
						mu.Lock()
						accepted = append(accepted, started{index, term, cmd})
						mu.Unlock()
					}
					for i := range c.rafts {
						c.rafts[i].GetState()
					}
				}
			}(g)
		}
		wg.Wait()

		termChanged := false
		seen := map[int]bool{}
		maxIndex := 0
		for _, s := range accepted {
			if s.term != term0 {
				termChanged = true
			}
			if seen[s.index] {
				t.Fatalf("index %d handed out twice", s.index)
			}
			seen[s.index] = true
			if s.index > maxIndex {
				maxIndex = s.index
			}
		}
		if t1, _ := c.rafts[ld].GetState(); termChanged || t1 != term0 || len(accepted) != 100 {
			continue // a leader change mid-burst; the lab retries too
		}
		shimWaitApplied(t, logs, maxIndex)
		for _, s := range accepted {
			if got, _ := logs[0].get(s.index); got != s.cmd {
				t.Fatalf("index %d applied %v, Start(%d) returned it", s.index, got, s.cmd)
			}
		}
		return
	}
	t.Fatal("term changed too often")
}

// shimResources is what a leak would grow: goroutines, OS threads, Go heap, resident memory (Rust's heap too).
type shimResources struct {
	goroutines, threads int
	heap, rss           uint64
}

func shimMeasure(t *testing.T) shimResources {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := shimResources{goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc}
	if tasks, err := os.ReadDir("/proc/self/task"); err == nil {
		r.threads = len(tasks)
	}
	if statm, err := os.ReadFile("/proc/self/statm"); err == nil {
		var size, resident uint64
		fmt.Sscan(string(statm), &size, &resident)
		r.rss = resident * uint64(os.Getpagesize())
	}
	return r
}

func TestShimNoLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("200 make/kill cycles")
	}
	// Most cycles only make and kill; every 25th also elects, commits, restarts one peer from its storage and
	// commits again, so RPC goroutines, persists and applies are part of what must not pile up.
	cycle := func(k int) {
		c := shimNewCluster(t, 3)
		logs := c.startAll(0)
		c.rafts[k%3].Start(k)
		c.rafts[(k+1)%3].GetState()
		if k%25 == 0 {
			c.commit(logs, k)
			c.crash(k % 3)
			ch := c.start(k % 3)
			logs[k%3] = shimNewLog() // with no snapshot it replays from index 1
			go logs[k%3].read(c.rafts[k%3], ch, 0)
			c.commit(logs, -k)
		} else {
			time.Sleep(5 * time.Millisecond)
		}
		c.cleanup()
	}
	for k := 1; k <= 20; k++ { // warm up: Go keeps the threads and heap it grew once
		cycle(k)
	}
	time.Sleep(time.Second)
	before := shimMeasure(t)
	for k := 0; k < 200; k++ {
		cycle(k)
	}
	after := shimSettle(t, before)
	t.Logf("before %+v after %+v", before, after)
	if after.goroutines > before.goroutines+5 {
		t.Errorf("goroutines grew from %d to %d", before.goroutines, after.goroutines)
	}
	if after.threads > before.threads+8 {
		t.Errorf("threads grew from %d to %d", before.threads, after.threads)
	}
	if after.heap > before.heap+8<<20 {
		t.Errorf("Go heap grew from %d to %d bytes", before.heap, after.heap)
	}
	if after.rss > before.rss+64<<20 {
		t.Errorf("resident memory grew from %d to %d bytes", before.rss, after.rss)
	}
}

// shimSettle waits for RPC goroutines still in flight after Kill to finish, then measures.
func shimSettle(t *testing.T, ref shimResources) shimResources {
	var r shimResources
	for i := 0; i < 50; i++ {
		r = shimMeasure(t)
		if r.goroutines <= ref.goroutines {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return r
}

func TestShimCorruptStateRefused(t *testing.T) {
	ps := tester.MakePersister()
	ps.Save(bytes.Repeat([]byte{0xAB}, 64), nil)
	msg := func() (msg string) {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		rf := Make([]*labrpc.ClientEnd{nil}, 0, ps, make(chan raftapi.ApplyMsg))
		rf.(*Raft).Kill()
		return ""
	}()
	if !strings.Contains(msg, "refused to start peer 0") || !strings.Contains(msg, "CORRUPT_STATE") {
		t.Fatalf("Make on a corrupt state: got %q, want a panic naming the peer and CORRUPT_STATE", msg)
	}
}

// A service written against a Raft interface extended with Killed and GetLeader builds on the shim.
var _ interface {
	raftapi.Raft
	Killed() bool
	GetLeader() int
} = (*Raft)(nil)

// shimWaitLeaderHint waits until each of peers names want as its leader.
func (c *shimCluster) waitLeaderHint(want int, peers ...int) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, i := range peers {
		for c.rafts[i].GetLeader() != want {
			if time.Now().After(deadline) {
				c.t.Fatalf("peer %d names %d as leader, want %d", i, c.rafts[i].GetLeader(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// The methods services call beyond the course's API: Killed, GetLeader, and String for their log lines.
func TestShimKilledAndGetLeader(t *testing.T) {
	c := shimNewCluster(t, 3)
	defer c.cleanup()
	logs := c.startAll(0)
	c.commit(logs, 1)
	ld := c.leader()
	for i, rf := range c.rafts {
		// Every peer applied the leader's entry, so every peer has heard it in this term.
		if got := rf.GetLeader(); got != ld {
			t.Fatalf("peer %d names %d as leader, want %d", i, got, ld)
		}
		if rf.Killed() {
			t.Fatalf("peer %d reports Killed before Kill", i)
		}
		want := fmt.Sprintf("raftcore peer %d (term ", i)
		if s := fmt.Sprintf("%s", rf); !strings.HasPrefix(s, want) || strings.HasSuffix(s, "leader)") != (i == ld) {
			t.Fatalf("peer %d (leader %d) prints as %q", i, ld, s)
		}
	}

	c.connect(ld, false)
	others := shimExcept(ld, 3)
	next := c.leader(others...)
	if next == ld {
		t.Fatalf("the cut-off leader %d is still the leader", ld)
	}
	c.waitLeaderHint(next, others...)
	c.connect(ld, true)
	c.waitLeaderHint(next, ld)

	old := c.rafts[next]
	c.crash(next)
	logs[next] = shimNewLog()
	ch := c.start(next)
	go logs[next].read(c.rafts[next], ch, 0)
	if got := c.rafts[next].GetLeader(); got != -1 || c.rafts[next].Killed() {
		t.Fatalf("a restarted peer names %d as leader (Killed %v); it has heard none yet", got, c.rafts[next].Killed())
	}
	if !old.Killed() || old.GetLeader() != -1 {
		t.Fatalf("after Kill: Killed %v, GetLeader %d; want true and -1", old.Killed(), old.GetLeader())
	}
}

func TestShimPacingSetting(t *testing.T) {
	for _, v := range []struct {
		value         string
		heartbeat, ok bool
	}{
		{"", false, true}, {"prompt", false, true}, {"off", false, true}, {"heartbeat", true, true},
		{" Heartbeat\n", true, true}, {"fast", false, false}, {"1", false, false}, {"heartbeats", false, false},
	} {
		if heartbeat, ok := coreParsePacing(v.value); heartbeat != v.heartbeat || ok != v.ok {
			t.Errorf("%s=%q: heartbeat %v ok %v, want %v %v", corePacingEnv, v.value, heartbeat, ok, v.heartbeat, v.ok)
		}
	}

	// Under heartbeat pacing an entry leaves the leader only with a heartbeat (250 ms apart by default), so
	// commands committed one after another take about a heartbeat each; prompt pacing takes a round trip.
	t.Setenv(corePacingEnv, "heartbeat")
	c := shimNewCluster(t, 3)
	defer c.cleanup()
	logs := c.startAll(0)
	c.commit(logs, 0)
	const ops = 5
	began := time.Now()
	for k := 1; k <= ops; k++ {
		c.commit(logs, k)
	}
	if per := time.Since(began) / ops; per < 75*time.Millisecond {
		t.Fatalf("%s=heartbeat: a command committed everywhere in %v; entries left before the next heartbeat",
			corePacingEnv, per)
	}
}
