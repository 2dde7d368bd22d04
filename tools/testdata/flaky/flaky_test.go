// Package flaky is the stress runner's planted failure: TestSometimes fails in one run out of five (the runs whose
// STRESS_RUN number is a multiple of 5), and TestAlways never does, so a stress run must keep exactly those logs.
package flaky

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

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
