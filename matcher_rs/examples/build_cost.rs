//! Build and scan cost of each searcher size class (`cargo run --release --example build_cost --no-default-features`).
use matcher_rs::search::{Searcher, SearcherKind};
use std::time::Instant;

fn main() {
    let hay: Vec<u8> = (0..16384u32)
        .map(|i| b"the user event ok id=2025 value xyzQ"[(i * 7 % 36) as usize])
        .collect();
    for n in [4usize, 16, 40, 64, 160, 300] {
        let needles: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("{:x}{}", i * 2654435761usize, "needle-value-long").into_bytes())
            .collect();
        for kind in [
            SearcherKind::Memmem,
            SearcherKind::Packed,
            SearcherKind::Hash,
            SearcherKind::Nfa,
        ] {
            let t = Instant::now();
            let reps = 200;
            for _ in 0..reps {
                std::hint::black_box(Searcher::with_kind(&needles, Some(kind)));
            }
            let build = t.elapsed().as_secs_f64() / reps as f64 * 1e6;
            let s = Searcher::with_kind(&needles, Some(kind));
            let t = Instant::now();
            let mut c = 0;
            for _ in 0..reps {
                s.for_each(&hay, |_, _| c += 1);
            }
            let scan = hay.len() as f64 * reps as f64 / t.elapsed().as_secs_f64() / 1e9;
            println!(
                "n={n:4} {:?}: build {build:8.1} us  scan {scan:6.2} GB/s",
                s.kind()
            );
        }
    }
}
