//go:build !race

package raft_test

// raceEnabled: the tests run without the race detector, so peer processes are built without it too.
const raceEnabled = false
