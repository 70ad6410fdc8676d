//! Sequences of frames of any link type through the whole pipeline (link, IP with
//! defragmentation, TCP tracking, lifecycle, HTTP reassembly): rows, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirenote_core::Dissector;
use wirenote_core::{Frame, Timestamp};

fuzz_target!(|data: &[u8]| {
    let mut dissector = Dissector::new();
    // First byte picks the link type; then frames are length-prefixed (1 byte).
    let Some((&link, mut rest)) = data.split_first() else {
        return;
    };
    let link_type = [0u32, 1, 12, 101, 108, 113, 228, 229, 276][usize::from(link) % 9];
    let mut number = 0;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        number += 1;
        let timestamp = Some(Timestamp {
            secs: number as i64,
            nanos: 0,
        });
        let frame = Frame::packet(number, timestamp, link_type, bytes);
        dissector.dissect(&frame);
    }
    dissector.finish();
});
