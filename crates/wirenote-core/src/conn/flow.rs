//! The two ends of a connection and the state kept for each direction between them.
//!
//! Kept apart from the tracker so that the pieces a direction is made of (its analysis
//! state, its window scale) never need to know the tracker that owns them.

use std::net::IpAddr;

use crate::conn::analysis::FlowAnalysis;
use crate::conn::window::WindowScale;
use crate::wire::seq::SeqNumber;

/// A side of a connection: address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IP address.
    pub addr: IpAddr,
    /// TCP port.
    pub port: u16,
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
