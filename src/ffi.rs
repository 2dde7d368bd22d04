//! The C ABI (`include/raftcore.h`, contract in `docs/ABI.md`): a thin layer over [`node`](crate::node) with
//! no protocol logic of its own. Every `unsafe` of the crate lives in this module.
//!
//! Conventions, each kept by every function:
//! 1. Fallible functions return an `int32_t` [`RaftStatus`]; out-params are written only on
//!    [`RaftStatus::Ok`]; on failure a non-NULL `err` receives a UTF-8 message to release with
//!    [`raft_buf_free`]. Messages never travel through thread-local state, since a goroutine may change OS
//!    thread between two calls.
//! 2. Handles are ids in a registry, not pointers: an unknown id returns `UNKNOWN_HANDLE`, a killed one
//!    `CLOSED`.
//! 3. Every body runs inside `catch_unwind` and the functions are plain `extern "C"`: no panic ever unwinds
//!    into the host, whose frames (Go's in particular) cannot be unwound. A panic while working on an instance
//!    poisons it: it answers `PANIC` until killed.
//! 4. Pointer arguments are borrowed for the call; a length of 0 may come with NULL. Callback arguments are
//!    valid only during the callback. Results are Rust-owned [`RaftBuf`]s.

mod boundary;
mod callbacks;
mod registry;
mod types;

#[cfg(test)]
mod tests;

use crate::core::RpcKind;
use crate::node::{Node, NodeConfig};

use boundary::{bytes, guard, guard_instance, out, Failure};
use callbacks::CallbackHost;

pub use types::{
    RaftApplyFn, RaftApplyMsg, RaftBuf, RaftCallbacks, RaftConfig, RaftLogFn, RaftLogLevel, RaftPacing, RaftPersistFn,
    RaftRpcKind, RaftSendRpcFn, RaftStatus, RAFT_ABI_VERSION,
};

/// Returns `RAFT_ABI_VERSION` of the library actually loaded; a host compares it with the header's constant.
#[no_mangle]
pub extern "C" fn raft_abi_version() -> u32 {
    RAFT_ABI_VERSION
}

/// Starts an instance from its persisted state and returns its handle in `*out_handle`.
///
/// `cfg` (and the state and snapshot it points to) is borrowed for the call; `cbs` is copied. Both threads of the
/// instance start at once, but the first callback comes with the first election: for a fresh peer (one that has
/// never seen a term) no sooner than about half `election_timeout_min_ms`, and never sooner than one heartbeat
/// interval; for a peer restarted in a later term no sooner than `election_timeout_min_ms`. That leaves the host
/// time to store the handle where its callbacks find it.
///
/// The first call installs raftcore's structured event log (JSON lines on stderr) if the environment variable
/// `RAFT_LOG` holds a filter such as `info` or `debug` (see `tools/raftlog.py`); without it nothing is printed.
///
/// Returns `RAFT_STATUS_NULL_ARGUMENT` (a NULL `cfg`, `cbs`, `out_handle` or required callback, or a NULL state or
/// snapshot with a non-zero length), `RAFT_STATUS_INVALID_ARGUMENT` (bad peer id or count, impossible timing, unknown
/// pacing), `RAFT_STATUS_CORRUPT_STATE` (state or snapshot refused), or `RAFT_STATUS_INTERNAL` (no thread).
///
/// # Safety
/// Every non-NULL pointer must be valid as described in the header; the callbacks must stay callable from any thread
/// until `raft_kill` of this handle returns.
#[no_mangle]
pub unsafe extern "C" fn raft_make(
    cfg: *const RaftConfig,
    cbs: *const RaftCallbacks,
    out_handle: *mut u64,
    err: *mut RaftBuf,
) -> i32 {
    // SAFETY: the caller guarantees the pointers as documented; each is checked for NULL before use.
    unsafe {
        guard(err, || {
            let cfg = cfg.as_ref().ok_or_else(|| Failure::null("cfg"))?;
            let cbs = cbs.as_ref().ok_or_else(|| Failure::null("cbs"))?;
            out(out_handle, "out_handle")?;
            let host = CallbackHost::new(cbs)?;
            let state = bytes(cfg.state, cfg.state_len, "cfg->state")?;
            let snapshot = bytes(cfg.snapshot, cfg.snapshot_len, "cfg->snapshot")?;
            let pacing = RaftPacing::to_core(cfg.pacing)
                .ok_or_else(|| Failure::invalid(format!("unknown pacing {} (0 prompt, 1 heartbeat)", cfg.pacing)))?;
            let node_cfg = NodeConfig {
                me: cfg.me,
                peers: cfg.peers,
                heartbeat_ms: cfg.heartbeat_ms,
                election_timeout_min_ms: cfg.election_timeout_min_ms,
                election_timeout_max_ms: cfg.election_timeout_max_ms,
                seed: cfg.seed,
                pacing,
            };
            crate::node::init_tracing_from_env();
            let node = Node::start(&node_cfg, state, snapshot, host)?;
            out_handle.write(registry::insert(node));
            Ok(())
        })
    }
}

/// Proposes the command `cmd[0..len]` (borrowed for the call; copied). On the leader the entry is persisted before this
/// returns, with `*out_index` its log index, `*out_term` the term and `*out_is_leader` true. On any other peer it is
/// still `RAFT_STATUS_OK`, with `*out_is_leader` false, `*out_index` -1 and `*out_term` the current term.
///
/// Returns `RAFT_STATUS_UNKNOWN_HANDLE`, `RAFT_STATUS_CLOSED`, `RAFT_STATUS_NULL_ARGUMENT`,
/// `RAFT_STATUS_INVALID_ARGUMENT` (called from inside this instance's `send_rpc`, `persist` or `log`),
/// `RAFT_STATUS_CALLBACK_FAILED` or `RAFT_STATUS_PANIC`.
///
/// # Safety
/// Non-NULL pointers must be valid: `cmd` for `len` bytes, the out-params for writing.
#[no_mangle]
pub unsafe extern "C" fn raft_start(
    h: u64,
    cmd: *const u8,
    len: usize,
    out_index: *mut i64,
    out_term: *mut i64,
    out_is_leader: *mut bool,
    err: *mut RaftBuf,
) -> i32 {
    // SAFETY: the caller guarantees the pointers as documented; each is checked for NULL before use.
    unsafe {
        guard_instance(h, err, |node| {
            let command = bytes(cmd, len, "cmd")?;
            out(out_index, "out_index")?;
            out(out_term, "out_term")?;
            out(out_is_leader, "out_is_leader")?;
            let proposal = node.propose(command.to_vec())?;
            out_index.write(if proposal.is_leader { to_i64(proposal.index) } else { -1 });
            out_term.write(to_i64(proposal.term));
            out_is_leader.write(proposal.is_leader);
            Ok(())
        })
    }
}

/// The current term and whether this peer believes it leads. Never waits for the instance's threads.
///
/// Returns `RAFT_STATUS_UNKNOWN_HANDLE`, `RAFT_STATUS_CLOSED`, `RAFT_STATUS_NULL_ARGUMENT`,
/// `RAFT_STATUS_CALLBACK_FAILED` or `RAFT_STATUS_PANIC`.
///
/// # Safety
/// Non-NULL out-params must be valid for writing.
#[no_mangle]
pub unsafe extern "C" fn raft_get_state(
    h: u64,
    out_term: *mut i64,
    out_is_leader: *mut bool,
    err: *mut RaftBuf,
) -> i32 {
    // SAFETY: the caller guarantees the pointers as documented; each is checked for NULL before use.
    unsafe {
        guard_instance(h, err, |node| {
            out(out_term, "out_term")?;
            out(out_is_leader, "out_is_leader")?;
            let (term, is_leader) = node.state()?;
            out_term.write(to_i64(term));
            out_is_leader.write(is_leader);
            Ok(())
        })
    }
}

/// The leader this peer last heard from in its current term, as a hint for redirecting clients (§8): in
/// `*out_leader` its peer id, this peer's own id when it leads, or -1 when it knows none (a fresh or restarted peer,
/// a candidate, or a follower whose term has not heard its leader yet). A hint, not a promise: that peer may have lost
/// leadership since. Never waits for the instance's threads.
///
/// Returns `RAFT_STATUS_UNKNOWN_HANDLE`, `RAFT_STATUS_CLOSED`, `RAFT_STATUS_NULL_ARGUMENT`,
/// `RAFT_STATUS_CALLBACK_FAILED` or `RAFT_STATUS_PANIC`.
///
/// # Safety
/// `out_leader` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn raft_get_leader(h: u64, out_leader: *mut i64, err: *mut RaftBuf) -> i32 {
    // SAFETY: the caller guarantees the pointers as documented; each is checked for NULL before use.
    unsafe {
        guard_instance(h, err, |node| {
            out(out_leader, "out_leader")?;
            let leader = node.leader()?;
            out_leader.write(leader.map_or(-1, i64::from));
            Ok(())
        })
    }
}

/// The service's snapshot `snap[0..len]` (borrowed for the call; copied) of everything through `index`: the log is
/// trimmed and the snapshot persisted before this returns. Except far behind: when more than 64 log entries follow
/// `index` (a service applying far behind the log's end), this returns at once and the snapshot goes into the
/// instance's next persist, a newer one given meanwhile in its place, so that a service that snapshots after every
/// entry it applies does not pay a persist of its whole backlog per entry. An index at or behind the current
/// snapshot is `RAFT_STATUS_OK` and ignored.
///
/// Returns `RAFT_STATUS_UNKNOWN_HANDLE`, `RAFT_STATUS_CLOSED`, `RAFT_STATUS_NULL_ARGUMENT`,
/// `RAFT_STATUS_INVALID_ARGUMENT` (negative index, or called from inside this instance's `send_rpc`, `persist` or
/// `log`), `RAFT_STATUS_OUT_OF_RANGE` (past the last index handed to `apply`), `RAFT_STATUS_CALLBACK_FAILED` or
/// `RAFT_STATUS_PANIC`.
///
/// # Safety
/// `snap` must be NULL or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn raft_snapshot(h: u64, index: i64, snap: *const u8, len: usize, err: *mut RaftBuf) -> i32 {
    // SAFETY: the caller guarantees the pointers as documented; each is checked for NULL before use.
    unsafe {
        guard_instance(h, err, |node| {
            let index = u64::try_from(index).map_err(|_| Failure::invalid(format!("negative index {index}")))?;
            let data = bytes(snap, len, "snap")?;
            node.snapshot(index, data)?;
            Ok(())
        })
    }
}

/// The size in bytes of the raft state last persisted (or given to `raft_make`). Never waits.
///
/// Returns `RAFT_STATUS_UNKNOWN_HANDLE`, `RAFT_STATUS_CLOSED`, `RAFT_STATUS_NULL_ARGUMENT`,
/// `RAFT_STATUS_CALLBACK_FAILED` or `RAFT_STATUS_PANIC`.
///
/// # Safety
/// `out_len` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn raft_persist_bytes(h: u64, out_len: *mut i64, err: *mut RaftBuf) -> i32 {
    // SAFETY: the caller guarantees the pointers as documented; each is checked for NULL before use.
    unsafe {
        guard_instance(h, err, |node| {
            out(out_len, "out_len")?;
            let len = node.persist_bytes()?;
            out_len.write(to_i64(len));
            Ok(())
        })
    }
}

/// Handles a peer's request of `kind` (a `RaftRpcKind`) with bytes `req[0..len]` (borrowed for the call), as sent by
/// that peer's `send_rpc`. Whatever the request changed is persisted before this returns the reply's bytes in
/// `*out_reply` (Rust-owned: copy, then `raft_buf_free`); send them back as the RPC's reply.
///
/// Returns `RAFT_STATUS_UNKNOWN_HANDLE`, `RAFT_STATUS_CLOSED`, `RAFT_STATUS_NULL_ARGUMENT`,
/// `RAFT_STATUS_INVALID_ARGUMENT` (unknown kind, or called from inside this instance's `send_rpc`, `persist` or `log`),
/// `RAFT_STATUS_MALFORMED` (the bytes do not decode as a request of `kind`, or no correct peer could have sent it, such as
/// a term or index above 2^62 − 1 or entries contradicting committed ones; the instance is unchanged and reports the
/// latter kind through `log` at WARN), `RAFT_STATUS_CALLBACK_FAILED` or `RAFT_STATUS_PANIC`.
///
/// # Safety
/// `req` must be NULL or valid for `len` bytes; `out_reply` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn raft_handle_rpc(
    h: u64,
    kind: u32,
    req: *const u8,
    len: usize,
    out_reply: *mut RaftBuf,
    err: *mut RaftBuf,
) -> i32 {
    // SAFETY: the caller guarantees the pointers as documented; each is checked for NULL before use.
    unsafe {
        guard_instance(h, err, |node| {
            let kind = RpcKind::from_u32(kind).ok_or_else(|| Failure::invalid(format!("unknown RPC kind {kind}")))?;
            let request = bytes(req, len, "req")?;
            out(out_reply, "out_reply")?;
            let reply = node.handle_rpc(kind, request)?;
            out_reply.write(RaftBuf::from_vec(reply));
            Ok(())
        })
    }
}

/// Completes the request that `send_rpc` sent with `req_id`: `ok` with the reply bytes `reply[0..len]` (borrowed for
/// the call) that the peer's `raft_handle_rpc` returned, or `ok=false` (`reply` ignored) for a call that was lost.
/// Unknown or already completed ids are `RAFT_STATUS_OK` and ignored.
///
/// Returns `RAFT_STATUS_UNKNOWN_HANDLE`, `RAFT_STATUS_CLOSED` (expected for calls that finish after `raft_kill`; ignore
/// it), `RAFT_STATUS_NULL_ARGUMENT`, `RAFT_STATUS_INVALID_ARGUMENT` (called from inside this instance's `send_rpc`,
/// `persist` or `log`), `RAFT_STATUS_MALFORMED` (the bytes do not decode; the call counts as lost),
/// `RAFT_STATUS_CALLBACK_FAILED` or `RAFT_STATUS_PANIC`.
///
/// # Safety
/// When `ok`, `reply` must be NULL or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn raft_rpc_reply(
    h: u64,
    req_id: u64,
    ok: bool,
    reply: *const u8,
    len: usize,
    err: *mut RaftBuf,
) -> i32 {
    // SAFETY: the caller guarantees the pointers as documented; each is checked for NULL before use.
    unsafe {
        guard_instance(h, err, |node| {
            let reply = if ok { Some(bytes(reply, len, "reply")?) } else { None };
            node.rpc_reply(req_id, reply)?;
            Ok(())
        })
    }
}

/// Stops the instance: joins its event-loop and applier threads, after which no callback runs and nothing is persisted,
/// and later calls with `h` return `RAFT_STATUS_CLOSED`. Called from inside one of the instance's own callbacks, it
/// detaches the thread it runs on, which stops as soon as that callback returns.
///
/// A host whose `apply` may block must first make it return (for example by closing a channel it selects on): this call
/// waits for the applier.
///
/// Returns `RAFT_STATUS_UNKNOWN_HANDLE`, `RAFT_STATUS_CLOSED` (already killed; while another thread's `raft_kill` of `h`
/// is still joining the threads, this one waits for that join before it returns), or `RAFT_STATUS_PANIC` (the instance
/// had panicked; it is stopped and released all the same).
///
/// # Safety
/// `err` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn raft_kill(h: u64, err: *mut RaftBuf) -> i32 {
    // SAFETY: `err` is NULL or writable, as the caller guarantees.
    unsafe {
        guard(err, || {
            let dying = registry::remove(h)?;
            dying.instance.kill()?;
            Ok(())
        })
    }
}

/// Releases a buffer this library returned (`out_reply`, `err`). Releasing an empty buffer (`{NULL, 0, 0}`) is a no-op;
/// releasing any buffer twice is undefined behaviour.
///
/// # Safety
/// `buf` must be empty or a buffer returned by this library, unchanged and not yet released.
#[no_mangle]
pub unsafe extern "C" fn raft_buf_free(buf: RaftBuf) {
    // SAFETY: the caller guarantees `buf` came from this library unchanged. Dropping a Vec<u8> cannot panic, but
    // the guard keeps that true whatever the allocator does.
    let _ = std::panic::catch_unwind(|| drop(unsafe { buf.into_vec() }));
}

/// Indices, terms and sizes fit in `i64` in any real run; saturate rather than wrap if one ever does not.
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
