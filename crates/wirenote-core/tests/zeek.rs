//! Zeek's `conn_state` and `history` on synthetic connections, one test per rule that
//! the `../shared/zeek` pairs do not exercise (they have only SF, S1, OTH, RSTO and RSTR,
//! and no `^`, `t`, `g`, `w`, `q` or `i`). Each expected value is worked out from Zeek's
//! code (`TCPSessionAdapter.cc`, `TCP_Endpoint.cc`, `conn_state()` in
//! `base/protocols/conn/main.zeek`; see `wirenote_core::conn::zeek`), in the comment
//! beside it.

use wirenote_bench::{write_pcap, TcpFrame};
use wirenote_core::conn::lifecycle::Side;
use wirenote_core::record::ConnRecord;
use wirenote_core::{CaptureReader, Dissector};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Initial sequence numbers of the client and the server.
const C: u32 = 1000;
const S: u32 = 5000;

/// One segment: who sends it, flags, raw seq and ack, payload length, raw window.
#[derive(Debug, Clone, Copy)]
struct Seg {
    from_client: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    len: usize,
    window: u16,
}

/// A segment from the client.
fn c(flags: u8, seq: u32, ack: u32, len: usize) -> Seg {
    Seg {
        from_client: true,
        flags,
        seq,
        ack,
        len,
        window: 1000,
    }
}

/// A segment from the server.
fn s(flags: u8, seq: u32, ack: u32, len: usize) -> Seg {
    Seg {
        from_client: false,
        ..c(flags, seq, ack, len)
    }
}

impl Seg {
    fn window(self, window: u16) -> Seg {
        Seg { window, ..self }
    }
}

/// The connection records of a capture of `segs` between 10.0.0.1:`client_port` and
/// 10.0.0.2:`server_port`, one millisecond apart.
fn records(client_port: u16, server_port: u16, segs: &[Seg]) -> Vec<ConnRecord> {
    let payload = vec![b'x'; 2000];
    let frames: Vec<Vec<u8>> = segs
        .iter()
        .map(|seg| {
            let (client, server) = (([10, 0, 0, 1], client_port), ([10, 0, 0, 2], server_port));
            let (src, dst) = if seg.from_client {
                (client, server)
            } else {
                (server, client)
            };
            TcpFrame {
                ips: (src.0, dst.0),
                ports: (src.1, dst.1),
                seq: seg.seq,
                ack: seg.ack,
                flags: seg.flags,
                window: seg.window,
                payload: &payload[..seg.len],
                ..TcpFrame::default()
            }
            .build()
        })
        .collect();
    let mut pcap = Vec::new();
    write_pcap(
        &mut pcap,
        frames
            .iter()
            .enumerate()
            .map(|(i, f)| (1_000_000 + i as u64 * 1000, f.as_slice())),
    )
    .unwrap();
    let mut reader = CaptureReader::from_slice(&pcap).unwrap();
    let mut dissector = Dissector::new();
    let mut conns = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        dissector.dissect(&frame);
        conns.extend(dissector.take_finished());
    }
    conns.extend(dissector.finish());
    conns.sort_by_key(|c| c.stream);
    conns.iter().map(ConnRecord::from_conn).collect()
}

/// `(conn_state, history, zeek_orig)` of the one connection of `segs` (client port
/// 40000, server port 80).
fn zeek(segs: &[Seg]) -> (&'static str, String, Side) {
    zeek_on(40000, 80, segs)
}

fn zeek_on(client_port: u16, server_port: u16, segs: &[Seg]) -> (&'static str, String, Side) {
    let conns = records(client_port, server_port, segs);
    assert_eq!(conns.len(), 1, "one connection");
    let r = &conns[0];
    (r.conn_state.as_str(), r.history.clone(), r.zeek_orig)
}

/// The three handshake segments.
fn handshake() -> Vec<Seg> {
    vec![
        c(SYN, C, 0, 0),
        s(SYN | ACK, S, C + 1, 0),
        c(ACK, C + 1, S + 1, 0),
    ]
}

fn with(mut first: Vec<Seg>, rest: &[Seg]) -> Vec<Seg> {
    first.extend_from_slice(rest);
    first
}

#[test]
fn s0_a_syn_never_answered() {
    // Originator SYN_SENT, responder INACTIVE.
    assert_eq!(zeek(&[c(SYN, C, 0, 0)]), ("S0", "S".into(), Side::Client));
}

#[test]
fn rej_a_syn_answered_by_rst() {
    // The responder's RST while the originator is SYN_SENT.
    let segs = [c(SYN, C, 0, 0), s(RST | ACK, 0, C + 1, 0)];
    assert_eq!(zeek(&segs), ("REJ", "Sr".into(), Side::Client));
}

#[test]
fn s2_only_the_originator_closes() {
    let segs = with(
        handshake(),
        &[c(FIN | ACK, C + 1, S + 1, 0), s(ACK, S + 1, C + 2, 0)],
    );
    assert_eq!(zeek(&segs), ("S2", "ShAFa".into(), Side::Client));
}

#[test]
fn s3_only_the_responder_closes() {
    let segs = with(
        handshake(),
        &[s(FIN | ACK, S + 1, C + 1, 0), c(ACK, C + 1, S + 2, 0)],
    );
    assert_eq!(zeek(&segs), ("S3", "ShAf".into(), Side::Client));
}

#[test]
fn rstos0_a_syn_then_the_originators_rst() {
    // Originator RESET, responder INACTIVE, and the history matches `^?S[^HAFGIQ]*R`.
    let segs = [c(SYN, C, 0, 0), c(RST, C + 1, 0, 0)];
    assert_eq!(zeek(&segs), ("RSTOS0", "SR".into(), Side::Client));
}

#[test]
fn rstrh_a_syn_ack_then_the_responders_rst() {
    // The capture starts at the SYN-ACK from port 80, a likely server port: Zeek flips at
    // once (`^`), the SYN-ACK sender is the responder, ESTABLISHED, then RESET while the
    // originator is INACTIVE.
    let segs = [s(SYN | ACK, S, C + 1, 0), s(RST, S + 1, 0, 0)];
    assert_eq!(zeek(&segs), ("RSTRH", "^hr".into(), Side::Client));
}

#[test]
fn sh_a_syn_then_the_originators_fin() {
    let segs = [c(SYN, C, 0, 0), c(FIN, C + 1, 0, 0)];
    assert_eq!(zeek(&segs), ("SH", "SF".into(), Side::Client));
}

#[test]
fn shr_a_syn_ack_then_the_responders_fin() {
    let segs = [s(SYN | ACK, S, C + 1, 0), s(FIN | ACK, S + 1, C + 1, 0)];
    assert_eq!(zeek(&segs), ("SHR", "^hf".into(), Side::Client));
}

#[test]
fn oth_mid_stream_without_a_close() {
    // Both sides PARTIAL.
    let segs = [c(PSH | ACK, C + 1, S + 1, 10), s(ACK, S + 1, C + 11, 0)];
    assert_eq!(zeek(&segs), ("OTH", "Da".into(), Side::Client));
}

#[test]
fn sf_without_the_syn_when_both_sides_close() {
    // PARTIAL, then CLOSED on each side's FIN: both CLOSED is SF, SYN or not.
    let segs = [
        c(PSH | ACK, C + 1, S + 1, 10),
        s(PSH | ACK, S + 1, C + 11, 20),
        c(FIN | ACK, C + 11, S + 21, 0),
        s(FIN | ACK, S + 21, C + 12, 0),
        c(ACK, C + 12, S + 22, 0),
    ];
    assert_eq!(zeek(&segs), ("SF", "DdFfA".into(), Side::Client));
}

#[test]
fn a_rst_after_both_fins_stays_sf() {
    // The originator is CLOSED and so is its peer: its RST changes nothing
    // (`UpdateClosedState`). The RST is still a letter.
    let segs = with(
        handshake(),
        &[
            c(FIN | ACK, C + 1, S + 1, 0),
            s(FIN | ACK, S + 1, C + 2, 0),
            c(RST, C + 2, 0, 0),
        ],
    );
    assert_eq!(zeek(&segs), ("SF", "ShAFfR".into(), Side::Client));
}

#[test]
fn a_fin_then_rst_then_the_peers_fin_is_sf() {
    // The originator's RST after its own FIN makes it RESET while the responder is still
    // open; the responder's FIN then turns it back to CLOSED (`UpdateEstablishedState`).
    let segs = with(
        handshake(),
        &[
            c(FIN | ACK, C + 1, S + 1, 0),
            c(RST, C + 2, 0, 0),
            s(FIN | ACK, S + 1, C + 2, 0),
        ],
    );
    assert_eq!(zeek(&segs), ("SF", "ShAFRf".into(), Side::Client));
}

#[test]
fn flip_when_the_capture_starts_at_a_syn_ack_from_a_server_port() {
    // Port 80 is a likely server port: flipped at creation, `^` first.
    let segs = [
        s(SYN | ACK, S, C + 1, 0),
        c(ACK, C + 1, S + 1, 0),
        c(PSH | ACK, C + 1, S + 1, 10),
        s(PSH | ACK, S + 1, C + 11, 20),
        c(FIN | ACK, C + 11, S + 21, 0),
        s(FIN | ACK, S + 21, C + 12, 0),
        c(ACK, C + 12, S + 22, 0),
    ];
    assert_eq!(zeek(&segs), ("SF", "^hADdFf".into(), Side::Client));
}

#[test]
fn flip_on_the_first_ack_after_a_syn_ack_between_unknown_ports() {
    // Neither 5555 nor 40000 is a likely server port: the SYN-ACK's sender stays the
    // originator (`H`) until the other side's pure ACK, which flips the connection and
    // rewrites the history to `^h` (`TCP_Endpoint::CheckHistory`).
    let segs = [
        s(SYN | ACK, S, C + 1, 0),
        c(ACK, C + 1, S + 1, 0),
        c(PSH | ACK, C + 1, S + 1, 10),
    ];
    let (_, history, orig) = zeek_on(40000, 5555, &segs);
    assert_eq!((history.as_str(), orig), ("^hAD", Side::Client));
}

#[test]
fn flip_when_the_syn_ack_came_before_its_syn() {
    // Between unknown ports the SYN-ACK's sender is the originator (`H`); the SYN it
    // answers, from the responder, is a reversal: Zeek flips (`^` after the `s`) and
    // establishes both sides (`UpdateInactiveState`). Letters keep the case they had.
    let segs = [
        s(SYN | ACK, S, C + 1, 0),
        c(SYN, C, 0, 0),
        c(ACK, C + 1, S + 1, 0),
        c(PSH | ACK, C + 1, S + 1, 10),
    ];
    assert_eq!(
        zeek_on(40000, 5555, &segs),
        ("S1", "Hs^AD".into(), Side::Client)
    );
}

#[test]
fn flip_mid_stream_from_a_server_port() {
    // The first packet comes from port 80 to a port that is not a likely server port.
    let segs = [s(PSH | ACK, S + 1, C + 1, 20), c(ACK, C + 1, S + 21, 0)];
    assert_eq!(zeek(&segs), ("OTH", "^dA".into(), Side::Client));
}

#[test]
fn no_flip_mid_stream_between_unknown_ports() {
    // Zeek keeps the first packet's sender as the originator; wirenote's client is the
    // side with the higher port, so here Zeek's originator is wirenote's server.
    let segs = [c(PSH | ACK, C + 1, S + 1, 10), s(ACK, S + 1, C + 11, 0)];
    let (_, history, orig) = zeek_on(40000, 50000, &segs);
    assert_eq!((history.as_str(), orig), ("Da", Side::Server));
}

#[test]
fn t_for_payload_retransmissions_only() {
    // The SYN, the SYN-ACK and the FIN sent twice with the same sequence number add no
    // letter (`s h f` repeat only at a new number) and are not `t` (no payload); the data
    // segment sent twice is `T`.
    let segs = [
        c(SYN, C, 0, 0),
        c(SYN, C, 0, 0),
        s(SYN | ACK, S, C + 1, 0),
        s(SYN | ACK, S, C + 1, 0),
        c(ACK, C + 1, S + 1, 0),
        c(PSH | ACK, C + 1, S + 1, 10),
        c(PSH | ACK, C + 1, S + 1, 10),
        s(ACK, S + 1, C + 11, 0),
        c(FIN | ACK, C + 11, S + 1, 0),
        c(FIN | ACK, C + 11, S + 1, 0),
        s(FIN | ACK, S + 1, C + 12, 0),
        c(ACK, C + 12, S + 2, 0),
    ];
    assert_eq!(zeek(&segs), ("SF", "ShADTaFf".into(), Side::Client));
}

#[test]
fn a_syn_at_a_new_sequence_number_is_a_new_connection() {
    // Zeek would write `S` again for a SYN with a new number on an open connection; the
    // same SYN on these ports is port reuse for Wireshark, hence a second `tcp.stream`.
    let conns = records(40000, 80, &[c(SYN, C, 0, 0), c(SYN, C + 7, 0, 0)]);
    let histories: Vec<&str> = conns.iter().map(|r| r.history.as_str()).collect();
    assert_eq!(histories, ["S", "S"]);
}

#[test]
fn g_for_data_acknowledged_but_never_seen() {
    // Bytes 11..20 of the client never appear; the server's ACK of 30 reveals the gap
    // while both sides are ESTABLISHED.
    let segs = with(
        handshake(),
        &[
            c(PSH | ACK, C + 1, S + 1, 10),
            s(ACK, S + 1, C + 11, 0),
            c(PSH | ACK, C + 21, S + 1, 10),
            s(ACK, S + 1, C + 31, 0),
        ],
    );
    assert_eq!(zeek(&segs), ("S1", "ShADaG".into(), Side::Client));
}

#[test]
fn no_g_for_a_hole_filled_before_the_ack() {
    // Out of order, then the missing bytes: nothing was lost, and the late segment is
    // below the highest sequence number, so Zeek calls it a retransmission (`T`).
    let segs = with(
        handshake(),
        &[
            c(PSH | ACK, C + 11, S + 1, 10),
            c(PSH | ACK, C + 1, S + 1, 10),
            s(ACK, S + 1, C + 21, 0),
        ],
    );
    assert_eq!(zeek(&segs), ("S1", "ShADTa".into(), Side::Client));
}

#[test]
fn w_for_a_zero_window() {
    // The flag letters come before the window's (`update_history`, then `update_window`).
    let segs = with(handshake(), &[s(ACK, S + 1, C + 1, 0).window(0)]);
    assert_eq!(zeek(&segs), ("S1", "ShAaw".into(), Side::Client));
}

#[test]
fn scaled_letters_repeat_at_the_10th_and_100th_event() {
    // `ScaledHistoryEntry`: the letter at the 1st, 10th, 100th… event of one side.
    let zero_windows = |n: usize| {
        let mut segs = handshake();
        segs.extend((0..n).map(|_| s(ACK, S + 1, C + 1, 0).window(0)));
        zeek(&segs).1
    };
    assert_eq!(zero_windows(9), "ShAaw");
    assert_eq!(zero_windows(10), "ShAaww");
    assert_eq!(zero_windows(99), "ShAaww");
    assert_eq!(zero_windows(100), "ShAawww");
    let retransmissions = |n: usize| {
        let mut segs = with(handshake(), &[c(PSH | ACK, C + 1, S + 1, 10)]);
        segs.extend((0..n).map(|_| c(PSH | ACK, C + 1, S + 1, 10)));
        zeek(&segs).1
    };
    assert_eq!(retransmissions(9), "ShADT");
    assert_eq!(retransmissions(10), "ShADTT");
}

#[test]
fn q_for_syn_fin_and_i_for_fin_rst() {
    // More than one of SYN, FIN, RST: `Q`, or `I` for FIN with RST; each once a side.
    let segs = [c(SYN | FIN, C, 0, 0), c(SYN | FIN, C, 0, 0)];
    assert_eq!(zeek(&segs).1, "Q");
    let segs = with(handshake(), &[c(FIN | RST | ACK, C + 1, S + 1, 0)]);
    assert_eq!(zeek(&segs).1, "ShAI");
}

#[test]
fn the_handshake_then_data_is_s1() {
    let segs = with(handshake(), &[c(PSH | ACK, C + 1, S + 1, 10)]);
    assert_eq!(zeek(&segs), ("S1", "ShAD".into(), Side::Client));
}
