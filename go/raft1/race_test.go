//go:build race

package raft_test

// raceEnabled: the tests run under the race detector, so peer processes are built with it too.
const raceEnabled = true
