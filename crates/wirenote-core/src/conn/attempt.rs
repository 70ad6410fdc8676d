//! An unanswered SYN, kept small: a SYN flood is millions of connections that never get
//! past their first segment, and a full connection is most of a kilobyte.
//!
//! A connection whose only segment is one pure SYN is kept as that segment (an
//! [`Attempt`], 64 bytes), not as its state: the state after one segment is a function
//! of the segment, so the tracker rebuilds it (feeds the same segment to a new
//! connection) when a second segment arrives or the attempt is forgotten. Nothing that
//! segment's row showed is lost, and no output changes.

use crate::conn::flow::Endpoint;
use crate::wire::tcp::TcpFlags;
use crate::wire::tunnel::Tunnels;

/// The one segment of a connection that has seen only a SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Capture time (ns) the segment counted at.
    pub time_ns: i128,
    /// Its frame.
    pub frame: u64,
    /// The connection's stream.
    pub stream: u64,
    /// Raw sequence and acknowledgment numbers.
    pub seq: u32,
    /// Raw acknowledgment field (a SYN's is usually 0, but it is shown raw).
    pub ack: u32,
    flags: u16,
    /// Raw window.
    pub window: u16,
    /// The last window-scale option's shift, if any (the only option the tracker reads).
    window_scale: Option<u8>,
    /// Whether the key's first endpoint sent it.
    pub from_low: bool,
    /// The tunnels it came through.
    pub tunnel: Tunnels,
}

impl Attempt {
    /// The attempt of stream `stream` whose segment is this.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        stream: u64,
        from_low: bool,
        (seq, ack, flags, window): (u32, u32, TcpFlags, u16),
        window_scale: Option<u8>,
        time_ns: i128,
        frame: u64,
        tunnel: Tunnels,
    ) -> Attempt {
        Attempt {
            time_ns,
            frame,
            stream,
            seq,
            ack,
            flags: flags.bits(),
            window,
            window_scale,
            from_low,
            tunnel,
        }
    }

    /// The last window-scale option's shift, if the SYN had one.
    pub fn window_scale(&self) -> Option<u8> {
        self.window_scale
    }

    /// The segment's flags.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags::from_bits(self.flags)
    }

    /// The segment's options as far as the tracker reads them: its window scale.
    pub fn options(&self) -> ([u8; 3], usize) {
        match self.window_scale {
            Some(shift) => ([3, 3, shift], 3),
            None => ([0; 3], 0),
        }
    }

    /// Sender and receiver, from the key the attempt is held under.
    pub fn endpoints(&self, key: &(Endpoint, Endpoint)) -> (Endpoint, Endpoint) {
        if self.from_low {
            (key.0, key.1)
        } else {
            (key.1, key.0)
        }
    }
}
