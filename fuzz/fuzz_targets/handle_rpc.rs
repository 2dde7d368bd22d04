//! `raft_handle_rpc` with arbitrary bytes: every input ends in a status code, never a panic (which the boundary
//! would report as RAFT_STATUS_PANIC, and `raft_kill` after it), an abort or a hang.
//!
//! Each input gets an instance of its own, started from nothing or from a persisted state with a snapshot and a
//! log, and killed at the end, so a crash replays from its input alone. Its election timeout is far longer than
//! any input runs, so no timer acts while it does: what the instance does depends on the input only.
#![no_main]

use std::ptr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use raftcore::core::{Entry, PersistedState};
use raftcore::ffi::*;

unsafe extern "C" fn send_rpc(_: u64, _: u32, _: u32, _: u64, _: *const u8, _: usize) {}
unsafe extern "C" fn persist(_: u64, _: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
    0
}
unsafe extern "C" fn apply(_: u64, _: *const RaftApplyMsg) -> i32 {
    0
}

const SNAPSHOT: &[u8] = b"service state through 3";

/// Peer 1 of 3 in term 2 after a restart: a snapshot through index 3 (term 1), then entries 4 to 6 of terms 1,
/// 2 and 2, so requests meet a log to match, conflict with, or be covered by the snapshot.
fn restored_state() -> &'static [u8] {
    static STATE: OnceLock<Vec<u8>> = OnceLock::new();
    STATE.get_or_init(|| {
        let entry = |term| Entry { term, command: vec![term as u8].into() };
        PersistedState {
            me: 1,
            peers: 3,
            current_term: 2,
            voted_for: Some(0),
            snapshot_index: 3,
            snapshot_term: 1,
            snapshot_len: SNAPSHOT.len() as u64,
            snapshot_crc: raftcore::core::persist::snapshot_checksum(SNAPSHOT),
            entries: vec![entry(1), entry(2), entry(2)],
        }
        .encode()
    })
}

fn make(restored: bool) -> u64 {
    let (state, snapshot) = if restored { (restored_state(), SNAPSHOT) } else { (&[][..], &[][..]) };
    let cfg = RaftConfig {
        me: 1,
        peers: 3,
        heartbeat_ms: 0,
        election_timeout_min_ms: 600_000,
        election_timeout_max_ms: 600_000,
        pacing: RaftPacing::Prompt as u32,
        seed: 3,
        state: if state.is_empty() { ptr::null() } else { state.as_ptr() },
        state_len: state.len(),
        snapshot: if snapshot.is_empty() { ptr::null() } else { snapshot.as_ptr() },
        snapshot_len: snapshot.len(),
    };
    let cbs =
        RaftCallbacks { user: 0, send_rpc: Some(send_rpc), persist: Some(persist), apply: Some(apply), log: None };
    let mut handle = 0;
    let rc = unsafe { raft_make(&cfg, &cbs, &mut handle, ptr::null_mut()) };
    assert_eq!(rc, 0, "raft_make failed");
    handle
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the RPC kind (0 and 4 are no kind) and, above that, the instance's starting state.
    let Some((&selector, req)) = data.split_first() else { return };
    let handle = make(selector / 5 % 2 == 1);
    let mut out = RaftBuf::EMPTY;
    let mut err = RaftBuf::EMPTY;
    let rc = unsafe {
        raft_handle_rpc(
            handle,
            u32::from(selector % 5),
            if req.is_empty() { ptr::null() } else { req.as_ptr() },
            req.len(),
            &mut out,
            &mut err,
        )
    };
    unsafe {
        raft_buf_free(out);
        raft_buf_free(err);
    }
    assert_ne!(rc, RaftStatus::Panic as i32, "a panic crossed into the boundary's guard");
    let rc = unsafe { raft_kill(handle, ptr::null_mut()) };
    assert_eq!(rc, RaftStatus::Ok as i32, "the instance stopped or panicked after the request");
});
