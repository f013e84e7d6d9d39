//! Fuzz the flattener and the matcher: `cargo +nightly fuzz run flatten_match`
//! (from matcher_rs/). Input: bytes split on 0xFF into captures; the first
//! byte picks how many are sources and the options.
#![no_main]

use libfuzzer_sys::fuzz_target;
use matcher_rs::flatten::flatten;
use matcher_rs::guards::Guards;
use matcher_rs::matcher::{match_request, Config, Request};
use matcher_rs::transforms::Transform;

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let parts: Vec<&[u8]> = rest.split(|&b| b == 0xFF).collect();
    for p in &parts {
        let f = flatten(p);
        for leaf in &f.leaves {
            if let Some(span) = &leaf.span {
                assert_eq!(&p[span.clone()], &*leaf.value);
            }
            let _ = f.path(leaf);
        }
    }
    let n_sources = (head as usize & 7).min(parts.len());
    let config = Config {
        guards: Guards::new(1 + (head as usize >> 6), ["stop"]),
        transforms: if head & 8 == 0 { Transform::ALL.to_vec() } else { Vec::new() },
        max_capture_bytes: if head & 16 == 0 { 1 << 20 } else { 64 },
    };
    let request = Request { sources: parts[..n_sources].to_vec(), sinks: parts[n_sources..].to_vec() };
    let result = match_request(&request, &config);
    assert!(result.matches.windows(2).all(|w| w[0] != w[1]));
    assert!(result.nomatch.len() <= n_sources * (parts.len() - n_sources));
});
