//! Issue 16: balance-tlb and balance-alb end to end, with real frames. The switch is a Linux
//! bridge with no configuration; behind it 4 client namespaces (198.18.0.11–14, MACs
//! 02:00:00:00:cc:01–04) and the lab's peer (198.18.0.2). The host's bond0 has 2 or 3 slaves.
//!
//! * tlb: the host's traffic to the 4 clients leaves on every slave (the load table spreads
//!   the destinations), replies come in on the active slave only.
//! * alb: every client is taught (by ARP) another slave's MAC for 198.18.0.1, so the clients'
//!   traffic comes in on several slaves; pulling the active cable moves the bond MAC and the
//!   clients without losing them; plugging it back spreads them again; releasing a slave and
//!   stopping the daemon put every slave back on its own MAC.
//!
//! Counters are the host slaves' kernel counters (netlink/sysfs statistics of the veths).
//! Bounds are loose on purpose: the machine has 2 shared cores, so pacing slips and frames are
//! late, but a broken balancing shows as a slave with no share at all, and a broken failover
//! as a client that stops answering.

mod common;
use common::*;
use rbond::lab::clients::{client_addr, parse_ping, PingResult};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

const BOND_IP: &str = "198.18.0.1";
const CLIENTS: usize = 4;
const PING_EVERY: Duration = Duration::from_millis(10);

/// A `ping` running in a namespace, its output in a file; stopped with SIGINT (so it prints
/// its summary) by `finish`, or killed on drop (a failing test).
struct Pinger {
    child: Option<Child>,
    out: PathBuf,
    name: String,
}

static PINGERS: AtomicU32 = AtomicU32::new(0);

impl Pinger {
    fn start(ns: &str, target: &str) -> Pinger {
        let out = std::env::temp_dir().join(format!("rbt{}-{}.ping", std::process::id(), PINGERS.fetch_add(1, Ordering::Relaxed)));
        let file = std::fs::File::create(&out).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "ping", "-n", "-i", "0.01", "-W", "1", target])
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Pinger { child: Some(child), out, name: format!("{ns} -> {target}") }
    }

    fn finish(mut self) -> PingResult {
        let mut child = self.child.take().unwrap();
        // `ip netns exec` execs ping, so this is ping's own pid.
        // SAFETY: kill(2) on the pid of a child we started and have not reaped yet.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let _ = child.wait();
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        parse_ping(&self.name, &text, PING_EVERY).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.out);
    }
}

fn lab(mode: Mode, slaves: usize) -> TestLab {
    build(config(mode).slaves(slaves).clients(CLIENTS))
}

/// Per-slave (name, rx, tx) counter deltas over `f`.
fn measure<T>(lab: &TestLab, f: impl FnOnce() -> T) -> (T, Vec<(String, u64, u64)>) {
    let before = lab.slave_counters().unwrap();
    let t = f();
    let after = lab.slave_counters().unwrap();
    (t, deltas(&before, &after))
}

/// Each slave's MAC now, by name.
fn slave_macs(lab: &TestLab) -> Vec<(String, String)> {
    lab.slaves().iter().map(|s| (s.clone(), lab.host_mac(s).unwrap())).collect()
}

/// Each slave's permanent MAC, from `status --json`.
fn perm_macs(lab: &TestLab) -> Vec<(String, String)> {
    let j = lab.status_json().unwrap();
    j["slaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["perm_hwaddr"].as_str().unwrap().to_lowercase()))
        .collect()
}

fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < end, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The slave names whose MAC the clients hold for bond0's IP (None for a client without one).
fn client_slaves(lab: &TestLab) -> Vec<Option<String>> {
    let macs = slave_macs(lab);
    lab.client_neigh()
        .into_iter()
        .map(|n| n.and_then(|n| macs.iter().find(|(_, m)| *m == n).map(|(s, _)| s.clone())))
        .collect()
}

fn distinct(v: &[Option<String>]) -> usize {
    v.iter().flatten().collect::<BTreeSet<_>>().len()
}

fn assert_no_dup(rs: &[PingResult]) {
    for r in rs {
        assert_eq!(r.duplicates, 0, "duplicated echo replies (DUP!): {r:?}");
    }
}

/// After convergence each slave's MAC is learned on its own switch port only.
fn assert_fdb_converged(lab: &TestLab) {
    let macs = slave_macs(lab);
    let fdb = poll("bridge fdb: each slave MAC on its own port", Duration::from_secs(5), || {
        let fdb = lab.fdb().unwrap();
        let ok = macs.iter().enumerate().all(|(k, (_, m))| {
            let ports: Vec<&String> = fdb.iter().filter(|(fm, _)| fm == m).map(|(_, p)| p).collect();
            ports == [&lab.ports()[k]]
        });
        ok.then_some(fdb)
    });
    println!("bridge fdb (learned): {fdb:?}");
}

// ----- balance-tlb ------------------------------------------------------------------------

fn tlb_spreads_transmit(slaves: usize) {
    if !root_or_skip() {
        return;
    }
    let lab = lab(Mode::BalanceTlb, slaves);
    // veths report 10000 Mb/s to ethtool, so tlb (which needs the speed) keeps them up.
    let st = lab.status().unwrap();
    assert_eq!(st.matches("Speed: 10000 Mbps").count(), slaves, "{st}");
    assert_eq!(slave_sections(&st).iter().filter(|s| s.1 == "up").count(), slaves, "{st}");
    let active = lab.active_slave().unwrap().expect("an active slave");
    let pingers: Vec<Pinger> = (0..CLIENTS).map(|k| Pinger::start(lab.host().name(), &client_addr(k))).collect();
    // New table entries have no load history, so they all go to the first slave until the
    // 10 s rebalance measures them; then the 4 destinations spread.
    let table = poll("the tx table on every slave", Duration::from_secs(25), || {
        let j = lab.status_json().ok()?;
        let used: BTreeSet<String> =
            j["lb"]["tx_table"].as_array()?.iter().filter_map(|e| e["slave"].as_str().map(String::from)).collect();
        (used.len() == slaves).then_some(j["lb"]["tx_table"].clone())
    });
    println!("tx table: {table}");
    let (_, d) = measure(&lab, || std::thread::sleep(Duration::from_secs(3)));
    let results: Vec<PingResult> = pingers.into_iter().map(Pinger::finish).collect();
    println!("per-slave deltas (name, rx, tx): {d:?}");
    for r in &results {
        println!("{r:?}");
        assert!(r.received * 10 >= r.sent * 9, "more than 10% lost: {r:?}");
    }
    assert_no_dup(&results);
    let tx_total: u64 = d.iter().map(|x| x.2).sum();
    let rx_total: u64 = d.iter().map(|x| x.1).sum();
    assert!(tx_total >= 300, "too little traffic measured: {d:?}");
    for (name, rx, tx) in &d {
        // 4 destinations over 2 or 3 slaves: at least one each, a quarter of the echoes.
        assert!(*tx * 10 >= tx_total, "{name} sent {tx} of {tx_total}: tlb must use every slave");
        if *name == active {
            assert!(*rx * 10 >= rx_total * 9, "the active {name} received {rx} of {rx_total}");
        } else {
            // Replies go to the bond MAC, which only the active slave's port has learned;
            // floods (ARP) only otherwise.
            assert!(*rx * 20 <= rx_total, "non-active {name} received {rx} of {rx_total}");
        }
    }
    teardown(lab);
}

#[test]
fn tlb_two_slaves_spread_transmit_receive_on_active() {
    tlb_spreads_transmit(2);
}

#[test]
fn tlb_three_slaves_spread_transmit_receive_on_active() {
    tlb_spreads_transmit(3);
}

/// The host's echo request to client k as it leaves bond0 (what the hash sees).
fn echo_to_client(bond_mac: &str, k: usize) -> Vec<u8> {
    let mac = |s: &str| -> Vec<u8> { s.split(':').map(|b| u8::from_str_radix(b, 16).unwrap()).collect() };
    let mut f = mac(&rbond::lab::clients::client_mac(k));
    f.extend(mac(bond_mac));
    f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0, 198, 18, 0, 1]);
    f.extend(client_addr(k).split('.').map(|b| b.parse::<u8>().unwrap()));
    f.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, 1]);
    f
}

/// tlb_dynamic_lb 0: no table, `usable[xmit_hash mod count]` (bond_alb.c: tlb_choose_channel); each client's echoes
/// leave on the slave the kernel's layer2 hash names. (The clients' MACs end in 01..04, so
/// the layer2 hash gives both parities; with layer2+3 the MAC and IP parities cancel out.)
#[test]
fn tlb_static_hashes_each_client_to_its_slave() {
    if !root_or_skip() {
        return;
    }
    let n = 2;
    let lab = build(config(Mode::BalanceTlb).slaves(n).clients(CLIENTS).option("tlb_dynamic_lb", "0").option("xmit_hash_policy", "layer2"));
    let bond_mac = lab.host_mac("bond0").unwrap();
    let host = lab.host().name().to_string();
    let mut seen = BTreeSet::new();
    for k in 0..CLIENTS {
        // Resolve the client first (the bond's ARP request is not balanced).
        assert!(ping_ok(lab.host(), &client_addr(k)));
        let want = rbond_core::hash::xmit_hash(rbond_core::XmitHashPolicy::Layer2, &echo_to_client(&bond_mac, k)) % n as u32;
        let (r, d) = measure(&lab, || {
            let p = Pinger::start(&host, &client_addr(k));
            std::thread::sleep(Duration::from_secs(1));
            p.finish()
        });
        println!("client {k}: expected eth{want}; {r:?}; deltas {d:?}");
        assert!(r.received * 10 >= r.sent * 9, "{r:?}");
        for (i, (name, _rx, tx)) in d.iter().enumerate() {
            if i as u32 == want {
                assert!(*tx >= r.sent * 9 / 10, "{name} (hashed) sent {tx} of {} echoes", r.sent);
            } else {
                assert!(*tx <= 10, "{name} sent {tx} echoes to a client hashed to eth{want}");
            }
        }
        seen.insert(want);
    }
    assert_eq!(seen.len(), n, "the 4 clients hash onto both slaves");
    teardown(lab);
}

// ----- balance-alb ------------------------------------------------------------------------

/// Every client pings bond0 for `secs`; returns the ping results and the per-slave deltas.
fn clients_ping(lab: &TestLab, secs: u64) -> (Vec<PingResult>, Vec<(String, u64, u64)>) {
    measure(lab, || {
        let ps: Vec<Pinger> = lab.clients().iter().map(|c| Pinger::start(c.name(), BOND_IP)).collect();
        std::thread::sleep(Duration::from_secs(secs));
        ps.into_iter().map(Pinger::finish).collect()
    })
}

fn alb_spreads_receive(slaves: usize) {
    if !root_or_skip() {
        return;
    }
    let lab = lab(Mode::BalanceAlb, slaves);
    // First contact: each client's ARP request is answered through RLB.
    let (warm, _) = clients_ping(&lab, 1);
    assert!(warm.iter().all(|r| r.received > 0), "{warm:?}");
    let taught = client_slaves(&lab);
    println!("clients reach {BOND_IP} at: {taught:?}; slave MACs {:?}", slave_macs(&lab));
    assert!(taught.iter().all(|t| t.is_some()), "every client holds a slave MAC for {BOND_IP}: {taught:?}");
    assert!(distinct(&taught) >= 2, "alb must teach the clients different slaves: {taught:?}");
    let macs: BTreeSet<_> = slave_macs(&lab).into_iter().map(|(_, m)| m).collect();
    assert_eq!(macs.len(), slaves, "alb slaves keep distinct MACs: {macs:?}");
    let j = lab.status_json().unwrap();
    let clients = j["lb"]["rlb_clients"].as_array().unwrap();
    println!("RLB clients: {clients:?}");
    assert!(clients.len() > CLIENTS, "4 clients + the peer in the RLB table: {clients:?}");

    let (results, d) = clients_ping(&lab, 3);
    println!("per-slave deltas (name, rx, tx): {d:?}");
    for r in &results {
        println!("{r:?}");
        assert!(r.received * 10 >= r.sent * 9, "more than 10% lost: {r:?}");
    }
    assert_no_dup(&results);
    let rx_total: u64 = d.iter().map(|x| x.1).sum();
    assert!(rx_total >= 300, "too little traffic measured: {d:?}");
    // 4 clients over the slaves: each slave that has clients carries at least a quarter.
    let busy = d.iter().filter(|x| x.1 * 6 >= rx_total).count();
    assert!(busy >= 2, "receive must spread over >= 2 slaves: {d:?}");
    assert_fdb_converged(&lab);
    teardown(lab);
}

#[test]
fn alb_two_slaves_clients_learn_different_macs_and_receive_spreads() {
    alb_spreads_receive(2);
}

#[test]
fn alb_three_slaves_clients_learn_different_macs_and_receive_spreads() {
    alb_spreads_receive(3);
}

fn alb_pull_active(slaves: usize) {
    if !root_or_skip() {
        return;
    }
    let lab = lab(Mode::BalanceAlb, slaves);
    clients_ping(&lab, 1);
    let active = lab.active_slave().unwrap().expect("an active slave");
    let k = lab.slaves().iter().position(|s| *s == active).unwrap();
    let bond_mac = lab.host_mac("bond0").unwrap();
    assert_eq!(lab.host_mac(&active).unwrap(), bond_mac, "the bond MAC lives on the active slave");

    println!("before the pull, clients reach {BOND_IP} at: {:?}", client_slaves(&lab));
    let ps: Vec<Pinger> = lab.clients().iter().map(|c| Pinger::start(c.name(), BOND_IP)).collect();
    std::thread::sleep(Duration::from_secs(1));
    let t_pull = Instant::now();
    lab.pull(k).unwrap();
    let new_active = poll("a new active slave", Duration::from_secs(5), || {
        lab.active_slave().ok().flatten().filter(|a| *a != active)
    });
    println!("pulled {active}: {new_active} active after {:?}", t_pull.elapsed());
    // The bond MAC moved with the active role (a swap: it never leaves the wire).
    poll("the bond MAC on the new active slave", Duration::from_secs(2), || {
        (lab.host_mac(&new_active).ok()? == bond_mac).then_some(())
    });
    // The clients of the pulled slave are moved to the others and updated (2 ARP replies each,
    // after RLB's update delay, retried 2.1 s apart; a client ignores a reply within 1 s of
    // its last neighbour update, so a retry may be the one that counts). Meanwhile the
    // active slave receives for the pulled slave's MAC.
    let during = poll("every client off the pulled slave", Duration::from_secs(10), || {
        let t = client_slaves(&lab);
        t.iter().flatten().all(|s| *s != active).then_some(t)
    });
    println!("clients reach {BOND_IP} at: {during:?}; RLB: {}", lab.status_json().unwrap()["lb"]["rlb_clients"]);
    if let Some(rest) = Duration::from_secs(3).checked_sub(t_pull.elapsed()) {
        std::thread::sleep(rest);
    }
    let pulled: Vec<PingResult> = ps.into_iter().map(Pinger::finish).collect();
    println!("--- pings while {active}'s cable was pulled:");
    for r in &pulled {
        println!("{} sent {} received {} lost {} ({:.1}%) longest gap {:?}", r.client, r.sent, r.received, r.lost(), r.loss_percent(), r.longest_gap);
        // Every client keeps reaching the host: a short outage at most, not a dead client.
        assert!(r.received * 10 >= r.sent * 8, "more than 20% lost at the pull: {r:?}");
        assert!(r.longest_gap <= Duration::from_millis(1500), "outage too long: {r:?}");
    }
    assert_no_dup(&pulled);

    lab.plug(k).unwrap();
    wait_status(&lab, "the plugged slave up", Duration::from_secs(5), |s| {
        slave_sections(s).iter().all(|x| x.1 == "up")
    });
    // The clients are spread again: the rebalance runs at the next tick, the updates after
    // RLB's 2 s delay (with retries 2.1 s apart).
    let (after, pulled_back) = {
        let ps: Vec<Pinger> = lab.clients().iter().map(|c| Pinger::start(c.name(), BOND_IP)).collect();
        let spread = poll("the clients spread over the slaves again", Duration::from_secs(15), || {
            let t = client_slaves(&lab);
            (t.iter().any(|s| s.as_deref() == Some(active.as_str())) && distinct(&t) >= 2).then_some(t)
        });
        std::thread::sleep(Duration::from_secs(1));
        (ps.into_iter().map(Pinger::finish).collect::<Vec<_>>(), spread)
    };
    println!("after the plug, clients reach {BOND_IP} at: {pulled_back:?}");
    for r in &after {
        println!("{} sent {} received {} lost {} ({:.1}%) longest gap {:?}", r.client, r.sent, r.received, r.lost(), r.loss_percent(), r.longest_gap);
        assert!(r.received * 10 >= r.sent * 8, "more than 20% lost around the plug: {r:?}");
    }
    assert_no_dup(&after);
    assert_fdb_converged(&lab);
    teardown(lab);
}

#[test]
fn alb_two_slaves_pull_active_under_ping_and_plug_back() {
    alb_pull_active(2);
}

#[test]
fn alb_three_slaves_pull_active_under_ping_and_plug_back() {
    alb_pull_active(3);
}

#[test]
fn alb_release_and_daemon_stop_restore_every_mac() {
    if !root_or_skip() {
        return;
    }
    let lab = lab(Mode::BalanceAlb, 3);
    let perm = perm_macs(&lab);
    println!("permanent MACs: {perm:?}");
    // Swap MACs first: pull eth0 (active, with the bond MAC), eth1 takes the bond MAC and
    // eth0 gets eth1's; plug eth0 back (it stays on eth1's MAC).
    assert_eq!(lab.active_slave().unwrap().as_deref(), Some("eth0"));
    lab.pull(0).unwrap();
    poll("eth1 active", Duration::from_secs(5), || (lab.active_slave().ok()?.as_deref() == Some("eth1")).then_some(()));
    lab.plug(0).unwrap();
    wait_status(&lab, "eth0 up again", Duration::from_secs(5), |s| slave_sections(s).iter().all(|x| x.1 == "up"));
    let now = slave_macs(&lab);
    println!("after the failover: {now:?}");
    assert_eq!(now[0].1, perm[1].1, "eth0 carries eth1's MAC after the swap");
    assert_eq!(now[1].1, perm[0].1, "eth1 carries the bond MAC (eth0's)");
    // Releasing eth1 swaps back (its own MAC is on eth0) and restores it.
    rbond_ok(&lab, &["release", "bond0", "eth1"]);
    let after_release = slave_macs(&lab);
    println!("after releasing eth1: {after_release:?}");
    assert_eq!(after_release[1].1, perm[1].1, "the released eth1 is back on its own MAC");
    assert_eq!(after_release[0].1, perm[0].1, "eth0 got its own MAC (the bond MAC) back by the swap");
    assert_eq!(after_release[2].1, perm[2].1);
    assert!(ping_ok(&lab.clients()[0], BOND_IP), "bond0 still answers after the release");
    // Stopping the daemon puts every remaining slave back on its own MAC.
    lab.host().stop_processes();
    let stopped = slave_macs(&lab);
    println!("after the daemon stopped: {stopped:?}");
    assert_eq!(stopped, perm, "every slave back on its own MAC");
    teardown(lab);
}
