//! Any bytes as a capture file: frames or an error, never a panic; and the same frames
//! and the same end whether the file is read whole or in blocks (as `wirenote` reads
//! files, ahead on another thread), whatever the blocks' size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirenote_core::capture::SliceBlocks;
use wirenote_core::CaptureReader;
use wirenote_core::Dissector;

/// Every frame (number, offset, bytes) and how reading ended; bounded: every record
/// consumes at least 12 bytes.
fn frames(
    reader: Result<CaptureReader<'_>, wirenote_core::CaptureError>,
    limit: usize,
    mut each: impl FnMut(&wirenote_core::Frame<'_>),
) -> (Vec<(u64, u64, Vec<u8>)>, String) {
    let mut reader = match reader {
        Ok(reader) => reader,
        Err(e) => return (Vec::new(), e.to_string()),
    };
    let mut seen = Vec::new();
    for _ in 0..=limit {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                each(&frame);
                seen.push((frame.number, frame.offset, frame.data.to_vec()));
            }
            Ok(None) => return (seen, "end".into()),
            Err(e) => return (seen, e.to_string()),
        }
    }
    (seen, "limit".into())
}

fuzz_target!(|data: &[u8]| {
    let mut dissector = Dissector::new();
    let whole = frames(CaptureReader::from_slice(data), data.len(), |frame| {
        dissector.dissect(frame);
    });
    dissector.finish();
    let size = 1 + usize::from(data.first().copied().unwrap_or(0));
    let room = usize::from(data.get(1).copied().unwrap_or(0)) * 4;
    let cut = SliceBlocks::new(data, size, room);
    let blocks = frames(CaptureReader::from_blocks(cut), data.len(), |_| {});
    assert_eq!(whole, blocks, "blocks of {size} bytes, {room} before each");
});
