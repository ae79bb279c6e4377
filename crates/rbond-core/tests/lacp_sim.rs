//! LACP simulation: `Lacp` engines back to back over simulated links on a virtual clock
//! (bond_3ad.c, IEEE 802.1AX, IEEE 802.1AX-2014 clause 6). Frames move between engines as the engines emit
//! them; each link can be pulled, lose frames at random (seeded RNG) or go silent one way.
//! Measured times are printed (`--nocapture`).

use rbond_core::lacp::state;
use rbond_core::lacp::{Lacp, LacpConfig, LacpOutput, PortId, PortLink};
use rbond_core::options::AdSelect;
use rbond_core::status::{churn, AdInfo, AggregatorInfo, BondStatus, LacpPduDetails, SlaveStatus};
use rbond_core::{Duplex, LinkState, MacAddr, Millis, Mode, XmitHashPolicy};
use std::collections::HashMap;

/// xorshift64*: a seeded RNG without new dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct End {
    eng: usize,
    port: PortId,
    speed: u32,
}

struct Link {
    a: End,
    b: End,
    up: bool,
    /// Probability that a LACPDU a→b / b→a is lost.
    loss_ab: f64,
    loss_ba: f64,
}

struct Sim {
    now: Millis,
    eng: Vec<Lacp>,
    links: Vec<Link>,
    rng: Rng,
    /// Send times of LACPDUs per (engine, port).
    tx: HashMap<(usize, PortId), Vec<Millis>>,
    /// Time of the last LACPDU delivered to (engine, port).
    last_rx: HashMap<(usize, PortId), Millis>,
    port_changes: Vec<(Millis, usize, PortId)>,
    agg_changes: Vec<(Millis, usize)>,
    logs: Vec<(usize, Option<PortId>, String)>,
}

fn mac(s: &str) -> MacAddr {
    MacAddr::parse(s).unwrap()
}

fn link(up: bool, speed: u32) -> PortLink {
    PortLink { up, speed_mbps: Some(speed), full_duplex: true }
}

impl Sim {
    fn new(seed: u64) -> Sim {
        Sim {
            now: 0,
            eng: vec![],
            links: vec![],
            rng: Rng(seed | 1),
            tx: HashMap::new(),
            last_rx: HashMap::new(),
            port_changes: vec![],
            agg_changes: vec![],
            logs: vec![],
        }
    }

    fn engine(&mut self, cfg: LacpConfig, bond_mac: MacAddr) -> usize {
        self.eng.push(Lacp::new(cfg, bond_mac));
        self.eng.len() - 1
    }

    /// Add a port on each engine and a cable between them (link up). Permanent MACs are
    /// 52:54:00:aa:00:<port> on engine 0, bb on engine 1, cc on engine 2.
    fn connect(&mut self, a: (usize, PortId, u32), b: (usize, PortId, u32)) -> usize {
        let perm = |e: usize, p: PortId| MacAddr([0x52, 0x54, 0x00, 0xaa + 0x11 * e as u8, (p >> 8) as u8, p as u8]);
        self.connect_macs(a, perm(a.0, a.1), b, perm(b.0, b.1))
    }

    fn connect_macs(&mut self, a: (usize, PortId, u32), perm_a: MacAddr, b: (usize, PortId, u32), perm_b: MacAddr) -> usize {
        self.eng[a.0].add_port(a.1, perm_a, link(true, a.2), self.now);
        self.eng[b.0].add_port(b.1, perm_b, link(true, b.2), self.now);
        self.links.push(Link {
            a: End { eng: a.0, port: a.1, speed: a.2 },
            b: End { eng: b.0, port: b.1, speed: b.2 },
            up: true,
            loss_ab: 0.0,
            loss_ba: 0.0,
        });
        self.pump();
        self.links.len() - 1
    }

    fn pump(&mut self) {
        loop {
            let mut any = false;
            for e in 0..self.eng.len() {
                while let Some(o) = self.eng[e].poll_output() {
                    any = true;
                    match o {
                        LacpOutput::Send { port, frame } => self.deliver(e, port, frame),
                        LacpOutput::PortChanged { port } => self.port_changes.push((self.now, e, port)),
                        LacpOutput::AggregatorChanged => self.agg_changes.push((self.now, e)),
                        LacpOutput::Log { port, msg } => self.logs.push((e, port, msg)),
                    }
                }
            }
            if !any {
                break;
            }
        }
    }

    fn deliver(&mut self, e: usize, port: PortId, frame: Vec<u8>) {
        assert_eq!(frame.len(), 124);
        let lacpdu = frame[14] == 1;
        if lacpdu {
            self.tx.entry((e, port)).or_default().push(self.now);
        }
        let Some(l) = self.links.iter().position(|l| (l.a.eng, l.a.port) == (e, port) || (l.b.eng, l.b.port) == (e, port))
        else {
            return;
        };
        let lk = &self.links[l];
        if !lk.up {
            return;
        }
        let (to, loss) = if (lk.a.eng, lk.a.port) == (e, port) {
            ((lk.b.eng, lk.b.port), lk.loss_ab)
        } else {
            ((lk.a.eng, lk.a.port), lk.loss_ba)
        };
        if lacpdu && loss > 0.0 && self.rng.unit() < loss {
            return;
        }
        if lacpdu {
            self.last_rx.insert(to, self.now);
        }
        let now = self.now;
        self.eng[to.0].rx(to.1, &frame, now);
    }

    /// Advance to the next engine tick (not beyond `end`); false if nothing is scheduled.
    fn step(&mut self, end: Millis) -> bool {
        let next = self.eng.iter().filter_map(|e| e.poll_timeout()).min();
        match next {
            Some(t) if t <= end => {
                self.now = self.now.max(t);
                for e in 0..self.eng.len() {
                    if self.eng[e].poll_timeout().is_some_and(|t| t <= self.now) {
                        let now = self.now;
                        self.eng[e].tick(now);
                        self.pump();
                    }
                }
                true
            }
            _ => {
                self.now = self.now.max(end);
                false
            }
        }
    }

    /// Run until `cond` holds (checked after every tick) or `end`; the time it first held.
    fn run_until(&mut self, end: Millis, cond: impl Fn(&Sim) -> bool) -> Option<Millis> {
        if cond(self) {
            return Some(self.now);
        }
        while self.now < end {
            if !self.step(end) {
                break;
            }
            if cond(self) {
                return Some(self.now);
            }
        }
        None
    }

    fn run_for(&mut self, d: Millis) {
        let end = self.now + d;
        self.run_until(end, |_| false);
    }

    fn set_link(&mut self, l: usize, up: bool) {
        self.links[l].up = up;
        let now = self.now;
        let (a, b) = (&self.links[l].a, &self.links[l].b);
        let (ae, ap, asp, be, bp, bsp) = (a.eng, a.port, a.speed, b.eng, b.port, b.speed);
        self.eng[ae].set_link(ap, link(up, asp), now);
        self.eng[be].set_link(bp, link(up, bsp), now);
        self.pump();
    }

    fn bond_up(&mut self, e: usize) {
        let now = self.now;
        self.eng[e].bond_up(now);
        self.pump();
    }

    /// Every listed port of engine `e` is in the active aggregator, which has a partner, and
    /// collects and distributes with its mux in COLLECTING_DISTRIBUTING (actor state bits).
    fn aggregated(&self, e: usize, ports: &[PortId]) -> bool {
        let l = &self.eng[e];
        let Some(act) = l.active_aggregator() else { return false };
        let bits = state::SYNCHRONIZATION | state::COLLECTING | state::DISTRIBUTING;
        !act.partner_mac.is_zero()
            && ports.iter().all(|&p| {
                l.is_collecting(p)
                    && l.is_distributing(p)
                    && l.port_status(p).is_some_and(|s| s.aggregator_id == Some(act.id) && s.actor.port_state & bits == bits)
            })
    }

    /// No port sent more than 3 LACPDUs in any 1 s (802.1AX 6.4.16).
    fn assert_tx_rate(&self) {
        for ((e, p), times) in &self.tx {
            for w in times.windows(4) {
                assert!(w[3] - w[0] >= 1000, "engine {e} port {p}: 4 LACPDUs within 1 s: {w:?}");
            }
        }
    }
}

fn cfg(fast: bool) -> LacpConfig {
    LacpConfig { lacp_fast: fast, ..LacpConfig::default() }
}

const A_MAC: &str = "52:54:00:aa:00:01";
const B_MAC: &str = "52:54:00:bb:00:01";

/// Two engines (A ports 1..=n, B ports 101..=100+n) cabled port to port, ports added while the
/// bonds are down; A opens at t=0 and B 37 ms later (unrelated tick phases).
fn pair(ca: LacpConfig, cb: LacpConfig, n: u32, speed: u32, seed: u64) -> Sim {
    let mut s = Sim::new(seed);
    let a = s.engine(ca, mac(A_MAC));
    let b = s.engine(cb, mac(B_MAC));
    for k in 1..=n {
        s.connect((a, k, speed), (b, 100 + k, speed));
    }
    s.bond_up(a);
    s.now = 37;
    s.bond_up(b);
    s
}

fn ids(n: u32) -> (Vec<PortId>, Vec<PortId>) {
    ((1..=n).collect(), (101..=100 + n).collect())
}

fn both_aggregated(s: &Sim, n: u32) -> bool {
    let (a, b) = ids(n);
    s.aggregated(0, &a) && s.aggregated(1, &b)
}

#[test]
fn converges_fast_and_slow_within_the_standards_bounds() {
    for fast in [true, false] {
        let mut s = pair(cfg(fast), cfg(fast), 2, 10000, 1);
        let t = s.run_until(60_000, |s| both_aggregated(s, 2)).expect("converges");
        eprintln!("convergence after bond open ({}): {t} ms", if fast { "fast" } else { "slow" });
        // wait_while (2 s) must pass; then a few LACPDU exchanges, each ≤ 300 ms hold-off.
        assert!((2000..=3500).contains(&t), "{t}");
        // Stays converged, and in one aggregator with both ports on each side.
        s.run_for(120_000);
        assert!(both_aggregated(&s, 2));
        for e in 0..2 {
            assert_eq!(s.eng[e].active_aggregator().unwrap().num_ports, 2);
        }
        s.assert_tx_rate();
        // Steady-state rate: one LACPDU per second (fast) or per 30 s (slow).
        let times = &s.tx[&(0, 1)];
        let recent: Vec<_> = times.iter().filter(|&&x| x > s.now - 60_000).collect();
        let want = if fast { 60 } else { 2 };
        assert!((want..=want + 1).contains(&recent.len()), "{} LACPDUs in 60 s", recent.len());
    }
}

#[test]
fn ports_added_to_a_running_bond_wait_for_the_8s_selection_timer() {
    let mut s = Sim::new(3);
    let a = s.engine(cfg(true), mac(A_MAC));
    let b = s.engine(cfg(true), mac(B_MAC));
    s.bond_up(a);
    s.bond_up(b);
    s.now = 1000;
    s.connect((a, 1, 10000), (b, 101, 10000));
    let t0 = s.now;
    let t = s.run_until(30_000, |s| both_aggregated(s, 1)).expect("converges") - t0;
    eprintln!("convergence after adding a port to a running bond: {t} ms");
    assert!((8000..=9000).contains(&t), "{t}");
}

/// Converge, then silence B→A on link 0 (A keeps sending): A's port expires, leaves
/// distribution, then defaults; the other port keeps working.
fn silent_partner(fast: bool) -> (Millis, Millis) {
    let mut s = pair(cfg(fast), cfg(fast), 2, 10000, 5);
    s.run_until(60_000, |s| both_aggregated(s, 2)).unwrap();
    s.run_for(if fast { 5_000 } else { 65_000 });
    s.links[0].loss_ba = 1.0;
    let out = s.run_until(s.now + 200_000, |s| !s.eng[0].is_distributing(1)).expect("leaves distribution");
    let last = s.last_rx[&(0, 1)];
    let st = s.eng[0].port_status(1).unwrap();
    assert!(st.actor.port_state & state::EXPIRED != 0, "EXPIRED when leaving: {}", st.actor.port_state);
    let defaulted = s
        .run_until(s.now + 10_000, |s| s.eng[0].port_status(1).unwrap().actor.port_state & state::DEFAULTED != 0)
        .expect("defaulted");
    assert!(s.eng[0].is_distributing(2) && s.eng[1].is_distributing(102));
    (out - last, defaulted - last)
}

#[test]
fn silent_partner_expires_then_defaults_out_of_distribution_within_the_timeout() {
    let (out, def) = silent_partner(true);
    eprintln!("silent partner, fast: out of distribution {out} ms, defaulted {def} ms after its last LACPDU");
    assert!(out <= 3000 && out > 2800, "{out}");
    assert!(def <= 6000, "{def}");
    let (out, def) = silent_partner(false);
    eprintln!("silent partner, slow: out of distribution {out} ms, defaulted {def} ms after its last LACPDU");
    assert!(out <= 90_000 && out > 89_800, "{out}");
    assert!(def <= 93_000, "{def}");
}

#[test]
fn active_with_passive_converges_passive_with_passive_never() {
    let passive = LacpConfig { lacp_active: false, ..cfg(true) };
    let mut s = pair(cfg(true), passive.clone(), 2, 10000, 7);
    let t = s.run_until(20_000, |s| both_aggregated(s, 2)).expect("active + passive converges");
    eprintln!("active with passive: {t} ms");
    // The passive side's Activity bit is clear: 63 - 1.
    assert_eq!(s.eng[1].port_status(101).unwrap().actor.port_state, 62);
    s.run_for(60_000);
    assert!(both_aggregated(&s, 2), "passive keeps answering periodically");

    let mut s = pair(passive.clone(), passive, 2, 10000, 7);
    s.run_for(120_000);
    for (e, p) in [(0, 1), (0, 2), (1, 101), (1, 102)] {
        assert_eq!(s.eng[e].counters(p).unwrap().lacpdu_tx, 0, "passive never speaks first");
        assert!(s.eng[e].port_status(p).unwrap().partner.system_mac.is_zero());
    }
    for e in 0..2 {
        assert!(s.eng[e].active_aggregator().unwrap().partner_mac.is_zero());
    }
}

#[test]
fn mismatched_keys_give_separate_aggregators() {
    // Link 1 at 10G (key 15), link 2 at 1G (key 9): two aggregators on each side, one active.
    let mut s = Sim::new(11);
    let a = s.engine(cfg(true), mac(A_MAC));
    let b = s.engine(cfg(true), mac(B_MAC));
    s.connect((a, 1, 10000), (b, 101, 10000));
    s.connect((a, 2, 1000), (b, 102, 1000));
    s.bond_up(a);
    s.bond_up(b);
    s.run_until(20_000, |s| s.aggregated(0, &[1]) && s.aggregated(1, &[101])).expect("10G link aggregates");
    s.run_for(10_000);
    for (e, p1, p2) in [(0, 1, 2), (1, 101, 102)] {
        let s1 = s.eng[e].port_status(p1).unwrap();
        let s2 = s.eng[e].port_status(p2).unwrap();
        assert_ne!(s1.aggregator_id, s2.aggregator_id);
        assert_eq!((s1.actor.key, s2.actor.key), (15, 9));
        let act = s.eng[e].active_aggregator().unwrap();
        assert_eq!((act.id, act.num_ports, act.actor_key), (s1.aggregator_id.unwrap(), 1, 15));
        assert!(s.eng[e].is_distributing(p1) && !s.eng[e].is_distributing(p2));
        // The 1G port's aggregator is not active: actor Sync clear (state 7: fast, not in sync).
        assert_eq!(s2.actor.port_state, 7);
    }
}

/// A has ports 1, 2 to B (1G each) and port 3 to C (10G): different partner systems.
fn three(select: AdSelect, seed: u64) -> Sim {
    let mut s = Sim::new(seed);
    let a = s.engine(LacpConfig { ad_select: select, ..cfg(true) }, mac(A_MAC));
    let b = s.engine(cfg(true), mac(B_MAC));
    let c = s.engine(cfg(true), mac("52:54:00:cc:00:01"));
    s.connect((a, 1, 1000), (b, 101, 1000));
    s.connect((a, 2, 1000), (b, 102, 1000));
    s.connect((a, 3, 10000), (c, 201, 10000));
    for e in [a, b, c] {
        s.bond_up(e);
    }
    s.run_for(15_000);
    s
}

fn active_partner(s: &Sim) -> MacAddr {
    s.eng[0].active_aggregator().unwrap().partner_mac
}

#[test]
fn ad_select_picks_as_configured() {
    let b = mac(B_MAC);
    let c = mac("52:54:00:cc:00:01");
    // bandwidth: 1 × 10G beats 2 × 1G.
    let mut s = three(AdSelect::Bandwidth, 1);
    let st: Vec<_> = [1, 2, 3].iter().map(|&p| s.eng[0].port_status(p).unwrap().aggregator_id).collect();
    assert_eq!(st[0], st[1]);
    assert_ne!(st[0], st[2]);
    assert_eq!(active_partner(&s), c);
    assert!(s.aggregated(0, &[3]) && !s.eng[0].is_distributing(1) && !s.eng[0].is_distributing(2));
    // Losing the 10G link moves to B's aggregator; its return moves back (reselection on
    // link change).
    s.set_link(2, false);
    s.run_for(10_000);
    assert_eq!(active_partner(&s), b);
    assert!(s.aggregated(0, &[1, 2]));
    s.set_link(2, true);
    s.run_for(15_000);
    assert_eq!(active_partner(&s), c);
    assert!(s.aggregated(0, &[3]));

    // count: 2 ports beat 1.
    let s = three(AdSelect::Count, 1);
    assert_eq!(active_partner(&s), b);
    assert!(s.aggregated(0, &[1, 2]) && !s.eng[0].is_distributing(3));
    assert_eq!(s.eng[0].active_aggregator().unwrap().num_ports, 2);

    // stable: whatever was chosen stays until all its ports are down, and does not move back.
    let mut s = three(AdSelect::Stable, 1);
    let first = active_partner(&s);
    let first_links: Vec<usize> = if first == c { vec![2] } else { vec![0, 1] };
    let other = if first == c { b } else { c };
    for &l in &first_links {
        s.set_link(l, false);
    }
    s.run_for(10_000);
    assert_eq!(active_partner(&s), other);
    for &l in &first_links {
        s.set_link(l, true);
    }
    s.run_for(30_000);
    assert_eq!(active_partner(&s), other, "stable does not move back");
}

#[test]
fn min_links_toggles_the_carrier() {
    let mut s = pair(LacpConfig { min_links: 2, ..cfg(true) }, cfg(true), 2, 10000, 13);
    s.run_until(20_000, |s| both_aggregated(s, 2)).unwrap();
    assert!(s.eng[0].carrier());
    s.set_link(1, false);
    assert!(!s.eng[0].carrier(), "1 port up < min_links 2");
    assert!(s.eng[1].carrier(), "B has min_links 0");
    s.set_link(1, true);
    let t0 = s.now;
    let t = s.run_until(s.now + 20_000, |s| s.eng[0].carrier()).unwrap() - t0;
    eprintln!("carrier back {t} ms after the second link returned");
    s.run_until(s.now + 20_000, |s| both_aggregated(s, 2)).unwrap();
    let now = s.now;
    let c = LacpConfig { min_links: 3, ..s.eng[0].config().clone() };
    s.eng[0].set_config(c, now);
    assert!(!s.eng[0].carrier());
    let c = LacpConfig { min_links: 0, ..s.eng[0].config().clone() };
    s.eng[0].set_config(c, now);
    assert!(s.eng[0].carrier());
    s.pump();
    assert!(s.agg_changes.iter().filter(|(t, e)| *t == now && *e == 0).count() >= 2);
}

#[test]
fn churn_is_detected_when_the_partner_never_syncs() {
    // count: A uses B's aggregator, so A's port 3 never gets in sync: C sees a partner that
    // never syncs, A an actor that never syncs.
    let mut s = three(AdSelect::Count, 2);
    let c_port = s.eng[2].port_status(201).unwrap();
    assert_eq!(c_port.partner_churn_state, churn::MONITORING);
    let t = s.run_until(120_000, |s| s.eng[2].port_status(201).unwrap().partner_churn_state == churn::CHURNED);
    let t = t.expect("partner churn detected");
    eprintln!("partner churn detected at {t} ms");
    assert!((60_000..=63_000).contains(&t), "{t}");
    let c_port = s.eng[2].port_status(201).unwrap();
    assert_eq!(c_port.partner_churned_count, 1);
    assert_eq!(c_port.actor_churn_state, churn::NONE, "C itself is in sync");
    // A's port 3 started monitoring when it first heard C, a little later.
    s.run_for(2_000);
    let a3 = s.eng[0].port_status(3).unwrap();
    assert_eq!((a3.actor_churn_state, a3.actor_churned_count), (churn::CHURNED, 1));
    for p in [1, 2] {
        let st = s.eng[0].port_status(p).unwrap();
        assert_eq!((st.actor_churn_state, st.partner_churn_state), (churn::NONE, churn::NONE));
    }
}

#[test]
fn a_thousand_random_link_flaps_always_reconverge() {
    let mut s = pair(cfg(true), cfg(true), 3, 10000, 0x5eed_f1a9);
    s.run_until(20_000, |s| both_aggregated(s, 3)).unwrap();
    let mut worst = 0;
    let mut waited = 0;
    for _ in 0..1000 {
        let l = s.rng.below(3) as usize;
        s.set_link(l, false);
        let down = s.rng.below(3000);
        s.run_for(down);
        s.set_link(l, true);
        if s.rng.below(10) < 7 {
            let t0 = s.now;
            let t = s.run_until(s.now + 30_000, |s| both_aggregated(s, 3)).expect("re-converges") - t0;
            worst = worst.max(t);
            waited += 1;
        } else {
            let gap = s.rng.below(2000);
            s.run_for(gap);
        }
    }
    let t0 = s.now;
    let t = s.run_until(s.now + 30_000, |s| both_aggregated(s, 3)).expect("re-converges at the end") - t0;
    worst = worst.max(t);
    eprintln!("1000 flaps: {waited} waited for, worst re-convergence {worst} ms");
    assert!(worst <= 4000, "{worst}");
    for e in 0..2 {
        assert_eq!(s.eng[e].active_aggregator().unwrap().num_ports, 3);
    }
    s.assert_tx_rate();
}

/// 10 simulated minutes of 30 % random LACPDU loss, both ways, on link 0 at the fast rate.
/// Returns (port-leaves-distribution events, aggregator changes).
fn lossy(redundant: bool, seed: u64) -> (usize, usize) {
    let c = LacpConfig { fast_tx_redundancy: redundant, ..cfg(true) };
    let mut s = pair(c.clone(), c, 2, 10000, seed);
    s.run_until(20_000, |s| both_aggregated(s, 2)).unwrap();
    s.run_for(5_000);
    let before: Vec<AggregatorInfo> = (0..2).map(|e| s.eng[e].active_aggregator().unwrap()).collect();
    let t0 = s.now;
    s.links[0].loss_ab = 0.3;
    s.links[0].loss_ba = 0.3;
    let mut leaves = 0;
    let mut was = true;
    let end = t0 + 600_000;
    while s.now < end {
        s.step(end);
        let now = both_aggregated(&s, 2);
        if was && !now {
            leaves += 1;
        }
        was = now;
    }
    let after: Vec<AggregatorInfo> = (0..2).map(|e| s.eng[e].active_aggregator().unwrap()).collect();
    let agg_changes = s.agg_changes.iter().filter(|(t, _)| *t > t0).count() + usize::from(before != after);
    s.assert_tx_rate();
    (leaves, agg_changes)
}

#[test]
fn thirty_percent_loss_for_ten_minutes() {
    // Kernel behaviour: one LACPDU per second; two consecutive losses expire the port.
    let (leaves, _) = lossy(false, 42);
    eprintln!("30% loss, kernel rate (1/s): port left distribution {leaves} times in 10 min");
    assert!(leaves >= 10, "{leaves}");
    // rbond's redundant fast transmission: no change at all.
    let (leaves, aggs) = lossy(true, 42);
    eprintln!("30% loss, redundant (3/s): left distribution {leaves} times, {aggs} aggregator changes");
    assert_eq!((leaves, aggs), (0, 0));
}

#[test]
fn thirty_percent_loss_statistics_over_seeds() {
    // With 3 LACPDUs per second, the partner's 3 s current_while sees 8 LACPDUs strictly
    // inside it (the 9th races its 30th tick), so a port expires only after 8 consecutive
    // losses: 0.7 × 0.3^8 ≈ 4.6e-5 per LACPDU, ≈ 8 % per direction per 10 minutes (1800
    // LACPDUs), ≈ 15 % per link. Defaulting (an aggregator change) needs 6 s of silence,
    // 17 consecutive losses: never seen. The kernel's rate (1/s) fails every run.
    let runs = 100u64;
    let mut failed = [0usize; 2];
    let mut leaves = [0usize; 2];
    let mut agg_changes = [0usize; 2];
    for (m, redundant) in [true, false].into_iter().enumerate() {
        for k in 0..runs {
            let (l, a) = lossy(redundant, 1000 + k);
            failed[m] += usize::from(l > 0);
            leaves[m] += l;
            agg_changes[m] += a;
        }
    }
    eprintln!(
        "{runs} ten-minute runs at 30% loss: redundant: {} runs with a departure ({} departures, {} aggregator changes); kernel: {} runs ({} departures, {} aggregator changes)",
        failed[0], leaves[0], agg_changes[0], failed[1], leaves[1], agg_changes[1]
    );
    assert_eq!(failed[1], runs as usize);
    assert!(leaves[1] >= 40 * runs as usize, "{}", leaves[1]);
    assert!(failed[0] <= 25, "{}", failed[0]);
    assert_eq!(agg_changes[0], 0);
}

#[test]
fn lacp_fallback_runs_while_no_partner_speaks() {
    for on in [true, false] {
        let mut s = Sim::new(17);
        let a = s.engine(LacpConfig { fallback_ab: on, ..cfg(true) }, mac(A_MAC));
        let b = s.engine(cfg(true), mac(B_MAC));
        s.connect((a, 1, 10000), (b, 101, 10000));
        s.connect((a, 2, 10000), (b, 102, 10000));
        s.bond_up(a);
        s.run_for(2_000);
        assert!(!s.eng[a].fallback_active(), "still EXPIRED: waiting for a partner");
        let t = s.run_until(20_000, |s| s.eng[0].fallback_active());
        if !on {
            assert_eq!(t, None);
            continue;
        }
        let t = t.expect("falls back");
        eprintln!("fallback active at {t} ms without a partner");
        assert!((3000..=3500).contains(&t), "{t}");
        assert!(s.agg_changes.iter().any(|&(at, e)| at == t && e == 0));
        s.run_for(30_000);
        assert!(s.eng[a].fallback_active());
        s.bond_up(b);
        let t0 = s.now;
        let t = s.run_until(s.now + 5_000, |s| !s.eng[0].fallback_active()).expect("back to LACP") - t0;
        eprintln!("fallback off {t} ms after the partner started");
        assert!(t <= 1000, "{t}");
        s.run_until(s.now + 20_000, |s| both_aggregated(s, 2)).expect("aggregates");
        assert!(!s.eng[a].fallback_active());
    }
}

fn details(prio: u16, sys: &str, key: u16, port: u16, state: u8) -> LacpPduDetails {
    LacpPduDetails { system_priority: prio, system_mac: mac(sys), key, port_priority: 255, port_number: port, port_state: state }
}

#[test]
fn status_without_a_partner_matches_the_reference() {
    let mut s = Sim::new(19);
    let a = s.engine(cfg(false), mac("52:54:00:cc:04:01"));
    let b = s.engine(cfg(false), mac(B_MAC));
    s.connect((a, 1, 10000), (b, 101, 10000));
    s.connect((a, 2, 10000), (b, 102, 10000));
    s.bond_up(a);
    let sys = "52:54:00:cc:04:01";
    // In EXPIRED after wait_while: 205 on the active aggregator's port, partner state 2.
    s.run_for(2_500);
    let p1 = s.eng[a].port_status(1).unwrap();
    assert_eq!((p1.actor.port_state, p1.partner.port_state), (205, 2));
    s.run_for(2_000);
    let agg = s.eng[a].active_aggregator().unwrap();
    assert_eq!(agg, AggregatorInfo { id: 1, num_ports: 1, actor_key: 15, partner_key: 1, partner_mac: MacAddr::ZERO });
    let partner = details(65535, "00:00:00:00:00:00", 1, 1, 0);
    let p1 = s.eng[a].port_status(1).unwrap();
    let p2 = s.eng[a].port_status(2).unwrap();
    assert_eq!((p1.aggregator_id, p2.aggregator_id), (Some(1), Some(2)));
    assert_eq!(p1.actor, details(65535, sys, 15, 1, 77));
    assert_eq!(p2.actor, details(65535, sys, 15, 2, 69));
    assert_eq!((p1.partner.clone(), p2.partner.clone()), (partner.clone(), partner));
    assert!(s.eng[a].is_distributing(1) && !s.eng[a].is_distributing(2), "one aggregator carries traffic");
    assert!(s.eng[a].carrier());
    s.run_for(60_000);
    let p1 = s.eng[a].port_status(1).unwrap();
    let p2 = s.eng[a].port_status(2).unwrap();
    assert_eq!((p1.actor_churn_state, p1.partner_churn_state), (churn::NONE, churn::CHURNED));
    assert_eq!((p2.actor_churn_state, p2.partner_churn_state), (churn::CHURNED, churn::CHURNED));
    assert_eq!((p1.actor_churned_count, p1.partner_churned_count, p2.actor_churned_count), (0, 1, 1));
    // Fast rate: 79 / 71.
    let mut s = Sim::new(19);
    let a = s.engine(cfg(true), mac(sys));
    let b = s.engine(cfg(true), mac(B_MAC));
    s.connect((a, 1, 10000), (b, 101, 10000));
    s.connect((a, 2, 10000), (b, 102, 10000));
    s.bond_up(a);
    s.run_for(4_500);
    assert_eq!(s.eng[a].port_status(1).unwrap().actor.port_state, 79);
    assert_eq!(s.eng[a].port_status(2).unwrap().actor.port_state, 71);
    // A port whose link is down keeps its aggregator and shows key 0.
    s.set_link(1, false);
    s.run_for(1_000);
    let p2 = s.eng[a].port_status(2).unwrap();
    assert_eq!((p2.aggregator_id, p2.actor.key), (Some(2), 0));
    assert!(s.logs.iter().all(|(_, _, m)| !m.contains("loopback")));
}

#[test]
fn status_in_sync_matches_the_reference() {
    for (fast, st) in [(true, 63u8), (false, 61u8)] {
        let mut s = pair(cfg(fast), cfg(fast), 2, 10000, 23);
        s.run_until(60_000, |s| both_aggregated(s, 2)).unwrap();
        s.run_for(70_000);
        let agg = s.eng[0].active_aggregator().unwrap();
        assert_eq!(agg, AggregatorInfo { id: 1, num_ports: 2, actor_key: 15, partner_key: 15, partner_mac: mac(B_MAC) });
        for (k, p) in [(1u16, 1), (2, 2)] {
            let ps = s.eng[0].port_status(p).unwrap();
            assert_eq!(ps.aggregator_id, Some(1));
            assert_eq!(ps.actor, details(65535, A_MAC, 15, k, st));
            assert_eq!(ps.partner, details(65535, B_MAC, 15, k, st));
            assert_eq!((ps.actor_churn_state, ps.partner_churn_state), (churn::NONE, churn::NONE));
        }
    }
}

#[test]
fn loopback_is_logged_and_ignored() {
    // Two ports of the same engine cabled together.
    let mut s = Sim::new(29);
    let a = s.engine(cfg(true), mac(A_MAC));
    s.connect((a, 1, 10000), (a, 2, 10000));
    s.bond_up(a);
    s.run_for(5_000);
    let lines: Vec<_> = s.logs.iter().map(|(_, _, m)| m.as_str()).collect();
    assert!(lines.contains(&"An illegal loopback occurred on slave"));
    assert!(lines.contains(
        &"Check the configuration to verify that all adapters are connected to 802.3ad compliant switch ports"
    ));
    assert!(s.eng[a].port_status(1).unwrap().partner.system_mac.is_zero());
}

#[test]
fn release_sends_a_final_lacpdu_and_the_partner_drops_the_port() {
    let mut s = pair(cfg(true), cfg(true), 2, 10000, 31);
    s.run_until(20_000, |s| both_aggregated(s, 2)).unwrap();
    let now = s.now;
    s.eng[0].remove_port(2, now);
    let mut finals = vec![];
    while let Some(o) = s.eng[0].poll_output() {
        if let LacpOutput::Send { port, frame } = o {
            finals.push((port, frame));
        }
    }
    assert_eq!(finals.len(), 1);
    let (port, f) = &finals[0];
    assert_eq!(*port, 2);
    let d = rbond_core::lacp::pdu::Lacpdu::decode(&f[14..]).unwrap();
    assert_eq!(d.actor.port_state & (state::SYNCHRONIZATION | state::COLLECTING | state::DISTRIBUTING | state::AGGREGATION), 0);
    let now = s.now;
    s.eng[1].rx(102, f, now);
    s.links.remove(1);
    s.run_for(1_000);
    assert!(!s.eng[1].is_distributing(102), "partner stops using the released port at once");
    assert!(s.aggregated(0, &[1]) && s.aggregated(1, &[101]));
    assert_eq!(s.eng[0].active_aggregator().unwrap().num_ports, 1);
    // A new port joining an engine that became empty restarts the numbering (port 1,
    // aggregator 1).
    let now = s.now;
    s.eng[0].remove_port(1, now);
    assert!(!s.eng[0].carrier());
    s.eng[0].add_port(9, mac("52:54:00:aa:00:09"), link(true, 10000), now);
    let st = s.eng[0].port_status(9).unwrap();
    assert_eq!((st.aggregator_id, st.actor.port_number), (None, 1));
    s.run_for(500);
    assert_eq!(s.eng[0].port_status(9).unwrap().aggregator_id, Some(1));
}

#[test]
fn independent_control_collects_before_distributing() {
    let c = LacpConfig { coupled_control: false, ..cfg(true) };
    let mut s = pair(c.clone(), c, 2, 10000, 37);
    let t = s.run_until(20_000, |s| both_aggregated(s, 2)).expect("converges");
    eprintln!("coupled_control=off convergence {t} ms");
    // Some moment had a port collecting without distributing.
    let mut s2 = pair(LacpConfig { coupled_control: false, ..cfg(true) }, LacpConfig { coupled_control: false, ..cfg(true) }, 1, 10000, 37);
    let t = s2.run_until(20_000, |s| s.eng[0].is_collecting(1) && !s.eng[0].is_distributing(1));
    assert!(t.is_some());
    assert_eq!(s.eng[0].port_status(1).unwrap().actor.port_state, 63);
}

// ---- goldens: the status text built from the engine's own data ---------------------------

/// The /proc text of engine `e` as the bond would assemble it: 10G full-duplex slaves named
/// eth0.. for `ports`, with the given permanent MACs.
fn bond_status(s: &Sim, e: usize, release: &str, ports: &[(PortId, &str)]) -> BondStatus {
    let l = &s.eng[e];
    let c = l.config();
    let (prio, sys) = l.system();
    BondStatus {
        bond: "bond0".into(),
        release: release.into(),
        mode: Mode::Ieee8023ad,
        fail_over_mac: "none",
        xmit_hash_policy: XmitHashPolicy::Layer34,
        tlb_dynamic_lb: true,
        primary: None,
        primary_reselect: "always",
        active_slave: None,
        mii_status_up: l.carrier(),
        miimon: 100,
        updelay_ms: 0,
        downdelay_ms: 0,
        peer_notif_delay_ms: 0,
        arp_interval: 0,
        arp_missed_max: 2,
        arp_ip_targets: vec![],
        ns_ip6_targets: vec![],
        ad: Some(AdInfo {
            lacp_active: c.lacp_active,
            lacp_rate_fast: c.lacp_fast,
            min_links: c.min_links,
            ad_select: c.ad_select.name(),
            system_priority: prio,
            system_mac: sys,
            active_aggregator: l.active_aggregator(),
        }),
        options: Default::default(),
        lb: None,
        slaves: ports
            .iter()
            .enumerate()
            .map(|(n, &(id, perm))| SlaveStatus {
                name: format!("eth{n}"),
                mii_status: LinkState::Up,
                speed_mbps: Some(10000),
                duplex: Duplex::Full,
                link_failure_count: 0,
                perm_hwaddr: mac(perm),
                queue_id: 0,
                state: if l.is_distributing(id) { "active" } else { "backup" },
                ad: l.port_status(id),
                lacp_counters: None,
            })
            .collect(),
    }
}

fn assert_golden(got: &str, want: &str, name: &str) {
    if got != want {
        for (i, (g, w)) in got.split('\n').zip(want.split('\n')).enumerate() {
            assert_eq!(g, w, "{name}: line {} differs\n--- got ---\n{got}", i + 1);
        }
        panic!("{name}: lengths differ\n--- got ---\n{got}");
    }
}

#[test]
fn golden_two_in_sync_10g_ports_fast() {
    // Reference bond_procfs.c output(b): 2 × 10G, lacp_rate fast, the partner another Linux bond (fast).
    let mut s = pair(cfg(true), cfg(true), 2, 10000, 41);
    s.run_until(20_000, |s| both_aggregated(s, 2)).unwrap();
    s.run_for(70_000);
    let b = bond_status(&s, 0, "6.8.0-45-generic", &[(1, "52:54:00:aa:00:01"), (2, "52:54:00:aa:00:02")]);
    assert_golden(&b.render_proc(true), include_str!("golden/lacp_ref_ad_privileged.txt"), "lacp_ref_ad_privileged");
}

#[test]
fn golden_no_partner_slow() {
    // Reference bond_procfs.c output "No LACP partner", 60 s after start, slow rate.
    let mut s = Sim::new(43);
    let a = s.engine(cfg(false), mac("52:54:00:cc:04:01"));
    let b = s.engine(cfg(false), mac(B_MAC));
    s.connect_macs((a, 1, 10000), mac("52:54:00:cc:04:01"), (b, 101, 10000), mac("52:54:00:bb:00:01"));
    s.connect_macs((a, 2, 10000), mac("52:54:00:cc:04:02"), (b, 102, 10000), mac("52:54:00:bb:00:02"));
    s.bond_up(a);
    s.run_for(65_000);
    let st = bond_status(&s, a, "6.1.0-25-amd64", &[(1, "52:54:00:cc:04:01"), (2, "52:54:00:cc:04:02")]);
    assert_golden(&st.render_proc(true), include_str!("golden/lacp_no_partner.txt"), "lacp_no_partner");
}

#[test]
fn half_duplex_is_individual_without_lacp_and_unknown_speeds_are_logged() {
    let mut s = Sim::new(47);
    let a = s.engine(cfg(true), mac(A_MAC));
    let now = s.now;
    s.eng[a].add_port(1, mac("52:54:00:aa:00:01"), PortLink { up: true, speed_mbps: Some(100), full_duplex: false }, now);
    s.eng[a].add_port(2, mac("52:54:00:aa:00:02"), PortLink { up: true, speed_mbps: Some(12345), full_duplex: true }, now);
    s.pump();
    s.bond_up(a);
    s.run_for(10_000);
    let p1 = s.eng[a].port_status(1).unwrap();
    // 100 Mb/s = code 3, no duplex bit: key 6; LACP disabled, so it never sends.
    assert_eq!(p1.actor.key, 6);
    assert_eq!(s.eng[a].counters(1).unwrap().lacpdu_tx, 0);
    let logs: Vec<_> = s.logs.iter().map(|(_, p, m)| (*p, m.as_str())).collect();
    assert!(logs.contains(&(Some(2), "unknown ethtool speed (12345) for port 2 (set it to 0)")));
    assert!(logs.contains(&(Some(2), "speed changed to 0 on port 2")));
    // Port 2 (key 1, full duplex, LACP on) is not individual and wins over the individual
    // half-duplex port's aggregator.
    assert_eq!(s.eng[a].port_status(2).unwrap().actor.key, 1);
    assert!(s.eng[a].counters(2).unwrap().lacpdu_tx > 0);
    assert_eq!(s.eng[a].active_aggregator().unwrap().id, s.eng[a].port_status(2).unwrap().aggregator_id.unwrap());
    // With only the half-duplex port left, its individual aggregator is chosen, with the
    // kernel's warning.
    let now = s.now;
    s.eng[a].remove_port(2, now);
    s.pump();
    assert!(logs_contain(&s, "Warning: No 802.3ad response from the link partner for any adapters in the bond"));
    assert!(s.eng[a].is_distributing(1));
    assert!(s.eng[a].carrier());
}

fn logs_contain(s: &Sim, m: &str) -> bool {
    s.logs.iter().any(|(_, _, l)| l == m)
}

#[test]
fn config_changes_are_announced_at_once() {
    let mut s = pair(cfg(true), cfg(true), 2, 10000, 53);
    s.run_until(20_000, |s| both_aggregated(s, 2)).unwrap();
    s.run_for(5_000);
    // ad_actor_sys_prio: the partner hears it at the next transmit opportunity (≤ 300 ms)
    // and re-forms the aggregate with the new identity.
    let now = s.now;
    let c = LacpConfig { sys_prio: 100, ..s.eng[0].config().clone() };
    s.eng[0].set_config(c, now);
    let t = s.run_until(now + 5_000, |s| s.eng[1].port_status(101).unwrap().partner.system_priority == 100).unwrap() - now;
    assert!(t <= 400, "{t}");
    s.run_until(s.now + 20_000, |s| both_aggregated(s, 2)).expect("re-forms");
    assert_eq!(s.eng[0].system(), (100, mac(A_MAC)));
    // lacp_rate slow on A: A's Timeout bit clears at once, so B falls back to one LACPDU
    // every 30 s and A's current_while becomes 90 s.
    let now = s.now;
    let c = LacpConfig { lacp_fast: false, ..s.eng[0].config().clone() };
    s.eng[0].set_config(c, now);
    assert_eq!(s.eng[0].port_status(1).unwrap().actor.port_state, 61);
    s.run_for(1_000);
    let before = s.tx[&(1, 101)].len();
    s.run_for(60_000);
    let sent = s.tx[&(1, 101)].len() - before;
    assert!((2..=3).contains(&sent), "{sent} LACPDUs from B in 60 s");
    assert!(both_aggregated(&s, 2));
    // ad_actor_system: a new system MAC is announced too.
    let now = s.now;
    let c = LacpConfig { system: mac("02:00:00:00:00:42"), ..s.eng[0].config().clone() };
    s.eng[0].set_config(c, now);
    s.run_until(now + 2_000, |s| s.eng[1].port_status(101).unwrap().partner.system_mac == mac("02:00:00:00:00:42"))
        .expect("partner learns the new system");
    s.run_until(s.now + 20_000, |s| both_aggregated(s, 2)).expect("re-forms");
}

#[test]
fn releasing_the_aggregators_owner_moves_the_other_ports_without_interruption() {
    let mut s = pair(cfg(true), cfg(true), 3, 10000, 59);
    s.run_until(20_000, |s| both_aggregated(s, 3)).unwrap();
    assert_eq!(s.eng[0].port_status(2).unwrap().aggregator_id, Some(1), "port 1's aggregator holds all");
    s.pump();
    let seen = s.port_changes.len();
    let now = s.now;
    s.eng[0].remove_port(1, now);
    // Ports 2 and 3 now sit in the first free aggregator (port 2's, id 2), still active and
    // distributing: no interruption.
    assert_eq!(s.eng[0].port_status(2).unwrap().aggregator_id, Some(2));
    assert_eq!(s.eng[0].port_status(3).unwrap().aggregator_id, Some(2));
    assert!(s.eng[0].is_distributing(2) && s.eng[0].is_distributing(3));
    let agg = s.eng[0].active_aggregator().unwrap();
    assert_eq!((agg.id, agg.num_ports), (2, 2));
    s.pump();
    s.links.remove(0);
    s.run_for(10_000);
    assert!(s.aggregated(0, &[2, 3]));
    let changed: Vec<_> = s.port_changes[seen..].iter().filter(|&&(_, e, p)| e == 0 && p != 1).collect();
    assert!(changed.is_empty(), "{changed:?}");
}
