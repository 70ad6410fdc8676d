//! Any bytes as a capture file: frames or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirenote_core::CaptureReader;
use wirenote_core::Dissector;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut reader) = CaptureReader::from_slice(data) {
        let mut dissector = Dissector::new();
        // Bounded: every record consumes at least 12 bytes.
        for _ in 0..data.len() {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    dissector.dissect(&frame);
                }
                _ => break,
            }
        }
        dissector.finish();
    }
});
