// Package rpc holds what the key/value clerks and servers say to each other: versioned Puts and Gets and their
// error values, shared by every service built on Raft here (rsm, kvraft).
//
// Versions make a Put conditional: it applies only if the key's version equals the one the caller names (0 for a
// key that does not exist yet), and each applied Put raises the version by one. That is also how duplicates are
// suppressed: a Put that already applied cannot apply again, since the version moved on.
package rpc

// Err is the outcome of an operation.
type Err string

const (
	// OK: the operation took effect (Put) or read a value (Get).
	OK Err = "OK"
	// ErrNoKey: Get of a key that does not exist, or Put with a non-zero version to one.
	ErrNoKey Err = "ErrNoKey"
	// ErrVersion: Put whose version is not the key's; nothing changed.
	ErrVersion Err = "ErrVersion"
	// ErrMaybe, from a clerk: a Put that was retried and then got ErrVersion; an earlier try may or may not have
	// applied. From a server: it started the Put but lost leadership before learning whether it applied.
	ErrMaybe Err = "ErrMaybe"
	// ErrWrongLeader: the server is not the leader (or lost leadership); try another.
	ErrWrongLeader Err = "ErrWrongLeader"
	// ErrWrongGroup: the key belongs to another group (the sharded lab).
	ErrWrongGroup Err = "ErrWrongGroup"
)

// Tversion is a key's version: 0 before the first Put, then the number of Puts applied to it.
type Tversion uint64

// PutArgs asks to set Key to Value if Key's version is Version.
type PutArgs struct {
	Key     string
	Value   string
	Version Tversion
}

// PutReply is OK, ErrNoKey, ErrVersion, ErrWrongLeader or, from a clerk, ErrMaybe.
type PutReply struct {
	Err Err
}

// GetArgs asks for Key's value and version.
type GetArgs struct {
	Key string
}

// GetReply carries the value and version when Err is OK.
type GetReply struct {
	Value   string
	Version Tversion
	Err     Err
}
