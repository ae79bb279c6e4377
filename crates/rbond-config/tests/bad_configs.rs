//! Table of wrong configurations: each must fail with its exact message
//! (`<file>:<line>: <KEY>: <what is wrong>; expected <what>`), without panicking and without
//! changing any file.

mod common;

use common::{expand, seed_bond, seed_slave, Scratch};
use rbond_config::load_dir;

/// A case: how to change the seed's good files, and the expected error text, where `{d}` is
/// the scratch directory.
struct Case {
    name: &'static str,
    /// Replace (from, to) in the seed's ifcfg-bond0 text.
    bond: Vec<(&'static str, &'static str)>,
    /// Extra or replacing files (name, contents).
    files: Vec<(&'static str, &'static [u8])>,
    /// A modprobe file's contents (written as `{d}/bonding.conf`).
    modprobe: Option<&'static str>,
    expect: &'static str,
}

fn bond(name: &'static str, from: &'static str, to: &'static str, expect: &'static str) -> Case {
    Case { name, bond: vec![(from, to)], files: vec![], modprobe: None, expect }
}
fn opts(name: &'static str, to: &'static str, expect: &'static str) -> Case {
    bond(name, "BONDING_OPTS=\"mode=1 miimon=100\"", to, expect)
}
fn file(name: &'static str, f: &'static str, text: &'static str, expect: &'static str) -> Case {
    Case { name, bond: vec![], files: vec![(f, text.as_bytes())], modprobe: None, expect }
}
fn modprobe(name: &'static str, text: &'static str, expect: &'static str) -> Case {
    Case { name, bond: vec![], files: vec![], modprobe: Some(text), expect }
}

fn cases() -> Vec<Case> {
    vec![
        // --- shell syntax ---
        opts("unterminated quote", "BONDING_OPTS=\"mode=1 miimon=100",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: unterminated double quote; expected a closing \" before the end of the file"),
        opts("unquoted BONDING_OPTS", "BONDING_OPTS=mode=1 miimon=100",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: the value is not quoted, so bash sets BONDING_OPTS to 'mode=1' only and 'miimon=100' becomes a separate variable; expected BONDING_OPTS=\"mode=1 miimon=100\""),
        bond("unquoted space", "IPADDR=198.18.1.11  ", "IPADDR=198.18.1.11 198.18.1.12",
            "{d}/ifcfg-bond0:3: IPADDR: unquoted space before '198.18.1.12' (bash would run '198.18.1.12' as a command); expected the whole value in quotes, e.g. KEY=\"a b\", or a # comment after the space"),
        bond("not an assignment", "TYPE=Bond", "TYPE=Bond\nbond0",
            "{d}/ifcfg-bond0:3: 'bond0' is not an assignment (bash would run it as a command); expected KEY=value with no spaces around '='"),
        bond("space before =", "DEVICE=bond0", "DEVICE = bond0",
            "{d}/ifcfg-bond0:1: 'DEVICE' followed by a space before '='; expected KEY=value with no spaces around '='"),
        bond("shell expansion", "IPADDR=198.18.1.11  ", "IPADDR=$ADDR",
            "{d}/ifcfg-bond0:3: IPADDR: '$' (shell expansion) is not supported; expected a literal value; quote it with '...' if it contains $ or `"),
        bond("DOS line ending", "TYPE=Bond\n", "TYPE=Bond\r\n",
            "{d}/ifcfg-bond0:2: TYPE: carriage return in the file (DOS line ending); bash keeps it in the value; expected Unix line endings (LF only)"),
        bond("bad variable name", "USERCTL=no", "USER-CTL=no",
            "{d}/ifcfg-bond0:8: 'USER-CTL' is not a valid variable name; expected KEY=value with KEY made of letters, digits and _ (not starting with a digit)"),
        // --- BONDING_OPTS through the core option table ---
        opts("unknown option", "BONDING_OPTS=\"mode=1 miimon=100 speed=1000\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: unknown bonding option 'speed' (the kernel has no such sysfs file); expected one of: mode, miimon, updelay, downdelay, peer_notif_delay, use_carrier, arp_interval, arp_ip_target, ns_ip6_target, arp_missed_max, arp_validate, arp_all_targets, primary, primary_reselect, active_slave, fail_over_mac, xmit_hash_policy, packets_per_slave, lacp_rate, lacp_active, ad_select, min_links, ad_actor_sys_prio, ad_actor_system, ad_user_port_key, coupled_control, lacp_fallback, lacp_tx_redundancy, broadcast_neighbor, num_grat_arp, all_slaves_active, resend_igmp, lp_interval, tlb_dynamic_lb, queue_id, slaves"),
        opts("mode number out of range", "BONDING_OPTS=\"mode=7 miimon=100\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: option mode: invalid value (7); expected {accepted:mode}"),
        opts("mode name misspelt", "BONDING_OPTS=\"mode=active_backup miimon=100\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: option mode: invalid value (active_backup); expected {accepted:mode}"),
        opts("miimon not a number", "BONDING_OPTS=\"mode=1 miimon=fast\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: option miimon: invalid value (fast); option miimon: allowed values 0 - 2147483647; expected {accepted:miimon}"),
        opts("option without value", "BONDING_OPTS=\"mode=1 miimon\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: 'miimon' has no value; expected key=value words, e.g. miimon=<value>"),
        opts("primary in balance-rr", "BONDING_OPTS=\"mode=0 miimon=100 primary=eth0\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: option primary: mode dependency failed, not supported in mode balance-rr(0); expected primary only in modes active-backup(1), balance-tlb(5), balance-alb(6)"),
        opts("updelay without miimon", "BONDING_OPTS=\"mode=1 updelay=200\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: Unable to set up delay as MII monitoring is disabled; expected miimon=<ms> (not 0) before updelay"),
        opts("arp target 0.0.0.0", "BONDING_OPTS=\"mode=1 arp_interval=100 arp_ip_target=0.0.0.0\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: invalid ARP target 0.0.0.0 specified for addition; option arp_ip_target: invalid value (+0.0.0.0); expected +<ipv4 address> or -<ipv4 address> (up to 16 targets)"),
        opts("arp_interval in 802.3ad", "BONDING_OPTS=\"mode=802.3ad arp_interval=100\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: option arp_interval: mode dependency failed, not supported in mode 802.3ad(4); expected arp_interval only in modes balance-rr(0), active-backup(1), balance-xor(2), broadcast(3)"),
        opts("lacp_rate in active-backup", "BONDING_OPTS=\"mode=1 miimon=100 lacp_rate=fast\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: option lacp_rate: mode dependency failed, not supported in mode active-backup(1); expected lacp_rate only in modes 802.3ad(4)"),
        opts("slaves in BONDING_OPTS", "BONDING_OPTS=\"mode=1 miimon=100 slaves=eth0\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: slaves cannot be set in BONDING_OPTS; expected MASTER=<bond> and SLAVE=yes in each slave's ifcfg file"),
        opts("active_slave not a slave", "BONDING_OPTS=\"mode=1 miimon=100 active_slave=eth9\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: option active_slave: eth9 is not a slave of bond0; expected one of the slaves: eth0, eth1"),
        opts("queue_id beyond tx_queues", "BONDING_OPTS=\"mode=1 miimon=100 queue_id=eth0:99\"",
            "{d}/ifcfg-bond0:11: BONDING_OPTS: option queue_id: invalid value (eth0:99); expected <slave>:<queue id 0-16> with a slave of bond0 (eth0, eth1)"),
        // --- addressing ---
        bond("bad IPv4 octet", "IPADDR=198.18.1.11  ", "IPADDR=198.18.1.256",
            "{d}/ifcfg-bond0:3: IPADDR: '198.18.1.256' is not an IPv4 address; expected a dotted-quad IPv4 address such as 198.18.0.11"),
        bond("IPADDR with prefix", "IPADDR=198.18.1.11  ", "IPADDR=198.18.1.11/24",
            "{d}/ifcfg-bond0:3: IPADDR: '198.18.1.11/24' has a prefix length; expected a plain IPv4 address, with the prefix length in PREFIX= or the mask in NETMASK="),
        bond("network address", "IPADDR=198.18.1.11  ", "IPADDR=198.18.1.0",
            "{d}/ifcfg-bond0:3: IPADDR: 198.18.1.0 is the network address of 198.18.1.0/24; expected a host address inside the subnet"),
        bond("multicast address", "IPADDR=198.18.1.11  ", "IPADDR=224.0.0.5",
            "{d}/ifcfg-bond0:3: IPADDR: 224.0.0.5 cannot be a host address; expected a unicast IPv4 address such as 198.18.0.11"),
        bond("holey netmask", "NETMASK=255.255.255.0", "NETMASK=255.0.255.0",
            "{d}/ifcfg-bond0:4: NETMASK: 255.0.255.0 is not a contiguous netmask; expected a mask such as 255.255.255.0 (ones then zeros)"),
        bond("prefix too long", "NETMASK=255.255.255.0", "PREFIX=33",
            "{d}/ifcfg-bond0:4: PREFIX: '33' is not a prefix length; expected a number from 1 to 32"),
        bond("prefix and netmask disagree", "NETMASK=255.255.255.0", "NETMASK=255.255.255.0\nPREFIX=16",
            "{d}/ifcfg-bond0:5: PREFIX: PREFIX=16 disagrees with NETMASK=255.255.255.0 (/24); expected only one of PREFIX and NETMASK, or both meaning the same length"),
        // A gateway outside the subnet is a warning, not a refusal (issue 14, fault 6): see
        // seed.rs, seed_gateway_outside_subnet_is_a_warning.
        bond("gateway is own address", "GATEWAY=198.18.1.1", "GATEWAY=198.18.1.11",
            "{d}/ifcfg-bond0:5: GATEWAY: 198.18.1.11 is the bond's own address; expected the address of a router in the subnet"),
        bond("gateway without address", "IPADDR=198.18.1.11  \nNETMASK=255.255.255.0\n", "",
            "{d}/ifcfg-bond0:3: GATEWAY: GATEWAY without IPADDR; expected IPADDR=<address> next to it"),
        bond("DNS not an address", "DNS1=198.18.1.53", "DNS1=ns1.example",
            "{d}/ifcfg-bond0:12: DNS1: 'ns1.example' is not an IP address; expected an IPv4 or IPv6 address of a name server"),
        // --- other bond keys ---
        bond("ONBOOT not yes/no", "ONBOOT=yes  ", "ONBOOT=maybe",
            "{d}/ifcfg-bond0:6: ONBOOT: 'maybe' is not a yes/no value; expected yes or no"),
        bond("BOOTPROTO dhcp", "BOOTPROTO=none  ", "BOOTPROTO=dhcp",
            "{d}/ifcfg-bond0:7: BOOTPROTO: BOOTPROTO=dhcp (DHCP) is not supported by rbond; expected none or static, with IPADDR"),
        bond("BOOTPROTO unknown", "BOOTPROTO=none  ", "BOOTPROTO=manual",
            "{d}/ifcfg-bond0:7: BOOTPROTO: unknown boot protocol 'manual'; expected none or static"),
        bond("static without IPADDR", "IPADDR=198.18.1.11  \nNETMASK=255.255.255.0\nGATEWAY=198.18.1.1\nONBOOT=yes  \nBOOTPROTO=none  ", "ONBOOT=yes\nBOOTPROTO=static",
            "{d}/ifcfg-bond0:4: BOOTPROTO: BOOTPROTO=static without IPADDR; expected IPADDR=<address> with BOOTPROTO=static"),
        bond("MTU too small", "USERCTL=no", "MTU=12",
            "{d}/ifcfg-bond0:8: MTU: '12' is not a valid MTU; expected a number from 68 to 65535"),
        bond("MACADDR multicast", "USERCTL=no", "MACADDR=01:00:5e:00:00:01",
            "{d}/ifcfg-bond0:8: MACADDR: 01:00:5e:00:00:01 is a multicast or all-zero address; expected a unicast MAC address such as 02:00:00:00:00:01"),
        bond("MACADDR garbage", "USERCTL=no", "MACADDR=02:00:00:00:00",
            "{d}/ifcfg-bond0:8: MACADDR: '02:00:00:00:00' is not a MAC address; expected six hex bytes separated by colons, e.g. 02:00:00:00:00:01"),
        bond("BONDING_MASTER not yes/no", "BONDING_MASTER=yes", "BONDING_MASTER=sure",
            "{d}/ifcfg-bond0:10: BONDING_MASTER: 'sure' is not a yes/no value; expected yes or no"),
        bond("TYPE contradicts", "TYPE=Bond", "TYPE=Ethernet",
            "{d}/ifcfg-bond0:2: TYPE: TYPE=Ethernet but BONDING_MASTER makes bond0 a bond; expected TYPE=Bond (or no TYPE)"),
        bond("bond as a slave", "TYPE=Bond", "TYPE=Bond\nMASTER=bond1",
            "{d}/ifcfg-bond0:3: MASTER: bond0 is a bond and cannot be enslaved to bond1 (nested bonds are not supported); expected no MASTER= in a bond's file"),
        bond("invalid DEVICE", "DEVICE=bond0", "DEVICE=bond0/../eth0",
            "{d}/ifcfg-bond0:1: DEVICE: 'bond0/../eth0' is not a valid interface name; expected 1 to 15 characters, without '/', ':' or spaces"),
        // --- slaves ---
        file("SLAVE without MASTER", "ifcfg-eth1", "DEVICE=eth1\nSLAVE=yes\n",
            "{d}/ifcfg-eth1:2: SLAVE: SLAVE=yes without MASTER; expected MASTER=<bond> next to SLAVE=yes"),
        file("MASTER names no bond", "ifcfg-eth1", "DEVICE=eth1\nMASTER=bond9\nSLAVE=yes\n",
            "{d}/ifcfg-eth1:2: MASTER: no ifcfg file configures a bond named bond9; expected one of the bonds: bond0"),
        file("MASTER is not a bond", "ifcfg-eth1", "DEVICE=eth1\nMASTER=eth0\nSLAVE=yes\n",
            "{d}/ifcfg-eth1:2: MASTER: eth0 is not a bond ({d}/ifcfg-eth0 has no TYPE=Bond, BONDING_MASTER=yes or BONDING_OPTS); expected one of the bonds: bond0"),
        file("duplicate DEVICE", "ifcfg-eth1", "DEVICE=eth0\nMASTER=bond0\nSLAVE=yes\n",
            "{d}/ifcfg-eth1:1: DEVICE: eth0 is also configured by {d}/ifcfg-eth0; expected one ifcfg file per device"),
        file("slave with DHCP", "ifcfg-eth1", "DEVICE=eth1\nBOOTPROTO=dhcp\nMASTER=bond0\nSLAVE=yes\n",
            "{d}/ifcfg-eth1:2: BOOTPROTO: BOOTPROTO=dhcp on a slave; expected BOOTPROTO=none on a slave"),
        file("slave of another type", "ifcfg-eth1", "DEVICE=eth1\nTYPE=Infiniband\nMASTER=bond0\nSLAVE=yes\n",
            "{d}/ifcfg-eth1:2: TYPE: a slave of type Infiniband; expected TYPE=Ethernet (or no TYPE) on a slave"),
        Case { name: "value not UTF-8", bond: vec![], files: vec![("ifcfg-eth1", b"DEVICE=eth1\n# caf\xe9 is fine in a comment\nNAME=caf\xe9\nMASTER=bond0\nSLAVE=yes\n")], modprobe: None,
            expect: "{d}/ifcfg-eth1:3: NAME: the value is not valid UTF-8 text; expected UTF-8 text (comments may use any encoding)" },
        // --- modprobe: the module would refuse to load ---
        modprobe("module mode invalid", "alias bond0 bonding\noptions bonding mode=9 miimon=100\n",
            "{d}/bonding.conf:2: options bonding mode: the bonding module would refuse to load: Error: Invalid bonding mode \"9\"; expected {accepted:mode}"),
        modprobe("module miimon junk", "options bonding miimon=100ms\n",
            "{d}/bonding.conf:1: options bonding miimon: the bonding module would refuse to load: bonding: '100ms' invalid for parameter 'miimon'; expected {accepted:miimon}"),
        modprobe("module arp_validate without arp_interval", "options bonding mode=1 arp_validate=all\n",
            "{d}/bonding.conf:1: options bonding arp_validate: the bonding module would refuse to load: arp_validate requires arp_interval; expected {accepted:arp_validate}"),
    ]
}


#[test]
fn bad_configs_fail_with_their_message() {
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let mut b = seed_bond();
        for (from, to) in &c.bond {
            assert!(b.contains(from), "{}: seed text has no {from:?}", c.name);
            b = b.replacen(from, to, 1);
        }
        let slave0 = seed_slave(0);
        let slave1 = seed_slave(1);
        let mut files: Vec<(&str, &[u8])> =
            vec![("ifcfg-bond0", b.as_bytes()), ("ifcfg-eth0", slave0.as_bytes()), ("ifcfg-eth1", slave1.as_bytes())];
        for (n, t) in &c.files {
            files.retain(|(m, _)| m != n);
            files.push((n, t));
        }
        if let Some(m) = c.modprobe {
            files.push(("bonding.conf", m.as_bytes()));
        }
        let d = Scratch::with_bytes("bad", &files);
        let before = d.snapshot();
        let mp = if c.modprobe.is_some() { vec![d.file("bonding.conf")] } else { vec![] };
        let got = std::panic::catch_unwind(|| load_dir(&d.path, &mp));
        let want = expand(c.expect, &d.path.display().to_string());
        match got {
            Err(_) => failures.push(format!("{}: PANICKED", c.name)),
            Ok(Ok(_)) => failures.push(format!("{}: accepted, expected:\n    {want}", c.name)),
            Ok(Err(e)) if e.to_string() != want => {
                failures.push(format!("{}:\n    got:  {e}\n    want: {want}", c.name))
            }
            Ok(Err(_)) => {}
        }
        assert_eq!(d.snapshot(), before, "{}: files changed", c.name);
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
