//! The application layer over TCP: desegmentation and HTTP/1.x.
//!
//! * [`reassembly`] gathers TCP payload into messages as Wireshark's `desegment_tcp()` does.
//! * [`http`] frames HTTP/1.x messages and reads their heads.
//! * [`exchange`] pairs requests with responses (tshark's way and HTTP's way).
//!
//! Dependencies point one way: reassembly uses http and exchange, exchange uses http; all
//! of them sit above [`crate::conn`] and [`crate::wire`].

pub mod exchange;
pub mod http;
pub mod reassembly;
