//! wirenote-core: capture reading, dissection and connection tracking.
//!
//! Guarantee: no function in this crate panics on input bytes. Frames that cannot be
//! dissected become rows whose `protocol` is `malformed`; a corrupt capture ends with a
//! [`CaptureError`] that names the last good frame and the byte offset.
//!
//! ```
//! use wirenote_core::{CaptureReader, Dissector};
//! # let bytes: Vec<u8> = [0xd4u8, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
//! #     0xff, 0xff, 0, 0, 1, 0, 0, 0].to_vec();
//! let mut reader = CaptureReader::from_slice(&bytes).unwrap();
//! let mut dissector = Dissector::new();
//! while let Some(frame) = reader.next_frame().unwrap() {
//!     let row = dissector.dissect(&frame);
//!     println!("{} {} {}", row.frame, row.protocol, row.info);
//! }
//! ```
//!
//! # Layout
//!
//! One folder per layer; dependencies point one way, down this list:
//!
//! * [`pipeline`]: the per-frame [`Dissector`], the [`Pass`]es and their [`FactBoard`],
//!   and the one drive loop ([`Driver`]) into a [`Sink`], which every output implements.
//! * [`app`]: desegmentation, HTTP/1.x framing and request/response pairing.
//! * [`conn`]: the TCP [`Tracker`], sequence analysis, lifecycle and summaries.
//! * [`wire`]: link layers, IP with defragmentation, TCP header views, sequence numbers.
//!
//! [`capture`] (pcap, pcapng, gzip) is a leaf that only the pipeline reads from, and
//! [`record`] holds the owned rows the pipeline builds for export. The names most users
//! need are re-exported here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod capture;
pub mod conn;
pub mod pipeline;
pub mod record;
pub mod wire;

pub use capture::{CaptureError, CaptureReader, Format, Frame, FrameKind, Timestamp};
pub use conn::expiry::Timeouts;
pub use conn::flow::Endpoint;
pub use conn::tracker::{Conn, Shed, Tracker};
pub use pipeline::board::{CloseOnDrop, FactBoard};
pub use pipeline::dissect::{Dissector, Exchanges, Limits};
pub use pipeline::drive::{Discard, DriveError, Driver, Sink, Step, Wants, MALFORMED_RUN_LIMIT};
pub use pipeline::pass::Pass;
