package labrpc

import (
	"bytes"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"6.5840/labgob"
)

type EchoArgs struct {
	X int
	S string
}

type EchoReply struct {
	X int
	S string
}

// Echo is a service with one handler of each accepted argument form, a slow handler and a handler that waits for
// others, plus methods whose shapes labrpc must skip.
type Echo struct {
	calls   int32
	release chan struct{} // Slow waits on it
	gate    *barrier      // Meet waits on it
}

func (e *Echo) Handler(args *EchoArgs, reply *EchoReply) {
	atomic.AddInt32(&e.calls, 1)
	reply.X = args.X + 1
	reply.S = args.S + "!"
}

// ByValue takes its argument by value; callers still pass a pointer, as Raft code does.
func (e *Echo) ByValue(args EchoArgs, reply *EchoReply) {
	reply.X = args.X * 2
}

func (e *Echo) Slow(args *EchoArgs, reply *EchoReply) {
	atomic.AddInt32(&e.calls, 1)
	<-e.release
	reply.X = args.X
}

func (e *Echo) Meet(args *EchoArgs, reply *EchoReply) {
	reply.X = e.gate.arrive()
}

// Shapes that are not handlers.
func (e *Echo) OneParam(args *EchoArgs)                            {}
func (e *Echo) ValueReply(args *EchoArgs, reply EchoReply)         {}
func (e *Echo) WithResult(args *EchoArgs, reply *EchoReply) bool   { return true }
func (e *Echo) ThreeParams(a *EchoArgs, b *EchoReply, c *EchoArgs) {}
func (e *Echo) unexported(args *EchoArgs, reply *EchoReply)        {}

var _ = (*Echo).unexported

type barrier struct {
	mu      sync.Mutex
	n, seen int
	all     chan struct{}
}

func newBarrier(n int) *barrier {
	return &barrier{n: n, all: make(chan struct{})}
}

// arrive returns 1 once all n callers are inside at the same time, 0 if that never happens within two seconds.
func (b *barrier) arrive() int {
	b.mu.Lock()
	b.seen++
	if b.seen == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return 1
	case <-time.After(2 * time.Second):
		return 0
	}
}

// setup builds a network with one server "s" running an Echo service and one enabled end "e" connected to it.
func setup(t *testing.T) (*Network, *ClientEnd, *Echo) {
	t.Helper()
	rn := MakeNetwork()
	t.Cleanup(rn.Cleanup)
	echo := &Echo{release: make(chan struct{})}
	rs := MakeServer()
	rs.AddService(MakeService(echo))
	rn.AddServer("s", rs)
	e := rn.MakeEnd("e")
	rn.Connect("e", "s")
	rn.Enable("e", true)
	return rn, e, echo
}

func TestServiceNameAndHandlerShapes(t *testing.T) {
	svc := MakeService(&Echo{})
	if svc.name != "Echo" {
		t.Fatalf("service name %q, want Echo (the receiver type without the pointer)", svc.name)
	}
	var names []string
	for name := range svc.methods {
		names = append(names, name)
	}
	sort.Strings(names)
	want := []string{"ByValue", "Handler", "Meet", "Slow"}
	if len(names) != len(want) {
		t.Fatalf("handlers %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("handlers %v, want %v", names, want)
		}
	}
}

func TestCallDeliversReplyAndCounts(t *testing.T) {
	rn, e, echo := setup(t)
	args := &EchoArgs{X: 41, S: "hi"}
	var reply EchoReply
	if !e.Call("Echo.Handler", args, &reply) {
		t.Fatal("call on a reliable, connected network failed")
	}
	if reply.X != 42 || reply.S != "hi!" {
		t.Fatalf("reply %+v", reply)
	}
	if n := atomic.LoadInt32(&echo.calls); n != 1 {
		t.Fatalf("handler ran %d times", n)
	}
	if rn.GetTotalCount() != 1 || rn.GetCount("s") != 1 {
		t.Fatalf("counts total=%d server=%d, want 1 and 1", rn.GetTotalCount(), rn.GetCount("s"))
	}

	// Bytes are the labgob sizes of the request and the reply.
	var qb, rb bytes.Buffer
	if err := labgob.NewEncoder(&qb).Encode(args); err != nil {
		t.Fatal(err)
	}
	if err := labgob.NewEncoder(&rb).Encode(&EchoReply{X: 42, S: "hi!"}); err != nil {
		t.Fatal(err)
	}
	if got, want := rn.GetTotalBytes(), int64(qb.Len()+rb.Len()); got != want {
		t.Fatalf("bytes %d, want %d", got, want)
	}
}

func TestHandlerTakingValue(t *testing.T) {
	_, e, _ := setup(t)
	var reply EchoReply
	if !e.Call("Echo.ByValue", &EchoArgs{X: 21}, &reply) || reply.X != 42 {
		t.Fatalf("ByValue: reply %+v", reply)
	}
}

func TestDisabledEndFailsWithoutRunningHandler(t *testing.T) {
	rn, e, echo := setup(t)
	rn.Enable("e", false)
	t0 := time.Now()
	var reply EchoReply
	if e.Call("Echo.Handler", &EchoArgs{}, &reply) {
		t.Fatal("call on a disabled end succeeded")
	}
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("disabled end took %v to fail with long delays off", d)
	}
	if atomic.LoadInt32(&echo.calls) != 0 {
		t.Fatal("handler ran for a disabled end")
	}
	// Undeliverable calls still count on the network, not on the server.
	if rn.GetTotalCount() != 1 || rn.GetCount("s") != 0 {
		t.Fatalf("counts total=%d server=%d, want 1 and 0", rn.GetTotalCount(), rn.GetCount("s"))
	}
	if rn.GetTotalBytes() == 0 {
		t.Fatal("request bytes of an undeliverable call were not counted")
	}

	rn.Enable("e", true)
	if !e.Call("Echo.Handler", &EchoArgs{}, &reply) {
		t.Fatal("call failed after re-enabling the end")
	}
}

func TestDeletedServerFails(t *testing.T) {
	rn, e, _ := setup(t)
	rn.DeleteServer("s")
	var reply EchoReply
	if e.Call("Echo.Handler", &EchoArgs{}, &reply) {
		t.Fatal("call to a deleted server succeeded")
	}
	if rn.GetCount("s") != 0 {
		t.Fatal("deleted server has a count")
	}
}

// A call whose end is disabled while its handler runs fails within about 100 ms; the handler keeps running.
func TestDisableWhileHandlerRuns(t *testing.T) {
	rn, e, echo := setup(t)
	done := make(chan bool)
	go func() {
		var reply EchoReply
		done <- e.Call("Echo.Slow", &EchoArgs{X: 1}, &reply)
	}()
	for atomic.LoadInt32(&echo.calls) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	rn.Enable("e", false)
	select {
	case ok := <-done:
		if ok {
			t.Fatal("call succeeded after its end was disabled")
		}
	case <-time.After(time.Second):
		t.Fatal("call did not notice its end was disabled")
	}
	close(echo.release)
}

// Replacing the server under a running call (a restart) makes the call fail too.
func TestReplaceServerWhileHandlerRuns(t *testing.T) {
	rn, e, echo := setup(t)
	done := make(chan bool)
	go func() {
		var reply EchoReply
		done <- e.Call("Echo.Slow", &EchoArgs{X: 1}, &reply)
	}()
	for atomic.LoadInt32(&echo.calls) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	fresh := MakeServer()
	fresh.AddService(MakeService(&Echo{}))
	rn.AddServer("s", fresh)
	select {
	case ok := <-done:
		if ok {
			t.Fatal("call succeeded after its server was replaced")
		}
	case <-time.After(time.Second):
		t.Fatal("call did not notice its server was replaced")
	}
	close(echo.release)
	if rn.GetCount("s") != 0 {
		t.Fatal("the replacement server inherited the old one's count")
	}
}

func TestHandlersRunConcurrently(t *testing.T) {
	const n = 20
	_, e, echo := setup(t)
	echo.gate = newBarrier(n)
	var wg sync.WaitGroup
	var met int32
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var reply EchoReply
			if e.Call("Echo.Meet", &EchoArgs{}, &reply) && reply.X == 1 {
				atomic.AddInt32(&met, 1)
			}
		}()
	}
	wg.Wait()
	if met != n {
		t.Fatalf("only %d of %d concurrent calls were in their handlers at once", met, n)
	}
}

// On an unreliable network about 10% of requests and 10% of replies are lost; a lost reply still ran the handler.
func TestUnreliableDrops(t *testing.T) {
	const n = 1000
	rn, e, echo := setup(t)
	rn.Reliable(false)
	var wg sync.WaitGroup
	var ok int32
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var reply EchoReply
			if e.Call("Echo.Handler", &EchoArgs{X: i}, &reply) {
				if reply.X != i+1 {
					t.Errorf("reply %d for request %d", reply.X, i)
				}
				atomic.AddInt32(&ok, 1)
			}
		}(i)
	}
	wg.Wait()
	ran := int(atomic.LoadInt32(&echo.calls))
	// Expected: 900 handled, 810 delivered; the bounds are many standard deviations wide.
	if ran < 840 || ran > 960 {
		t.Fatalf("%d of %d requests reached the handler; want about 900", ran, n)
	}
	if ok < 740 || ok > 880 {
		t.Fatalf("%d of %d calls succeeded; want about 810", ok, n)
	}
	if int(ok) >= ran {
		t.Fatalf("no replies were dropped (%d delivered, %d handled)", ok, ran)
	}
	if rn.GetTotalCount() != n {
		t.Fatalf("total count %d, want %d (lost calls count too)", rn.GetTotalCount(), n)
	}
	if rn.GetCount("s") != ran {
		t.Fatalf("server count %d, want %d (requests that reached it)", rn.GetCount("s"), ran)
	}
}

// With long delays on, a call to an unreachable peer can take seconds to fail.
func TestLongDelays(t *testing.T) {
	if testing.Short() {
		t.Skip("takes up to 7 s")
	}
	const n = 10
	rn, e, _ := setup(t)
	rn.LongDelays(true)
	rn.Enable("e", false)
	var wg sync.WaitGroup
	var slow int32
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			var reply EchoReply
			if e.Call("Echo.Handler", &EchoArgs{}, &reply) {
				t.Error("call on a disabled end succeeded")
			}
			d := time.Since(t0)
			if d > 8000*time.Millisecond {
				t.Errorf("call took %v, above the 7 s bound", d)
			}
			if d > 200*time.Millisecond {
				atomic.AddInt32(&slow, 1)
			}
		}()
	}
	wg.Wait()
	if slow == 0 {
		t.Fatal("no call to the unreachable peer took longer than 200 ms")
	}
}

// With long reordering on, most delivered replies are held back by 200 ms or more.
func TestLongReordering(t *testing.T) {
	const n = 30
	rn, e, _ := setup(t)
	rn.LongReordering(true)
	var wg sync.WaitGroup
	var late int32
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			var reply EchoReply
			if !e.Call("Echo.Handler", &EchoArgs{}, &reply) {
				t.Error("call failed on a reliable network")
			}
			d := time.Since(t0)
			if d > 3000*time.Millisecond {
				t.Errorf("reply held %v, above the 2.2 s bound", d)
			}
			if d >= 200*time.Millisecond {
				atomic.AddInt32(&late, 1)
			}
		}()
	}
	wg.Wait()
	// Expected 20 of 30.
	if late < 8 || late > 29 {
		t.Fatalf("%d of %d replies were held back; want about two thirds", late, n)
	}
}

func TestCleanupStopsCalls(t *testing.T) {
	rn, e, echo := setup(t)
	rn.Cleanup()
	var reply EchoReply
	if e.Call("Echo.Handler", &EchoArgs{}, &reply) {
		t.Fatal("call succeeded after Cleanup")
	}
	if atomic.LoadInt32(&echo.calls) != 0 {
		t.Fatal("handler ran after Cleanup")
	}
}

// Many calls may be outstanding on one end at once, and a slow one does not hold up the others.
func TestSlowCallDoesNotBlockEnd(t *testing.T) {
	_, e, echo := setup(t)
	go func() {
		var reply EchoReply
		e.Call("Echo.Slow", &EchoArgs{}, &reply)
	}()
	for atomic.LoadInt32(&echo.calls) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	var reply EchoReply
	if !e.Call("Echo.Handler", &EchoArgs{X: 1}, &reply) || reply.X != 2 {
		t.Fatal("a call behind a stuck one did not complete")
	}
	close(echo.release)
}

// A peer in another process: its calls leave through a forwarding end as bytes, cross the network through
// CallBytes, reach a server that forwards them, and are handled by DispatchBytes on the far side.
func TestForwardedCallsCrossTheNetwork(t *testing.T) {
	far := MakeServer()
	echo := &Echo{}
	far.AddService(MakeService(echo))

	rn := MakeNetwork()
	defer rn.Cleanup()
	stand := MakeServer()
	reachable := true
	stand.SetForwarder(func(svcMeth string, args []byte) ([]byte, bool) {
		if !reachable {
			return nil, false
		}
		return far.DispatchBytes(svcMeth, args), true
	})
	rn.AddServer("far", stand)
	wire := rn.MakeEnd("wire")
	rn.Connect("wire", "far")
	rn.Enable("wire", true)

	end := MakeForwardingEnd(func(svcMeth string, args []byte) ([]byte, bool) {
		return wire.CallBytes(svcMeth, args)
	})
	var reply EchoReply
	if !end.Call("Echo.Handler", &EchoArgs{X: 41, S: "hi"}, &reply) || reply.X != 42 || reply.S != "hi!" {
		t.Fatalf("forwarded call: reply %+v", reply)
	}
	if rn.GetTotalCount() != 1 || stand.GetCount() != 1 || far.GetCount() != 1 {
		t.Fatalf("counts: network %d, stand-in %d, far %d; want 1 each",
			rn.GetTotalCount(), stand.GetCount(), far.GetCount())
	}

	reachable = false
	if end.Call("Echo.Handler", &EchoArgs{X: 1}, &reply) {
		t.Fatal("a call whose process did not answer returned true")
	}
	rn.Enable("wire", false)
	if end.Call("Echo.Handler", &EchoArgs{X: 1}, &reply) {
		t.Fatal("a forwarded call on a disabled end returned true")
	}
	if n := atomic.LoadInt32(&echo.calls); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}
