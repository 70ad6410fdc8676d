//! TCP connections: which segments belong together, and what they say about each other.
//!
//! * [`tracker`] numbers streams and makes sequence numbers relative, as Wireshark does.
//! * [`analysis`] computes Wireshark's `tcp.analysis.*` flags for one direction.
//! * [`lifecycle`] infers both endpoints' RFC 9293 states and each packet's role.
//! * [`summary`] keeps the per-connection facts of the flows table.
//! * [`zeek`] models Zeek's endpoint states, `history` and `conn_state`.
//! * [`attempt`] keeps a connection that has seen only a SYN as that segment.
//! * [`expiry`] says when a connection is forgotten (Zeek's kinds of timeout) and finds
//!   the expired ones; [`forgotten`] keeps what a forgotten 4-tuple needs to come back.
//! * [`flow`] holds the two endpoints and the per-direction state; [`window`] the window
//!   scale of one side.
//!
//! Dependencies point one way, from the tracker down:
//!
//! ```text
//! tracker ─┬─> flow ──> analysis ──> window
//!          ├─> summary ─┬─> analysis, zeek
//!          │            └─> lifecycle
//!          ├─> lifecycle, window
//!          └─> attempt, expiry ──> flow;  forgotten ──> expiry, window
//! ```
//!
//! The analysis works on a direction's [`analysis::FlowAnalysis`] and the peer's
//! [`window::WindowScale`], not on a [`flow::Flow`], so it never needs the module that
//! owns flows; the summary takes flag sets, not connections. Everything here uses only
//! [`crate::wire`] below it.

pub mod analysis;
pub mod attempt;
pub mod expiry;
pub mod flow;
pub mod forgotten;
pub mod lifecycle;
pub mod summary;
pub mod tracker;
pub mod window;
pub mod zeek;
