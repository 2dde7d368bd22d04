package rsm_test

// The rsm tests' harness: a group of CounterServers in either peer mode (kvtest, RAFT_PEERS), reached only
// through their RPCs (Submit runs an op through the log; Inspect reads one server's own counter), so one test
// body serves both modes.

import (
	"testing"
	"time"

	"6.5840/kvraft1/rsm"
	"6.5840/kvsrv1/rpc"
	kvtest "6.5840/kvtest1"
	tester "6.5840/tester1"
)

func TestMain(m *testing.M) { kvtest.Main(m) }

const (
	// callTimeout bounds one Submit RPC: a server stranded as leader in a minority waits until it hears of a
	// new term, and a call to an unreachable one fails only after up to 7 s.
	callTimeout = 3 * time.Second
	// agreeTimeout bounds how long an op may take to commit, elections included.
	agreeTimeout = 10 * time.Second
)

var counterService = kvtest.Service{Start: rsm.StartCounterServer, Daemon: "main/rsm1d.go"}

type rsmTest struct {
	*kvtest.Test
	t      *testing.T
	clnt   *tester.Clnt
	leader int // the server that last answered a Submit with OK
}

func makeRsmTest(t *testing.T, servers int, reliable bool, maxraftstate int) *rsmTest {
	ts := &rsmTest{t: t}
	ts.Test = kvtest.MakeTest(t, kvtest.Options{
		Service:      counterService,
		Servers:      servers,
		Reliable:     reliable,
		MaxRaftState: maxraftstate,
	})
	ts.clnt = ts.MakeClient()
	return ts
}

func (ts *rsmTest) all() []int {
	servers := make([]int, ts.G().N())
	for i := range servers {
		servers[i] = i
	}
	return servers
}

// submitTo sends one op to server i and waits for the answer at most callTimeout; ok is false if none came.
func (ts *rsmTest) submitTo(i int, add int) (reply rsm.SubmitReply, ok bool) {
	type answer struct {
		reply rsm.SubmitReply
		ok    bool
	}
	done := make(chan answer, 1)
	go func() {
		var reply rsm.SubmitReply
		ok := ts.clnt.Call(ts.G().ServerName(i), "CounterServer.Submit", &rsm.SubmitArgs{Add: add}, &reply)
		done <- answer{reply, ok}
	}()
	select {
	case a := <-done:
		return a.reply, a.ok
	case <-time.After(callTimeout):
		return rsm.SubmitReply{}, false
	}
}

// tally sorts a test's Submit attempts by what their answers prove, so that a counter can be bounded exactly
// even where attempts are left in doubt: an attempt answered OK applied exactly once, one a server refused before
// starting it never applies, and any other (no answer in time, or a refusal after the op reached a leader's log)
// applies at most once, possibly much later.
type tally struct {
	applied int
	unknown int
}

func (n *tally) record(reply rsm.SubmitReply, ok bool) {
	switch {
	case n == nil:
	case ok && reply.Err == rpc.OK:
		n.applied++
	case ok && reply.NotStarted:
	default:
		n.unknown++
	}
}

// submit runs one op on whichever of servers accepts it, starting with the last leader, and returns the
// counter's value after it. It fails the test if no server committed it within agreeTimeout.
//
// An attempt that timed out or lost its leader may still commit later, so a test that counts ops exactly
// submits only where no attempt is left in doubt (a stable leader, or servers of the majority).
func (ts *rsmTest) submit(add int, servers []int) int {
	ts.t.Helper()
	return ts.submitCounted(add, servers, nil)
}

// submitCounted is submit that records each attempt in n.
func (ts *rsmTest) submitCounted(add int, servers []int, n *tally) int {
	ts.t.Helper()
	value, ok := ts.trySubmit(add, servers, n)
	if !ok {
		ts.t.Fatalf("no server of %v committed an op within %v", servers, agreeTimeout)
	}
	return value
}

// trySubmit is submit for a client goroutine, which may not end the test: ok is false if nothing committed.
// Each attempt is recorded in n, unless n is nil.
func (ts *rsmTest) trySubmit(add int, servers []int, n *tally) (int, bool) {
	deadline := time.Now().Add(agreeTimeout)
	first := 0
	for k, i := range servers {
		if i == ts.leader {
			first = k
		}
	}
	for time.Now().Before(deadline) {
		for k := range servers {
			i := servers[(first+k)%len(servers)]
			reply, ok := ts.submitTo(i, add)
			n.record(reply, ok)
			if ok && reply.Err == rpc.OK {
				ts.leader = i
				ts.Op()
				return reply.Value, true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, false
}

// inspect reads server i's own counter; ok is false if the server could not be reached.
func (ts *rsmTest) inspect(i int) (rsm.InspectReply, bool) {
	var reply rsm.InspectReply
	ok := ts.clnt.Call(ts.G().ServerName(i), "CounterServer.Inspect", &rsm.InspectArgs{Server: i}, &reply)
	return reply, ok
}

// waitValue waits until every server in servers has applied up to counter value want, and returns their states.
func (ts *rsmTest) waitValue(servers []int, want int) []rsm.InspectReply {
	ts.t.Helper()
	deadline := time.Now().Add(agreeTimeout)
	states := make([]rsm.InspectReply, len(servers))
	for k, i := range servers {
		for {
			st, ok := ts.inspect(i)
			if ok && st.Value == want {
				states[k] = st
				break
			}
			if ok && st.Value > want {
				ts.t.Fatalf("server %d's counter is %d, beyond the %d ops submitted", i, st.Value, want)
			}
			if time.Now().After(deadline) {
				ts.t.Fatalf("server %d's counter is %d (reachable: %v) after %v; want %d", i, st.Value, ok,
					agreeTimeout, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return states
}

// checkLogSize fails the test if any server's persisted Raft state exceeds limit bytes.
func (ts *rsmTest) checkLogSize(limit int) {
	ts.t.Helper()
	if size := ts.G().LogSize(); size > limit {
		ts.t.Fatalf("persisted Raft state is %d bytes, above %d: the log was not trimmed", size, limit)
	}
}
