//! Prints the benchmark tables from criterion's estimates (`make bench` runs it after the benches): throughput
//! of every cluster workload for raftcore and raft-rs with their ratio, ticks from propose to commit on every
//! node (computed here: it is deterministic), and the cost of a persist as the log grows.
//!
//! Usage: `report [CRITERION_DIR]` (default `target/criterion`).

use std::path::{Path, PathBuf};

use raftcore_bench::cluster::{mean_ticks_to_commit, BATCHES, COMMAND_SIZES, NODES};
use raftcore_bench::ours::Ours;
use raftcore_bench::persist::{Follower, LOG_SIZES};
use raftcore_bench::theirs::Theirs;

/// Batches averaged for the tick counts.
const TICK_ROUNDS: u32 = 20;

/// Mean nanoseconds per iteration of one criterion benchmark, if it ran.
fn mean_ns(dir: &Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(id).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn per_second(batch: usize, ns: Option<f64>) -> Option<f64> {
    ns.map(|ns| batch as f64 * 1e9 / ns)
}

fn show(value: Option<f64>, scale: f64, unit: &str) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{:.1}{unit}", v / scale))
}

fn ratio(ours: Option<f64>, theirs: Option<f64>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".to_string(),
    }
}

fn time(ns: Option<f64>) -> String {
    match ns {
        None => "-".to_string(),
        Some(ns) if ns < 1e3 => format!("{ns:.0} ns"),
        Some(ns) if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        Some(ns) => format!("{:.2} ms", ns / 1e6),
    }
}

fn main() {
    let dir = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("target/criterion"), PathBuf::from);
    println!("Throughput: entries committed and applied on every node per second (ratio = raftcore / raft-rs,");
    println!("above 1 is faster), and ticks from propose to commit on every node (one tick per message hop;");
    println!("below 1 is faster).");
    println!();
    println!(
        "| nodes | command | batch | raftcore entries/s | raft-rs entries/s | ratio | raftcore ticks | raft-rs ticks | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for nodes in NODES {
        for size in COMMAND_SIZES {
            for batch in BATCHES {
                let group = format!("cluster_{nodes}n_{size}B");
                let ours = per_second(batch, mean_ns(&dir, &format!("{group}/raftcore/{batch}")));
                let theirs = per_second(batch, mean_ns(&dir, &format!("{group}/raft-rs/{batch}")));
                let ours_ticks = mean_ticks_to_commit::<Ours>(nodes, batch, size, TICK_ROUNDS);
                let theirs_ticks = mean_ticks_to_commit::<Theirs>(nodes, batch, size, TICK_ROUNDS);
                println!(
                    "| {nodes} | {size} B | {batch} | {} | {} | {} | {ours_ticks:.1} | {theirs_ticks:.1} | {:.2} |",
                    show(ours, 1e3, " k"),
                    show(theirs, 1e3, " k"),
                    ratio(ours, theirs),
                    ours_ticks / theirs_ticks,
                );
            }
        }
    }
    println!();
    println!("Persistence: one 100-byte entry appended to a follower's log of n entries, then the persist");
    println!("(the bytes copied out with take_ready, or left in the core with take_ready_in_place).");
    println!();
    println!("| log entries | bytes per persist | time, copied | time, in place |");
    println!("|---|---|---|---|");
    for n in LOG_SIZES {
        let bytes = Follower::new(n).persisted_len();
        let copied = mean_ns(&dir, &format!("persist/copied/{n}"));
        let in_place = mean_ns(&dir, &format!("persist/in_place/{n}"));
        println!("| {n} | {bytes} | {} | {} |", time(copied), time(in_place));
    }
}
