//! systemd-networkd `.netdev`/`.network` files read into the same model as ifcfg: the seed's
//! bond written the networkd way gives the same BondSpec and plan, every [Bond] key lands on
//! the kernel option BONDING_OPTS would set, and bad input is refused (or warned about) with
//! exact file:line messages that read like the ifcfg ones.

mod common;

use common::{expand, fixtures, Scratch};
use rbond_config::bonding_opts;
use rbond_config::{load_dir, load_networkd, plan, BondSpec, Config, ConfigError};
use rbond_core::options::BondOptions;
use std::path::PathBuf;

fn modprobe() -> Vec<PathBuf> {
    vec![fixtures().join("seed-modprobe.conf")]
}

fn seed_ifcfg() -> Config {
    load_dir(&fixtures().join("seed"), &modprobe()).unwrap()
}

/// The parts of a bond that do not name the files it came from.
fn without_sources(b: &BondSpec) -> BondSpec {
    let mut b = b.clone();
    b.source = PathBuf::new();
    for s in &mut b.slaves {
        s.source = PathBuf::new();
    }
    b
}

const NETDEV: &str = "[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=active-backup\nMIIMonitorSec=100ms\n";
const BOND_NET: &str = "[Match]\nName=bond0\n\n[Network]\nAddress=198.18.1.11/24\nGateway=198.18.1.1\nDNS=198.18.1.53\n";
const ETH0: &str = "[Match]\nName=eth0\n\n[Network]\nBond=bond0\n";
const ETH1: &str = "[Match]\nName=eth1\n\n[Network]\nBond=bond0\n";

/// The seed files with `netdev_extra` appended to the .netdev's [Bond] section and the
/// other files replaced or added as given.
fn dir_with(tag: &str, netdev: &str, files: &[(&str, &str)]) -> Scratch {
    let mut all: Vec<(&str, &str)> = vec![("10-bond0.netdev", netdev), ("20-bond0.network", BOND_NET), ("30-eth0.network", ETH0), ("31-eth1.network", ETH1)];
    for (n, t) in files {
        all.retain(|(an, _)| an != n);
        all.push((n, t));
    }
    Scratch::with(tag, &all)
}

fn load(s: &Scratch) -> Result<Config, ConfigError> {
    load_networkd(std::slice::from_ref(&s.path), &modprobe())
}

fn d(s: &Scratch) -> String {
    s.path.display().to_string()
}

#[test]
fn seed_bond_in_networkd_form_is_the_ifcfg_bond() {
    let ifcfg = seed_ifcfg();
    let dir = fixtures().join("networkd");
    let nd = load_networkd(std::slice::from_ref(&dir), &modprobe()).unwrap();
    assert!(nd.warnings.is_empty(), "{:?}", nd.warnings);
    assert_eq!(nd.bonds.len(), 1);
    let (a, b) = (&ifcfg.bonds[0], &nd.bonds[0]);
    assert_eq!(without_sources(a), without_sources(b));
    // The fields the issue names, spelled out.
    assert_eq!(b.opts, vec![("mode".into(), "active-backup".into()), ("miimon".into(), "100".into())]);
    assert_eq!(b.slave_names(), vec!["eth0", "eth1"]);
    assert_eq!(b.ipv4, Some(("198.18.1.11".parse().unwrap(), 24)));
    assert_eq!(b.gateway, Some("198.18.1.1".parse().unwrap()));
    assert_eq!(b.dns, vec!["198.18.1.53".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(b.source, dir.join("10-bond0.netdev"));
    assert_eq!(b.slaves[1].source, dir.join("31-eth1.network"));
    // Same plan, and the same `rbond check` report but for the file it names.
    assert_eq!(plan(a), plan(b));
    let ra = rbond_config::plan::report(&ifcfg);
    let rb = rbond_config::plan::report(&nd);
    assert_eq!(
        ra.replace(&fixtures().join("seed/ifcfg-bond0").display().to_string(), "SRC"),
        rb.replace(&dir.join("10-bond0.netdev").display().to_string(), "SRC")
    );
    assert!(rb.starts_with(&format!("bond0 (from {}/10-bond0.netdev): ONBOOT=yes, slaves: eth0 eth1\n  create bond0 (mode=active-backup miimon=100)\n", dir.display())), "{rb}");
}

/// `opts` as BONDING_OPTS would give them, for comparison.
fn bonding_opts_effective(opts: &str) -> BondOptions {
    bonding_opts::apply(&BondOptions::default(), opts).unwrap().effective
}

#[test]
fn every_bond_key_maps_to_its_kernel_option() {
    // 802.3ad keys; time spans in several spellings; a key order the kernel's sysfs order
    // would refuse (UpDelaySec before MIIMonitorSec) is fine: netlink applies in kernel order.
    let s = dir_with(
        "nd-lacp",
        "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nUpDelaySec=0.2s\nDownDelaySec=400ms\nMode=802.3ad\nMIIMonitorSec=0.1\nLACPTransmitRate=fast\nTransmitHashPolicy=layer3+4\nAdSelect=count\nMinLinks=1\nAdActorSystemPriority=100\nAdUserPortKey=7\nAdActorSystem=02:00:00:00:00:aa\nResendIGMP=3\nGratuitousARP=2\nAllSlavesActive=yes\nPeerNotifyDelaySec=300ms\n",
        &[],
    );
    let cfg = load(&s).unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let want = bonding_opts_effective(
        "mode=802.3ad miimon=100 updelay=200 downdelay=400 peer_notif_delay=300 lacp_rate=fast xmit_hash_policy=layer3+4 ad_select=count min_links=1 ad_actor_sys_prio=100 ad_user_port_key=7 ad_actor_system=02:00:00:00:00:aa resend_igmp=3 num_grat_arp=2 all_slaves_active=1",
    );
    assert_eq!(cfg.bonds[0].effective, want);
    assert_eq!(cfg.bonds[0].effective.show("lacp_rate").unwrap(), "fast 1");

    // ARP monitoring, primary and active slave from the slaves' files.
    let s = dir_with(
        "nd-arp",
        "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=active-backup\nARPIntervalSec=0.25\nARPIPTargets=198.18.1.1\nARPIPTargets=198.18.1.2 198.18.1.3\nARPValidate=all\nARPAllTargets=all\nARPMissedMax=3\nPrimaryReselectPolicy=better\nFailOverMACPolicy=active\n",
        &[("31-eth1.network", "[Match]\nName=eth1\n[Network]\nBond=bond0\nPrimarySlave=yes\n"), ("30-eth0.network", "[Match]\nName=eth0\n[Network]\nBond=bond0\nActiveSlave=true\n")],
    );
    let cfg = load(&s).unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let b = &cfg.bonds[0];
    let want = bonding_opts::apply(
        &BondOptions::default(),
        "mode=1 arp_interval=250 arp_ip_target=198.18.1.1,198.18.1.2,198.18.1.3 arp_validate=all arp_all_targets=all arp_missed_max=3 primary_reselect=better fail_over_mac=active primary=eth1 active_slave=eth0",
    )
    .unwrap();
    assert_eq!(b.effective, want.effective);
    assert_eq!(b.post_opts, want.post);
    assert_eq!(b.primary(), Some("eth1"));
    assert_eq!(b.effective.show("arp_ip_target").unwrap(), "198.18.1.1 198.18.1.2 198.18.1.3");

    // tlb: seconds for LearnPacketIntervalSec, booleans; rr: PacketsPerSlave.
    let s = dir_with("nd-tlb", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=balance-tlb\nLearnPacketIntervalSec=1min\nDynamicTransmitLoadBalancing=no\n", &[]);
    assert_eq!(load(&s).unwrap().bonds[0].effective, bonding_opts_effective("mode=balance-tlb lp_interval=60 tlb_dynamic_lb=0"));
    let s = dir_with("nd-rr", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=balance-rr\nPacketsPerSlave=4\n", &[]);
    assert_eq!(load(&s).unwrap().bonds[0].effective, bonding_opts_effective("mode=0 packets_per_slave=4"));
}

#[test]
fn link_settings_and_l3_details() {
    let s = dir_with(
        "nd-link",
        "[NetDev]\nName=bond0\nKind=bond\nMTUBytes=1500\n[Bond]\nMode=active-backup\nMIIMonitorSec=100ms\n",
        &[(
            "20-bond0.network",
            "[Match]\nName=bond0\n[Link]\nMTUBytes=9K\nMACAddress=02:00:00:00:01:01\nActivationPolicy=manual\n[Network]\nDNS=198.18.1.53 2001:2::53\nDomains=lab.example ~routing.example\n[Address]\nAddress=198.18.1.11/24\n[Route]\nDestination=0.0.0.0/0\nGateway=198.18.1.1\n",
        )],
    );
    let cfg = load(&s).unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let b = &cfg.bonds[0];
    assert_eq!(b.mtu, Some(9216), "the .network's [Link] wins over the .netdev");
    assert_eq!(b.macaddr.unwrap().to_string(), "02:00:00:00:01:01");
    assert!(!b.onboot);
    assert_eq!(b.domain.as_deref(), Some("lab.example"));
    assert_eq!(b.dns.len(), 2);
    assert_eq!(b.ipv4, Some(("198.18.1.11".parse().unwrap(), 24)));
    assert_eq!(b.gateway, Some("198.18.1.1".parse().unwrap()));
    assert_eq!(
        plan(b)[..3],
        ["create bond0 (mode=active-backup miimon=100)".to_string(), "set bond0 MAC address 02:00:00:00:01:01".into(), "set bond0 mtu 9216".into()]
    );
}

#[test]
fn directories_mask_and_first_network_file_wins() {
    // An earlier directory masks the same file name in a later one (/etc over /usr/lib).
    let etc = Scratch::with("nd-etc", &[("10-bond0.netdev", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=balance-xor\n")]);
    let lib = dir_with("nd-lib", NETDEV, &[]);
    let cfg = load_networkd(&[etc.path.clone(), lib.path.clone()], &modprobe()).unwrap();
    assert_eq!(cfg.bonds[0].effective.mode, rbond_core::Mode::BalanceXor);
    assert_eq!(cfg.bonds[0].source, etc.file("10-bond0.netdev"));
    assert_eq!(cfg.bonds[0].slave_names(), vec!["eth0", "eth1"]);

    // Only the first .network file matching an interface applies.
    let s = dir_with("nd-first", NETDEV, &[("29-both.network", "[Match]\nName=eth1 eth0\n[Network]\nBond=bond0\n")]);
    let cfg = load(&s).unwrap();
    assert_eq!(cfg.bonds[0].slave_names(), vec!["eth1", "eth0"], "the first matching file's Name= order");
    let w: Vec<String> = cfg.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        w,
        vec![
            format!("{0}/30-eth0.network:2: warning: Name: eth0 is already matched by {0}/29-both.network; networkd applies only the first matching file", d(&s)),
            format!("{0}/31-eth1.network:2: warning: Name: eth1 is already matched by {0}/29-both.network; networkd applies only the first matching file", d(&s)),
        ]
    );
}

#[test]
fn refusals_read_like_bonding_opts() {
    // The same bad value as BONDING_OPTS and as Mode=: the same problem and expectation.
    let ifcfg = Scratch::with(
        "nd-same",
        &[("ifcfg-bond0", &common::seed_bond().replace("mode=1 miimon=100", "mode=active-backup lacp_rate=fast")), ("ifcfg-eth0", &common::seed_slave(0))],
    );
    let e1 = load_dir(&ifcfg.path, &modprobe()).unwrap_err();
    let s = dir_with("nd-same2", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=active-backup\nLACPTransmitRate=fast\n", &[]);
    let e2 = load(&s).unwrap_err();
    assert_eq!((e1.problem.as_str(), e1.expected.as_str()), (e2.problem.as_str(), e2.expected.as_str()));
    assert_eq!(e2.to_string(), format!("{}/10-bond0.netdev:6: LACPTransmitRate: {}; expected {}", d(&s), e1.problem, e1.expected));
}

struct Case {
    name: &'static str,
    netdev: &'static str,
    files: Vec<(&'static str, &'static str)>,
    /// `{d}`: the directory; `{accepted:<option>}`: the core table's accepted values.
    expect: &'static str,
}


fn bond_case(name: &'static str, bond: &'static str, expect: &'static str) -> Case {
    Case { name, netdev: bond, files: vec![], expect }
}

#[test]
fn bad_input_is_refused_with_exact_messages() {
    let cases = vec![
        bond_case("unknown Mode", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=active_backup\n",
            "{d}/10-bond0.netdev:5: Mode: option mode: invalid value (active_backup); expected {accepted:mode}"),
        bond_case("Mode as a number", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=1\n",
            "{d}/10-bond0.netdev:5: Mode: '1' is a number; this format takes the name; expected one of: balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb"),
        bond_case("bad time span", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=active-backup\nMIIMonitorSec=fast\n",
            "{d}/10-bond0.netdev:6: MIIMonitorSec: 'fast' is not a time span; expected a time span such as 100ms, 1s or 0.1s (a number without unit means seconds)"),
        bond_case("unknown unit", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=active-backup\nMIIMonitorSec=100 msecs\n",
            "{d}/10-bond0.netdev:6: MIIMonitorSec: '100 msecs' is not a time span; expected a time span such as 100ms, 1s or 0.1s (a number without unit means seconds)"),
        bond_case("delay without miimon", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nMode=active-backup\nUpDelaySec=200ms\n",
            "{d}/10-bond0.netdev:6: UpDelaySec: Unable to set up delay as MII monitoring is disabled; expected miimon=<ms> (not 0) before updelay"),
        bond_case("bad boolean", "[NetDev]\nName=bond0\nKind=bond\n[Bond]\nAllSlavesActive=maybe\n",
            "{d}/10-bond0.netdev:5: AllSlavesActive: 'maybe' is not a boolean; expected yes or no (also true/false, on/off, 1/0)"),
        bond_case("no Kind", "[NetDev]\nName=bond0\n[Bond]\nMode=active-backup\n",
            "{d}/10-bond0.netdev:1: Kind: a .netdev without Kind= (networkd ignores it); expected Kind=bond in [NetDev]"),
        bond_case("bad Name", "[NetDev]\nName=bond0:1\nKind=bond\n",
            "{d}/10-bond0.netdev:2: Name: 'bond0:1' is not a valid interface name; expected 1 to 15 characters, without '/', ':' or spaces"),
        bond_case("outside a section", "Name=bond0\n[NetDev]\nKind=bond\n",
            "{d}/10-bond0.netdev:1: Name: assignment outside of any section; expected a [Section] header (e.g. [NetDev] or [Network]) before it"),
        Case { name: "Bond= to an unknown bond", netdev: NETDEV, files: vec![("31-eth1.network", "[Match]\nName=eth1\n[Network]\nBond=bond1\n")],
            expect: "{d}/31-eth1.network:4: Bond: no .netdev file creates a bond named bond1; expected one of the bonds: bond0" },
        Case { name: "glob in Name=", netdev: NETDEV, files: vec![("31-eth1.network", "[Match]\nName=eth*\n[Network]\nBond=bond0\n")],
            expect: "{d}/31-eth1.network:2: Name: 'eth*' is a pattern; rbond does not expand patterns against the interfaces present; expected literal interface names, e.g. Name=eth0 eth1" },
        Case { name: "two primaries", netdev: NETDEV,
            files: vec![("30-eth0.network", "[Match]\nName=eth0\n[Network]\nBond=bond0\nPrimarySlave=yes\n"), ("31-eth1.network", "[Match]\nName=eth1\n[Network]\nBond=bond0\nPrimarySlave=yes\n")],
            expect: "{d}/31-eth1.network:5: PrimarySlave: eth0 is already the primary of bond0; expected PrimarySlave=yes on one slave of bond0 only" },
        Case { name: "primary in balance-rr", netdev: "[NetDev]\nName=bond0\nKind=bond\n",
            files: vec![("30-eth0.network", "[Match]\nName=eth0\n[Network]\nBond=bond0\nPrimarySlave=yes\n")],
            expect: "{d}/30-eth0.network:5: PrimarySlave: option primary: mode dependency failed, not supported in mode balance-rr(0); expected primary only in modes active-backup(1), balance-tlb(5), balance-alb(6)" },
        Case { name: "gateway outside the subnet", netdev: NETDEV, files: vec![("20-bond0.network", "[Match]\nName=bond0\n[Network]\nAddress=198.18.1.11/24\nGateway=198.18.2.1\n")],
            expect: "{d}/20-bond0.network:5: Gateway: 198.18.2.1 is not in the bond's subnet 198.18.1.0/24; the kernel refuses such a route (Network is unreachable); expected a gateway address inside 198.18.1.0/24" },
        Case { name: "DHCP", netdev: NETDEV, files: vec![("20-bond0.network", "[Match]\nName=bond0\n[Network]\nDHCP=yes\n")],
            expect: "{d}/20-bond0.network:4: DHCP: DHCP=yes is not supported by rbond; expected DHCP=no with a static Address=" },
        Case { name: "two addresses", netdev: NETDEV, files: vec![("20-bond0.network", "[Match]\nName=bond0\n[Network]\nAddress=198.18.1.11/24\nAddress=198.18.1.12/24\n")],
            expect: "{d}/20-bond0.network:5: Address: a second IPv4 address (198.18.1.11 is already configured); expected one IPv4 address per bond" },
        Case { name: "bad MTU", netdev: NETDEV, files: vec![("20-bond0.network", "[Match]\nName=bond0\n[Link]\nMTUBytes=20\n")],
            expect: "{d}/20-bond0.network:4: MTUBytes: '20' is not a valid MTU; expected a number from 68 to 65535" },
    ];
    let mut failures = Vec::new();
    for c in cases {
        let s = dir_with("nd-bad", c.netdev, &c.files);
        let before = s.snapshot();
        let want = expand(c.expect, &d(&s));
        match load(&s) {
            Err(e) if e.to_string() == want => {}
            Err(e) => failures.push(format!("{}:\n    got  {e}\n    want {want}", c.name)),
            Ok(_) => failures.push(format!("{}: accepted, expected:\n    {want}", c.name)),
        }
        assert_eq!(before, s.snapshot(), "{}: files changed", c.name);
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn warnings_for_what_is_ignored() {
    let s = dir_with(
        "nd-warn",
        "[NetDev]\nName=bond0\nKind=bond\nColour=blue\n[Bond]\nMode=active-backup\nMIIMonitorSec=100.5ms\nSpeed=fast\n[Frobnicate]\nX=1\n",
        &[
            ("30-eth0.network", "[Match]\nName=eth0\n[Network]\nBond=bond1\n"),
            ("31-eth1.network", "[Match]\nName=eth1\n[Network]\nBond=bond0\nAddress=198.18.1.12/24\n"),
            ("40-bond1.netdev", "[NetDev]\nName=bond1\nKind=bond\n"),
            ("50-other.netdev", "[NetDev]\nName=br0\nKind=bridge\nAnything=1\n"),
            ("60-bond2.netdev", "[NetDev]\nName=bond2\nKind=bond\n"),
        ],
    );
    let cfg = load(&s).unwrap();
    let w: Vec<String> = cfg.warnings.iter().map(|w| w.to_string()).collect();
    let dir = d(&s);
    assert_eq!(
        w,
        vec![
            format!("{dir}/10-bond0.netdev:9: warning: unknown section [Frobnicate], ignored"),
            format!("{dir}/10-bond0.netdev:4: warning: Colour: unknown key in [NetDev], ignored"),
            format!("{dir}/10-bond0.netdev:8: warning: Speed: unknown key in [Bond], ignored"),
            format!("{dir}/10-bond0.netdev:7: warning: MIIMonitorSec: 100.5ms is not a whole number of milliseconds; the kernel gets 100ms (networkd truncates)"),
            format!("{dir}/31-eth1.network:5: warning: Address: ignored on a slave: the bond carries addresses, MTU and MAC"),
            format!("{dir}/60-bond2.netdev: warning: bond bond2 has no slaves (no .network file with [Network] Bond=bond2)"),
        ]
    );
    assert_eq!(cfg.bonds.len(), 3);
    assert_eq!(cfg.bonds[0].slave_names(), vec!["eth1"]);
    assert_eq!(cfg.bonds[0].effective.miimon, 100);
    assert_eq!(cfg.bonds[1].slave_names(), vec!["eth0"]);
}
