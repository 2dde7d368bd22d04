// Command fakeservice is a stand-in for a service daemon (kvraft1d, rsm1d) for testing RunServiceDaemon without
// Raft: its Echo service answers clients with what the daemon was started with, relays to the next peer,
// saves what a client asks in its Persister, and answers GetState.
package main

import (
	"os"

	"6.5840/labrpc"
	tester "6.5840/tester1"
)

// Echo is registered as the service "Echo".
type Echo struct {
	me, n        int
	gid          tester.Tgid
	maxraftstate int
	peers        []*labrpc.ClientEnd
	persister    *tester.Persister
}

// HelloArgs asks the server to save Save (if not empty) and to relay to the next peer when Relay is set.
type HelloArgs struct {
	Save  string
	Relay bool
}

// HelloReply says who answered, how it was started, what it has saved, and who the relay reached.
type HelloReply struct {
	Me, Gid, MaxRaftState int
	Saved                 string
	Relayed               int
}

func (e *Echo) Hello(args *HelloArgs, reply *HelloReply) {
	if args.Save != "" {
		e.persister.Save([]byte(args.Save), nil)
	}
	reply.Me, reply.Gid, reply.MaxRaftState = e.me, int(e.gid), e.maxraftstate
	reply.Saved = string(e.persister.ReadRaftState())
	reply.Relayed = -1
	if args.Relay {
		var r HelloReply
		if e.peers[(e.me+1)%e.n].Call("Echo.Hello", &HelloArgs{}, &r) {
			reply.Relayed = r.Me
		}
	}
}

// Start and GetState make Echo the daemon's answer to them: peer 0 claims to lead in term 1.
func (e *Echo) Start(command interface{}) (int, int, bool) { return 1, 1, e.me == 0 }
func (e *Echo) GetState() (int, bool)                      { return 1, e.me == 0 }
func (e *Echo) Kill()                                      {}

func main() {
	tester.RunServiceDaemon(os.Args[1:], func(ends []*labrpc.ClientEnd, gid tester.Tgid, me int,
		persister *tester.Persister, maxraftstate int) []tester.IService {
		return []tester.IService{&Echo{me: me, n: len(ends), gid: gid, maxraftstate: maxraftstate, peers: ends,
			persister: persister}}
	})
}
