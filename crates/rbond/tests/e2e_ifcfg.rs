//! Issue 4 end to end: the seed's exact ifcfg-bond0 / ifcfg-eth<N> texts (addresses moved to
//! 198.18.1.x) brought up by `rbond up` in a namespace: the bond pings the peer at GATEWAY, and
//! `ip -j addr` / `ip -j route` show the address and default route on bond0. Then the running
//! bond gets a change applied, a refused change (the kernel's reason, nothing changed), a bad
//! configuration (nothing created), and `rbond down`.
//!
//! Topology: host ns [daemon, bond0 over eth0+eth1] == veths == switch ns [bridge] == peer ns
//! [eth0 198.18.1.1/24, the seed's GATEWAY]. Inside its own namespace the host's veths can
//! carry the seed's names, eth0 and eth1.

mod common;

use common::{ping_ok, root_or_skip, wait_ping};
use rbond::lab::netns::{unique_id, Netns};
use rbond::lab::topology::Daemon;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const GATEWAY: &str = "198.18.1.1";

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rbond-config/tests/fixtures/seed")
}
fn seed_modprobe() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rbond-config/tests/fixtures/seed-modprobe.conf")
}

/// A copy of the seed configuration that a test may edit; removed on drop.
struct ConfDir(PathBuf);
impl ConfDir {
    fn new(id: &str) -> ConfDir {
        let p = std::env::temp_dir().join(format!("rbond-e2e-ifcfg-{id}"));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        for e in std::fs::read_dir(seed_dir()).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), p.join(e.file_name())).unwrap();
        }
        ConfDir(p)
    }
    fn edit(&self, file: &str, from: &str, to: &str) {
        let f = self.0.join(file);
        let t = std::fs::read_to_string(&f).unwrap();
        assert!(t.contains(from), "{file} has no {from:?}");
        std::fs::write(&f, t.replacen(from, to, 1)).unwrap();
    }
}
impl Drop for ConfDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn cli(d: &Daemon, args: &[&str]) -> Out {
    let o = d.cli(args).unwrap();
    Out { code: o.status.code(), stdout: String::from_utf8_lossy(&o.stdout).into(), stderr: String::from_utf8_lossy(&o.stderr).into() }
}

fn ip_json(ns: &Netns, args: &[&str]) -> Value {
    let mut a = vec!["-j"];
    a.extend_from_slice(args);
    serde_json::from_str(&ns.ip(&a).unwrap()).unwrap()
}

fn status(d: &Daemon) -> String {
    let o = cli(d, &["status", "bond0"]);
    assert_eq!(o.code, Some(0), "status: {}", o.stderr);
    o.stdout
}

#[test]
fn seed_ifcfg_brings_up_a_working_bond() {
    if !root_or_skip() {
        return;
    }
    let id = unique_id();
    let conf = ConfDir::new(&id);
    let net = common::SeedNet::build(&id, GATEWAY);
    let (d, host, peer) = (&net.daemon, &net.host, &net.peer);
    let cdir = conf.0.to_str().unwrap().to_string();
    let mp = seed_modprobe().to_str().unwrap().to_string();
    let cfg_args = |cmd: &str| -> Vec<String> {
        vec![cmd.to_string(), "--config-dir".into(), cdir.clone(), "--modprobe-conf".into(), mp.clone()]
    };
    let as_refs = |v: &[String]| -> Vec<String> { v.to_vec() };
    let run_cli = |extra: &[&str], cmd: &str| -> Out {
        let mut v = as_refs(&cfg_args(cmd));
        v.extend(extra.iter().map(|s| s.to_string()));
        let r: Vec<&str> = v.iter().map(String::as_str).collect();
        cli(d, &r)
    };

    // check: prints the plan, changes nothing.
    let c = run_cli(&[], "check");
    assert!(!c.stderr.contains("unrecognized subcommand"), "this rbond binary has no up/down/check subcommands yet (crates/rbond/src/cli.rs)");
    assert_eq!(c.code, Some(0), "{}", c.stderr);
    assert_eq!(
        c.stdout,
        format!(
            "bond0 (from {cdir}/ifcfg-bond0): ONBOOT=yes, slaves: eth0 eth1\n  create bond0 (mode=active-backup miimon=100)\n  bring bond0 up\n  enslave eth0\n  enslave eth1\n  address 198.18.1.11/24 on bond0\n  default route via 198.18.1.1 dev bond0\n  nameserver 198.18.1.53 in /etc/resolv.conf (only with --dns)\n"
        )
    );
    assert_eq!(c.stderr, "", "the seed configuration has no warnings");
    assert!(host.ip(&["link", "show", "bond0"]).is_err(), "check must not create the bond");

    // up.
    let u = run_cli(&["bond0"], "up");
    assert_eq!(u.code, Some(0), "up failed:\n{}\n{}\n{}", u.stdout, u.stderr, d.log.lines().join("\n"));
    assert!(
        wait_ping(host, GATEWAY, Duration::from_secs(10)),
        "no ping to the gateway\n{}\nhost links:\n{}\nhost neigh:\n{}\npeer neigh:\n{}\ndaemon log:\n{}",
        status(d),
        host.ip(&["-br", "link"]).unwrap_or_default(),
        host.ip(&["neigh"]).unwrap_or_default(),
        peer.ip(&["neigh"]).unwrap_or_default(),
        d.log.lines().join("\n")
    );

    let addrs = ip_json(host, &["addr", "show", "dev", "bond0"]);
    let infos = addrs[0]["addr_info"].as_array().unwrap();
    assert!(
        infos.iter().any(|a| a["family"] == "inet" && a["local"] == "198.18.1.11" && a["prefixlen"] == 24),
        "{addrs}"
    );
    let routes = ip_json(host, &["route", "show", "default"]);
    assert!(
        routes.as_array().unwrap().iter().any(|r| r["dst"] == "default" && r["gateway"] == GATEWAY && r["dev"] == "bond0"),
        "{routes}"
    );
    let s = status(d);
    assert!(s.contains("Bonding Mode: fault-tolerance (active-backup)"), "{s}");
    assert!(s.contains("MII Polling Interval (ms): 100"), "{s}");
    assert!(s.contains("Slave Interface: eth0") && s.contains("Slave Interface: eth1"), "{s}");

    // up again on the running bond: nothing to change.
    let again = run_cli(&["bond0"], "up");
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(!again.stdout.contains(": set "), "{}", again.stdout);

    // A change sysfs allows on a live bond is applied.
    conf.edit("ifcfg-bond0", "mode=1 miimon=100", "mode=1 miimon=200 primary=eth1");
    let ch = run_cli(&["bond0"], "up");
    assert_eq!(ch.code, Some(0), "{}", ch.stderr);
    let s = status(d);
    assert!(s.contains("MII Polling Interval (ms): 200"), "{s}");
    assert!(s.contains("Primary Slave: eth1"), "{s}");

    // A change the kernel refuses on a bond with slaves: the kernel's reason, nothing changed.
    conf.edit("ifcfg-bond0", "mode=1 miimon=200 primary=eth1", "mode=0 miimon=300");
    let before = status(d);
    let r = run_cli(&["bond0"], "up");
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("bond0: option mode: unable to set because the bond device has slaves"), "{}", r.stderr);
    let after = status(d);
    assert!(after.contains("MII Polling Interval (ms): 200") && after.contains("(active-backup)"), "{after}");
    assert_eq!(before.lines().take(8).collect::<Vec<_>>(), after.lines().take(8).collect::<Vec<_>>());

    // down: the bond goes, the slaves come back as they were.
    let dn = cli(d, &["down", "bond0"]);
    assert_eq!(dn.code, Some(0), "{}", dn.stderr);
    assert!(host.ip(&["link", "show", "bond0"]).is_err(), "bond0 still there");
    assert!(!ping_ok(host, GATEWAY));

    // A wrong file: refused with file:line, nothing created.
    conf.edit("ifcfg-bond0", "mode=0 miimon=300", "mode=7 miimon=100");
    let bad = run_cli(&["--all"], "up");
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("/ifcfg-bond0:11: BONDING_OPTS: option mode: invalid value (7)"), "{}", bad.stderr);
    assert!(host.ip(&["link", "show", "bond0"]).is_err());
    assert_eq!(cli(d, &["status"]).stdout.trim(), "");

    // A slave that does not exist: refused before anything is created.
    conf.edit("ifcfg-bond0", "mode=7", "mode=1");
    std::fs::write(conf.0.join("ifcfg-eth7"), "DEVICE=eth7\nMASTER=bond0\nSLAVE=yes\n").unwrap();
    let missing = run_cli(&["bond0"], "up");
    assert_eq!(missing.code, Some(2));
    assert!(missing.stderr.contains("bond0: option slaves: interface +eth7 does not exist!"), "{}", missing.stderr);
    assert!(host.ip(&["link", "show", "bond0"]).is_err());

    // ONBOOT=no bonds are skipped by --all.
    std::fs::remove_file(conf.0.join("ifcfg-eth7")).unwrap();
    conf.edit("ifcfg-bond0", "ONBOOT=yes", "ONBOOT=no");
    let all = run_cli(&["--all"], "up");
    assert_eq!(all.code, Some(0), "{}", all.stderr);
    assert!(all.stdout.contains("bond0: ONBOOT=no, skipped"), "{}", all.stdout);
    assert!(host.ip(&["link", "show", "bond0"]).is_err());
    net.teardown();
}
