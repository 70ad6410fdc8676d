//! What each packet of a connection means, computed once for every view (the text story,
//! the ladder diagram): its lifecycle step as the lab report numbers it, the states it
//! changes, and what its HTTP messages say about caching.
//!
//! The lifecycle's roles (`conn::lifecycle`) name a FIN that also acknowledges the first
//! FIN `teardown-fin2`, like a bare FIN; the view tells them apart from the segment's
//! acknowledgment number, because the lab numbers that FIN,ACK "steps 2 and 3 of the
//! 4-way teardown at once" (the 3-segment close).

use std::collections::HashMap;

use wirenote_core::conn::lifecycle::{Role, TcpState};
use wirenote_core::record::{HttpRecord, Kind, TcpRecord};
use wirenote_core::wire::tcp::TcpFlags;

/// A packet's numbered step in the handshake or the teardown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Step `n` of the 3-way handshake.
    Handshake(u8),
    /// Step `n` of the 4-way teardown.
    Teardown(u8),
    /// A FIN,ACK that acknowledges the first FIN: teardown steps 2 and 3 in one segment.
    TeardownCombined,
}

impl Step {
    /// The step in words (`三次握手第 1 次`).
    pub(crate) fn words(self, words: &super::wording::Wording) -> String {
        match self {
            Step::Handshake(n) => words.say("step.handshake", &[("n", &n.to_string())]),
            Step::Teardown(n) => words.say("step.teardown", &[("n", &n.to_string())]),
            Step::TeardownCombined => words.say("step.teardown-combined", &[]),
        }
    }
}

/// What an HTTP message in a packet says about caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caching {
    /// Nothing to say.
    Plain,
    /// A request carrying these validators (`If-Modified-Since`, `If-None-Match`).
    Conditional(Option<&'static str>),
    /// A 304 answering the conditional request in that frame, with its validators.
    Revalidated(Option<u64>, Option<&'static str>),
    /// A 304 with no conditional request before it.
    NotModified,
}

/// One packet's facts.
#[derive(Debug, Clone)]
pub(crate) struct PacketFacts {
    /// The wording key of what the packet does (`handshake-syn`; `teardown-finack` for
    /// the combined FIN,ACK).
    pub(crate) doing: &'static str,
    /// The lifecycle role's export spelling (`handshake-syn`, `data`).
    pub(crate) role: &'static str,
    /// The step it takes, if it is part of the handshake or the teardown.
    pub(crate) step: Option<Step>,
    /// Both ends' states before the packet (client, server).
    pub(crate) before: (TcpState, TcpState),
    /// Both ends' states after the packet (client, server).
    pub(crate) states: (TcpState, TcpState),
    /// The state each end entered with this packet (client, server), if it changed.
    pub(crate) entered: [Option<TcpState>; 2],
    /// For each HTTP message of the packet, what it says about caching.
    pub(crate) caching: Vec<Caching>,
}

/// Walks a connection's packets in order and gives each its facts.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    previous: Option<(TcpState, TcpState)>,
    /// The first FIN: sent by the client?, and the relative sequence number it occupies.
    first_fin: Option<(bool, u32)>,
    /// A separate ACK of the first FIN was seen (so the second FIN is step 3 only).
    first_fin_acked: bool,
    /// Conditional requests seen, by frame: their validators.
    conditional: HashMap<u64, Option<&'static str>>,
    /// The last conditional request seen (for a 304 whose `request_in` is unknown).
    last_conditional: Option<u64>,
}

impl Facts {
    /// The facts of the next packet of the connection.
    pub(crate) fn next(&mut self, frame: u64, t: &TcpRecord, http: &[HttpRecord]) -> PacketFacts {
        let role = t.role.unwrap_or(Role::Data);
        let states = (
            t.client_state.unwrap_or(TcpState::Closed),
            t.server_state.unwrap_or(TcpState::Closed),
        );
        // The states before the first packet: those a connection starts in, or (picked
        // up mid-way) those of its first packet.
        let before = self.previous.unwrap_or(if role == Role::Midstream {
            states
        } else {
            (TcpState::Closed, TcpState::Listen)
        });
        self.previous = Some(states);
        let entered = [
            (before.0 != states.0).then_some(states.0),
            (before.1 != states.1).then_some(states.1),
        ];
        let (doing, step) = self.step(role, t);
        let caching = http.iter().map(|m| self.caching(frame, m)).collect();
        PacketFacts {
            doing,
            role: role.as_str(),
            step,
            before,
            states,
            entered,
            caching,
        }
    }

    fn step(&mut self, role: Role, t: &TcpRecord) -> (&'static str, Option<Step>) {
        let step = match role {
            Role::HandshakeSyn => Some(Step::Handshake(1)),
            Role::HandshakeSynAck => Some(Step::Handshake(2)),
            Role::HandshakeAck | Role::HandshakeAckData => Some(Step::Handshake(3)),
            Role::TeardownFin1 => {
                self.first_fin
                    .get_or_insert((t.from_client, t.relative_seq.wrapping_add(t.len)));
                Some(Step::Teardown(1))
            }
            Role::TeardownAck1 | Role::TeardownAck1Data => {
                self.first_fin_acked = true;
                Some(Step::Teardown(2))
            }
            Role::TeardownFin2 if !self.first_fin_acked && self.acks_first_fin(t) => {
                self.first_fin_acked = true;
                return ("teardown-finack", Some(Step::TeardownCombined));
            }
            Role::TeardownFin2 => Some(Step::Teardown(3)),
            Role::TeardownAck2 => Some(Step::Teardown(4)),
            _ => None,
        };
        (role.as_str(), step)
    }

    /// Whether `t`, from the peer of the first FIN's sender, acknowledges that FIN.
    fn acks_first_fin(&self, t: &TcpRecord) -> bool {
        let acks = TcpFlags::from_bits(t.flags).contains(TcpFlags::ACK);
        self.first_fin.is_some_and(|(client, fin)| {
            acks && client != t.from_client && t.relative_ack.wrapping_sub(fin) as i32 > 0
        })
    }

    fn caching(&mut self, frame: u64, m: &HttpRecord) -> Caching {
        let noted = |what: &str| m.note.split(';').any(|n| n == what);
        match m.kind {
            Kind::Request if noted("conditional") => {
                self.conditional.insert(frame, m.validators);
                self.last_conditional = Some(frame);
                Caching::Conditional(m.validators)
            }
            Kind::Response if noted("revalidated") => {
                let request = m.request_in.or(self.last_conditional);
                let validators = request.and_then(|r| self.conditional.get(&r).copied());
                Caching::Revalidated(request, validators.flatten())
            }
            Kind::Response if m.status == Some(304) => Caching::NotModified,
            _ => Caching::Plain,
        }
    }
}

/// The packet's `tcp.analysis.*` flags in words (`retransmission`, `第 2 次重复确认`).
pub(crate) fn analysis(words: &super::wording::Wording, t: &TcpRecord) -> Vec<String> {
    let names = t.analysis.names();
    names
        .split(';')
        .filter(|n| !n.is_empty())
        .map(|name| {
            let (name, n) = name.split_once(':').unwrap_or((name, ""));
            let key = format!("analysis.{name}");
            if words.has(&key) {
                words.say(&key, &[("n", n)])
            } else {
                name.to_string()
            }
        })
        .collect()
}

/// An HTTP message's one-line label: `GET /`, `200 OK` (the content type is added by the
/// caller, in the language's parentheses).
pub(crate) fn http_label(m: &HttpRecord) -> String {
    match m.kind {
        Kind::Request => format!(
            "{} {}",
            m.method.as_deref().unwrap_or("?"),
            m.uri.as_deref().unwrap_or("")
        ),
        Kind::Response => match (m.status, m.reason.as_deref()) {
            (Some(status), Some(reason)) if !reason.is_empty() => format!("{status} {reason}"),
            (Some(status), _) => status.to_string(),
            (None, _) => m.version.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment with the given role, direction, flags and relative numbers.
    fn segment(role: Role, from_client: bool, flags: TcpFlags, seq: u32, ack: u32) -> TcpRecord {
        TcpRecord {
            role: Some(role),
            from_client,
            flags: flags.bits(),
            relative_seq: seq,
            relative_ack: ack,
            ..TcpRecord::default()
        }
    }

    fn steps(segments: &[TcpRecord]) -> Vec<(&'static str, Option<Step>)> {
        let mut facts = Facts::default();
        segments
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let f = facts.next(i as u64 + 1, t, &[]);
                (f.doing, f.step)
            })
            .collect()
    }

    const FIN_ACK: TcpFlags = TcpFlags::from_bits(0x011);
    const ACK: TcpFlags = TcpFlags::ACK;

    #[test]
    fn a_fin_ack_that_acknowledges_the_first_fin_is_steps_2_and_3() {
        let got = steps(&[
            segment(Role::TeardownFin1, true, FIN_ACK, 176, 1766),
            segment(Role::TeardownFin2, false, FIN_ACK, 1766, 177),
            segment(Role::TeardownAck2, true, ACK, 177, 1767),
        ]);
        assert_eq!(
            got,
            [
                ("teardown-fin1", Some(Step::Teardown(1))),
                ("teardown-finack", Some(Step::TeardownCombined)),
                ("teardown-ack2", Some(Step::Teardown(4))),
            ]
        );
    }

    #[test]
    fn four_segments_are_four_steps() {
        let got = steps(&[
            segment(Role::TeardownFin1, false, FIN_ACK, 419, 79),
            segment(Role::TeardownAck1, true, ACK, 79, 420),
            segment(Role::TeardownFin2, true, FIN_ACK, 79, 420),
            segment(Role::TeardownAck2, false, ACK, 420, 80),
        ]);
        let numbers: Vec<Option<Step>> = got.iter().map(|(_, s)| *s).collect();
        assert_eq!(
            numbers,
            (1..=4).map(|n| Some(Step::Teardown(n))).collect::<Vec<_>>()
        );
    }

    /// A FIN that does not acknowledge the first FIN (it crossed it) is step 3 alone.
    #[test]
    fn a_crossing_fin_is_step_3() {
        let got = steps(&[
            segment(Role::TeardownFin1, true, FIN_ACK, 10, 20),
            segment(Role::TeardownFin2, false, FIN_ACK, 20, 10),
        ]);
        assert_eq!(got[1], ("teardown-fin2", Some(Step::Teardown(3))));
    }

    #[test]
    fn a_304_names_the_validators_of_its_conditional_request() {
        let message = |kind, status, note: &str, validators, request_in| HttpRecord {
            kind,
            method: None,
            uri: None,
            version: "HTTP/1.1".into(),
            status,
            reason: None,
            content_type: None,
            request_in,
            response_in: None,
            time_since_request: None,
            note: note.into(),
            validators,
        };
        let mut facts = Facts::default();
        let t = TcpRecord::default();
        let request = message(
            Kind::Request,
            None,
            "conditional;keep-alive",
            Some("If-None-Match"),
            None,
        );
        let f = facts.next(21, &t, &[request]);
        assert_eq!(f.caching, [Caching::Conditional(Some("If-None-Match"))]);
        let response = message(
            Kind::Response,
            Some(304),
            "revalidated;persistent",
            None,
            Some(21),
        );
        let f = facts.next(23, &t, &[response]);
        assert_eq!(
            f.caching,
            [Caching::Revalidated(Some(21), Some("If-None-Match"))]
        );
        let stray = message(Kind::Response, Some(304), "persistent", None, None);
        assert_eq!(facts.next(30, &t, &[stray]).caching, [Caching::NotModified]);
    }
}
