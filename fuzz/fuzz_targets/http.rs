//! Any bytes as one direction of an HTTP stream, with and without desegmentation; and the
//! same bytes arriving in growing prefixes, where a head scan resumed with the pending
//! PDU's hint must give what a fresh scan gives.
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
    let step = usize::from(step).max(1);
    let mut hint = HeadHint::default();
    let mut len = 0;
    while len < bytes.len() {
        len = (len + step).min(bytes.len());
        let prefix = &bytes[..len];
        let resumed = dissect_stream(prefix, &mut HttpConv::default(), true, false, &mut hint);
        let fresh = dissect_stream(
            prefix,
            &mut HttpConv::default(),
            true,
            false,
            &mut HeadHint::default(),
        );
        assert_eq!(format!("{resumed:?}"), format!("{fresh:?}"));
        if resumed.need.is_none() {
            // The PDU is done; a new one starts with a new hint.
            break;
        }
    }
});
