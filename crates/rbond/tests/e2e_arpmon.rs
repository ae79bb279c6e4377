//! The ARP monitor (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv) end to end: bond0 probes 198.18.0.2 with ARP requests and
//! judges each slave by what it receives, in real namespaces with real frames.
//!
//! The failure the ARP monitor exists for is one the MII monitor cannot see: the carrier stays
//! up but frames no longer pass (a dead switch port, a broken path behind it). We make it with
//! nftables netdev hooks on the **switch** end of a cable (ingress: frames from the host;
//! egress: frames to the host). The host end is rbond's own slave, whose receive path the
//! daemon already filters, so impairing there would test the impairment, not the bond.
//!
//! Timing, with arp_interval I = 100 ms and arp_missed_max 2 (the default): the active slave
//! goes down at the first tick where its last receive is older than 2·I + I/2 = 250 ms, so about
//! (arp_missed_max + 1)·I = 300 ms after frames stop; then it fails over and the new active
//! slave's gratuitous ARP and probes move the bond's MAC in the bridge. In this lab the backup
//! hears only what the active slave sends (its broadcast probes, flooded by the bridge), so its
//! last receive is that probe, up to one interval before the cut, and its own limit
//! (3·I + I/2) can fall in the same tick as the active's. Then both go down together, as in the
//! kernel, and the bond finds a slave again by rotating probes over the slaves, one per
//! interval. Measured probe gaps: ≈ 260–290 ms (direct failover) and ≈ 610–640 ms (both down,
//! rotation), depending on where the cut falls between two ticks. The bound is 1500 ms (≈ 2.5×
//! the slower path, for a loaded 2-vCPU machine), while the impairment lasts 3 s, so a bond that
//! never fails over cannot pass.

mod common;
use common::*;
use rbond::lab::report::Phase;
use std::time::Instant;

const ARP_INTERVAL_MS: u64 = 100;
const ARP_MISSED_MAX: u64 = 2;
/// (arp_missed_max + 1) intervals to notice, plus slack for the failover and for scheduling.
const MAX_FAILOVER: Duration = Duration::from_millis(1500);
/// The nft table that cuts a cable; it lives in the lab's switch namespace and goes with it.
const CUT_TABLE: &str = "arpmon_cut";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A lab config with the ARP monitor on bond0 and probes to the peer.
fn arp_config(mode: Mode) -> LabConfig {
    config(mode)
        .option("arp_interval", &ARP_INTERVAL_MS.to_string())
        .option("arp_ip_target", "198.18.0.2")
}

/// Drops every frame on switch port `port`, in the given directions, with the carrier left up.
/// `from_host`: the netdev ingress hook (what the host slave sends); `to_host`: the egress hook
/// (what the switch forwards to it).
fn cut(lab: &Lab, port: &str, from_host: bool, to_host: bool) {
    let mut script = format!("add table netdev {CUT_TABLE}\n");
    for (on, hook) in [(from_host, "ingress"), (to_host, "egress")] {
        if on {
            script += &format!(
                "add chain netdev {CUT_TABLE} {hook} {{ type filter hook {hook} device \"{port}\" priority 0 ; }}\n\
                 add rule netdev {CUT_TABLE} {hook} counter drop\n"
            );
        }
    }
    let out = lab.switch().exec(&["nft", &script]).unwrap();
    assert!(out.status.success(), "nft failed: {}\n{script}", String::from_utf8_lossy(&out.stderr));
}

/// Removes the cut; returns the nft listing (with the drop counters) as it was just before.
fn heal(lab: &Lab) -> String {
    let listing = lab.switch().exec_ok(&["nft", "list", "table", "netdev", CUT_TABLE]).unwrap();
    lab.switch().exec_ok(&["nft", "delete", "table", "netdev", CUT_TABLE]).unwrap();
    listing
}

/// Arrival times (seconds, epoch) of the ARP requests "who-has 198.18.0.2 tell 198.18.0.1"
/// that switch port `port` received from the host (tcpdump -Q in): the first `count`, or all
/// within `secs`, whichever comes first.
fn arp_requests_from_host(lab: &Lab, port: &str, count: usize, secs: f64) -> Vec<f64> {
    let out = lab
        .switch()
        .exec(&[
            "timeout", "-s", "INT", &format!("{secs}"),
            "tcpdump", "-ntt", "-l", "-Q", "in", "-i", port, "-c", &count.to_string(),
            // ARP request (oper 1) for target 198.18.0.2 (0xc6120002 at offset 24).
            "arp and arp[6:2] = 1 and arp[24:4] = 0xc6120002",
        ])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listening on"), "tcpdump on {port} did not run: {stderr}");
    text.lines()
        .filter(|l| l.contains("Request who-has 198.18.0.2 tell 198.18.0.1"))
        .map(|l| l.split_whitespace().next().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("{l}")))
        .collect()
}

fn slave_mii<'a>(sections: &'a [(String, String, u32)], slave: &str) -> &'a (String, String, u32) {
    sections.iter().find(|s| s.0 == slave).unwrap_or_else(|| panic!("no section for {slave}"))
}

/// bond0 with `miimon 0 arp_interval 100 arp_ip_target 198.18.0.2`: the status shows the ARP
/// monitor's settings, the probe flows, and the ARP requests leave on the active slave only,
/// once per interval.
#[test]
fn active_backup_arp_monitor_probes_the_target() {
    if !root_or_skip() {
        return;
    }
    let lab = build(arp_config(Mode::ActiveBackup).miimon(0));
    let s = lab.status().unwrap();
    println!("status:\n{s}");
    assert_eq!(status_field(&s, "Bonding Mode").as_deref(), Some("fault-tolerance (active-backup)"));
    assert_eq!(status_field(&s, "MII Polling Interval (ms)").as_deref(), Some("0"), "{s}");
    assert_eq!(status_field(&s, "ARP Polling Interval (ms)").as_deref(), Some("100"), "{s}");
    assert_eq!(status_field(&s, "ARP Missed Max").as_deref(), Some("2"), "{s}");
    assert_eq!(status_field(&s, "ARP IP target/s (n.n.n.n form)").as_deref(), Some("198.18.0.2"), "{s}");
    // Both slaves up: the backup hears the active slave's broadcasts flooded by the bridge.
    let s = wait_status(&lab, "both slaves up", ms(2000), |s| {
        slave_sections(s).iter().all(|x| x.1 == "up")
    });
    // Steady state: no slave may fail while the capture and probe below run. (Checked over that
    // window, not since start-up: under 3x CPU oversubscription a start-up flap was seen once.)
    let fails_before: Vec<u32> = slave_sections(&s).iter().map(|x| x.2).collect();
    let active = status_field(&s, "Currently Active Slave").expect("an active slave");
    let k_active = lab.slaves().iter().position(|x| *x == active).expect("the active slave is a slave");

    // Capture on both switch ports at once while the probe runs: the first 10 requests from
    // the active slave (timestamps, so tcpdump's start-up time does not matter), and whatever
    // the backup sends meanwhile.
    const N: usize = 10;
    let (caps, r) = std::thread::scope(|sc| {
        let caps: Vec<_> = lab
            .ports()
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let lab = &lab;
                let (count, secs) = if k == k_active { (N, 5.0) } else { (1000, 2.0) };
                sc.spawn(move || arp_requests_from_host(lab, p, count, secs))
            })
            .collect();
        let r = lab.probe(ProbeConfig::new(ms(1500))).unwrap();
        let caps: Vec<Vec<f64>> = caps.into_iter().map(|h| h.join().unwrap()).collect();
        (caps, r)
    });
    println!("{}", rbond::lab::report::probe_table(&r, &[]));
    let sum = r.summary();
    assert!(sum.sent >= 1000 && sum.loss_percent() < 5.0, "{sum:?}");
    let t = &caps[k_active];
    assert_eq!(t.len(), N, "ARP requests from the active slave {active} within 5 s: {t:?}");
    // One request per interval: 9 intervals ≈ 900 ms. The daemon's timer can only run late,
    // never early, so 700 ms rejects a prober that runs too fast; 2 s tolerates a loaded
    // machine and still rejects one that probes at half the rate. (The stack itself asks at
    // most once per neighbour timeout, far slower.)
    let span = ms(((t[N - 1] - t[0]) * 1000.0) as u64);
    println!("{N} ARP requests from {active} spanning {span:?}; backup port saw {}", caps[1 - k_active].len());
    assert!(span >= ms(700) && span <= ms(2000), "{N} requests spanning {span:?}: {t:?}");
    let s = lab.status().unwrap();
    let fails_after: Vec<u32> = slave_sections(&s).iter().map(|x| x.2).collect();
    assert_eq!(
        fails_before, fails_after,
        "link failures during a steady probe: {s}\ndaemon log:\n{}",
        lab.daemon_log().join("\n")
    );
    // Active-backup probes only on the active slave.
    assert!(caps[1 - k_active].is_empty(), "ARP requests from the backup slave: {:?}", caps[1 - k_active]);
    lab.check_daemons().unwrap();
    teardown(lab);
}

/// The silent failure: the active slave's cable keeps its carrier but passes nothing. The MII
/// monitor would see nothing; the ARP monitor misses replies and fails over, and brings the
/// slave back when frames pass again.
#[test]
fn active_backup_arp_monitor_fails_over_on_a_silent_link() {
    if !root_or_skip() {
        return;
    }
    let lab = build(arp_config(Mode::ActiveBackup).miimon(0));
    wait_status(&lab, "both slaves up", ms(2000), |s| slave_sections(s).iter().all(|x| x.1 == "up"));
    let first = lab.active_slave().unwrap().expect("an active slave");
    let k_first = lab.slaves().iter().position(|x| *x == first).unwrap();
    let other = lab.slaves()[1 - k_first].clone();
    let port = lab.ports()[k_first].clone();

    let (cut_at, heal_at, end) = (ms(1500), ms(4500), ms(7000));
    let handle = lab.start_probe(ProbeConfig::new(end), None).unwrap();
    let t0 = Instant::now();
    let at = |t: Duration| {
        if let Some(d) = t.checked_sub(t0.elapsed()) {
            std::thread::sleep(d);
        }
    };

    at(cut_at);
    cut(&lab, &port, true, true);
    let t_cut = Instant::now();
    // The carrier is untouched: the host slave still has its link.
    assert_eq!(lab.host().read_sys(&format!("/sys/class/net/{first}/carrier")).unwrap(), "1");
    let s = wait_status(&lab, "the failover", ms(3000), |s| {
        status_field(s, "Currently Active Slave").as_deref() == Some(other.as_str())
    });
    let noticed = t_cut.elapsed();
    println!("failover seen in the status {noticed:?} after the cut:\n{s}");
    let sec = slave_sections(&s);
    assert_eq!(slave_mii(&sec, &first).1, "down", "{s}");
    assert_eq!(slave_mii(&sec, &first).2, 1, "one link failure on {first}: {s}");
    assert_eq!(slave_mii(&sec, &other).1, "up", "{s}");

    at(heal_at);
    let listing = heal(&lab);
    println!("the cut's counters:\n{listing}");
    let t_heal = Instant::now();
    let s = wait_status(&lab, &format!("{first} up again"), ms(2000), |s| {
        slave_mii(&slave_sections(s), &first).1 == "up"
    });
    println!("{first} up again {:?} after the heal:\n{s}", t_heal.elapsed());
    let sec = slave_sections(&s);
    assert_eq!(slave_mii(&sec, &first).2, 1, "{first} failed once: {s}");
    // The old active slave is back as a backup or (see the next test) active again; either
    // way one slave is active and the bond is up.
    assert_eq!(status_field(&s, "MII Status").as_deref(), Some("up"), "{s}");

    let r = handle.wait().unwrap();
    let phases = [
        Phase { name: "before".into(), from: ms(0), to: cut_at },
        Phase { name: format!("{port} cut (carrier up)"), from: cut_at, to: heal_at },
        Phase { name: format!("{port} healed"), from: heal_at, to: end },
    ];
    println!("{}", rbond::lab::report::probe_table(&r, &phases));
    let gap = r.window(cut_at, heal_at).longest_gap;
    println!(
        "ARP monitor failover: probe gap {gap:?} (expected ≈ (arp_missed_max+1)·arp_interval = {} ms), status changed after {noticed:?}",
        (ARP_MISSED_MAX + 1) * ARP_INTERVAL_MS
    );
    let log = lab.daemon_log().join("\n");
    let path = if log.contains("now running without any active interface") {
        "both slaves timed out in one tick, found again by probe rotation"
    } else {
        "direct failover"
    };
    println!("failover path: {path}");
    assert!(gap < MAX_FAILOVER, "probe gap {gap:?} ≥ {MAX_FAILOVER:?}");
    // Not faster than the monitor can be: frames must have been missed for more than
    // arp_missed_max intervals (ticks can fall up to one interval early: 2·I − slack).
    assert!(gap >= ms(ARP_MISSED_MAX * ARP_INTERVAL_MS - 50), "gap {gap:?}: failed over before missing anything?");
    // Traffic resumed on the other slave and stayed up through the heal.
    let after = r.window(cut_at + MAX_FAILOVER, end);
    assert!(after.received > 0 && after.loss_percent() < 2.0, "after the failover: {after:?}");
    assert_eq!(r.summary().duplicated, 0);
    lab.check_daemons().unwrap();
    assert!(
        log.contains(&format!("(slave {first}): link status definitely down, disabling slave")),
        "{log}"
    );
    teardown(lab);
}

/// The switch side of balance-xor with a round-robin port-channel: the kernel documentation
/// warns that an XOR-balancing switch may return every ARP reply on one link, which would down
/// the other slave with nothing impaired (the lab's default po0 mirrors the host's mode,
/// balance-xor, and does exactly that). The two sides' policies need not match, so po0 becomes
/// balance-rr, which spreads the replies over both links.
fn switch_round_robin(lab: &Lab) {
    let d = lab.switch_daemon().expect("balance-xor has a switch port-channel");
    d.cli_ok(&["del", rbond::lab::topology::SWITCH_BOND]).unwrap();
    rbond::lab::topology::port_channel(d, lab.switch(), Mode::BalanceRr, 100, &[], lab.ports()).unwrap();
}

/// balance-xor with the ARP monitor: a slave whose incoming frames are dropped (carrier up) goes
/// down while the other stays up; it keeps probing, and comes back once frames pass again.
#[test]
fn balance_xor_arp_monitor_downs_a_slave_that_hears_nothing() {
    if !root_or_skip() {
        return;
    }
    let lab = build(arp_config(Mode::BalanceXor));
    switch_round_robin(&lab);
    let s = wait_status(&lab, "both slaves up", ms(3000), |s| {
        slave_sections(s).iter().all(|x| x.1 == "up")
    });
    println!("status with a round-robin switch side:\n{s}");
    // arp_interval switches the MII monitor off (bond_options.c option setters; bond_check_params), whatever the lab asked for.
    assert_eq!(status_field(&s, "MII Polling Interval (ms)").as_deref(), Some("0"), "{s}");
    assert_eq!(status_field(&s, "ARP Polling Interval (ms)").as_deref(), Some("100"), "{s}");
    // Both stay up for a while: no slave is downed when nothing is impaired.
    std::thread::sleep(ms(1000));
    let s = lab.status().unwrap();
    let before = slave_sections(&s);
    assert!(before.iter().all(|x| x.1 == "up"), "a slave went down with nothing impaired:\n{s}");

    let (victim, port) = (lab.slaves()[0].clone(), lab.ports()[0].clone());
    let survivor = lab.slaves()[1].clone();
    let down_line = format!("(slave {victim}): link status definitely down, disabling slave");
    let count_down = || lab.daemon_log().iter().filter(|l| l.contains(&down_line)).count();
    // The setup already downed it once, under the xor port-channel.
    let downs_before = count_down();
    cut(&lab, &port, false, true);
    let t_cut = Instant::now();
    let s = wait_status(&lab, &format!("{victim} down"), ms(3000), |s| {
        slave_mii(&slave_sections(s), &victim).1 == "down"
    });
    let noticed = t_cut.elapsed();
    println!("{victim} down {noticed:?} after its replies were cut:\n{s}");
    assert!(noticed < MAX_FAILOVER, "took {noticed:?}");
    let sec = slave_sections(&s);
    assert_eq!(slave_mii(&sec, &victim).2, slave_mii(&before, &victim).2 + 1, "{s}");
    assert_eq!(slave_mii(&sec, &survivor).1, "up", "{s}");
    assert_eq!(status_field(&s, "MII Status").as_deref(), Some("up"), "the bond keeps one slave: {s}");

    // A down slave with its carrier up goes on probing (kernel: every slave that is running
    // and has carrier), which is how it can come back.
    let tx0 = lab.host().counter(&victim, "tx_packets").unwrap();
    std::thread::sleep(ms(1000));
    let tx1 = lab.host().counter(&victim, "tx_packets").unwrap();
    assert!(tx1 - tx0 >= 5, "{victim} sent {} frames in 1 s while down", tx1 - tx0);
    let s = lab.status().unwrap();
    assert_eq!(slave_mii(&slave_sections(&s), &survivor).1, "up", "{s}");

    println!("the cut's counters:\n{}", heal(&lab));
    let t_heal = Instant::now();
    let s = wait_status(&lab, &format!("{victim} up again"), ms(2000), |s| {
        slave_sections(s).iter().all(|x| x.1 == "up")
    });
    println!("{victim} up again {:?} after the heal:\n{s}", t_heal.elapsed());
    // Traffic flows over the bond again.
    let r = lab.probe(ProbeConfig::new(ms(1000))).unwrap();
    let sum = r.summary();
    assert!(sum.sent >= 700 && sum.loss_percent() < 5.0, "{sum:?}");
    lab.check_daemons().unwrap();
    assert_eq!(count_down(), downs_before + 1, "{}", lab.daemon_log().join("\n"));
    teardown(lab);
}

/// With the ARP monitor, a backup that comes (back) up with the same prio as the active slave
/// and no primary configured must not take over: the kernel's ARP commit runs active-slave
/// selection only when the slave is the primary, has a higher prio, or there is no active
/// slave (bond_main.c: bond_find_best_slave, "Triggers"); with the prio rule of v6.0+, any other selection run
/// would pick the first up slave in list order, i.e. fail back to eth0.
#[test]
fn active_backup_arp_monitor_keeps_the_active_slave_when_a_backup_comes_up() {
    if !root_or_skip() {
        return;
    }
    let lab = build(arp_config(Mode::ActiveBackup).miimon(0));
    wait_status(&lab, "both slaves up", ms(2000), |s| slave_sections(s).iter().all(|x| x.1 == "up"));
    // eth1 active, eth0 (first in list) the backup.
    rbond_ok(&lab, &["active-slave", "bond0", "eth1"]);
    wait_status(&lab, "eth1 active", ms(1000), |s| {
        status_field(s, "Currently Active Slave").as_deref() == Some("eth1")
    });
    // The backup's cable out: it hears nothing and goes down; back in: it comes up.
    lab.pull(0).unwrap();
    wait_status(&lab, "eth0 down", ms(2000), |s| slave_mii(&slave_sections(s), "eth0").1 == "down");
    lab.plug(0).unwrap();
    let s = wait_status(&lab, "eth0 up again", ms(2000), |s| slave_mii(&slave_sections(s), "eth0").1 == "up");
    println!("eth0 back up:\n{s}\ndaemon log:\n{}", lab.daemon_log().join("\n"));
    // Hold on a moment: a late reselection would show here too.
    let deadline = Instant::now() + ms(500);
    loop {
        let s = lab.status().unwrap();
        assert_eq!(
            status_field(&s, "Currently Active Slave").as_deref(),
            Some("eth1"),
            "a backup coming up with equal prio took over the active slave:\n{s}"
        );
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(ms(50));
    }
    teardown(lab);
}
