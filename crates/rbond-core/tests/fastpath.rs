//! The fast-path snapshot (issue 17) decides every frame as the bond does.
//!
//! For balance-rr, active-backup, balance-xor, broadcast and 802.3ad bonds in several states
//! (links down, a link in its updelay, a changed active slave, a primary, all_slaves_active,
//! a released slave, LACP ports in and out of distribution), generated frames (IPv4/IPv6
//! TCP/UDP, ARP, IGMP, LACPDUs and other Slow Protocols frames, broadcast, VLAN-tagged,
//! random bytes) go through `Bond::tx` / `Bond::rx` and through `FastPath::tx` /
//! `FastPath::rx`, and the answers are compared frame for frame. In 802.3ad a Slow Protocols
//! frame (EtherType 0x8809, bonding.rst "802.3ad"; IEEE 802.1AX-2020 6.4.2) must come back as
//! `ToCore` instead.

use proptest::prelude::*;
use rbond_core::bond::{Action, Bond, FastPath, FastPathState, RxDecision, RxVerdict, TxDecision};
use rbond_core::{Duplex, LinkObservation, MacAddr, SlaveId};
use std::sync::OnceLock;

// ---- links and bonds --------------------------------------------------------------------------

fn link(carrier: bool) -> LinkObservation {
    if carrier {
        LinkObservation { admin_up: true, carrier: true, speed_mbps: Some(1000), duplex: Duplex::Full }
    } else {
        LinkObservation { admin_up: true, carrier: false, speed_mbps: None, duplex: Duplex::Unknown }
    }
}

const BOND_MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0xf0, 0, 1]);

fn slave_mac(id: u32) -> MacAddr {
    MacAddr([0x02, 0x00, 0x5e, 0xf1, (id >> 8) as u8, id as u8])
}

/// An up bond: `opts` written in order, the rng seeded with `seed` before any slave (so a
/// balance-rr bond starts its sequence as `FastPathState::new(seed)`), slaves with ids
/// 10, 11, ... named eth0, eth1, ... with their links up.
fn bond_with(opts: &[(&str, &str)], seed: u32, n: u32) -> Bond {
    let mut b = Bond::new("bond0", BOND_MAC, "6.1.0-25-amd64");
    for (k, v) in opts {
        b.set_option(k, v, 0).unwrap_or_else(|e| panic!("{k}={v}: {e:?}"));
    }
    b.seed_rng(seed);
    for i in 0..n {
        b.enslave(SlaveId(10 + i), &format!("eth{i}"), slave_mac(10 + i), link(true), 0).expect("enslave");
    }
    b.set_admin_up(true, 0);
    b
}

fn drain(b: &mut Bond) {
    while b.poll_action().is_some() {}
}

/// The carrier of slave `eth<i>` changes at `now` (the MII monitor inspects it at once).
fn carrier(b: &mut Bond, i: u32, on: bool, now: u64) {
    b.link_observed(SlaveId(10 + i), link(on), now);
}

/// [`bond_with`], then the carrier of the slaves at positions `down` is lost.
fn bond_down(opts: &[(&str, &str)], seed: u32, n: u32, down: &[u32]) -> Bond {
    let mut b = bond_with(opts, seed, n);
    for &i in down {
        carrier(&mut b, i, false, 10);
    }
    b
}

/// A bond and the seed its balance-rr sequence started from.
struct Scenario {
    name: String,
    bond: Bond,
    seed: u32,
}

fn scenario(name: &str, bond: Bond, seed: u32) -> Scenario {
    let mut bond = bond;
    drain(&mut bond);
    assert!(bond.fast_path().is_some(), "{name}: a snapshot");
    Scenario { name: name.to_string(), bond, seed }
}

fn rr_scenarios() -> Vec<Scenario> {
    let mut v = Vec::new();
    for (pps, seed) in [("1", 7), ("3", 8), ("0", 0x1234_5678)] {
        let opts = [("mode", "balance-rr"), ("miimon", "100"), ("packets_per_slave", pps)];
        v.push(scenario(&format!("rr pps={pps}, 3 up"), bond_with(&opts, seed, 3), seed));
        v.push(scenario(&format!("rr pps={pps}, eth1 down of 4"), bond_down(&opts, seed, 4, &[1]), seed));
        v.push(scenario(&format!("rr pps={pps}, the active slave eth0 down"), bond_down(&opts, seed, 2, &[0]), seed));
    }
    v.push(scenario("rr, every link down", bond_down(&[("mode", "balance-rr"), ("miimon", "100")], 3, 3, &[0, 1, 2]), 3));
    // A slave released: ids are no longer positions.
    let mut b = bond_with(&[("mode", "balance-rr"), ("miimon", "100"), ("packets_per_slave", "2")], 4, 4);
    b.release(SlaveId(11), 10);
    v.push(scenario("rr pps=2, eth1 released", b, 4));
    v
}

fn ab_scenarios() -> Vec<Scenario> {
    let ab = [("mode", "active-backup"), ("miimon", "100")];
    let mut v = vec![scenario("ab, 2 up", bond_with(&ab, 1, 2), 1)];
    let mut b = bond_with(&ab, 1, 3);
    b.set_option("active_slave", "eth2", 10).unwrap();
    v.push(scenario("ab, active slave set to eth2", b, 1));
    let primary = [("mode", "active-backup"), ("miimon", "100"), ("primary", "eth1")];
    v.push(scenario("ab, primary eth1, eth2 down", bond_down(&primary, 1, 3, &[2]), 1));
    v.push(scenario("ab, failover after eth0 down", bond_down(&ab, 1, 3, &[0]), 1));
    let mut b = bond_with(&[("mode", "active-backup"), ("miimon", "100"), ("all_slaves_active", "1")], 1, 3);
    b.set_option("active_slave", "eth1", 10).unwrap();
    v.push(scenario("ab, all_slaves_active", b, 1));
    let mut b = bond_down(&[("mode", "active-backup"), ("miimon", "100"), ("updelay", "300")], 1, 2, &[0]);
    carrier(&mut b, 0, true, 20);
    v.push(scenario("ab, eth0 back in its updelay", b, 1));
    v.push(scenario("ab, no slave up", bond_down(&ab, 1, 2, &[0, 1]), 1));
    let mut b = bond_with(&ab, 1, 2);
    b.set_admin_up(false, 10);
    v.push(scenario("ab, bond down", b, 1));
    v
}

fn xor_scenarios() -> Vec<Scenario> {
    let mut v = Vec::new();
    for (policy, n) in [("layer2", 2), ("layer3+4", 3), ("layer2+3", 4), ("encap2+3", 3), ("encap3+4", 2), ("vlan+srcmac", 3)] {
        let opts = [("mode", "balance-xor"), ("miimon", "100"), ("xmit_hash_policy", policy)];
        v.push(scenario(&format!("xor {policy}, {n} up"), bond_with(&opts, 1, n), 1));
        v.push(scenario(&format!("xor {policy}, eth1 down of {}", n + 1), bond_down(&opts, 1, n + 1, &[1]), 1));
    }
    v.push(scenario("xor, every link down", bond_down(&[("mode", "balance-xor"), ("miimon", "100")], 1, 2, &[0, 1]), 1));
    v
}

fn broadcast_scenarios() -> Vec<Scenario> {
    let opts = [("mode", "broadcast"), ("miimon", "100")];
    let mut v = vec![scenario("broadcast, 3 up", bond_with(&opts, 1, 3), 1)];
    v.push(scenario("broadcast, eth2 down of 4", bond_down(&opts, 1, 4, &[2]), 1));
    v.push(scenario("broadcast, every link down", bond_down(&opts, 1, 2, &[0, 1]), 1));
    v
}

// ---- 802.3ad: a bond wired to an LACP partner bond on a virtual clock ---------------------------

/// What crosses a cable: (towards the left bond, receiving slave id, frame).
type Hop = (bool, SlaveId, Vec<u8>);

/// Runs `left` and `right` for `ms` on 10 ms steps; a frame one sends on a slave with a cable
/// arrives on the other end at once. Every LACP frame reaching `left` is first checked against
/// its snapshot: the fast path hands it to the core, and the core takes it.
fn wire(left: &mut Bond, right: &mut Bond, cables: &[(u32, u32)], now: &mut u64, ms: u64) {
    let end = *now + ms;
    while *now < end {
        *now += 10;
        left.tick(*now);
        right.tick(*now);
        loop {
            let mut hops: Vec<Hop> = Vec::new();
            for (to_left, b) in [(false, &mut *left), (true, &mut *right)] {
                while let Some(a) = b.poll_action() {
                    let Action::SendFrame { slave, frame } = a else { continue };
                    let peer = cables.iter().find(|&&(l, r)| if to_left { r == slave.0 } else { l == slave.0 });
                    if let Some(&(l, r)) = peer {
                        hops.push((to_left, SlaveId(if to_left { l } else { r }), frame));
                    }
                }
            }
            if hops.is_empty() {
                break;
            }
            for (to_left, id, mut frame) in hops {
                if !to_left {
                    right.rx(id, &mut frame, *now);
                    continue;
                }
                let fp = left.fast_path().expect("802.3ad has a snapshot");
                assert_eq!(fp.rx(id, &frame), RxVerdict::ToCore, "an LACP frame goes to the core");
                assert_eq!(left.rx(id, &mut frame, *now), RxDecision::Consumed);
            }
        }
    }
}

fn ad_bond(name: &str, mac_last: u8, base: u32, n: u32, policy: &str) -> Bond {
    let mut b = Bond::new(name, MacAddr([0x02, 0x00, 0x5e, 0xf2, 0, mac_last]), "6.1.0-25-amd64");
    for (k, v) in [("mode", "802.3ad"), ("lacp_rate", "fast"), ("xmit_hash_policy", policy)] {
        b.set_option(k, v, 0).unwrap();
    }
    for i in 0..n {
        b.enslave(SlaveId(base + i), &format!("{name}p{i}"), MacAddr([0x02, 0x00, 0x5e, mac_last, 0, i as u8]), link(true), 0).unwrap();
    }
    b.set_admin_up(true, 0);
    b
}

fn ad_scenarios() -> Vec<Scenario> {
    let mut v = Vec::new();
    // Every port cabled to the partner: all three distribute.
    let (mut l, mut r, mut now) = (ad_bond("bond0", 1, 10, 3, "layer3+4"), ad_bond("po0", 2, 100, 3, "layer3+4"), 0);
    let cables = [(10, 100), (11, 101), (12, 102)];
    wire(&mut l, &mut r, &cables, &mut now, 5_000);
    assert_eq!(l.tx_slaves(), &[SlaveId(10), SlaveId(11), SlaveId(12)]);
    v.push(scenario("802.3ad, 3 ports distributing", l.clone(), 1));
    // Then port 12's cable is pulled.
    l.link_observed(SlaveId(12), link(false), now);
    r.link_observed(SlaveId(102), link(false), now);
    wire(&mut l, &mut r, &cables[..2], &mut now, 2_000);
    assert_eq!(l.tx_slaves(), &[SlaveId(10), SlaveId(11)]);
    v.push(scenario("802.3ad, port 12 pulled", l, 1));

    // Port 11 is up but cabled to nobody: it never distributes (and does not collect).
    let (mut l, mut r, mut now) = (ad_bond("bond0", 1, 10, 3, "layer2+3"), ad_bond("po0", 2, 100, 2, "layer2+3"), 0);
    wire(&mut l, &mut r, &[(10, 100), (12, 101)], &mut now, 5_000);
    assert_eq!(l.tx_slaves(), &[SlaveId(10), SlaveId(12)]);
    assert!(l.slave(SlaveId(11)).unwrap().inactive, "a port that is not collecting drops what it receives");
    v.push(scenario("802.3ad, port 11 not distributing", l, 1));

    // No partner at all: one individual port carries the traffic.
    let (mut l, mut r, mut now) = (ad_bond("bond0", 1, 10, 2, "layer2"), ad_bond("po0", 2, 100, 2, "layer2"), 0);
    wire(&mut l, &mut r, &[], &mut now, 5_000);
    v.push(scenario("802.3ad, no partner", l, 1));
    v
}

fn scenarios() -> &'static [Scenario] {
    static ALL: OnceLock<Vec<Scenario>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v = rr_scenarios();
        v.extend(ab_scenarios());
        v.extend(xor_scenarios());
        v.extend(broadcast_scenarios());
        v.extend(ad_scenarios());
        v
    })
}

// ---- frames -------------------------------------------------------------------------------------

fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = [&dst[..], &src[..], &ethertype.to_be_bytes()[..], payload].concat();
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// An L4 header with these ports (TCP-sized; UDP reads the first 8 bytes).
fn l4(sport: u16, dport: u16) -> Vec<u8> {
    let mut t = [sport.to_be_bytes(), dport.to_be_bytes()].concat();
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
    t
}

/// IPv4 (IHL 5) with `frag` as the flags/fragment-offset field, then `rest`.
fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, frag: u16, rest: &[u8]) -> Vec<u8> {
    let total = (20 + rest.len()) as u16;
    let hdr = [&[0x45, 0][..], &total.to_be_bytes(), &[0, 1], &frag.to_be_bytes(), &[64, proto, 0, 0], &src, &dst].concat();
    [hdr, rest.to_vec()].concat()
}

fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, flow: u32, rest: &[u8]) -> Vec<u8> {
    let first = 0x6000_0000u32 | (flow & 0xf_ffff);
    let hdr = [&first.to_be_bytes()[..], &(rest.len() as u16).to_be_bytes(), &[next, 64], &src, &dst].concat();
    [hdr, rest.to_vec()].concat()
}

fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    [&[0, 1, 0x08, 0x00, 6, 4][..], &op.to_be_bytes(), &sha, &spa, &[0; 6], &tpa].concat()
}

/// One 802.1Q tag inserted after the source MAC.
fn tagged(f: Vec<u8>, tci: u16) -> Vec<u8> {
    [&f[..12], &[0x81, 0x00], &tci.to_be_bytes(), &f[12..]].concat()
}

/// EtherType 0x8809 (Slow Protocols), behind at most one 802.1Q tag, written out by hand.
fn is_slow(f: &[u8]) -> bool {
    match f.get(12..14) {
        Some([0x88, 0x09]) => true,
        Some([0x81, 0x00]) => matches!(f.get(16..18), Some([0x88, 0x09])),
        _ => false,
    }
}

fn mac_s() -> impl Strategy<Value = [u8; 6]> {
    prop_oneof![
        Just(BOND_MAC.0),
        Just(slave_mac(10).0),
        Just([0xff; 6]),
        any::<[u8; 3]>().prop_map(|t| [0x01, 0x00, 0x5e, t[0] & 0x7f, t[1], t[2]]),
        Just([0x01, 0x80, 0xc2, 0, 0, 0x02]),
        any::<[u8; 6]>(),
    ]
}

fn frame_s() -> impl Strategy<Value = Vec<u8>> {
    let ip4 = (mac_s(), mac_s(), any::<[u8; 4]>(), any::<[u8; 4]>(), prop::sample::select(vec![6u8, 17]), prop_oneof![Just(0x4000u16), any::<u16>()], any::<(u16, u16)>())
        .prop_map(|(d, s, sip, dip, p, frag, (sp, dp))| eth(d, s, 0x0800, &ipv4(sip, dip, p, frag, &l4(sp, dp))));
    let ip6 = (mac_s(), mac_s(), any::<[u8; 16]>(), any::<[u8; 16]>(), prop::sample::select(vec![6u8, 17, 58, 44]), any::<u32>(), any::<(u16, u16)>())
        .prop_map(|(d, s, sip, dip, nh, fl, (sp, dp))| eth(d, s, 0x86dd, &ipv6(sip, dip, nh, fl, &l4(sp, dp))));
    let arp_f = (mac_s(), mac_s(), 1u16..=2, any::<[u8; 4]>(), any::<[u8; 4]>())
        .prop_map(|(d, s, op, spa, tpa)| eth(d, s, 0x0806, &arp(op, s, spa, tpa)));
    let igmp = (mac_s(), any::<[u8; 4]>(), any::<u8>())
        .prop_map(|(s, g, t)| eth([0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]], s, 0x0800, &ipv4([198, 18, 0, 9], [224 | (g[0] & 0x0f), g[1], g[2], g[3]], 2, 0, &[t, 0, 0, 0, 239, 1, 1, 1])));
    let lacp = (mac_s(), prop_oneof![Just(1u8), Just(2u8), any::<u8>()], prop::collection::vec(any::<u8>(), 0..120))
        .prop_map(|(s, sub, rest)| eth([0x01, 0x80, 0xc2, 0, 0, 0x02], s, 0x8809, &[&[sub, 1][..], &rest].concat()));
    let slow_other = (mac_s(), mac_s(), prop::collection::vec(any::<u8>(), 0..60)).prop_map(|(d, s, p)| eth(d, s, 0x8809, &p));
    let bcast = (mac_s(), any::<u16>(), prop::collection::vec(any::<u8>(), 0..60)).prop_map(|(s, et, p)| eth([0xff; 6], s, et, &p));
    let random = prop::collection::vec(any::<u8>(), 0..80);
    let base = prop_oneof![4 => ip4, 3 => ip6, 2 => arp_f, 2 => igmp, 2 => lacp, 1 => slow_other, 1 => bcast, 1 => random];
    (base, prop::option::weighted(0.3, any::<u16>())).prop_map(|(f, tci)| match tci {
        Some(t) if f.len() >= 14 => tagged(f, t),
        _ => f,
    })
}

// ---- the comparison -----------------------------------------------------------------------------

/// A transmit decision without the borrow, to compare across the two deciders.
#[derive(Debug, PartialEq, Eq)]
enum Owned {
    Drop,
    Slave(SlaveId),
    Each(Vec<SlaveId>),
}

fn owned(d: TxDecision) -> Owned {
    match d {
        TxDecision::Drop => Owned::Drop,
        TxDecision::Slave(id) => Owned::Slave(id),
        TxDecision::Each(ids) => Owned::Each(ids.to_vec()),
    }
}

/// Every frame through `Bond::tx` and `FastPath::tx` in turn, then received on every slave
/// (and on an id that is no slave) through `Bond::rx` and `FastPath::rx`, on a copy of the
/// scenario's bond and a fresh state with its seed.
fn check(sc: &Scenario, frames: &[Vec<u8>]) -> Result<(), TestCaseError> {
    check_live(&sc.name, &mut sc.bond.clone(), &mut FastPathState::new(sc.seed), frames)
}

/// As [`check`], on `bond` itself and a state `st` that has counted the same frames.
fn check_live(name: &str, bond: &mut Bond, st: &mut FastPathState, frames: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let fp = bond.fast_path().expect("a snapshot");
    let ad = bond.opts().mode == rbond_core::Mode::Ieee8023ad;
    for (k, f) in frames.iter().enumerate() {
        let (mut a, mut b) = (f.clone(), f.clone());
        let want = owned(bond.tx(&mut a));
        let got = owned(fp.tx(st, &mut b));
        prop_assert_eq!(&got, &want, "{}: tx of frame {} {:02x?}", name, k, f);
        prop_assert!(a == *f && b == *f, "neither changes the frame");
    }
    let ids: Vec<SlaveId> = fp.slaves().chain([SlaveId(999)]).collect();
    for f in frames {
        for &id in &ids {
            let got = fp.rx(id, f);
            if ad && is_slow(f) && id != SlaveId(999) {
                prop_assert_eq!(got, RxVerdict::ToCore, "{}: slow frame on {:?}", name, id);
                continue;
            }
            let want = match bond.rx(id, &mut f.clone(), 1_000_000) {
                RxDecision::Deliver => RxVerdict::Deliver,
                RxDecision::Drop => RxVerdict::Drop,
                RxDecision::Consumed => RxVerdict::ToCore,
            };
            prop_assert_eq!(got, want, "{}: rx on {:?} of {:02x?}", name, id, f);
        }
    }
    // Nothing the frames did changed what the snapshot holds.
    prop_assert_eq!(bond.fast_path(), Some(fp), "{}", name);
    Ok(())
}

/// Something that happens to a bond between frames.
#[derive(Clone, Debug)]
enum Event {
    /// The carrier of the slave at this position (modulo the count) changes.
    Carrier(usize, bool),
    /// Time passes (monitor ticks, up/down delays end).
    Tick(u64),
    /// `active_slave` is written with this slave's name (refused unless it can be).
    ActiveSlave(usize),
    /// `primary` is written with this slave's name.
    Primary(usize),
    /// all_slaves_active is written.
    AllSlavesActive(bool),
    /// A slave is released (never the last one).
    Release(usize),
    /// A new slave is enslaved.
    Enslave,
    /// The bond is taken down or brought up.
    Admin(bool),
}

fn event_s() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (any::<usize>(), any::<bool>()).prop_map(|(i, on)| Event::Carrier(i, on)),
        3 => (1u64..400).prop_map(Event::Tick),
        1 => any::<usize>().prop_map(Event::ActiveSlave),
        1 => any::<usize>().prop_map(Event::Primary),
        1 => any::<bool>().prop_map(Event::AllSlavesActive),
        1 => any::<usize>().prop_map(Event::Release),
        1 => Just(Event::Enslave),
        1 => any::<bool>().prop_map(Event::Admin),
    ]
}

/// Applies `e` at `now`; `next_id` numbers new slaves.
fn apply(b: &mut Bond, e: &Event, now: u64, next_id: &mut u32) {
    let n = b.slaves().len();
    let name = |b: &Bond, i: usize| b.slaves()[i % n].name.clone();
    match *e {
        Event::Carrier(i, on) => b.link_observed(b.slaves()[i % n].id, link(on), now),
        Event::Tick(_) => b.tick(now),
        // Refusals (a slave that is down, a mode without an active slave) are part of the run.
        Event::ActiveSlave(i) => drop(b.set_option("active_slave", &name(b, i), now)),
        Event::Primary(i) => drop(b.set_option("primary", &name(b, i), now)),
        Event::AllSlavesActive(on) => drop(b.set_option("all_slaves_active", if on { "1" } else { "0" }, now)),
        Event::Release(i) if n > 1 => b.release(b.slaves()[i % n].id, now),
        Event::Release(_) => {}
        Event::Enslave => {
            *next_id += 1;
            let id = *next_id;
            b.enslave(SlaveId(id), &format!("eth{}", id - 10), slave_mac(id), link(true), now).expect("enslave");
        }
        Event::Admin(up) => b.set_admin_up(up, now),
    }
    drain(b);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Modes 0–3 through random event sequences: after every event the fresh snapshot
    /// decides the next frames as the bond does, with one rr sequence running throughout.
    #[test]
    fn fast_path_follows_the_bond_through_events(
        mode in prop::sample::select(vec!["balance-rr", "active-backup", "balance-xor", "broadcast"]),
        n in 2u32..=4,
        pps in prop::sample::select(vec!["0", "1", "3"]),
        policy in prop::sample::select(vec!["layer2", "layer3+4", "layer2+3"]),
        delays in any::<bool>(),
        seed in any::<u32>(),
        events in prop::collection::vec((event_s(), prop::collection::vec(frame_s(), 1..6)), 1..25),
    ) {
        let mut opts = vec![("mode", mode), ("miimon", "100")];
        match mode {
            "balance-rr" => opts.push(("packets_per_slave", pps)),
            "balance-xor" => opts.push(("xmit_hash_policy", policy)),
            _ => {}
        }
        if delays {
            opts.extend([("updelay", "200"), ("downdelay", "200")]);
        }
        let mut b = bond_with(&opts, seed, n);
        drain(&mut b);
        let mut st = FastPathState::new(seed);
        let (mut now, mut next_id) = (0, 9 + n);
        for (k, (e, frames)) in events.iter().enumerate() {
            now += if let Event::Tick(dt) = e { *dt } else { 1 };
            apply(&mut b, e, now, &mut next_id);
            check_live(&format!("{mode} after event {k} {e:?}"), &mut b, &mut st, frames)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_decides_as_the_bond(frames in prop::collection::vec(frame_s(), 1..40)) {
        for sc in scenarios() {
            check(sc, &frames)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// 802.3ad with an LACP partner while cables are pulled and plugged again: after every
    /// change and some time, the snapshot decides as the bond (and LACP frames arriving
    /// meanwhile get ToCore, checked in `wire`).
    #[test]
    fn fast_path_follows_lacp_through_cable_changes(
        n in 2u32..=4,
        policy in prop::sample::select(vec!["layer2", "layer3+4", "encap2+3"]),
        steps in prop::collection::vec((any::<usize>(), 50u64..3_000, prop::collection::vec(frame_s(), 1..8)), 1..8),
    ) {
        let (mut l, mut r, mut now) = (ad_bond("bond0", 1, 10, n, policy), ad_bond("po0", 2, 100, n, policy), 0);
        let mut cables: Vec<(u32, u32)> = (0..n).map(|i| (10 + i, 100 + i)).collect();
        wire(&mut l, &mut r, &cables, &mut now, 4_000);
        let mut st = FastPathState::new(1);
        for (k, (port, ms, frames)) in steps.iter().enumerate() {
            let i = (*port % n as usize) as u32;
            let cabled = cables.iter().any(|c| c.0 == 10 + i);
            cables.retain(|c| c.0 != 10 + i);
            if !cabled {
                cables.push((10 + i, 100 + i));
            }
            l.link_observed(SlaveId(10 + i), link(!cabled), now);
            r.link_observed(SlaveId(100 + i), link(!cabled), now);
            wire(&mut l, &mut r, &cables, &mut now, *ms);
            drain(&mut l);
            check_live(&format!("802.3ad step {k}: port {} {}", 10 + i, if cabled { "pulled" } else { "plugged" }), &mut l, &mut st, frames)?;
        }
    }
}

// ---- fixed checks -------------------------------------------------------------------------------

#[test]
fn scenarios_cover_the_states_they_name() {
    let all = scenarios();
    let get = |n: &str| &all.iter().find(|s| s.name == n).unwrap_or_else(|| panic!("{n}")).bond;
    assert_eq!(get("ab, active slave set to eth2").active_slave(), Some(SlaveId(12)));
    assert_eq!(get("ab, active slave set to eth2").tx_slaves(), &[SlaveId(12)], "the transmit array follows active_slave");
    assert_eq!(get("ab, primary eth1, eth2 down").active_slave(), Some(SlaveId(11)));
    assert_eq!(get("ab, failover after eth0 down").active_slave(), Some(SlaveId(11)));
    assert!(get("ab, all_slaves_active").slaves().iter().all(|s| !s.inactive));
    assert!(get("ab, failover after eth0 down").slaves().iter().any(|s| s.inactive), "backups drop");
    assert_eq!(get("ab, no slave up").tx_slaves(), &[] as &[SlaveId]);
    assert_eq!(get("rr pps=1, eth1 down of 4").tx_slaves(), &[SlaveId(10), SlaveId(12), SlaveId(13)]);
    assert_eq!(get("broadcast, eth2 down of 4").tx_slaves().len(), 3);
    assert_eq!(get("802.3ad, no partner").tx_slaves().len(), 1);
}

/// A fresh bond and a fresh state give the same balance-rr sequence, frame for frame, and so
/// do two workers' states with the same seed.
#[test]
fn rr_sequence_of_a_fresh_state_is_the_bond_sequence() {
    for (pps, seed) in [("1", 1), ("3", 2), ("0", 0xdead_beef), ("0", 42)] {
        let mut b = bond_with(&[("mode", "balance-rr"), ("miimon", "100"), ("packets_per_slave", pps)], seed, 3);
        let fp = b.fast_path().unwrap();
        let (mut st, mut st2) = (FastPathState::new(seed), FastPathState::new(seed));
        let mut f = eth([0x02, 0, 0, 0, 0, 9], slave_mac(10).0, 0x0800, &ipv4([198, 18, 0, 1], [198, 18, 0, 2], 17, 0, &l4(1, 2)));
        let mut seq = Vec::new();
        for _ in 0..300 {
            let want = owned(b.tx(&mut f));
            assert_eq!(owned(fp.tx(&mut st, &mut f)), want, "pps={pps}");
            assert_eq!(owned(fp.tx(&mut st2, &mut f)), want, "pps={pps}");
            seq.push(want);
        }
        // Every slave gets frames, in turns of pps frames for pps > 0.
        for id in 10..13 {
            assert!(seq.contains(&Owned::Slave(SlaveId(id))), "pps={pps}: eth{}", id - 10);
        }
        if pps == "3" {
            let ten: Vec<u32> = seq[..10].iter().map(|o| if let Owned::Slave(s) = o { s.0 } else { 0 }).collect();
            // Counters 1..10 over 3: ids 0,0,1,1,1,2,2,2,3→0,3→0.
            assert_eq!(ten, vec![10, 10, 11, 11, 11, 12, 12, 12, 10, 10]);
        }
    }
}

#[test]
fn no_snapshot_for_tlb_alb_and_the_arp_monitor() {
    for mode in ["balance-tlb", "balance-alb"] {
        let b = bond_with(&[("mode", mode), ("miimon", "100")], 1, 2);
        assert_eq!(b.fast_path(), None, "{mode}");
    }
    for mode in ["balance-rr", "active-backup", "balance-xor", "broadcast"] {
        let mut b = bond_with(&[("mode", mode), ("arp_ip_target", "+198.18.0.1"), ("arp_interval", "100")], 1, 2);
        assert_eq!(b.fast_path(), None, "{mode}: the ARP monitor sees every frame");
        b.set_option("arp_interval", "0", 10).unwrap();
        assert!(b.fast_path().is_some(), "{mode}: a snapshot once arp_interval is 0 again");
        b.set_option("arp_interval", "200", 20).unwrap();
        assert_eq!(b.fast_path(), None, "{mode}");
    }
    // 802.3ad has one; setting the mode back from tlb brings it back.
    let mut b = Bond::new("bond0", BOND_MAC, "6.1.0-25-amd64");
    b.set_option("mode", "balance-alb", 0).unwrap();
    assert_eq!(b.fast_path(), None);
    b.set_option("mode", "802.3ad", 0).unwrap();
    assert!(b.fast_path().is_some());
}

#[test]
fn snapshot_changes_with_a_failover_and_only_then() {
    let mut b = bond_with(&[("mode", "active-backup"), ("miimon", "100")], 1, 3);
    drain(&mut b);
    let before = b.fast_path().unwrap();
    // Time passes, frames come and go: nothing the per-frame path reads changes.
    b.tick(100);
    b.tick(200);
    let mut f = eth([0xff; 6], slave_mac(99).0, 0x0806, &arp(1, slave_mac(99).0, [198, 18, 0, 9], [198, 18, 0, 1]));
    b.tx(&mut f);
    b.rx(SlaveId(11), &mut f, 250);
    assert_eq!(b.fast_path().as_ref(), Some(&before));
    assert_eq!(before.clone(), before);

    let mut st = FastPathState::new(1);
    assert_eq!(before.tx(&mut st, &mut f), TxDecision::Slave(SlaveId(10)));
    assert_eq!(before.rx(SlaveId(11), &f), RxVerdict::Drop, "a backup drops");
    carrier(&mut b, 0, false, 300);
    let after = b.fast_path().unwrap();
    assert_ne!(after, before, "the failover changes the snapshot");
    assert_eq!(after.tx(&mut st, &mut f), TxDecision::Slave(SlaveId(11)));
    assert_eq!(after.rx(SlaveId(11), &f), RxVerdict::Deliver);
    // The old snapshot still answers for the state it was taken from.
    assert_eq!(before.tx(&mut st, &mut f), TxDecision::Slave(SlaveId(10)));

    // The link comes back: eth0 is a backup now (no primary), which transmits and receives
    // nothing, as while it was down: the snapshot is the same (nothing to publish).
    carrier(&mut b, 0, true, 400);
    b.tick(500);
    assert_eq!(b.active_slave(), Some(SlaveId(11)));
    assert_eq!(b.slave(SlaveId(10)).unwrap().link, rbond_core::LinkState::Up);
    assert_eq!(b.fast_path().as_ref(), Some(&after));
    // The administrator moves the active slave back: a new snapshot.
    b.set_option("active_slave", "eth0", 600).unwrap();
    let moved = b.fast_path().unwrap();
    assert_ne!(moved, after);
    assert_eq!(moved, before, "the same picture as at the start");
}

#[test]
fn slaves_in_enslave_order_and_the_snapshot_is_shareable() {
    fn shareable<T: Clone + Send + Sync + PartialEq + 'static>() {}
    shareable::<FastPath>();
    let mut b = bond_with(&[("mode", "balance-xor"), ("miimon", "100")], 1, 4);
    b.release(SlaveId(11), 10);
    let fp = b.fast_path().unwrap();
    assert_eq!(fp.slaves().collect::<Vec<_>>(), vec![SlaveId(10), SlaveId(12), SlaveId(13)]);
    // Several workers deciding from one snapshot at once.
    let fp = std::sync::Arc::new(fp);
    let picks: Vec<Owned> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3)
            .map(|w| {
                let fp = fp.clone();
                s.spawn(move || {
                    let mut st = FastPathState::new(w);
                    let mut f = eth([0x02, 0, 0, 0, 0, 9], slave_mac(10).0, 0x0800, &ipv4([198, 18, 0, 1], [198, 19, 0, 2], 6, 0, &l4(5, 6)));
                    owned(fp.tx(&mut st, &mut f))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(picks.windows(2).all(|w| w[0] == w[1]), "one flow, one slave: {picks:?}");
}
