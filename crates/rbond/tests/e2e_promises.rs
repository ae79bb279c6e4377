//! Issue 14, last bullet: what the README promises, end to end, with bounds that hold on a noisy
//! machine (2 shared vCPUs, other builds running) and still fail a broken bond.
//!
//! - `rbond lab --mode M --slaves 3` as a user runs it, for every mode;
//! - failover under traffic in balance-rr, balance-xor and broadcast;
//! - `rbond show`, `rbond options` and `rbond del`;
//! - refusals: exit status 2 and the `(write error: …)` line a sysfs write would give;
//! - TCP with GSO through the real daemon (iperf3).
//!
//! # The failover bounds, and why
//! Every pull here takes a cable's switch end down, so the host slave loses carrier. The daemon
//! reacts to the carrier change (netlink) or at the latest at the next MII tick (miimon 100 ms),
//! so a pull costs at most ~100 ms of the probe. Runs on this machine lose 0–35 frames of 1000
//! per phase and show gaps of 3–35 ms. The bounds are:
//! - per phase (1 s or more): longest gap < 800 ms and loss < 15 %;
//! - whole run: loss < 10 %, longest gap < 800 ms.
//!
//! A failover that took 900 ms fails them: where the probe's flow sits on the pulled slave
//! (active-backup, the flow's slave in xor/802.3ad/tlb/alb) nothing comes back for ≥ 900 ms,
//! above the gap bound; in balance-rr over 3 slaves a third of 900 frames is lost, 30 % of a
//! 1 s phase, above the loss bound. The margin over what is seen is ×20 for gaps and ×10 for
//! loss, room for a scheduler that parks the datapath threads for a few hundred ms.
//! (Checked by hand: active-backup with `downdelay 900`, i.e. a 900 ms failover, loses 901 of
//! the 1000 probes of the second after the pull, with a gap of 902 ms.)

mod common;
use common::*;
use rbond::lab::report::Phase;
use std::process::Command;
use std::time::Instant;

const MAX_PHASE_GAP_MS: f64 = 800.0;
const MAX_PHASE_LOSS_PERCENT: f64 = 15.0;
const MAX_TOTAL_LOSS_PERCENT: f64 = 10.0;
/// Loss allowed once a failover (or a plug-back) has settled, i.e. 500 ms after the pull: the
/// bond is working on the remaining slaves, so what is lost is scheduling noise (0–1 frame of
/// 1000 here, ~1 % with the CPUs saturated). A bond still sending on the pulled slave of three
/// loses a third (rr, xor) of the frames and fails it.
const SETTLED_LOSS_PERCENT: f64 = 5.0;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ----- 1. `rbond lab --mode M --slaves 3` ---------------------------------------------------------

/// The body of a `==== title ====` section of the lab's output (up to the next section).
fn section<'a>(out: &'a str, title: &str) -> Option<&'a str> {
    let head = format!("==== {title} ====\n");
    let start = out.find(&head)? + head.len();
    let rest = &out[start..];
    Some(&rest[..rest.find("\n==== ").map(|i| i + 1).unwrap_or(rest.len())])
}

/// One row of the lab's report table.
#[derive(Debug)]
struct Row {
    name: String,
    from: f64,
    to: f64,
    sent: u64,
    lost: u64,
    gap_ms: f64,
}

impl Row {
    fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            100.0 * self.lost as f64 / self.sent as f64
        }
    }
}

/// The rows of the report table: `name  from-to  sent  received  lost (pct%)  duplicated  gap`.
/// Names have spaces, so the seven columns are taken from the right.
fn report_rows(report: &str) -> Vec<Row> {
    report
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() < 8 {
                return None;
            }
            let c = &w[w.len() - 7..];
            let (from, to) = c[0].split_once('-')?;
            Some(Row {
                name: w[..w.len() - 7].join(" "),
                from: from.parse().ok()?,
                to: to.parse().ok()?,
                sent: c[1].parse().ok()?,
                lost: c[3].parse().ok()?,
                gap_ms: c[6].parse().ok()?,
            })
        })
        .collect()
}

/// Per-slave (name, rx, tx) of the "slave counters during the probe" table.
fn counter_rows(table: &str) -> Vec<(String, u64, u64)> {
    table
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                [name, rx, tx] => Some((name.to_string(), rx.parse().ok()?, tx.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

/// Runs `rbond lab --mode <mode> --slaves 3 --duration <secs>` as a user would and returns
/// what is wrong with its output (empty: all good). Every check is collected, so one run shows
/// every problem of a mode.
fn lab_cli(mode: Mode, secs: u64) -> Vec<String> {
    let _slot = Slot::take();
    let t = Instant::now();
    let run = run_lab(&["--mode", mode.name(), "--slaves", "3", "--duration", &secs.to_string()]);
    println!("(rbond lab --mode {} took {:.1?})", mode.name(), t.elapsed());
    let LabRun { pid, status, stdout, stderr } = run;
    let mut bad = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            bad.push(format!("{}: {what}", mode.name()));
        }
    };
    let left = namespaces_of(pid);
    check(left.is_empty(), format!("namespaces left behind: {left:?}"));
    check(status.success(), format!("exit {status}: {stderr}"));
    if !status.success() {
        return bad;
    }

    let mut titles = vec!["status before".to_string()];
    titles.extend((0..3).map(|k| format!("status with cable {k} pulled")));
    titles.extend(["status after", "slave counters during the probe", "report"].map(String::from));
    if mode.is_tlb() {
        titles.push("clients".into());
    }
    for t in &titles {
        check(section(&stdout, t).is_some(), format!("no `==== {t} ====` section"));
    }
    let before = section(&stdout, "status before").unwrap_or_default();
    check(
        status_field(before, "Bonding Mode").as_deref() == Some(mode.proc_text()),
        format!("status before shows the mode as {:?}", status_field(before, "Bonding Mode")),
    );
    let names: Vec<String> = slave_sections(before).into_iter().map(|s| s.0).collect();
    check(names == ["eth0", "eth1", "eth2"], format!("slaves before: {names:?}"));
    // Half a segment after each pull, the status shows exactly that slave down.
    for k in 0..3 {
        let s = section(&stdout, &format!("status with cable {k} pulled")).unwrap_or_default();
        let mii: Vec<String> = slave_sections(s).into_iter().map(|x| x.1).collect();
        let want: Vec<&str> = (0..3).map(|i| if i == k { "down" } else { "up" }).collect();
        check(mii == want, format!("MII status with cable {k} pulled: {mii:?}"));
    }
    // After the run every slave is up again and failed exactly once.
    let after = slave_sections(section(&stdout, "status after").unwrap_or_default());
    check(
        after.len() == 3 && after.iter().all(|x| x.1 == "up" && x.2 == 1),
        format!("status after (name, MII, link failures): {after:?}"),
    );

    let rows = report_rows(section(&stdout, "report").unwrap_or_default());
    check(rows.len() == 8, format!("report rows: {rows:?}"));
    let Some(total) = rows.iter().find(|r| r.name == "total") else {
        return bad;
    };
    if let Some(why) = schedule_slipped(&stdout, total.to) {
        return vec![format!("{SLIPPED} ({}): {why}", mode.name())];
    }
    // The lab sends one probe per ms; a probe that fell far behind would hide loss.
    check(total.sent as f64 >= 0.9 * total.to * 1000.0, format!("only {} probes in {} s", total.sent, total.to));
    check(
        total.loss_percent() < MAX_TOTAL_LOSS_PERCENT,
        format!("total loss {:.1}% ≥ {MAX_TOTAL_LOSS_PERCENT}%: {total:?}", total.loss_percent()),
    );
    check(total.gap_ms < MAX_PHASE_GAP_MS, format!("longest gap {} ms ≥ {MAX_PHASE_GAP_MS}: {total:?}", total.gap_ms));
    for r in rows.iter().filter(|r| r.name != "total") {
        check(r.to - r.from >= 0.99, format!("phase shorter than 1 s, too short for the gap bound: {r:?}"));
        check(r.gap_ms < MAX_PHASE_GAP_MS, format!("{}: longest gap {} ms ≥ {MAX_PHASE_GAP_MS}", r.name, r.gap_ms));
        check(
            r.loss_percent() < MAX_PHASE_LOSS_PERCENT,
            format!("{}: loss {:.1}% ≥ {MAX_PHASE_LOSS_PERCENT}% ({r:?})", r.name, r.loss_percent()),
        );
    }
    // The modes that use every slave for one flow did so: each slave is out for one segment of
    // seven, so round robin gives each ~2/7 of the probes and broadcast ~6/7; a sixth and a half
    // leave room for counter timing while failing a bond that skips a slave.
    let ctr = counter_rows(section(&stdout, "slave counters during the probe").unwrap_or_default());
    check(ctr.len() == 3, format!("counter rows: {ctr:?}"));
    let min_share = match mode {
        Mode::BalanceRr => Some(6),
        Mode::Broadcast => Some(2),
        _ => None,
    };
    if let Some(div) = min_share {
        for (name, _rx, tx) in &ctr {
            check(*tx >= total.sent / div, format!("{name} sent {tx} frames for {} probes", total.sent));
        }
    }
    bad
}

const SLIPPED: &str = "the lab's schedule slipped";

/// The lab pulls cable k at (2k+1)·seg and plugs it at (2k+2)·seg (seg = run / 7) and prints
/// `t=<s>s: pulled cable k` / `t=<s>s: plugged cable k back in`. If an action came more than
/// 400 ms late (a control call stalled: with both CPUs saturated, one `rbond status` was seen
/// to take 3–5 s), the report's phases no longer say what was pulled when, and its figures
/// cannot be checked against them. Says why, if so.
fn schedule_slipped(stdout: &str, run_secs: f64) -> Option<String> {
    let seg = run_secs / 7.0;
    let mut seen = 0;
    for l in stdout.lines() {
        let Some(rest) = l.strip_prefix("t=") else { continue };
        let Some((t, what)) = rest.split_once("s: ") else { continue };
        let Ok(t) = t.parse::<f64>() else { continue };
        let w: Vec<&str> = what.split_whitespace().collect();
        let (k, plug): (f64, bool) = match w.as_slice() {
            ["pulled", "cable", k, ..] => (k.parse().ok()?, false),
            ["plugged", "cable", k, ..] => (k.parse().ok()?, true),
            _ => continue,
        };
        seen += 1;
        let planned = seg * (2.0 * k + if plug { 2.0 } else { 1.0 });
        if t > planned + 0.4 {
            return Some(format!("{l:?}, planned at {planned:.1} s"));
        }
    }
    (seen != 6).then(|| format!("{seen} pull/plug lines instead of 6"))
}

fn lab_cli_modes(modes: &[(Mode, u64)]) {
    let mut bad = Vec::new();
    for &(mode, secs) in modes {
        // A run whose schedule slipped measured something else than its report says: run it
        // again (once); every check applies to a run that kept its schedule.
        let mut problems = lab_cli(mode, secs);
        if problems.iter().any(|p| p.starts_with(SLIPPED)) {
            println!("{}: {problems:?}; running it again", mode.name());
            problems = lab_cli(mode, secs);
        }
        bad.extend(problems);
    }
    assert!(bad.is_empty(), "{} problem(s):\n{}", bad.len(), bad.join("\n"));
}

// Seven segments of 1 s each (all in, then pull and plug each of 3 cables): `--duration 7`.
// 802.3ad asks for 7 and gets 21: the lab gives LACP 3 s per segment to re-form after a plug.
// The modes are grouped so that the three groups take about the same time (~25–35 s each) and
// the file fits in ~90 s with two labs at a time.

#[test]
fn rbond_lab_static_port_channel_modes() {
    if !root_or_skip() {
        return;
    }
    lab_cli_modes(&[(Mode::BalanceRr, 7), (Mode::BalanceXor, 7), (Mode::Broadcast, 7)]);
}

#[test]
fn rbond_lab_switch_independent_modes() {
    if !root_or_skip() {
        return;
    }
    lab_cli_modes(&[(Mode::ActiveBackup, 7), (Mode::BalanceTlb, 7), (Mode::BalanceAlb, 7)]);
}

#[test]
fn rbond_lab_8023ad() {
    if !root_or_skip() {
        return;
    }
    lab_cli_modes(&[(Mode::Ieee8023ad, 7)]);
}

// ----- 2. Failover under traffic: balance-rr, balance-xor, broadcast --------------------------

/// The bond's own per-slave transmit counters (`rbond status --json`, `counters.slaves[]`):
/// frames the bond handed to each slave, in slave order.
fn bond_tx(lab: &Lab) -> Vec<(String, u64, u64)> {
    let v = lab.status_json().unwrap();
    v["counters"]["slaves"]
        .as_array()
        .unwrap_or_else(|| panic!("no counters.slaves in status --json: {v}"))
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["tx_packets"].as_u64().unwrap_or_else(|| panic!("no tx_packets: {s}")),
                s["tx_bytes"].as_u64().unwrap_or_else(|| panic!("no tx_bytes: {s}")),
            )
        })
        .collect()
}

fn tx_delta(a: &[(String, u64, u64)], b: &[(String, u64, u64)]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| y.1 - x.1).collect()
}

/// The bond's per-slave counters, with the time (since `t0`) the request left and the answer
/// came: the snapshot was taken somewhere in between.
struct Snap {
    tx: Vec<(String, u64, u64)>,
    asked: Duration,
    answered: Duration,
}

fn snap(lab: &Lab, t0: Instant) -> Snap {
    let asked = t0.elapsed();
    let tx = bond_tx(lab);
    Snap { tx, asked, answered: t0.elapsed() }
}

/// A 1 ms probe through a bond of 3 slaves: after 2 s the cable of the slave that carried the
/// most frames in the second before is pulled; 1.5 s after the bond shows it down it is plugged
/// back; 1.5 s after the bond shows it up the probe stops. Steps follow each other, not a fixed
/// clock, so a slow control call on a loaded machine stretches a phase instead of eating the
/// next one. Checked: the per-phase bounds; traffic settled on the remaining slaves; the bond
/// sent nothing on the pulled slave while it was down and gave it back its share after the plug.
fn failover_under_traffic(mode: Mode) {
    let mut cfg = config(mode).slaves(3).miimon(100);
    // Longer than the run; the test stops it.
    let mut probe = ProbeConfig::new(ms(60_000));
    if mode == Mode::BalanceXor {
        // 16 flows hashed by ports: every slave carries some (a single layer2 flow would sit
        // on one slave, and pulling another would prove nothing).
        cfg = cfg.option("xmit_hash_policy", "layer3+4");
        probe = probe.flows(16);
    }
    let lab = build(cfg);
    let names = lab.slaves().to_vec();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handle = lab.start_probe(probe, Some(stop.clone())).unwrap();
    let t0 = Instant::now();
    let sleep = std::thread::sleep;

    sleep(ms(1000));
    let c0 = snap(&lab, t0);
    sleep(ms(1000));
    let c1 = snap(&lab, t0);
    let share_before = tx_delta(&c0.tx, &c1.tx);
    let k = (0..3).max_by_key(|&i| share_before[i]).unwrap();
    let pulled = names[k].clone();
    lab.pull(k).unwrap();
    let t_pull = t0.elapsed();
    let s = wait_status(&lab, &format!("{pulled} down"), ms(1000), |s| {
        slave_sections(s).get(k).is_some_and(|x| x.1 == "down")
    });
    println!("{:?} after pulling {pulled}:\n{s}", t0.elapsed());
    let c2 = snap(&lab, t0);
    sleep(ms(1500));
    let c3 = snap(&lab, t0);
    lab.plug(k).unwrap();
    let t_plug = t0.elapsed();
    let s = wait_status(&lab, &format!("{pulled} up"), ms(1000), |s| {
        slave_sections(s).get(k).is_some_and(|x| x.1 == "up")
    });
    let c4 = snap(&lab, t0);
    sleep(ms(1500));
    let c5 = snap(&lab, t0);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let r = handle.wait().unwrap();
    println!("status after plugging {pulled} back:\n{s}");
    println!(
        "timeline: counters at {:?}/{:?}, pull at {t_pull:?}, down shown at {:?}, plug at {t_plug:?}, up shown at {:?}, end at {:?}",
        c0.answered, c1.answered, c2.asked, c4.asked, r.send_end
    );

    let phases = [
        Phase { name: "all cables in".into(), from: ms(0), to: t_pull },
        Phase { name: format!("{pulled} pulled"), from: t_pull, to: t_plug },
        Phase { name: format!("{pulled} plugged back"), from: t_plug, to: r.send_end },
    ];
    println!("{}", rbond::lab::report::probe_table(&r, &phases));
    let (down, after) = (tx_delta(&c2.tx, &c3.tx), tx_delta(&c4.tx, &c5.tx));
    println!("bond tx per slave: before the pull {share_before:?}, while {pulled} down {down:?}, after the plug {after:?}");

    let total = r.summary();
    // One probe per ms: a sender that fell far behind would hide loss.
    assert!(total.sent as f64 >= 0.9 * r.send_end.as_millis() as f64, "{total:?}");
    assert!(total.loss_percent() < MAX_TOTAL_LOSS_PERCENT, "{total:?}");
    assert!(total.longest_gap < ms(MAX_PHASE_GAP_MS as u64), "{total:?}");
    for p in &phases {
        let w = r.window(p.from, p.to);
        assert!(w.longest_gap < ms(MAX_PHASE_GAP_MS as u64), "{}: {w:?}", p.name);
        assert!(w.loss_percent() < MAX_PHASE_LOSS_PERCENT, "{}: {w:?}", p.name);
    }
    // Settled: half a second after the pull and after the plug, the bond works fully.
    for (from, to, what) in [(t_pull + ms(500), t_plug, "pulled"), (t_plug + ms(500), r.send_end, "plugged back")] {
        let w = r.window(from, to);
        assert!(w.received > 0 && w.loss_percent() < SETTLED_LOSS_PERCENT, "{pulled} {what}, settled: {w:?}");
    }

    // Every probe went out through the bond: the frames counted between two snapshots cover
    // at least the probes sent between the first's answer and the second's request (a copy
    // per slave in broadcast). 0.9: the probe's clock starts a few ms after ours.
    let copies = if mode == Mode::Broadcast { 3 } else { 1 };
    let sent_between = |a: &Snap, b: &Snap| r.window(a.answered, b.asked).sent;
    let n01 = sent_between(&c0, &c1);
    assert!(share_before.iter().sum::<u64>() as f64 >= 0.9 * (copies * n01) as f64, "{share_before:?} for {n01} probes");
    // While the slave was down the bond sent nothing on it: a frame handed to a slave without
    // carrier is lost (bond_xmit_*: only slaves with link up are usable).
    assert_eq!(down[k], 0, "{pulled} down, yet the bond sent {} frames on it", down[k]);
    let n23 = sent_between(&c2, &c3);
    let others: Vec<u64> = (0..3).filter(|&i| i != k).map(|i| down[i]).collect();
    match mode {
        // Every frame on each remaining slave.
        Mode::Broadcast => assert!(others.iter().all(|&t| t as f64 >= 0.9 * n23 as f64), "{others:?} for {n23} probes"),
        // Round robin over the remaining slaves. The turn of the down slave goes to the next
        // usable one (bond_main.c: bond_xmit_roundrobin_slave_get counts every slave, then
        // takes the first that can transmit from there), so one gets 2/3 and the other 1/3;
        // a fifth each is the bound, and together they carry every probe.
        Mode::BalanceRr => assert!(
            others.iter().all(|&t| t as f64 >= n23 as f64 / 5.0) && others.iter().sum::<u64>() as f64 >= 0.9 * n23 as f64,
            "{others:?} for {n23} probes"
        ),
        // The pulled slave's flows moved: the remaining ones carry all probes.
        _ => assert!(others.iter().sum::<u64>() as f64 >= 0.9 * n23 as f64, "{others:?} for {n23} probes"),
    }
    // After the plug the slave gets its share back (the same flows in xor, its turn in rr, its
    // copy in broadcast): at least 70 % of its share before the pull.
    let share = |v: &[u64]| v[k] as f64 / v.iter().sum::<u64>().max(1) as f64;
    assert!(
        share(&after) >= 0.7 * share(&share_before),
        "{pulled}'s share of the bond's frames: {:.2} before the pull, {:.2} after the plug ({after:?})",
        share(&share_before),
        share(&after)
    );
    let fails: Vec<u32> = slave_sections(&lab.status().unwrap()).into_iter().map(|x| x.2).collect();
    let want: Vec<u32> = (0..3).map(|i| u32::from(i == k)).collect();
    assert_eq!(fails, want, "link failure counts");
    teardown(lab);
}

#[test]
fn balance_rr_fails_over_under_traffic() {
    if !root_or_skip() {
        return;
    }
    failover_under_traffic(Mode::BalanceRr);
}

#[test]
fn balance_xor_fails_over_under_traffic() {
    if !root_or_skip() {
        return;
    }
    failover_under_traffic(Mode::BalanceXor);
}

#[test]
fn broadcast_fails_over_under_traffic() {
    if !root_or_skip() {
        return;
    }
    failover_under_traffic(Mode::Broadcast);
}

// ----- 3. `rbond show`, `rbond options`, `rbond del` ------------------------------------------

/// Slave name → "Permanent HW addr" in a status text.
fn permanent_macs(status: &str) -> Vec<(String, String)> {
    status
        .split("\n\n")
        .filter(|b| b.starts_with("Slave Interface: "))
        .map(|b| (status_field(b, "Slave Interface").unwrap(), status_field(b, "Permanent HW addr").unwrap()))
        .collect()
}

fn nft_tables(lab: &Lab) -> String {
    lab.host().exec_ok(&["nft", "list", "tables"]).unwrap()
}

#[test]
fn show_options_and_del_end_to_end() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup).slaves(3).miimon(100));

    // show: the sysfs file's text (bond_options.c / bonding sysfs: mode prints "name num").
    assert_eq!(rbond_ok(&lab, &["show", "bond0", "mode"]).trim_end(), "active-backup 1");
    assert_eq!(rbond_ok(&lab, &["show", "bond0", "miimon"]).trim_end(), "100");
    assert_eq!(rbond_ok(&lab, &["show", "bond0", "slaves"]).trim_end(), "eth0 eth1 eth2");
    assert_eq!(rbond_ok(&lab, &["show", "bond0", "active_slave"]).trim_end(), "eth0");
    rbond_ok(&lab, &["set", "bond0", "updelay", "200"]);
    assert_eq!(rbond_ok(&lab, &["show", "bond0", "updelay"]).trim_end(), "200");
    let r = rbond(&lab, &["show", "bond0", "frobnicate"]);
    println!("show bond0 frobnicate: exit {:?}, stderr {}", r.code, r.stderr);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("unknown option 'frobnicate'"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let r = rbond(&lab, &["show", "bond9", "mode"]);
    assert_eq!(r.code, Some(2), "show on a bond that does not exist: {}", r.stderr);
    assert!(r.stderr.contains("bond9"), "{}", r.stderr);

    // options: every option of the one table, with its default and accepted values.
    let out = Command::new(rbond_bin()).arg("options").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let mut listed = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with(' ') {
            continue;
        }
        let name = l.split_whitespace().next().unwrap();
        listed.push(name);
        let o = rbond_core::options::OPTIONS.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("{name}: not in the table"));
        let rest = l[name.len()..].trim_start();
        assert!(rest.starts_with(&format!("default {}", o.default_text)), "{l}");
        assert!(rest.contains(o.help), "{l}");
        let next = lines.get(i + 1).map(|n| n.trim_start()).unwrap_or_default();
        assert_eq!(next, format!("accepts {}", o.accepted()), "{name}'s accepted values");
    }
    let table: Vec<&str> = rbond_core::options::OPTIONS.iter().map(|o| o.name).collect();
    assert_eq!(listed, table, "`rbond options` lists the table's options, in order");
    // And the value lists are the ones the parser accepts: mode lists all seven modes.
    let mode_line = lines.iter().position(|l| l.starts_with("mode ")).unwrap();
    for m in ["balance-rr (0)", "active-backup (1)", "balance-xor (2)", "broadcast (3)", "802.3ad (4)", "balance-tlb (5)", "balance-alb (6)"] {
        assert!(lines[mode_line + 1].contains(m), "{}", lines[mode_line + 1]);
    }

    // del: the slaves get back what they had (their own MACs, no isolation), bond0 goes.
    let perm = permanent_macs(&lab.status().unwrap());
    assert_eq!(perm.len(), 3);
    assert!(nft_tables(&lab).contains("rbond"), "slaves are isolated while enslaved");
    assert!(lab.host().ip(&["link", "show", "bond0"]).is_ok());
    let r = rbond(&lab, &["del", "bond0"]);
    assert_eq!(r.code, Some(0), "del bond0: {}", r.stderr);
    for (slave, mac) in &perm {
        assert_eq!(&lab.host_mac(slave).unwrap(), mac, "{slave} has its own MAC back");
        let flags = lab.host().ip(&["-o", "link", "show", slave]).unwrap();
        assert!(!flags.contains("master"), "{slave} still has a master: {flags}");
    }
    let tables = nft_tables(&lab);
    assert!(!tables.contains("rbond"), "isolation left behind: {tables}");
    assert!(lab.host().ip(&["link", "show", "bond0"]).is_err(), "bond0 still exists");
    let r = rbond(&lab, &["status"]);
    assert!(!r.stdout.contains("bond0"), "status still shows bond0: {}", r.stdout);
    // A second del: the kernel's message for a bond that does not exist, exit 2.
    let r = rbond(&lab, &["del", "bond0"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("bonding: unable to delete non-existent bond0"), "{}", r.stderr);
    teardown(lab);
}

// ----- 4. Refusals: exit status 2 and the `(write error: …)` line ------------------------------

struct Refusal {
    args: &'static [&'static str],
    /// Lines the kernel would log (`<bond>: ` prefixed), each must be in stderr.
    lines: &'static [&'static str],
    /// strerror() of the errno the sysfs write returns.
    errno: &'static str,
}

/// What `echo value > /sys/class/net/<bond>/bonding/<option>` gives with the kernel driver:
/// the log lines (bond_options.c: bond_opt_parse, bond_opt_check_deps, the option setters) and
/// the write's errno, which the shell prints as `write error: <strerror>`.
const REFUSALS: &[Refusal] = &[
    // The "no slaves" check comes before the value (bond_opt_check_deps, then bond_opt_parse):
    // with slaves, even an invalid mode is refused as "has slaves", ENOTEMPTY.
    Refusal {
        args: &["set", "bond0", "mode", "9"],
        lines: &["bond0: option mode: unable to set because the bond device has slaves"],
        errno: "Directory not empty",
    },
    // On a bond without slaves the value itself is checked: EINVAL.
    Refusal { args: &["set", "bond1", "mode", "9"], lines: &["bond1: option mode: invalid value (9)"], errno: "Invalid argument" },
    Refusal { args: &["set", "bond0", "miimon", "fast"], lines: &["bond0: option miimon: invalid value (fast)"], errno: "Invalid argument" },
    Refusal {
        args: &["set", "bond0", "arp_missed_max", "300"],
        lines: &["bond0: option arp_missed_max: invalid value (300)", "bond0: option arp_missed_max: allowed values 1 - 255"],
        errno: "Invalid argument",
    },
    // An option of another mode: the mode dependency fails, EACCES.
    Refusal {
        args: &["set", "bond0", "lacp_rate", "fast"],
        lines: &["bond0: option lacp_rate: mode dependency failed, not supported in mode active-backup(1)"],
        errno: "Permission denied",
    },
    // A delay needs the MII monitor (bond_option_updelay_set): EPERM.
    Refusal {
        args: &["set", "bond1", "updelay", "200"],
        lines: &["bond1: Unable to set up delay as MII monitoring is disabled"],
        errno: "Operation not permitted",
    },
    Refusal {
        args: &["set", "bond1", "downdelay", "200"],
        lines: &["bond1: Unable to set down delay as MII monitoring is disabled"],
        errno: "Operation not permitted",
    },
];

#[test]
fn refusals_exit_2_with_the_write_error_line() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup).miimon(100));
    // bond1: no slaves, default options (balance-rr, miimon 0).
    rbond_ok(&lab, &["add", "bond1"]);
    let mut bad = Vec::new();
    for c in REFUSALS {
        let cmd = c.args.join(" ");
        let before = lab.status().unwrap();
        let r = rbond(&lab, c.args);
        let after = lab.status().unwrap();
        println!("rbond {cmd}\n  exit {:?}\n  stderr: {}", r.code, r.stderr.trim_end().replace('\n', "\n          "));
        if r.code != Some(2) {
            bad.push(format!("rbond {cmd}: exit {:?}, want 2", r.code));
        }
        for l in c.lines {
            if !r.stderr.lines().any(|x| x == *l) {
                bad.push(format!("rbond {cmd}: no line {l:?} in {:?}", r.stderr));
            }
        }
        // The errno line comes last, as the shell prints it after the driver's log lines.
        let want = format!("(write error: {})", c.errno);
        if r.stderr.lines().last() != Some(want.as_str()) {
            bad.push(format!("rbond {cmd}: last line is not {want:?}: {:?}", r.stderr));
        }
        if before != after {
            bad.push(format!("rbond {cmd}: status changed\n--- before\n{before}\n--- after\n{after}"));
        }
    }
    // A warning is not a refusal: a delay that is not a multiple of miimon is rounded, exit 0.
    let r = rbond(&lab, &["set", "bond0", "updelay", "150"]);
    println!("rbond set bond0 updelay 150\n  exit {:?}\n  stderr: {}", r.code, r.stderr.trim_end());
    if r.code != Some(0) || !r.stderr.contains("up delay (150) is not a multiple of miimon (100), value rounded to 100 ms") {
        bad.push(format!("updelay 150: exit {:?}, stderr {:?}", r.code, r.stderr));
    }
    rbond_ok(&lab, &["del", "bond1"]);
    teardown(lab);
    assert!(bad.is_empty(), "{} problem(s):\n{}", bad.len(), bad.join("\n"));
}

// ----- 5. TCP with GSO through the real daemon ------------------------------------------------

/// iperf3, one TCP stream for 3 s, from the host through bond0 (active-backup) to the peer.
///
/// What it proves: the kernel hands bond0 (a TAP with vnet headers) TCP segments of up to 64 KB
/// with partial checksums (GSO/TSO), and the daemon passes them whole to the slave (AF_PACKET
/// with PACKET_VNET_HDR), so the slave's veth carries frames far above the 1500-byte MTU. Without
/// the vnet header on either side, those frames would go out with bad checksums (or be cut) and
/// TCP over veth stalls: a few kbit/s, not Gbit/s.
///
/// The bounds: the path runs at several Gbit/s on an idle machine. 0.5 Gbit/s is what is left
/// with both vCPUs shared with other work and still ~100× more than a stalled TCP; frames
/// averaging > 3000 bytes on the slave can only be GSO frames (the MTU is 1500).
#[test]
fn tcp_with_gso_crosses_the_daemon() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup).miimon(100));
    let active = lab.active_slave().unwrap().expect("an active slave");
    let k = lab.slaves().iter().position(|s| *s == active).unwrap();
    let server = lab
        .peer()
        .spawn("iperf3 server", std::path::Path::new("/usr/bin/iperf3"), &["-s", "-1", "-B", "198.18.0.2", "--forceflush"])
        .unwrap();
    server.wait_for("Server listening", Duration::from_secs(10)).unwrap();
    let before = bond_tx(&lab);
    let (p0, b0) = (lab.host().counter(&active, "tx_packets").unwrap(), lab.host().counter(&active, "tx_bytes").unwrap());
    let out = lab.host().exec(&["iperf3", "-c", "198.18.0.2", "-t", "3", "-J"]).unwrap();
    let (p1, b1) = (lab.host().counter(&active, "tx_packets").unwrap(), lab.host().counter(&active, "tx_bytes").unwrap());
    let after = bond_tx(&lab);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "iperf3 failed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let gbps = v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap() / 1e9;
    let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap();
    let retrans = v["end"]["sum_sent"]["retransmits"].as_u64().unwrap_or(0);
    let (frames, frame_bytes) = (p1 - p0, b1 - b0);
    let bond_bytes = after[k].2 - before[k].2;
    println!(
        "iperf3: {gbps:.2} Gbit/s, {bytes} bytes received, {retrans} retransmits; {active}: {frames} frames, \
         {frame_bytes} bytes (avg {} bytes/frame); bond tx on {active}: {bond_bytes} bytes",
        frame_bytes / frames.max(1)
    );
    println!("bond tx before {before:?}\nafter {after:?}");
    assert!(gbps > 0.5, "TCP through bond0 at {gbps:.3} Gbit/s");
    assert!(frame_bytes / frames.max(1) > 3000, "{frames} frames of {frame_bytes} bytes on {active}: no GSO frames");
    // The daemon's counters saw the stream on the active slave (bytes with headers; at least
    // half of the payload is a loose bound that does not depend on header overhead).
    assert!(bond_bytes >= bytes / 2, "the bond counted {bond_bytes} bytes on {active} for {bytes} bytes of TCP");
    // And nothing on the backups beyond a few control frames.
    for (i, (name, _, b)) in after.iter().enumerate() {
        if i != k {
            assert!(b - before[i].2 < 10_000, "{name} (backup) carried {} bytes", b - before[i].2);
        }
    }
    teardown(lab);
}
