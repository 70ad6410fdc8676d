//! The per-frame pipeline that ties the layers together, the passes, and the drive loop
//! every command shares.
//!
//! * [`dissect`] turns one frame into one row: link → IP → TCP → tracker → application;
//!   [`decap`] takes it from the link layer to the innermost IP packet, through tunnels.
//! * [`pass`] says which pass a dissector runs; [`board`] is how a second pass learns
//!   what its first pass saw (one after the other, or following it on another thread).
//! * [`drive`] is the one loop: a frame's row, then the connections and HTTP exchanges
//!   it settled, go to a [`drive::Sink`]; every output implements it.
//!
//! This is the top of the crate: it uses every other module and none uses it.

pub mod board;
pub mod decap;
pub mod dissect;
pub mod drive;
pub mod pass;
