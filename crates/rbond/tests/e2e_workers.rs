//! Issue 17: the data path on more than one thread (`rbond daemon --workers N`).
//!
//! With two workers the bond device is a multi-queue TAP and each slave's frames are shared
//! by a PACKET_FANOUT group, so both threads move frames in both directions, split by flow.
//! Where the core must see every frame (here: the ARP monitor switched on at run time) the
//! extra worker steps aside and the event loop carries everything; it takes its share back
//! when the ARP monitor goes off. `--workers 1` keeps the single-queue device of old.

mod common;
use common::*;
use rbond::lab::netns::Netns;

/// Loss allowed in a steady probe on a shared 2-vCPU machine (as in e2e_modes).
const STEADY_LOSS_PERCENT: f64 = 5.0;

/// Per data-path thread, from `status --json`: (frames from bond0, frames delivered to it).
fn worker_counts(lab: &Lab) -> Vec<(u64, u64)> {
    let v = lab.status_json().unwrap();
    let w = v["counters"]["workers"].as_array().expect("counters.workers in status --json");
    w.iter().map(|x| (x["tx_packets"].as_u64().unwrap(), x["rx_packets"].as_u64().unwrap())).collect()
}

fn probe_16_flows(lab: &Lab, secs: u64) -> Summary {
    let r = lab.probe(ProbeConfig::new(Duration::from_secs(secs)).flows(16)).unwrap();
    let s = r.summary();
    assert!(s.sent >= 1000, "probe too short: {s:?}");
    assert!(s.loss_percent() <= STEADY_LOSS_PERCENT, "loss above {STEADY_LOSS_PERCENT}%: {s:?}");
    s
}

fn device_details(host: &Netns) -> String {
    host.ip(&["-d", "link", "show", "dev", "bond0"]).unwrap()
}

#[test]
fn two_workers_share_both_directions_and_step_aside_for_the_arp_monitor() {
    if !root_or_skip() {
        return;
    }
    let cfg = config(Mode::BalanceXor).option("xmit_hash_policy", "layer3+4").workers(2);
    let lab = build(cfg);
    let details = device_details(lab.host());
    assert!(details.contains("multi_queue") && details.contains("numqueues 2"), "bond0 should have 2 queues: {details}");

    // 16 UDP flows, echoed: each thread gets some flows in each direction.
    let before = worker_counts(&lab);
    assert_eq!(before.len(), 2, "worker 0 (the event loop) and one extra worker: {before:?}");
    probe_16_flows(&lab, 3);
    let after = worker_counts(&lab);
    println!("per worker (tx, rx) before {before:?} after {after:?}");
    for (k, (b, a)) in before.iter().zip(&after).enumerate() {
        assert!(a.0 >= b.0 + 100, "worker {k} sent almost nothing from bond0: {before:?} -> {after:?}");
        assert!(a.1 >= b.1 + 100, "worker {k} delivered almost nothing to bond0: {before:?} -> {after:?}");
    }

    // The ARP monitor needs every received frame: the extra worker steps aside.
    rbond_ok(&lab, &["set", "bond0", "arp_ip_target", "+198.18.0.2"]);
    rbond_ok(&lab, &["set", "bond0", "arp_interval", "100"]);
    std::thread::sleep(Duration::from_millis(300));
    let before = worker_counts(&lab);
    probe_16_flows(&lab, 2);
    let after = worker_counts(&lab);
    println!("ARP monitor on: per worker (tx, rx) before {before:?} after {after:?}");
    assert_eq!(before[1], after[1], "the extra worker must not move frames while the ARP monitor runs");
    assert!(after[0].0 >= before[0].0 + 1000 && after[0].1 >= before[0].1 + 1000, "the event loop carries it all: {before:?} -> {after:?}");

    // And takes its share back when the monitor is off again.
    rbond_ok(&lab, &["set", "bond0", "arp_interval", "0"]);
    std::thread::sleep(Duration::from_millis(300));
    let before = worker_counts(&lab);
    probe_16_flows(&lab, 2);
    let after = worker_counts(&lab);
    println!("ARP monitor off: per worker (tx, rx) before {before:?} after {after:?}");
    assert!(after[1].0 >= before[1].0 + 100 && after[1].1 >= before[1].1 + 100, "worker 1 is back: {before:?} -> {after:?}");
    teardown(lab);
}

#[test]
fn one_worker_keeps_a_single_queue_device() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup).workers(1));
    let details = device_details(lab.host());
    assert!(!details.contains("multi_queue"), "--workers 1 makes a single-queue TAP: {details}");
    let before = worker_counts(&lab);
    assert_eq!(before.len(), 1, "{before:?}");
    probe_16_flows(&lab, 2);
    let after = worker_counts(&lab);
    assert!(after[0].0 >= before[0].0 + 1000 && after[0].1 >= before[0].1 + 1000, "{before:?} -> {after:?}");
    teardown(lab);
}
