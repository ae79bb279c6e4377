//! Time-driven simulation of the sans-IO bond: link monitors, failover timing, active slave
//! selection, peer notification and the ARP monitor, checked against the kernel reference
//! (bonding.rst, Bonding Driver Options, bond_options.c option setters; bond_check_params, bond_main.c: bond_find_best_slave, bond_main.c: bond_should_notify_peers, bond_main.c: bond_miimon_inspect, bond_main.c: bond_ab_arp_inspect, bond_arp_rcv).
//!
//! The harness (`Sim`) plays the driver: it owns a virtual clock in ms, delivers scheduled
//! link observations and received frames at their times, calls `tick` whenever
//! `poll_timeout()` says a timer is due, and records every action with the time it appeared
//! plus every change of a slave's MII state. Tests then assert on that timeline.

use rbond_core::bond::{Action, Bond, Level, RxDecision as RxVerdict};
use rbond_core::frame::{parse_arp, ArpView};
use rbond_core::options::Errno;
use rbond_core::{Duplex, LinkObservation, LinkState, MacAddr, Millis, SlaveId};
use std::net::Ipv4Addr;

// ---- the harness ---------------------------------------------------------------------------

const BOND_MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0xb0, 0x00, 0x01]);
const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const TARGET_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 254);
const TARGET2_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 253);

/// The permanent MAC of the `i`-th slave enslaved by the harness.
fn slave_mac(i: usize) -> MacAddr {
    MacAddr([0x02, 0x00, 0x5e, 0x00, 0x01, i as u8 + 1])
}

fn link_up(speed: u32) -> LinkObservation {
    LinkObservation { admin_up: true, carrier: true, speed_mbps: Some(speed), duplex: Duplex::Full }
}

fn link_up_duplex(speed: u32, duplex: Duplex) -> LinkObservation {
    LinkObservation { admin_up: true, carrier: true, speed_mbps: Some(speed), duplex }
}

/// Carrier lost: ethtool reports no speed then.
fn link_down() -> LinkObservation {
    LinkObservation { admin_up: true, carrier: false, speed_mbps: None, duplex: Duplex::Unknown }
}

#[derive(Clone, Debug)]
enum Event {
    Link(LinkObservation),
    Rx(Vec<u8>),
}

struct Sim {
    bond: Bond,
    now: Millis,
    /// (time, insertion order, slave, event): delivered in time order, ties in insertion order.
    pending: Vec<(Millis, u64, String, Event)>,
    seq: u64,
    /// Every action the bond emitted, with the time it appeared.
    actions: Vec<(Millis, Action)>,
    /// Every change of a slave's MII state, as (time, slave, new state).
    history: Vec<(Millis, String, LinkState)>,
    /// The state last seen per slave, to detect changes.
    seen: Vec<(String, LinkState)>,
    rx: Vec<(Millis, String, RxVerdict)>,
    /// Every slave ever enslaved, by id (ids are handed out 0, 1, 2 ... and never reused).
    names: Vec<String>,
}

impl Sim {
    /// A bond with `opts` written in order (sysfs semantics), administratively down, with
    /// `slaves` enslaved at t=0 with up 1000 Mb/s full-duplex links.
    fn new_down(opts: &[(&str, &str)], slaves: &[&str]) -> Sim {
        let mut bond = Bond::new("bond0", BOND_MAC, "6.1.0-25-amd64");
        for (k, v) in opts {
            bond.set_option(k, v, 0).unwrap_or_else(|e| panic!("option {k}={v}: {e:?}"));
        }
        bond.set_local_addrs(&[LOCAL_IP], &[]);
        let mut sim = Sim {
            bond,
            now: 0,
            pending: Vec::new(),
            seq: 0,
            actions: Vec::new(),
            history: Vec::new(),
            seen: Vec::new(),
            rx: Vec::new(),
            names: Vec::new(),
        };
        for (i, s) in slaves.iter().enumerate() {
            sim.enslave(s, slave_mac(i), link_up(1000));
        }
        sim
    }

    /// As `new_down`, then the bond is set up at t=0 and runs until t=1000, where every slave
    /// must be UP; the recorded timeline is cleared so tests see only what they cause.
    fn start(opts: &[(&str, &str)], slaves: &[&str]) -> Sim {
        let mut sim = Sim::new_down(opts, slaves);
        sim.bond.set_admin_up(true, 0);
        sim.collect();
        sim.run_until(1000);
        for s in slaves {
            assert_eq!(sim.state(s), LinkState::Up, "{s} must be up before the test starts");
        }
        sim.actions.clear();
        sim.history.clear();
        sim.rx.clear();
        sim
    }

    fn enslave(&mut self, name: &str, mac: MacAddr, obs: LinkObservation) {
        let id = SlaveId(self.names.len() as u32);
        self.names.push(name.to_string());
        self.bond.enslave(id, name, mac, obs, self.now).unwrap_or_else(|e| panic!("enslave {name}: {e:?}"));
        self.collect();
    }

    fn set(&mut self, name: &str, value: &str) -> Result<Vec<String>, rbond_core::options::OptError> {
        let r = self.bond.set_option(name, value, self.now);
        self.collect();
        r
    }

    fn set_prio(&mut self, name: &str, prio: i32) {
        self.bond.set_slave_prio(name, prio, self.now).expect("prio");
        self.collect();
    }

    fn link_at(&mut self, at: Millis, slave: &str, obs: LinkObservation) {
        assert!(at >= self.now, "cannot schedule in the past");
        self.seq += 1;
        self.pending.push((at, self.seq, slave.to_string(), Event::Link(obs)));
    }
    fn down_at(&mut self, at: Millis, slave: &str) {
        self.link_at(at, slave, link_down());
    }
    fn up_at(&mut self, at: Millis, slave: &str) {
        self.link_at(at, slave, link_up(1000));
    }
    fn rx_at(&mut self, at: Millis, slave: &str, frame: Vec<u8>) {
        assert!(at >= self.now, "cannot schedule in the past");
        self.seq += 1;
        self.pending.push((at, self.seq, slave.to_string(), Event::Rx(frame)));
    }
    /// A frame received on `slave` every `period` ms from `from` while the time is below `until`.
    fn rx_every(&mut self, slave: &str, from: Millis, period: Millis, until: Millis, frame: &[u8]) {
        let mut t = from;
        while t < until {
            self.rx_at(t, slave, frame.to_vec());
            t += period;
        }
    }

    /// Advances the clock to `end`, delivering due events and ticks in time order. An
    /// observation and a tick due at the same ms: the observation goes first (the driver
    /// reports what it saw before the timer fires).
    fn run_until(&mut self, end: Millis) {
        for _ in 0..1_000_000 {
            let next_ev = self.pending.iter().map(|p| (p.0, p.1)).min();
            let next_tick = self.bond.poll_timeout();
            match (next_ev, next_tick) {
                (Some((t, seq)), tick) if t <= end && tick.is_none_or(|k| t <= k) => {
                    let pos = self.pending.iter().position(|p| p.0 == t && p.1 == seq).unwrap();
                    let (t, _, slave, ev) = self.pending.remove(pos);
                    self.now = t.max(self.now);
                    match ev {
                        Event::Link(obs) => {
                            let id = self.bond.slave_id(&slave).expect("link of a slave");
                            self.bond.link_observed(id, obs, self.now)
                        }
                        Event::Rx(frame) => {
                            let id = self.bond.slave_id(&slave).expect("rx on a slave");
                            let mut frame = frame;
                            let v = self.bond.rx(id, &mut frame, self.now);
                            self.rx.push((self.now, slave, v));
                        }
                    }
                }
                (_, Some(k)) if k <= end => {
                    self.now = k.max(self.now);
                    self.bond.tick(self.now);
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
            self.collect();
        }
        panic!("simulation did not reach t={end}: the timer never advances");
    }

    fn collect(&mut self) {
        while let Some(a) = self.bond.poll_action() {
            self.actions.push((self.now, a));
        }
        for s in self.bond.slaves() {
            match self.seen.iter_mut().find(|(n, _)| *n == s.name) {
                Some((_, st)) if *st == s.link => {}
                Some((_, st)) => {
                    *st = s.link;
                    self.history.push((self.now, s.name.clone(), s.link));
                }
                None => self.seen.push((s.name.clone(), s.link)),
            }
        }
    }

    // ---- queries ----

    fn idx(&self, name: &str) -> usize {
        self.bond.slaves().iter().position(|s| s.name == name).unwrap_or_else(|| panic!("{name} is not a slave"))
    }
    fn name_of(&self, id: SlaveId) -> String {
        self.names[id.0 as usize].clone()
    }
    /// The transmit array as the harness's slave numbers (enslave order).
    fn tx_slaves(&self) -> Vec<u32> {
        self.bond.tx_slaves().iter().map(|id| id.0).collect()
    }
    fn state(&self, name: &str) -> LinkState {
        self.bond.slaves()[self.idx(name)].link
    }
    fn failures(&self, name: &str) -> u32 {
        self.bond.slaves()[self.idx(name)].link_failure_count
    }
    fn active(&self) -> Option<String> {
        self.bond.active_slave().map(|id| self.name_of(id))
    }
    fn transitions(&self, name: &str) -> Vec<(Millis, LinkState)> {
        self.history.iter().filter(|h| h.1 == name).map(|h| (h.0, h.2)).collect()
    }
    fn logs(&self, name: &str) -> Vec<(Millis, String)> {
        self.actions
            .iter()
            .filter_map(|(t, a)| match a {
                Action::Log { slave: Some(s), msg, .. } if s == name => Some((*t, msg.clone())),
                _ => None,
            })
            .collect()
    }
    fn bond_logs(&self) -> Vec<(Millis, Level, String)> {
        self.actions
            .iter()
            .filter_map(|(t, a)| match a {
                Action::Log { slave: None, msg, level } => Some((*t, *level, msg.clone())),
                _ => None,
            })
            .collect()
    }
    fn carrier_events(&self) -> Vec<(Millis, bool)> {
        self.actions
            .iter()
            .filter_map(|(t, a)| match a {
                Action::SetCarrier(c) => Some((*t, *c)),
                _ => None,
            })
            .collect()
    }
    fn active_events(&self) -> Vec<(Millis, Option<String>)> {
        self.actions
            .iter()
            .filter_map(|(t, a)| match a {
                Action::ActiveChanged { new, .. } => Some((*t, new.map(|id| self.name_of(id)))),
                _ => None,
            })
            .collect()
    }
    /// Peer notifications: the gratuitous ARPs the bond sent (sender IP = target IP, bond_main.c: bond_should_notify_peers),
    /// with the slave and the sender MAC. The harness's bond has one IPv4 address, so one
    /// frame is one notification.
    fn notifies(&self) -> Vec<(Millis, String, MacAddr)> {
        self.actions
            .iter()
            .filter_map(|(t, a)| match a {
                Action::SendFrame { slave, frame } => match parse_arp(frame) {
                    Some(arp) if arp.spa == arp.tpa => Some((*t, self.name_of(*slave), arp.sha)),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }
    /// ARP monitor probes the bond sent, parsed (panics on a frame that is neither an ARP
    /// probe nor a gratuitous ARP: the only frames these tests make the core send).
    fn probes(&self) -> Vec<(Millis, String, ArpView, Vec<u8>)> {
        self.actions
            .iter()
            .filter_map(|(t, a)| match a {
                Action::SendFrame { slave, frame } => {
                    let arp = parse_arp(frame).unwrap_or_else(|| panic!("non-ARP frame sent: {frame:02x?}"));
                    (arp.spa != arp.tpa).then(|| (*t, self.name_of(*slave), arp, frame.clone()))
                }
                _ => None,
            })
            .collect()
    }
    fn mii_status(&self, name: &str) -> LinkState {
        let st = self.bond.status();
        st.slaves.iter().find(|s| s.name == name).expect("slave in status").mii_status
    }
}

/// An ARP reply from the target to the bond: what keeps an ARP-monitored slave alive.
fn arp_reply_from(target: Ipv4Addr) -> Vec<u8> {
    let peer = MacAddr([0x02, 0x00, 0x5e, 0xee, 0x00, 0x01]);
    let mut f = rbond_core::frame::build::arp_request(peer, target, LOCAL_IP, None);
    f[0..6].copy_from_slice(&BOND_MAC.0);
    f[20..22].copy_from_slice(&2u16.to_be_bytes()); // ARPOP_REPLY
    f[32..38].copy_from_slice(&BOND_MAC.0); // target hardware address
    f
}

const AB: (&str, &str) = ("mode", "active-backup");
const MIIMON: (&str, &str) = ("miimon", "100");

// ---- MII monitor: downdelay / updelay (bond_main.c: bond_miimon_inspect) -------------------------------------------------

#[test]
fn downdelay_fail_at_loss_then_down_exactly_after_delay() {
    let mut sim = Sim::start(&[AB, MIIMON, ("downdelay", "200")], &["eth0", "eth1"]);
    assert_eq!(sim.active().as_deref(), Some("eth0"));
    sim.down_at(1050, "eth0");

    sim.run_until(1050);
    assert_eq!(sim.state("eth0"), LinkState::Fail, "FAIL at the observation of the link loss");
    assert_eq!(sim.mii_status("eth0").proc_text(), "going down");
    assert_eq!(sim.active().as_deref(), Some("eth0"), "no failover during downdelay");
    assert_eq!(sim.failures("eth0"), 0);
    assert_eq!(
        sim.logs("eth0"),
        vec![(1050, "link status down for active interface, disabling it in 200 ms".to_string())]
    );

    sim.run_until(1249);
    assert_eq!(sim.state("eth0"), LinkState::Fail, "still FAIL 1 ms before the delay ends");
    assert_eq!(sim.active().as_deref(), Some("eth0"));

    sim.run_until(2000);
    assert_eq!(sim.transitions("eth0"), vec![(1050, LinkState::Fail), (1250, LinkState::Down)]);
    assert_eq!(sim.mii_status("eth0").proc_text(), "down");
    assert_eq!(sim.failures("eth0"), 1);
    assert_eq!(sim.active_events(), vec![(1250, Some("eth1".to_string()))], "failover when DOWN is committed");
    assert!(sim.logs("eth0").contains(&(1250, "link status definitely down, disabling slave".to_string())));
    assert!(sim.logs("eth1").contains(&(1250, "making interface the new active one".to_string())));
    let st = sim.bond.status();
    assert_eq!(st.active_slave.as_deref(), Some("eth1"));
    assert_eq!(st.slaves[0].state, "backup");
    assert_eq!(st.slaves[1].state, "active");
    // eth1 still has its link: the bond keeps its carrier throughout.
    assert!(sim.carrier_events().is_empty());
    assert!(st.mii_status_up);
}

#[test]
fn updelay_back_at_return_then_up_exactly_after_delay() {
    let mut sim = Sim::start(&[AB, MIIMON, ("updelay", "300")], &["eth0", "eth1"]);
    sim.down_at(1050, "eth1");
    sim.up_at(2050, "eth1");

    sim.run_until(1050);
    assert_eq!(sim.state("eth1"), LinkState::Down, "no downdelay: DOWN at the observation");
    assert_eq!(sim.failures("eth1"), 1);

    sim.run_until(2050);
    assert_eq!(sim.state("eth1"), LinkState::Back);
    assert_eq!(sim.mii_status("eth1").proc_text(), "going back");
    assert!(sim.logs("eth1").contains(&(2050, "link status up, enabling it in 300 ms".to_string())));

    sim.run_until(2349);
    assert_eq!(sim.state("eth1"), LinkState::Back);
    sim.run_until(3000);
    assert_eq!(
        sim.transitions("eth1"),
        vec![(1050, LinkState::Down), (2050, LinkState::Back), (2350, LinkState::Up)]
    );
    assert!(sim.logs("eth1").contains(&(2350, "link status definitely up, 1000 Mbps full duplex".to_string())));
    assert_eq!(sim.mii_status("eth1").proc_text(), "up");
    // A backup coming back does not take over from an up active slave (no primary, equal prio).
    assert_eq!(sim.active().as_deref(), Some("eth0"));
    assert!(sim.active_events().is_empty());
}

#[test]
fn flap_back_during_downdelay_returns_to_up_without_failover() {
    let mut sim = Sim::start(&[AB, MIIMON, ("downdelay", "300")], &["eth0", "eth1"]);
    sim.down_at(1050, "eth0");
    sim.up_at(1250, "eth0");
    sim.run_until(3000);
    assert_eq!(sim.transitions("eth0"), vec![(1050, LinkState::Fail), (1250, LinkState::Up)]);
    assert!(sim.logs("eth0").contains(&(1250, "link status up again after 200 ms".to_string())));
    assert_eq!(sim.failures("eth0"), 0, "a link back within downdelay is not a failure");
    assert_eq!(sim.active().as_deref(), Some("eth0"));
    assert!(sim.active_events().is_empty());
    assert!(!sim.logs("eth0").iter().any(|(_, m)| m.contains("definitely down")));
}

#[test]
fn flap_down_during_updelay_returns_to_down() {
    let mut sim = Sim::start(&[AB, MIIMON, ("updelay", "300")], &["eth0", "eth1"]);
    sim.down_at(1050, "eth1");
    sim.up_at(2050, "eth1");
    sim.down_at(2250, "eth1");
    sim.run_until(4000);
    assert_eq!(
        sim.transitions("eth1"),
        vec![(1050, LinkState::Down), (2050, LinkState::Back), (2250, LinkState::Down)]
    );
    assert!(sim.logs("eth1").contains(&(2250, "link status down again after 200 ms".to_string())));
    assert!(!sim.logs("eth1").iter().any(|(_, m)| m.contains("definitely up")));
    assert_eq!(sim.active().as_deref(), Some("eth0"));
}

#[test]
fn link_failure_count_counts_each_committed_down() {
    let mut sim = Sim::start(&[AB, MIIMON, ("downdelay", "100")], &["eth0", "eth1"]);
    sim.down_at(1050, "eth1");
    sim.up_at(1500, "eth1");
    sim.down_at(2050, "eth1");
    sim.up_at(2100, "eth1"); // back within downdelay: not a failure
    sim.down_at(3050, "eth1");
    sim.run_until(1149);
    assert_eq!(sim.failures("eth1"), 0);
    sim.run_until(1150);
    assert_eq!(sim.failures("eth1"), 1);
    sim.run_until(3000);
    assert_eq!(sim.failures("eth1"), 1);
    sim.run_until(4000);
    assert_eq!(sim.failures("eth1"), 2);
    let st = sim.bond.status();
    assert_eq!(st.slaves[1].link_failure_count, 2);
    assert_eq!(st.slaves[0].link_failure_count, 0);
}

#[test]
fn delays_count_whole_miimon_steps_and_show_stored_times_miimon() {
    let mut sim = Sim::new_down(&[AB, MIIMON], &["eth0", "eth1"]);
    let w = sim.set("updelay", "250").unwrap();
    assert_eq!(w, vec!["up delay (250) is not a multiple of miimon (100), value rounded to 200 ms".to_string()]);
    sim.set("downdelay", "200").unwrap();
    let st = sim.bond.status();
    assert_eq!((st.updelay_ms, st.downdelay_ms), (200, 200));
    assert_eq!(sim.bond.opts().show("updelay").as_deref(), Some("200"));
    // Stored as 2 ticks each: with miimon 50 they show 100 ms.
    sim.set("miimon", "50").unwrap();
    let st = sim.bond.status();
    assert_eq!((st.miimon, st.updelay_ms, st.downdelay_ms), (50, 100, 100));
    assert_eq!(sim.bond.opts().show("downdelay").as_deref(), Some("100"));

    // And the monitor counts 2 ticks of 50 ms: DOWN 100 ms after the loss, UP 100 ms after
    // the return (eth0 is still active, so updelay applies).
    sim.bond.set_admin_up(true, 0);
    sim.collect();
    sim.run_until(1000);
    sim.history.clear();
    sim.down_at(1010, "eth1");
    sim.up_at(2010, "eth1");
    sim.run_until(3000);
    assert_eq!(
        sim.transitions("eth1"),
        vec![(1010, LinkState::Fail), (1110, LinkState::Down), (2010, LinkState::Back), (2110, LinkState::Up)]
    );
    assert!(sim.logs("eth1").contains(&(1010, "link status down for backup interface, disabling it in 100 ms".into())));
    assert!(sim.logs("eth1").contains(&(2010, "link status up, enabling it in 100 ms".into())));

    // With the ARP monitor the delays show 0 (bond_options.c option setters; bond_check_params).
    let mut arp = Sim::new_down(&[("mode", "balance-xor"), MIIMON, ("updelay", "200")], &["eth0"]);
    arp.set("arp_interval", "1000").unwrap();
    let st = arp.bond.status();
    assert_eq!((st.miimon, st.updelay_ms, st.downdelay_ms, st.arp_interval), (0, 0, 0, 1000));
}

#[test]
fn delays_need_miimon() {
    let mut sim = Sim::new_down(&[AB], &["eth0"]);
    let e = sim.set("updelay", "200").unwrap_err();
    assert_eq!(e.errno, Errno::EPERM);
    assert_eq!(e.lines, vec!["Unable to set up delay as MII monitoring is disabled".to_string()]);
}

// ---- carrier (bonding.rst, mode, bond_main.c: bond_miimon_inspect) ---------------------------------------------------------------------

#[test]
fn carrier_off_when_last_slave_dies_and_on_when_one_returns() {
    let mut sim = Sim::start(&[AB, MIIMON], &["eth0", "eth1"]);
    assert!(sim.bond.carrier());
    sim.down_at(1050, "eth0");
    sim.down_at(1550, "eth1");
    sim.up_at(2550, "eth1");
    sim.run_until(1550);
    assert_eq!(sim.carrier_events(), vec![(1550, false)], "carrier off only with the last slave");
    assert!(!sim.bond.status().mii_status_up);
    assert_eq!(sim.active(), None);
    assert_eq!(sim.active_events(), vec![(1050, Some("eth1".into())), (1550, None)]);
    assert!(sim
        .bond_logs()
        .contains(&(1550, Level::Warn, "now running without any active interface!".to_string())));

    sim.run_until(3000);
    assert_eq!(sim.carrier_events(), vec![(1550, false), (2550, true)]);
    assert!(sim.bond.status().mii_status_up);
    assert_eq!(sim.active().as_deref(), Some("eth1"));
    assert_eq!(sim.active_events().last(), Some(&(2550, Some("eth1".into()))));
}

#[test]
fn carrier_in_balance_xor_follows_any_up_slave() {
    let mut sim = Sim::start(&[("mode", "balance-xor"), MIIMON], &["eth0", "eth1"]);
    sim.down_at(1050, "eth1");
    sim.down_at(1250, "eth0");
    sim.up_at(2050, "eth0");
    sim.run_until(3000);
    assert_eq!(sim.carrier_events(), vec![(1250, false), (2050, true)]);
    assert_eq!(sim.tx_slaves(), vec![0]);
}

// ---- updelay ignored without an active/usable slave (bond_main.c: bond_miimon_inspect) -----------------------------------

#[test]
fn updelay_ignored_when_active_backup_has_no_active_slave() {
    let mut sim = Sim::start(&[AB, MIIMON, ("updelay", "300")], &["eth0", "eth1"]);
    sim.down_at(1050, "eth0");
    sim.down_at(1050, "eth1");
    sim.up_at(2050, "eth1");
    sim.run_until(1100);
    assert_eq!(sim.active(), None);
    sim.run_until(3000);
    // UP at the observation, not 300 ms later.
    // BACK and UP happen within the same observation: only UP is seen afterwards.
    assert_eq!(sim.transitions("eth1"), vec![(1050, LinkState::Down), (2050, LinkState::Up)]);
    assert!(sim.logs("eth1").contains(&(2050, "link status up, enabling it in 0 ms".to_string())));
    assert_eq!(sim.active().as_deref(), Some("eth1"));
    assert_eq!(sim.active_events().last(), Some(&(2050, Some("eth1".into()))));
    assert_eq!(sim.carrier_events(), vec![(1050, false), (2050, true)]);

    // Now eth1 is active: eth0 coming back waits the full updelay.
    sim.history.clear();
    sim.up_at(3050, "eth0");
    sim.run_until(4000);
    assert_eq!(sim.transitions("eth0"), vec![(3050, LinkState::Back), (3350, LinkState::Up)]);
}

#[test]
fn updelay_ignored_in_balance_xor_without_usable_slave() {
    let mut sim = Sim::start(&[("mode", "balance-xor"), MIIMON, ("updelay", "200")], &["eth0", "eth1"]);
    sim.down_at(1050, "eth0");
    sim.down_at(1050, "eth1");
    sim.up_at(2050, "eth0");
    sim.up_at(3050, "eth1");
    sim.run_until(4000);
    assert_eq!(sim.transitions("eth0"), vec![(1050, LinkState::Down), (2050, LinkState::Up)]);
    // eth0 is usable by then: eth1 waits.
    assert_eq!(sim.transitions("eth1"), vec![(1050, LinkState::Down), (3050, LinkState::Back), (3250, LinkState::Up)]);
}

// ---- primary / primary_reselect / prio (bond_main.c: bond_find_best_slave, bond_options.c option setters; bond_check_params) -------------------------------------------

fn primary_sim(reselect: &str) -> Sim {
    Sim::start(&[AB, MIIMON, ("primary", "eth0"), ("primary_reselect", reselect)], &["eth0", "eth1"])
}

#[test]
fn primary_reselect_always_primary_takes_back_over() {
    let mut sim = primary_sim("always");
    assert_eq!(sim.active().as_deref(), Some("eth0"));
    assert_eq!(sim.bond.status().primary.as_deref(), Some("eth0"));
    sim.down_at(1050, "eth0");
    sim.up_at(2050, "eth0");
    sim.run_until(3000);
    assert_eq!(sim.active_events(), vec![(1050, Some("eth1".into())), (2050, Some("eth0".into()))]);
}

#[test]
fn primary_reselect_failure_keeps_current_until_it_fails() {
    let mut sim = primary_sim("failure");
    assert_eq!(sim.active().as_deref(), Some("eth0"));
    sim.down_at(1050, "eth0");
    sim.up_at(2050, "eth0");
    sim.down_at(3050, "eth1");
    sim.run_until(4000);
    assert_eq!(sim.active_events(), vec![(1050, Some("eth1".into())), (3050, Some("eth0".into()))]);
}

#[test]
fn primary_reselect_better_compares_speed_then_duplex() {
    let mut sim = primary_sim("better");
    sim.down_at(1050, "eth0");
    // Back at the same speed and duplex: not better, eth1 stays.
    sim.up_at(2050, "eth0");
    sim.run_until(2500);
    assert_eq!(sim.active().as_deref(), Some("eth1"));
    // Back slower: eth1 stays.
    sim.down_at(2550, "eth0");
    sim.link_at(3050, "eth0", link_up(100));
    sim.run_until(3500);
    assert_eq!(sim.active().as_deref(), Some("eth1"));
    assert_eq!(sim.bond.status().slaves[0].speed_mbps, Some(100));
    // Back faster: eth0 takes over at once.
    sim.down_at(3550, "eth0");
    sim.link_at(4050, "eth0", link_up(10000));
    sim.run_until(5000);
    assert_eq!(sim.active_events(), vec![(1050, Some("eth1".into())), (4050, Some("eth0".into()))]);
    assert_eq!(sim.bond.status().slaves[0].speed_mbps, Some(10000));
}

#[test]
fn primary_reselect_better_equal_speed_full_beats_half_duplex() {
    let mut sim = Sim::new_down(&[AB, MIIMON, ("primary", "eth0"), ("primary_reselect", "better")], &[]);
    sim.enslave("eth0", slave_mac(0), link_up(1000));
    sim.enslave("eth1", slave_mac(1), link_up_duplex(1000, Duplex::Half));
    sim.bond.set_admin_up(true, 0);
    sim.collect();
    sim.run_until(1000);
    sim.actions.clear();
    sim.down_at(1050, "eth0");
    sim.up_at(2050, "eth0"); // 1000 full against the current 1000 half: better
    sim.run_until(3000);
    assert_eq!(sim.active_events(), vec![(1050, Some("eth1".into())), (2050, Some("eth0".into()))]);
}

#[test]
fn slave_prio_picks_highest_up_slave() {
    let mut sim = Sim::start(&[AB, MIIMON], &["eth0", "eth1", "eth2"]);
    assert_eq!(sim.active().as_deref(), Some("eth0"));
    sim.set_prio("eth1", 5);
    assert_eq!(sim.active().as_deref(), Some("eth1"), "setting prio re-runs the selection (bond_options.c option setters; bond_check_params)");
    sim.set_prio("eth2", 10);
    assert_eq!(sim.active().as_deref(), Some("eth2"));
    sim.down_at(1050, "eth2");
    sim.run_until(1100);
    assert_eq!(sim.active().as_deref(), Some("eth1"), "highest prio among the up slaves");
    sim.up_at(2050, "eth2");
    sim.run_until(2100);
    assert_eq!(sim.active().as_deref(), Some("eth2"), "a slave with a higher prio than the active one comes up");
    assert_eq!(sim.active_events().last(), Some(&(2050, Some("eth2".into()))));
}

#[test]
fn slave_prio_does_not_preempt_with_reselect_failure() {
    let mut sim = Sim::start(&[AB, MIIMON, ("primary_reselect", "failure")], &["eth0", "eth1"]);
    sim.set_prio("eth1", 10);
    assert_eq!(sim.active().as_deref(), Some("eth0"));
    sim.down_at(1050, "eth0");
    sim.run_until(1100);
    assert_eq!(sim.active().as_deref(), Some("eth1"));
}

#[test]
fn up_primary_wins_over_prio() {
    let mut sim = Sim::start(&[AB, MIIMON, ("primary", "eth0")], &["eth0", "eth1"]);
    sim.set_prio("eth1", 100);
    assert_eq!(sim.active().as_deref(), Some("eth0"));
}

#[test]
fn primary_option_takes_effect_at_once() {
    let mut sim = Sim::start(&[AB, MIIMON, ("primary_reselect", "failure")], &["eth0", "eth1"]);
    assert_eq!(sim.active().as_deref(), Some("eth0"));
    sim.set("primary", "eth1").unwrap();
    assert_eq!(sim.active().as_deref(), Some("eth1"), "an enslaved, up primary becomes active whatever primary_reselect says");
    assert_eq!(sim.bond.status().primary.as_deref(), Some("eth1"));
    assert_eq!(sim.active_events(), vec![(1000, Some("eth1".into()))]);
}

#[test]
fn primary_may_name_a_future_slave() {
    let mut sim = Sim::start(&[AB, MIIMON, ("primary", "eth0"), ("primary_reselect", "failure")], &["eth0", "eth1"]);
    assert_eq!(sim.bond.status().primary.as_deref(), Some("eth0"));
    // Naming an interface that is not enslaved is accepted silently and drops eth0 as primary.
    assert_eq!(sim.set("primary", "eth9").unwrap(), Vec::<String>::new());
    assert_eq!(sim.bond.status().primary, None, "/proc shows only an enslaved primary");
    assert_eq!(sim.active().as_deref(), Some("eth0"));

    // When eth9 is enslaved with its link up it becomes active at once (force primary).
    sim.enslave("eth9", slave_mac(9), link_up(1000));
    assert_eq!(sim.active().as_deref(), Some("eth9"));
    assert_eq!(sim.bond.status().primary.as_deref(), Some("eth9"));

    // eth0 is no longer primary: it does not take over again.
    sim.down_at(1050, "eth9");
    sim.run_until(1100);
    assert_eq!(sim.active().as_deref(), Some("eth0"));
}

#[test]
fn primary_refused_outside_modes_1_5_6() {
    let mut sim = Sim::new_down(&[MIIMON], &["eth0"]);
    let e = sim.set("primary", "eth0").unwrap_err();
    assert_eq!(e.errno, Errno::EACCES);
    assert_eq!(e.lines[0], "option primary: mode dependency failed, not supported in mode balance-rr(0)");
}

// ---- active_slave (bonding.rst, Bonding Driver Options) ------------------------------------------------------------------------

#[test]
fn active_slave_refusals_and_acceptance() {
    let mut sim = Sim::start(&[AB, MIIMON], &["eth0", "eth1", "eth2"]);
    sim.down_at(1050, "eth2");
    sim.run_until(1100);
    sim.actions.clear();

    let e = sim.set("active_slave", "eth7").unwrap_err();
    assert_eq!(e.errno, Errno::EINVAL);
    assert!(e.lines.iter().any(|l| l.contains("Device is not bonding slave") || l.contains("Device is not our slave")));
    assert!(e.lines.contains(&"option active_slave: invalid value (eth7)".to_string()));

    let e = sim.set("active_slave", "eth2").unwrap_err();
    assert_eq!(e.errno, Errno::EINVAL);
    assert_eq!(
        e.lines,
        vec![
            "Could not set as active slave; either eth2 is down or the link is down".to_string(),
            "option active_slave: invalid value (eth2)".to_string(),
        ]
    );
    assert_eq!(sim.active().as_deref(), Some("eth0"), "a refusal changes nothing");
    assert!(sim.active_events().is_empty());

    // Accepted: an up slave while there is an active one (trailing newline as sysfs writes it).
    sim.set("active_slave", "eth1\n").unwrap();
    assert_eq!(sim.active().as_deref(), Some("eth1"));
    assert_eq!(sim.active_events(), vec![(1100, Some("eth1".into()))]);
    let st = sim.bond.status();
    assert_eq!((st.slaves[0].state, st.slaves[1].state), ("backup", "active"));
    // Naming the current active slave again changes nothing.
    sim.set("active_slave", "eth1").unwrap();
    assert_eq!(sim.active_events().len(), 1);

    // Empty clears and re-selects: with no primary and equal prio, the first up slave.
    sim.set("active_slave", "").unwrap();
    assert_eq!(sim.active().as_deref(), Some("eth0"));
}

#[test]
fn active_slave_refused_in_balance_rr() {
    let mut sim = Sim::start(&[MIIMON], &["eth0", "eth1"]);
    let e = sim.set("active_slave", "eth1").unwrap_err();
    assert_eq!(e.errno, Errno::EACCES);
    assert_eq!(e.lines[0], "option active_slave: mode dependency failed, not supported in mode balance-rr(0)");
}

// ---- peer notification (bond_main.c: bond_should_notify_peers) -------------------------------------------------------------------

#[test]
fn peer_notify_num_grat_arp_times_one_per_monitor_interval() {
    let mut sim = Sim::start(&[AB, MIIMON, ("num_grat_arp", "3")], &["eth0", "eth1"]);
    assert!(sim.notifies().is_empty());
    sim.down_at(1050, "eth0");
    sim.run_until(3000);
    // The bond took the first slave's MAC when it was enslaved (bonding.rst, mode).
    let mac = sim.bond.mac();
    assert_eq!(mac, slave_mac(0));
    assert_eq!(
        sim.notifies(),
        vec![(1050, "eth1".into(), mac), (1150, "eth1".into(), mac), (1250, "eth1".into(), mac)]
    );
}

#[test]
fn peer_notify_spaced_by_peer_notif_delay() {
    let mut sim = Sim::start(&[AB, MIIMON, ("num_grat_arp", "3"), ("peer_notif_delay", "200")], &["eth0", "eth1"]);
    sim.down_at(1050, "eth0");
    sim.run_until(3000);
    let times: Vec<Millis> = sim.notifies().iter().map(|n| n.0).collect();
    assert_eq!(times, vec![1050, 1250, 1450]);
    assert!(sim.notifies().iter().all(|n| n.1 == "eth1"));
}

#[test]
fn peer_notify_once_by_default_and_on_admin_switch() {
    let mut sim = Sim::start(&[AB, MIIMON], &["eth0", "eth1"]);
    sim.set("active_slave", "eth1").unwrap();
    sim.run_until(2000);
    assert_eq!(sim.notifies(), vec![(1000, "eth1".into(), slave_mac(0))], "the bond MAC, taken from the first slave (bonding.rst, mode)");
}

#[test]
fn no_peer_notify_while_bond_down() {
    let mut sim = Sim::new_down(&[AB, MIIMON, ("num_grat_arp", "2")], &["eth0", "eth1"]);
    assert_eq!(sim.active().as_deref(), Some("eth0"), "the active slave is chosen at enslave, even while down");
    sim.set("active_slave", "eth1").unwrap();
    assert_eq!(sim.active().as_deref(), Some("eth1"));
    assert!(sim.notifies().is_empty());
    sim.run_until(2000);
    assert!(sim.notifies().is_empty(), "no monitor runs while the bond is down");
}

// Was a core bug (fixed): `Bond::set_admin_up(true)` (bond/mod.rs, "Like bond_open: ... then choose the
// active slave") re-runs the active slave selection. Opening the bond is not one of the
// selection triggers of bond_main.c: bond_find_best_slave (active slave down; a primary / higher-prio / first slave comes
// up; release; primary, primary_reselect, prio or active_slave set), and peer notification
// starts only at a failover (bond_main.c: bond_should_notify_peers). With equal prio and no primary, step 1 then picks the
// first up slave (eth0) over the active slave chosen while down (eth1): the administrator's
// choice is lost and a peer notification is sent for a failover that did not happen.
#[test]
fn bond_up_keeps_active_slave_chosen_while_down() {
    let mut sim = Sim::new_down(&[AB, MIIMON], &["eth0", "eth1"]);
    sim.set("active_slave", "eth1").unwrap();
    sim.actions.clear();
    sim.bond.set_admin_up(true, 0);
    sim.collect();
    sim.run_until(2000);
    assert_eq!(sim.active().as_deref(), Some("eth1"));
    assert_eq!(sim.active_events(), vec![]);
    assert_eq!(sim.notifies(), vec![]);
}

// Was a core bug (fixed): when the failover is committed inside `tick` (here: at the end of a downdelay),
// the kernel's MII monitor decrements the counter *before* the commit of the same tick (it
// decides and decrements, then commits, bond_main.c: bond_should_notify_peers), so the second notification comes one monitor
// interval after the failover. The core runs `mii_tick` (failover: counter := 2, notify,
// counter 1) and then `peer_notify_tick` in the same `tick`, which notifies again at once.
#[test]
fn peer_notify_after_failover_committed_in_tick_is_spaced() {
    let mut sim = Sim::start(&[AB, MIIMON, ("downdelay", "100"), ("num_grat_arp", "2")], &["eth0", "eth1"]);
    sim.down_at(1050, "eth0");
    sim.run_until(3000);
    assert_eq!(sim.active_events(), vec![(1150, Some("eth1".into()))]);
    let times: Vec<Millis> = sim.notifies().iter().map(|n| n.0).collect();
    assert_eq!(times, vec![1150, 1250]);
}

// Was a core bug (fixed): with the ARP monitor in active-backup, the kernel sends the remaining
// notifications from the ARP monitor, one per interval, decrementing only when it sends
// (bond_main.c: bond_should_notify_peers: "the ARP monitor decrements it only when it sends"). The core's
// `peer_notify_tick` only runs when miimon > 0, so only the first notification is sent.
#[test]
fn peer_notify_with_arp_monitor_one_per_interval() {
    let mut sim = Sim::new_down(&[AB, ("arp_interval", "1000"), ("arp_ip_target", "+198.18.0.254"), ("num_grat_arp", "3")], &["eth0", "eth1"]);
    sim.bond.set_admin_up(true, 0);
    sim.collect();
    let reply = arp_reply_from(TARGET_IP);
    sim.rx_every("eth0", 500, 1000, 3000, &reply);
    sim.rx_every("eth1", 500, 1000, 20_000, &reply);
    sim.run_until(20_000);
    let failover = sim
        .active_events()
        .iter()
        .find(|(_, n)| n.as_deref() == Some("eth1"))
        .map(|(t, _)| *t)
        .expect("eth0 stops receiving: eth1 takes over");
    let times: Vec<Millis> = sim.notifies().iter().filter(|n| n.1 == "eth1").map(|n| n.0).collect();
    assert_eq!(times, vec![failover, failover + 1000, failover + 2000]);
}

// ---- ARP monitor (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv) -----------------------------------------------------------------------

fn xor_arp(missed: &str) -> Sim {
    let mut sim = Sim::new_down(
        &[("mode", "balance-xor"), ("arp_interval", "1000"), ("arp_ip_target", "+198.18.0.254"), ("arp_missed_max", missed)],
        &["eth0", "eth1"],
    );
    sim.bond.set_admin_up(true, 0);
    sim.collect();
    sim
}

#[test]
fn arpmon_xor_silent_slave_goes_down_after_missed_max_intervals() {
    let mut sim = xor_arp("2");
    let reply = arp_reply_from(TARGET_IP);
    sim.rx_every("eth0", 500, 1000, 10_000, &reply);
    sim.run_until(10_000);
    // eth1 last received at enslave time 0: down at the first tick past 0 + 2·1000 + 1000/2.
    assert_eq!(sim.transitions("eth1"), vec![(3000, LinkState::Down)]);
    assert_eq!(sim.transitions("eth0"), vec![], "eth0 receives every interval and stays up");
    assert_eq!(sim.failures("eth1"), 1);
    assert!(sim.logs("eth1").contains(&(3000, "link status definitely down, disabling slave".to_string())));
    assert_eq!(sim.tx_slaves(), vec![0]);
    // The ARP monitor's verdicts do not stop delivery in balance-xor.
    assert!(sim.rx.iter().all(|r| r.2 == RxVerdict::Deliver));

    // eth1 hears the target again: UP once both its last probe and last receive are within
    // one interval.
    sim.history.clear();
    sim.rx_every("eth1", 10_500, 1000, 14_000, &reply);
    sim.rx_every("eth0", 10_500, 1000, 14_000, &reply);
    sim.run_until(14_000);
    assert_eq!(sim.transitions("eth1"), vec![(11_000, LinkState::Up)]);
    assert_eq!(sim.tx_slaves(), vec![0, 1]);
}

#[test]
fn arpmon_missed_max_3_waits_one_more_interval() {
    let mut sim = xor_arp("3");
    sim.rx_every("eth0", 500, 1000, 10_000, &arp_reply_from(TARGET_IP));
    sim.run_until(10_000);
    assert_eq!(sim.transitions("eth1"), vec![(4000, LinkState::Down)]);
}

#[test]
fn arpmon_all_silent_drops_carrier() {
    let mut sim = xor_arp("2");
    sim.run_until(5000);
    assert_eq!(sim.transitions("eth0"), vec![(3000, LinkState::Down)]);
    assert_eq!(sim.transitions("eth1"), vec![(3000, LinkState::Down)]);
    assert!(sim.carrier_events().contains(&(3000, false)));
}

#[test]
fn arpmon_probes_are_arp_requests_for_each_target() {
    let mut sim = xor_arp("2");
    sim.set("arp_ip_target", "+198.18.0.253").unwrap();
    let reply = arp_reply_from(TARGET_IP);
    sim.rx_every("eth0", 500, 1000, 4000, &reply);
    sim.rx_every("eth1", 500, 1000, 4000, &reply);
    sim.run_until(3500);
    let probes = sim.probes();
    // Each interval: every slave probes every target, in target order.
    let at = |t: Millis| -> Vec<(String, Ipv4Addr)> {
        probes.iter().filter(|p| p.0 == t).map(|p| (p.1.clone(), p.2.tpa)).collect()
    };
    for t in [1000, 2000, 3000] {
        assert_eq!(
            at(t),
            vec![
                ("eth0".to_string(), TARGET_IP),
                ("eth0".to_string(), TARGET2_IP),
                ("eth1".to_string(), TARGET_IP),
                ("eth1".to_string(), TARGET2_IP),
            ],
            "probes at t={t}"
        );
    }
    assert_eq!(probes.len(), 12, "one probe per slave and target per interval, none between");
    for (_, slave, arp, frame) in &probes {
        assert_eq!(arp.op, 1, "a request");
        assert_eq!(arp.spa, LOCAL_IP);
        assert_eq!(arp.tha, MacAddr::ZERO);
        assert_eq!(&frame[0..6], &[0xff; 6], "broadcast");
        // Sender MAC = the slave's current MAC, which in balance-xor is the bond MAC.
        let cur = sim.bond.slaves()[sim.idx(slave)].cur_mac;
        assert_eq!(arp.sha, cur);
        assert_eq!(&frame[6..12], &cur.0);
    }
}

#[test]
fn arpmon_active_backup_probes_only_on_active_slave() {
    let mut sim = Sim::new_down(&[AB, ("arp_interval", "1000"), ("arp_ip_target", "+198.18.0.254")], &["eth0", "eth1"]);
    sim.bond.set_admin_up(true, 0);
    sim.collect();
    let reply = arp_reply_from(TARGET_IP);
    sim.rx_every("eth0", 500, 1000, 10_000, &reply);
    sim.rx_every("eth1", 500, 1000, 10_000, &reply);
    sim.run_until(4500);
    assert_eq!(sim.active().as_deref(), Some("eth0"));
    let probes = sim.probes();
    assert_eq!(probes.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1000, 2000, 3000, 4000]);
    assert!(probes.iter().all(|p| p.1 == "eth0" && p.2.tpa == TARGET_IP));
    assert_eq!(sim.history, vec![], "both slaves receive: no link change");
    // Backups that receive stay up; inactive backup frames are not delivered.
    assert!(sim.rx.iter().filter(|r| r.1 == "eth1").all(|r| r.2 == RxVerdict::Drop));

    // The probes follow the active slave.
    sim.actions.clear();
    sim.set("active_slave", "eth1").unwrap();
    sim.run_until(7500);
    let probes = sim.probes();
    assert_eq!(probes.len(), 3);
    assert!(probes.iter().all(|p| p.1 == "eth1"));
}

#[test]
fn arpmon_active_backup_silent_active_fails_over() {
    let mut sim = Sim::new_down(&[AB, ("arp_interval", "1000"), ("arp_ip_target", "+198.18.0.254")], &["eth0", "eth1"]);
    sim.bond.set_admin_up(true, 0);
    sim.collect();
    let reply = arp_reply_from(TARGET_IP);
    sim.rx_every("eth0", 500, 1000, 3000, &reply); // last receive at 2500
    sim.rx_every("eth1", 500, 1000, 20_000, &reply);
    sim.run_until(20_000);
    // The active slave goes down once its last receive is more than arp_missed_max (2)
    // intervals old: at the first tick after 2500 + 2500.
    assert_eq!(sim.transitions("eth0"), vec![(6000, LinkState::Down)]);
    let later: Vec<_> = sim.active_events().into_iter().filter(|(t, _)| *t > 0).collect();
    assert_eq!(later, vec![(6000, Some("eth1".into()))]);
    assert!(sim.logs("eth0").contains(&(6000, "link status definitely down, disabling slave".to_string())));
    assert_eq!(sim.notifies().first().map(|n| (n.0, n.1.clone())), Some((6000, "eth1".to_string())));
}

// Review findings, kept as regression tests.

/// bond_main.c: bond_find_best_slave: only the active slave's failure is a reselection trigger. A backup going down must
/// not move the active slave back to a recovered former active.
#[test]
fn a_backup_failing_does_not_move_the_active_slave() {
    let mut sim = Sim::start(&[AB, MIIMON], &["eth0", "eth1", "eth2"]);
    sim.down_at(1050, "eth0");
    sim.up_at(1550, "eth0");
    sim.down_at(2050, "eth2");
    sim.run_until(3000);
    assert_eq!(sim.active().as_deref(), Some("eth1"));
    assert_eq!(sim.active_events(), vec![(1050, Some("eth1".to_string()))]);
}

/// A link event on one slave runs the monitor for that slave only: it must not count down
/// another slave's running downdelay.
#[test]
fn another_slaves_link_events_do_not_shorten_a_running_downdelay() {
    let mut sim = Sim::start(&[AB, MIIMON, ("downdelay", "400")], &["eth0", "eth1", "eth2"]);
    sim.down_at(1050, "eth0");
    for k in 0..6 {
        sim.down_at(1060 + k * 40, "eth2");
        sim.up_at(1080 + k * 40, "eth2");
    }
    sim.run_until(2000);
    assert_eq!(sim.transitions("eth0"), vec![(1050, LinkState::Fail), (1450, LinkState::Down)]);
}

/// bond_main.c: bond_find_best_slave step 5: with no slave UP, a slave still in its updelay (BACK) is made active at
/// once, and the kernel says how long it had waited.
#[test]
fn a_back_slave_is_promoted_when_nothing_else_is_up() {
    let mut sim = Sim::start(&[AB, MIIMON, ("updelay", "500")], &["eth0", "eth1"]);
    sim.down_at(1050, "eth1");
    sim.up_at(1550, "eth1");
    sim.down_at(1750, "eth0");
    sim.run_until(1800);
    assert_eq!(sim.state("eth1"), LinkState::Up);
    assert_eq!(sim.active().as_deref(), Some("eth1"));
    assert!(
        sim.logs("eth1").contains(&(1750, "making interface the new active one 200 ms earlier".to_string())),
        "{:?}",
        sim.logs("eth1")
    );
}

// ---- NS monitor: ns_ip6_target with the ARP monitor (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv) -----------------------------------

fn xor_ns(validate: &str) -> (Sim, std::net::Ipv6Addr) {
    let target: std::net::Ipv6Addr = "2001:2::fe".parse().unwrap();
    let mut sim = Sim::new_down(
        &[("mode", "balance-xor"), ("arp_interval", "1000"), ("ns_ip6_target", "+2001:2::fe"), ("arp_validate", validate)],
        &["eth0", "eth1"],
    );
    sim.bond.set_local_addrs(&[], &["2001:2::1".parse().unwrap()]);
    sim.bond.set_admin_up(true, 0);
    sim.collect();
    (sim, target)
}

fn sent_frames(sim: &Sim) -> Vec<(Millis, String, Vec<u8>)> {
    sim.actions
        .iter()
        .filter_map(|(t, a)| match a {
            Action::SendFrame { slave, frame } => Some((*t, sim.name_of(*slave), frame.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn ns_monitor_probes_with_neighbor_solicitations() {
    let (mut sim, target) = xor_ns("none");
    sim.run_until(1500);
    let sent = sent_frames(&sim);
    assert_eq!(sent.iter().map(|s| (s.0, s.1.as_str())).collect::<Vec<_>>(), vec![(1000, "eth0"), (1000, "eth1")]);
    for (_, _, f) in &sent {
        // To the target's solicited-node group, from the bond's global address.
        assert_eq!(&f[0..6], &[0x33, 0x33, 0xff, 0x00, 0x00, 0xfe]);
        let (src, dst) = rbond_core::frame::view::ipv6_addrs(f).unwrap();
        assert_eq!(src, "2001:2::1".parse::<std::net::Ipv6Addr>().unwrap());
        assert_eq!(dst, "ff02::1:ff00:fe".parse::<std::net::Ipv6Addr>().unwrap());
        assert_eq!(f[54], 135, "ICMPv6 Neighbor Solicitation");
        assert_eq!(&f[62..78], &target.octets());
    }
}

#[test]
fn ns_monitor_validates_advertisements_from_the_target() {
    let (mut sim, target) = xor_ns("all");
    // eth0 hears the target's advertisement; eth1 hears only an unrelated one.
    let from_target = rbond_core::frame::build::unsolicited_na(MacAddr([2, 0, 0, 0, 0, 0xfe]), target, false);
    let other = rbond_core::frame::build::unsolicited_na(MacAddr([2, 0, 0, 0, 0, 0x77]), "2001:2::77".parse().unwrap(), false);
    sim.rx_every("eth0", 500, 1000, 6000, &from_target);
    sim.rx_every("eth1", 500, 1000, 6000, &other);
    sim.run_until(6000);
    assert_eq!(sim.transitions("eth0"), vec![], "validated replies keep eth0 up");
    assert_eq!(sim.transitions("eth1"), vec![(3000, LinkState::Down)], "an advertisement from a non-target is not proof");
}
