//! Randomized exploration inside `cargo test`: 500 seeds over random cluster sizes, networks and fault
//! schedules, each checked on every step and for progress once healed. A failure names its seed, which
//! `make sim SEED=S` replays.

use raftcore::core::Pacing;
use raftcore_sim::explore::{run_seed, run_seed_paced};

#[test]
fn five_hundred_random_seeds_keep_every_invariant() {
    let failures: Vec<String> = (1..=500)
        .map(run_seed)
        .filter(|o| !o.violations.is_empty())
        .map(|o| format!("seed {} ({} peers): {:?}", o.seed, o.peers, o.violations))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Heartbeat pacing changes when entries travel, not what the protocol may do: the same seeds, every invariant
/// on every step, and progress once healed.
#[test]
fn heartbeat_pacing_keeps_every_invariant() {
    let failures: Vec<String> = (1..=300)
        .map(|seed| run_seed_paced(seed, Pacing::Heartbeat))
        .filter(|o| !o.violations.is_empty())
        .map(|o| format!("seed {} ({} peers, heartbeat pacing): {:?}", o.seed, o.peers, o.violations))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_seed_replays_exactly() {
    let a = run_seed(42);
    let b = run_seed(42);
    assert_eq!((a.peers, a.virtual_ms, a.violations), (b.peers, b.virtual_ms, b.violations));
}
