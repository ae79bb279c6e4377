//! bond0 behaves like a kernel bond device: peers are told at failover (gratuitous ARP,
//! bond_main.c: bond_should_notify_peers), the slaves follow the bond's MTU and MAC (bonding.rst, mode), and a released slave gets back
//! the MAC and MTU it had.

mod common;
use common::*;
use std::process::{Command, Stdio};

fn link_json(lab: &Lab, ns: &rbond::lab::netns::Netns, ifname: &str) -> (String, u64) {
    let out = ns.ip(&["-j", "link", "show", ifname]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let _ = lab;
    (v[0]["address"].as_str().unwrap().to_string(), v[0]["mtu"].as_u64().unwrap())
}

fn wait_until(what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !pred() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn failover_sends_gratuitous_arp_on_the_new_active_slave() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup));
    assert_eq!(lab.active_slave().unwrap().as_deref(), Some("eth0"));
    let (bond_mac, _) = link_json(&lab, lab.host(), "bond0");
    // Listen on the switch port of the backup cable: after the pull it carries the
    // announcement of 198.18.0.1 (request, sender IP = target IP, from the bond MAC).
    let dump = Command::new("ip")
        .args(["netns", "exec", lab.switch().name(), "timeout", "8", "tcpdump", "-l", "-n", "-e", "-i"])
        .arg(&lab.ports()[1])
        .args(["-c", "1", "arp and arp[6:2] = 1 and arp[14:4] = arp[24:4]"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump");
    std::thread::sleep(Duration::from_millis(1500));
    lab.pull(0).unwrap();
    let out = dump.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("tcpdump: {text}");
    assert!(
        text.contains("who-has 198.18.0.1 tell 198.18.0.1"),
        "no gratuitous ARP for 198.18.0.1 after failover; tcpdump said: {text} / {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with(&bond_mac) || text.contains(&format!("{bond_mac} >")), "the announcement must come from the bond MAC {bond_mac}: {text}");
    assert_eq!(lab.active_slave().unwrap().as_deref(), Some("eth1"));
    teardown(lab);
}

#[test]
fn slaves_follow_bond_mtu_and_mac_and_get_theirs_back_on_release() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup));
    let host = lab.host();
    let (orig_mac1, orig_mtu1) = {
        // The permanent address shown by status is what eth1 had when enslaved.
        let st = lab.status().unwrap();
        let perm = st.split("Slave Interface: eth1").nth(1).unwrap().lines()
            .find_map(|l| l.strip_prefix("Permanent HW addr: ")).unwrap().to_string();
        (perm, 1500)
    };
    host.ip(&["link", "set", "bond0", "mtu", "1400"]).unwrap();
    wait_until("slaves at mtu 1400", || {
        link_json(&lab, host, "eth0").1 == 1400 && link_json(&lab, host, "eth1").1 == 1400
    });
    host.ip(&["link", "set", "bond0", "address", "02:00:00:00:00:42"]).unwrap();
    wait_until("slaves carrying the new bond MAC", || {
        link_json(&lab, host, "eth0").0 == "02:00:00:00:00:42" && link_json(&lab, host, "eth1").0 == "02:00:00:00:00:42"
    });
    // Traffic still flows with the new MAC (the peer learns it from the probe's ARP).
    let r = lab.probe(ProbeConfig::new(Duration::from_secs(2))).unwrap().summary();
    assert!(r.received > r.sent * 9 / 10, "probe after MAC change: {r:?}");
    rbond_ok(&lab, &["release", "bond0", "eth1"]);
    wait_until("eth1 restored", || link_json(&lab, host, "eth1") == (orig_mac1.clone(), orig_mtu1));
    teardown(lab);
}

/// The daemon keeps `<run-dir>/bond0` equal to `rbond status bond0` (the /proc text), and
/// `--json` carries the same facts.
#[test]
fn status_file_and_json_follow_the_bond() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup));
    let file = lab.host_daemon().run_dir.join("bond0");
    let same = || std::fs::read_to_string(&file).ok() == Some(lab.status().unwrap());
    wait_until("the status file to match `rbond status`", same);
    lab.pull(0).unwrap();
    wait_until("eth1 active in the status file", || {
        std::fs::read_to_string(&file).unwrap_or_default().contains("Currently Active Slave: eth1")
    });
    assert!(same(), "status file and `rbond status` differ after a failover");
    let json: serde_json::Value = serde_json::from_str(&rbond_ok(&lab, &["status", "bond0", "--json"])).unwrap();
    assert_eq!(json["mode"], "active-backup");
    assert_eq!(json["active_slave"], "eth1");
    assert_eq!(json["miimon"], 100);
    assert_eq!(json["slaves"][0]["mii_status"], "down");
    assert_eq!(json["slaves"][0]["link_failure_count"], 1);
    assert_eq!(json["slaves"][0]["state"], "backup");
    assert_eq!(json["slaves"][1]["state"], "active");
    teardown(lab);
}

/// Stopping the daemon (SIGTERM) leaves the slaves as they were found: their own MACs, no
/// nftables isolation, and bond0 gone.
#[test]
fn daemon_stop_restores_the_slaves() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup));
    let host = lab.host();
    let perm: Vec<String> = {
        let st = lab.status().unwrap();
        st.lines().filter_map(|l| l.strip_prefix("Permanent HW addr: ")).map(str::to_string).collect()
    };
    assert_eq!(perm.len(), 2);
    assert!(host.exec_ok(&["nft", "list", "tables"]).unwrap().contains("rbond"), "slaves are isolated while enslaved");
    host.stop_processes();
    assert!(host.ip(&["link", "show", "bond0"]).is_err(), "bond0 must go with the daemon");
    for (i, p) in perm.iter().enumerate() {
        assert_eq!(&link_json(&lab, host, &format!("eth{i}")).0, p, "eth{i} got its MAC back");
    }
    assert!(!host.exec_ok(&["nft", "list", "tables"]).unwrap().contains("rbond"), "isolation removed");
    teardown(lab);
}
