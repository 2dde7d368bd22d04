//go:build ignore

// Command kvraft1d is one key/value server (go/kvraft1) in its own process, for the per-process mode of the
// service tests (RAFT_PEERS=process): the tester forwards its clients' and its peers' RPCs to it through the
// simulated network, and crashes it by checkpointing its storage and sending SIGKILL. The tests build it
// themselves with their own -race setting; by hand: go build -race -o main/kvraft1d main/kvraft1d.go.
//
// The build tag keeps it out of ./..., where it would clash with raft1d.go's main; naming the file builds it.
package main

import (
	"os"

	kvraft "6.5840/kvraft1"
	tester "6.5840/tester1"
)

func main() {
	tester.RunServiceDaemon(os.Args[1:], kvraft.StartKVServer)
}
