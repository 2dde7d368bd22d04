package kvtest

// The linearizability check must be able to fail: hand-made histories with a known verdict, the stale read
// first.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"

	"6.5840/kvsrv1/rpc"
	"6.5840/models1"
)

// history builds an OpLog from operations with explicit times.
type history struct{ log *OpLog }

func newHistory() *history { return &history{log: NewOpLog()} }

func (h *history) put(client int, call, ret int64, key, value string, version rpc.Tversion, err rpc.Err) {
	h.log.Append(porcupine.Operation{
		ClientId: client, Call: call, Return: ret,
		Input:  models.KvInput{Put: true, Key: key, Value: value, Version: version},
		Output: models.KvOutput{Err: err},
	})
}

func (h *history) get(client int, call, ret int64, key, value string, version rpc.Tversion, err rpc.Err) {
	h.log.Append(porcupine.Operation{
		ClientId: client, Call: call, Return: ret,
		Input:  models.KvInput{Key: key},
		Output: models.KvOutput{Value: value, Version: version, Err: err},
	})
}

// TestPorcupineRejectsStaleRead: a Get that starts after a Put returned must not see the value before it.
func TestPorcupineRejectsStaleRead(t *testing.T) {
	vis := filepath.Join(t.TempDir(), "stale.html")
	t.Setenv("VIS_FILE", vis)
	h := newHistory()
	h.put(0, 0, 10, "x", "a", 0, rpc.OK)
	h.put(0, 20, 30, "x", "b", 1, rpc.OK)
	h.get(1, 40, 50, "x", "a", 1, rpc.OK)
	err := h.log.Check(t.Name())
	if err == nil || !strings.Contains(err.Error(), "not linearizable") {
		t.Fatalf("a stale read passed the check: %v", err)
	}
	if !strings.Contains(err.Error(), vis) {
		t.Fatalf("the failure %q does not name the visualization %s", err, vis)
	}
	page, rerr := os.ReadFile(vis)
	if rerr != nil || !strings.Contains(string(page), "<html") || !strings.Contains(string(page), `get(\"x\")`) {
		t.Fatalf("no HTML visualization of the history at %s (%v)", vis, rerr)
	}
}

// TestPorcupineAcceptsLinearizableHistories: overlapping operations may take effect in either order, and reads
// that follow a write see it.
func TestPorcupineAcceptsLinearizableHistories(t *testing.T) {
	h := newHistory()
	h.get(0, 0, 5, "x", "", 0, rpc.ErrNoKey)
	h.put(0, 10, 40, "x", "a", 0, rpc.OK)
	h.get(1, 15, 20, "x", "", 0, rpc.ErrNoKey) // overlaps the Put: may come before it
	h.get(2, 30, 50, "x", "a", 1, rpc.OK)      // overlaps it too: may come after it
	h.put(1, 60, 70, "x", "b", 0, rpc.ErrVersion)
	h.get(1, 80, 90, "x", "a", 1, rpc.OK)
	h.put(2, 60, 70, "y", "c", 3, rpc.ErrNoKey)
	if err := h.log.Check(t.Name()); err != nil {
		t.Fatal(err)
	}
}

// TestPorcupineModelsErrMaybe: a Put answered ErrMaybe may or may not have applied, but an ErrVersion Put did
// not, and no Put applies twice.
func TestPorcupineModelsErrMaybe(t *testing.T) {
	cases := []struct {
		name  string
		build func(h *history)
		ok    bool
	}{
		{"maybe applied", func(h *history) {
			h.put(0, 0, 10, "x", "a", 0, rpc.OK)
			h.put(0, 20, 30, "x", "b", 1, rpc.ErrMaybe)
			h.get(1, 40, 50, "x", "b", 2, rpc.OK)
		}, true},
		{"maybe not applied", func(h *history) {
			h.put(0, 0, 10, "x", "a", 0, rpc.OK)
			h.put(0, 20, 30, "x", "b", 1, rpc.ErrMaybe)
			h.get(1, 40, 50, "x", "a", 1, rpc.OK)
		}, true},
		{"ErrVersion yet applied", func(h *history) {
			h.put(0, 0, 10, "x", "a", 0, rpc.OK)
			h.put(0, 20, 30, "x", "b", 1, rpc.ErrVersion)
			h.get(1, 40, 50, "x", "b", 2, rpc.OK)
		}, false},
		{"applied twice", func(h *history) {
			h.put(0, 0, 10, "x", "a", 0, rpc.OK)
			h.put(0, 20, 30, "x", "b", 1, rpc.OK)
			h.get(1, 40, 50, "x", "b", 3, rpc.OK)
		}, false},
	}
	t.Setenv("VIS_FILE", filepath.Join(t.TempDir(), "vis.html"))
	for _, c := range cases {
		h := newHistory()
		c.build(h)
		if err := h.log.Check(t.Name()); (err == nil) != c.ok {
			t.Errorf("%s: check gave %v, want linearizable=%v", c.name, err, c.ok)
		}
	}
}
