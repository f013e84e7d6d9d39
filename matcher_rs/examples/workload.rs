//! Time the matcher on a dumped workload, single-threaded, in Rust alone.
//!
//!     python -m loadtest.bench_matcher --dump /tmp/w.bin --requests 5000
//!     cargo run --release --example workload --no-default-features -- /tmp/w.bin [repeats]
//!
//! The file holds, per request, `u32` counts and `u32`-length-prefixed
//! payloads (little-endian): sources, then sinks. Prints requests/s, sink
//! MB/s (one core) and a checksum of the results, so that two builds can be
//! compared for identical output.
use matcher_rs::matcher::{match_batch, Config, Request};
use std::hash::{Hash, Hasher};
use std::time::Instant;

fn read_group<'a>(buf: &'a [u8], at: &mut usize) -> Vec<&'a [u8]> {
    let u32_at = |at: &mut usize| {
        let v = u32::from_le_bytes(buf[*at..*at + 4].try_into().unwrap()) as usize;
        *at += 4;
        v
    };
    let n = u32_at(at);
    (0..n)
        .map(|_| {
            let len = u32_at(at);
            let p = &buf[*at..*at + len];
            *at += len;
            p
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: workload FILE [repeats]");
    let repeats: usize = args.get(2).map_or(3, |r| r.parse().unwrap());
    let buf = std::fs::read(path).expect("read workload");
    let mut at = 0;
    let mut requests = Vec::new();
    while at < buf.len() {
        let sources = read_group(&buf, &mut at);
        let sinks = read_group(&buf, &mut at);
        requests.push(Request { sources, sinks });
    }
    let sink_bytes: usize = requests
        .iter()
        .flat_map(|r| &r.sinks)
        .map(|s| s.len())
        .sum();
    let config = Config::default();
    let mut best = f64::INFINITY;
    let mut checksum = 0u64;
    for _ in 0..repeats {
        let t0 = Instant::now();
        let results = match_batch(&requests, &config);
        best = best.min(t0.elapsed().as_secs_f64());
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for r in &results {
            for m in &r.matches {
                (m.source_index, &m.source_path, m.sink_index, &m.sink_path).hash(&mut h);
                (m.kind.name(), m.transform.name()).hash(&mut h);
            }
            r.nomatch.hash(&mut h);
        }
        checksum = h.finish();
    }
    println!(
        "{} requests, {:.1} MB of sinks: {:.0} requests/s, {:.1} MB/s of sinks (one core), checksum {:016x}",
        requests.len(),
        sink_bytes as f64 / 1e6,
        requests.len() as f64 / best,
        sink_bytes as f64 / best / 1e6,
        checksum
    );
}
