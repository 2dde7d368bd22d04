//! Throughput of the cluster workload (see `raftcore_bench::cluster`): time per batch, committed and applied on
//! every node, for both implementations; criterion reports it as entries per second.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raftcore_bench::cluster::{commands, run_batch, Cluster, BATCHES, COMMAND_SIZES, NODES};
use raftcore_bench::ours::Ours;
use raftcore_bench::theirs::Theirs;

fn workload<C: Cluster>(c: &mut Criterion) {
    for nodes in NODES {
        for size in COMMAND_SIZES {
            let mut group = c.benchmark_group(format!("cluster/{nodes}n/{size}B"));
            group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
            for batch in BATCHES {
                let commands = commands(batch, size);
                let mut cluster = C::new(nodes);
                group.throughput(Throughput::Elements(batch as u64));
                group.bench_function(BenchmarkId::new(C::NAME, batch), |b| {
                    b.iter(|| run_batch(&mut cluster, &commands))
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, workload::<Ours>, workload::<Theirs>);
criterion_main!(benches);
