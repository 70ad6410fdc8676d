//! The passes `annotate` and `batch` share.

use wirenote_core::{Dissector, PassOneFacts};

use crate::input::Capture;

/// Pass 1: what only the end of the capture knows (each connection's final completeness,
/// each request's response frame).
pub(crate) fn first_pass(capture: &Capture) -> anyhow::Result<PassOneFacts> {
    let mut dissector = Dissector::first_pass();
    capture.for_each_frame(|frame| {
        dissector.dissect(frame);
        dissector.take_finished();
        dissector.take_exchanges();
        Ok(())
    })?;
    Ok(dissector.into_facts())
}
