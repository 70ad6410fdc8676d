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
//!
//! # Structure
//!
//! Each segment is first classified into an `Event` (RST, SYN, SYN-ACK, retry, handshake
//! ACK, FIN, data, ACK — with what it acknowledges), read against what the endpoints have
//! shown so far (ISNs, FINs). Then one `match (state, end, event)` in `next_state` gives
//! each endpoint's next state, one arm per RFC 9293 transition, and every change goes
//! through `Lifecycle::set_state`. The role is a separate function of the event. After a
//! RST the connection is over: later segments are still classified and named, but change
//! neither the states nor what the endpoints remember.

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
    /// The handshake's ACK carrying the first data too (TCP Fast Open, or a client
    /// that does not wait): both facts on one packet.
    HandshakeAckData,
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
    /// Data from the other side that also acknowledges the first FIN: in a half-close
    /// the peer keeps sending, and its data segment is teardown step 2.
    TeardownAck1Data,
    /// The other side's FIN (possibly with the ACK of the first: FIN,ACK).
    TeardownFin2,
    /// The ACK of the second FIN.
    TeardownAck2,
    /// A FIN sent again (same sequence number): a retransmission, not a new step.
    FinRetry,
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
            Role::HandshakeAckData => "handshake-ack+data",
            Role::SynRetry => "syn-retry",
            Role::Data => "data",
            Role::Ack => "ack",
            Role::TeardownFin1 => "teardown-fin1",
            Role::TeardownAck1 => "teardown-ack1",
            Role::TeardownAck1Data => "teardown-ack1+data",
            Role::TeardownFin2 => "teardown-fin2",
            Role::TeardownAck2 => "teardown-ack2",
            Role::FinRetry => "fin-retry",
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
    /// The other endpoint.
    pub fn peer(self) -> Side {
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

/// How the first packet of a connection places its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    /// The sender of the first packet: the client if it is a SYN, the server if it is a
    /// SYN-ACK, else the side with the higher port.
    pub sender: Side,
    /// Whether the opening was missed (the first packet is neither SYN nor SYN-ACK).
    pub midstream: bool,
}

/// Who the client is, decided from the first packet of a connection.
pub fn client_of_first_packet(
    flags_of_first: TcpFlags,
    sender_port: u16,
    receiver_port: u16,
) -> Opening {
    let syn_ack = flags_of_first & (TcpFlags::SYN | TcpFlags::ACK);
    if syn_ack == TcpFlags::SYN {
        Opening {
            sender: Side::Client,
            midstream: false,
        }
    } else if syn_ack == TcpFlags::SYN | TcpFlags::ACK {
        Opening {
            sender: Side::Server,
            midstream: false,
        }
    } else {
        // The server is the side with the lower port; a tie keeps the sender as client.
        let sender = if receiver_port <= sender_port {
            Side::Client
        } else {
            Side::Server
        };
        Opening {
            sender,
            midstream: true,
        }
    }
}

/// The two ends of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The endpoint that sent the segment.
    Sender,
    /// The endpoint it is addressed to.
    Receiver,
}

/// What the sender of a FIN knows of the FIN going the other way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeerFin {
    /// The peer has sent no FIN.
    NotSeen,
    /// The peer's FIN is seen, and neither an earlier segment nor this one acknowledges it:
    /// the two FINs cross (simultaneous close).
    Unacked,
    /// The peer's FIN is seen and acknowledged (by an earlier segment or this one).
    Acked,
}

/// A segment classified by what it proves about the connection: its flags read against
/// what the observer already knows (both ISNs, both FINs and whether they are
/// acknowledged). Classification looks at no state; [`next_state`] maps state × event to
/// the next state, and [`role`] names the packet from the event alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// RST set, whatever else is.
    Rst,
    /// A SYN without ACK, not repeating its side's ISN. `peer_syn_seen`: the other side
    /// has already sent a SYN or SYN-ACK (simultaneous open).
    Syn { peer_syn_seen: bool },
    /// A SYN-ACK, not repeating an earlier SYN-ACK of its side. `acks_peer_syn`: it
    /// acknowledges the peer's ISN + 1 (or no SYN of the peer was seen).
    SynAck { acks_peer_syn: bool },
    /// A SYN repeating its side's ISN, or a SYN-ACK repeating its side's SYN-ACK.
    SynRetry,
    /// Before the handshake is done, a segment (no SYN, FIN, RST) acknowledging the
    /// peer's ISN + 1 from a side whose own SYN was seen.
    HandshakeAck,
    /// FIN set (SYN and RST clear). `repeat`: this side's FIN was already seen, so it
    /// changes no state by itself. `acks_fin`: it is the first segment to acknowledge the
    /// peer's FIN. `peer_fin`: the peer's FIN as the sender knows it.
    Fin {
        repeat: bool,
        acks_fin: bool,
        peer_fin: PeerFin,
    },
    /// No SYN, FIN or RST, with payload. `acks_fin`: it is the first segment to acknowledge
    /// the peer's FIN.
    Data { acks_fin: bool },
    /// No SYN, FIN or RST, without payload. `acks_fin` as for `Data`.
    Ack { acks_fin: bool },
}

impl Event {
    /// Whether this segment is the first to acknowledge the peer's FIN.
    fn acks_fin(self) -> bool {
        match self {
            Event::Fin { acks_fin, .. } | Event::Data { acks_fin } | Event::Ack { acks_fin } => {
                acks_fin
            }
            _ => false,
        }
    }
}

/// The state of one endpoint after a segment, from its state before and the event.
///
/// One arm per RFC 9293 transition. Where one segment carries two things (a FIN that also
/// acknowledges the peer's FIN), the ACK is processed before the FIN, in the order of
/// §3.10.7.4 ("fifth, check the ACK field" before "eighth, check the FIN bit").
fn next_state(state: TcpState, end: End, event: Event) -> TcpState {
    use TcpState::*;
    match (state, end, event) {
        // §3.5.2, §3.10.7.4 ("second, check the RST bit"): a reset aborts the connection
        // from any state; both endpoints are CLOSED.
        (_, _, Event::Rst) => Closed,
        // §3.5 Figure 6, §3.10.1 (OPEN call, active): CLOSED → SYN-SENT on sending a SYN.
        (
            _,
            End::Sender,
            Event::Syn {
                peer_syn_seen: false,
            },
        ) => SynSent,
        // §3.5 Figure 7 (simultaneous open): a SYN from a side that has seen the peer's
        // SYN, and its receiver in SYN-SENT (§3.10.7.3 "fourth, check the SYN bit"):
        // both SYN-RECEIVED.
        (
            _,
            _,
            Event::Syn {
                peer_syn_seen: true,
            },
        ) => SynReceived,
        // §3.10.7.2 (LISTEN, SYN received): LISTEN → SYN-RECEIVED on sending the SYN-ACK.
        (_, End::Sender, Event::SynAck { .. }) => SynReceived,
        // §3.10.7.3 (SYN-SENT, "our SYN has been ACKed"): SYN-SENT → ESTABLISHED; in a
        // simultaneous open, SYN-RECEIVED → ESTABLISHED (§3.10.7.4, fifth, SYN-RECEIVED).
        (
            SynSent | SynReceived,
            End::Receiver,
            Event::SynAck {
                acks_peer_syn: true,
            },
        ) => Established,
        // §3.10.7.4 (fifth, SYN-RECEIVED: acceptable ACK): the handshake ACK makes both
        // ends ESTABLISHED, whichever of SYN-SENT or SYN-RECEIVED they were in.
        (SynSent | SynReceived, _, Event::HandshakeAck) => Established,
        // §3.10.7.4 (fifth, FIN-WAIT-1): our FIN acknowledged → FIN-WAIT-2.
        (FinWait1, End::Receiver, e) if e.acks_fin() => FinWait2,
        // §3.10.7.4 (fifth, CLOSING): our FIN acknowledged → TIME-WAIT.
        (Closing, End::Receiver, e) if e.acks_fin() => TimeWait,
        // §3.10.7.4 (fifth, LAST-ACK): our FIN acknowledged → CLOSED.
        (LastAck, End::Receiver, e) if e.acks_fin() => Closed,
        // §3.10.4 (CLOSE call, ESTABLISHED): a first FIN → FIN-WAIT-1 (active close).
        (
            _,
            End::Sender,
            Event::Fin {
                repeat: false,
                peer_fin: PeerFin::NotSeen,
                ..
            },
        ) => FinWait1,
        // §3.10.4 (CLOSE call, CLOSE-WAIT): the FIN after the peer's, acknowledged →
        // LAST-ACK (passive close).
        (
            _,
            End::Sender,
            Event::Fin {
                repeat: false,
                peer_fin: PeerFin::Acked,
                ..
            },
        ) => LastAck,
        // §3.6 case 3 (simultaneous close), §3.10.7.4 (eighth, FIN-WAIT-1): a FIN sent
        // while the peer's FIN is unacknowledged crossed it → CLOSING.
        (
            _,
            End::Sender,
            Event::Fin {
                repeat: false,
                peer_fin: PeerFin::Unacked,
                ..
            },
        ) => Closing,
        // §3.10.7.4 (eighth, FIN-WAIT-2): the FIN-WAIT-2 side acknowledging the peer's FIN
        // has received it → TIME-WAIT.
        (FinWait2, End::Sender, e) if e.acks_fin() => TimeWait,
        // §3.10.7.4 (eighth, FIN-WAIT-1, "our FIN has not been ACKed"): a FIN received →
        // CLOSING.
        (FinWait1, End::Receiver, Event::Fin { repeat: false, .. }) => Closing,
        // §3.10.7.4 (eighth, SYN-RECEIVED / ESTABLISHED): a FIN received → CLOSE-WAIT.
        (Established | SynReceived | SynSent, End::Receiver, Event::Fin { repeat: false, .. }) => {
            CloseWait
        }
        // Anything else (retries, data, plain ACKs, a FIN received in FIN-WAIT-2 before it
        // is acknowledged): no change.
        (state, _, _) => state,
    }
}

/// A packet's role, from its event, its sender, and who sent the first FIN before it.
fn role(event: Event, from: Side, first_fin: Option<Side>, len: u32) -> Role {
    let peer_closed_first = first_fin == Some(from.peer());
    match event {
        Event::Rst => Role::Rst,
        Event::Syn { .. } => Role::HandshakeSyn,
        Event::SynAck { .. } => Role::HandshakeSynAck,
        Event::SynRetry => Role::SynRetry,
        Event::HandshakeAck if len > 0 => Role::HandshakeAckData,
        Event::HandshakeAck => Role::HandshakeAck,
        Event::Fin { repeat: true, .. } => Role::FinRetry,
        Event::Fin { .. } if first_fin.is_none_or(|side| side == from) => Role::TeardownFin1,
        Event::Fin { .. } => Role::TeardownFin2,
        Event::Ack { acks_fin: true } if peer_closed_first => Role::TeardownAck1,
        Event::Ack { acks_fin: true } => Role::TeardownAck2,
        Event::Data { acks_fin: true } if peer_closed_first => Role::TeardownAck1Data,
        Event::Data { .. } => Role::Data,
        Event::Ack { acks_fin: false } => Role::Ack,
    }
}

/// What one endpoint's segments have shown (the endpoint's own memory, as far as the
/// observer can tell). Frozen once the connection is reset: the endpoints forgot it.
#[derive(Debug, Clone, Copy, Default)]
struct Endpoint {
    /// ISN of this side's first SYN or SYN-ACK.
    isn: Option<SeqNumber>,
    /// Whether this side has sent a SYN-ACK.
    sent_syn_ack: bool,
    /// Sequence number of this side's FIN (the FIN occupies `fin_seq`).
    fin_seq: Option<SeqNumber>,
    /// Whether this side's FIN has been acknowledged.
    fin_acked: bool,
}

/// The lifecycle of one connection.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    client_state: TcpState,
    server_state: TcpState,
    client: Endpoint,
    server: Endpoint,
    /// Which side sent the first FIN (kept for naming packets, also after a reset).
    first_fin: Option<Side>,
    /// Whether the handshake ACK was seen (kept for naming packets, also after a reset).
    handshake_done: bool,
    started_midstream: bool,
    packets: u64,
    /// A RST was seen: both endpoints are CLOSED for good, and later segments are named
    /// but change neither states nor endpoint memory.
    reset: bool,
}

impl Lifecycle {
    /// A connection whose first packet is described by `midstream`.
    pub fn new(midstream: bool) -> Lifecycle {
        let (client_state, server_state) = if midstream {
            (TcpState::Established, TcpState::Established)
        } else {
            (TcpState::Closed, TcpState::Listen)
        };
        Lifecycle {
            client_state,
            server_state,
            client: Endpoint::default(),
            server: Endpoint::default(),
            first_fin: None,
            handshake_done: midstream,
            started_midstream: midstream,
            packets: 0,
            reset: false,
        }
    }

    /// Current state of a side.
    pub fn state(&self, side: Side) -> TcpState {
        match side {
            Side::Client => self.client_state,
            Side::Server => self.server_state,
        }
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
    pub fn on_segment(&mut self, seg: &SegmentEvent) -> Transition {
        self.packets += 1;
        let event = self.classify(seg);
        let mut role = role(event, seg.from, self.first_fin, seg.len);
        if self.packets == 1 && self.started_midstream && matches!(role, Role::Data | Role::Ack) {
            role = Role::Midstream;
        }
        match event {
            Event::Fin { .. } => {
                self.first_fin.get_or_insert(seg.from);
            }
            Event::HandshakeAck => self.handshake_done = true,
            _ => {}
        }
        if !self.reset {
            self.remember(seg, event);
            for (side, end) in [(seg.from, End::Sender), (seg.from.peer(), End::Receiver)] {
                self.set_state(side, next_state(self.state(side), end, event));
            }
            // §3.5.2: the reset is final for this connection; nothing after it is
            // processed by either endpoint (a new connection on the same ports is a new
            // stream, hence a new `Lifecycle`).
            self.reset = event == Event::Rst;
        }
        Transition {
            role,
            client: self.client_state,
            server: self.server_state,
        }
    }

    fn set_state(&mut self, side: Side, state: TcpState) {
        match side {
            Side::Client => self.client_state = state,
            Side::Server => self.server_state = state,
        }
    }

    fn endpoint(&self, side: Side) -> &Endpoint {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    fn endpoint_mut(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// Reads a segment against what both endpoints have shown so far.
    fn classify(&self, seg: &SegmentEvent) -> Event {
        let me = self.endpoint(seg.from);
        let peer = self.endpoint(seg.from.peer());
        let has = |flag: TcpFlags| seg.flags.intersects(flag);
        let acks_fin = has(TcpFlags::ACK)
            && !peer.fin_acked
            && peer
                .fin_seq
                .is_some_and(|fin| seg.ack.ge(fin.wrapping_add(1)));
        let same_isn = me.isn == Some(seg.seq);
        if has(TcpFlags::RST) {
            Event::Rst
        } else if has(TcpFlags::SYN) && has(TcpFlags::ACK) {
            if same_isn && me.sent_syn_ack {
                Event::SynRetry
            } else {
                Event::SynAck {
                    acks_peer_syn: peer.isn.is_none_or(|isn| seg.ack == isn.wrapping_add(1)),
                }
            }
        } else if has(TcpFlags::SYN) {
            if same_isn {
                Event::SynRetry
            } else {
                Event::Syn {
                    peer_syn_seen: peer.isn.is_some(),
                }
            }
        } else if has(TcpFlags::FIN) {
            let peer_fin = match peer.fin_seq {
                None => PeerFin::NotSeen,
                Some(_) if peer.fin_acked || acks_fin => PeerFin::Acked,
                Some(_) => PeerFin::Unacked,
            };
            Event::Fin {
                repeat: me.fin_seq.is_some(),
                acks_fin,
                peer_fin,
            }
        } else if !self.handshake_done
            && has(TcpFlags::ACK)
            && me.isn.is_some()
            && peer.isn.is_some_and(|isn| seg.ack == isn.wrapping_add(1))
        {
            Event::HandshakeAck
        } else if seg.len > 0 {
            Event::Data { acks_fin }
        } else {
            Event::Ack { acks_fin }
        }
    }

    /// Records what the segment shows about its sender's ISN and FIN, and about the
    /// acknowledgment of its receiver's FIN.
    fn remember(&mut self, seg: &SegmentEvent, event: Event) {
        if event.acks_fin() {
            self.endpoint_mut(seg.from.peer()).fin_acked = true;
        }
        let me = self.endpoint_mut(seg.from);
        match event {
            Event::Syn { .. } => {
                me.isn.get_or_insert(seg.seq);
            }
            Event::SynAck { .. } => {
                me.isn.get_or_insert(seg.seq);
                me.sent_syn_ack = true;
            }
            Event::Fin { repeat: false, .. } => me.fin_seq = Some(seg.seq.wrapping_add(seg.len)),
            _ => {}
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

    /// Half-close: the server closes first, the client keeps sending, and its data
    /// segment is also the ACK of the server's FIN (teardown step 2).
    #[test]
    fn half_close_ack_on_data_is_teardown_step_two() {
        let mut l = established();
        feed!(l, S, FINACK, SISN + 1, CISN + 1, 0 => TeardownFin1, CloseWait, FinWait1);
        feed!(l, C, PSHACK, CISN + 1, SISN + 2, 500 => TeardownAck1Data, CloseWait, FinWait2);
        feed!(l, C, PSHACK, CISN + 501, SISN + 2, 500 => Data, CloseWait, FinWait2);
        feed!(l, C, FINACK, CISN + 1001, SISN + 2, 0 => TeardownFin2, LastAck, FinWait2);
        feed!(l, S, ACK, SISN + 2, CISN + 1002, 0 => TeardownAck2, Closed, TimeWait);
    }

    /// The handshake's ACK may carry the first request.
    #[test]
    fn handshake_ack_with_data_says_both() {
        let mut l = Lifecycle::new(false);
        feed!(l, C, SYN, CISN, 0, 0 => HandshakeSyn, SynSent, Listen);
        feed!(l, S, SYNACK, SISN, CISN + 1, 0 => HandshakeSynAck, Established, SynReceived);
        feed!(l, C, PSHACK, CISN + 1, SISN + 1, 78 => HandshakeAckData, Established, Established);
        assert!(l.handshake_done());
    }

    /// A retransmitted FIN is no new teardown step, on either side.
    #[test]
    fn fin_retransmissions_are_fin_retry() {
        let mut l = established();
        feed!(l, C, FINACK, CISN + 1, SISN + 1, 0 => TeardownFin1, FinWait1, CloseWait);
        feed!(l, C, FINACK, CISN + 1, SISN + 1, 0 => FinRetry, FinWait1, CloseWait);
        feed!(l, S, FINACK, SISN + 1, CISN + 2, 0 => TeardownFin2, FinWait2, LastAck);
        feed!(l, S, FINACK, SISN + 1, CISN + 2, 0 => FinRetry, FinWait2, LastAck);
        feed!(l, C, ACK, CISN + 2, SISN + 2, 0 => TeardownAck2, TimeWait, Closed);
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

    // The tests below pin behaviour kept from the earlier implementation that departs
    // from RFC 9293's diagram (see the notes in each); changing it changes outputs.

    #[test]
    fn simultaneous_open_second_syn_ack_sets_its_sender_back_to_syn_received() {
        // Kept: each SYN-ACK puts its sender in SYN_RECEIVED, even one already ESTABLISHED
        // by the peer's SYN-ACK (RFC 9293 §3.5 Figure 7 has it stay ESTABLISHED).
        let mut l = Lifecycle::new(false);
        feed!(l, C, SYN, CISN, 0, 0 => HandshakeSyn, SynSent, Listen);
        feed!(l, S, SYN, SISN, 0, 0 => HandshakeSyn, SynReceived, SynReceived);
        feed!(l, C, SYNACK, CISN, SISN + 1, 0 => HandshakeSynAck, SynReceived, Established);
        feed!(l, S, SYNACK, SISN, CISN + 1, 0 => HandshakeSynAck, Established, SynReceived);
        feed!(l, C, ACK, CISN + 1, SISN + 1, 0 => HandshakeAck, Established, Established);
    }

    #[test]
    fn capture_starting_at_the_syn_ack_leaves_the_client_closed() {
        // Kept: without the client's SYN its ACK is not a handshake ACK, and the client
        // stays CLOSED (the server SYN_RECEIVED) while data flows.
        let mut l = Lifecycle::new(false);
        feed!(l, S, SYNACK, SISN, CISN + 1, 0 => HandshakeSynAck, Closed, SynReceived);
        feed!(l, C, ACK, CISN + 1, SISN + 1, 0 => Ack, Closed, SynReceived);
        feed!(l, C, PSHACK, CISN + 1, SISN + 1, 10 => Data, Closed, SynReceived);
    }

    #[test]
    fn a_syn_after_a_midstream_start_goes_back_to_syn_sent() {
        // Kept: a SYN whose ISN was never seen is an active open from any state.
        let mut l = Lifecycle::new(true);
        feed!(l, S, PSHACK, SISN, CISN, 10 => Midstream, Established, Established);
        feed!(l, C, SYN, CISN, 0, 0 => HandshakeSyn, SynSent, Established);
    }

    #[test]
    fn a_syn_ack_with_a_new_isn_sets_an_established_server_back() {
        // Kept: the tracker rebases the side and keeps the stream; the lifecycle puts the
        // sender back in SYN_RECEIVED.
        let mut l = established();
        feed!(l, S, SYNACK, SISN + 1000, CISN + 1, 0 => HandshakeSynAck, Established, SynReceived);
    }

    #[test]
    fn a_fin_received_in_syn_sent_is_close_wait() {
        // Kept: RFC 9293 §3.10.7.4 (eighth) says not to process a FIN in SYN-SENT.
        let mut l = Lifecycle::new(false);
        feed!(l, C, SYN, CISN, 0, 0 => HandshakeSyn, SynSent, Listen);
        feed!(l, S, FINACK, SISN, CISN + 1, 0 => TeardownFin1, CloseWait, FinWait1);
    }

    #[test]
    fn client_is_decided_from_the_first_packet() {
        let opening = |sender, midstream| Opening { sender, midstream };
        assert_eq!(client_of_first_packet(SYN, 40000, 80), opening(C, false));
        assert_eq!(client_of_first_packet(SYNACK, 80, 40000), opening(S, false));
        assert_eq!(client_of_first_packet(ACK, 80, 40000), opening(S, true));
        assert_eq!(client_of_first_packet(ACK, 40000, 80), opening(C, true));
        assert_eq!(client_of_first_packet(ACK, 80, 80), opening(C, true));
    }
}
