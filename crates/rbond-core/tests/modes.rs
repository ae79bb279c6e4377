//! Per-mode transmit and receive decisions of the bond (bonding.rst, mode–bond_main.c: bond_rr_gen_slave_id, bond_main.c: bond_xmit_hash users, bond_xmit_hash, worked by hand).
//!
//! Frames are built by hand here, byte by byte, so the tests do not depend on the parser
//! they exercise.

use rbond_core::bond::{Bond, RxDecision, TxDecision};
use rbond_core::hash::xmit_hash;
use rbond_core::{MacAddr, Mode, SlaveId, XmitHashPolicy};

mod support;
use support::{down, up, Net};

// ---- frames -----------------------------------------------------------------------------------

fn mac(s: &str) -> [u8; 6] {
    MacAddr::parse(s).expect("test MAC").0
}

fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// A 20-byte IPv4 header (IHL 5, no fragmentation) followed by `l4`.
fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let total = (20 + l4.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0]); // id 1, DF, offset 0
    p.extend_from_slice(&[64, proto, 0, 0]); // ttl, protocol, checksum (not checked)
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(l4);
    p
}

fn tcp_ports(sport: u16, dport: u16) -> Vec<u8> {
    let mut t = Vec::with_capacity(20);
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
    t
}

/// A unicast IPv4/TCP frame.
fn tcp_frame(dst: [u8; 6], src: [u8; 6], sip: [u8; 4], dip: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    eth(dst, src, 0x0800, &ipv4(sip, dip, 6, &tcp_ports(sport, dport)))
}

/// An IGMPv2 membership report for 239.1.1.1.
fn igmp_frame(src: [u8; 6]) -> Vec<u8> {
    let igmp = [0x16, 0, 0, 0, 239, 1, 1, 1];
    eth(mac("01:00:5e:01:01:01"), src, 0x0800, &ipv4([198, 18, 0, 1], [239, 1, 1, 1], 2, &igmp))
}

/// A LACPDU header (slow protocols, subtype 1, version 1) padded to the 124-byte PDU.
fn lacpdu(src: [u8; 6]) -> Vec<u8> {
    let mut pdu = vec![0x01, 0x01];
    pdu.resize(110, 0);
    eth(mac("01:80:c2:00:00:02"), src, 0x8809, &pdu)
}

const PEER: &str = "02:00:5e:ee:00:01";

// ---- bond setup -------------------------------------------------------------------------------

fn slave_mac(i: usize) -> MacAddr {
    MacAddr([0x02, 0x00, 0x5e, 0x00, 0x02, i as u8 + 1])
}

/// An up bond with `opts` written in order and `n` slaves `eth0..` with up 1000 Mb/s links.
fn bond(opts: &[(&str, &str)], n: usize) -> Bond {
    let mut b = Bond::new("bond0", MacAddr([0x02, 0x00, 0x5e, 0xb0, 0, 2]), "6.1.0-25-amd64");
    for (k, v) in opts {
        b.set_option(k, v, 0).unwrap_or_else(|e| panic!("{k}={v}: {e:?}"));
    }
    for i in 0..n {
        b.enslave(SlaveId(i as u32), &format!("eth{i}"), slave_mac(i), up(1000), 0).expect("enslave");
    }
    b.set_admin_up(true, 0);
    while b.poll_action().is_some() {}
    b
}

fn set_down(b: &mut Bond, name: &str, now: u64) {
    let id = b.slave_id(name).expect("a slave");
    b.link_observed(id, down(), now);
}

// The slaves of these bonds get ids 0, 1, 2 ... in enslave order and none is released, so an
// id is also the slave's position: the helpers below give the decisions as positions.

/// Where a frame goes, as positions in the slave list.
#[derive(Debug, PartialEq, Eq)]
enum TxTarget {
    Drop,
    Slave(usize),
    AllUsable,
}

#[derive(Debug, PartialEq, Eq)]
enum RxVerdict {
    Deliver,
    Drop,
    Lacp,
}

trait Decide {
    fn tx_target(&mut self, f: &[u8]) -> TxTarget;
    fn rx_verdict(&mut self, i: usize, f: &[u8], now: u64) -> RxVerdict;
    fn tx_positions(&self) -> Vec<usize>;
    fn active(&self) -> Option<usize>;
}

impl Decide for Bond {
    fn tx_target(&mut self, f: &[u8]) -> TxTarget {
        let mut f = f.to_vec();
        match self.tx(&mut f) {
            TxDecision::Drop => TxTarget::Drop,
            TxDecision::Slave(id) => TxTarget::Slave(id.0 as usize),
            TxDecision::Each(_) => TxTarget::AllUsable,
        }
    }
    fn rx_verdict(&mut self, i: usize, f: &[u8], now: u64) -> RxVerdict {
        match self.rx(SlaveId(i as u32), &mut f.to_vec(), now) {
            RxDecision::Deliver => RxVerdict::Deliver,
            RxDecision::Drop => RxVerdict::Drop,
            RxDecision::Consumed => RxVerdict::Lacp,
        }
    }
    fn tx_positions(&self) -> Vec<usize> {
        self.tx_slaves().iter().map(|id| id.0 as usize).collect()
    }
    fn active(&self) -> Option<usize> {
        self.active_slave().map(|id| id.0 as usize)
    }
}

fn slave_of(t: TxTarget) -> usize {
    match t {
        TxTarget::Slave(i) => i,
        other => panic!("expected a slave, got {other:?}"),
    }
}

/// Varied unicast TCP frames: different MACs, addresses and ports.
fn flows(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let i8 = i as u8;
            tcp_frame(
                [0x02, 0x00, 0x5e, 0x10, i8.wrapping_mul(7), i8],
                [0x02, 0x00, 0x5e, 0x20, 0x00, (i / 2) as u8],
                [198, 18, 1, i8],
                [198, 19, (i / 7) as u8, i8.wrapping_mul(3)],
                40000 + i as u16 * 17,
                80 + (i % 5) as u16,
            )
        })
        .collect()
}

// ---- balance-rr (bond_main.c: bond_rr_gen_slave_id) ------------------------------------------------------------------------

fn rr_sequence(b: &mut Bond, frames: usize) -> Vec<usize> {
    let f = tcp_frame(mac(PEER), slave_mac(0).0, [198, 18, 0, 1], [198, 18, 0, 2], 1000, 2000);
    (0..frames).map(|_| slave_of(b.tx_target(&f))).collect()
}

#[test]
fn rr_packets_per_slave_1_starts_at_index_1() {
    let mut b = bond(&[("miimon", "100")], 3);
    assert_eq!(rr_sequence(&mut b, 7), vec![1, 2, 0, 1, 2, 0, 1]);
}

#[test]
fn rr_down_slave_turn_passes_to_next_usable() {
    let mut b = bond(&[("miimon", "100")], 3);
    set_down(&mut b, "eth1", 50);
    // Counters 1..6 give ids 1,2,0,1,2,0; id 1 (eth1, down) passes to eth2. The ids 0,1,2
    // (frames 3, 4, 5) go to eth0, eth2, eth2.
    let seq = rr_sequence(&mut b, 6);
    assert_eq!(seq, vec![2, 2, 0, 2, 2, 0]);
    assert_eq!(&seq[2..5], &[0, 2, 2]);
    // Wrap-around: with eth2 down too, id 2 searches from 2 to the end, then from 0.
    set_down(&mut b, "eth2", 60);
    assert_eq!(rr_sequence(&mut b, 3), vec![0, 0, 0]);
    set_down(&mut b, "eth0", 70);
    let f = tcp_frame(mac(PEER), slave_mac(0).0, [198, 18, 0, 1], [198, 18, 0, 2], 1, 2);
    assert_eq!(b.tx_target(&f), TxTarget::Drop, "no slave can transmit");
}

#[test]
fn rr_packets_per_slave_2() {
    let mut b = bond(&[("miimon", "100"), ("packets_per_slave", "2")], 3);
    assert_eq!(rr_sequence(&mut b, 6), vec![0, 1, 1, 2, 2, 0]);
}

#[test]
fn rr_packets_per_slave_0_is_random_over_all_slaves() {
    let mut b = bond(&[("miimon", "100"), ("packets_per_slave", "0")], 3);
    let seq = rr_sequence(&mut b, 3000);
    let mut count = [0usize; 3];
    for s in &seq {
        count[*s] += 1;
    }
    for (i, c) in count.iter().enumerate() {
        assert!(*c > 700, "slave {i} used {c} times in 3000 random picks: {count:?}");
    }
    // Not the counter's rotation.
    let rotation: Vec<usize> = (1..=seq.len()).map(|c| c % 3).collect();
    assert_ne!(seq, rotation);
}

#[test]
fn rr_igmp_stays_on_current_active_slave() {
    let mut b = bond(&[("miimon", "100")], 3);
    // Modes 0/2/3: the first slave with link UP is the current active slave (bond_main.c: bond_should_deliver_exact_match).
    assert_eq!(b.active(), Some(0));
    let igmp = igmp_frame(slave_mac(0).0);
    for _ in 0..5 {
        assert_eq!(b.tx_target(&igmp), TxTarget::Slave(0));
    }
    // IGMP does not advance the rotation: the first data frame still goes to index 1.
    assert_eq!(rr_sequence(&mut b, 2), vec![1, 2]);
    // The current active slave fails: IGMP follows the new one.
    set_down(&mut b, "eth0", 50);
    let a = b.active().expect("another active slave");
    assert_ne!(a, 0);
    assert_eq!(b.tx_target(&igmp), TxTarget::Slave(a));
}

// ---- active-backup ----------------------------------------------------------------------------

#[test]
fn active_backup_sends_only_on_active_slave() {
    let mut b = bond(&[("mode", "active-backup"), ("miimon", "100")], 3);
    assert_eq!(b.active(), Some(0));
    for f in flows(50).iter().chain([igmp_frame(slave_mac(0).0)].iter()) {
        assert_eq!(b.tx_target(f), TxTarget::Slave(0));
    }
    b.set_option("active_slave", "eth2", 10).unwrap();
    for f in flows(20) {
        assert_eq!(b.tx_target(&f), TxTarget::Slave(2));
    }
    set_down(&mut b, "eth2", 20);
    let a = b.active().expect("failover");
    for f in flows(20) {
        assert_eq!(b.tx_target(&f), TxTarget::Slave(a));
    }
    for n in ["eth0", "eth1"] {
        set_down(&mut b, n, 30);
    }
    assert_eq!(b.active(), None);
    for f in flows(5) {
        assert_eq!(b.tx_target(&f), TxTarget::Drop, "no active slave: drop");
    }
}

// ---- balance-xor (bond_main.c: bond_xmit_hash users, bond_xmit_hash, worked by hand) ------------------------------------------------------------------

fn check_xor(b: &mut Bond, policy: XmitHashPolicy) {
    let usable: Vec<usize> = b.tx_positions().to_vec();
    assert!(!usable.is_empty());
    let mut used = [false; 3];
    for f in flows(200) {
        let want = usable[xmit_hash(policy, &f) as usize % usable.len()];
        assert_eq!(b.tx_target(&f), TxTarget::Slave(want));
        used[want] = true;
        // The same flow always takes the same slave.
        assert_eq!(b.tx_target(&f), TxTarget::Slave(want));
    }
    for i in &usable {
        assert!(used[*i], "usable slave {i} never chosen over 200 flows");
    }
}

#[test]
fn balance_xor_layer2_uses_usable_hash_mod_n() {
    let mut b = bond(&[("mode", "balance-xor"), ("miimon", "100")], 3);
    assert_eq!(b.tx_positions(), &[0, 1, 2]);
    check_xor(&mut b, XmitHashPolicy::Layer2);
    // A down slave leaves the array: index 0 is the first *usable* slave.
    set_down(&mut b, "eth0", 50);
    assert_eq!(b.tx_positions(), &[1, 2]);
    check_xor(&mut b, XmitHashPolicy::Layer2);
}

#[test]
fn balance_xor_layer34_uses_usable_hash_mod_n() {
    let mut b = bond(&[("mode", "balance-xor"), ("miimon", "100"), ("xmit_hash_policy", "layer3+4")], 3);
    check_xor(&mut b, XmitHashPolicy::Layer34);
    set_down(&mut b, "eth1", 50);
    assert_eq!(b.tx_positions(), &[0, 2]);
    check_xor(&mut b, XmitHashPolicy::Layer34);
}

/// Reference bond_xmit_hash, worked by hand: dst 52:54:00:ab:cd:ef, src 52:54:00:12:34:56, 192.168.1.10 → 192.168.1.20.
#[test]
fn balance_xor_reference_worked_examples() {
    let (d, s) = (mac("52:54:00:ab:cd:ef"), mac("52:54:00:12:34:56"));
    let (sip, dip) = ([192, 168, 1, 10], [192, 168, 1, 20]);
    // Example 3: layer3+4, TCP 49152 → 80: hash 0x27272747; usable [eth0, eth1] → eth1.
    let ex3 = tcp_frame(d, s, sip, dip, 49152, 80);
    assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &ex3), 0x2727_2747);
    let mut b = bond(&[("mode", "balance-xor"), ("miimon", "100"), ("xmit_hash_policy", "layer3+4")], 2);
    assert_eq!(b.tx_target(&ex3), TxTarget::Slave(1));
    // Example 3': the reply 80 → 49152 hashes to 0x0F6F4747: also index 1 of 2.
    let ex3r = tcp_frame(s, d, dip, sip, 80, 49152);
    assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &ex3r), 0x0F6F_4747);
    assert_eq!(b.tx_target(&ex3r), TxTarget::Slave(1));

    // Example 1: layer2 gives 0x8B9 = 2233: index 1 with 2 or 3 slaves.
    let ex1 = tcp_frame(d, s, sip, dip, 49152, 80);
    assert_eq!(xmit_hash(XmitHashPolicy::Layer2, &ex1), 2233);
    let mut b3 = bond(&[("mode", "balance-xor"), ("miimon", "100")], 3);
    assert_eq!(b3.tx_target(&ex1), TxTarget::Slave(1));
    // Example 2: layer2+3 → 0x1E1E16AF: index 2 of 3.
    b3.set_option("xmit_hash_policy", "layer2+3", 0).unwrap();
    assert_eq!(b3.tx_target(&ex1), TxTarget::Slave(2));
}

#[test]
fn balance_xor_drops_without_usable_slave() {
    let mut b = bond(&[("mode", "balance-xor"), ("miimon", "100")], 2);
    set_down(&mut b, "eth0", 10);
    set_down(&mut b, "eth1", 10);
    assert_eq!(b.tx_positions(), &[] as &[usize]);
    assert_eq!(b.tx_target(&flows(1)[0]), TxTarget::Drop);
}

// ---- broadcast --------------------------------------------------------------------------------

#[test]
fn broadcast_copies_to_all_usable_slaves() {
    let mut b = bond(&[("mode", "broadcast"), ("miimon", "100")], 3);
    for f in flows(10) {
        assert_eq!(b.tx_target(&f), TxTarget::AllUsable);
    }
    assert_eq!(b.tx_positions(), &[0, 1, 2]);
    set_down(&mut b, "eth1", 10);
    assert_eq!(b.tx_target(&flows(1)[0]), TxTarget::AllUsable);
    assert_eq!(b.tx_positions(), &[0, 2]);
    set_down(&mut b, "eth0", 20);
    set_down(&mut b, "eth2", 20);
    assert_eq!(b.tx_target(&flows(1)[0]), TxTarget::Drop);
}

// ---- 802.3ad ----------------------------------------------------------------------------------

fn partner(n: usize) -> Bond {
    let mut b = Bond::new("po0", MacAddr([0x02, 0x00, 0x5e, 0xc0, 0, 2]), "6.1.0-25-amd64");
    for (k, v) in [("mode", "802.3ad"), ("lacp_rate", "fast")] {
        b.set_option(k, v, 0).unwrap();
    }
    for i in 0..n {
        b.enslave(SlaveId(100 + i as u32), &format!("swp{i}"), MacAddr([0x02, 0x00, 0x5e, 0xc1, 0, i as u8 + 1]), up(1000), 0).unwrap();
    }
    b.set_admin_up(true, 0);
    b
}

#[test]
fn ieee8023ad_distributes_only_over_enabled_ports() {
    let b = bond(&[("mode", "802.3ad"), ("xmit_hash_policy", "layer3+4"), ("lacp_rate", "fast")], 3);
    assert_eq!(b.opts().miimon, 100, "802.3ad forces miimon 100 (bond_options.c option setters; bond_check_params)");
    assert_eq!(b.tx_positions(), &[] as &[usize], "new ports start disabled");
    let mut b = b;
    assert_eq!(b.tx_target(&flows(1)[0]), TxTarget::Drop);

    // eth0 and eth2 are cabled to an LACP partner; eth1 is up but hears nobody, so it sits
    // alone in an individual aggregator that is not the active one.
    let mut w = Net::new(b, partner(2), &[(0, 100), (2, 101)]);
    w.run(6_000);
    let b = &mut w.l;
    assert_eq!(b.tx_positions(), &[0, 2]);
    let mut used = [false; 3];
    for f in flows(100) {
        let want = [0, 2][xmit_hash(XmitHashPolicy::Layer34, &f) as usize % 2];
        assert_eq!(b.tx_target(&f), TxTarget::Slave(want));
        used[want] = true;
    }
    assert_eq!(used, [true, false, true]);
    assert!(b.carrier());

    // An enabled port whose link dies leaves the array.
    set_down(b, "eth2", w.now);
    w.cables.retain(|c| c.0 != 2);
    assert_eq!(w.l.tx_positions(), &[0]);
    // With the partnered aggregator gone too, the bond falls back (as the kernel) to the
    // remaining individual port.
    let now = w.now;
    set_down(&mut w.l, "eth0", now);
    w.cables.clear();
    assert_eq!(w.l.tx_target(&flows(1)[0]), TxTarget::Slave(1));
    set_down(&mut w.l, "eth1", now);
    assert_eq!(w.l.tx_target(&flows(1)[0]), TxTarget::Drop);
    assert!(!w.l.carrier());
}
// ---- balance-tlb / balance-alb ----------------------------------------------------------------

#[test]
fn tlb_and_alb_give_a_slave_for_unicast_ipv4() {
    for mode in ["balance-tlb", "balance-alb"] {
        let mut b = bond(&[("mode", mode)], 2);
        assert!(b.opts().mode == Mode::BalanceTlb || b.opts().mode == Mode::BalanceAlb);
        assert_eq!(b.tx_positions(), &[0, 1], "{mode}");
        for f in flows(20) {
            let s = slave_of(b.tx_target(&f));
            assert!(b.tx_positions().contains(&s), "{mode}: chose unusable slave {s}");
        }
        set_down(&mut b, "eth0", 10);
        set_down(&mut b, "eth1", 10);
        assert_eq!(b.tx_target(&flows(1)[0]), TxTarget::Drop, "{mode}: no usable slave");
    }
}

#[test]
fn tlb_static_uses_hash_over_usable() {
    let mut b = bond(&[("mode", "balance-tlb"), ("tlb_dynamic_lb", "0"), ("xmit_hash_policy", "layer3+4")], 2);
    for f in flows(30) {
        let s = slave_of(b.tx_target(&f));
        assert!(s < 2);
        assert_eq!(b.tx_target(&f), TxTarget::Slave(s), "static: same flow, same slave");
    }
}

// ---- receive (bond_main.c: bond_should_deliver_exact_match) ---------------------------------------------------------------------------

fn unicast_to(b: &Bond) -> Vec<u8> {
    tcp_frame(b.mac().0, mac(PEER), [198, 18, 0, 2], [198, 18, 0, 1], 80, 40000)
}
/// Unicast to the MAC slave `i` carries now (in alb each slave keeps a MAC of its own).
fn unicast_to_slave(b: &Bond, i: usize) -> Vec<u8> {
    tcp_frame(b.slaves()[i].cur_mac.0, mac(PEER), [198, 18, 0, 2], [198, 18, 0, 1], 80, 40000)
}
fn broadcast_frame() -> Vec<u8> {
    eth([0xff; 6], mac(PEER), 0x0806, &[0; 28])
}

#[test]
fn active_backup_drops_frames_of_backup_slave() {
    let mut b = bond(&[("mode", "active-backup"), ("miimon", "100")], 2);
    let f = unicast_to(&b);
    assert_eq!(b.rx_verdict(0, &f, 1), RxVerdict::Deliver);
    assert_eq!(b.rx_verdict(1, &f, 1), RxVerdict::Drop);
    assert_eq!(b.rx_verdict(1, &broadcast_frame(), 1), RxVerdict::Drop);
    // After a switch the roles swap.
    b.set_option("active_slave", "eth1", 2).unwrap();
    assert_eq!(b.rx_verdict(0, &f, 3), RxVerdict::Drop);
    assert_eq!(b.rx_verdict(1, &f, 3), RxVerdict::Deliver);
}

#[test]
fn all_slaves_active_delivers_on_backup() {
    let mut b = bond(&[("mode", "active-backup"), ("miimon", "100"), ("all_slaves_active", "1")], 2);
    assert_eq!(b.rx_verdict(1, &unicast_to(&b), 1), RxVerdict::Deliver);
    // Set at run time, it applies at once (bond_options.c option setters; bond_check_params), both ways.
    let mut b = bond(&[("mode", "active-backup"), ("miimon", "100")], 2);
    b.set_option("all_slaves_active", "1", 1).unwrap();
    assert_eq!(b.rx_verdict(1, &unicast_to(&b), 1), RxVerdict::Deliver);
    b.set_option("all_slaves_active", "0", 2).unwrap();
    assert_eq!(b.rx_verdict(1, &unicast_to(&b), 2), RxVerdict::Drop);
}

#[test]
fn balance_modes_deliver_on_every_slave() {
    for mode in ["balance-rr", "balance-xor", "broadcast"] {
        let mut b = bond(&[("mode", mode), ("miimon", "100")], 3);
        for i in 0..3 {
            assert_eq!(b.rx_verdict(i, &unicast_to(&b), 1), RxVerdict::Deliver, "{mode} slave {i}");
            assert_eq!(b.rx_verdict(i, &broadcast_frame(), 1), RxVerdict::Deliver, "{mode} slave {i}");
        }
    }
}

#[test]
fn ieee8023ad_lacpdus_go_to_lacp_and_disabled_ports_drop() {
    let b = bond(&[("mode", "802.3ad"), ("lacp_rate", "fast")], 2);
    // Only eth0 has a partner: it distributes; eth1 is not in the active aggregator.
    let mut w = Net::new(b, partner(1), &[(0, 100)]);
    w.run(6_000);
    let b = &mut w.l;
    assert_eq!(b.tx_positions(), &[0]);
    let pdu = lacpdu(mac(PEER));
    assert_eq!(b.rx_verdict(0, &pdu, w.now), RxVerdict::Lacp);
    assert_eq!(b.rx_verdict(1, &pdu, w.now), RxVerdict::Lacp, "LACP runs on disabled ports too");
    assert_eq!(b.rx_verdict(0, &unicast_to(b), w.now), RxVerdict::Deliver);
    assert_eq!(b.rx_verdict(1, &unicast_to(b), w.now), RxVerdict::Drop);
    // Outside 802.3ad a slow-protocols frame is an ordinary frame.
    let mut xor = bond(&[("mode", "balance-xor"), ("miimon", "100")], 1);
    assert_eq!(xor.rx_verdict(0, &pdu, 1), RxVerdict::Deliver);
}

#[test]
fn alb_delivers_unicast_on_inactive_slave() {
    let mut b = bond(&[("mode", "balance-alb")], 2);
    assert_eq!(b.active(), Some(0));
    // Make eth0 a non-active (inactive) slave.
    b.set_option("active_slave", "eth1", 1).unwrap();
    assert_eq!(b.active(), Some(1));
    // The MACs were swapped: eth1 carries the bond MAC, eth0 eth1's own MAC (bond_alb.c: alb_set_slave_mac_addr, alb_swap_mac_addr).
    assert_eq!(b.slaves()[1].cur_mac, b.mac());
    assert_eq!(b.slaves()[0].cur_mac, slave_mac(1));
    assert_eq!(b.rx_verdict(0, &unicast_to_slave(&b, 0), 2), RxVerdict::Deliver, "alb: unicast on an inactive slave");
    // A frame for the bond MAC flooded to eth0 is not for eth0's NIC filter.
    assert_eq!(b.rx_verdict(0, &unicast_to(&b), 2), RxVerdict::Drop, "alb: the bond MAC lives on the active slave");
    assert_eq!(b.rx_verdict(0, &broadcast_frame(), 2), RxVerdict::Drop, "alb: broadcast only on the active slave");
    assert_eq!(b.rx_verdict(1, &broadcast_frame(), 2), RxVerdict::Deliver);
    // tlb slaves read `active` in sysfs whatever their role (bond_main.c: bond_should_deliver_exact_match).
    assert!(b.status().slaves.iter().all(|s| s.state == "active"));
}

#[test]
fn tlb_receives_only_on_active_slave_after_switch() {
    let mut b = bond(&[("mode", "balance-tlb")], 2);
    b.set_option("active_slave", "eth1", 1).unwrap();
    assert_eq!(b.rx_verdict(0, &unicast_to(&b), 2), RxVerdict::Drop);
    assert_eq!(b.rx_verdict(1, &unicast_to(&b), 2), RxVerdict::Deliver);
}

// Was a core bug (fixed): in tlb/alb a slave that is not the current active slave is flagged inactive from
// the moment it is enslaved (bond_main.c: bond_should_deliver_exact_match: "5, 6: ... non-active slaves are only flagged inactive";
// bonding.rst, mode: tlb receives on the active slave only, alb bcast/mcast on the active only). The core
// sets `inactive` only for backup slaves at enslave (bond/mod.rs `enslave`:
// `s.inactive = s.backup && !all_slaves_active`, and `backup` is false in tlb/alb), and
// `commit_up` clears it again in tlb/alb. So a never-active slave delivers everything.
#[test]
fn tlb_alb_non_active_slave_is_inactive_from_enslave() {
    let mut tlb = bond(&[("mode", "balance-tlb")], 2);
    assert_eq!(tlb.active(), Some(0));
    assert_eq!(tlb.rx_verdict(1, &unicast_to(&tlb), 1), RxVerdict::Drop, "tlb: receive on the active slave only");
    let mut alb = bond(&[("mode", "balance-alb")], 2);
    assert_eq!(alb.active(), Some(0));
    assert_eq!(alb.rx_verdict(1, &unicast_to_slave(&alb, 1), 1), RxVerdict::Deliver);
    assert_ne!(alb.slaves()[1].cur_mac, alb.mac(), "alb: a non-active slave keeps its own MAC");
    assert_eq!(alb.rx_verdict(1, &broadcast_frame(), 1), RxVerdict::Drop, "alb: broadcast on the active slave only");
    // Still so after the non-active slave's link goes down and comes back.
    alb.link_observed(SlaveId(1), down(), 10);
    alb.link_observed(SlaveId(1), up(1000), 20);
    assert_eq!(alb.active(), Some(0));
    assert_eq!(alb.rx_verdict(1, &broadcast_frame(), 30), RxVerdict::Drop);
}
