package kvraft

// The clerk-server protocol: the RPC arguments and replies, and the outcomes a server reports.

const (
	OK             = "OK"
	ErrNoKey       = "ErrNoKey"
	ErrWrongLeader = "ErrWrongLeader"
)

// Err is a server's verdict on one RPC. ErrWrongLeader also covers every case in which the server cannot say
// whether the operation took effect (it lost leadership, timed out, or was killed): the clerk then retries, and
// the client id and sequence number make the retry harmless.
type Err string

// PutAppendArgs carries a Put ("Put") or an Append ("Append").
type PutAppendArgs struct {
	Key   string
	Value string
	Op    string
	// ClientId and Seq name the operation: a clerk numbers its operations 1, 2, ... and sends every retry of one
	// with the same number, so a server can tell a retry from a new operation.
	ClientId int64
	Seq      int64
}

type PutAppendReply struct {
	Err Err
}

// GetArgs carries a Get. A Get changes nothing, but its id lets a server match the log entry it committed with
// the RPC that proposed it.
type GetArgs struct {
	Key      string
	ClientId int64
	Seq      int64
}

type GetReply struct {
	Err   Err
	Value string
}
