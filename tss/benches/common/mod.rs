//! What the tss benches share: the smoke mode of `make bench-smoke`.
use std::time::Duration;

/// `SEQPOOL_BENCH_SMOKE` (make bench-smoke): n = 10 only and a few short samples, to show that
/// every benchmark runs and prints its figure.
pub fn smoke() -> bool {
    std::env::var_os("SEQPOOL_BENCH_SMOKE").is_some()
}

pub fn sizes() -> &'static [usize] {
    if smoke() {
        &[10]
    } else {
        &[10, 50, 100]
    }
}

/// Short samples in smoke mode (criterion's minimum sample count is 10).
pub fn smoke_timing<M: criterion::measurement::Measurement>(
    group: &mut criterion::BenchmarkGroup<'_, M>,
) {
    if smoke() {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(500));
    }
}
