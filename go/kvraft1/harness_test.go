package kvraft_test

// The key/value tests' harness: a group of KVServers in either peer mode (kvtest, RAFT_PEERS), clerks whose
// every operation is recorded for porcupine, and the one workload most scenarios are variations of.

import (
	"math/rand"
	"testing"
	"time"

	kvraft "6.5840/kvraft1"
	"6.5840/kvsrv1/rpc"
	kvtest "6.5840/kvtest1"
	tester "6.5840/tester1"
)

func TestMain(m *testing.M) { kvtest.Main(m) }

const (
	// maxRaftState is the 4C tests' snapshot threshold, and maxLogFactor the bound on the persisted Raft state
	// in units of it, as in the lab.
	maxRaftState = 1000
	maxLogFactor = 8
	// electionWait is long enough for a partition's majority to elect a leader.
	electionWait = time.Second
)

var kvService = kvtest.Service{
	Start:  kvraft.StartKVServer,
	Daemon: "main/kvraft1d.go",
	MakeClerk: func(clnt *tester.Clnt, servers []string) kvtest.IKVClerk {
		return kvraft.MakeClerk(clnt, servers)
	},
}

func makeKVTest(t testing.TB, servers int, reliable bool, maxraftstate int) *kvtest.Test {
	return kvtest.MakeTest(t, kvtest.Options{
		Service:      kvService,
		Servers:      servers,
		Reliable:     reliable,
		MaxRaftState: maxraftstate,
	})
}

// scenario is one run of the common workload: clients in read-modify-write loops on shared keys, in rounds,
// with faults injected while they run; at the end the clients' history must be linearizable and the keys'
// versions must count the Puts the clients were told applied.
type scenario struct {
	servers      int
	clients      int
	keys         int
	reliable     bool
	partitions   bool // random two-way partitions of the servers while the clients run
	crash        bool // crash and restart every server in the middle of each round
	maxraftstate int  // -1: no snapshots, and none may appear
	rounds       int
	round        time.Duration
}

func runScenario(t *testing.T, name string, sc scenario) {
	ts := makeKVTest(t, sc.servers, sc.reliable, sc.maxraftstate)
	defer ts.Cleanup()
	ts.Begin(name)
	keys := kvtest.Keys(sc.keys)
	clerks := make([]kvtest.IKVClerk, sc.clients)
	for i := range clerks {
		clerks[i] = ts.MakeClerk()
	}
	var stats []kvtest.ClientStats
	for range sc.rounds {
		stop := make(chan struct{})
		done := make(chan []kvtest.ClientStats)
		go func() { done <- ts.RunClients(clerks, keys, stop) }()
		var faults chan struct{}
		if sc.partitions {
			faults = make(chan struct{})
			go partitioner(ts, stop, faults)
		}
		if sc.crash {
			time.Sleep(sc.round / 2)
			ts.CrashAll()
			time.Sleep(100 * time.Millisecond)
			ts.RestartAll()
			time.Sleep(sc.round / 2)
		} else {
			time.Sleep(sc.round)
		}
		close(stop)
		if faults != nil {
			<-faults
		}
		// Clients finish their current operations only once a majority is reachable again.
		ts.G().ConnectAll()
		stats = mergeStats(stats, <-done)
		checkStorage(t, ts, sc.maxraftstate)
	}
	if ops := kvtest.TotalOps(stats); ops < sc.rounds*sc.clients {
		t.Fatalf("the clients completed only %d operations", ops)
	}
	ts.CheckVersions(ts.MakeClerk(), keys, stats)
	ts.CheckPorcupine()
	ts.End()
}

// partitioner keeps splitting the servers in two at random until stop closes, then says so on done.
func partitioner(ts *kvtest.Test, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	n := ts.G().N()
	for {
		var p1, p2 []int
		for i := range n {
			if rand.Intn(2) == 0 {
				p1 = append(p1, i)
			} else {
				p2 = append(p2, i)
			}
		}
		ts.G().Partition(p1, p2)
		select {
		case <-stop:
			return
		case <-time.After(electionWait + time.Duration(rand.Intn(200))*time.Millisecond):
		}
	}
}

// mergeStats adds one round's per-client counts to the earlier rounds'.
func mergeStats(total, round []kvtest.ClientStats) []kvtest.ClientStats {
	if total == nil {
		return round
	}
	for i, st := range round {
		total[i].Ops += st.Ops
		total[i].Unexpected = append(total[i].Unexpected, st.Unexpected...)
		for key, c := range st.Puts {
			sum := total[i].Puts[key]
			sum.OK += c.OK
			sum.Maybe += c.Maybe
			sum.Version += c.Version
			total[i].Puts[key] = sum
		}
	}
	return total
}

// checkStorage applies the lab's bounds: with snapshots the persisted Raft state stays within maxLogFactor times
// maxraftstate; without, no snapshot appears.
func checkStorage(t *testing.T, ts *kvtest.Test, maxraftstate int) {
	t.Helper()
	if maxraftstate < 0 {
		if size := ts.G().SnapshotSize(); size > 0 {
			t.Fatalf("a server saved a %d-byte snapshot although maxraftstate is -1", size)
		}
		return
	}
	if size := ts.G().LogSize(); size > maxLogFactor*maxraftstate {
		t.Fatalf("persisted Raft state is %d bytes, above %d×%d: the logs were not trimmed", size, maxLogFactor,
			maxraftstate)
	}
}

// mustPut fails the test unless the Put applied: told OK, or told ErrMaybe (it was retried, say across a leader
// change) and a Get shows its value at the next version.
func mustPut(t *testing.T, ck kvtest.IKVClerk, key, value string, version rpc.Tversion) {
	t.Helper()
	switch err := ck.Put(key, value, version); err {
	case rpc.OK:
	case rpc.ErrMaybe:
		if v, ver, gerr := ck.Get(key); gerr != rpc.OK || v != value || ver != version+1 {
			t.Fatalf("Put(%q, %q, v%d) said ErrMaybe, and the key holds %q v%d (%v): it did not apply", key, value,
				version, v, ver, gerr)
		}
	default:
		t.Fatalf("Put(%q, %q, v%d): %v", key, value, version, err)
	}
}

// mustRefuse fails the test unless the Put was refused for its version: told ErrVersion, or ErrMaybe and a Get
// shows the key's version is not the one the Put would have set.
func mustRefuse(t *testing.T, ck kvtest.IKVClerk, key, value string, version rpc.Tversion) {
	t.Helper()
	switch err := ck.Put(key, value, version); err {
	case rpc.ErrVersion:
	case rpc.ErrMaybe:
		if v, _, _ := ck.Get(key); v == value {
			t.Fatalf("Put(%q, %q, v%d) at a wrong version applied", key, value, version)
		}
	default:
		t.Fatalf("Put(%q, %q, v%d) at a wrong version: %v, want %v", key, value, version, err, rpc.ErrVersion)
	}
}
