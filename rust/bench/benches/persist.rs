//! Time per persist as the log grows (see `raftcore_bench::persist`).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use raftcore_bench::persist::{Follower, LOG_SIZES};

fn persist(c: &mut Criterion) {
    let mut group = c.benchmark_group("persist");
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    for n in LOG_SIZES {
        let follower = Follower::new(n);
        // Restart from n entries every n/10 persists, so the log stays within 10% of its nominal length.
        let restart_every = (n / 10).max(1);
        for (mode, in_place) in [("copied", false), ("in_place", true)] {
            group.bench_function(BenchmarkId::new(mode, n), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let (mut raft, mut last) = follower.fresh();
                    let mut since = 0;
                    for _ in 0..iters {
                        if since == restart_every {
                            (raft, last) = follower.fresh();
                            since = 0;
                        }
                        let start = Instant::now();
                        std::hint::black_box(Follower::step(&mut raft, &mut last, in_place));
                        total += start.elapsed();
                        since += 1;
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, persist);
criterion_main!(benches);
