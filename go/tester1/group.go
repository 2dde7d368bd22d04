package tester

import (
	"fmt"
	"log"
	"sync"

	"6.5840/labrpc"
)

// Tgid names a group of peers (a Raft cluster).
type Tgid int

// IService is anything a start function returns: each is registered as a labrpc service of the peer, and Kill is
// called on each when the peer crashes.
type IService interface {
	Kill()
}

// forwarder is a service standing in for a peer in another process: requests for it arrive still encoded.
type forwarder interface {
	Forward(svcMeth string, args []byte) ([]byte, bool)
}

// sizer is a service whose peer keeps its storage elsewhere and can report its current sizes.
type sizer interface {
	RaftStateSize() int
	SnapshotSize() int
}

// checkpointer is a service whose peer keeps its storage elsewhere and hands a copy over at a crash.
type checkpointer interface {
	Checkpoint() (raftstate, snapshot []byte, err error)
}

// FstartServer starts one peer: ends[j] reaches peer j of the group (ends[srv] is the peer itself), and persister
// holds what the previous incarnation saved. It must return promptly.
type FstartServer func(ends []*labrpc.ClientEnd, grp Tgid, srv int, persister *Persister) []IService

// server is one slot of a group; a restart refills the slot.
type server struct {
	endNames []string
	ends     []*labrpc.ClientEnd
	saved    *Persister // survives crashes
	svcs     []IService // nil while crashed
}

// Group is a set of peers that talk to each other over the config's network.
//
// Links are one-way ends per (from, to) pair, fresh for every incarnation of the sender, so a crashed peer's
// leftover goroutines keep talking into ends nobody enables again.
type Group struct {
	net         *labrpc.Network
	gid         Tgid
	mks         FstartServer
	servernames []string

	mu        sync.Mutex
	srvs      []*server
	connected []bool
}

func newGroup(net *labrpc.Network, gid Tgid, n int, mks FstartServer) *Group {
	g := &Group{
		net:         net,
		gid:         gid,
		mks:         mks,
		servernames: make([]string, n),
		srvs:        make([]*server, n),
		connected:   make([]bool, n),
	}
	for i := range g.srvs {
		g.servernames[i] = fmt.Sprintf("server-%d-%d", gid, i)
		g.srvs[i] = &server{saved: MakePersister()}
	}
	return g
}

// N is the number of peers.
func (g *Group) N() int {
	return len(g.srvs)
}

// ServerName is the labrpc server name of peer i; it stays the same across restarts.
func (g *Group) ServerName(i int) string {
	return g.servernames[i]
}

// SrvNames are the server names of every peer, in order: what a client needs to reach the group.
func (g *Group) SrvNames() []string {
	names := make([]string, len(g.servernames))
	copy(names, g.servernames)
	return names
}

// StartServer starts peer i (crashing it first if it runs) from a copy of what it last saved. Its new ends start
// disabled; ConnectOne brings it onto the network.
func (g *Group) StartServer(i int) {
	if g.IsAlive(i) {
		g.ShutdownServer(i)
	}
	n := g.N()
	endNames := make([]string, n)
	ends := make([]*labrpc.ClientEnd, n)
	for j := 0; j < n; j++ {
		endNames[j] = Randstring(20)
		ends[j] = g.net.MakeEnd(endNames[j])
		g.net.Connect(endNames[j], g.servernames[j])
	}

	g.mu.Lock()
	srv := g.srvs[i]
	srv.endNames = endNames
	srv.ends = ends
	// The new incarnation writes to its own Persister; whatever the old one still saves lands in the old object.
	srv.saved = srv.saved.Copy()
	saved := srv.saved
	g.mu.Unlock()

	// Outside the lock: the start function calls Make, which may take a moment and may call back into nothing of ours.
	svcs := g.mks(ends, g.gid, i, saved)

	rs := labrpc.MakeServer()
	for _, svc := range svcs {
		rs.AddService(labrpc.MakeService(svc))
		if f, ok := svc.(forwarder); ok {
			rs.SetForwarder(f.Forward)
		}
	}
	g.mu.Lock()
	srv.svcs = svcs
	g.mu.Unlock()
	g.net.AddServer(g.servernames[i], rs)
}

// StartServers starts every peer.
func (g *Group) StartServers() {
	for i := 0; i < g.N(); i++ {
		g.StartServer(i)
	}
}

// ShutdownServer crashes peer i: cut it off, remove its RPC server, keep a copy of its storage, then Kill its
// services. The order makes anything the dying peer saves after the copy vanish, as it would on a real crash.
func (g *Group) ShutdownServer(i int) {
	g.DisconnectAll(i)
	g.net.DeleteServer(g.servernames[i])

	g.mu.Lock()
	srv := g.srvs[i]
	svcs := srv.svcs
	srv.svcs = nil
	saved := srv.saved
	g.mu.Unlock()

	// A peer in its own process keeps its storage there: take it before the process dies.
	for _, svc := range svcs {
		if c, ok := svc.(checkpointer); ok {
			if raftstate, snapshot, err := c.Checkpoint(); err == nil {
				saved.Save(raftstate, snapshot)
			} else {
				log.Printf("%v; server %d restarts from its previous checkpoint", err, i)
			}
		}
	}

	g.mu.Lock()
	srv.saved = saved.Copy()
	g.mu.Unlock()

	for _, svc := range svcs {
		svc.Kill()
	}
}

// Shutdown crashes every peer.
func (g *Group) Shutdown() {
	for i := 0; i < g.N(); i++ {
		g.ShutdownServer(i)
	}
}

// IsAlive reports whether peer i has been started and not crashed since.
func (g *Group) IsAlive(i int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.srvs[i].svcs != nil
}

// Services returns what peer i's start function returned, or nil while it is crashed.
func (g *Group) Services(i int) []IService {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.srvs[i].svcs
}

// ConnectOne marks peer i connected and enables its links to and from every other connected peer.
func (g *Group) ConnectOne(i int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.connected[i] = true
	for j := range g.srvs {
		if g.connected[j] {
			g.enable(i, j, true)
			g.enable(j, i, true)
		}
	}
}

// ConnectAll connects every peer.
func (g *Group) ConnectAll() {
	for i := 0; i < g.N(); i++ {
		g.ConnectOne(i)
	}
}

// DisconnectAll marks peer i disconnected and disables every link to and from it.
func (g *Group) DisconnectAll(i int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.connected[i] = false
	for j := range g.srvs {
		g.enable(i, j, false)
		g.enable(j, i, false)
	}
}

// enable switches the link from peer from to peer to; peers never started have no ends yet.
func (g *Group) enable(from, to int, on bool) {
	if names := g.srvs[from].endNames; names != nil {
		g.net.Enable(names[to], on)
	}
}

// Partition splits the peers into two sides that reach only their own side; peers in neither are cut off from
// everyone. ConnectAll heals it.
func (g *Group) Partition(p1 []int, p2 []int) {
	side := make([]int, len(g.srvs))
	for _, i := range p1 {
		side[i] = 1
	}
	for _, i := range p2 {
		side[i] = 2
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range g.srvs {
		g.connected[i] = side[i] != 0
		for j := range g.srvs {
			g.enable(i, j, side[i] != 0 && side[i] == side[j])
		}
	}
}

// IsConnected reports whether peer i is marked connected.
func (g *Group) IsConnected(i int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.connected[i]
}

// RpcCount is the number of RPCs delivered to peer i's current incarnation.
func (g *Group) RpcCount(i int) int {
	return g.net.GetCount(g.servernames[i])
}

// Persister returns peer i's current storage: the live one while it runs, the saved copy while it is crashed.
func (g *Group) Persister(i int) *Persister {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.srvs[i].saved
}

// LogSize is the largest Raft state any peer has persisted.
func (g *Group) LogSize() int {
	max := 0
	for i := 0; i < g.N(); i++ {
		if n, _ := g.StorageSizes(i); n > max {
			max = n
		}
	}
	return max
}

// SnapshotSize is the largest snapshot any peer has persisted.
func (g *Group) SnapshotSize() int {
	max := 0
	for i := 0; i < g.N(); i++ {
		if _, n := g.StorageSizes(i); n > max {
			max = n
		}
	}
	return max
}

// StorageSizes is the size of the Raft state and of the snapshot peer i has persisted: asked of the peer's
// process while it runs in one, else read from its Persister (the live one, or the copy kept at its crash).
func (g *Group) StorageSizes(i int) (raftstate int, snapshot int) {
	for _, svc := range g.Services(i) {
		if s, ok := svc.(sizer); ok {
			return s.RaftStateSize(), s.SnapshotSize()
		}
	}
	ps := g.Persister(i)
	return ps.RaftStateSize(), ps.SnapshotSize()
}
