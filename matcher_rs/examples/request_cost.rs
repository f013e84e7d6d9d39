use matcher_rs::matcher::{match_request, Config, Request};
use std::time::Instant;
fn main() {
    let src: Vec<u8> = format!(
        "{{{}}}",
        (0..16)
            .map(|i| format!("\"field{i}\":\"value number {i} with Some Text-{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    )
    .into_bytes();
    let req = Request {
        sources: vec![&src],
        sinks: vec![],
    };
    let cfg = Config::default();
    let t0 = Instant::now();
    for _ in 0..2000 {
        std::hint::black_box(match_request(&req, &cfg));
    }
    println!("{:.1} us/req", t0.elapsed().as_secs_f64() / 2000.0 * 1e6);
}
