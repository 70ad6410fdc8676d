//! Sequences of frames of any link type through the whole pipeline (link, IP with
//! defragmentation, TCP tracking, lifecycle, HTTP reassembly): rows, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirenote_core::{Frame, FrameKind, Timestamp};
use wirenote_core::Dissector;

fuzz_target!(|data: &[u8]| {
    let mut dissector = Dissector::new();
    // First byte picks the link type; then frames are length-prefixed (1 byte).
    let Some((&link, mut rest)) = data.split_first() else { return };
    let link_type = [0u32, 1, 12, 101, 108, 113, 228, 229, 276][usize::from(link) % 9];
    let mut number = 0;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        number += 1;
        let frame = Frame {
            number,
            timestamp: Some(Timestamp { secs: number as i64, nanos: 0 }),
            link_type,
            interface_id: 0,
            orig_len: bytes.len() as u32,
            data: bytes,
            kind: FrameKind::Packet,
            offset: 0,
            raw_time: None,
            section: 0,
            snaplen: 65535,
            options: &[],
            options_big_endian: false,
        };
        dissector.dissect(&frame);
    }
    dissector.finish();
});
