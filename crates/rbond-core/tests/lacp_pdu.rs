//! LACPDU / Marker PDU encoding and validation (IEEE 802.1AX-2020 6.4.2, 6.5.3, IEEE 802.1AX-2014 6.4.2, 6.5.3).

use proptest::prelude::*;
use rbond_core::lacp::pdu::{self, Lacpdu, PduError};
use rbond_core::lacp::state::PortParams;
use rbond_core::lacp::{Lacp, LacpConfig, LacpOutput, PortLink, RxOutcome};
use rbond_core::MacAddr;

fn mac(s: &str) -> MacAddr {
    MacAddr::parse(s).unwrap()
}

fn known_pdu() -> Lacpdu {
    Lacpdu {
        version: 1,
        actor: PortParams {
            system_priority: 65535,
            system: mac("52:54:00:aa:00:01"),
            key: 15,
            port_priority: 255,
            port_number: 1,
            port_state: 0x3f,
        },
        partner: PortParams {
            system_priority: 0x1234,
            system: mac("52:54:00:bb:00:01"),
            key: 0x0209,
            port_priority: 0x8000,
            port_number: 0x0102,
            port_state: 0x3d,
        },
        collector_max_delay: 0,
    }
}

/// The bytes of `known_pdu()`, written by hand from the IEEE 802.1AX-2020 6.4.2, 6.5.3 table.
fn known_bytes() -> Vec<u8> {
    let mut b = vec![0u8; 110];
    b[0] = 0x01; // subtype LACP
    b[1] = 0x01; // version
    b[2] = 0x01; // actor TLV
    b[3] = 0x14;
    b[4..6].copy_from_slice(&[0xff, 0xff]);
    b[6..12].copy_from_slice(&[0x52, 0x54, 0x00, 0xaa, 0x00, 0x01]);
    b[12..14].copy_from_slice(&[0x00, 0x0f]);
    b[14..16].copy_from_slice(&[0x00, 0xff]);
    b[16..18].copy_from_slice(&[0x00, 0x01]);
    b[18] = 0x3f;
    // 19..22 reserved
    b[22] = 0x02; // partner TLV
    b[23] = 0x14;
    b[24..26].copy_from_slice(&[0x12, 0x34]);
    b[26..32].copy_from_slice(&[0x52, 0x54, 0x00, 0xbb, 0x00, 0x01]);
    b[32..34].copy_from_slice(&[0x02, 0x09]);
    b[34..36].copy_from_slice(&[0x80, 0x00]);
    b[36..38].copy_from_slice(&[0x01, 0x02]);
    b[38] = 0x3d;
    // 39..42 reserved
    b[42] = 0x03; // collector TLV
    b[43] = 0x10;
    // 44..46 collector max delay 0, 46..58 reserved, 58/59 terminator 0/0, 60..110 reserved
    b
}

#[test]
fn encode_matches_reference_offsets_byte_for_byte() {
    let got = known_pdu().encode();
    let want = known_bytes();
    for (off, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert_eq!(g, w, "byte at PDU offset {off}");
    }
    assert_eq!(got.len(), 110);
    let f = pdu::frame(mac("52:54:00:aa:00:01"), &got);
    assert_eq!(f.len(), 124);
    assert_eq!(&f[0..6], &[0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
    assert_eq!(&f[6..12], &[0x52, 0x54, 0x00, 0xaa, 0x00, 0x01]);
    assert_eq!(&f[12..14], &[0x88, 0x09]);
    assert_eq!(&f[14..], &want[..]);
}

#[test]
fn decode_round_trip() {
    let p = known_pdu();
    assert_eq!(Lacpdu::decode(&p.encode()), Ok(p));
    // Padding after the 110 bytes is allowed.
    let mut long = p.encode().to_vec();
    long.extend_from_slice(&[0xee; 20]);
    assert_eq!(Lacpdu::decode(&long), Ok(p));
    // A version-2 PDU may carry other TLVs where v1 has its terminator.
    let mut v2 = p.encode();
    v2[1] = 2;
    v2[58] = 0x04;
    v2[59] = 0x06;
    assert_eq!(Lacpdu::decode(&v2).map(|d| d.actor), Ok(p.actor));
}

#[test]
fn decode_refuses_bad_pdus() {
    let good = known_pdu().encode();
    assert_eq!(Lacpdu::decode(&good[..109]), Err(PduError::TooShort(109)));
    let mut b = good;
    b[1] = 0;
    assert_eq!(Lacpdu::decode(&b), Err(PduError::Version(0)));
    for (off, val) in [(2usize, 9u8), (3, 0x13), (22, 1), (23, 0x15), (42, 0), (43, 0x0f), (58, 1), (59, 2)] {
        let mut b = good;
        b[off] = val;
        assert!(matches!(Lacpdu::decode(&b), Err(PduError::Tlv(..))), "offset {off}");
    }
}

/// A bond-up engine with one 10G port, id 7.
fn engine() -> Lacp {
    let mut l = Lacp::new(LacpConfig::default(), mac("02:00:00:00:00:01"));
    l.add_port(7, mac("02:00:00:00:01:07"), PortLink { up: true, speed_mbps: Some(10000), full_duplex: true }, 0);
    l.bond_up(0);
    while l.poll_output().is_some() {}
    l
}

fn with_header(pdu: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x02, 0x02, 0, 0, 0, 0, 0x99, 0x88, 0x09];
    f.extend_from_slice(pdu);
    f
}

#[test]
fn marker_information_is_echoed_with_only_byte_2_changed() {
    let mut l = engine();
    let mut m = vec![0u8; 110];
    m[0] = 0x02;
    m[1] = 0x01;
    m[2] = 0x01;
    m[3] = 0x10;
    m[4..6].copy_from_slice(&[0x00, 0x05]);
    m[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0x99]);
    m[12..16].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    // Junk in the reserved bytes is echoed as it came.
    for (i, b) in m.iter_mut().enumerate().skip(20) {
        *b = i as u8;
    }
    assert_eq!(l.rx(7, &with_header(&m), 10), RxOutcome::Consumed);
    let sent: Vec<_> = std::iter::from_fn(|| l.poll_output())
        .filter_map(|o| match o {
            LacpOutput::Send { port, frame } => Some((port, frame)),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    let (port, f) = &sent[0];
    assert_eq!(*port, 7);
    assert_eq!(f.len(), 124);
    assert_eq!(&f[0..6], &pdu::SLOW_PROTOCOLS_MAC.0);
    assert_eq!(&f[6..12], &mac("02:00:00:00:01:07").0, "source = the port's permanent MAC");
    assert_eq!(&f[12..14], &[0x88, 0x09]);
    for i in 0..110 {
        if i == 2 {
            assert_eq!(f[14 + i], 0x02);
        } else {
            assert_eq!(f[14 + i], m[i], "byte {i}");
        }
    }
    let c = l.counters(7).unwrap();
    assert_eq!((c.marker_rx, c.marker_resp_tx, c.illegal_rx), (1, 1, 0));

    // A Marker Response is counted and not answered; other TLV types count as unknown.
    let mut r = m.clone();
    r[2] = 0x02;
    assert_eq!(l.rx(7, &with_header(&r), 20), RxOutcome::Consumed);
    let mut u = m.clone();
    u[2] = 0x07;
    assert_eq!(l.rx(7, &with_header(&u), 30), RxOutcome::Consumed);
    // A Marker Information with a wrong length is a bad PDU.
    let mut bad = m.clone();
    bad[3] = 0x16;
    assert_eq!(l.rx(7, &with_header(&bad), 40), RxOutcome::Consumed);
    assert!(std::iter::from_fn(|| l.poll_output()).all(|o| !matches!(o, LacpOutput::Send { .. })));
    let c = l.counters(7).unwrap();
    assert_eq!((c.marker_resp_rx, c.marker_unknown_rx, c.illegal_rx, c.marker_resp_tx), (1, 1, 1, 1));
}

#[test]
fn bad_pdus_are_counted_and_never_drive_the_machines() {
    let mut l = engine();
    let good = known_pdu().encode();
    // Too short: counted illegal and passed on, like the kernel.
    assert_eq!(l.rx(7, &with_header(&good[..100]), 1), RxOutcome::NotLacp);
    // Version 0 and a broken TLV: consumed, counted, ignored.
    let mut v0 = good;
    v0[1] = 0;
    assert_eq!(l.rx(7, &with_header(&v0), 2), RxOutcome::Consumed);
    let mut tlv = good;
    tlv[23] = 0x10;
    assert_eq!(l.rx(7, &with_header(&tlv), 3), RxOutcome::Consumed);
    // Another Slow Protocols subtype (OAM = 3): unknown, passed on.
    let mut oam = good;
    oam[0] = 3;
    assert_eq!(l.rx(7, &with_header(&oam), 4), RxOutcome::NotLacp);
    // Wrong destination or EtherType: not ours, not counted.
    let mut f = with_header(&good);
    f[5] = 0x03;
    assert_eq!(l.rx(7, &f, 5), RxOutcome::NotLacp);
    let mut f = with_header(&good);
    f[13] = 0x00;
    assert_eq!(l.rx(7, &f, 6), RxOutcome::NotLacp);
    let c = l.counters(7).unwrap();
    assert_eq!((c.illegal_rx, c.unknown_rx, c.lacpdu_rx), (3, 1, 0));
    // Nothing was learnt from them.
    let st = l.port_status(7).unwrap();
    assert!(st.partner.system_mac.is_zero());
    // A good one is counted and learnt (once the receive machine has left PORT_DISABLED,
    // at the second tick).
    l.tick(300);
    assert_eq!(l.rx(7, &with_header(&good), 301), RxOutcome::Consumed);
    assert_eq!(l.counters(7).unwrap().lacpdu_rx, 1);
    assert_eq!(l.port_status(7).unwrap().partner.system_mac, mac("52:54:00:aa:00:01"));
}

#[test]
fn the_engine_sends_124_byte_lacpdus_from_the_permanent_mac() {
    let mut l = Lacp::new(LacpConfig { lacp_fast: true, ..LacpConfig::default() }, mac("02:00:00:00:00:01"));
    l.add_port(7, mac("02:00:00:00:01:07"), PortLink { up: true, speed_mbps: Some(10000), full_duplex: true }, 0);
    l.bond_up(0);
    let mut frames = vec![];
    for t in (100..=400).step_by(100) {
        l.tick(t);
        while let Some(o) = l.poll_output() {
            if let LacpOutput::Send { frame, .. } = o {
                frames.push(frame);
            }
        }
    }
    assert_eq!(frames.len(), 1, "the first LACPDU leaves at the third tick");
    let f = &frames[0];
    assert_eq!(f.len(), 124);
    assert_eq!(&f[6..12], &mac("02:00:00:00:01:07").0);
    let d = Lacpdu::decode(&f[14..]).unwrap();
    assert_eq!(d.actor.system, mac("02:00:00:00:00:01"));
    assert_eq!(d.actor.system_priority, 65535);
    assert_eq!(d.actor.key, 15);
    assert_eq!(d.actor.port_priority, 255);
    assert_eq!(d.actor.port_number, 1);
    // Active, fast, aggregatable, defaulted, expired (EXPIRED at tick 2).
    assert_eq!(d.actor.port_state, 0x01 | 0x02 | 0x04 | 0x40 | 0x80);
    // Partner defaults, Timeout set by EXPIRED.
    assert_eq!(d.partner, PortParams { port_state: 0x02, ..PortParams::PARTNER_ADMIN_DEFAULT });
    assert_eq!(l.counters(7).unwrap().lacpdu_tx, 1);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), subtype in 0u8..4, hdr in any::<bool>()) {
        let _ = Lacpdu::decode(&body);
        let _ = pdu::check_marker(&body);
        let _ = pdu::marker_response(&body);
        let mut l = engine();
        let frame = if hdr {
            let mut b = body.clone();
            if !b.is_empty() { b[0] = subtype; }
            with_header(&b)
        } else {
            body.clone()
        };
        let _ = l.rx(7, &frame, 1);
        l.tick(1000);
        let _ = l.port_status(7);
    }
}
