//! `raft_handle_rpc` with arbitrary bytes on a live instance: every input ends in a status code, never a panic
//! (which the boundary would report as RAFT_STATUS_PANIC), an abort or a hang.
#![no_main]

use std::ptr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use raftcore::ffi::*;

unsafe extern "C" fn send_rpc(_: u64, _: u32, _: u32, _: u64, _: *const u8, _: usize) {}
unsafe extern "C" fn persist(_: u64, _: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
    0
}
unsafe extern "C" fn apply(_: u64, _: *const RaftApplyMsg) -> i32 {
    0
}

/// One instance for the whole run (peer 1 of 3, which never hears from the others), as a host would keep it.
fn instance() -> u64 {
    static HANDLE: OnceLock<u64> = OnceLock::new();
    *HANDLE.get_or_init(|| {
        let cfg = RaftConfig {
            me: 1,
            peers: 3,
            heartbeat_ms: 0,
            election_timeout_min_ms: 0,
            election_timeout_max_ms: 0,
            seed: 3,
            state: ptr::null(),
            state_len: 0,
            snapshot: ptr::null(),
            snapshot_len: 0,
        };
        let cbs =
            RaftCallbacks { user: 0, send_rpc: Some(send_rpc), persist: Some(persist), apply: Some(apply), log: None };
        let mut handle = 0;
        let mut err = RaftBuf::EMPTY;
        let rc = unsafe { raft_make(&cfg, &cbs, &mut handle, &mut err) };
        assert_eq!(rc, 0, "raft_make failed");
        handle
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, req)) = data.split_first() else { return };
    let mut out = RaftBuf::EMPTY;
    let mut err = RaftBuf::EMPTY;
    let rc = unsafe {
        raft_handle_rpc(
            instance(),
            u32::from(kind % 5),
            if req.is_empty() { ptr::null() } else { req.as_ptr() },
            req.len(),
            &mut out,
            &mut err,
        )
    };
    assert_ne!(rc, RaftStatus::Panic as i32, "a panic crossed into the boundary's guard");
    unsafe {
        raft_buf_free(out);
        raft_buf_free(err);
    }
});
