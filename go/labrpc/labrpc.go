// Package labrpc is a simulated network for the lab's tests: peers talk through ClientEnds that the test can
// disable, make lossy, delay or reorder, so Raft meets partitions and message loss inside one process.
//
// Semantics the tests and a Raft implementation rely on:
//   - A Call blocks until the handler ran and its reply arrived (true), or the request or the reply was lost, or
//     the target is unreachable (false). There is no other timeout: a live, connected server whose handler never
//     returns blocks the caller for ever.
//   - Handlers run concurrently, each in its own goroutine, and may still be running after the caller got false.
//   - Arguments and replies cross as labgob bytes, never as shared memory.
//   - A service is named after its receiver's type, so Make returning a *Raft is called as "Raft.Method".
package labrpc

import (
	"bytes"
	"log"
	"math/rand"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"6.5840/labgob"
)

const (
	// shortDelay bounds the random delay an unreliable network adds to every request.
	shortDelay = 27 * time.Millisecond
	// longDelay bounds how long a call to an unreachable peer takes to fail when long delays are on; real networks
	// give no quick negative answer, and the tests want Raft to cope with that.
	longDelay = 7000 * time.Millisecond
	// quickFail bounds the same wait when long delays are off.
	quickFail = 100 * time.Millisecond
	// deadCheck is how often a pending call checks whether its end was disabled or its server replaced.
	deadCheck = 100 * time.Millisecond
	// dropPermille is the chance, per thousand, that an unreliable network drops a request, and independently a reply.
	dropPermille = 100
)

type reqMsg struct {
	endname interface{}
	svcMeth string
	args    []byte
}

type replyMsg struct {
	reply  []byte
	failed bool // a forwarded request whose peer process could not answer
}

// ForwardFunc carries one encoded request to a peer in another process and returns its encoded reply; false means
// no reply came back.
type ForwardFunc func(svcMeth string, args []byte) (reply []byte, ok bool)

// ClientEnd is one directed link from a peer to a named server.
type ClientEnd struct {
	endname interface{}
	net     *Network
	forward ForwardFunc // set on ends living in a peer process; their calls go to the tester's network
}

// MakeForwardingEnd returns an end whose Calls are encoded here and handed to forward: a peer running in its own
// process reaches the other peers through the tester's Network, which applies the faults and does the counting.
func MakeForwardingEnd(forward ForwardFunc) *ClientEnd {
	return &ClientEnd{forward: forward}
}

// Call sends an RPC and waits for its outcome; see the package comment for what true and false mean. args is
// labgob-encoded; reply must be a pointer and receives the handler's reply when the result is true.
func (e *ClientEnd) Call(svcMeth string, args interface{}, reply interface{}) bool {
	qb := new(bytes.Buffer)
	qe := labgob.NewEncoder(qb)
	if err := qe.Encode(args); err != nil {
		log.Fatalf("labrpc.Call(%v): cannot encode args of type %T: %v", svcMeth, args, err)
	}
	var rep []byte
	var ok bool
	if e.forward != nil {
		rep, ok = e.forward(svcMeth, qb.Bytes())
	} else {
		rep, ok = e.CallBytes(svcMeth, qb.Bytes())
	}
	if !ok {
		return false
	}
	rd := labgob.NewDecoder(bytes.NewBuffer(rep))
	if err := rd.Decode(reply); err != nil {
		log.Fatalf("labrpc.Call(%v): cannot decode reply into %T: %v", svcMeth, reply, err)
	}
	return true
}

// CallBytes is Call with the request and the reply already encoded: the tester uses it for calls a peer process
// forwards, so they meet the same network as in-process calls.
func (e *ClientEnd) CallBytes(svcMeth string, args []byte) ([]byte, bool) {
	if e.net == nil {
		return nil, false
	}
	return e.net.process(reqMsg{endname: e.endname, svcMeth: svcMeth, args: args})
}

// Network connects ClientEnds to Servers and applies the fault model.
type Network struct {
	mu             sync.Mutex
	reliable       bool
	longDelays     bool
	longReordering bool
	ends           map[interface{}]*ClientEnd  // by end name
	enabled        map[interface{}]bool        // by end name
	servers        map[interface{}]*Server     // by server name; nil once deleted
	connections    map[interface{}]interface{} // end name -> server name
	done           chan struct{}               // closed by Cleanup
	count          int32                       // every Call that reached the network
	bytes          int64                       // request bytes plus delivered reply bytes
}

// MakeNetwork returns a reliable network with no ends and no servers.
func MakeNetwork() *Network {
	return &Network{
		reliable:    true,
		ends:        map[interface{}]*ClientEnd{},
		enabled:     map[interface{}]bool{},
		servers:     map[interface{}]*Server{},
		connections: map[interface{}]interface{}{},
		done:        make(chan struct{}),
	}
}

// Cleanup makes every later Call fail at once.
func (rn *Network) Cleanup() {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	select {
	case <-rn.done:
	default:
		close(rn.done)
	}
}

// Reliable turns request/reply drops and short delays off (true) or on (false).
func (rn *Network) Reliable(yes bool) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.reliable = yes
}

// IsReliable reports the current setting of Reliable.
func (rn *Network) IsReliable() bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return rn.reliable
}

// LongReordering holds back about two thirds of the delivered replies for 200 to 2200 ms.
func (rn *Network) LongReordering(yes bool) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.longReordering = yes
}

// LongDelays makes calls to unreachable servers fail after up to 7 s instead of up to 100 ms.
func (rn *Network) LongDelays(yes bool) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.longDelays = yes
}

// MakeEnd creates a ClientEnd. It starts disabled and unconnected; names must be unique.
func (rn *Network) MakeEnd(endname interface{}) *ClientEnd {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if _, ok := rn.ends[endname]; ok {
		log.Fatalf("labrpc.MakeEnd: %v already exists", endname)
	}
	e := &ClientEnd{endname: endname, net: rn}
	rn.ends[endname] = e
	rn.enabled[endname] = false
	rn.connections[endname] = nil
	return e
}

// AddServer makes rs reachable under servername, replacing any earlier server of that name; calls pending on the
// replaced server fail.
func (rn *Network) AddServer(servername interface{}, rs *Server) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.servers[servername] = rs
}

// DeleteServer makes servername unreachable; calls pending on it fail within deadCheck.
func (rn *Network) DeleteServer(servername interface{}) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.servers[servername] = nil
}

// Connect points an end at a server name; the name is resolved at each Call, so restarts keep their links.
func (rn *Network) Connect(endname interface{}, servername interface{}) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.connections[endname] = servername
}

// Enable turns an end on or off; calls on a disabled end behave as if the server were unreachable.
func (rn *Network) Enable(endname interface{}, enabled bool) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.enabled[endname] = enabled
}

// GetCount is the number of requests dispatched to servername's current Server (0 if there is none).
func (rn *Network) GetCount(servername interface{}) int {
	rn.mu.Lock()
	svr := rn.servers[servername]
	rn.mu.Unlock()
	if svr == nil {
		return 0
	}
	return svr.GetCount()
}

// GetTotalCount is the number of Calls made on this network, including lost ones and ones to disabled ends.
func (rn *Network) GetTotalCount() int {
	return int(atomic.LoadInt32(&rn.count))
}

// GetTotalBytes is the labgob size of every request plus every delivered reply.
func (rn *Network) GetTotalBytes() int64 {
	return atomic.LoadInt64(&rn.bytes)
}

type endInfo struct {
	enabled        bool
	servername     interface{}
	server         *Server
	reliable       bool
	longReordering bool
	longDelays     bool
}

func (rn *Network) endInfo(endname interface{}) endInfo {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	info := endInfo{
		enabled:        rn.enabled[endname],
		servername:     rn.connections[endname],
		reliable:       rn.reliable,
		longReordering: rn.longReordering,
		longDelays:     rn.longDelays,
	}
	if info.servername != nil {
		info.server = rn.servers[info.servername]
	}
	return info
}

// isServerDead reports whether a call in progress lost its path: the end was disabled or the server replaced.
func (rn *Network) isServerDead(endname interface{}, servername interface{}, server *Server) bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return !rn.enabled[endname] || rn.servers[servername] != server
}

func (rn *Network) closed() bool {
	select {
	case <-rn.done:
		return true
	default:
		return false
	}
}

func randDuration(max time.Duration) time.Duration {
	return time.Duration(rand.Int63n(int64(max/time.Millisecond))) * time.Millisecond
}

// process carries one request through the fault model and returns the encoded reply, if one was delivered.
func (rn *Network) process(req reqMsg) ([]byte, bool) {
	if rn.closed() {
		return nil, false
	}
	// Counted before any fault is applied: the tests' RPC budgets include lost and undeliverable calls.
	atomic.AddInt32(&rn.count, 1)
	atomic.AddInt64(&rn.bytes, int64(len(req.args)))

	info := rn.endInfo(req.endname)
	if !info.enabled || info.servername == nil || info.server == nil {
		// No quick negative answer from an unreachable peer.
		limit := quickFail
		if info.longDelays {
			limit = longDelay
		}
		time.Sleep(randDuration(limit))
		return nil, false
	}

	if !info.reliable {
		time.Sleep(randDuration(shortDelay))
		if rand.Intn(1000) < dropPermille {
			return nil, false
		}
	}

	// The handler runs in its own goroutine so a stuck or slow handler cannot hide a partition or a restart from
	// the caller; it may keep running after the caller has been told false.
	ech := make(chan replyMsg, 1)
	go func() {
		ech <- info.server.dispatch(req)
	}()

	var reply replyMsg
	replied := false
	dead := false
	tick := time.NewTicker(deadCheck)
	for !replied && !dead {
		select {
		case reply = <-ech:
			replied = true
		case <-tick.C:
			dead = rn.isServerDead(req.endname, info.servername, info.server)
		}
	}
	tick.Stop()

	// A reply from a server that was cut off or replaced while the handler ran is not delivered: the caller must
	// not learn about state from a peer it can no longer reach.
	if !replied || reply.failed || rn.isServerDead(req.endname, info.servername, info.server) {
		return nil, false
	}
	if !info.reliable && rand.Intn(1000) < dropPermille {
		// The handler already executed; only the answer is lost.
		return nil, false
	}
	if info.longReordering && rand.Intn(900) < 600 {
		time.Sleep(time.Duration(200+rand.Intn(1+rand.Intn(2000))) * time.Millisecond)
	}
	atomic.AddInt64(&rn.bytes, int64(len(reply.reply)))
	return reply.reply, true
}

// Server is one peer's RPC endpoint: a set of named services.
type Server struct {
	mu       sync.Mutex
	services map[string]*Service
	forward  ForwardFunc // requests for services not registered here, when the peer runs in another process
	count    int         // requests dispatched here
}

// MakeServer returns a Server with no services.
func MakeServer() *Server {
	return &Server{services: map[string]*Service{}}
}

// AddService registers svc under its name.
func (rs *Server) AddService(svc *Service) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.services[svc.name] = svc
}

// SetForwarder sends every request for a service not registered here to forward, still encoded: the tester's
// stand-in for a peer that runs in its own process.
func (rs *Server) SetForwarder(forward ForwardFunc) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.forward = forward
}

// DispatchBytes runs one encoded request on this server's services and returns the encoded reply: a peer process
// handles the requests the tester forwards to it this way.
func (rs *Server) DispatchBytes(svcMeth string, args []byte) []byte {
	return rs.dispatch(reqMsg{svcMeth: svcMeth, args: args}).reply
}

// GetCount is the number of requests dispatched to this server.
func (rs *Server) GetCount() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.count
}

func (rs *Server) dispatch(req reqMsg) replyMsg {
	rs.mu.Lock()
	rs.count++
	dot := strings.LastIndex(req.svcMeth, ".")
	if dot < 0 {
		rs.mu.Unlock()
		log.Fatalf("labrpc: malformed method name %q; want Service.Method", req.svcMeth)
	}
	serviceName := req.svcMeth[:dot]
	methodName := req.svcMeth[dot+1:]
	svc, ok := rs.services[serviceName]
	forward := rs.forward
	var known []string
	if !ok && forward != nil {
		rs.mu.Unlock()
		reply, delivered := forward(req.svcMeth, req.args)
		return replyMsg{reply: reply, failed: !delivered}
	}
	if !ok {
		for name := range rs.services {
			known = append(known, name)
		}
	}
	rs.mu.Unlock()

	if !ok {
		// A misspelt service would otherwise look like a lossy network; the lab treats it as a fatal bug.
		log.Fatalf("labrpc.Server.dispatch(): unknown service %v in %v; expecting one of %v",
			serviceName, req.svcMeth, known)
	}
	return svc.dispatch(methodName, req)
}

// Service is an object whose exported methods of the shape func (args T, reply *R) are RPC handlers.
type Service struct {
	name    string
	rcvr    reflect.Value
	typ     reflect.Type
	methods map[string]reflect.Method
}

// MakeService wraps rcvr. The service name is the receiver's type name after one pointer is removed. Exported
// methods of any other shape (wrong parameter count, non-pointer reply, any result) are skipped silently.
func MakeService(rcvr interface{}) *Service {
	svc := &Service{
		typ:     reflect.TypeOf(rcvr),
		rcvr:    reflect.ValueOf(rcvr),
		methods: map[string]reflect.Method{},
	}
	svc.name = reflect.Indirect(svc.rcvr).Type().Name()

	for m := 0; m < svc.typ.NumMethod(); m++ {
		method := svc.typ.Method(m)
		mtype := method.Type
		if method.PkgPath != "" || // unexported
			mtype.NumIn() != 3 || // receiver, args, reply
			mtype.In(2).Kind() != reflect.Ptr ||
			mtype.NumOut() != 0 {
			continue
		}
		svc.methods[method.Name] = method
	}
	return svc
}

func (svc *Service) dispatch(methname string, req reqMsg) replyMsg {
	method, ok := svc.methods[methname]
	if !ok {
		var choices []string
		for name := range svc.methods {
			choices = append(choices, name)
		}
		log.Fatalf("labrpc.Service.dispatch(): unknown method %v in %v; expecting one of %v",
			methname, req.svcMeth, choices)
	}

	// Arguments are allocated from the handler's own parameter type (as the 2026 lab does), so a caller passing a
	// pointer to a handler taking a value, or the reverse, still works.
	argType := method.Type.In(1)
	var args reflect.Value
	if argType.Kind() == reflect.Ptr {
		args = reflect.New(argType.Elem())
	} else {
		args = reflect.New(argType)
	}
	ad := labgob.NewDecoder(bytes.NewBuffer(req.args))
	if err := ad.Decode(args.Interface()); err != nil {
		// The lab ignores this; we stop, because a handler fed zero arguments produces baffling Raft failures far
		// from the cause.
		log.Fatalf("labrpc: cannot decode args of %v into %v: %v", req.svcMeth, argType, err)
	}
	if argType.Kind() != reflect.Ptr {
		args = args.Elem()
	}

	replyv := reflect.New(method.Type.In(2).Elem())
	method.Func.Call([]reflect.Value{svc.rcvr, args, replyv})

	rb := new(bytes.Buffer)
	re := labgob.NewEncoder(rb)
	if err := re.EncodeValue(replyv); err != nil {
		log.Fatalf("labrpc: cannot encode reply of %v: %v", req.svcMeth, err)
	}
	return replyMsg{reply: rb.Bytes()}
}
