package kvraft

// The Clerk: sends each operation to the server it believes leads, moves on to the next server when that one
// cannot help, and keeps trying until some server gives a definite answer.

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"6.5840/labrpc"
)

// roundPause is the wait after every server failed to help in turn: most likely an election is under way, and
// asking again at once would only add load.
const roundPause = 50 * time.Millisecond

// Clerk is one client. Like the lab's, it serves one caller at a time: an operation must return before the next
// one starts, which is what makes a single sequence number per clerk enough for duplicate detection.
type Clerk struct {
	servers  []*labrpc.ClientEnd
	clientId int64
	seq      int64
	leader   int // the server that last answered; tried first
}

// newClientId picks a random id: clerks are made independently, in any number of processes, so there is no one
// to hand out ids in order.
func newClientId() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("kvraft: no randomness for a client id: " + err.Error())
	}
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1)
}

// MakeClerk returns a clerk that reaches the servers through the given ends.
func MakeClerk(servers []*labrpc.ClientEnd) *Clerk {
	return &Clerk{servers: servers, clientId: newClientId()}
}

// Get returns key's current value, or "" if it has none.
func (ck *Clerk) Get(key string) string {
	ck.seq++
	args := GetArgs{Key: key, ClientId: ck.clientId, Seq: ck.seq}
	for {
		for k := 0; k < len(ck.servers); k++ {
			i := (ck.leader + k) % len(ck.servers)
			var reply GetReply
			if !ck.servers[i].Call("KVServer.Get", &args, &reply) || reply.Err == ErrWrongLeader {
				continue
			}
			ck.leader = i
			return reply.Value
		}
		time.Sleep(roundPause)
	}
}

// PutAppend performs a Put or an Append (op names which) exactly once, however many times it has to be sent.
func (ck *Clerk) PutAppend(key string, value string, op string) {
	ck.seq++
	args := PutAppendArgs{Key: key, Value: value, Op: op, ClientId: ck.clientId, Seq: ck.seq}
	for {
		for k := 0; k < len(ck.servers); k++ {
			i := (ck.leader + k) % len(ck.servers)
			var reply PutAppendReply
			if !ck.servers[i].Call("KVServer.PutAppend", &args, &reply) || reply.Err == ErrWrongLeader {
				continue
			}
			ck.leader = i
			return
		}
		time.Sleep(roundPause)
	}
}

// Put sets key to value.
func (ck *Clerk) Put(key string, value string) {
	ck.PutAppend(key, value, "Put")
}

// Append adds value to the end of key's value (an absent key counts as "").
func (ck *Clerk) Append(key string, value string) {
	ck.PutAppend(key, value, "Append")
}
