//go:build !race

package kvtest

// raceEnabled: the tests run without the race detector, so the daemons are built without it too.
const raceEnabled = false
