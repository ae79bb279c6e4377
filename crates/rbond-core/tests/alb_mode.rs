//! balance-tlb / balance-alb through the `Bond` (bond_alb.c: rlb_*–bond_alb.c: alb_send_learning_packets): the mode component
//! wiring RLB and the MAC planner — actions out, frames in, no I/O.
//!
//! Slaves eth0..ethN-1 have ids 10, 20, 30 and permanent MACs 02:00:5e:00:02:01.. ; the bond
//! starts with a random MAC and takes eth0's. Clients are 198.18.0.11.. with MACs
//! 02:00:00:00:cc:01.. .

use rbond_core::bond::{Action, Bond, RxDecision, TxDecision};
use rbond_core::frame::parse_arp;
use rbond_core::{Duplex, LinkObservation, MacAddr, SlaveId};
use std::net::Ipv4Addr;

const BOND_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

fn up() -> LinkObservation {
    LinkObservation { admin_up: true, carrier: true, speed_mbps: Some(1000), duplex: Duplex::Full }
}
fn down() -> LinkObservation {
    LinkObservation { admin_up: true, carrier: false, speed_mbps: None, duplex: Duplex::Unknown }
}
fn id(i: usize) -> SlaveId {
    SlaveId(10 * (i as u32 + 1))
}
fn perm(i: usize) -> MacAddr {
    MacAddr([0x02, 0x00, 0x5e, 0x00, 0x02, i as u8 + 1])
}
fn cip(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 11 + k as u8)
}
fn cmac(k: usize) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0xcc, k as u8 + 1])
}

/// A bond in `mode` with `n` slaves up, the bond up; returns it with the actions so far.
fn bond(mode: &str, n: usize, extra: &[(&str, &str)]) -> (Bond, Vec<Action>) {
    let mut b = Bond::new("bond0", MacAddr([0x02, 0x00, 0x5e, 0xb0, 0, 2]), "6.1.0-25-amd64");
    b.set_option("mode", mode, 0).unwrap();
    b.set_option("miimon", "100", 0).unwrap();
    for (k, v) in extra {
        b.set_option(k, v, 0).unwrap();
    }
    for i in 0..n {
        b.enslave(id(i), &format!("eth{i}"), perm(i), up(), 0).unwrap();
    }
    b.set_admin_up(true, 0);
    let a = drain(&mut b);
    (b, a)
}

fn drain(b: &mut Bond) -> Vec<Action> {
    std::iter::from_fn(|| b.poll_action()).collect()
}

fn set_macs(a: &[Action]) -> Vec<(SlaveId, MacAddr)> {
    a.iter()
        .filter_map(|x| match x {
            Action::SetSlaveMac { slave, mac } => Some((*slave, *mac)),
            _ => None,
        })
        .collect()
}

/// (slave, MAC) of every learning packet (EtherType 0x9000, destination = source).
fn learning(a: &[Action]) -> Vec<(SlaveId, MacAddr)> {
    a.iter()
        .filter_map(|x| match x {
            Action::SendFrame { slave, frame } if frame.len() == 60 && frame[12..14] == [0x90, 0x00] => {
                assert_eq!(frame[0..6], frame[6..12]);
                Some((*slave, MacAddr(frame[6..12].try_into().unwrap())))
            }
            _ => None,
        })
        .collect()
}

/// The bond's ARP reply to client `k` (what the host stack sends through bond0).
fn bond_reply(b: &Bond, k: usize) -> Vec<u8> {
    let m = b.mac();
    let mut f = cmac(k).0.to_vec();
    f.extend_from_slice(&m.0);
    f.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02]);
    f.extend_from_slice(&m.0);
    f.extend_from_slice(&BOND_IP.octets());
    f.extend_from_slice(&cmac(k).0);
    f.extend_from_slice(&cip(k).octets());
    f
}

/// Client `k`'s IPv4/UDP datagram to `dst`.
fn from_client(k: usize, dst: MacAddr) -> Vec<u8> {
    let mut f = dst.0.to_vec();
    f.extend_from_slice(&cmac(k).0);
    f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&cip(k).octets());
    f.extend_from_slice(&BOND_IP.octets());
    f.extend_from_slice(&[0x9c, 0x40, 0, 7, 0, 8, 0, 0]);
    f
}

fn cur_mac(b: &Bond, i: usize) -> MacAddr {
    b.slave(id(i)).unwrap().cur_mac
}

#[test]
fn alb_slaves_keep_their_own_macs_tlb_nics_take_the_bond_mac() {
    let (alb, a) = bond("balance-alb", 3, &[]);
    assert_eq!(alb.mac(), perm(0), "the bond took eth0's MAC");
    assert_eq!(set_macs(&a), vec![], "alb: no slave MAC changes at enslave");
    assert_eq!((0..3).map(|i| cur_mac(&alb, i)).collect::<Vec<_>>(), vec![perm(0), perm(1), perm(2)]);
    let (tlb, a) = bond("balance-tlb", 3, &[]);
    assert_eq!(set_macs(&a), vec![(id(1), perm(0)), (id(2), perm(0))], "tlb: every NIC filters the bond MAC");
    assert!((0..3).all(|i| cur_mac(&tlb, i) == perm(0)));
}

#[test]
fn alb_arp_replies_teach_each_client_another_slave() {
    let (mut b, _) = bond("balance-alb", 2, &[]);
    b.tick(0);
    let mut chosen = Vec::new();
    for k in 0..4 {
        let mut f = bond_reply(&b, k);
        let s = match b.tx(&mut f) {
            TxDecision::Slave(s) => s,
            d => panic!("{d:?}"),
        };
        let i = if s == id(0) { 0 } else { 1 };
        let arp = parse_arp(&f).unwrap();
        assert_eq!(arp.sha, cur_mac(&b, i), "client {k} is taught its slave's MAC");
        assert_eq!(f[6..12], cur_mac(&b, i).0, "and the frame leaves with that slave's source MAC");
        chosen.push(s);
    }
    // `__rlb_next_rx_slave` starts with the fastest usable slave, first in list order.
    assert_eq!(chosen, vec![id(0), id(1), id(0), id(1)], "round robin over the usable slaves");
    // The client table shows in the status (--json), by slave name and MAC.
    let st = b.status();
    let lb = st.lb.expect("tlb/alb status has the tables");
    assert_eq!(lb.rlb_clients.len(), 4);
    let c = lb.rlb_clients.iter().find(|c| c.ip == cip(0)).unwrap();
    assert_eq!((c.mac, c.slave.as_deref(), c.slave_mac), (Some(cmac(0)), Some("eth0"), Some(perm(0))));
    // A client's ARP reply is snooped by RLB but not consumed: the host stack gets it too.
    let mut reply = perm(0).0.to_vec();
    reply.extend_from_slice(&cmac(2).0);
    reply.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02]);
    reply.extend_from_slice(&cmac(2).0);
    reply.extend_from_slice(&cip(2).octets());
    reply.extend_from_slice(&perm(0).0);
    reply.extend_from_slice(&BOND_IP.octets());
    assert_eq!(b.rx(id(0), &mut reply, 50), RxDecision::Deliver);
}

#[test]
fn alb_receives_each_slaves_own_mac_and_hands_it_to_the_bond() {
    let (mut b, _) = bond("balance-alb", 2, &[]);
    // eth1 (not active) receives a frame for its own MAC: delivered, with the bond MAC.
    let mut f = from_client(0, perm(1));
    assert_eq!(b.rx(id(1), &mut f, 10), RxDecision::Deliver);
    assert_eq!(f[0..6], b.mac().0);
    // A copy for eth1's MAC flooded to eth0 is not eth0's: dropped, so no duplicate.
    assert_eq!(b.rx(id(0), &mut from_client(0, perm(1)), 10), RxDecision::Drop);
    // Broadcast only on the active slave.
    assert_eq!(b.rx(id(1), &mut from_client(0, MacAddr::BROADCAST), 10), RxDecision::Drop);
    assert_eq!(b.rx(id(0), &mut from_client(0, MacAddr::BROADCAST), 10), RxDecision::Deliver);
}

#[test]
fn alb_failover_swaps_macs_and_the_active_slave_receives_for_the_failed_one() {
    let (mut b, _) = bond("balance-alb", 2, &[]);
    b.tick(0);
    for (k, s) in [(0, 0), (1, 1)] {
        let mut f = bond_reply(&b, k);
        assert_eq!(b.tx(&mut f), TxDecision::Slave(id(s)));
    }
    drain(&mut b);
    b.link_observed(id(0), down(), 1000);
    let a = drain(&mut b);
    assert_eq!(b.active_slave(), Some(id(1)));
    // The bond MAC moves to eth1, eth1's MAC to the failed eth0: a swap (bond_alb.c: alb_set_slave_mac_addr, alb_swap_mac_addr).
    assert_eq!(set_macs(&a), vec![(id(0), perm(1)), (id(1), perm(0))]);
    assert_eq!((cur_mac(&b, 0), cur_mac(&b, 1)), (perm(1), perm(0)));
    // eth1 announces the bond MAC, and (promiscuous for 10 s) the MAC eth0 now has.
    assert!(a.contains(&Action::SetPromisc { slave: id(1), on: true }), "{a:?}");
    assert_eq!(learning(&a), vec![(id(1), perm(0)), (id(1), perm(1))]);
    // Clients still sending to eth1's old MAC reach the bond through eth1.
    let mut g = from_client(0, perm(1));
    assert_eq!(b.rx(id(1), &mut g, 1100), RxDecision::Deliver);
    assert_eq!(g[0..6], perm(0).0);
    // Client 1 (on eth1) is updated with eth1's new MAC, and client 0 (on the failed eth0)
    // moved to eth1: at the next tick (no ARP request from the bond is pending), then again
    // 2.1 s later (retries after a failure).
    let mut t = 1000;
    let mut updates = Vec::new();
    while t <= 4000 {
        t += 100;
        b.tick(t);
        for x in drain(&mut b) {
            if let Action::SendFrame { slave, frame } = x {
                if let Some(arp) = parse_arp(&frame) {
                    updates.push((t, slave, arp.sha, arp.tpa));
                }
            }
        }
    }
    assert!(!updates.is_empty(), "no client update");
    assert!(updates.iter().all(|u| u.1 == id(1) && u.2 == perm(0)), "{updates:?}");
    assert!(updates.iter().any(|u| u.3 == cip(0)) && updates.iter().any(|u| u.3 == cip(1)), "{updates:?}");
    let passes: Vec<u64> = updates.iter().map(|u| u.0).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    assert_eq!(passes, vec![1100, 3200], "{updates:?}");
    assert_eq!(updates.len(), 8, "2 replies per client and pass: {updates:?}");
    // Promiscuity ends 10 s later.
    let mut off = None;
    while t <= 12_000 {
        t += 100;
        b.tick(t);
        if drain(&mut b).contains(&Action::SetPromisc { slave: id(1), on: false }) {
            off = Some(t);
        }
    }
    assert_eq!(off, Some(11_000), "the first tick after 1000 + 9.9 s");
    // eth0 back: the clients are spread again at the next tick.
    b.link_observed(id(0), up(), 12_050);
    let a = drain(&mut b);
    assert!(learning(&a).contains(&(id(0), perm(1))), "a slave coming up announces its MAC at once: {a:?}");
    assert_eq!(b.active_slave(), Some(id(1)), "no primary: the active slave stays");
}

#[test]
fn release_and_daemon_stop_restore_permanent_macs() {
    // alb, after a swap: releasing the slave whose MAC the other one holds swaps back.
    let (mut b, _) = bond("balance-alb", 2, &[]);
    b.link_observed(id(0), down(), 100);
    b.link_observed(id(0), up(), 200);
    assert_eq!((cur_mac(&b, 0), cur_mac(&b, 1)), (perm(1), perm(0)));
    drain(&mut b);
    b.release(id(1), 300);
    let a = drain(&mut b);
    assert!(set_macs(&a).contains(&(id(1), perm(1))), "{a:?}");
    assert!(set_macs(&a).contains(&(id(0), perm(0))), "{a:?}");
    assert_eq!(cur_mac(&b, 0), perm(0));
    // tlb: releasing a slave gives its NIC its own MAC back; deleting the bond, all of them.
    let (mut t, _) = bond("balance-tlb", 3, &[]);
    t.release(id(2), 10);
    assert!(set_macs(&drain(&mut t)).contains(&(id(2), perm(2))));
    t.release_all();
    let m = set_macs(&drain(&mut t));
    assert!(m.contains(&(id(0), perm(0))) && m.contains(&(id(1), perm(1))), "{m:?}");
}

#[test]
fn learning_packets_every_lp_interval() {
    for (lp, rounds) in [("1", 3), ("2", 2)] {
        let (mut b, _) = bond("balance-alb", 2, &[("lp_interval", lp)]);
        let mut got = Vec::new();
        let mut t = 0;
        while t <= 2000 {
            b.tick(t);
            got.extend(learning(&drain(&mut b)));
            t = b.poll_timeout().unwrap().max(t + 1);
        }
        // Each slave for its own MAC, every lp_interval seconds (t = 0, 1, 2 s or 0, 2 s).
        assert_eq!(got.len(), 2 * rounds, "lp_interval {lp}: {got:?}");
        assert!(got.contains(&(id(0), perm(0))) && got.contains(&(id(1), perm(1))));
    }
}

#[test]
fn tlb_status_shows_the_tx_table() {
    let (mut b, _) = bond("balance-tlb", 2, &[]);
    b.tick(0);
    for k in 0..4 {
        let mut f = from_client(k, cmac(k));
        // From the bond to client k (the test frame's addresses reversed do not matter here).
        f[6..12].copy_from_slice(&b.mac().0);
        assert!(matches!(b.tx(&mut f), TxDecision::Slave(_)));
    }
    let lb = b.status().lb.unwrap();
    assert_eq!(lb.tx_table.len(), 4, "{lb:?}");
    assert!(lb.tx_table.iter().all(|e| e.slave == "eth0" && e.tx_bytes > 0), "new entries have no history yet: {lb:?}");
    assert!(lb.rlb_clients.is_empty());
    // After the 10 s rebalance the measured entries spread over both slaves.
    b.tick(10_000);
    for k in 0..4 {
        let mut f = from_client(k, cmac(k));
        f[6..12].copy_from_slice(&b.mac().0);
        b.tx(&mut f);
    }
    let lb = b.status().lb.unwrap();
    let on1 = lb.tx_table.iter().filter(|e| e.slave == "eth1").count();
    assert_eq!(on1, 2, "{lb:?}");
    assert!(lb.tx_table.iter().all(|e| e.load > 1), "{lb:?}");
}

#[test]
fn a_slave_without_a_speed_stays_down_until_one_is_read() {
    for mode in ["balance-tlb", "balance-alb"] {
        let (mut b, _) = bond(mode, 1, &[]);
        let no_speed = LinkObservation { admin_up: true, carrier: true, speed_mbps: None, duplex: Duplex::Unknown };
        let notes = b.enslave(id(1), "eth1", perm(1), no_speed, 0).unwrap();
        assert_eq!(notes, vec!["failed to get link speed/duplex".to_string()], "{mode}");
        let mut t = 0;
        while t < 1000 {
            t = b.poll_timeout().unwrap().max(t + 1);
            b.tick(t);
        }
        drain(&mut b);
        assert_eq!(b.slave(id(1)).unwrap().link, rbond_core::LinkState::Down, "{mode}: carrier but no speed");
        assert_eq!(b.tx_slaves(), &[id(0)], "{mode}");
        // The driver reads a speed at the next carrier event: the slave comes up.
        b.link_observed(id(1), LinkObservation { carrier: false, ..no_speed }, t + 1);
        b.link_observed(id(1), up(), t + 2);
        b.tick(t + 200);
        assert_eq!(b.slave(id(1)).unwrap().link, rbond_core::LinkState::Up, "{mode}");
        assert_eq!(b.tx_slaves(), &[id(0), id(1)], "{mode}");
    }
}
