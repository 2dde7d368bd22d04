// Package tester runs groups of peers on a labrpc network for the lab-style tests: it starts, crashes and
// restarts peers, cuts and heals links, counts traffic, and times each test.
//
// This is the in-process model of the 2025 lab: every peer lives in the test binary, a crash is Kill plus a copy of
// the peer's Persister, and a restart calls the start function again with fresh ends and that copy. The pieces a
// per-process mode (the 2026 daemon tester) would replace are confined to Group's start and shutdown; Config,
// Persister and the counting helpers serve both.
package tester

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"6.5840/labrpc"
)

// maxTestTime is the per-test wall-clock limit the lab grades by.
const maxTestTime = 120 * time.Second

// GRP0 is the group a single-group test (all of the Raft lab) uses.
const GRP0 Tgid = 0

// Config is one test's world: the network, its groups of peers, and the bookkeeping for Begin and End.
type Config struct {
	t     testing.TB
	net   *labrpc.Network
	start time.Time // MakeConfig; the 120 s limit counts from here

	mu     sync.Mutex
	groups map[Tgid]*Group

	t0    time.Time // Begin
	rpcs0 int
	ops   int32
}

// MakeConfig builds a network (long delays on, as in every lab test) and group GRP0 of n peers started by mks
// and fully connected.
func MakeConfig(t *testing.T, n int, reliable bool, mks FstartServer) *Config {
	return MakeConfigTB(t, n, reliable, mks)
}

// MakeConfigTB is MakeConfig for a benchmark as well as a test. A benchmark should shut its groups and the
// network down itself rather than call Cleanup, whose 120 s limit is a test's.
func MakeConfigTB(t testing.TB, n int, reliable bool, mks FstartServer) *Config {
	// The lab pins this so that scheduling pressure is comparable across machines; so do we.
	runtime.GOMAXPROCS(4)
	cfg := &Config{
		t:      t,
		net:    labrpc.MakeNetwork(),
		start:  time.Now(),
		groups: map[Tgid]*Group{},
	}
	cfg.net.Reliable(reliable)
	cfg.net.LongDelays(true)
	g := cfg.MakeGroup(GRP0, n, mks)
	g.StartServers()
	g.ConnectAll()
	return cfg
}

// MakeGroup adds a group of n peers that are not started yet.
func (cfg *Config) MakeGroup(gid Tgid, n int, mks FstartServer) *Group {
	g := newGroup(cfg.net, gid, n, mks)
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	cfg.groups[gid] = g
	return g
}

// Group returns the group gid, or nil.
func (cfg *Config) Group(gid Tgid) *Group {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	return cfg.groups[gid]
}

// Net exposes the network, for tests that need a fault the helpers don't offer.
func (cfg *Config) Net() *labrpc.Network {
	return cfg.net
}

// Cleanup kills every peer and shuts the network, then applies the time limit. Killing matters beyond this test:
// all tests share one binary, and peers left running would disturb the next test's timing and budgets.
func (cfg *Config) Cleanup() {
	cfg.mu.Lock()
	groups := make([]*Group, 0, len(cfg.groups))
	for _, g := range cfg.groups {
		groups = append(groups, g)
	}
	cfg.mu.Unlock()
	for _, g := range groups {
		g.Shutdown()
	}
	cfg.net.Cleanup()
	cfg.CheckTimeout()
}

// CheckTimeout fails the test once it has run longer than the lab allows.
func (cfg *Config) CheckTimeout() {
	if !cfg.t.Failed() && time.Since(cfg.start) > maxTestTime {
		cfg.t.Fatal("test took longer than 120 seconds")
	}
}

// SetReliable turns message loss and short delays off (true) or on (false).
func (cfg *Config) SetReliable(reliable bool) {
	cfg.net.Reliable(reliable)
}

// IsReliable reports the network's current reliability.
func (cfg *Config) IsReliable() bool {
	return cfg.net.IsReliable()
}

// SetLongReordering holds back many replies for up to 2.2 s, so stale replies arrive late and out of order.
func (cfg *Config) SetLongReordering(yes bool) {
	cfg.net.LongReordering(yes)
}

// RpcTotal is the number of RPCs sent on the network so far, lost ones included.
func (cfg *Config) RpcTotal() int {
	return cfg.net.GetTotalCount()
}

// BytesTotal is the labgob size of all requests plus all delivered replies so far.
func (cfg *Config) BytesTotal() int64 {
	return cfg.net.GetTotalBytes()
}

// Op counts one successful client operation for End's report.
func (cfg *Config) Op() {
	atomic.AddInt32(&cfg.ops, 1)
}

// Begin prints the test's description and starts the figures End reports.
func (cfg *Config) Begin(description string) {
	rel := "reliable"
	if !cfg.IsReliable() {
		rel = "unreliable"
	}
	fmt.Printf("%s (%s network)...\n", description, rel)
	cfg.t0 = time.Now()
	cfg.rpcs0 = cfg.RpcTotal()
	atomic.StoreInt32(&cfg.ops, 0)
}

// End applies the time limit and, if the test passed, prints the line the lab's handout tables are made of.
func (cfg *Config) End() {
	cfg.CheckTimeout()
	if cfg.t.Failed() {
		return
	}
	secs := time.Since(cfg.t0).Seconds()
	npeers := 0
	if g := cfg.Group(GRP0); g != nil {
		npeers = g.N()
	}
	nrpc := cfg.RpcTotal() - cfg.rpcs0
	ops := atomic.LoadInt32(&cfg.ops)
	fmt.Printf("  ... Passed --  time %4.1fs #peers %d #RPCs %5d #Ops %4d\n", secs, npeers, nrpc, ops)
}
