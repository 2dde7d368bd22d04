package labgob

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

// resetState forgets which types were checked and how many warnings were given, so each test sees a fresh process.
func resetState() {
	mu.Lock()
	defer mu.Unlock()
	errorCount = 0
	checked = map[reflect.Type]bool{}
}

// captureStdout runs f and returns what it printed.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	return <-out
}

type Wrapper struct {
	Index   int
	Command interface{}
}

type Op struct {
	Key   string
	Value int
}

func roundTrip(t *testing.T, in Wrapper) Wrapper {
	t.Helper()
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(in); err != nil {
		t.Fatalf("encode %+v: %v", in, err)
	}
	var out Wrapper
	if err := NewDecoder(&buf).Decode(&out); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return out
}

// Values inside an interface{} come back with their dynamic type: an int stays an int, which the tests' !=
// comparisons depend on.
func TestRoundTripThroughInterface(t *testing.T) {
	resetState()
	Register(Op{})
	for _, cmd := range []interface{}{42, "hello", Op{Key: "k", Value: 7}, int64(5), nil} {
		out := roundTrip(t, Wrapper{Index: 3, Command: cmd})
		if out.Index != 3 || out.Command != cmd {
			t.Fatalf("sent %#v, got %#v", cmd, out.Command)
		}
		if reflect.TypeOf(out.Command) != reflect.TypeOf(cmd) {
			t.Fatalf("sent %T, got %T", cmd, out.Command)
		}
	}
}

func TestUnregisteredTypeFails(t *testing.T) {
	resetState()
	type Secret struct{ X int }
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(Wrapper{Command: Secret{1}}); err == nil {
		t.Fatal("an unregistered type inside interface{} encoded without error")
	}
}

type bad struct {
	Good  int
	lower int
	Inner []badInner
}

type badInner struct {
	m map[string]int
}

// Every lower-case field is reported once per type, wherever the type sits inside the value.
func TestLowerCaseFieldsReported(t *testing.T) {
	resetState()
	out := captureStdout(t, func() {
		var buf bytes.Buffer
		enc := NewEncoder(&buf)
		_ = enc.Encode(bad{Good: 1})
		_ = enc.Encode(bad{Good: 2}) // same type again: no second report
	})
	for _, want := range []string{
		"labgob error: lower-case field lower of bad in RPC or persist/snapshot will break your Raft",
		"labgob error: lower-case field m of badInner in RPC or persist/snapshot will break your Raft",
	} {
		if strings.Count(out, want) != 1 {
			t.Errorf("want exactly one %q in output:\n%s", want, out)
		}
	}
	if errorCount != 2 {
		t.Fatalf("errorCount %d, want 2", errorCount)
	}
}

func TestRegisterChecksFields(t *testing.T) {
	resetState()
	out := captureStdout(t, func() { Register(badInner{}) })
	if !strings.Contains(out, "lower-case field m of badInner") {
		t.Fatalf("Register did not check fields; output %q", out)
	}
}

func TestDecodeIntoNonDefaultWarnsOnce(t *testing.T) {
	resetState()
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for i := 0; i < 2; i++ {
		if err := enc.Encode(Op{Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	out := captureStdout(t, func() {
		dec := NewDecoder(&buf)
		stale := Op{Value: 9}
		_ = dec.Decode(&stale)
		// gob leaves a field the sender had as zero untouched: this is what the warning is about.
		if stale.Value != 9 {
			t.Errorf("expected the stale field to survive; got %+v", stale)
		}
		stale2 := Op{Value: 9}
		_ = dec.Decode(&stale2)
	})
	want := "labgob warning: Decoding into a non-default variable/field .Value may not work"
	if strings.Count(out, want) != 1 {
		t.Fatalf("want exactly one %q, got:\n%s", want, out)
	}
}

func TestDecodeIntoZeroIsQuiet(t *testing.T) {
	resetState()
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(Op{Key: "k", Value: 1}); err != nil {
		t.Fatal(err)
	}
	out := captureStdout(t, func() {
		var op Op
		if err := NewDecoder(&buf).Decode(&op); err != nil {
			t.Error(err)
		}
	})
	if out != "" {
		t.Fatalf("unexpected output %q", out)
	}
}

func TestEncodeValue(t *testing.T) {
	resetState()
	var buf bytes.Buffer
	if err := NewEncoder(&buf).EncodeValue(reflect.ValueOf(&Op{Key: "a", Value: 2})); err != nil {
		t.Fatal(err)
	}
	var op Op
	if err := NewDecoder(&buf).Decode(&op); err != nil || op.Key != "a" || op.Value != 2 {
		t.Fatalf("got %+v, %v", op, err)
	}
}
