//! `raftcore-sim`: random exploration from the command line.
//!
//!   raftcore-sim --seeds N [--first S]   run seeds S..S+N (S defaults to 1); print each failing seed
//!   raftcore-sim --seed S                replay one seed and print its violations
//!   ... --pacing heartbeat               every core sends entries only with heartbeats (`Pacing::Heartbeat`)
//!
//! The last line is always `sim: N seeds, V violations`; the exit status is 1 when V > 0.

use std::process::ExitCode;
use std::time::Instant;

use raftcore::core::Pacing;
use raftcore_sim::explore::run_seed_paced;

fn usage() -> ExitCode {
    eprintln!("usage: raftcore-sim --seeds N [--first S] | --seed S, then optionally --pacing heartbeat");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| -> Option<Option<u64>> {
        args.iter().position(|a| a == flag).map(|at| args.get(at + 1).and_then(|v| v.parse().ok()))
    };
    let (first, count) = match (value("--seed"), value("--seeds")) {
        (Some(Some(seed)), None) => (seed, 1),
        (None, Some(Some(count))) => (value("--first").flatten().unwrap_or(1), count),
        _ => return usage(),
    };
    let pacing = match args.iter().position(|a| a == "--pacing").map(|at| args.get(at + 1).map(String::as_str)) {
        None | Some(Some("prompt")) => Pacing::Prompt,
        Some(Some("heartbeat")) => Pacing::Heartbeat,
        Some(_) => return usage(),
    };
    let started = Instant::now();
    let mut violations = 0u64;
    let mut virtual_ms = 0u64;
    for seed in first..first.saturating_add(count) {
        let outcome = run_seed_paced(seed, pacing);
        virtual_ms += outcome.virtual_ms;
        if !outcome.violations.is_empty() {
            violations += outcome.violations.len() as u64;
            let replay = match pacing {
                Pacing::Prompt => format!("make sim SEED={seed}"),
                Pacing::Heartbeat => format!("cargo run --release -p raftcore-sim -- --seed {seed} --pacing heartbeat"),
            };
            println!(
                "seed {seed} ({} peers): {} violations; replay with: {replay}",
                outcome.peers,
                outcome.violations.len()
            );
            for v in &outcome.violations {
                println!("  {v}");
            }
        }
        let done = seed - first + 1;
        if count >= 100 && done % (count / 10).max(1) == 0 && done < count {
            eprintln!("sim: {done}/{count} seeds, {violations} violations so far");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "sim: {:.0} seeds/s, {:.0} s of virtual time per wall second",
        count as f64 / seconds.max(1e-9),
        virtual_ms as f64 / 1000.0 / seconds.max(1e-9)
    );
    println!("sim: {count} seeds, {violations} violations");
    if violations > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
