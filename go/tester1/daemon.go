package tester

// One process per peer, the 2026 tester's model: the tester starts a daemon binary per peer and talks to it over
// unix sockets, and every RPC between peers goes daemon → tester → tester's Network → tester → target daemon, so
// drops, delays, partitions and counting all stay in the tester's one labrpc.Network. A crash checkpoints the
// daemon's Persister and then SIGKILLs the process, so whatever Raft did not pass to Persister.Save is lost.
//
// A daemon hosts either a bare Raft (RunDaemon: the Raft lab, whose service and checker live in the tester) or a
// whole service built on Raft (RunServiceDaemon: rsm, kvraft), whose start function returns the objects to serve,
// as the lab's StartKVServer does. Requests for any of them (a clerk's Get, another peer's AppendEntries) reach
// the daemon the same way: through the tester's network, to the group's labrpc server for this peer, whose
// forwarder hands them over still encoded.
//
// The two directions are plain net/rpc connections with gob encoding (net/rpc runs each request in its own
// goroutine, as the lab's socket layer does):
//   - tester → daemon ("Daemon"): Init (the saved state; Make or the service's start function runs here), Start,
//     GetState, Deliver (one encoded labrpc request for one of the peer's services), Checkpoint, RaftStateSize,
//     SnapshotSize.
//   - daemon → tester ("Tester"): Forward (one encoded labrpc request from this peer to peer To) and, for a bare
//     Raft, Applied (one ApplyMsg; the reply may carry a snapshot the daemon must hand to Snapshot, from the
//     goroutine reading applyCh, as the lab's service does). The Raft lab's checker itself lives in the tester.

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"6.5840/labrpc"
	"6.5840/raftapi"
)

const (
	// daemonLifetime ends a peer process that outlived any test that could want it (the lab's daemons do the same
	// after 10 minutes), so a crashed tester never leaves peers behind for long.
	daemonLifetime = 10 * time.Minute
	// dialAttempts × dialPause bounds how long the tester waits for a new process to listen. The lab's tester
	// retries its dial every 100 ms, so a peer it starts is reachable about 100 ms after it was spawned, and the
	// peers of one restart come up that far apart: pausing as long gives the crash tests the lab's pace (with a
	// 25 ms pause they ran a fifth faster, with fewer elections and heartbeats between restarts, than the lab's).
	dialAttempts = 50
	dialPause    = 100 * time.Millisecond
)

// MakeFunc builds a peer inside a daemon: the lab's Make.
type MakeFunc func(peers []*labrpc.ClientEnd, me int, persister *Persister, applyCh chan raftapi.ApplyMsg) raftapi.Raft

// ServiceFunc starts a peer's services inside a daemon, in the shape of the lab's StartKVServer: every object it
// returns is registered as a labrpc service of the peer. maxraftstate is the service's snapshot threshold (-1 for
// none). It must return promptly.
type ServiceFunc func(ends []*labrpc.ClientEnd, gid Tgid, me int, persister *Persister, maxraftstate int) []IService

// raftPeer is what Start and GetState reach in a daemon: the Raft itself, or the service object that answers
// for it (the first returned one that has both methods).
type raftPeer interface {
	Start(command interface{}) (int, int, bool)
	GetState() (int, bool)
}

// InitArgs carries a peer's saved storage into a new process.
type InitArgs struct {
	RaftState []byte
	Snapshot  []byte
}

// StartArgs asks a peer to propose Command.
type StartArgs struct{ Command interface{} }

// StartReply is Start's result.
type StartReply struct {
	Index, Term int
	IsLeader    bool
}

// StateReply is GetState's result.
type StateReply struct {
	Term     int
	IsLeader bool
}

// RequestArgs is one encoded labrpc request; To is the target peer when a daemon forwards it.
type RequestArgs struct {
	To      int
	SvcMeth string
	Args    []byte
}

// RequestReply is the encoded labrpc reply; Ok false means none came back.
type RequestReply struct {
	Reply []byte
	Ok    bool
}

// CheckpointReply is a copy of a daemon's storage.
type CheckpointReply struct {
	RaftState []byte
	Snapshot  []byte
}

// AppliedArgs is one message a peer sent on applyCh.
type AppliedArgs struct{ Msg raftapi.ApplyMsg }

// AppliedReply carries the snapshot the service takes after this message, if any.
type AppliedReply struct{ Snapshot []byte }

// Empty is the argument of calls that need none.
type Empty struct{}

// daemon is the peer process's side.
type daemon struct {
	name         string // the program's name, for messages
	me, n        int
	gid          Tgid
	maxraftstate int
	start        ServiceFunc
	tester       *rpc.Client // to the tester, for Forward and Applied

	mu        sync.Mutex
	rf        raftPeer       // nil if no service answers Start and GetState
	server    *labrpc.Server // the services' handlers; nil until Init
	persister *Persister
	closed    atomic.Bool // set by Checkpoint: from then on this peer can no longer reach anyone
}

// RunDaemon is a bare Raft peer process's main: it runs mk in Init, reports every applied message to the tester,
// and serves the tester on the socket named by the command line until the tester kills it. args are the
// command-line arguments after the program name.
func RunDaemon(args []string, mk MakeFunc) {
	runDaemon(args, func(d *daemon) ServiceFunc {
		return func(ends []*labrpc.ClientEnd, _ Tgid, me int, persister *Persister, _ int) []IService {
			applyCh := make(chan raftapi.ApplyMsg)
			rf := mk(ends, me, persister, applyCh)
			// Init holds the daemon's lock until the Raft's handlers are registered, and nothing the applier does
			// needs them, so reading applyCh may start now: still only after Make returned, as in the lab.
			go d.applier(rf, applyCh)
			return []IService{rf}
		}
	})
}

// RunServiceDaemon is the main of a peer process that hosts a service built on Raft: Init runs start, and every
// object it returns serves the requests the tester's network delivers to this peer. args are the command-line
// arguments after the program name.
func RunServiceDaemon(args []string, start ServiceFunc) {
	runDaemon(args, func(*daemon) ServiceFunc { return start })
}

func runDaemon(args []string, service func(d *daemon) ServiceFunc) {
	name := filepath.Base(os.Args[0])
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	me := fs.Int("me", -1, "this peer's index")
	n := fs.Int("n", 0, "number of peers")
	gid := fs.Int("gid", 0, "this peer's group")
	maxraftstate := fs.Int("maxraftstate", -1, "the service's snapshot threshold in bytes of Raft state; -1: none")
	listen := fs.String("listen", "", "unix socket this daemon serves the tester on")
	testerSock := fs.String("tester", "", "unix socket of the tester, for forwarded RPCs and applied messages")
	if err := fs.Parse(args); err != nil || *me < 0 || *n <= *me || *listen == "" || *testerSock == "" {
		log.Fatalf("%s: usage: %s [-gid G] [-maxraftstate B] -me I -n N -listen SOCKET -tester SOCKET (got %q)",
			name, name, args)
	}
	runtime.GOMAXPROCS(4)
	go exitWithParent()

	l, err := net.Listen("unix", *listen)
	if err != nil {
		log.Fatalf("%s: listen %v: %v", name, *listen, err)
	}
	tester, err := rpc.Dial("unix", *testerSock)
	if err != nil {
		log.Fatalf("%s: dial tester %v: %v", name, *testerSock, err)
	}
	d := &daemon{name: name, me: *me, n: *n, gid: Tgid(*gid), maxraftstate: *maxraftstate, tester: tester}
	d.start = service(d)
	srv := rpc.NewServer()
	if err := srv.RegisterName("Daemon", d); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	serveRPC(l, srv)
}

// serveRPC serves each connection l accepts until l is closed; unlike rpc.Server.Accept it stays quiet when the
// listener closes, which is how every peer's life ends.
func serveRPC(l net.Listener, srv *rpc.Server) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go srv.ServeConn(conn)
	}
}

// exitWithParent ends the process when the tester that started it is gone, or after daemonLifetime.
func exitWithParent() {
	parent := os.Getppid()
	deadline := time.Now().Add(daemonLifetime)
	for os.Getppid() == parent && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	os.Exit(1)
}

// Init restores the saved storage, starts the peer's services (Make, for a bare Raft) and registers their
// handlers. It returns only then, so the tester adds the peer to its network once it can serve.
func (d *daemon) Init(args InitArgs, _ *Empty) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.server != nil {
		return fmt.Errorf("%s: Init called twice", d.name)
	}
	d.persister = MakePersister()
	d.persister.Save(args.RaftState, args.Snapshot)
	ends := make([]*labrpc.ClientEnd, d.n)
	for j := range ends {
		to := j
		ends[j] = labrpc.MakeForwardingEnd(func(svcMeth string, a []byte) ([]byte, bool) {
			return d.forward(to, svcMeth, a)
		})
	}
	svcs := d.start(ends, d.gid, d.me, d.persister, d.maxraftstate)
	d.server = labrpc.MakeServer()
	for _, svc := range svcs {
		d.server.AddService(labrpc.MakeService(svc))
		if rf, ok := svc.(raftPeer); ok && d.rf == nil {
			d.rf = rf
		}
	}
	return nil
}

func (d *daemon) forward(to int, svcMeth string, args []byte) ([]byte, bool) {
	if d.closed.Load() {
		return nil, false
	}
	var reply RequestReply
	if err := d.tester.Call("Tester.Forward", RequestArgs{To: to, SvcMeth: svcMeth, Args: args}, &reply); err != nil {
		return nil, false
	}
	return reply.Reply, reply.Ok
}

// applier reports every applied message to the tester and, when the tester's service decides to snapshot, hands
// the snapshot to Raft from this goroutine, holding no lock: the same shape as the lab's service.
func (d *daemon) applier(rf raftapi.Raft, applyCh chan raftapi.ApplyMsg) {
	for m := range applyCh {
		var reply AppliedReply
		if err := d.tester.Call("Tester.Applied", AppliedArgs{Msg: m}, &reply); err != nil {
			continue // the tester checkpointed this peer and is about to kill it
		}
		if m.CommandValid && len(reply.Snapshot) > 0 {
			rf.Snapshot(m.CommandIndex, reply.Snapshot)
		}
	}
}

func (d *daemon) served() (*labrpc.Server, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.server == nil {
		return nil, fmt.Errorf("%s: not initialised", d.name)
	}
	return d.server, nil
}

func (d *daemon) raft() (raftPeer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.server == nil {
		return nil, fmt.Errorf("%s: not initialised", d.name)
	}
	if d.rf == nil {
		return nil, fmt.Errorf("%s: no service of this peer answers Start and GetState", d.name)
	}
	return d.rf, nil
}

// Start proposes a command.
func (d *daemon) Start(args StartArgs, reply *StartReply) error {
	rf, err := d.raft()
	if err != nil {
		return err
	}
	reply.Index, reply.Term, reply.IsLeader = rf.Start(args.Command)
	return nil
}

// GetState reports term and leadership.
func (d *daemon) GetState(_ Empty, reply *StateReply) error {
	rf, err := d.raft()
	if err != nil {
		return err
	}
	reply.Term, reply.IsLeader = rf.GetState()
	return nil
}

// Deliver runs one request that reached this peer through the tester's network: from another peer, or from a
// client of the service.
func (d *daemon) Deliver(args RequestArgs, reply *RequestReply) error {
	server, err := d.served()
	if err != nil {
		return err
	}
	reply.Reply = server.DispatchBytes(args.SvcMeth, args.Args)
	reply.Ok = true
	return nil
}

// Checkpoint cuts this peer off from the tester and returns a copy of its storage; the tester kills the process
// next, so later saves are lost, as in a real crash.
func (d *daemon) Checkpoint(_ Empty, reply *CheckpointReply) error {
	d.closed.Store(true)
	d.mu.Lock()
	persister := d.persister
	d.mu.Unlock()
	if persister == nil {
		return fmt.Errorf("%s: not initialised", d.name)
	}
	cp := persister.Checkpoint()
	reply.RaftState, reply.Snapshot = cp.ReadRaftState(), cp.ReadSnapshot()
	return nil
}

// RaftStateSize is the size of the persisted Raft state.
func (d *daemon) RaftStateSize(_ Empty, reply *int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.persister != nil {
		*reply = d.persister.RaftStateSize()
	}
	return nil
}

// SnapshotSize is the size of the persisted snapshot.
func (d *daemon) SnapshotSize(_ Empty, reply *int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.persister != nil {
		*reply = d.persister.SnapshotSize()
	}
	return nil
}

// DaemonPeer is the tester's handle on one peer process. It is the group's service for that peer: the group
// forwards the peer's requests to it, checkpoints it at a crash, and Kills it.
type DaemonPeer struct {
	me       int
	ends     []*labrpc.ClientEnd // this incarnation's ends to every peer, in the tester's network
	onApply  func(raftapi.ApplyMsg) []byte
	cmd      *exec.Cmd
	client   *rpc.Client // to the daemon
	listener net.Listener
	sockets  []string
	exited   chan struct{}
	killing  atomic.Bool
}

// DaemonSpec says how to start peer processes.
type DaemonSpec struct {
	Binary string // the daemon program, which calls RunDaemon or RunServiceDaemon
	Dir    string // where the sockets go; short, since socket paths are limited to about 100 bytes
	Gid    Tgid   // the peers' group, passed to a service's start function
	// MaxRaftState is passed to a service's start function: its snapshot threshold, -1 for none. A bare Raft
	// ignores it.
	MaxRaftState int
	// OnApply receives every message a bare Raft peer applies and returns the snapshot the peer must take, if any.
	// A service daemon applies its messages itself and never calls it.
	OnApply func(srv int, m raftapi.ApplyMsg) []byte
	// OnExit hears about a process that ended without being killed (a crash, a race report, a Rust abort).
	OnExit func(srv int, err error)
}

// testerService is what a daemon calls; one per process, so a killed process's late calls reach nothing live.
type testerService struct{ p *DaemonPeer }

// Forward carries a request from this peer to peer To through the tester's network.
func (s *testerService) Forward(args RequestArgs, reply *RequestReply) error {
	if args.To < 0 || args.To >= len(s.p.ends) {
		return fmt.Errorf("tester: forward to unknown peer %d", args.To)
	}
	reply.Reply, reply.Ok = s.p.ends[args.To].CallBytes(args.SvcMeth, args.Args)
	return nil
}

// Applied passes one applied message to the checker.
func (s *testerService) Applied(args AppliedArgs, reply *AppliedReply) error {
	if s.p.onApply == nil {
		return fmt.Errorf("tester: peer %d reported an applied message, but nobody checks them", s.p.me)
	}
	reply.Snapshot = s.p.onApply(args.Msg)
	return nil
}

// StartDaemon starts peer srv's process with the given storage, waits until Make has returned in it, and returns
// its handle. ends are the peer's links in the tester's network.
func StartDaemon(spec DaemonSpec, srv int, ends []*labrpc.ClientEnd, persister *Persister) (*DaemonPeer, error) {
	tag := Randstring(8)
	testerSock := filepath.Join(spec.Dir, fmt.Sprintf("t%d-%s", srv, tag))
	daemonSock := filepath.Join(spec.Dir, fmt.Sprintf("d%d-%s", srv, tag))
	p := &DaemonPeer{
		me:      srv,
		ends:    ends,
		sockets: []string{testerSock, daemonSock},
		exited:  make(chan struct{}),
	}
	if spec.OnApply != nil {
		p.onApply = func(m raftapi.ApplyMsg) []byte { return spec.OnApply(srv, m) }
	}
	l, err := net.Listen("unix", testerSock)
	if err != nil {
		return nil, fmt.Errorf("tester: listen for peer %d: %w", srv, err)
	}
	p.listener = l
	rs := rpc.NewServer()
	if err := rs.RegisterName("Tester", &testerService{p: p}); err != nil {
		l.Close()
		return nil, err
	}
	go serveRPC(l, rs)

	p.cmd = exec.Command(spec.Binary, "-gid", fmt.Sprint(spec.Gid), "-maxraftstate", fmt.Sprint(spec.MaxRaftState),
		"-me", fmt.Sprint(srv), "-n", fmt.Sprint(len(ends)), "-listen", daemonSock, "-tester", testerSock)
	p.cmd.Stdout, p.cmd.Stderr = os.Stdout, os.Stderr
	if err := p.cmd.Start(); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("tester: start peer %d (%v): %w", srv, spec.Binary, err)
	}
	go func() {
		err := p.cmd.Wait()
		close(p.exited)
		if !p.killing.Load() && spec.OnExit != nil {
			spec.OnExit(srv, fmt.Errorf("peer %d's process exited by itself: %v", srv, err))
		}
	}()

	for attempt := 0; ; attempt++ {
		if p.client, err = rpc.Dial("unix", daemonSock); err == nil {
			break
		}
		select {
		case <-p.exited:
			p.Kill()
			return nil, fmt.Errorf("tester: peer %d exited before listening", srv)
		case <-time.After(dialPause):
		}
		if attempt == dialAttempts {
			p.Kill()
			return nil, fmt.Errorf("tester: peer %d never listened on %v: %w", srv, daemonSock, err)
		}
	}
	init := InitArgs{RaftState: persister.ReadRaftState(), Snapshot: persister.ReadSnapshot()}
	if err := p.client.Call("Daemon.Init", init, &Empty{}); err != nil {
		p.Kill()
		return nil, fmt.Errorf("tester: init peer %d: %w", srv, err)
	}
	return p, nil
}

// Start asks the peer to propose cmd; a peer that cannot be reached is not the leader.
func (p *DaemonPeer) Start(cmd interface{}) (int, int, bool) {
	var reply StartReply
	if err := p.client.Call("Daemon.Start", StartArgs{Command: cmd}, &reply); err != nil {
		return -1, -1, false
	}
	return reply.Index, reply.Term, reply.IsLeader
}

// GetState asks the peer for its term and whether it leads.
func (p *DaemonPeer) GetState() (int, bool) {
	var reply StateReply
	if err := p.client.Call("Daemon.GetState", Empty{}, &reply); err != nil {
		return 0, false
	}
	return reply.Term, reply.IsLeader
}

// RaftStateSize is the size of the Raft state the peer has persisted so far.
func (p *DaemonPeer) RaftStateSize() int {
	var size int
	if err := p.client.Call("Daemon.RaftStateSize", Empty{}, &size); err != nil {
		return 0
	}
	return size
}

// SnapshotSize is the size of the snapshot the peer has persisted so far.
func (p *DaemonPeer) SnapshotSize() int {
	var size int
	if err := p.client.Call("Daemon.SnapshotSize", Empty{}, &size); err != nil {
		return 0
	}
	return size
}

// Forward hands a request from the tester's network to the process; the group installs it as the labrpc
// server's forwarder.
func (p *DaemonPeer) Forward(svcMeth string, args []byte) ([]byte, bool) {
	var reply RequestReply
	if err := p.client.Call("Daemon.Deliver", RequestArgs{To: p.me, SvcMeth: svcMeth, Args: args}, &reply); err != nil {
		return nil, false
	}
	return reply.Reply, reply.Ok
}

// Checkpoint cuts the process off and returns a copy of its storage.
func (p *DaemonPeer) Checkpoint() (raftstate, snapshot []byte, err error) {
	var reply CheckpointReply
	if err := p.client.Call("Daemon.Checkpoint", Empty{}, &reply); err != nil {
		return nil, nil, fmt.Errorf("tester: checkpoint peer %d: %w", p.me, err)
	}
	return reply.RaftState, reply.Snapshot, nil
}

// Kill SIGKILLs the process, waits for it, and removes its sockets. It is idempotent.
func (p *DaemonPeer) Kill() {
	if p.killing.Swap(true) {
		<-p.exited
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		log.Printf("tester: kill peer %d: %v", p.me, err)
	}
	<-p.exited
	p.cleanup()
}

func (p *DaemonPeer) cleanup() {
	if p.client != nil {
		p.client.Close()
	}
	p.listener.Close()
	for _, s := range p.sockets {
		os.Remove(s)
	}
}
