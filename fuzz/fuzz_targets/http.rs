//! Any bytes as one direction of an HTTP stream, with and without desegmentation; and the
//! same bytes arriving in segments of a few bytes, where every head scan resumed with the
//! pending PDU's hint must give what a fresh scan of the same bytes gives.
//!
//! The segments are handed over as the reassembly hands them (`app/reassembly.rs`): the
//! pending PDU keeps its hint while the message at its start waits for more, and starts
//! again, with a new hint, where the next message begins once one is complete. So the
//! hint is checked on every message of the input, not only the first, and a complete
//! message is not dissected again for every later segment (that made this target
//! quadratic in the input: about 1k executions a second on this machine, now several
//! times that). The one oracle left that grows with the square of a length is the fresh
//! scan of a single head still arriving, which is the comparison itself: so an input is
//! cut in at most 64 segments (small steps on short inputs, coarser ones on long).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirenote_core::app::http::{dissect_stream, parse_head, HeadHint, HttpConv};

fuzz_target!(|data: &[u8]| {
    let mut conv = HttpConv::default();
    let _ = dissect_stream(data, &mut conv, true, false, &mut HeadHint::default());
    let _ = dissect_stream(data, &mut conv, false, true, &mut HeadHint::default());
    let _ = parse_head(data);
    let Some((&step, bytes)) = data.split_first() else {
        return;
    };
    // At most 64 segments: each is compared with a fresh scan of the whole pending PDU,
    // so finer steps over a long input made one execution quadratic in its length (a
    // 4 KiB input in 1-byte steps scanned 8 MiB).
    let step = usize::from(step).max(1).max(bytes.len().div_ceil(64));
    let mut hint = HeadHint::default();
    // The pending PDU is `bytes[base..len]`.
    let mut base = 0;
    let mut len = 0;
    while len < bytes.len() {
        len = (len + step).min(bytes.len());
        let pdu = &bytes[base..len];
        let resumed = dissect_stream(pdu, &mut HttpConv::default(), true, false, &mut hint);
        let fresh = dissect_stream(
            pdu,
            &mut HttpConv::default(),
            true,
            false,
            &mut HeadHint::default(),
        );
        // Every field (messages, Info text, need, cut_short, open head) compared.
        assert_eq!(
            resumed,
            fresh,
            "{} bytes from {base}, step {step}",
            pdu.len()
        );
        match resumed.need {
            // The message at the PDU's start waits for more: same PDU, same hint.
            Some((0, _)) => {}
            // Messages completed before it: the PDU starts again at the pending one.
            Some((at, _)) => {
                base += at;
                hint = HeadHint::default();
            }
            // Nothing pending: the next segment starts a new PDU.
            None => {
                base = len;
                hint = HeadHint::default();
            }
        }
    }
});
