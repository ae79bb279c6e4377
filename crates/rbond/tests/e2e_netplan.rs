//! Issue 4, the other ways admins write bonds: the seed's bond written as netplan YAML
//! (`--netplan FILE`) and as systemd-networkd files (`--networkd-dir DIR`) brought up by
//! `rbond up` in a namespace, each pinging the peer at the gateway with the address and
//! default route in place, then taken down again.
//!
//! Topology as in e2e_ifcfg: host ns [daemon, bond0 over eth0+eth1] == veths == switch ns
//! [bridge] == peer ns [eth0 198.18.1.1/24].

mod common;

use common::{ping_ok, root_or_skip, wait_ping};
use rbond::lab::netns::unique_id;
use rbond::lab::topology::Daemon;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const GATEWAY: &str = "198.18.1.1";

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rbond-config/tests/fixtures").join(p)
}

fn run(d: &Daemon, args: &[&str]) -> (Option<i32>, String, String) {
    let o = d.cli(args).unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into(), String::from_utf8_lossy(&o.stderr).into())
}

#[test]
fn netplan_and_networkd_forms_bring_up_the_seed_bond() {
    if !root_or_skip() {
        return;
    }
    let net = common::SeedNet::build(&unique_id(), GATEWAY);
    let (d, host) = (&net.daemon, &net.host);
    let mp = fixture("seed-modprobe.conf").display().to_string();

    let netplan = fixture("netplan/01-bond0.yaml").display().to_string();
    let networkd = fixture("networkd").display().to_string();
    for (flag, path, source) in [("--netplan", &netplan, netplan.clone()), ("--networkd-dir", &networkd, format!("{networkd}/10-bond0.netdev"))] {
        let (code, out, err) = run(d, &["check", flag, path, "--modprobe-conf", &mp]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(
            out,
            format!("bond0 (from {source}): ONBOOT=yes, slaves: eth0 eth1\n  create bond0 (mode=active-backup miimon=100)\n  bring bond0 up\n  enslave eth0\n  enslave eth1\n  address 198.18.1.11/24 on bond0\n  default route via 198.18.1.1 dev bond0\n  nameserver 198.18.1.53 in /etc/resolv.conf (only with --dns)\n")
        );
        assert_eq!(err, "", "{flag}: the seed configuration has no warnings");

        let (code, out, err) = run(d, &["up", "bond0", flag, path, "--modprobe-conf", &mp]);
        assert_eq!(code, Some(0), "{flag}: up failed:\n{out}\n{err}\n{}", d.log.lines().join("\n"));
        assert!(wait_ping(host, GATEWAY, Duration::from_secs(10)), "{flag}: no ping to the gateway\n{}", d.log.lines().join("\n"));
        let addrs: Value = serde_json::from_str(&host.ip(&["-j", "addr", "show", "dev", "bond0"]).unwrap()).unwrap();
        assert!(
            addrs[0]["addr_info"].as_array().unwrap().iter().any(|a| a["local"] == "198.18.1.11" && a["prefixlen"] == 24),
            "{flag}: {addrs}"
        );
        let routes: Value = serde_json::from_str(&host.ip(&["-j", "route", "show", "default"]).unwrap()).unwrap();
        assert!(routes.as_array().unwrap().iter().any(|r| r["gateway"] == GATEWAY && r["dev"] == "bond0"), "{flag}: {routes}");
        let (_, status, _) = run(d, &["status", "bond0"]);
        assert!(status.contains("Bonding Mode: fault-tolerance (active-backup)"), "{status}");
        assert!(status.contains("MII Polling Interval (ms): 100"), "{status}");

        let (code, _, err) = run(d, &["down", "bond0"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(host.ip(&["link", "show", "bond0"]).is_err(), "{flag}: bond0 still there");
        assert!(!ping_ok(host, GATEWAY));
    }

    // Asking for a bond the netplan file does not define: refused, in netplan's words.
    let (code, _, err) = run(d, &["up", "bond9", "--netplan", &netplan, "--modprobe-conf", &mp]);
    assert_eq!(code, Some(2));
    assert_eq!(err, format!("rbond: no bond bond9 in {netplan} (no bonds: bond9: entry)\n"));

    net.teardown();
}
