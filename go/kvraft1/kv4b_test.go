package kvraft_test

// Part 4B: the key/value service without snapshots. Every test with clients checks their whole history with
// porcupine.

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"6.5840/kvsrv1/rpc"
	kvtest "6.5840/kvtest1"
	"6.5840/models1"
	tester "6.5840/tester1"
)

// TestBasic4B: one clerk meets each answer of a versioned store: create, read back, update at the right
// version, refuse a stale or absent version.
func TestBasic4B(t *testing.T) {
	ts := makeKVTest(t, 5, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test: one client, the Put and Get semantics")
	ck := ts.MakeClerk()
	if _, _, err := ck.Get("a"); err != rpc.ErrNoKey {
		t.Fatalf("Get of a key never put: %v, want %v", err, rpc.ErrNoKey)
	}
	if err := ck.Put("a", "x", 1); err != rpc.ErrNoKey {
		t.Fatalf("Put to an absent key at version 1: %v, want %v", err, rpc.ErrNoKey)
	}
	mustPut(t, ck, "a", "x", 0)
	if v, ver, err := ck.Get("a"); err != rpc.OK || v != "x" || ver != 1 {
		t.Fatalf("Get after the first Put: %q v%d %v, want \"x\" v1 OK", v, ver, err)
	}
	mustRefuse(t, ck, "a", "y", 0)
	mustRefuse(t, ck, "a", "y", 5)
	for ver := rpc.Tversion(1); ver <= 20; ver++ {
		mustPut(t, ck, "a", string(rune('a'+ver)), ver)
		ts.Op()
	}
	if v, ver, err := ck.Get("a"); err != rpc.OK || v != string(rune('a'+20)) || ver != 21 {
		t.Fatalf("Get after 21 Puts: %q v%d %v, want %q v21 OK", v, ver, err, string(rune('a'+20)))
	}
	// Another clerk sees the same store.
	if v, ver, err := ts.MakeClerk().Get("a"); err != rpc.OK || v != string(rune('a'+20)) || ver != 21 {
		t.Fatalf("a second clerk's Get: %q v%d %v", v, ver, err)
	}
	ts.CheckPorcupine()
	ts.End()
}

// TestDuplicatePut4B: a Put delivered twice (a retried RPC) applies once; the second copy meets the version
// the first one set.
func TestDuplicatePut4B(t *testing.T) {
	ts := makeKVTest(t, 3, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test: a duplicated Put applies once")
	ck := ts.MakeClerk()
	mustPut(t, ck, "d", "first", 0)
	leader, ok := ts.Leader()
	if !ok {
		t.Fatal("no leader")
	}
	clnt := ts.MakeClient()
	args := rpc.PutArgs{Key: "d", Value: "second", Version: 1}
	var answers []rpc.Err
	for range 2 {
		var reply rpc.PutReply
		start := time.Since(ts.History().Start()).Nanoseconds()
		if !clnt.Call(ts.G().ServerName(leader), "KVServer.Put", &args, &reply) {
			t.Fatal("a Put to the leader on a reliable network got no reply")
		}
		// The raw RPCs bypass the recording clerk; they join the history by hand.
		ts.History().Append(porcupine.Operation{
			ClientId: 99, Call: start, Return: time.Since(ts.History().Start()).Nanoseconds(),
			Input:  models.KvInput{Put: true, Key: args.Key, Value: args.Value, Version: args.Version},
			Output: models.KvOutput{Err: reply.Err},
		})
		answers = append(answers, reply.Err)
	}
	if answers[0] != rpc.OK || answers[1] != rpc.ErrVersion {
		t.Fatalf("the same Put twice answered %v, want [OK ErrVersion]", answers)
	}
	if v, ver, err := ck.Get("d"); err != rpc.OK || v != "second" || ver != 2 {
		t.Fatalf("after the duplicate: %q v%d %v, want \"second\" v2 OK", v, ver, err)
	}
	ts.CheckPorcupine()
	ts.End()
}

func TestConcurrent4B(t *testing.T) {
	runScenario(t, "Test: many clients", scenario{
		servers: 5, clients: 5, keys: 3, reliable: true, maxraftstate: -1, rounds: 1, round: 3 * time.Second,
	})
}

func TestUnreliable4B(t *testing.T) {
	runScenario(t, "Test: many clients, unreliable network", scenario{
		servers: 5, clients: 5, keys: 3, reliable: false, maxraftstate: -1, rounds: 1, round: 3 * time.Second,
	})
}

// TestOnePartition4B: the leader is stranded in a minority. The majority elects another and keeps serving; a
// clerk that reaches only the minority gets no answer, not even a stale read from the old leader, until the
// partition heals, and then gets one.
func TestOnePartition4B(t *testing.T) {
	ts := makeKVTest(t, 5, true, -1)
	defer ts.Cleanup()
	ts.Begin("Test: progress in the majority, none in the minority")
	ck := ts.MakeClerk()
	mustPut(t, ck, "p", "13", 0)
	leader, ok := ts.Leader()
	if !ok {
		t.Fatal("no leader")
	}
	majority := []int{(leader + 1) % 5, (leader + 2) % 5, (leader + 3) % 5}
	minority := []int{leader, (leader + 4) % 5}
	ts.G().Partition(majority, minority)
	ckMajority := ts.MakeClerkOn(clientOf(ts, majority))
	minorityPut, minorityGet := clientOf(ts, minority), clientOf(ts, minority)
	ckMinority := ts.MakeClerkOn(minorityPut)

	mustPut(t, ckMajority, "p", "14", 1)
	if v, ver, err := ckMajority.Get("p"); err != rpc.OK || v != "14" || ver != 2 {
		t.Fatalf("Get in the majority: %q v%d %v", v, ver, err)
	}

	putDone := make(chan rpc.Err, 1)
	getDone := make(chan string, 1)
	go func() { putDone <- ckMinority.Put("p", "15", 2) }()
	go func() {
		v, _, _ := ts.MakeClerkOn(minorityGet).Get("p")
		getDone <- v
	}()
	// Long enough for each clerk to have asked both minority servers, after timing out on up to three servers it
	// cannot reach.
	select {
	case err := <-putDone:
		t.Fatalf("a Put in the minority completed (%v)", err)
	case v := <-getDone:
		t.Fatalf("a Get in the minority completed (%q)", v)
	case <-time.After(3500 * time.Millisecond):
	}
	// The majority moves on meanwhile, so the minority's Put meets a newer version when it finally runs.
	mustPut(t, ckMajority, "p", "16", 2)

	// The minority's clerks find the leader once they can reach every server again.
	ts.G().ConnectAll()
	minorityPut.ConnectAll()
	minorityGet.ConnectAll()
	select {
	case err := <-putDone:
		if err != rpc.ErrVersion && err != rpc.ErrMaybe {
			t.Fatalf("the minority's Put at a superseded version answered %v", err)
		}
	case <-time.After(agreeTimeout):
		t.Fatal("the minority's Put did not complete after the partition healed")
	}
	select {
	case <-getDone:
	case <-time.After(agreeTimeout):
		t.Fatal("the minority's Get did not complete after the partition healed")
	}
	ts.CheckPorcupine()
	ts.End()
}

func TestManyPartitionsOneClient4B(t *testing.T) {
	runScenario(t, "Test: partitions, one client", scenario{
		servers: 5, clients: 1, keys: 1, reliable: true, partitions: true, maxraftstate: -1, rounds: 1,
		round: 5 * time.Second,
	})
}

func TestManyPartitionsManyClients4B(t *testing.T) {
	runScenario(t, "Test: partitions, many clients", scenario{
		servers: 5, clients: 5, keys: 3, reliable: true, partitions: true, maxraftstate: -1, rounds: 1,
		round: 5 * time.Second,
	})
}

func TestPersistOneClient4B(t *testing.T) {
	runScenario(t, "Test: restarts, one client", scenario{
		servers: 5, clients: 1, keys: 1, reliable: true, crash: true, maxraftstate: -1, rounds: 3,
		round: time.Second,
	})
}

func TestPersistConcurrent4B(t *testing.T) {
	runScenario(t, "Test: restarts, many clients", scenario{
		servers: 5, clients: 5, keys: 3, reliable: true, crash: true, maxraftstate: -1, rounds: 3,
		round: time.Second,
	})
}

func TestPersistPartitionUnreliableLinearizable4B(t *testing.T) {
	runScenario(t, "Test: restarts, partitions, many clients, unreliable network, linearizability", scenario{
		servers: 5, clients: 5, keys: 3, reliable: false, partitions: true, crash: true, maxraftstate: -1,
		rounds: 3, round: 2 * time.Second,
	})
}

// agreeTimeout bounds how long an operation may wait for a leader once a majority is connected.
const agreeTimeout = 10 * time.Second

// clientOf returns a client that reaches only the given servers.
func clientOf(ts *kvtest.Test, servers []int) *tester.Clnt {
	clnt := ts.MakeClient()
	clnt.ConnectTo(ts.Names(servers))
	return clnt
}
