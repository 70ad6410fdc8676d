//! The two ends of a connection and the state kept for each direction between them.
//!
//! Kept apart from the tracker so that the pieces a direction is made of (its analysis
//! state, its window scale) never need to know the tracker that owns them.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use crate::conn::analysis::FlowAnalysis;
use crate::conn::window::WindowScale;
use crate::wire::seq::SeqNumber;

/// A side of a connection: address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    /// IP address.
    pub addr: IpAddr,
    /// TCP port.
    pub port: u16,
}

/// One word for an IPv4 endpoint, address and port packed (the derived hash wrote the
/// address's kind, its length, its bytes and the port, one by one): the tracker hashes
/// a segment's two endpoints on every segment. Equal endpoints pack equally, so this
/// agrees with `Eq`.
impl Hash for Endpoint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self.addr {
            IpAddr::V4(addr) => {
                state.write_u64(u64::from(u32::from(addr)) << 16 | u64::from(self.port))
            }
            IpAddr::V6(addr) => {
                state.write_u128(u128::from(addr));
                state.write_u16(self.port);
            }
        }
    }
}

/// State of one direction of a connection.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Relative-zero sequence number.
    pub base_seq: Option<SeqNumber>,
    /// Window scale.
    pub win_scale: WindowScale,
    /// Sequence-analysis state.
    pub analysis: FlowAnalysis,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            base_seq: None,
            win_scale: WindowScale::Unknown,
            analysis: FlowAnalysis::default(),
        }
    }
}
