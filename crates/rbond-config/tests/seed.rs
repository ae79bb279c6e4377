//! The seed's exact ifcfg texts (addresses moved to 198.18.x.y) and other good configurations,
//! read into the model and planned.

mod common;

use common::{fixtures, seed_bond, seed_slave, Scratch};
use rbond_config::{load_dir, plan, BootProto};
use rbond_core::Mode;
use std::net::{IpAddr, Ipv4Addr};

/// The seed lines that carry trailing blanks or trailing `#` comments, byte for byte.
#[test]
fn fixture_is_the_seed_text() {
    let b = seed_bond();
    let lines: Vec<&str> = b.lines().collect();
    assert_eq!(lines.len(), 12);
    assert_eq!(lines[2], "IPADDR=198.18.1.11  ");
    assert_eq!(lines[5], "ONBOOT=yes  ");
    assert_eq!(lines[8], "NM_CONTROLLED=no                  #6中此项禁掉networkmanager");
    assert_eq!(lines[10], "BONDING_OPTS=\"mode=1 miimon=100\"  #设置网卡的运行模式，也可以在配置文件中设置  ");
    assert_eq!(
        seed_slave(1),
        "DEVICE=eth1\nBOOTPROTO=none\nONBOOT=yes\nMASTER=bond0\nSLAVE=yes\nUSERCTL=no\nNM_CONTROLLED=no\n"
    );
}

#[test]
fn seed_reads_into_the_model() {
    let cfg = load_dir(&fixtures().join("seed"), &[fixtures().join("seed-modprobe.conf")]).unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    assert_eq!(cfg.module.aliases, vec!["bond0".to_string()]);
    assert_eq!(cfg.bonds.len(), 1);
    let b = &cfg.bonds[0];
    assert_eq!(b.name, "bond0");
    assert!(b.source.ends_with("seed/ifcfg-bond0"));
    assert_eq!(b.effective.mode, Mode::ActiveBackup);
    assert_eq!(b.effective.miimon, 100);
    assert_eq!(b.opts, vec![("mode".into(), "active-backup".into()), ("miimon".into(), "100".into())]);
    assert!(b.post_opts.is_empty());
    assert_eq!(b.slave_names(), vec!["eth0", "eth1"]);
    assert_eq!(b.ipv4, Some((Ipv4Addr::new(198, 18, 1, 11), 24)));
    assert_eq!(b.gateway, Some(Ipv4Addr::new(198, 18, 1, 1)));
    assert_eq!(b.dns, vec![IpAddr::V4(Ipv4Addr::new(198, 18, 1, 53))]);
    assert!(b.onboot);
    assert_eq!(b.bootproto, BootProto::None);
    assert_eq!(b.mtu, None);
    assert_eq!(b.macaddr, None);
}

#[test]
fn seed_plan_and_report() {
    let dir = fixtures().join("seed");
    let cfg = load_dir(&dir, &[fixtures().join("seed-modprobe.conf")]).unwrap();
    assert_eq!(
        plan(&cfg.bonds[0]),
        vec![
            "create bond0 (mode=active-backup miimon=100)",
            "bring bond0 up",
            "enslave eth0",
            "enslave eth1",
            "address 198.18.1.11/24 on bond0",
            "default route via 198.18.1.1 dev bond0",
            "nameserver 198.18.1.53 in /etc/resolv.conf (only with --dns)",
        ]
    );
    let report = rbond_config::plan::report(&cfg);
    let expected = format!(
        "bond0 (from {}/ifcfg-bond0): ONBOOT=yes, slaves: eth0 eth1\n\
         \x20 create bond0 (mode=active-backup miimon=100)\n\
         \x20 bring bond0 up\n\
         \x20 enslave eth0\n\
         \x20 enslave eth1\n\
         \x20 address 198.18.1.11/24 on bond0\n\
         \x20 default route via 198.18.1.1 dev bond0\n\
         \x20 nameserver 198.18.1.53 in /etc/resolv.conf (only with --dns)\n",
        dir.display()
    );
    assert_eq!(report, expected);
}

/// The seed as published puts GATEWAY outside the bond's subnet (192.168.1.11/24 with gateway
/// 172.16.0.1). initscripts bring such a bond up and only report that the default route could
/// not be added, so rbond warns at the GATEWAY line, keeps the bond and plans no route.
#[test]
fn seed_gateway_outside_subnet_is_a_warning() {
    let bad = seed_bond().replace("GATEWAY=198.18.1.1", "GATEWAY=198.19.0.1");
    let d = Scratch::with("seedgw", &[("ifcfg-bond0", &bad), ("ifcfg-eth0", &seed_slave(0)), ("ifcfg-eth1", &seed_slave(1))]);
    let cfg = load_dir(&d.path, &[]).unwrap();
    let w: Vec<String> = cfg.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        w,
        vec![format!(
            "{}:5: warning: GATEWAY: 198.19.0.1 is not in the bond's subnet 198.18.1.0/24: the default route via 198.19.0.1 cannot be added (the kernel answers Network is unreachable); the bond is brought up without it, as initscripts do",
            d.file("ifcfg-bond0").display()
        )]
    );
    let b = &cfg.bonds[0];
    assert_eq!(b.unreachable_gateway(), Some(Ipv4Addr::new(198, 19, 0, 1)));
    let p = plan(b);
    assert!(p.iter().any(|s| s == "address 198.18.1.11/24 on bond0"), "{p:?}");
    assert!(!p.iter().any(|s| s.starts_with("default route")), "{p:?}");
}

/// The seed's literal values, as published (no traffic is involved: these are only parsed).
#[test]
fn seed_literal_addresses_are_accepted_with_a_warning() {
    let literal = seed_bond().replace("IPADDR=198.18.1.11", "IPADDR=192.168.1.11").replace("GATEWAY=198.18.1.1", "GATEWAY=172.16.0.1");
    let d = Scratch::with("seedlit", &[("ifcfg-bond0", &literal), ("ifcfg-eth0", &seed_slave(0)), ("ifcfg-eth1", &seed_slave(1))]);
    let cfg = load_dir(&d.path, &[]).unwrap();
    assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
    assert!(cfg.warnings[0].to_string().contains("GATEWAY: 172.16.0.1 is not in the bond's subnet 192.168.1.0/24"));
    let b = &cfg.bonds[0];
    assert_eq!(b.ipv4, Some((Ipv4Addr::new(192, 168, 1, 11), 24)));
    assert_eq!(b.unreachable_gateway(), Some(Ipv4Addr::new(172, 16, 0, 1)));
    let report = rbond_config::plan::report(&cfg);
    assert!(report.contains("  no default route: GATEWAY 172.16.0.1 is outside 192.168.1.0/24 (skipped, as initscripts do)\n"), "{report}");
    assert!(!report.contains("  default route via"), "{report}");
}

#[test]
fn modprobe_defaults_and_bonding_opts_override() {
    let bond = "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=active-backup lacp_rate=slow\"\n";
    let d = Scratch::with(
        "mp",
        &[
            ("ifcfg-bond0", bond),
            ("ifcfg-eth0", &seed_slave(0)),
            ("bonding.conf", "# RHEL 6 style\nalias bond0 bonding\noptions bonding mode=4 miimon=100 max_bonds=2\n"),
        ],
    );
    // lacp_rate is refused in active-backup: BONDING_OPTS is applied with sysfs semantics.
    let e = load_dir(&d.path, &[d.file("bonding.conf")]).unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.to_string().contains("option lacp_rate: mode dependency failed, not supported in mode active-backup(1)"), "{e}");

    std::fs::write(d.file("ifcfg-bond0"), "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"miimon=200 lacp_rate=fast\"\n").unwrap();
    let cfg = load_dir(&d.path, &[d.file("bonding.conf")]).unwrap();
    assert_eq!(cfg.module.max_bonds, 2);
    assert_eq!(cfg.module.defaults.mode, Mode::Ieee8023ad);
    let b = &cfg.bonds[0];
    assert_eq!(b.effective.mode, Mode::Ieee8023ad);
    assert_eq!(b.effective.miimon, 200);
    assert_eq!(
        b.opts,
        vec![("mode".into(), "802.3ad".into()), ("miimon".into(), "200".into()), ("lacp_rate".into(), "fast".into())]
    );

    // BONDING_OPTS mode overrides the module's; miimon 100 forced by 802.3ad stays.
    std::fs::write(d.file("ifcfg-bond0"), "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=mode=1\n").unwrap();
    let cfg = load_dir(&d.path, &[d.file("bonding.conf")]).unwrap();
    assert_eq!(cfg.bonds[0].opts, vec![("mode".into(), "active-backup".into()), ("miimon".into(), "100".into())]);
}

#[test]
fn module_load_forces_miimon_with_a_warning() {
    let d = Scratch::with(
        "mp2",
        &[("ifcfg-bond0", "DEVICE=bond0\nTYPE=Bond\n"), ("ifcfg-eth0", &seed_slave(0)), ("b.conf", "options bonding mode=balance-alb\n")],
    );
    let cfg = load_dir(&d.path, &[d.file("b.conf")]).unwrap();
    assert_eq!(cfg.bonds[0].effective.miimon, 100);
    let w: Vec<String> = cfg.warnings.iter().map(|w| w.to_string()).collect();
    assert!(w.iter().any(|w| w.contains("b.conf:1: warning: options bonding: bonding module: Forcing miimon to 100msec")), "{w:?}");
}

/// RHEL 5: no TYPE=Bond, the module alias and `options bond0 ...` in modprobe.conf.
#[test]
fn rhel5_alias_recipe() {
    let bond = "DEVICE=bond0\nIPADDR=198.18.2.10\nNETMASK=255.255.255.0\nONBOOT=yes\nBOOTPROTO=none\n";
    let d = Scratch::with(
        "rhel5",
        &[
            ("ifcfg-bond0", bond),
            ("ifcfg-eth0", &seed_slave(0)),
            ("ifcfg-eth1", &seed_slave(1)),
            ("ifcfg-lo", "DEVICE=lo\nIPADDR=127.0.0.1\nNETMASK=255.0.0.0\nONBOOT=yes\nNAME=loopback\n"),
            ("ifcfg-eth0.bak", "this is a backup and not read\n"),
            ("modprobe.conf", "alias eth0 e1000\nalias bond0 bonding\noptions bond0 mode=balance-alb miimon=100\n"),
        ],
    );
    let cfg = load_dir(&d.path, &[d.file("modprobe.conf")]).unwrap();
    assert_eq!(cfg.bonds.len(), 1);
    assert_eq!(cfg.bonds[0].effective.mode, Mode::BalanceAlb);
    assert_eq!(cfg.bonds[0].slave_names(), vec!["eth0", "eth1"]);
    assert!(cfg.bonds[0].gateway.is_none());
    // The only remark is the module's own load-time note about alb and updelay.
    assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
    assert!(cfg.warnings[0].to_string().contains("modprobe.conf:3: warning: options bonding: bonding module: In ALB mode"));
}

#[test]
fn modes_by_name_and_number() {
    for (text, mode) in [
        ("0", Mode::BalanceRr),
        ("balance-rr", Mode::BalanceRr),
        ("1", Mode::ActiveBackup),
        ("active-backup", Mode::ActiveBackup),
        ("2", Mode::BalanceXor),
        ("balance-xor", Mode::BalanceXor),
        ("3", Mode::Broadcast),
        ("broadcast", Mode::Broadcast),
        ("4", Mode::Ieee8023ad),
        ("802.3ad", Mode::Ieee8023ad),
        ("5", Mode::BalanceTlb),
        ("balance-tlb", Mode::BalanceTlb),
        ("6", Mode::BalanceAlb),
        ("balance-alb", Mode::BalanceAlb),
    ] {
        let bond = format!("DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS='mode={text} miimon=100'\n");
        let cfg = rbond_config::load_texts(&[("/x/ifcfg-bond0".into(), bond), ("/x/ifcfg-eth0".into(), seed_slave(0))], &[]).unwrap();
        assert_eq!(cfg.bonds[0].effective.mode, mode, "mode={text}");
        assert_eq!(cfg.bonds[0].opts[0], ("mode".to_string(), mode.name().to_string()));
    }
}

#[test]
fn full_bond_file() {
    let bond = "# a bond with everything\n\
                export DEVICE=bond1\n\
                TYPE=Bond\n\
                BONDING_MASTER=yes\n\
                BONDING_OPTS=\"mode=active-backup arp_interval=1000 arp_ip_target=198.18.3.1,198.18.3.2 primary=eth3 fail_over_mac=active\"\n\
                IPADDR=198.18.3.10\n\
                PREFIX=25\n\
                GATEWAY=198.18.3.1\n\
                DNS1=198.18.3.53\n\
                DNS2=2001:2::53\n\
                DOMAIN='lab.example'\n\
                ONBOOT=no\n\
                BOOTPROTO=static\n\
                MTU=9000\n\
                MACADDR=02:00:00:00:03:10\n\
                USERCTL=no\n\
                NM_CONTROLLED=no\n";
    let cfg = rbond_config::load_texts(
        &[
            ("/x/ifcfg-bond1".into(), bond.into()),
            ("/x/ifcfg-eth3".into(), seed_slave(3).replace("bond0", "bond1")),
            ("/x/ifcfg-eth2".into(), seed_slave(2).replace("bond0", "bond1")),
        ],
        &[],
    )
    .unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let b = &cfg.bonds[0];
    assert_eq!(b.slave_names(), vec!["eth2", "eth3"], "file name order");
    assert_eq!(b.primary(), Some("eth3"));
    assert!(!b.onboot);
    assert_eq!(b.bootproto, BootProto::Static);
    assert_eq!(
        plan(b),
        vec![
            "create bond1 (mode=active-backup arp_interval=1000 arp_ip_target=+198.18.3.1 arp_ip_target=+198.18.3.2 fail_over_mac=active)",
            "set bond1 MAC address 02:00:00:00:03:10",
            "set bond1 mtu 9000",
            "bring bond1 up",
            "enslave eth2",
            "enslave eth3",
            "set bond1 primary eth3",
            "address 198.18.3.10/25 on bond1",
            "default route via 198.18.3.1 dev bond1",
            "nameserver 198.18.3.53 2001:2::53 in /etc/resolv.conf, search lab.example (only with --dns)",
        ]
    );
    // Without --dns there is no resolv.conf step.
    assert!(!rbond_config::steps(b, false).iter().any(|s| matches!(s, rbond_config::Step::Dns { .. })));
}

#[test]
fn warnings_point_at_lines() {
    let bond = "DEVICE=bond0\nTYPE=Bond\nBONDING_OPTS=\"mode=1 max_bonds=4\"\nIPADDR=198.18.4.10\nFOO=bar\nONBOOT=yes\nONBOOT=no\n";
    let cfg = rbond_config::load_texts(
        &[
            ("/x/ifcfg-bond0".into(), bond.into()),
            ("/x/ifcfg-eth0".into(), seed_slave(0)),
            ("/x/ifcfg-eth5".into(), "DEVICE=eth5\nMASTER=bond0\n".into()),
        ],
        &[],
    )
    .unwrap();
    let w: Vec<String> = cfg.warnings.iter().map(|w| w.to_string()).collect();
    let expect = [
        "/x/ifcfg-eth5:2: warning: MASTER: MASTER=bond0 without SLAVE=yes: initscripts does not enslave eth5, neither does rbond",
        "/x/ifcfg-bond0:7: warning: ONBOOT: set again (first on line 6); the last value wins",
        "/x/ifcfg-bond0:5: warning: FOO: unknown key, ignored",
        "/x/ifcfg-bond0:4: warning: IPADDR: no NETMASK or PREFIX: using the classful /24 (as ipcalc does for initscripts)",
        "/x/ifcfg-bond0:3: warning: BONDING_OPTS: max_bonds is a module parameter only, ignored here; set it with `options bonding max_bonds=4` in /etc/modprobe.d/bonding.conf",
    ];
    for e in expect {
        assert!(w.iter().any(|x| x == e), "missing {e:?} in {w:?}");
    }
    assert_eq!(w.len(), expect.len(), "{w:?}");
    assert!(!cfg.bonds[0].onboot);
    assert_eq!(cfg.bonds[0].ipv4.unwrap().1, 24);
    assert_eq!(cfg.bonds[0].slave_names(), vec!["eth0"]);
}
