// Package flaky is the stress runner's planted failure: TestSometimes fails in one run out of five (the runs whose
// STRESS_RUN number is a multiple of 5), and TestAlways never does, so a stress run must keep exactly those logs.
// TestSlow gives the interruption test runs to stop; it is skipped unless STRESS_SLOW is set. With
// STRESS_EXIT_AFTER set, a run whose tests all passed still exits non-zero, as a race found after the last test does.
package flaky

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if os.Getenv("STRESS_EXIT_AFTER") != "" && os.Getenv("STRESS_RUN") != "" {
		code = 3
	}
	os.Exit(code)
}

func TestSometimes(t *testing.T) {
	run, err := strconv.Atoi(os.Getenv("STRESS_RUN"))
	if err != nil {
		t.Skip("not under tools/stress.py")
	}
	fmt.Printf("  ... Passed --  time  0.0s #peers 1 #RPCs %5d #Ops    0\n", 10+run%2)
	if run%5 == 0 {
		t.Fatalf("planted failure in run %d", run)
	}
}

func TestAlways(t *testing.T) {}

func TestSlow(t *testing.T) {
	if os.Getenv("STRESS_SLOW") == "" {
		t.Skip("only for the interruption test")
	}
	time.Sleep(time.Minute)
}
