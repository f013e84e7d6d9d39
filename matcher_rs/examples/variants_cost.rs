use matcher_rs::transforms::{variants, Transform};
use std::time::Instant;
fn main() {
    let v = b"some source value of thirty bytes".to_vec();
    for t in Transform::ALL {
        let t0 = Instant::now();
        for _ in 0..10000 {
            std::hint::black_box(variants(std::hint::black_box(&v), &[t]));
        }
        println!(
            "{:?} {:.2} us",
            t,
            t0.elapsed().as_secs_f64() / 10000.0 * 1e6
        );
    }
}
