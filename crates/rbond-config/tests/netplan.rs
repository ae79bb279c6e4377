//! netplan YAML read into the same model as ifcfg: the seed's bond written the netplan way
//! gives the same BondSpec and plan, every bond parameter lands on the kernel option
//! BONDING_OPTS would set, files merge like netplan merges them, and bad input is refused (or
//! warned about) with exact file:line messages.

mod common;

use common::{expand, fixtures, Scratch};
use rbond_config::bonding_opts;
use rbond_config::{load, load_dir, load_netplan, plan, BondSpec, Config, ConfigError, Source};
use rbond_core::options::BondOptions;
use std::path::PathBuf;

fn modprobe() -> Vec<PathBuf> {
    vec![fixtures().join("seed-modprobe.conf")]
}

fn without_sources(b: &BondSpec) -> BondSpec {
    let mut b = b.clone();
    b.source = PathBuf::new();
    for s in &mut b.slaves {
        s.source = PathBuf::new();
    }
    b
}

/// The seed's bond with `params` as its parameters (indented for `parameters:`) and `extra`
/// bond keys (indented for the bond).
fn yaml(params: &str, extra: &str) -> String {
    format!(
        "network:\n  version: 2\n  ethernets:\n    eth0: {{}}\n    eth1: {{}}\n  bonds:\n    bond0:\n      interfaces: [eth0, eth1]\n      addresses: [198.18.1.11/24]\n{extra}      parameters:\n{params}"
    )
}

fn load_text(tag: &str, text: &str) -> (Scratch, Result<Config, ConfigError>) {
    let s = Scratch::with(tag, &[("01-bond.yaml", text)]);
    let r = load_netplan(&[s.file("01-bond.yaml")], &modprobe());
    (s, r)
}

#[test]
fn seed_bond_in_netplan_form_is_the_ifcfg_bond() {
    let ifcfg = load_dir(&fixtures().join("seed"), &modprobe()).unwrap();
    let file = fixtures().join("netplan/01-bond0.yaml");
    // Through the generic entry point, as `rbond check --netplan` does.
    let np = load(&Source::Netplan(vec![fixtures().join("netplan")]), &modprobe()).unwrap();
    assert!(np.warnings.is_empty(), "{:?}", np.warnings);
    let (a, b) = (&ifcfg.bonds[0], &np.bonds[0]);
    assert_eq!(without_sources(a), without_sources(b));
    assert_eq!(b.opts, vec![("mode".into(), "active-backup".into()), ("miimon".into(), "100".into())]);
    assert_eq!(b.slave_names(), vec!["eth0", "eth1"]);
    assert_eq!(b.ipv4, Some(("198.18.1.11".parse().unwrap(), 24)));
    assert_eq!(b.gateway, Some("198.18.1.1".parse().unwrap()));
    assert_eq!(b.dns, vec!["198.18.1.53".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(b.source, file);
    assert_eq!(plan(a), plan(b));
    let ra = rbond_config::plan::report(&ifcfg).replace(&fixtures().join("seed/ifcfg-bond0").display().to_string(), "SRC");
    let rb = rbond_config::plan::report(&np).replace(&file.display().to_string(), "SRC");
    assert_eq!(ra, rb);
    // And the networkd form of the same bond: all three formats agree.
    let nd = load(&Source::Networkd(vec![fixtures().join("networkd")]), &modprobe()).unwrap();
    assert_eq!(without_sources(&nd.bonds[0]), without_sources(b));
}

#[test]
fn gateway4_is_the_default_route() {
    let (_s, r) = load_text("np-gw4", &yaml("        mode: active-backup\n        mii-monitor-interval: 100\n", "      gateway4: 198.18.1.1\n      nameservers: {addresses: [198.18.1.53], search: [lab.example, b.example]}\n"));
    let cfg = r.unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let b = &cfg.bonds[0];
    assert_eq!(b.gateway, Some("198.18.1.1".parse().unwrap()));
    assert_eq!(b.domain.as_deref(), Some("lab.example b.example"));
}

#[test]
fn every_parameter_maps_to_its_kernel_option() {
    let (_s, r) = load_text(
        "np-lacp",
        &yaml(
            "        mode: 802.3ad\n        lacp-rate: fast\n        mii-monitor-interval: 1s\n        up-delay: 2000\n        down-delay: 3s\n        transmit-hash-policy: layer3+4\n        ad-select: bandwidth\n        min-links: 1\n        all-members-active: true\n        resend-igmp: 2\n        gratuitous-arp: 3\n",
            "",
        ),
    );
    let cfg = r.unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let want = bonding_opts::apply(
        &BondOptions::default(),
        "mode=4 lacp_rate=1 miimon=1000 updelay=2000 downdelay=3000 xmit_hash_policy=layer3+4 ad_select=bandwidth min_links=1 all_slaves_active=1 resend_igmp=2 num_grat_arp=3",
    )
    .unwrap();
    assert_eq!(cfg.bonds[0].effective, want.effective);

    let (_s, r) = load_text(
        "np-arp",
        &yaml(
            "        mode: active-backup\n        arp-interval: 250\n        arp-ip-targets: [198.18.1.1, 198.18.1.2]\n        arp-validate: all\n        arp-all-targets: all\n        primary: eth1\n        primary-reselect-policy: failure\n        fail-over-mac-policy: follow\n",
            "",
        ),
    );
    let cfg = r.unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let want = bonding_opts::apply(
        &BondOptions::default(),
        "mode=1 arp_interval=250 arp_ip_target=198.18.1.1,198.18.1.2 arp_validate=all arp_all_targets=all primary=eth1 primary_reselect=failure fail_over_mac=follow",
    )
    .unwrap();
    assert_eq!(cfg.bonds[0].effective, want.effective);
    assert_eq!(cfg.bonds[0].post_opts, vec![("primary".to_string(), "eth1".to_string())]);

    // learn-packet-interval without a unit is seconds; packets-per-slave (old name) works.
    let (_s, r) = load_text("np-tlb", &yaml("        mode: balance-tlb\n        learn-packet-interval: 5\n", ""));
    assert_eq!(r.unwrap().bonds[0].effective.lp_interval, 5);
    let (_s, r) = load_text("np-rr", &yaml("        mode: balance-rr\n        packets-per-slave: 3\n", ""));
    assert_eq!(r.unwrap().bonds[0].effective.packets_per_slave, 3);
}

#[test]
fn set_name_and_match_name_give_interface_names() {
    let text = "network:\n  version: 2\n  ethernets:\n    port-a:\n      match: {macaddress: '02:00:00:00:00:01'}\n      set-name: eth0\n    port-b:\n      match: {name: eth1}\n  bonds:\n    bond0:\n      interfaces: [port-a, port-b]\n      parameters: {mode: active-backup, primary: port-b}\n";
    let (_s, r) = load_text("np-ids", text);
    let cfg = r.unwrap();
    assert_eq!(cfg.bonds[0].slave_names(), vec!["eth0", "eth1"]);
    assert_eq!(cfg.bonds[0].primary(), Some("eth1"), "primary: names a member by ID");
}

#[test]
fn files_merge_in_name_order() {
    // 01 defines the seed's bond; 02 (later by name, though given first) changes the mode
    // and adds a key; a same-named file in an earlier directory shadows one in a later one.
    let run = Scratch::with("np-run", &[("01-bond.yaml", &yaml("        mode: active-backup\n        mii-monitor-interval: 100\n", ""))]);
    let etc = Scratch::with(
        "np-etc",
        &[("01-bond.yaml", "network: {version: 2, bonds: {bond0: {parameters: {mode: broadcast}}}}\n"), ("02-more.yaml", "network:\n  bonds:\n    bond0:\n      mtu: 9000\n      parameters:\n        mode: balance-xor\n")],
    );
    let cfg = load_netplan(&[run.path.clone(), etc.path.clone()], &modprobe()).unwrap();
    let b = &cfg.bonds[0];
    assert_eq!(b.effective.mode, rbond_core::Mode::BalanceXor);
    assert_eq!(b.effective.miimon, 100, "kept from the first file");
    assert_eq!(b.mtu, Some(9000));
    assert_eq!(b.slave_names(), vec!["eth0", "eth1"]);
    assert_eq!(b.source, run.file("01-bond.yaml"));
}


#[test]
fn bad_input_is_refused_with_exact_messages() {
    let p = |params: &str| yaml(params, "");
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown mode", p("        mode: active_backup\n"),
            "{d}/01-bond.yaml:11: bonds.bond0.parameters.mode: option mode: invalid value (active_backup); expected {accepted:mode}"),
        ("bad interval", p("        mode: active-backup\n        mii-monitor-interval: fast\n"),
            "{d}/01-bond.yaml:12: bonds.bond0.parameters.mii-monitor-interval: 'fast' is not a time span; expected a number of milliseconds, or a time span such as 100ms or 1s"),
        ("lacp-rate outside 802.3ad", p("        mode: active-backup\n        lacp-rate: fast\n"),
            "{d}/01-bond.yaml:12: bonds.bond0.parameters.lacp-rate: option lacp_rate: mode dependency failed, not supported in mode active-backup(1); expected lacp_rate only in modes 802.3ad(4)"),
        ("bad arp target", p("        mode: active-backup\n        arp-interval: 100\n        arp-ip-targets: [198.18.1.300]\n"),
            "{d}/01-bond.yaml:13: bonds.bond0.parameters.arp-ip-targets: invalid ARP target specified; expected {accepted:arp_ip_target}"),
        ("undefined interface", yaml("        mode: active-backup\n", "").replace("[eth0, eth1]", "[eth0, eth2]"),
            "{d}/01-bond.yaml:8: bonds.bond0.interfaces: 'eth2' is not defined in ethernets:; expected an ID from ethernets: eth0, eth1"),
        ("dhcp4", yaml("        mode: active-backup\n", "      dhcp4: true\n"),
            "{d}/01-bond.yaml:10: bonds.bond0.dhcp4: DHCP is not supported by rbond; expected dhcp4: false with static addresses:"),
        ("address without prefix", yaml("        mode: active-backup\n", "").replace("198.18.1.11/24", "198.18.1.11"),
            "{d}/01-bond.yaml:9: bonds.bond0.addresses: '198.18.1.11' has no prefix length; expected an IPv4 address with its prefix length, such as 198.18.1.11/24"),
        ("non-default route", yaml("        mode: active-backup\n", "      routes: [{to: 198.18.4.0/24, via: 198.18.1.1}]\n"),
            "{d}/01-bond.yaml:10: bonds.bond0.routes[0]: a route to 198.18.4.0/24: rbond configures the default route only; expected to: default with an IPv4 via:"),
        ("wrong version", yaml("        mode: active-backup\n", "").replace("version: 2", "version: 1"),
            "{d}/01-bond.yaml:2: network.version: version 1; expected version: 2"),
        ("member of two bonds", format!("{}    bond1:\n      interfaces: [eth1]\n", p("        mode: active-backup\n")),
            "{d}/01-bond.yaml:13: bonds.bond1.interfaces: eth1 is already a member of bond0; expected each interface in one bond only"),
        ("YAML syntax", p("        mode: [active-backup\n"),
            "{d}/01-bond.yaml:12: YAML syntax error: while parsing a flow sequence, expected ',' or ']'; expected valid YAML (netplan(5))"),
    ];
    let mut failures = Vec::new();
    for (name, text, expect) in cases {
        let (s, r) = load_text("np-bad", &text);
        let want = expand(expect, &s.path.display().to_string());
        match r {
            Err(e) if e.to_string() == want => {}
            Err(e) => failures.push(format!("{name}:\n    got  {e}\n    want {want}")),
            Ok(_) => failures.push(format!("{name}: accepted, expected:\n    {want}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn warnings_for_what_is_ignored() {
    let text = "network:\n  version: 2\n  bridges: {br0: {}}\n  ethernets:\n    eth0: {addresses: [198.18.1.12/24]}\n    eth1: {}\n  bonds:\n    bond0:\n      interfaces: [eth0, eth1]\n      colour: blue\n      parameters:\n        mode: active-backup\n        speed: fast\n        mii-monitor-interval: 100\n        gratuitous-arp: 0\n    bond1:\n      parameters: {mode: balance-rr}\n";
    let (s, r) = load_text("np-warn", text);
    let cfg = r.unwrap();
    let f = s.file("01-bond.yaml").display().to_string();
    let w: Vec<String> = cfg.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        w,
        vec![
            format!("{f}:3: warning: network.bridges: rbond configures bonds and their ethernets only; ignored"),
            format!("{f}:10: warning: bonds.bond0.colour: unknown key, ignored"),
            format!("{f}:13: warning: bonds.bond0.parameters.speed: unknown bond parameter, ignored"),
            format!("{f}:15: warning: bonds.bond0.parameters.gratuitous-arp: netplan does not pass 0 on (it means unset): the kernel's default num_grat_arp stays"),
            format!("{f}:16: warning: bonds.bond1: bond bond1 has no slaves (no interfaces: list)"),
            format!("{f}:5: warning: ethernets.eth0.addresses: ignored on a bond member: the bond carries addresses, MTU and MAC"),
        ]
    );
    assert_eq!(cfg.bonds.len(), 2);
    assert_eq!(cfg.bonds[0].effective.num_peer_notif, 1);
}
