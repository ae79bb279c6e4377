//! Issue 3: changing a running bond while traffic flows. In active-backup, with a 1 ms probe
//! running: set miimon, set primary (moves the traffic to eth1), release the backup eth0,
//! enslave it again, make it active again. After each step the status text shows the change,
//! and the probe loses (almost) nothing.

mod common;
use common::*;

/// Each move of the active slave is a planned failover: both links are up, so the only loss is
/// frames in flight while the bridge relearns the bond's MAC on the other port. 2 % of ~8000
/// probes (160 ms worth over the two moves) is generous; a change that breaks the datapath
/// loses seconds of traffic and fails it.
const MAX_LOSS_PERCENT: f64 = 2.0;
const MAX_GAP: Duration = Duration::from_millis(500);

#[test]
fn enslave_release_and_set_while_traffic_flows() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup).miimon(100));
    let ms = Duration::from_millis;
    let sec = Duration::from_secs(1);
    let handle = lab.start_probe(ProbeConfig::new(ms(8000)), None).unwrap();
    std::thread::sleep(sec);

    rbond_ok(&lab, &["set", "bond0", "miimon", "50"]);
    let s = wait_status(&lab, "miimon 50", sec, |s| {
        status_field(s, "MII Polling Interval (ms)").as_deref() == Some("50")
    });
    println!("after miimon 50:\n{s}");
    std::thread::sleep(sec);

    rbond_ok(&lab, &["set", "bond0", "primary", "eth1"]);
    let s = wait_status(&lab, "eth1 primary and active", sec, |s| {
        status_field(s, "Primary Slave").is_some_and(|v| v.starts_with("eth1"))
            && status_field(s, "Currently Active Slave").as_deref() == Some("eth1")
    });
    println!("after primary eth1:\n{s}");
    std::thread::sleep(sec);

    rbond_ok(&lab, &["release", "bond0", "eth0"]);
    let s = wait_status(&lab, "eth0 released", sec, |s| {
        slave_sections(s).iter().map(|x| x.0.as_str()).collect::<Vec<_>>() == ["eth1"]
    });
    println!("after release eth0:\n{s}");
    std::thread::sleep(sec);

    rbond_ok(&lab, &["enslave", "bond0", "eth0"]);
    let s = wait_status(&lab, "eth0 enslaved again, up", sec, |s| {
        slave_sections(s).iter().any(|x| x.0 == "eth0" && x.1 == "up")
    });
    // eth1 is the primary, so it stays active.
    assert_eq!(status_field(&s, "Currently Active Slave").as_deref(), Some("eth1"), "{s}");
    println!("after enslave eth0:\n{s}");
    std::thread::sleep(sec);

    rbond_ok(&lab, &["set", "bond0", "primary", ""]);
    rbond_ok(&lab, &["active-slave", "bond0", "eth0"]);
    let s = wait_status(&lab, "eth0 active", sec, |s| {
        status_field(s, "Currently Active Slave").as_deref() == Some("eth0")
    });
    println!("after active-slave eth0:\n{s}");

    let r = handle.wait().unwrap();
    println!("{}", rbond::lab::report::probe_table(&r, &[]));
    let s = r.summary();
    assert!(s.sent >= 7000, "{s:?}");
    assert!(s.loss_percent() < MAX_LOSS_PERCENT, "{s:?}");
    assert!(s.longest_gap < MAX_GAP, "{s:?}");
    assert_eq!(s.duplicated, 0, "{s:?}");
    // The last second, after all changes, is clean: the bond is fully working again. Not
    // "exactly 0 lost": request and reply each cross the userspace daemon, and on a loaded
    // machine a frame now and then is late or dropped (0–1 in 1000 seen idle). A broken
    // datapath loses most of the second; one still settling shows a gap of hundreds of ms.
    let tail = r.window(r.send_end - sec, r.send_end);
    assert!(tail.sent >= 900 && tail.received > 0, "{tail:?}");
    assert!(tail.loss_percent() <= 1.0, "the last second lost {:.1}% (> 1%): {tail:?}", tail.loss_percent());
    assert!(tail.longest_gap < Duration::from_millis(200), "the last second has a gap of {:?}: {tail:?}", tail.longest_gap);
    teardown(lab);
}
