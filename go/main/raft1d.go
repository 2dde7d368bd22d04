// Command raft1d is one Raft peer in its own process, for the harness's per-process mode (the 2026 lab's model):
// the tester starts one per peer, forwards every RPC between them through its simulated network, and crashes a
// peer by checkpointing its storage and sending SIGKILL. Build it with the same flags as the tests (-race).
package main

import (
	"os"

	raft "6.5840/raft1"
	tester "6.5840/tester1"
)

func main() {
	tester.RunDaemon(os.Args[1:], raft.Make)
}
