//! Any bytes as one direction of an HTTP stream, with and without desegmentation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirenote_core::app::http::{dissect_stream, parse_head, HttpConv};

fuzz_target!(|data: &[u8]| {
    let mut conv = HttpConv::default();
    let _ = dissect_stream(data, &mut conv, true, false);
    let _ = dissect_stream(data, &mut conv, false, true);
    let _ = parse_head(data);
});
