//! The C-visible types: status codes, enums, buffers, the configuration, apply messages and the callback table.

use std::mem::ManuallyDrop;

use crate::core::{Pacing, RpcKind};
use crate::node::LogLevel;

/// The ABI version this library implements. Hosts compare `raft_abi_version()` with the header's constant at
/// start-up and refuse to run on a mismatch. Version 2 added `RaftConfig::pacing`, which changed the struct a
/// version 1 host passes, and `raft_get_leader`.
pub const RAFT_ABI_VERSION: u32 = 2;

/// The status every fallible function returns (as `int32_t`). Values are stable across versions.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftStatus {
    /// Success; out-params were written.
    Ok = 0,
    /// A required pointer was NULL (a data pointer with a non-zero length, an out-param, a required callback).
    NullArgument = -1,
    /// An argument is out of its domain: a bad configuration, an unknown RPC kind, a negative index, or a call
    /// that would wait for the instance's own event loop from inside one of its callbacks.
    InvalidArgument = -2,
    /// The handle was never returned by `raft_make`.
    UnknownHandle = -3,
    /// The instance was killed.
    Closed = -4,
    /// Bytes that do not decode, decode as another RPC kind, or describe a message no correct peer sends.
    Malformed = -5,
    /// A snapshot index past the last index handed to `apply`.
    OutOfRange = -6,
    /// `raft_make` refused the persisted state or snapshot (truncated, corrupt, another version or peer).
    CorruptState = -7,
    /// A host callback reported failure (`persist` returned non-zero); the instance has stopped.
    CallbackFailed = -8,
    /// A Rust panic was caught; the instance answers this from then on until killed.
    Panic = -9,
    /// An internal failure, such as the operating system refusing a thread.
    Internal = -10,
}

/// The three RPCs, as passed in `kind` arguments (`uint32_t`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftRpcKind {
    /// RequestVote.
    RequestVote = 1,
    /// AppendEntries.
    AppendEntries = 2,
    /// InstallSnapshot.
    InstallSnapshot = 3,
}

impl From<RpcKind> for RaftRpcKind {
    fn from(kind: RpcKind) -> RaftRpcKind {
        match kind {
            RpcKind::RequestVote => RaftRpcKind::RequestVote,
            RpcKind::AppendEntries => RaftRpcKind::AppendEntries,
            RpcKind::InstallSnapshot => RaftRpcKind::InstallSnapshot,
        }
    }
}

const _: () = {
    assert!(RaftRpcKind::RequestVote as u32 == RpcKind::RequestVote as u32);
    assert!(RaftRpcKind::AppendEntries as u32 == RpcKind::AppendEntries as u32);
    assert!(RaftRpcKind::InstallSnapshot as u32 == RpcKind::InstallSnapshot as u32);
};

/// When a leader sends new entries, as passed in `RaftConfig::pacing` (`uint32_t`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftPacing {
    /// At once: a proposal leaves with the next batch, a commit reaches followers within a fifth of a heartbeat.
    Prompt = 0,
    /// Only with the leader's heartbeats, as a typical hand-written lab Raft does: commits come about a heartbeat
    /// after `raft_start`. For telling a timing race in the service above Raft from a Raft bug, not for speed.
    Heartbeat = 1,
}

impl RaftPacing {
    /// The core's pacing for a `RaftConfig::pacing` value; `None` for a value this version does not know.
    pub(super) fn to_core(value: u32) -> Option<Pacing> {
        match value {
            v if v == RaftPacing::Prompt as u32 => Some(Pacing::Prompt),
            v if v == RaftPacing::Heartbeat as u32 => Some(Pacing::Heartbeat),
            _ => None,
        }
    }
}

/// Severity passed to the `log` callback's `level` (`int32_t`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftLogLevel {
    /// The instance stopped or lost something.
    Error = 1,
    /// Something to look at; the instance carries on.
    Warn = 2,
    /// Leadership changes.
    Info = 3,
    /// Detail for debugging.
    Debug = 4,
}

impl From<LogLevel> for RaftLogLevel {
    fn from(level: LogLevel) -> RaftLogLevel {
        match level {
            LogLevel::Error => RaftLogLevel::Error,
            LogLevel::Warn => RaftLogLevel::Warn,
            LogLevel::Info => RaftLogLevel::Info,
            LogLevel::Debug => RaftLogLevel::Debug,
        }
    }
}

/// Bytes owned by Rust and lent to the host: copy them, then release them once with `raft_buf_free`. Never
/// free them with `free()` or change the fields. An empty buffer is `{NULL, 0, 0}`.
#[repr(C)]
#[derive(Debug)]
pub struct RaftBuf {
    /// First byte, or NULL when empty.
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
    /// Allocation size; only `raft_buf_free` reads it.
    pub cap: usize,
}

impl RaftBuf {
    /// The empty buffer.
    pub const EMPTY: RaftBuf = RaftBuf { ptr: std::ptr::null_mut(), len: 0, cap: 0 };

    /// Hands `bytes` to the host; it comes back through [`RaftBuf::into_vec`].
    pub fn from_vec(bytes: Vec<u8>) -> RaftBuf {
        if bytes.capacity() == 0 {
            return RaftBuf::EMPTY;
        }
        let mut bytes = ManuallyDrop::new(bytes);
        RaftBuf { ptr: bytes.as_mut_ptr(), len: bytes.len(), cap: bytes.capacity() }
    }

    /// Takes back a buffer made by [`RaftBuf::from_vec`].
    ///
    /// # Safety
    /// `self` must be a buffer this library returned, unchanged and not yet released.
    pub unsafe fn into_vec(self) -> Vec<u8> {
        if self.ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: the caller guarantees these are the parts of a Vec that `from_vec` leaked.
        unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) }
    }
}

/// The settings of one instance, read during `raft_make` only.
#[repr(C)]
#[derive(Debug)]
pub struct RaftConfig {
    /// This peer's id, `0..peers`.
    pub me: u32,
    /// Number of peers, including this one (at most 1024).
    pub peers: u32,
    /// Interval between a leader's heartbeats; 0 means 250 ms. Rounded up to 10 ms ticks.
    pub heartbeat_ms: u32,
    /// Lower bound of the randomized election timeout; 0 means 550 ms. Must exceed the heartbeat interval.
    pub election_timeout_min_ms: u32,
    /// Upper bound of the randomized election timeout; 0 means 850 ms.
    pub election_timeout_max_ms: u32,
    /// A `RaftPacing`; 0 is `RAFT_PACING_PROMPT`, the default.
    pub pacing: u32,
    /// Seed for election jitter; 0 draws one from entropy.
    pub seed: u64,
    /// The raft state last given to `persist`. Borrowed for the call; may be NULL when `state_len` is 0.
    pub state: *const u8,
    /// Length of `state`; 0 with an empty snapshot starts a fresh peer.
    pub state_len: usize,
    /// The snapshot last given to `persist`. Borrowed for the call; may be NULL when `snapshot_len` is 0.
    pub snapshot: *const u8,
    /// Length of `snapshot`.
    pub snapshot_len: usize,
}

/// A committed command (`command_valid`) or an installed snapshot (`snapshot_valid`); exactly one flag is set.
#[repr(C)]
#[derive(Debug)]
pub struct RaftApplyMsg {
    /// `data` is a committed command at `index`.
    pub command_valid: bool,
    /// `data` is a snapshot covering everything through `index`; the service replaces its state with it.
    pub snapshot_valid: bool,
    /// Log index of the command, or the last index the snapshot covers.
    pub index: u64,
    /// Term of that index.
    pub term: u64,
    /// The bytes. Valid only during the callback (copy them); may be NULL when `len` is 0.
    pub data: *const u8,
    /// Length of `data`.
    pub len: usize,
}

/// Sends a request to a peer. Runs on the instance's event-loop thread and must not block or call into the
/// same instance synchronously. `req` is valid only during the call (copy it); deliver it to `peer`'s
/// `raft_handle_rpc` with the same `kind`, and later call `raft_rpc_reply(h, req_id, ...)` exactly once.
pub type RaftSendRpcFn =
    Option<unsafe extern "C" fn(user: u64, peer: u32, kind: u32, req_id: u64, req: *const u8, len: usize)>;

/// Saves the raft state and the snapshot together, atomically and durably, before returning 0 (non-zero stops
/// the instance). Runs on the event-loop thread. Both pointers are valid only during the call and may be NULL
/// when their length is 0; the snapshot is always the current one, possibly empty.
pub type RaftPersistFn = Option<
    unsafe extern "C" fn(
        user: u64,
        state: *const u8,
        state_len: usize,
        snapshot: *const u8,
        snapshot_len: usize,
    ) -> i32,
>;

/// Delivers a committed command or installed snapshot to the service, in order. Runs on the instance's applier
/// thread and may block; returns 0 when delivered, non-zero when the host is shutting the instance down (the
/// applier then stops). `msg` and its data are valid only during the call.
pub type RaftApplyFn = Option<unsafe extern "C" fn(user: u64, msg: *const RaftApplyMsg) -> i32>;

/// Receives a diagnostic message (`level` is a `RaftLogLevel`). Must not block. `msg` is UTF-8, not
/// NUL-terminated, and valid only during the call.
pub type RaftLogFn = Option<unsafe extern "C" fn(user: u64, level: i32, msg: *const u8, len: usize)>;

/// The host's callbacks, copied by `raft_make`. `user` is passed back unchanged as every callback's first
/// argument (the Go shim passes a `cgo.Handle`); Rust never dereferences it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RaftCallbacks {
    /// Opaque host value.
    pub user: u64,
    /// Required.
    pub send_rpc: RaftSendRpcFn,
    /// Required.
    pub persist: RaftPersistFn,
    /// Required.
    pub apply: RaftApplyFn,
    /// Optional (NULL: messages are dropped).
    pub log: RaftLogFn,
}
