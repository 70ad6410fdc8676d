//! TCP connections: which segments belong together, and what they say about each other.
//!
//! * [`tracker`] numbers streams and makes sequence numbers relative, as Wireshark does.
//! * [`analysis`] computes Wireshark's `tcp.analysis.*` flags for one direction.
//! * [`lifecycle`] infers both endpoints' RFC 9293 states and each packet's role.
//! * [`summary`] keeps the per-connection facts of the flows table.
//!
//! Dependencies point one way: the tracker uses the other three; they use only [`crate::wire`].

pub mod analysis;
pub mod lifecycle;
pub mod summary;
pub mod tracker;
