//! Issue 3: the seed's test. While a 1 ms probe runs through an active-backup bond, pull the
//! active slave's cable (carrier down at the switch end), plug it back, then pull the other one.
//! Traffic must go on through the remaining cable each time.
//!
//! Bounds, and why: with miimon 100 ms the bond notices a dead link within one tick (≤ 100 ms)
//! and fails over at once (downdelay 0); the bridge forgets the MAC on the downed port and the
//! bond's gratuitous ARP (or flooding) moves it to the new port. So each pull should cost about
//! 100 ms of probes, ~200 of the ~8000 sent over two pulls (~2.5 %). We allow 10 % total loss and
//! a 1000 ms longest gap (10 monitor intervals): a factor 4–10 over the expectation for a loaded
//! 2-vCPU CI machine, while a bond that does not fail over loses everything after the pull
//! (gap = the whole remaining probe, ≥ 1500 ms here) and fails both bounds.

mod common;
use common::*;

const MAX_LOSS_PERCENT: f64 = 10.0;
const MAX_GAP: Duration = Duration::from_millis(1000);

#[test]
fn pulling_each_cable_in_turn_keeps_traffic_flowing() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup).miimon(100));
    let status_before = lab.status().unwrap();
    println!("status before:\n{status_before}");
    let first = lab.active_slave().unwrap().expect("an active slave before the test");
    let k_first: usize = lab.slaves().iter().position(|s| *s == first).unwrap();
    let k_other = 1 - k_first;

    let ms = Duration::from_millis;
    let handle = lab.start_probe(ProbeConfig::new(ms(8000)), None).unwrap();
    let t0 = std::time::Instant::now();
    let at = |t: Duration| {
        if let Some(d) = t.checked_sub(t0.elapsed()) {
            std::thread::sleep(d);
        }
    };

    // 1. Pull the active slave's cable: the other slave takes over.
    at(ms(1500));
    lab.pull(k_first).unwrap();
    let other = lab.slaves()[k_other].clone();
    let s = wait_status(&lab, "the failover", ms(1000), |s| {
        status_field(s, "Currently Active Slave").as_deref() == Some(other.as_str())
    });
    println!("status with {first}'s cable pulled:\n{s}");
    let sections = slave_sections(&s);
    assert_eq!(sections[k_first].1, "down", "{s}");
    assert_eq!(sections[k_first].2, 1, "one link failure on {first}: {s}");

    // 2. Plug it back: the slave comes back up (as backup; no primary is set).
    at(ms(3500));
    lab.plug(k_first).unwrap();
    let s = wait_status(&lab, "the slave back up", ms(1000), |s| {
        slave_sections(s).get(k_first).is_some_and(|x| x.1 == "up")
    });
    println!("status with {first}'s cable back:\n{s}");

    // 3. Pull the other cable, now carrying the traffic: back to the first slave.
    at(ms(5000));
    lab.pull(k_other).unwrap();
    let s = wait_status(&lab, "the second failover", ms(1000), |s| {
        status_field(s, "Currently Active Slave").as_deref() == Some(first.as_str())
    });
    println!("status with {other}'s cable pulled:\n{s}");
    at(ms(6500));
    lab.plug(k_other).unwrap();

    let r = handle.wait().unwrap();
    let phases = [
        rbond::lab::report::Phase { name: "before".into(), from: ms(0), to: ms(1500) },
        rbond::lab::report::Phase { name: format!("{first} pulled"), from: ms(1500), to: ms(3500) },
        rbond::lab::report::Phase { name: format!("{first} plugged"), from: ms(3500), to: ms(5000) },
        rbond::lab::report::Phase { name: format!("{other} pulled"), from: ms(5000), to: ms(6500) },
        rbond::lab::report::Phase { name: format!("{other} plugged"), from: ms(6500), to: ms(8000) },
    ];
    println!("{}", rbond::lab::report::probe_table(&r, &phases));
    let status_after = lab.status().unwrap();
    println!("status after:\n{status_after}");

    let s = r.summary();
    assert!(s.sent >= 7000, "{s:?}");
    assert!(s.loss_percent() < MAX_LOSS_PERCENT, "loss {:.1}% ≥ {MAX_LOSS_PERCENT}%: {s:?}", s.loss_percent());
    assert!(s.longest_gap < MAX_GAP, "longest gap {:?} ≥ {MAX_GAP:?}: {s:?}", s.longest_gap);
    assert_eq!(s.duplicated, 0, "{s:?}");
    // Traffic really went on after each pull, not only before it.
    for p in &phases[1..] {
        let w = r.window(p.from + ms(500), p.to);
        assert!(w.received > 0 && w.loss_percent() < 1.0, "{}: {w:?}", p.name);
    }
    // Both slaves are up again and each failed exactly once.
    let sections = slave_sections(&wait_status(&lab, "both slaves up", ms(1000), |s| {
        slave_sections(s).iter().all(|x| x.1 == "up")
    }));
    assert!(sections.iter().all(|x| x.2 == 1), "link failure counts: {sections:?}");
    teardown(lab);
}

/// The main job as a user runs it: `rbond lab` with the defaults but a short probe. It prints
/// the status before and after and the report, fails over, and leaves nothing behind.
#[test]
fn rbond_lab_runs_the_seed_test_and_cleans_up() {
    if !root_or_skip() {
        return;
    }
    require_root();
    let _slot = Slot::take();
    let run = run_lab(&["--duration", "5"]);
    let (pid, stdout) = (run.pid, &run.stdout);
    assert!(run.status.success(), "rbond lab failed: {}", run.stderr);
    for section in ["==== status before ====", "==== status with cable 0 pulled ====", "==== status with cable 1 pulled ====", "==== status after ====", "==== report ===="] {
        assert!(stdout.contains(section), "missing {section}");
    }
    assert!(stdout.contains("Bonding Mode: fault-tolerance (active-backup)"));
    let total = stdout.lines().find(|l| l.starts_with("total")).expect("a total line");
    // total  <time>  sent  received  lost  (pct%)  duplicated  gap
    let cols: Vec<&str> = total.split_whitespace().collect();
    let sent: u64 = cols[2].parse().unwrap();
    let lost: u64 = cols[4].parse().unwrap();
    let gap: f64 = cols[7].parse().unwrap();
    assert!(sent >= 4000, "{total}");
    assert!((lost as f64) < sent as f64 * MAX_LOSS_PERCENT / 100.0, "{total}");
    assert!(gap < MAX_GAP.as_millis() as f64, "{total}");
    assert!(namespaces_of(pid).is_empty(), "left behind: {:?}", namespaces_of(pid));
}

/// Ctrl-C in the middle of `rbond lab`: it stops, and removes every namespace it made.
#[test]
fn rbond_lab_cleans_up_on_ctrl_c() {
    if !root_or_skip() {
        return;
    }
    require_root();
    let _slot = Slot::take();
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(rbond_bin())
        .args(["lab", "--duration", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait until the lab is built and probing.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for l in lines.by_ref() {
        if l.unwrap().contains("==== status before ====") || std::time::Instant::now() > deadline {
            break;
        }
    }
    assert!(!namespaces_of(pid).is_empty(), "the lab should be running");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let t = std::time::Instant::now();
    let status = child.wait().unwrap();
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    println!("exit {status}, stderr: {stderr}");
    assert!(t.elapsed() < Duration::from_secs(10), "took {:?} to stop", t.elapsed());
    assert!(!status.success(), "an interrupted lab reports failure");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(namespaces_of(pid).is_empty(), "left behind: {:?}", namespaces_of(pid));
}

/// `rbond daemon --no-link-events`: the slaves' carrier comes from the miimon poll alone, as
/// in the kernel's MII monitor (the suite's comparison row). A pull must still fail over, within
/// a few poll intervals, and traffic must go on.
#[test]
fn without_link_events_the_miimon_poll_fails_over() {
    if !root_or_skip() {
        return;
    }
    let mut cfg = config(Mode::ActiveBackup).miimon(100);
    cfg.host_link_events = false;
    let lab = build(cfg);
    let first = lab.active_slave().unwrap().expect("an active slave before the test");
    let k_first: usize = lab.slaves().iter().position(|s| *s == first).unwrap();
    let other = lab.slaves()[1 - k_first].clone();
    let ms = Duration::from_millis;
    let handle = lab.start_probe(ProbeConfig::new(ms(3000)), None).unwrap();
    std::thread::sleep(ms(1000));
    lab.pull(k_first).unwrap();
    let s = wait_status(&lab, "the failover from the poll", ms(1000), |s| {
        status_field(s, "Currently Active Slave").as_deref() == Some(other.as_str())
    });
    println!("status with {first}'s cable pulled:\n{s}");
    let r = handle.wait().unwrap();
    let sum = r.summary();
    println!("{sum:?}");
    assert!(sum.loss_percent() <= MAX_LOSS_PERCENT, "loss {:.1} % without link events: {sum:?}", sum.loss_percent());
    assert!(sum.longest_gap <= MAX_GAP, "longest gap {:?} without link events: {sum:?}", sum.longest_gap);
    lab.plug(k_first).unwrap();
    teardown(lab);
}
