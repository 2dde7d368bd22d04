//! Make/kill cycles leak neither threads nor memory. The only test in its binary, so no other test's threads
//! or allocations move the counts.

use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use raftcore::ffi::*;

static APPLIED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn send_rpc(_: u64, _: u32, _: u32, _: u64, _: *const u8, _: usize) {}
unsafe extern "C" fn persist(_: u64, _: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
    0
}
unsafe extern "C" fn apply(_: u64, _: *const RaftApplyMsg) -> i32 {
    APPLIED.fetch_add(1, Ordering::SeqCst);
    0
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").expect("/proc/self/task").count()
}

/// The thread count once it settles at `expected`, or what it still is after a while. A joined thread can stay
/// listed for a moment: the kernel wakes the joiner while the exiting task is still being torn down. The wait
/// ends as soon as the count settles; its limit, the lab's bound for a whole election, only gives a loaded
/// machine room and a leak a way to fail.
fn threads_settled(expected: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = threads();
        if now == expected || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).expect("resident field").parse().expect("a number");
    pages * 4096
}

/// One cycle. Every `busy`th cycle is a lone peer that elects itself and commits a command before it is killed,
/// so the threads are killed mid-work too, not only idle.
fn cycle(busy: bool) {
    let cfg = RaftConfig {
        me: 0,
        peers: if busy { 1 } else { 3 },
        heartbeat_ms: 10,
        election_timeout_min_ms: 20,
        election_timeout_max_ms: 30,
        pacing: RaftPacing::Prompt as u32,
        seed: 0,
        state: null(),
        state_len: 0,
        snapshot: null(),
        snapshot_len: 0,
    };
    let cbs =
        RaftCallbacks { user: 0, send_rpc: Some(send_rpc), persist: Some(persist), apply: Some(apply), log: None };
    let mut h = 0;
    assert_eq!(unsafe { raft_make(&cfg, &cbs, &mut h, null_mut()) }, 0);
    if busy {
        let before = APPLIED.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (mut index, mut term, mut leader) = (0, 0, false);
            assert_eq!(unsafe { raft_start(h, b"c".as_ptr(), 1, &mut index, &mut term, &mut leader, null_mut()) }, 0);
            if leader {
                break;
            }
            assert!(Instant::now() < deadline, "a lone peer elects itself");
            std::thread::sleep(Duration::from_millis(5));
        }
        while APPLIED.load(Ordering::SeqCst) == before {
            assert!(Instant::now() < deadline, "a lone leader applies its command");
            std::thread::sleep(Duration::from_millis(1));
        }
    } else {
        let (mut term, mut leader) = (0, false);
        assert_eq!(unsafe { raft_get_state(h, &mut term, &mut leader, null_mut()) }, 0);
    }
    assert_eq!(unsafe { raft_kill(h, null_mut()) }, 0);
}

#[test]
fn a_thousand_make_kill_cycles_leave_no_threads_or_memory_behind() {
    // Warm-up lets the allocator settle its per-thread arenas and the registry reach its steady size.
    for i in 0..100 {
        cycle(i % 20 == 0);
    }
    std::thread::sleep(Duration::from_millis(100));
    let (threads_before, memory_before) = (threads(), resident_bytes());
    for i in 0..1000 {
        cycle(i % 20 == 0);
        assert_eq!(threads_settled(threads_before), threads_before, "threads after cycle {i}");
    }
    let growth = resident_bytes().saturating_sub(memory_before);
    assert!(growth < 2 << 20, "resident memory grew by {growth} bytes over 1000 cycles");
}
