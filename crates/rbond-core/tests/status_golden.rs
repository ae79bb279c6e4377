//! /proc/net/bonding rendering compared byte for byte with golden files.
//!
//! `golden/ref_*.txt` are the worked examples of bond_procfs.c output, copied verbatim; the other
//! files were written by hand from the bond_procfs.c: bond_info_show_master/bond_procfs.c: bond_info_show_slave templates (and IEEE 802.1AX-2020 6.4.2.3/bond_3ad.c: __get_link_speed, ad key for LACP numbers).

use rbond_core::status::{
    churn, ipv6_compressed, AdInfo, AggregatorInfo, BondStatus, LacpPduDetails, SlaveAdInfo,
    SlaveStatus,
};
use rbond_core::{Duplex, LinkState, MacAddr, Mode, XmitHashPolicy};
use std::net::{Ipv4Addr, Ipv6Addr};

const REF_RELEASE: &str = "6.8.0-45-generic";
const OWN_RELEASE: &str = "6.1.0-25-amd64";

fn mac(s: &str) -> MacAddr {
    MacAddr::parse(s).expect("test MAC")
}

/// A bond with the kernel defaults for `mode` and miimon 100.
fn bond(mode: Mode, release: &str) -> BondStatus {
    BondStatus {
        bond: "bond0".into(),
        release: release.into(),
        mode,
        fail_over_mac: "none",
        xmit_hash_policy: XmitHashPolicy::Layer2,
        tlb_dynamic_lb: true,
        primary: None,
        primary_reselect: "always",
        active_slave: None,
        mii_status_up: true,
        miimon: 100,
        updelay_ms: 0,
        downdelay_ms: 0,
        peer_notif_delay_ms: 0,
        arp_interval: 0,
        arp_missed_max: 2,
        arp_ip_targets: vec![],
        ns_ip6_targets: vec![],
        ad: None,
        options: Default::default(),
        lb: None,
        slaves: vec![],
    }
}

/// An up, full-duplex slave at `speed` Mb/s.
fn slave(name: &str, perm: &str, speed: u32) -> SlaveStatus {
    SlaveStatus {
        name: name.into(),
        mii_status: LinkState::Up,
        speed_mbps: Some(speed),
        duplex: Duplex::Full,
        link_failure_count: 0,
        perm_hwaddr: mac(perm),
        queue_id: 0,
        state: "active",
        ad: None,
        lacp_counters: None,
    }
}

fn pdu(prio: u16, sys: &str, key: u16, port: u16, state: u8) -> LacpPduDetails {
    LacpPduDetails {
        system_priority: prio,
        system_mac: mac(sys),
        key,
        port_priority: 255,
        port_number: port,
        port_state: state,
    }
}

fn assert_text(got: &str, want: &str, name: &str) {
    if got != want {
        // Show the first differing line: whitespace errors are invisible in a plain diff.
        for (i, (g, w)) in got.split('\n').zip(want.split('\n')).enumerate() {
            if g != w {
                panic!(
                    "{name}: line {} differs\n got: {g:?}\nwant: {w:?}\n--- got ---\n{got}",
                    i + 1
                );
            }
        }
        panic!(
            "{name}: lengths differ ({} vs {} bytes)\n--- got ---\n{got:?}",
            got.len(),
            want.len()
        );
    }
    // Structural rules of bonding.rst, checked on every golden as well.
    assert!(
        got.ends_with('\n') && !got.ends_with("\n\n"),
        "{name}: must end with exactly one newline"
    );
    assert!(!got.contains("\n\n\n"), "{name}: no double blank lines");
    for line in got.lines() {
        assert_eq!(
            line,
            line.trim_end(),
            "{name}: trailing whitespace in {line:?}"
        );
    }
}

// ---- bond_procfs.c output worked examples, verbatim -------------------------------------------------------

fn ref_active_backup() -> BondStatus {
    let mut b = bond(Mode::ActiveBackup, REF_RELEASE);
    b.primary = Some("eth0".into());
    b.primary_reselect = "failure";
    b.active_slave = Some("eth1".into());
    b.updelay_ms = 200;
    b.downdelay_ms = 200;
    let mut eth0 = slave("eth0", "52:54:00:aa:00:01", 1000);
    eth0.link_failure_count = 1;
    eth0.state = "backup";
    b.slaves = vec![eth0, slave("eth1", "52:54:00:aa:00:02", 1000)];
    b
}

#[test]
fn ref_a_active_backup_with_primary() {
    let got = ref_active_backup().render_proc(true);
    assert_text(
        &got,
        include_str!("golden/ref_ab_primary.txt"),
        "ref_ab_primary",
    );
    // Nothing in this mode depends on the reader's privileges.
    assert_eq!(got, ref_active_backup().render_proc(false));
}

fn ref_8023ad() -> BondStatus {
    let mut b = bond(Mode::Ieee8023ad, REF_RELEASE);
    b.xmit_hash_policy = XmitHashPolicy::Layer34;
    b.ad = Some(AdInfo {
        lacp_active: true,
        lacp_rate_fast: true,
        min_links: 0,
        ad_select: "stable",
        system_priority: 65535,
        system_mac: mac("52:54:00:aa:00:01"),
        active_aggregator: Some(AggregatorInfo {
            id: 1,
            num_ports: 2,
            actor_key: 15,
            partner_key: 15,
            partner_mac: mac("52:54:00:bb:00:01"),
        }),
    });
    for (i, perm) in ["52:54:00:aa:00:01", "52:54:00:aa:00:02"]
        .into_iter()
        .enumerate()
    {
        let port = i as u16 + 1;
        let mut s = slave(&format!("eth{i}"), perm, 10000);
        s.ad = Some(SlaveAdInfo {
            aggregator_id: Some(1),
            actor_churn_state: churn::NONE,
            partner_churn_state: churn::NONE,
            actor_churned_count: 0,
            partner_churned_count: 0,
            actor: pdu(65535, "52:54:00:aa:00:01", 15, port, 63),
            partner: pdu(65535, "52:54:00:bb:00:01", 15, port, 63),
        });
        b.slaves.push(s);
    }
    b
}

#[test]
fn ref_b_8023ad_privileged() {
    let got = ref_8023ad().render_proc(true);
    assert_text(
        &got,
        include_str!("golden/ref_ad_privileged.txt"),
        "ref_ad_privileged",
    );
}

#[test]
fn ad_unprivileged_hides_identity_aggregator_and_details() {
    let got = ref_8023ad().render_proc(false);
    assert_text(
        &got,
        include_str!("golden/ad_unprivileged.txt"),
        "ad_unprivileged",
    );
}

#[test]
fn ref_c_balance_xor() {
    let mut b = bond(Mode::BalanceXor, REF_RELEASE);
    b.xmit_hash_policy = XmitHashPolicy::Layer23;
    // Values that other modes print; xor must ignore them.
    b.primary = Some("eth0".into());
    b.active_slave = Some("eth0".into());
    b.fail_over_mac = "active";
    let mut eth0 = slave("eth0", "52:54:00:aa:00:01", 10000);
    eth0.link_failure_count = 3;
    eth0.queue_id = 2;
    b.slaves = vec![eth0];
    assert_text(
        &b.render_proc(true),
        include_str!("golden/ref_xor.txt"),
        "ref_xor",
    );
}

fn ref_arp() -> BondStatus {
    let mut b = bond(Mode::ActiveBackup, REF_RELEASE);
    b.active_slave = Some("eth0".into());
    b.miimon = 0;
    b.arp_interval = 1000;
    b.arp_missed_max = 2;
    b.arp_ip_targets = vec![
        Ipv4Addr::new(192, 168, 1, 1),
        Ipv4Addr::new(192, 168, 1, 254),
    ];
    b.slaves = vec![slave("eth0", "52:54:00:aa:00:01", 1000)];
    b
}

#[test]
fn ref_d_arp_monitor() {
    assert_text(
        &ref_arp().render_proc(true),
        include_str!("golden/ref_arp_monitor.txt"),
        "ref_arp_monitor",
    );
}

#[test]
fn ref_d_variants() {
    // One NS target: "form): 2001:db8::1".
    let mut b = ref_arp();
    b.ns_ip6_targets = vec!["2001:db8::1".parse().unwrap()];
    assert!(b
        .render_proc(true)
        .contains("\nNS IPv6 target/s (xx::xx form): 2001:db8::1\n"));
    // No ARP targets: the line ends right after "form):".
    b.arp_ip_targets.clear();
    assert!(b
        .render_proc(true)
        .contains("\nARP IP target/s (n.n.n.n form):\nNS IPv6"));
    // ARP lines need arp_interval > 0, even when targets are configured.
    let mut b = ref_arp();
    b.arp_interval = 0;
    b.miimon = 100;
    let text = b.render_proc(true);
    assert!(!text.contains("ARP"), "{text}");
    assert!(!text.contains("NS IPv6"), "{text}");
}

#[test]
fn ref_e_balance_alb() {
    let mut b = bond(Mode::BalanceAlb, REF_RELEASE);
    b.active_slave = Some("eth0".into());
    b.xmit_hash_policy = XmitHashPolicy::Layer34; // hidden while tlb_dynamic_lb=1
    b.slaves = vec![slave("eth0", "52:54:00:aa:00:01", 1000)];
    let got = b.render_proc(true);
    assert_text(&got, include_str!("golden/ref_alb.txt"), "ref_alb");

    // alb with tlb_dynamic_lb=0: the policy line follows the mode line.
    b.tlb_dynamic_lb = false;
    let want = got.replace(
        "Bonding Mode: adaptive load balancing\n",
        "Bonding Mode: adaptive load balancing\nTransmit Hash Policy: layer3+4 (1)\n",
    );
    assert_eq!(b.render_proc(true), want);
}

// ---- own examples --------------------------------------------------------------------------

#[test]
fn active_backup_without_primary_and_going_down() {
    let mut b = bond(Mode::ActiveBackup, OWN_RELEASE);
    // A reselect policy without an enslaved primary must not print the suffix.
    b.primary_reselect = "better";
    b.active_slave = Some("eth0".into());
    b.downdelay_ms = 300;
    b.peer_notif_delay_ms = 100;
    let mut eth1 = slave("eth1", "52:54:00:cc:00:02", 1000);
    eth1.mii_status = LinkState::Fail;
    eth1.link_failure_count = 2;
    eth1.state = "backup";
    b.slaves = vec![slave("eth0", "52:54:00:cc:00:01", 1000), eth1];
    assert_text(
        &b.render_proc(true),
        include_str!("golden/ab_no_primary.txt"),
        "ab_no_primary",
    );
}

fn ab_fail_over_mac_active() -> BondStatus {
    let mut b = bond(Mode::ActiveBackup, OWN_RELEASE);
    b.fail_over_mac = "active";
    b.primary = Some("eth1".into());
    b.primary_reselect = "always";
    b.active_slave = Some("eth1".into());
    b.miimon = 200;
    b.updelay_ms = 400;
    let mut eth0 = slave("eth0", "52:54:00:cc:01:01", 100);
    eth0.mii_status = LinkState::Back;
    eth0.duplex = Duplex::Half;
    eth0.link_failure_count = 1;
    eth0.state = "backup";
    let mut eth1 = slave("eth1", "52:54:00:cc:01:02", 1000);
    eth1.queue_id = 1;
    b.slaves = vec![eth0, eth1];
    b
}

#[test]
fn active_backup_fail_over_mac_active() {
    let got = ab_fail_over_mac_active().render_proc(true);
    assert_text(
        &got,
        include_str!("golden/ab_fail_over_mac_active.txt"),
        "ab_fail_over_mac_active",
    );
    let mut b = ab_fail_over_mac_active();
    b.fail_over_mac = "follow";
    assert!(b.render_proc(true).starts_with(
        "Ethernet Channel Bonding Driver: v6.1.0-25-amd64\n\nBonding Mode: fault-tolerance (active-backup) (fail_over_mac follow)\n"
    ));
}

#[test]
fn active_backup_no_usable_slave() {
    let mut b = bond(Mode::ActiveBackup, OWN_RELEASE);
    b.mii_status_up = false;
    // Link loss keeps the cached speed/duplex (bond_procfs.c: bond_info_show_slave).
    let mut eth0 = slave("eth0", "52:54:00:cc:02:01", 10000);
    eth0.mii_status = LinkState::Down;
    eth0.link_failure_count = 1;
    eth0.state = "backup";
    // 0xFFFFFFFF (SPEED_UNKNOWN) prints Unknown for both lines even with a known duplex.
    let mut eth1 = slave("eth1", "52:54:00:cc:02:02", u32::MAX);
    eth1.mii_status = LinkState::Down;
    eth1.link_failure_count = 1;
    eth1.state = "backup";
    b.slaves = vec![eth0, eth1];
    assert_text(
        &b.render_proc(true),
        include_str!("golden/ab_no_usable_slave.txt"),
        "ab_no_usable_slave",
    );
}

fn ad_no_active_aggregator() -> BondStatus {
    let mut b = bond(Mode::Ieee8023ad, OWN_RELEASE);
    b.bond = "bond1".into();
    b.mii_status_up = false;
    b.ad = Some(AdInfo {
        lacp_active: true,
        lacp_rate_fast: false,
        min_links: 1,
        ad_select: "bandwidth",
        system_priority: 100,
        system_mac: mac("02:00:00:00:00:10"),
        active_aggregator: None,
    });
    let mut eth0 = slave("eth0", "52:54:00:cc:03:01", 1000);
    eth0.mii_status = LinkState::Down;
    // A port not attached to any aggregator: N/A ends the section even though the rest of
    // the per-port values are known.
    eth0.ad = Some(SlaveAdInfo {
        aggregator_id: None,
        actor_churn_state: churn::MONITORING,
        partner_churn_state: churn::MONITORING,
        actor_churned_count: 0,
        partner_churned_count: 0,
        actor: pdu(100, "02:00:00:00:00:10", 0, 1, 0x45),
        partner: pdu(65535, "00:00:00:00:00:00", 1, 1, 0),
    });
    let mut eth1 = slave("eth1", "52:54:00:cc:03:02", 0);
    eth1.mii_status = LinkState::Down;
    eth1.speed_mbps = None;
    eth1.duplex = Duplex::Unknown;
    b.slaves = vec![eth0, eth1];
    b
}

#[test]
fn ad_without_active_aggregator() {
    let b = ad_no_active_aggregator();
    assert_text(
        &b.render_proc(true),
        include_str!("golden/ad_no_active_aggregator.txt"),
        "ad_no_active_aggregator",
    );
    // The "no active aggregator" line is part of the CAP_NET_ADMIN-only block.
    let unpriv = b.render_proc(false);
    assert!(!unpriv.contains("no active aggregator"), "{unpriv}");
    assert!(!unpriv.contains("System"), "{unpriv}");
    assert!(unpriv.contains(
        "\nAggregator selection policy (ad_select): bandwidth\n\nSlave Interface: eth0\n"
    ));
    assert_eq!(unpriv.matches("Aggregator ID: N/A\n").count(), 2);
}

#[test]
fn ad_no_lacp_partner() {
    let sys = "52:54:00:cc:04:01";
    let mut b = bond(Mode::Ieee8023ad, OWN_RELEASE);
    b.xmit_hash_policy = XmitHashPolicy::Layer34;
    b.ad = Some(AdInfo {
        lacp_active: true,
        lacp_rate_fast: false,
        min_links: 0,
        ad_select: "stable",
        system_priority: 65535,
        system_mac: mac(sys),
        active_aggregator: Some(AggregatorInfo {
            id: 1,
            num_ports: 1,
            actor_key: 15,
            partner_key: 1,
            partner_mac: MacAddr::ZERO,
        }),
    });
    // bond_procfs.c output "No LACP partner", after 60 s: each port is its own aggregator; the active one's
    // port is in sync (77 = 0x4D), the other not (69 = 0x45) and so churned.
    let partner = pdu(65535, "00:00:00:00:00:00", 1, 1, 0);
    let mut eth0 = slave("eth0", sys, 10000);
    eth0.ad = Some(SlaveAdInfo {
        aggregator_id: Some(1),
        actor_churn_state: churn::NONE,
        partner_churn_state: churn::CHURNED,
        actor_churned_count: 0,
        partner_churned_count: 1,
        actor: pdu(65535, sys, 15, 1, 0x4D),
        partner: partner.clone(),
    });
    let mut eth1 = slave("eth1", "52:54:00:cc:04:02", 10000);
    eth1.ad = Some(SlaveAdInfo {
        aggregator_id: Some(2),
        actor_churn_state: churn::CHURNED,
        partner_churn_state: churn::CHURNED,
        actor_churned_count: 1,
        partner_churned_count: 1,
        actor: pdu(65535, sys, 15, 2, 0x45),
        partner,
    });
    b.slaves = vec![eth0, eth1];
    assert_text(
        &b.render_proc(true),
        include_str!("golden/ad_no_partner.txt"),
        "ad_no_partner",
    );
}

#[test]
fn balance_rr_going_back() {
    let mut b = bond(Mode::BalanceRr, OWN_RELEASE);
    // Mode 0 prints neither hash policy nor primary/active lines.
    b.xmit_hash_policy = XmitHashPolicy::Layer34;
    b.primary = Some("eth0".into());
    b.active_slave = Some("eth0".into());
    b.updelay_ms = 500;
    let mut eth1 = slave("eth1", "52:54:00:cc:05:02", 25000);
    eth1.mii_status = LinkState::Back;
    eth1.link_failure_count = 4;
    eth1.queue_id = 3;
    b.slaves = vec![slave("eth0", "52:54:00:cc:05:01", 25000), eth1];
    assert_text(&b.render_proc(true), include_str!("golden/rr.txt"), "rr");
}

#[test]
fn broadcast_arp_monitor_forces_mii_zero_and_unknown_speed() {
    let mut b = bond(Mode::Broadcast, OWN_RELEASE);
    // The caller passes stale MII values; with the ARP monitor the kernel shows all four as 0.
    b.miimon = 100;
    b.updelay_ms = 200;
    b.downdelay_ms = 200;
    b.peer_notif_delay_ms = 100;
    b.arp_interval = 500;
    b.arp_missed_max = 3;
    b.arp_ip_targets = vec![Ipv4Addr::new(198, 18, 0, 1)];
    b.ns_ip6_targets = vec![
        "2001:2::1".parse().unwrap(),
        "2001:2:0:1::fe".parse().unwrap(),
    ];
    let mut eth1 = slave("eth1", "52:54:00:cc:06:02", 0);
    eth1.mii_status = LinkState::Down;
    eth1.speed_mbps = None;
    eth1.duplex = Duplex::Unknown;
    eth1.link_failure_count = 1;
    b.slaves = vec![slave("eth0", "52:54:00:cc:06:01", 1000), eth1];
    assert_text(
        &b.render_proc(true),
        include_str!("golden/broadcast_arp.txt"),
        "broadcast_arp",
    );
}

#[test]
fn balance_tlb_with_primary() {
    let mut b = bond(Mode::BalanceTlb, OWN_RELEASE);
    b.fail_over_mac = "active"; // only shown in active-backup
    b.primary = Some("eth1".into());
    b.primary_reselect = "better";
    b.active_slave = Some("eth1".into());
    b.slaves = vec![
        slave("eth0", "52:54:00:cc:07:01", 1000),
        slave("eth1", "52:54:00:cc:07:02", 10000),
    ];
    assert_text(&b.render_proc(true), include_str!("golden/tlb.txt"), "tlb");
}

#[test]
fn balance_tlb_static_shows_hash_policy() {
    let mut b = bond(Mode::BalanceTlb, OWN_RELEASE);
    b.tlb_dynamic_lb = false;
    b.xmit_hash_policy = XmitHashPolicy::Encap34;
    b.active_slave = Some("eth0".into());
    b.slaves = vec![slave("eth0", "52:54:00:cc:08:01", 1000)];
    assert_text(
        &b.render_proc(true),
        include_str!("golden/tlb_static.txt"),
        "tlb_static",
    );
}

// ---- line-level rules ----------------------------------------------------------------------

#[test]
fn hash_policy_line_per_mode_and_number() {
    for mode in Mode::ALL {
        for dynamic in [true, false] {
            let mut b = bond(mode, OWN_RELEASE);
            b.tlb_dynamic_lb = dynamic;
            b.xmit_hash_policy = XmitHashPolicy::VlanSrcMac;
            let shown = b
                .render_proc(true)
                .contains("\nTransmit Hash Policy: vlan+srcmac (5)\n");
            let want =
                matches!(mode, Mode::BalanceXor | Mode::Ieee8023ad) || (mode.is_tlb() && !dynamic);
            assert_eq!(shown, want, "{mode:?} tlb_dynamic_lb={dynamic}");
        }
    }
    let want = [
        "layer2 (0)",
        "layer3+4 (1)",
        "layer2+3 (2)",
        "encap2+3 (3)",
        "encap3+4 (4)",
        "vlan+srcmac (5)",
    ];
    for (p, w) in XmitHashPolicy::ALL.into_iter().zip(want) {
        let mut b = bond(Mode::BalanceXor, OWN_RELEASE);
        b.xmit_hash_policy = p;
        assert!(
            b.render_proc(true)
                .contains(&format!("\nTransmit Hash Policy: {w}\n")),
            "{p:?}"
        );
    }
}

#[test]
fn primary_lines_only_in_modes_1_5_6() {
    for mode in Mode::ALL {
        let mut b = bond(mode, OWN_RELEASE);
        b.primary = Some("eth0".into());
        b.active_slave = Some("eth0".into());
        let text = b.render_proc(true);
        let shown = text.contains("\nPrimary Slave: eth0 (primary_reselect always)\nCurrently Active Slave: eth0\nMII Status: up\n");
        assert_eq!(
            shown,
            matches!(
                mode,
                Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb
            ),
            "{mode:?}"
        );
        assert_eq!(text.contains("Primary Slave"), shown, "{mode:?}");
        // Every mode prints its text and only 802.3ad has the LACP section.
        assert!(
            text.contains(&format!("\nBonding Mode: {}\n", mode.proc_text())),
            "{mode:?}"
        );
    }
}

#[test]
fn lacp_active_off_and_mii_zero_delays() {
    let mut b = ref_8023ad();
    b.ad.as_mut().unwrap().lacp_active = false;
    b.ad.as_mut().unwrap().ad_select = "count";
    assert!(b.render_proc(true).contains("\nLACP active: off\nLACP rate: fast\nMin links: 0\nAggregator selection policy (ad_select): count\n"));
    // miimon 0 without ARP: the stored delays multiply by 0.
    let mut b = bond(Mode::BalanceRr, OWN_RELEASE);
    b.miimon = 0;
    b.updelay_ms = 200;
    let text = b.render_proc(true);
    assert!(
        text.contains("\nMII Polling Interval (ms): 0\nUp Delay (ms): 0\n"),
        "{text}"
    );
}

#[test]
fn speed_duplex_unknown_pairs() {
    let cases: [(Option<u32>, Duplex, &str); 6] = [
        (Some(1000), Duplex::Full, "Speed: 1000 Mbps\nDuplex: full\n"),
        (Some(10), Duplex::Half, "Speed: 10 Mbps\nDuplex: half\n"),
        (Some(0), Duplex::Full, "Speed: Unknown\nDuplex: Unknown\n"),
        (
            Some(u32::MAX),
            Duplex::Half,
            "Speed: Unknown\nDuplex: Unknown\n",
        ),
        (None, Duplex::Full, "Speed: Unknown\nDuplex: Unknown\n"),
        (
            Some(1000),
            Duplex::Unknown,
            "Speed: Unknown\nDuplex: Unknown\n",
        ),
    ];
    for (speed, duplex, want) in cases {
        let mut b = bond(Mode::BalanceRr, OWN_RELEASE);
        let mut s = slave("eth0", "52:54:00:cc:09:01", 0);
        s.speed_mbps = speed;
        s.duplex = duplex;
        b.slaves = vec![s];
        let text = b.render_proc(true);
        assert!(
            text.contains(&format!("\nMII Status: up\n{want}Link Failure Count: 0\n")),
            "{speed:?} {duplex:?}: {text}"
        );
    }
}

#[test]
fn ipv6_like_kernel_pi6c() {
    let cases = [
        ("2001:2::1", "2001:2::1"),
        ("2001:2:0:1:0:0:0:fe", "2001:2:0:1::fe"),
        // Ties: the first run wins. A single zero word stays.
        ("2001:2:0:0:1:0:0:1", "2001:2::1:0:0:1"),
        ("2001:2:0:1:1:1:1:1", "2001:2:0:1:1:1:1:1"),
        ("::", "::"),
        ("::1", "::1"),
        ("2001:2::", "2001:2::"),
        ("2001:2:ABCD:EF00::", "2001:2:abcd:ef00::"),
        ("::ffff:198.18.0.1", "::ffff:198.18.0.1"),
        // ISATAP interface ids keep the IPv4 tail as a dotted quad.
        ("fe80::5efe:c612:1", "fe80::5efe:198.18.0.1"),
        ("fe80::200:5efe:c612:1", "fe80::200:5efe:198.18.0.1"),
        ("2001:2:0:0:0:0:c612:1", "2001:2::c612:1"),
    ];
    for (input, want) in cases {
        let a: Ipv6Addr = input.parse().unwrap();
        assert_eq!(ipv6_compressed(&a), want, "{input}");
    }
}

// ---- JSON ----------------------------------------------------------------------------------

#[test]
fn json_of_active_backup() {
    let v = serde_json::to_value(ab_fail_over_mac_active()).unwrap();
    assert_eq!(v["bond"], "bond0");
    assert_eq!(v["release"], OWN_RELEASE);
    assert_eq!(v["mode"], "active-backup");
    assert_eq!(v["fail_over_mac"], "active");
    assert_eq!(v["xmit_hash_policy"], "layer2");
    assert_eq!(v["tlb_dynamic_lb"], true);
    assert_eq!(v["primary"], "eth1");
    assert_eq!(v["primary_reselect"], "always");
    assert_eq!(v["active_slave"], "eth1");
    assert_eq!(v["mii_status_up"], true);
    assert_eq!(v["miimon"], 200);
    assert_eq!(v["updelay_ms"], 400);
    assert_eq!(v["arp_interval"], 0);
    assert_eq!(v["arp_ip_targets"], serde_json::json!([]));
    assert!(v["ad"].is_null());
    let s0 = &v["slaves"][0];
    assert_eq!(s0["name"], "eth0");
    assert_eq!(s0["mii_status"], "back");
    assert_eq!(s0["speed_mbps"], 100);
    assert_eq!(s0["duplex"], "half");
    assert_eq!(s0["link_failure_count"], 1);
    assert_eq!(s0["perm_hwaddr"], "52:54:00:cc:01:01");
    assert_eq!(s0["state"], "backup");
    assert_eq!(v["slaves"][1]["state"], "active");
    assert_eq!(v["slaves"][1]["queue_id"], 1);
    assert_eq!(v["slaves"].as_array().unwrap().len(), 2);
}

#[test]
fn json_of_8023ad_and_arp() {
    let v = serde_json::to_value(ref_8023ad()).unwrap();
    assert_eq!(v["mode"], "802.3ad");
    assert_eq!(v["xmit_hash_policy"], "layer3+4");
    assert!(v["primary"].is_null());
    let ad = &v["ad"];
    assert_eq!(ad["lacp_rate_fast"], true);
    assert_eq!(ad["system_mac"], "52:54:00:aa:00:01");
    assert_eq!(ad["active_aggregator"]["num_ports"], 2);
    assert_eq!(ad["active_aggregator"]["partner_mac"], "52:54:00:bb:00:01");
    let s1 = &v["slaves"][1]["ad"];
    assert_eq!(s1["aggregator_id"], 1);
    assert_eq!(s1["actor_churn_state"], "none");
    assert_eq!(s1["actor"]["port_number"], 2);
    assert_eq!(s1["actor"]["port_state"], 63);
    assert_eq!(s1["partner"]["system_mac"], "52:54:00:bb:00:01");

    let mut b = ref_arp();
    b.ns_ip6_targets = vec!["2001:2::1".parse().unwrap()];
    let v = serde_json::to_value(b).unwrap();
    assert_eq!(
        v["arp_ip_targets"],
        serde_json::json!(["192.168.1.1", "192.168.1.254"])
    );
    assert_eq!(v["ns_ip6_targets"], serde_json::json!(["2001:2::1"]));
}
