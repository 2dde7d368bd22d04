package tester

// Clients of a config's servers, for the services built on Raft (the key/value clerks, the rsm tests): a client
// reaches servers by name through its own ends, which the tests can cut to strand it on one side of a partition.

import (
	"sync"

	"6.5840/labrpc"
)

// Clnt is one client: an end per server name, made on first use. It starts able to reach every server.
type Clnt struct {
	net *labrpc.Network

	mu      sync.Mutex
	ends    map[string]clntEnd // by server name
	all     bool               // every server reachable
	allowed map[string]bool    // when !all: the reachable ones
}

// clntEnd keeps the end's name beside it, because the network enables ends by name.
type clntEnd struct {
	name string
	end  *labrpc.ClientEnd
}

// MakeClient returns a client connected to every server.
func (cfg *Config) MakeClient() *Clnt {
	return &Clnt{net: cfg.net, ends: map[string]clntEnd{}, all: true}
}

// DeleteClient cuts the client off from every server, so calls still retrying after a test stop reaching it.
func (cfg *Config) DeleteClient(clnt *Clnt) {
	clnt.DisconnectAll()
}

// Call sends an RPC to the named server over this client's end to it; see labrpc.ClientEnd.Call for what the
// result means. A call to a server the client is cut off from fails as a call to an unreachable peer does.
func (clnt *Clnt) Call(server string, svcMeth string, args interface{}, reply interface{}) bool {
	return clnt.end(server).Call(svcMeth, args, reply)
}

func (clnt *Clnt) end(server string) *labrpc.ClientEnd {
	clnt.mu.Lock()
	defer clnt.mu.Unlock()
	if e, ok := clnt.ends[server]; ok {
		return e.end
	}
	name := "clnt-" + Randstring(20)
	e := clnt.net.MakeEnd(name)
	clnt.net.Connect(name, server)
	clnt.net.Enable(name, clnt.reachable(server))
	clnt.ends[server] = clntEnd{name: name, end: e}
	return e
}

func (clnt *Clnt) reachable(server string) bool {
	return clnt.all || clnt.allowed[server]
}

// ConnectAll lets the client reach every server.
func (clnt *Clnt) ConnectAll() {
	clnt.mu.Lock()
	defer clnt.mu.Unlock()
	clnt.all, clnt.allowed = true, nil
	clnt.apply()
}

// ConnectTo lets the client reach only the named servers.
func (clnt *Clnt) ConnectTo(servers []string) {
	clnt.mu.Lock()
	defer clnt.mu.Unlock()
	clnt.all, clnt.allowed = false, map[string]bool{}
	for _, s := range servers {
		clnt.allowed[s] = true
	}
	clnt.apply()
}

// DisconnectAll cuts the client off from every server.
func (clnt *Clnt) DisconnectAll() {
	clnt.ConnectTo(nil)
}

// apply brings every existing end in line with the reachable set; the caller holds mu.
func (clnt *Clnt) apply() {
	for server, e := range clnt.ends {
		clnt.net.Enable(e.name, clnt.reachable(server))
	}
}
