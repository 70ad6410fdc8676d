//! The wire: zero-copy views of what a frame carries below the application, one file per
//! layer, and the sequence-number arithmetic TCP needs.
//!
//! * [`link`] finds the network-layer packet inside a frame (Ethernet, VLAN, SLL, NULL …).
//! * [`ip`] reads IPv4/IPv6 and reassembles IPv4 fragments.
//! * [`tunnel`] reads tunnel headers (MPLS, GRE, VXLAN, Geneve, GTP-U, Teredo…) and
//!   names the stack of them a packet came through.
//! * [`tcp`] views a TCP header, its flags and its options.
//! * [`seq`] compares sequence numbers modulo 2^32.
//!
//! Nothing here knows about connections: this is the leaf every other layer builds on.
//! The accessors never panic once a view has been checked.

pub mod ip;
pub mod link;
pub mod seq;
pub mod tcp;
pub mod tunnel;
