// Package models holds porcupine models of the services built on Raft: here, the versioned key/value store of
// kvsrv1/rpc, against which porcupine checks that a recorded client history is linearizable.
package models

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"

	"6.5840/kvsrv1/rpc"
)

// KvInput is one operation as a client issued it.
type KvInput struct {
	Put     bool // else Get
	Key     string
	Value   string       // Put only
	Version rpc.Tversion // Put only
}

// KvOutput is what the client got back.
type KvOutput struct {
	Value   string       // Get only
	Version rpc.Tversion // Get only
	Err     rpc.Err
}

// kvState is one key's value and version; version 0 means the key does not exist.
type kvState struct {
	value   string
	version rpc.Tversion
}

// KvModel is the versioned store: a Put applies only at the key's current version and then raises it by one; a
// Get sees the current value and version. ErrMaybe leaves both outcomes of a Put possible. Keys are
// independent, so porcupine checks each key's operations on its own.
var KvModel = (&porcupine.NondeterministicModel{
	Partition: partitionByKey,
	Init:      func() []interface{} { return []interface{}{kvState{}} },
	Step:      step,
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(KvInput), output.(KvOutput)
		if in.Put {
			return fmt.Sprintf("put(%q, %q, v%d) -> %s", in.Key, in.Value, in.Version, out.Err)
		}
		if out.Err != rpc.OK {
			return fmt.Sprintf("get(%q) -> %s", in.Key, out.Err)
		}
		return fmt.Sprintf("get(%q) -> %q v%d", in.Key, out.Value, out.Version)
	},
	DescribeState: func(state interface{}) string {
		s := state.(kvState)
		if s.version == 0 {
			return "(no key)"
		}
		return fmt.Sprintf("%q v%d", s.value, s.version)
	},
}).ToModel()

// step lists the states an operation can leave behind, none if its output is impossible from state.
func step(state, input, output interface{}) []interface{} {
	s, in, out := state.(kvState), input.(KvInput), output.(KvOutput)
	if !in.Put {
		switch {
		case out.Err == rpc.ErrNoKey && s.version == 0:
			return []interface{}{s}
		case out.Err == rpc.OK && s.version != 0 && out.Value == s.value && out.Version == s.version:
			return []interface{}{s}
		}
		return nil
	}
	applies := in.Version == s.version
	applied := kvState{value: in.Value, version: s.version + 1}
	switch out.Err {
	case rpc.OK:
		if applies {
			return []interface{}{applied}
		}
	case rpc.ErrVersion:
		// A missing key with a non-zero version is ErrNoKey instead.
		if !applies && s.version != 0 {
			return []interface{}{s}
		}
	case rpc.ErrNoKey:
		if s.version == 0 && in.Version != 0 {
			return []interface{}{s}
		}
	case rpc.ErrMaybe:
		if applies {
			return []interface{}{s, applied}
		}
		return []interface{}{s}
	}
	return nil
}

// partitionByKey groups operations by key, each group in the order given.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		key := op.Input.(KvInput).Key
		byKey[key] = append(byKey[key], op)
	}
	keys := make([]string, 0, len(byKey))
	for key := range byKey {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	parts := make([][]porcupine.Operation, 0, len(keys))
	for _, key := range keys {
		parts = append(parts, byKey[key])
	}
	return parts
}
