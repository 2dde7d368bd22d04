package kvtest

// The client history and its linearizability check. Every operation a recorded clerk completes is logged with
// the time it was called and the time it returned, on one monotonic clock; porcupine then searches for an order
// of the operations, each placed between its call and its return, that the model of a versioned store accepts.
// When there is none it writes its HTML visualisation of the history, whose path the failure names.

import (
	"fmt"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"6.5840/kvsrv1/rpc"
	"6.5840/models1"
)

// CheckTimeout bounds porcupine's search. The histories here are small and split by key, so the search takes
// milliseconds; a search that runs out of time fails the test rather than pass unchecked.
const CheckTimeout = 30 * time.Second

// OpLog is a history of completed client operations.
type OpLog struct {
	start time.Time

	mu  sync.Mutex
	ops []porcupine.Operation
}

// NewOpLog returns an empty history whose clock starts now.
func NewOpLog() *OpLog {
	return &OpLog{start: time.Now()}
}

// Start is when the history's clock began: an operation recorded by hand takes its times as time.Since(Start()).
func (l *OpLog) Start() time.Time {
	return l.start
}

// now is the history's clock: nanoseconds since the log began, read from the monotonic clock.
func (l *OpLog) now() int64 {
	return time.Since(l.start).Nanoseconds()
}

// Append adds one completed operation.
func (l *OpLog) Append(op porcupine.Operation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, op)
}

// Len is the number of operations recorded.
func (l *OpLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ops)
}

// Operations is a copy of the history.
func (l *OpLog) Operations() []porcupine.Operation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]porcupine.Operation(nil), l.ops...)
}

// Record returns ck with every completed operation logged under client id. An operation that never returns is
// never logged, so a history is checked only after its clients stopped.
func (l *OpLog) Record(id int, ck IKVClerk) IKVClerk {
	return &recordingClerk{ck: ck, log: l, id: id}
}

type recordingClerk struct {
	ck  IKVClerk
	log *OpLog
	id  int
}

func (r *recordingClerk) Get(key string) (string, rpc.Tversion, rpc.Err) {
	call := r.log.now()
	value, version, err := r.ck.Get(key)
	r.log.Append(porcupine.Operation{
		ClientId: r.id,
		Input:    models.KvInput{Key: key},
		Call:     call,
		Output:   models.KvOutput{Value: value, Version: version, Err: err},
		Return:   r.log.now(),
	})
	return value, version, err
}

func (r *recordingClerk) Put(key string, value string, version rpc.Tversion) rpc.Err {
	call := r.log.now()
	err := r.ck.Put(key, value, version)
	r.log.Append(porcupine.Operation{
		ClientId: r.id,
		Input:    models.KvInput{Put: true, Key: key, Value: value, Version: version},
		Call:     call,
		Output:   models.KvOutput{Err: err},
		Return:   r.log.now(),
	})
	return err
}

// Check checks the history against models.KvModel. If it is not linearizable, or the check could not decide,
// the error says so and names the visualisation written for it (see WriteVisualization). VIS_ENABLE=always
// writes one for a linearizable history too.
func (l *OpLog) Check(name string) error {
	ops := l.Operations()
	res, info := porcupine.CheckOperationsVerbose(models.KvModel, ops, CheckTimeout)
	if res == porcupine.Ok && os.Getenv("VIS_ENABLE") != "always" {
		return nil
	}
	path, werr := WriteVisualization(name, info)
	where := "visualization: " + path
	if werr != nil {
		where = fmt.Sprintf("writing the visualization failed: %v", werr)
	}
	switch res {
	case porcupine.Ok:
		return nil
	case porcupine.Illegal:
		return fmt.Errorf("history of %d operations is not linearizable (%s)", len(ops), where)
	default:
		return fmt.Errorf("porcupine could not decide within %v whether the history of %d operations is "+
			"linearizable (%s)", CheckTimeout, len(ops), where)
	}
}

// WriteVisualization writes porcupine's HTML view of a checked history to VIS_FILE, or else to a new file in the
// temporary directory named after the test, prints "info: wrote visualization to <path>" and returns the path.
func WriteVisualization(name string, info porcupine.LinearizationInfo) (string, error) {
	path := os.Getenv("VIS_FILE")
	var f *os.File
	var err error
	if path != "" {
		f, err = os.Create(path)
	} else {
		safe := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(name, "_")
		f, err = os.CreateTemp("", "porcupine-"+safe+"-*.html")
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := porcupine.Visualize(models.KvModel, info, f); err != nil {
		return f.Name(), err
	}
	fmt.Printf("info: wrote visualization to %s\n", f.Name())
	return f.Name(), nil
}
