//! The TCP connection lifecycle as an observer at the capture point sees it: each packet's
//! role (`handshake-syn` … `teardown-ack2`, `rst`) and both endpoints' RFC 9293 states.
//!
//! Read, at least: RFC 9293 §3.3.2 (state machine overview, Figure 5), §3.5 (establishing
//! a connection, simultaneous open), §3.6 (closing: the three cases), §3.5.2 (reset).
//!
//! # Inference rules
//!
//! The observer sees packets, not the endpoints' memory, so a state changes when a packet
//! proves it. After each packet:
//!
//! * **Opening.** The client (the side that sent the first SYN) is `SYN_SENT` once its SYN
//!   is seen; the server, `LISTEN` until then, is `SYN_RECEIVED` once its SYN-ACK is seen;
//!   the client is `ESTABLISHED` on receiving that SYN-ACK (RFC 9293 §3.10.7.3), and the
//!   server on receiving the client's ACK of its ISN + 1 (the `handshake-ack`). In a
//!   simultaneous open both sides send a SYN and are `SYN_RECEIVED` until ACKed.
//! * **Closing.** A side enters `FIN_WAIT_1` when its FIN is seen (active close), or
//!   `LAST_ACK` if it had already received the peer's FIN. The receiver of a first FIN
//!   enters `CLOSE_WAIT`. A side in `FIN_WAIT_1` whose FIN is acknowledged enters
//!   `FIN_WAIT_2`; if it receives the peer's FIN before that, `CLOSING` (simultaneous
//!   close, seen as a FIN that does not acknowledge the FIN it crossed: its sender is
//!   `CLOSING` too). A side enters `TIME_WAIT` when it acknowledges the peer's FIN after its own
//!   FIN was acknowledged (from `FIN_WAIT_2`), or when its FIN is acknowledged in
//!   `CLOSING`. A `LAST_ACK` side is `CLOSED` when its FIN is acknowledged.
//!   `TIME_WAIT` lasts 2×MSL on the host and is where a capture leaves the active closer.
//! * **Reset.** A RST puts both sides in `CLOSED` (a refused SYN: the client goes from
//!   `SYN_SENT` to `CLOSED`, the server never left `LISTEN`'s "nobody here" — shown
//!   `CLOSED`).
//! * **Mid-stream.** When the first packet seen is neither SYN nor SYN-ACK, both sides
//!   start `ESTABLISHED`; the server is the side with the lower port (Wireshark and Zeek
//!   make the same guess), and the packet's role is `midstream`.

use std::fmt;

use crate::wire::seq::SeqNumber;
use crate::wire::tcp::TcpFlags;

/// RFC 9293 connection states. `Display` is wirenote's export spelling (`SYN_SENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpState {
    /// No connection.
    Closed,
    /// Waiting for a connection request (assumed for a server before its SYN-ACK).
    Listen,
    /// SYN sent, waiting for a matching SYN.
    SynSent,
    /// SYN received and SYN sent, waiting for the ACK.
    SynReceived,
    /// Open; data flows both ways.
    Established,
    /// FIN sent (active close), waiting for its ACK or the peer's FIN.
    FinWait1,
    /// Own FIN acknowledged, waiting for the peer's FIN.
    FinWait2,
    /// Peer's FIN received, waiting for the local application to close.
    CloseWait,
    /// Both FINs crossed; waiting for the ACK of our FIN.
    Closing,
    /// FIN sent after receiving the peer's FIN, waiting for its ACK.
    LastAck,
    /// Both FINs acknowledged; waiting 2×MSL.
    TimeWait,
}

impl TcpState {
    /// The export spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynReceived => "SYN_RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
        }
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A packet's place in the connection lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The client's SYN.
    HandshakeSyn,
    /// The server's SYN-ACK.
    HandshakeSynAck,
    /// The client's ACK of the server's ISN + 1, completing the 3-way handshake.
    HandshakeAck,
    /// A repeated SYN or SYN-ACK (same ISN).
    SynRetry,
    /// A segment carrying payload.
    Data,
    /// A pure acknowledgment.
    Ack,
    /// The first FIN of the connection (the active closer's).
    TeardownFin1,
    /// The other side's ACK of the first FIN.
    TeardownAck1,
    /// The other side's FIN (possibly with the ACK of the first: FIN,ACK).
    TeardownFin2,
    /// The ACK of the second FIN.
    TeardownAck2,
    /// A reset.
    Rst,
    /// The first packet of a connection whose opening was not captured.
    Midstream,
}

impl Role {
    /// The export spelling (`handshake-syn`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::HandshakeSyn => "handshake-syn",
            Role::HandshakeSynAck => "handshake-synack",
            Role::HandshakeAck => "handshake-ack",
            Role::SynRetry => "syn-retry",
            Role::Data => "data",
            Role::Ack => "ack",
            Role::TeardownFin1 => "teardown-fin1",
            Role::TeardownAck1 => "teardown-ack1",
            Role::TeardownFin2 => "teardown-fin2",
            Role::TeardownAck2 => "teardown-ack2",
            Role::Rst => "rst",
            Role::Midstream => "midstream",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which endpoint of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The side that opened (sent the first SYN), or the guessed client.
    Client,
    /// The other side.
    Server,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
    fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// One segment as the lifecycle sees it.
#[derive(Debug, Clone, Copy)]
pub struct SegmentEvent {
    /// Who sent it.
    pub from: Side,
    /// Flag bits.
    pub flags: TcpFlags,
    /// Raw sequence number.
    pub seq: SeqNumber,
    /// Raw acknowledgment number.
    pub ack: SeqNumber,
    /// Payload length.
    pub len: u32,
}

/// What one segment did to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The packet's role.
    pub role: Role,
    /// Client state after the packet.
    pub client: TcpState,
    /// Server state after the packet.
    pub server: TcpState,
}

/// Per-side facts the state machine keeps.
#[derive(Debug, Clone, Copy)]
struct SideFacts {
    state: TcpState,
    isn: Option<SeqNumber>,
    /// Sequence number of this side's FIN (the FIN occupies `fin_seq`).
    fin_seq: Option<SeqNumber>,
    fin_acked: bool,
    /// Whether this side has received the peer's FIN.
    got_peer_fin: bool,
    /// Whether this side has sent a SYN-ACK.
    sent_syn_ack: bool,
}

impl SideFacts {
    fn new(state: TcpState) -> SideFacts {
        SideFacts {
            state,
            isn: None,
            fin_seq: None,
            fin_acked: false,
            got_peer_fin: false,
            sent_syn_ack: false,
        }
    }
}

/// The lifecycle of one connection.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    sides: [SideFacts; 2],
    first_fin: Option<Side>,
    handshake_done: bool,
    started_midstream: bool,
    packets: u64,
    /// A RST was seen: the connection is gone and later segments change no state.
    reset: bool,
}

/// Who the client is, decided from the first packet of a connection.
pub fn client_of_first_packet(
    flags_of_first: TcpFlags,
    sender_port: u16,
    receiver_port: u16,
) -> (bool, bool) {
    // Returns (sender is client, connection started mid-stream).
    let syn_ack = flags_of_first & (TcpFlags::SYN | TcpFlags::ACK);
    if syn_ack == TcpFlags::SYN {
        (true, false)
    } else if syn_ack == TcpFlags::SYN | TcpFlags::ACK {
        (false, false)
    } else {
        // The server is the side with the lower port; a tie keeps the sender as client.
        (receiver_port <= sender_port, true)
    }
}

impl Lifecycle {
    /// A connection whose first packet is described by `midstream`.
    pub fn new(midstream: bool) -> Lifecycle {
        let (client, server) = if midstream {
            (TcpState::Established, TcpState::Established)
        } else {
            (TcpState::Closed, TcpState::Listen)
        };
        Lifecycle {
            sides: [SideFacts::new(client), SideFacts::new(server)],
            first_fin: None,
            handshake_done: midstream,
            started_midstream: midstream,
            packets: 0,
            reset: false,
        }
    }

    /// Current state of a side.
    pub fn state(&self, side: Side) -> TcpState {
        self.sides[side.index()].state
    }

    /// Which side sent the first FIN, if any.
    pub fn first_fin(&self) -> Option<Side> {
        self.first_fin
    }

    /// Whether the 3-way handshake completed (or the connection was picked up mid-way).
    pub fn handshake_done(&self) -> bool {
        self.handshake_done
    }

    /// Whether the capture started after the connection opened.
    pub fn started_midstream(&self) -> bool {
        self.started_midstream
    }

    /// Feeds one segment; returns its role and both states after it.
    pub fn on_segment(&mut self, ev: &SegmentEvent) -> Transition {
        self.packets += 1;
        let me = ev.from.index();
        let peer = ev.from.peer().index();
        let syn = ev.flags.contains(TcpFlags::SYN);
        let ack = ev.flags.contains(TcpFlags::ACK);
        let fin = ev.flags.contains(TcpFlags::FIN);
        let rst = ev.flags.contains(TcpFlags::RST);
        let first_packet_midstream = self.packets == 1 && self.started_midstream;

        // Facts this segment proves about the peer's FIN being acknowledged.
        let acks_peer_fin = ack
            && self.sides[peer]
                .fin_seq
                .is_some_and(|f| ev.ack.ge(f.wrapping_add(1)));
        let newly_acks_peer_fin = acks_peer_fin && !self.sides[peer].fin_acked;

        if self.reset {
            // Stray segments after a reset: name them, but the endpoints stay CLOSED.
            let saved = self.sides;
            let saved_fin = self.first_fin;
            let transition = self.after_reset(ev, rst, syn, fin, newly_acks_peer_fin, me, peer);
            self.sides = saved;
            self.first_fin = saved_fin.or(self.first_fin);
            return transition;
        }
        let role = match (rst, syn, fin) {
            // RFC 9293 §3.5.2: a reset aborts the connection from any state.
            (true, _, _) => {
                self.sides[me].state = TcpState::Closed;
                self.sides[peer].state = TcpState::Closed;
                Role::Rst
            }
            // §3.5: opening segments.
            (false, true, _) => self.on_syn(ev, me, peer, ack),
            // §3.6: a FIN, first or second.
            (false, false, true) => self.on_fin(ev, me, peer, newly_acks_peer_fin),
            // Plain segments: data or acknowledgments, which may close the handshake or
            // acknowledge a FIN.
            (false, false, false) => self.on_plain(ev, me, peer, newly_acks_peer_fin),
        };
        if rst {
            self.reset = true;
        }
        let role = if first_packet_midstream && matches!(role, Role::Data | Role::Ack) {
            Role::Midstream
        } else {
            role
        };
        Transition {
            role,
            client: self.sides[0].state,
            server: self.sides[1].state,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn after_reset(
        &mut self,
        ev: &SegmentEvent,
        rst: bool,
        syn: bool,
        fin: bool,
        newly_acks_peer_fin: bool,
        me: usize,
        peer: usize,
    ) -> Transition {
        let role = match (rst, syn, fin) {
            (true, _, _) => Role::Rst,
            (false, true, _) => self.on_syn(ev, me, peer, ev.flags.contains(TcpFlags::ACK)),
            (false, false, true) => self.on_fin(ev, me, peer, newly_acks_peer_fin),
            (false, false, false) => self.on_plain(ev, me, peer, newly_acks_peer_fin),
        };
        Transition {
            role,
            client: TcpState::Closed,
            server: TcpState::Closed,
        }
    }

    fn on_syn(&mut self, ev: &SegmentEvent, me: usize, peer: usize, ack: bool) -> Role {
        // The same ISN again in the same kind of segment is a retry; a SYN-ACK after the
        // side's own SYN (simultaneous open, split handshake) is not.
        let same_isn = self.sides[me].isn == Some(ev.seq);
        let repeated = same_isn && (!ack || self.sides[me].sent_syn_ack);
        if self.sides[me].isn.is_none() {
            self.sides[me].isn = Some(ev.seq);
        }
        if ack {
            self.sides[me].sent_syn_ack = true;
        }
        if repeated {
            return Role::SynRetry;
        }
        if !ack {
            // CLOSED → SYN_SENT (§3.5, active open). A SYN from a side that has already
            // seen the peer's SYN is a simultaneous open: both become SYN_RECEIVED.
            if self.sides[peer].isn.is_some() {
                self.sides[me].state = TcpState::SynReceived;
                self.sides[peer].state = TcpState::SynReceived;
            } else {
                self.sides[me].state = TcpState::SynSent;
            }
            Role::HandshakeSyn
        } else {
            // LISTEN → SYN_RECEIVED on sending SYN-ACK; the peer in SYN_SENT that receives
            // an acceptable SYN-ACK is ESTABLISHED (§3.10.7.3).
            self.sides[me].state = TcpState::SynReceived;
            let acceptable = self.sides[peer]
                .isn
                .is_none_or(|isn| ev.ack == isn.wrapping_add(1));
            if acceptable
                && matches!(
                    self.sides[peer].state,
                    TcpState::SynSent | TcpState::SynReceived
                )
            {
                self.sides[peer].state = TcpState::Established;
            }
            Role::HandshakeSynAck
        }
    }

    fn on_fin(
        &mut self,
        ev: &SegmentEvent,
        me: usize,
        peer: usize,
        newly_acks_peer_fin: bool,
    ) -> Role {
        let fin_seq = ev.seq.wrapping_add(ev.len);
        let retransmitted = self.sides[me].fin_seq.is_some();
        if !retransmitted {
            self.sides[me].fin_seq = Some(fin_seq);
        }
        if newly_acks_peer_fin {
            self.peer_fin_acked(peer);
        }
        let first = match self.first_fin {
            None => {
                self.first_fin = Some(if me == 0 { Side::Client } else { Side::Server });
                true
            }
            Some(side) => side.index() == me,
        };
        if !retransmitted {
            // The sender: ESTABLISHED/SYN_RECEIVED → FIN_WAIT_1 (active close), or
            // CLOSE_WAIT → LAST_ACK (passive close). A FIN that does not acknowledge a
            // FIN already seen from the peer crossed it: both sides closed at once and
            // this one is CLOSING (§3.6 case 3).
            let crossing = self.sides[me].got_peer_fin && !self.sides[peer].fin_acked;
            self.sides[me].state = if crossing {
                TcpState::Closing
            } else if self.sides[me].got_peer_fin {
                TcpState::LastAck
            } else {
                TcpState::FinWait1
            };
            // The receiver of a FIN: ESTABLISHED → CLOSE_WAIT; FIN_WAIT_1 (own FIN not
            // yet acknowledged) → CLOSING; FIN_WAIT_2 waits to acknowledge it.
            self.sides[peer].got_peer_fin = true;
            self.sides[peer].state = match self.sides[peer].state {
                TcpState::FinWait1 => TcpState::Closing,
                TcpState::Established | TcpState::SynReceived | TcpState::SynSent => {
                    TcpState::CloseWait
                }
                other => other,
            };
        }
        if first {
            Role::TeardownFin1
        } else {
            Role::TeardownFin2
        }
    }

    fn on_plain(
        &mut self,
        ev: &SegmentEvent,
        me: usize,
        peer: usize,
        newly_acks_peer_fin: bool,
    ) -> Role {
        // The handshake ACK: the client acknowledges the server's ISN + 1.
        if !self.handshake_done && ev.flags.contains(TcpFlags::ACK) {
            if let Some(isn) = self.sides[peer].isn {
                if ev.ack == isn.wrapping_add(1) && self.sides[me].isn.is_some() {
                    self.handshake_done = true;
                    for side in &mut self.sides {
                        if matches!(side.state, TcpState::SynSent | TcpState::SynReceived) {
                            side.state = TcpState::Established;
                        }
                    }
                    return Role::HandshakeAck;
                }
            }
        }
        if newly_acks_peer_fin {
            self.peer_fin_acked(peer);
            if ev.len == 0 {
                return if self.first_fin.map(Side::index) == Some(peer) {
                    Role::TeardownAck1
                } else {
                    Role::TeardownAck2
                };
            }
        }
        if ev.len > 0 {
            Role::Data
        } else {
            Role::Ack
        }
    }

    /// `peer`'s FIN has just been acknowledged by the other side (`me`).
    fn peer_fin_acked(&mut self, peer: usize) {
        let me = 1 - peer;
        self.sides[peer].fin_acked = true;
        // The side whose FIN is acknowledged: FIN_WAIT_1 → FIN_WAIT_2, CLOSING → TIME_WAIT,
        // LAST_ACK → CLOSED.
        self.sides[peer].state = match self.sides[peer].state {
            TcpState::FinWait1 => TcpState::FinWait2,
            TcpState::Closing => TcpState::TimeWait,
            TcpState::LastAck => TcpState::Closed,
            other => other,
        };
        // The acknowledging side, if its own FIN was already acknowledged, has now
        // acknowledged the last FIN: FIN_WAIT_2 → TIME_WAIT.
        if self.sides[me].state == TcpState::FinWait2 {
            self.sides[me].state = TcpState::TimeWait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Side = Side::Client;
    const S: Side = Side::Server;
    const CISN: u32 = 1000;
    const SISN: u32 = 5000;

    fn seg(from: Side, flags: TcpFlags, seq: u32, ack: u32, len: u32) -> SegmentEvent {
        SegmentEvent {
            from,
            flags,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            len,
        }
    }

    macro_rules! feed {
        ($life:expr, $from:expr, $flags:expr, $seq:expr, $ack:expr, $len:expr => $role:ident, $client:ident, $server:ident) => {{
            let t = $life.on_segment(&seg($from, $flags, $seq, $ack, $len));
            assert_eq!(
                (t.role, t.client, t.server),
                (Role::$role, TcpState::$client, TcpState::$server),
                "after {:?} {:#x}",
                $from,
                $flags
            );
        }};
    }

    const SYN: TcpFlags = TcpFlags::SYN;
    const SYNACK: TcpFlags = TcpFlags::SYN.union(TcpFlags::ACK);
    const ACK: TcpFlags = TcpFlags::ACK;
    const PSHACK: TcpFlags = TcpFlags::PSH.union(TcpFlags::ACK);
    const FINACK: TcpFlags = TcpFlags::FIN.union(TcpFlags::ACK);
    const RST: TcpFlags = TcpFlags::RST;
    const RSTACK: TcpFlags = TcpFlags::RST.union(TcpFlags::ACK);

    fn established() -> Lifecycle {
        let mut l = Lifecycle::new(false);
        feed!(l, C, SYN, CISN, 0, 0 => HandshakeSyn, SynSent, Listen);
        feed!(l, S, SYNACK, SISN, CISN + 1, 0 => HandshakeSynAck, Established, SynReceived);
        feed!(l, C, ACK, CISN + 1, SISN + 1, 0 => HandshakeAck, Established, Established);
        l
    }

    #[test]
    fn three_way_handshake() {
        let l = established();
        assert!(l.handshake_done());
    }

    #[test]
    fn syn_retransmission_is_syn_retry() {
        let mut l = Lifecycle::new(false);
        feed!(l, C, SYN, CISN, 0, 0 => HandshakeSyn, SynSent, Listen);
        feed!(l, C, SYN, CISN, 0, 0 => SynRetry, SynSent, Listen);
    }

    #[test]
    fn four_way_close_server_first_as_in_the_lab() {
        let mut l = established();
        feed!(l, C, PSHACK, CISN + 1, SISN + 1, 78 => Data, Established, Established);
        feed!(l, S, PSHACK, SISN + 1, CISN + 79, 300 => Data, Established, Established);
        feed!(l, S, FINACK, SISN + 301, CISN + 79, 0 => TeardownFin1, CloseWait, FinWait1);
        feed!(l, C, ACK, CISN + 79, SISN + 302, 0 => TeardownAck1, CloseWait, FinWait2);
        feed!(l, C, FINACK, CISN + 79, SISN + 302, 0 => TeardownFin2, LastAck, FinWait2);
        feed!(l, S, ACK, SISN + 302, CISN + 80, 0 => TeardownAck2, Closed, TimeWait);
    }

    #[test]
    fn three_segment_close_fin_ack_combined() {
        let mut l = established();
        feed!(l, C, FINACK, CISN + 1, SISN + 1, 0 => TeardownFin1, FinWait1, CloseWait);
        // The server's FIN,ACK acknowledges the client's FIN and closes its side at once.
        feed!(l, S, FINACK, SISN + 1, CISN + 2, 0 => TeardownFin2, FinWait2, LastAck);
        feed!(l, C, ACK, CISN + 2, SISN + 2, 0 => TeardownAck2, TimeWait, Closed);
    }

    #[test]
    fn fin_on_last_data_segment() {
        let mut l = established();
        let fin_psh = TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK;
        feed!(l, S, fin_psh, SISN + 1, CISN + 1, 100 => TeardownFin1, CloseWait, FinWait1);
        feed!(l, C, ACK, CISN + 1, SISN + 102, 0 => TeardownAck1, CloseWait, FinWait2);
    }

    #[test]
    fn simultaneous_close() {
        let mut l = established();
        feed!(l, C, FINACK, CISN + 1, SISN + 1, 0 => TeardownFin1, FinWait1, CloseWait);
        // The server's FIN crosses the client's: it does not acknowledge it.
        feed!(l, S, FINACK, SISN + 1, CISN + 1, 0 => TeardownFin2, Closing, Closing);
        feed!(l, C, ACK, CISN + 2, SISN + 2, 0 => TeardownAck2, Closing, TimeWait);
        feed!(l, S, ACK, SISN + 2, CISN + 2, 0 => TeardownAck1, TimeWait, TimeWait);
    }

    #[test]
    fn half_close_data_after_fin() {
        let mut l = established();
        feed!(l, C, FINACK, CISN + 1, SISN + 1, 0 => TeardownFin1, FinWait1, CloseWait);
        feed!(l, S, ACK, SISN + 1, CISN + 2, 0 => TeardownAck1, FinWait2, CloseWait);
        feed!(l, S, PSHACK, SISN + 1, CISN + 2, 500 => Data, FinWait2, CloseWait);
        feed!(l, C, ACK, CISN + 2, SISN + 501, 0 => Ack, FinWait2, CloseWait);
        feed!(l, S, FINACK, SISN + 501, CISN + 2, 0 => TeardownFin2, FinWait2, LastAck);
        feed!(l, C, ACK, CISN + 2, SISN + 502, 0 => TeardownAck2, TimeWait, Closed);
    }

    #[test]
    fn refused_connection() {
        let mut l = Lifecycle::new(false);
        feed!(l, C, SYN, CISN, 0, 0 => HandshakeSyn, SynSent, Listen);
        feed!(l, S, RSTACK, 0, CISN + 1, 0 => Rst, Closed, Closed);
    }

    #[test]
    fn reset_mid_connection() {
        let mut l = established();
        feed!(l, S, RST, SISN + 1, 0, 0 => Rst, Closed, Closed);
        // A stray FIN after the reset is named but changes nothing.
        feed!(l, C, FINACK, CISN + 1, SISN + 1, 0 => TeardownFin1, Closed, Closed);
    }

    #[test]
    fn simultaneous_open() {
        let mut l = Lifecycle::new(false);
        feed!(l, C, SYN, CISN, 0, 0 => HandshakeSyn, SynSent, Listen);
        feed!(l, S, SYN, SISN, 0, 0 => HandshakeSyn, SynReceived, SynReceived);
        feed!(l, C, SYNACK, CISN, SISN + 1, 0 => HandshakeSynAck, SynReceived, Established);
        feed!(l, C, SYNACK, CISN, SISN + 1, 0 => SynRetry, SynReceived, Established);
        feed!(l, S, ACK, SISN + 1, CISN + 1, 0 => HandshakeAck, Established, Established);
    }

    #[test]
    fn midstream_start() {
        let mut l = Lifecycle::new(true);
        feed!(l, S, PSHACK, SISN, CISN, 10 => Midstream, Established, Established);
        feed!(l, C, ACK, CISN, SISN + 10, 0 => Ack, Established, Established);
        assert!(l.started_midstream());
    }

    #[test]
    fn client_is_decided_from_the_first_packet() {
        assert_eq!(client_of_first_packet(SYN, 40000, 80), (true, false));
        assert_eq!(client_of_first_packet(SYNACK, 80, 40000), (false, false));
        assert_eq!(client_of_first_packet(ACK, 80, 40000), (false, true));
        assert_eq!(client_of_first_packet(ACK, 40000, 80), (true, true));
    }
}
