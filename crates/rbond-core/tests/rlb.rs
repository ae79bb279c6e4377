//! Receive load balancing of balance-alb (bond_alb.c: rlb_*), worked by hand.
//!
//! Conventions: slave ids are 10, 20, 30 (not 0, 1, 2, so an id is never mistaken for a list
//! position); slave `n` has MAC 02:00:00:00:00:n; slave 10 is the active slave and holds the
//! bond MAC 02:00:00:00:00:0a. The server (the bond's IP) is 198.18.0.1; client `k` is
//! 198.18.0.(10 + k) with MAC 02:00:00:00:01:0k.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use rbond_core::frame::parse_arp;
use rbond_core::rlb::*;
use rbond_core::types::{MacAddr, SlaveId};

const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const BOND: MacAddr = MacAddr([2, 0, 0, 0, 0, 10]);

fn smac(id: SlaveId) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, id.0 as u8])
}

fn slave(id: SlaveId, speed_mbps: u32, usable: bool) -> AlbSlave {
    AlbSlave { id, mac: smac(id), speed_mbps, usable }
}

/// Slaves 10, 20, 30 (as many as `n`), 1 Gb/s, all usable.
fn gig(n: usize) -> Vec<AlbSlave> {
    [10, 20, 30][..n].iter().map(|&id| slave(SlaveId(id), 1000, true)).collect()
}

fn cip(k: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 10 + k)
}

fn cmac(k: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 1, k])
}

/// An Ethernet/ARP frame laid out by hand (42 bytes, or 46 with a tag), independent of the
/// crate's builders.
#[allow(clippy::too_many_arguments)]
fn arp_frame(
    eth_dst: MacAddr,
    eth_src: MacAddr,
    op: u16,
    sha: MacAddr,
    spa: Ipv4Addr,
    tha: MacAddr,
    tpa: Ipv4Addr,
    tci: Option<u16>,
) -> Vec<u8> {
    let mut f = eth_dst.0.to_vec();
    f.extend_from_slice(&eth_src.0);
    if let Some(t) = tci {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&t.to_be_bytes());
    }
    f.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha.0);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&tha.0);
    f.extend_from_slice(&tpa.octets());
    f
}

/// The bond answers client `k`'s request.
fn bond_reply(k: u8) -> Vec<u8> {
    arp_frame(cmac(k), BOND, 2, BOND, SERVER, cmac(k), cip(k), None)
}

/// The bond asks for client `k` (Linux sends a zero target hardware address).
fn bond_request(k: u8) -> Vec<u8> {
    arp_frame(MacAddr::BROADCAST, BOND, 1, BOND, SERVER, MacAddr::ZERO, cip(k), None)
}

/// Client `k` answers the bond.
fn client_reply(k: u8, mac: MacAddr) -> Vec<u8> {
    arp_frame(BOND, mac, 2, mac, cip(k), BOND, SERVER, None)
}

fn drain(r: &mut Rlb) -> Vec<RlbOutput> {
    std::iter::from_fn(|| r.poll_output()).collect()
}

fn sends(out: &[RlbOutput]) -> Vec<(SlaveId, Vec<u8>)> {
    out.iter()
        .filter_map(|o| match o {
            RlbOutput::Send { slave, frame } => Some((*slave, frame.clone())),
            _ => None,
        })
        .collect()
}

/// (slave, client IP) of every update frame, checking each is a well-formed update.
fn updates(out: &[RlbOutput], slaves: &[AlbSlave]) -> Vec<(SlaveId, Ipv4Addr)> {
    sends(out)
        .iter()
        .map(|(s, f)| {
            let a = parse_arp(f).expect("update is ARP");
            let m = slaves.iter().find(|x| x.id == *s).unwrap().mac;
            assert_eq!(a.op, 2);
            assert_eq!(a.sha, m, "sender MAC = the sending slave's MAC");
            assert_eq!(&f[6..12], &m.0, "Ethernet source = the sending slave's MAC");
            assert_eq!(&f[0..6], &a.tha.0, "Ethernet destination = the client MAC");
            assert_eq!(a.spa, SERVER);
            (*s, a.tpa)
        })
        .collect()
}

/// Sends replies to clients 1..=n at t=0 and flushes their first updates with one tick.
fn with_clients(n: u8, slaves: &[AlbSlave]) -> Rlb {
    let mut r = Rlb::new();
    for k in 1..=n {
        let mut f = bond_reply(k);
        assert!(r.tx_arp(&mut f, slaves, Some(SlaveId(10)), BOND, 0).is_some());
    }
    r.tick(100, slaves);
    drain(&mut r);
    r
}

fn slave_of(r: &Rlb, k: u8) -> Option<SlaveId> {
    r.clients().iter().find(|c| c.client_ip == cip(k)).and_then(|c| c.slave)
}

// ----- the table --------------------------------------------------------------------------

/// 198.18.0.11: 0xc6 ^ 0x12 ^ 0x00 ^ 0x0b = 0xd4 ^ 0x0b = 0xdf = 223.
#[test]
fn client_lands_in_the_simple_hash_slot_of_its_ip() {
    let s = gig(2);
    let mut r = Rlb::new();
    let mut f = bond_reply(1);
    assert_eq!(r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 0), Some(SlaveId(10)));
    let e = r.entry(223);
    assert!(e.assigned);
    assert_eq!((e.server_ip, e.client_ip), (SERVER, cip(1)));
    assert_eq!((e.server_mac, e.client_mac), (BOND, cmac(1)));
    assert_eq!(e.slave, Some(SlaveId(10)));
    assert!(e.ntt, "a new client with a known MAC is marked");
    assert_eq!(e.vlan_tci, 0);
    assert_eq!(r.used_order(), &[223]);
    assert_eq!((0..=255u8).filter(|&i| r.entry(i).assigned).count(), 1);
}

#[test]
fn reply_rewrites_sender_mac_and_source_to_the_chosen_slave() {
    let s = gig(3);
    let mut r = Rlb::new();
    // First client: the round robin starts at the fastest usable slave, 10 (the active one,
    // which holds the bond MAC): nothing to rewrite.
    let mut f1 = bond_reply(1);
    let orig1 = f1.clone();
    assert_eq!(r.tx_arp(&mut f1, &s, Some(SlaveId(10)), BOND, 0), Some(SlaveId(10)));
    assert_eq!(f1, orig1);

    // Second client: next slave, 20. ARP sender MAC (bytes 22..28) and Ethernet source
    // (6..12) become 02:00:00:00:00:14; nothing else changes.
    let mut f2 = bond_reply(2);
    let orig2 = f2.clone();
    assert_eq!(r.tx_arp(&mut f2, &s, Some(SlaveId(10)), BOND, 0), Some(SlaveId(20)));
    assert_eq!(&f2[22..28], &[2, 0, 0, 0, 0, 20]);
    assert_eq!(&f2[6..12], &[2, 0, 0, 0, 0, 20]);
    let mut expect = orig2.clone();
    expect[22..28].copy_from_slice(&[2, 0, 0, 0, 0, 20]);
    expect[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 20]);
    assert_eq!(f2, expect);
    // The table keeps the server MAC from before the rewrite.
    assert_eq!(r.entry(0xd4 ^ 12).server_mac, BOND);

    // 30, then around to 10 again.
    let mut f3 = bond_reply(3);
    assert_eq!(r.tx_arp(&mut f3, &s, Some(SlaveId(10)), BOND, 0), Some(SlaveId(30)));
    let mut f4 = bond_reply(4);
    assert_eq!(r.tx_arp(&mut f4, &s, Some(SlaveId(10)), BOND, 0), Some(SlaveId(10)));
    assert_eq!(r.last_chosen(), Some(SlaveId(10)));
}

#[test]
fn same_pair_keeps_its_slave_and_does_not_advance_the_round_robin() {
    let s = gig(3);
    let mut r = Rlb::new();
    for (k, want) in [(1, 10), (2, 20), (2, 20), (2, 20), (1, 10), (3, 30)] {
        let mut f = bond_reply(k);
        assert_eq!(r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 0), Some(SlaveId(want)), "client {k}");
    }
    // A repeated reply does not re-mark the client: only the first assignment marked it.
    r.tick(100, &s);
    assert_eq!(updates(&drain(&mut r), &s).len(), 6, "3 clients × 2 replies, once each");
    let mut f = bond_reply(2);
    r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 200);
    r.tick(5000, &s);
    assert!(drain(&mut r).is_empty());
}

#[test]
fn the_same_client_ip_of_another_server_ip_is_a_collision() {
    // Two addresses on the bond talk to the same client: the entry (keyed by client IP) holds
    // one pair at a time.
    let s = gig(3);
    let mut r = with_clients(2, &s); // client 2 on slave 20
    let server2 = Ipv4Addr::new(198, 18, 0, 2);
    let mut f = arp_frame(cmac(2), BOND, 2, BOND, server2, cmac(2), cip(2), None);
    assert_eq!(r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 200), Some(SlaveId(30)));
    let out = drain(&mut r);
    // The old pair was moved to the active slave and told so at once.
    assert_eq!(updates(&out, &s), vec![(SlaveId(10), cip(2)), (SlaveId(10), cip(2))]);
    let e = r.entry(0xd4 ^ 12);
    assert_eq!((e.server_ip, e.slave), (server2, Some(SlaveId(30))));
}

// ----- round robin among the fastest ------------------------------------------------------

#[test]
fn round_robin_among_the_fastest_with_mixed_speeds() {
    // List: 10@100, 20@1000, 30@1000, 40@100, 50@1000.
    //  - nothing chosen yet: the fastest usable, first in list order → 20;
    //  - after 20: before = fastest of [10, 20] = 20; after = fastest of [30, 40, 50] = 30
    //    (50 is not strictly faster); 30 is not slower than 20 → 30;
    //  - after 30: before = 20, after = fastest of [40, 50] = 50 → 50;
    //  - after 50: nothing after → before = 20.
    // The 100 Mb/s slaves never get a client.
    let s: Vec<AlbSlave> = [(10, 100), (20, 1000), (30, 1000), (40, 100), (50, 1000)]
        .iter()
        .map(|&(id, sp)| slave(SlaveId(id), sp, true))
        .collect();
    let mut r = Rlb::new();
    let mut got = vec![];
    for k in 1..=7 {
        let mut f = bond_reply(k);
        got.push(r.tx_arp(&mut f, &s, Some(SlaveId(20)), BOND, 0).unwrap());
    }
    assert_eq!(got, vec![SlaveId(20), SlaveId(30), SlaveId(50), SlaveId(20), SlaveId(30), SlaveId(50), SlaveId(20)]);
}

#[test]
fn a_strictly_faster_slave_before_the_last_one_wins() {
    // 10@10000, 20@1000: after 10, the only later slave (20) is slower than 10 → 10 again.
    let s = vec![slave(SlaveId(10), 10_000, true), slave(SlaveId(20), 1000, true)];
    let mut r = Rlb::new();
    for k in 1..=3 {
        let mut f = bond_reply(k);
        assert_eq!(r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 0), Some(SlaveId(10)));
    }
    // Unusable slaves do not count, however fast: 10 down → 20.
    let s2 = vec![slave(SlaveId(10), 10_000, false), slave(SlaveId(20), 1000, true)];
    let mut f = bond_reply(4);
    assert_eq!(r.tx_arp(&mut f, &s2, Some(SlaveId(20)), BOND, 0), Some(SlaveId(20)));
}

#[test]
fn speed_ties_after_a_slower_last_choice() {
    // 10@1000, 20@100, 30@1000. Start: 10. After 10: before = 10 (1000), after = fastest of
    // [20, 30] = 30 → 30. After 30: before = fastest of [10, 20, 30] = 10, after = none → 10.
    let s = vec![slave(SlaveId(10), 1000, true), slave(SlaveId(20), 100, true), slave(SlaveId(30), 1000, true)];
    let mut r = Rlb::new();
    let got: Vec<_> = (1..=4)
        .map(|k| {
            let mut f = bond_reply(k);
            r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 0).unwrap()
        })
        .collect();
    assert_eq!(got, vec![SlaveId(10), SlaveId(30), SlaveId(10), SlaveId(30)]);
}

#[test]
fn four_clients_spread_over_two_and_three_slaves() {
    for n in [2usize, 3] {
        let s = gig(n);
        let r = with_clients(4, &s);
        let per: Vec<usize> = s.iter().map(|x| r.assigned_count(x.id)).collect();
        assert_eq!(per.iter().sum::<usize>(), 4);
        assert!(per.iter().filter(|&&c| c > 0).count() >= 2, "{n} slaves: {per:?}");
        // Round robin exactly: 2 slaves → 2+2; 3 slaves → 10, 20, 30, 10.
        let want = if n == 2 { vec![2, 2] } else { vec![2, 1, 1] };
        assert_eq!(per, want);
    }
}

// ----- client updates --------------------------------------------------------------------

#[test]
fn client_update_frame_bytes() {
    // Slave 20 tells client 2 (198.18.0.12, 02:00:00:00:01:02) that 198.18.0.1 is at
    // 02:00:00:00:00:14.
    let f = client_update_frame(smac(SlaveId(20)), SERVER, cmac(2), cip(2), None);
    #[rustfmt::skip]
    let want: Vec<u8> = vec![
        2, 0, 0, 0, 1, 2,           // destination: the client
        2, 0, 0, 0, 0, 20,          // source: the slave
        0x08, 0x06,                 // ARP
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02, // Ethernet/IPv4, reply
        2, 0, 0, 0, 0, 20, 198, 18, 0, 1,          // sender: slave MAC, server IP
        2, 0, 0, 0, 1, 2, 198, 18, 0, 12,          // target: client MAC, client IP
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding to 60
    ];
    assert_eq!(f, want);

    // Tagged: 81 00 + TCI after the source, ARP header at 18, still padded to 60.
    let t = client_update_frame(smac(SlaveId(20)), SERVER, cmac(2), cip(2), Some(0x2064));
    assert_eq!(t.len(), 60);
    assert_eq!(&t[12..18], &[0x81, 0x00, 0x20, 0x64, 0x08, 0x06]);
    assert_eq!(&t[18..46], &want[14..42]);
    assert!(t[46..].iter().all(|&b| b == 0));
}

#[test]
fn first_tick_updates_new_clients_twice_each_then_stays_quiet() {
    let s = gig(2);
    let mut r = Rlb::new();
    for k in 1..=2 {
        let mut f = bond_reply(k);
        r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 0);
    }
    assert!(r.update_pending());
    r.tick(100, &s);
    // Most recently assigned first (the kernel's used list), 2 replies each.
    assert_eq!(
        updates(&drain(&mut r), &s),
        vec![(SlaveId(20), cip(2)), (SlaveId(20), cip(2)), (SlaveId(10), cip(1)), (SlaveId(10), cip(1))]
    );
    assert!(!r.update_pending());
    for t in (200..=10_000).step_by(100) {
        r.tick(t, &s);
    }
    assert!(drain(&mut r).is_empty());
}

#[test]
fn vlan_tag_is_recorded_and_put_on_updates() {
    let s = gig(2);
    let mut r = with_clients(1, &s); // client 1 on 10; next is 20
    let mut f = arp_frame(cmac(2), BOND, 2, BOND, SERVER, cmac(2), cip(2), Some(0x0064));
    assert_eq!(r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 200), Some(SlaveId(20)));
    // The ARP sender MAC sits 4 bytes later in a tagged frame: 26..32.
    assert_eq!(&f[26..32], &smac(SlaveId(20)).0);
    assert_eq!(&f[6..12], &smac(SlaveId(20)).0);
    assert_eq!(r.entry(0xd4 ^ 12).vlan_tci, 0x64);
    r.tick(2300, &s); // after the 2 s that followed the pass at 100
    let out = sends(&drain(&mut r));
    assert_eq!(out.len(), 2);
    for (slave, fr) in out {
        assert_eq!(slave, SlaveId(20));
        assert_eq!(&fr[12..16], &[0x81, 0x00, 0x00, 0x64]);
        assert_eq!(parse_arp(&fr).unwrap().tpa, cip(2));
    }
    let c = r.clients();
    assert_eq!(c.iter().find(|c| c.client_ip == cip(2)).unwrap().vlan_tci, Some(0x64));
}

// ----- requests ------------------------------------------------------------------------------

#[test]
fn request_makes_a_placeholder_delays_updates_and_marks_the_subnet() {
    let s = gig(3);
    let mut r = Rlb::new();
    // t=0: replies to clients 1 (→10) and 2 (→20); the tick at 100 updates both, and no pass
    // may follow before the first tick after 2100.
    for k in 1..=2 {
        let mut f = bond_reply(k);
        r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 0);
    }
    r.tick(100, &s);
    drain(&mut r);

    // t=500: the bond asks for client 3. The request goes out on the next slave (30): the
    // Ethernet source becomes 30's MAC, the ARP sender MAC stays the bond's.
    let mut req = bond_request(3);
    let orig = req.clone();
    assert_eq!(r.tx_arp(&mut req, &s, Some(SlaveId(10)), BOND, 500), Some(SlaveId(30)));
    assert_eq!(&req[6..12], &smac(SlaveId(30)).0);
    assert_eq!(&req[22..28], &BOND.0);
    assert_eq!(&req[..6], &orig[..6]);
    assert_eq!(&req[12..22], &orig[12..22]);
    assert_eq!(&req[28..], &orig[28..]);

    // Placeholder: client MAC unknown (the request's zero target), not marked.
    let e = *r.entry(0xd4 ^ 13);
    assert!(e.assigned && !e.ntt);
    assert_eq!((e.client_mac, e.slave), (MacAddr::ZERO, Some(SlaveId(30))));
    assert_eq!(r.clients().iter().find(|c| c.client_ip == cip(3)).unwrap().client_mac, None);
    // Client 2 (on 20, whose MAC is not the bond's) is marked; client 1 (on 10 = bond MAC) not.
    assert!(r.entry(0xd4 ^ 12).ntt);
    assert!(!r.entry(0xd4 ^ 11).ntt);

    // t=600: client 3 answers: its MAC is recorded and it is marked.
    r.rx_arp(&client_reply(3, cmac(3)));
    assert_eq!(r.entry(0xd4 ^ 13).client_mac, cmac(3));
    assert!(r.entry(0xd4 ^ 13).ntt);

    // The request set the delay to 500 + 2000: nothing until the first tick after 2500.
    for t in (200..=2500).step_by(100) {
        r.tick(t, &s);
        assert!(drain(&mut r).is_empty(), "nothing at {t}");
    }
    r.tick(2600, &s);
    assert_eq!(
        updates(&drain(&mut r), &s),
        vec![(SlaveId(30), cip(3)), (SlaveId(30), cip(3)), (SlaveId(20), cip(2)), (SlaveId(20), cip(2))],
        "client 3 and client 2, not client 1"
    );
}

#[test]
fn request_with_broadcast_target_is_a_placeholder_too() {
    let s = gig(2);
    let mut r = Rlb::new();
    let mut req = arp_frame(MacAddr::BROADCAST, BOND, 1, BOND, SERVER, MacAddr::BROADCAST, cip(1), None);
    assert_eq!(r.tx_arp(&mut req, &s, Some(SlaveId(10)), BOND, 0), Some(SlaveId(10)));
    let e = r.entry(0xd4 ^ 11);
    assert_eq!(e.client_mac, MacAddr::BROADCAST);
    assert!(!e.ntt);
    // A later request for the same pair does not overwrite a known MAC with broadcast.
    r.rx_arp(&client_reply(1, cmac(1)));
    let mut req2 = arp_frame(MacAddr::BROADCAST, BOND, 1, BOND, SERVER, MacAddr::BROADCAST, cip(1), None);
    assert_eq!(r.tx_arp(&mut req2, &s, Some(SlaveId(10)), BOND, 50), Some(SlaveId(10)));
    assert_eq!(r.entry(0xd4 ^ 11).client_mac, cmac(1));
}

#[test]
fn a_zero_target_request_for_a_known_client_forgets_its_mac_until_it_answers() {
    // rlb_choose_channel copies the request's target hardware address unless it is broadcast;
    // Linux's broadcast re-resolution carries zeros, so the entry loses the MAC (and cannot be
    // updated) until the client's reply brings it back, marked.
    let s = gig(2);
    let mut r = with_clients(2, &s); // client 2 on 20
    let mut req = bond_request(2);
    assert_eq!(r.tx_arp(&mut req, &s, Some(SlaveId(10)), BOND, 500), Some(SlaveId(20)), "same pair, same slave");
    assert_eq!(r.entry(0xd4 ^ 12).client_mac, MacAddr::ZERO);
    assert!(!r.entry(0xd4 ^ 12).ntt, "an unknown MAC is not marked by the subnet rule");
    r.rx_arp(&client_reply(2, cmac(2)));
    assert_eq!(r.entry(0xd4 ^ 12).client_mac, cmac(2));
    assert!(r.entry(0xd4 ^ 12).ntt);
    // Updated at the first tick after 500 + 2000.
    r.tick(2500, &s);
    assert!(drain(&mut r).is_empty());
    r.tick(2600, &s);
    assert_eq!(updates(&drain(&mut r), &s), vec![(SlaveId(20), cip(2)), (SlaveId(20), cip(2))]);
}

#[test]
fn arp_not_from_the_bond_is_left_alone() {
    let s = gig(2);
    let mut r = Rlb::new();
    let stranger = MacAddr([2, 0, 0, 0, 9, 9]);
    let mut f = arp_frame(cmac(1), stranger, 2, stranger, SERVER, cmac(1), cip(1), None);
    let orig = f.clone();
    assert_eq!(r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 0), None);
    assert_eq!(f, orig);
    assert!(r.clients().is_empty());
    // Other opcodes (RARP-style 3) and non-ARP frames: not RLB's.
    let mut g = arp_frame(cmac(1), BOND, 3, BOND, SERVER, cmac(1), cip(1), None);
    assert_eq!(r.tx_arp(&mut g, &s, Some(SlaveId(10)), BOND, 0), None);
    let mut ip = bond_reply(1);
    ip[12..14].copy_from_slice(&[0x08, 0x00]);
    assert_eq!(r.tx_arp(&mut ip, &s, Some(SlaveId(10)), BOND, 0), None);
    assert!(r.clients().is_empty());
    // A slave's own MAC as sender counts as the bond's.
    let mut h = arp_frame(cmac(1), smac(SlaveId(20)), 2, smac(SlaveId(20)), SERVER, cmac(1), cip(1), None);
    assert_eq!(r.tx_arp(&mut h, &s, Some(SlaveId(10)), BOND, 0), Some(SlaveId(10)));
}

// ----- incoming ARP ----------------------------------------------------------------------------

#[test]
fn incoming_arp_for_the_server_ip_from_another_mac_purges_its_clients() {
    let s = gig(2);
    let mut r = with_clients(3, &s);
    // Our own broadcast reflected by the switch: same IP, same MAC → nothing happens.
    r.rx_arp(&arp_frame(MacAddr::BROADCAST, BOND, 1, BOND, SERVER, MacAddr::ZERO, cip(4), None));
    assert_eq!(r.clients().len(), 3);
    // Clients of another server IP stay when 198.18.0.1 moves to another host.
    let server2 = Ipv4Addr::new(198, 18, 0, 2);
    let mut f = arp_frame(cmac(5), BOND, 2, BOND, server2, cmac(5), cip(5), None);
    r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 200);
    let other = MacAddr([2, 0, 0, 0, 7, 7]);
    r.rx_arp(&arp_frame(MacAddr::BROADCAST, other, 1, other, SERVER, MacAddr::ZERO, cip(1), None));
    let left = r.clients();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].client_ip, left[0].server_ip), (cip(5), server2));
    assert_eq!(r.used_order(), &[0xd4 ^ 15]);
    assert!(!r.entry(0xd4 ^ 11).assigned);
}

#[test]
fn a_reply_with_a_new_client_mac_is_recorded_and_marked() {
    let s = gig(2);
    let mut r = with_clients(2, &s);
    let new_mac = MacAddr([2, 0, 0, 0, 1, 0x22]);
    // A reply from the client to another IP does not match the entry.
    r.rx_arp(&arp_frame(BOND, new_mac, 2, new_mac, cip(2), BOND, Ipv4Addr::new(198, 18, 0, 99), None));
    assert_eq!(r.entry(0xd4 ^ 12).client_mac, cmac(2));
    // Same MAC again: nothing to do.
    r.rx_arp(&client_reply(2, cmac(2)));
    assert!(!r.entry(0xd4 ^ 12).ntt);
    // A request (op 1) from the client with a new MAC is not a reply: no update.
    r.rx_arp(&arp_frame(MacAddr::BROADCAST, new_mac, 1, new_mac, cip(2), MacAddr::ZERO, SERVER, None));
    assert_eq!(r.entry(0xd4 ^ 12).client_mac, cmac(2));
    // The reply with the new MAC.
    r.rx_arp(&client_reply(2, new_mac));
    assert_eq!(r.entry(0xd4 ^ 12).client_mac, new_mac);
    assert!(r.entry(0xd4 ^ 12).ntt);
    r.tick(2200, &s);
    let out = sends(&drain(&mut r));
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|(sl, f)| *sl == SlaveId(20) && f[0..6] == new_mac.0));
}

// ----- failures, retries, promiscuity -----------------------------------------------------------

#[test]
fn failover_moves_clients_and_retries_three_more_passes() {
    // 4 clients on 10, 20, 30, 10 (with_clients: the pass at 100 sets the delay to 2100).
    let mut s = gig(3);
    let mut r = with_clients(4, &s);
    assert_eq!((1..=4).map(|k| slave_of(&r, k).unwrap()).collect::<Vec<_>>(), vec![SlaveId(10), SlaveId(20), SlaveId(30), SlaveId(10)]);

    // t=1000: slave 20 (client 2) fails. The last slave chosen was 10 (client 4): after it,
    // with 20 unusable, the next is 30.
    s[1].usable = false;
    r.slave_down(SlaveId(20), smac(SlaveId(20)), &s, Some(SlaveId(10)), 1000);
    assert_eq!(slave_of(&r, 2), Some(SlaveId(30)));
    assert_eq!(r.assigned_count(SlaveId(20)), 0);
    assert_eq!(r.retries_left(), RLB_UPDATE_RETRY);
    // 20 was not the active slave: the active one goes promiscuous and learns 20's MAC.
    assert_eq!(
        drain(&mut r),
        vec![
            RlbOutput::Promisc { slave: SlaveId(10), on: true },
            RlbOutput::Learning { slave: SlaveId(10), mac: smac(SlaveId(20)), strict: true },
        ]
    );

    // Passes at the first tick after 2100, then every 2.1 s: 2200, 4300, 6400, 8500;
    // each sends exactly 2 replies for client 2, from 30. Nothing else, ever.
    let mut passes = vec![];
    for t in (1100..=30_000).step_by(100) {
        r.tick(t, &s);
        let out = drain(&mut r);
        let u = updates(&out, &s);
        if !u.is_empty() {
            assert_eq!(u, vec![(SlaveId(30), cip(2)), (SlaveId(30), cip(2))], "at {t}");
            passes.push(t);
        }
    }
    assert_eq!(passes, vec![2200, 4300, 6400, 8500]);
    assert!(!r.update_pending());
    assert_eq!(r.retries_left(), 0);
}

#[test]
fn failover_of_a_slave_with_two_clients_sends_two_replies_per_client_per_pass() {
    // 2 slaves, 4 clients: 10, 20, 10, 20. Slave 20 fails: clients 4 and 2 (most recent first)
    // both move to 10, the only usable slave.
    let mut s = gig(2);
    let mut r = with_clients(4, &s);
    s[1].usable = false;
    r.slave_down(SlaveId(20), smac(SlaveId(20)), &s, Some(SlaveId(10)), 1000);
    drain(&mut r);
    let mut per_pass = vec![];
    for t in (1100..=20_000).step_by(100) {
        r.tick(t, &s);
        let u = updates(&drain(&mut r), &s);
        if !u.is_empty() {
            per_pass.push(u);
        }
    }
    let want = vec![(SlaveId(10), cip(4)), (SlaveId(10), cip(4)), (SlaveId(10), cip(2)), (SlaveId(10), cip(2))];
    assert_eq!(per_pass, vec![want.clone(), want.clone(), want.clone(), want]);
    assert_eq!(r.assigned_count(SlaveId(10)), 4);
}

#[test]
fn failure_of_the_active_slave_moves_its_clients_without_promiscuity() {
    let mut s = gig(3);
    let mut r = with_clients(3, &s); // 10, 20, 30; last chosen 30
    s[0].usable = false;
    r.slave_down(SlaveId(10), BOND, &s, Some(SlaveId(10)), 1000);
    // After 30 nothing follows; 10 is unusable → the fastest usable from the start, 20.
    assert_eq!(slave_of(&r, 1), Some(SlaveId(20)));
    assert!(drain(&mut r).is_empty(), "no promiscuity: the failed slave was the active one");
    assert_eq!(r.promisc_slave(), None);
}

#[test]
fn the_last_usable_slave_failing_leaves_clients_without_a_slave() {
    let mut s = gig(1);
    let mut r = with_clients(2, &s);
    s[0].usable = false;
    r.slave_down(SlaveId(10), BOND, &s, None, 1000);
    assert!(r.clients().iter().all(|c| c.slave.is_none()));
    assert!(r.clients().iter().all(|c| c.client_mac.is_some()));
    // A request now finds clients without a channel: the kernel logs it.
    let mut req = bond_request(3);
    assert_eq!(r.tx_arp(&mut req, &s, None, BOND, 1100), None);
    let logs: Vec<_> = drain(&mut r)
        .into_iter()
        .filter(|o| matches!(o, RlbOutput::Log { msg } if msg == "found a client with no channel in the client's hash table"))
        .collect();
    assert_eq!(logs.len(), 2);
    // The link comes back: the rebalance gives every client a slave again and updates them.
    s[0].usable = true;
    r.slave_up();
    r.tick(1200, &s);
    assert!(r.clients().iter().all(|c| c.slave == Some(SlaveId(10))));
    r.tick(3200, &s);
    assert_eq!(updates(&drain(&mut r), &s).len(), 4);
}

#[test]
fn promiscuity_ends_at_the_hundredth_tick_or_at_an_active_change() {
    let mut s = gig(3);
    let mut r = with_clients(3, &s);
    s[2].usable = false;
    r.slave_down(SlaveId(30), smac(SlaveId(30)), &s, Some(SlaveId(10)), 1050);
    assert_eq!(r.promisc_slave(), Some(SlaveId(10)));
    drain(&mut r);
    // Ticks 1100 .. 10900 are ticks 1..99 after the set; the 100th, at 11000, drops it.
    for t in (1100..=10_900).step_by(100) {
        r.tick(t, &s);
        assert!(!drain(&mut r).contains(&RlbOutput::Promisc { slave: SlaveId(10), on: false }), "{t}");
    }
    r.tick(11_000, &s);
    assert!(drain(&mut r).contains(&RlbOutput::Promisc { slave: SlaveId(10), on: false }));
    assert_eq!(r.promisc_slave(), None);

    // A second teach while promiscuous restarts the timer without a second "on".
    r.teach_disabled_mac(Some(SlaveId(10)), smac(SlaveId(30)), 20_000);
    r.teach_disabled_mac(Some(SlaveId(10)), smac(SlaveId(30)), 25_000);
    let out = drain(&mut r);
    assert_eq!(out.iter().filter(|o| matches!(o, RlbOutput::Promisc { on: true, .. })).count(), 1);
    assert_eq!(out.iter().filter(|o| matches!(o, RlbOutput::Learning { .. })).count(), 2);
    r.tick(30_000, &s);
    assert!(!drain(&mut r).contains(&RlbOutput::Promisc { slave: SlaveId(10), on: false }));
    // The active slave changes: off at once, not at the timeout.
    r.active_changed(Some(SlaveId(10)));
    assert!(drain(&mut r).is_empty(), "same active slave: nothing");
    r.active_changed(Some(SlaveId(20)));
    assert_eq!(drain(&mut r), vec![RlbOutput::Promisc { slave: SlaveId(10), on: false }]);
    r.tick(40_000, &s);
    assert!(drain(&mut r).iter().all(|o| !matches!(o, RlbOutput::Promisc { .. })));
}

#[test]
fn removal_restarts_the_round_robin() {
    let s = gig(3);
    let mut r = with_clients(2, &s); // 10, 20; last chosen 20
    let remaining = vec![s[0], s[2]];
    r.slave_removed(SlaveId(20), smac(SlaveId(20)), &remaining, Some(SlaveId(10)), 1000);
    // The round robin restarts: the fastest usable, first in list → 10.
    assert_eq!(slave_of(&r, 2), Some(SlaveId(10)));
    assert_eq!(r.last_chosen(), Some(SlaveId(10)));
    assert_eq!(r.retries_left(), RLB_UPDATE_RETRY);
    // The next new client continues from 10 → 30.
    let mut f = bond_reply(3);
    assert_eq!(r.tx_arp(&mut f, &remaining, Some(SlaveId(10)), BOND, 1100), Some(SlaveId(30)));
}

#[test]
fn mac_swap_updates_the_slaves_clients_with_retries() {
    let s = gig(3);
    let mut r = with_clients(3, &s);
    r.update_slave_clients(SlaveId(30));
    assert_eq!(r.retries_left(), RLB_UPDATE_RETRY);
    let mut n = 0;
    for t in (200..=20_000).step_by(100) {
        r.tick(t, &s);
        let u = updates(&drain(&mut r), &s);
        assert!(u.iter().all(|&(sl, ip)| sl == SlaveId(30) && ip == cip(3)));
        n += u.len();
    }
    assert_eq!(n, 8, "4 passes × 2 replies");
    // A slave without clients with known MACs: nothing, and no retries.
    let mut r2 = Rlb::new();
    let mut req = bond_request(1);
    r2.tx_arp(&mut req, &s, Some(SlaveId(10)), BOND, 0);
    r2.update_slave_clients(SlaveId(10));
    assert_eq!(r2.retries_left(), 0);
    assert!(!r2.update_pending());
}

// ----- collisions --------------------------------------------------------------------------------

#[test]
fn hash_collision_evicts_the_old_client_to_the_active_slave_first() {
    // 198.18.0.11 and 198.18.11.0 both hash to 0xd4 ^ 0x0b = 0xdf.
    let newcomer = Ipv4Addr::new(198, 18, 11, 0);
    let nmac = MacAddr([2, 0, 0, 0, 2, 0]);
    let s = gig(3);
    let mut r = Rlb::new();
    // Client 7 (→10), then client 1 (→20): client 1 sits in 0xdf on a non-active slave.
    for k in [7, 1] {
        let mut f = bond_reply(k);
        r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 0);
    }
    r.tick(100, &s);
    drain(&mut r);
    assert_eq!(r.entry(0xdf).slave, Some(SlaveId(20)));

    let mut f = arp_frame(nmac, BOND, 2, BOND, SERVER, nmac, newcomer, None);
    assert_eq!(r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 300), Some(SlaveId(30)));
    // Client 1 was told at once, from the active slave (bond MAC), before losing its entry.
    let out = drain(&mut r);
    assert_eq!(updates(&out, &s), vec![(SlaveId(10), cip(1)), (SlaveId(10), cip(1))]);
    for (_, fr) in sends(&out) {
        assert_eq!(&fr[22..28], &BOND.0);
        assert_eq!(&fr[0..6], &cmac(1).0);
    }
    let e = r.entry(0xdf);
    assert_eq!((e.client_ip, e.client_mac, e.slave), (newcomer, nmac, Some(SlaveId(30))));
    // The entry stays once in the used list.
    assert_eq!(r.used_order().iter().filter(|&&i| i == 0xdf).count(), 1);
    assert_eq!(r.clients().len(), 2);

    // An old client already on the active slave is not updated again.
    let mut f = bond_reply(1); // 0xdf, now held by the newcomer on 30 → 30 ≠ 10 → update
    r.tx_arp(&mut f, &s, Some(SlaveId(10)), BOND, 400);
    assert_eq!(updates(&drain(&mut r), &s), vec![(SlaveId(10), newcomer), (SlaveId(10), newcomer)]);
    let mut g = arp_frame(nmac, BOND, 2, BOND, SERVER, nmac, newcomer, None);
    r.tx_arp(&mut g, &s, Some(SlaveId(10)), BOND, 500); // client 1 is on 10 (round robin) → no update
    assert_eq!(slave_of(&r, 1), None, "client 1 lost the entry");
    assert!(sends(&drain(&mut r)).is_empty());
}

// ----- rebalance ------------------------------------------------------------------------------

#[test]
fn a_new_slave_gets_clients_at_the_rebalance() {
    let s2 = gig(2);
    let mut r = with_clients(4, &s2); // 10, 20, 10, 20; last chosen 20
    let s3 = gig(3);
    r.slave_added();
    // Nothing moves before the tick.
    assert_eq!(r.assigned_count(SlaveId(30)), 0);
    r.tick(200, &s3);
    // Walk: client 4 (after 20 → 30), client 3 (after 30, nothing later → 10), client 2 (20),
    // client 1 (30). Clients 4 and 1 changed slave and are marked.
    assert_eq!((1..=4).map(|k| slave_of(&r, k).unwrap()).collect::<Vec<_>>(), vec![SlaveId(30), SlaveId(20), SlaveId(10), SlaveId(30)]);
    assert!(r.entry(0xd4 ^ 14).ntt && r.entry(0xd4 ^ 11).ntt);
    assert!(!r.entry(0xd4 ^ 13).ntt && !r.entry(0xd4 ^ 12).ntt);
    // They are updated at the first tick after the delay of the pass at 100 (2200).
    r.tick(2100, &s3);
    assert!(drain(&mut r).is_empty());
    r.tick(2200, &s3);
    assert_eq!(updates(&drain(&mut r), &s3), vec![(SlaveId(30), cip(4)), (SlaveId(30), cip(4)), (SlaveId(30), cip(1)), (SlaveId(30), cip(1))]);
    // A rebalance has no retries.
    for t in (2300..=10_000).step_by(100) {
        r.tick(t, &s3);
    }
    assert!(drain(&mut r).is_empty());
    // And a new client after that continues the round robin (last chosen 30 → 10).
    let mut f = bond_reply(5);
    assert_eq!(r.tx_arp(&mut f, &s3, Some(SlaveId(10)), BOND, 10_100), Some(SlaveId(10)));
}

#[test]
fn slave_up_orders_a_rebalance() {
    let mut s = gig(2);
    s[1].usable = false;
    let mut r = with_clients(3, &s); // all on 10
    assert_eq!(r.assigned_count(SlaveId(10)), 3);
    s[1].usable = true;
    r.slave_up();
    r.tick(200, &s);
    assert!(r.assigned_count(SlaveId(20)) >= 1);
    assert!(r.assigned_count(SlaveId(10)) >= 1);
}

#[test]
fn clients_serialize_for_status() {
    let s = gig(2);
    let mut r = with_clients(1, &s);
    let mut req = bond_request(2);
    r.tx_arp(&mut req, &s, Some(SlaveId(10)), BOND, 200);
    let v = serde_json::to_value(r.clients()).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"index": 216, "client_ip": "198.18.0.12", "client_mac": null,
             "server_ip": "198.18.0.1", "slave": 20, "vlan_tci": null, "update_pending": false},
            {"index": 223, "client_ip": "198.18.0.11", "client_mac": "02:00:00:00:01:01",
             "server_ip": "198.18.0.1", "slave": 10, "vlan_tci": null, "update_pending": false},
        ])
    );
}

// ----- robustness ---------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Ev {
    /// Random bytes as an outgoing frame.
    TxRaw(Vec<u8>),
    /// Random bytes as an incoming frame.
    RxRaw(Vec<u8>),
    /// A well-formed ARP from the bond (op, client index, sender is bond MAC or a slave's).
    TxArp { op: u16, client: u8, sender_slave: Option<usize>, tha_zero: bool, tci: Option<u16> },
    /// A well-formed ARP from a client or a stranger.
    RxArp { op: u16, client: u8, mac_byte: u8, to_server: bool },
    Down(usize),
    Up(usize),
    Remove(usize),
    Add,
    Tick(u16),
    SwapUpdate(usize),
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(Ev::TxRaw),
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(Ev::RxRaw),
        (1u16..=3, any::<u8>(), proptest::option::of(0usize..4), any::<bool>(), proptest::option::of(any::<u16>()))
            .prop_map(|(op, client, sender_slave, tha_zero, tci)| Ev::TxArp { op, client, sender_slave, tha_zero, tci }),
        (1u16..=2, any::<u8>(), any::<u8>(), any::<bool>())
            .prop_map(|(op, client, mac_byte, to_server)| Ev::RxArp { op, client, mac_byte, to_server }),
        (0usize..4).prop_map(Ev::Down),
        (0usize..4).prop_map(Ev::Up),
        (0usize..4).prop_map(Ev::Remove),
        Just(Ev::Add),
        (0u16..3000).prop_map(Ev::Tick),
        (0usize..4).prop_map(Ev::SwapUpdate),
    ]
}

/// Client IPs in a small range so that collisions happen often: 198.18.x.y with x, y < 16.
fn pip(c: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, c >> 4, c & 0x0f)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Random frames and events never panic, no client is ever assigned to a slave that is
    /// not usable, and every frame RLB sends leaves on a usable slave.
    #[test]
    fn random_traffic_never_panics_nor_assigns_unusable_slaves(
        speeds in proptest::collection::vec(prop_oneof![Just(100u32), Just(1000), Just(10_000)], 1..4),
        evs in proptest::collection::vec(ev(), 1..120),
    ) {
        let mut slaves: Vec<AlbSlave> =
            speeds.iter().enumerate().map(|(i, &sp)| slave(SlaveId(10 * (i as u32 + 1)), sp, true)).collect();
        let mut next_id = 10 * (slaves.len() as u32 + 1);
        let mut r = Rlb::new();
        let mut now = 0u64;
        let active = |s: &[AlbSlave]| s.iter().find(|x| x.usable).map(|x| x.id);
        for e in evs {
            match e {
                Ev::TxRaw(mut f) => {
                    let a = active(&slaves);
                    if let Some(sl) = r.tx_arp(&mut f, &slaves, a, BOND, now) {
                        prop_assert!(slaves.iter().any(|x| x.id == sl && x.usable));
                    }
                }
                Ev::RxRaw(f) => r.rx_arp(&f),
                Ev::TxArp { op, client, sender_slave, tha_zero, tci } => {
                    let sha = sender_slave.and_then(|i| slaves.get(i)).map(|x| x.mac).unwrap_or(BOND);
                    let tha = if tha_zero { MacAddr::ZERO } else { MacAddr([2, 0, 0, 1, 0, client]) };
                    let mut f = arp_frame(tha, sha, op, sha, SERVER, tha, pip(client), tci);
                    let a = active(&slaves);
                    if let Some(sl) = r.tx_arp(&mut f, &slaves, a, BOND, now) {
                        prop_assert!(slaves.iter().any(|x| x.id == sl && x.usable));
                    }
                }
                Ev::RxArp { op, client, mac_byte, to_server } => {
                    let m = MacAddr([2, 0, 0, 1, 0, mac_byte]);
                    let (spa, tpa) = if to_server { (pip(client), SERVER) } else { (SERVER, pip(client)) };
                    r.rx_arp(&arp_frame(BOND, m, op, m, spa, BOND, tpa, None));
                }
                Ev::Down(i) => {
                    if let Some(x) = slaves.get(i).copied() {
                        if x.usable {
                            // The kernel clears the slave while the failed one may still be
                            // the active slave (the new one is selected afterwards).
                            let a = active(&slaves);
                            slaves[i].usable = false;
                            r.slave_down(x.id, x.mac, &slaves, a, now);
                        }
                    }
                }
                Ev::Up(i) => {
                    if let Some(x) = slaves.get_mut(i) {
                        if !x.usable {
                            x.usable = true;
                            r.slave_up();
                        }
                    }
                }
                Ev::Remove(i) => {
                    if i < slaves.len() {
                        let x = slaves.remove(i);
                        let a = active(&slaves);
                        r.slave_removed(x.id, x.mac, &slaves, a, now);
                    }
                }
                Ev::Add => {
                    if slaves.len() < 4 {
                        slaves.push(slave(SlaveId(next_id), 1000, true));
                        next_id += 10;
                        r.slave_added();
                    }
                }
                Ev::Tick(dt) => {
                    now += dt as u64;
                    r.tick(now, &slaves);
                }
                Ev::SwapUpdate(i) => {
                    if let Some(x) = slaves.get(i) {
                        r.update_slave_clients(x.id);
                    }
                }
            }
            for c in r.clients() {
                if let Some(sl) = c.slave {
                    prop_assert!(
                        slaves.iter().any(|x| x.id == sl && x.usable),
                        "client {} on slave {} which is not usable: {:?}", c.client_ip, sl, slaves
                    );
                }
            }
            prop_assert_eq!(r.clients().len(), r.used_order().len());
            while let Some(o) = r.poll_output() {
                if let RlbOutput::Send { slave: sl, frame } = o {
                    prop_assert!(slaves.iter().any(|x| x.id == sl && x.usable), "sent on {}", sl);
                    let a = parse_arp(&frame).expect("RLB only sends ARP replies");
                    prop_assert_eq!(a.op, 2);
                    prop_assert!(frame.len() >= 60);
                }
            }
        }
    }
}
