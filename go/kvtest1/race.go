//go:build race

package kvtest

// raceEnabled: the tests run under the race detector, so the daemons are built with it too.
const raceEnabled = true
