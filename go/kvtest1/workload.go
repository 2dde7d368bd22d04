package kvtest

// The client workload of the key/value tests: read-modify-write loops on shared keys, so Puts conflict and
// versions decide, and the check that the store's final versions agree with what the clients were told.

import (
	"fmt"
	"math/rand"
	"sync"

	"6.5840/kvsrv1/rpc"
)

// PutCounts is how a client's Puts to one key ended.
type PutCounts struct {
	OK, Maybe, Version int
}

// ClientStats is what one client did.
type ClientStats struct {
	Ops        int
	Puts       map[string]PutCounts
	Unexpected []string // answers the loop cannot get from a correct service
}

// Keys names n shared keys.
func Keys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	return keys
}

// RunClients runs one goroutine per clerk until stop is closed and each has finished its current operation.
// Each loops: pick one of keys at random, Get it, and half the time Put a new value at the version read. It
// returns what each client saw; each completed operation also counts in the test's #Ops.
func (ts *Test) RunClients(clerks []IKVClerk, keys []string, stop <-chan struct{}) []ClientStats {
	stats := make([]ClientStats, len(clerks))
	var wg sync.WaitGroup
	for me, ck := range clerks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[me] = clientLoop(me, ck, keys, stop, ts.Op)
		}()
	}
	wg.Wait()
	return stats
}

func clientLoop(me int, ck IKVClerk, keys []string, stop <-chan struct{}, count func()) ClientStats {
	st := ClientStats{Puts: map[string]PutCounts{}}
	for n := 0; ; n++ {
		select {
		case <-stop:
			return st
		default:
		}
		key := keys[rand.Intn(len(keys))]
		_, version, err := ck.Get(key)
		st.Ops++
		count()
		if err != rpc.OK && err != rpc.ErrNoKey {
			st.Unexpected = append(st.Unexpected, fmt.Sprintf("Get(%q) -> %v", key, err))
			continue
		}
		if rand.Intn(2) == 0 {
			// Reads alone too: a client that only reads keeps asking the same server, where a stale answer
			// would show.
			continue
		}
		err = ck.Put(key, fmt.Sprintf("%d.%d", me, n), version)
		st.Ops++
		count()
		c := st.Puts[key]
		switch err {
		case rpc.OK:
			c.OK++
		case rpc.ErrMaybe:
			c.Maybe++
		case rpc.ErrVersion:
			c.Version++
		default:
			st.Unexpected = append(st.Unexpected, fmt.Sprintf("Put(%q, v%d) -> %v", key, version, err))
		}
		st.Puts[key] = c
	}
}

// CheckVersions fails the test unless every answer was one a correct service gives and, for each key, the
// final version counts every Put that was told OK and at most the ones told ErrMaybe besides: each Put applied
// at most once, and none that was told ErrVersion applied.
func (ts *Test) CheckVersions(ck IKVClerk, keys []string, stats []ClientStats) {
	ts.t.Helper()
	for me, st := range stats {
		if len(st.Unexpected) > 0 {
			ts.t.Fatalf("client %d got answers a correct service never gives: %v", me, st.Unexpected)
		}
	}
	for _, key := range keys {
		var ok, maybe int
		for _, st := range stats {
			ok += st.Puts[key].OK
			maybe += st.Puts[key].Maybe
		}
		_, version, err := ck.Get(key)
		if err == rpc.ErrNoKey {
			version = 0
		} else if err != rpc.OK {
			ts.t.Fatalf("Get(%q) -> %v", key, err)
		}
		if int(version) < ok || int(version) > ok+maybe {
			ts.t.Fatalf("key %q has version %d after %d Puts told OK and %d told ErrMaybe", key, version, ok, maybe)
		}
	}
}

// TotalOps is the number of operations the clients completed.
func TotalOps(stats []ClientStats) int {
	n := 0
	for _, st := range stats {
		n += st.Ops
	}
	return n
}
