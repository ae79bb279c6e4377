//! 802.3ad through the `Bond` (mode component + LACP engine), two core bonds back to back on a
//! virtual clock: slave flags (bond_main.c: bond_should_deliver_exact_match), carrier and min_links (IEEE 802.1AX-2020 6.4.14-6.4.17; bond_3ad.c: ad_agg_selection_logic), status and JSON (bond_procfs.c),
//! option changes reaching the engine, and rbond's lacp_fallback.

mod support;

use rbond_core::bond::Bond;
use rbond_core::{MacAddr, SlaveId};
use support::{down, up, Net};

/// A bond in 802.3ad with `opts`, slaves with ids base.. named prefix0.., up at 1000 Mb/s.
fn ad_bond(name: &str, mac_last: u8, base: u32, prefix: &str, n: usize, opts: &[(&str, &str)]) -> Bond {
    let mut b = Bond::new(name, MacAddr([0x02, 0x00, 0x5e, 0xb0, 0, mac_last]), "6.1.0-25-amd64");
    b.set_option("mode", "802.3ad", 0).unwrap();
    for (k, v) in opts {
        b.set_option(k, v, 0).unwrap_or_else(|e| panic!("{k}={v}: {e:?}"));
    }
    for i in 0..n {
        let perm = MacAddr([0x02, 0x00, 0x5e, mac_last, 0, i as u8 + 1]);
        b.enslave(SlaveId(base + i as u32), &format!("{prefix}{i}"), perm, up(1000), 0).unwrap();
    }
    b.set_admin_up(true, 0);
    b
}

fn pair(n: usize, opts: &[(&str, &str)]) -> Net {
    let l = ad_bond("bond0", 1, 0, "eth", n, opts);
    let r = ad_bond("po0", 2, 100, "swp", n, opts);
    let cables: Vec<(u32, u32)> = (0..n as u32).map(|i| (i, 100 + i)).collect();
    Net::new(l, r, &cables)
}

#[test]
fn one_aggregator_with_every_port_flags_status_and_json() {
    let mut net = pair(3, &[("lacp_rate", "fast")]);
    net.run(5_000);
    for b in [&net.l, &net.r] {
        assert_eq!(b.tx_slaves().len(), 3, "{}: every port distributes", b.name());
        assert!(b.carrier());
        for s in b.slaves() {
            assert_eq!((s.backup, s.inactive), (false, false), "{}: bond_main.c: bond_should_deliver_exact_match flags", s.name);
        }
    }
    let st = net.l.status();
    let ad = st.ad.as_ref().unwrap();
    let agg = ad.active_aggregator.as_ref().expect("an active aggregator");
    assert_eq!(agg.num_ports, 3);
    assert_eq!(agg.partner_mac, net.r.mac(), "the partner's system id is its bond MAC");
    assert_eq!(ad.system_mac, net.l.mac());
    for s in &st.slaves {
        let sad = s.ad.as_ref().unwrap();
        assert_eq!(sad.aggregator_id, Some(agg.id));
        assert_eq!(sad.actor.port_state & 0x3c, 0x3c, "sync, collecting, distributing, aggregation");
        assert_eq!(sad.partner.system_mac, net.r.mac());
        let c = s.lacp_counters.as_ref().unwrap();
        assert!(c.lacpdu_rx >= 4 && c.lacpdu_tx >= 4, "{}: {c:?}", s.name);
        assert_eq!(c.bad_pdu_rx, 0);
    }
    let text = st.render_proc(true);
    assert!(text.contains(&format!("\tPartner Mac Address: {}\n", net.r.mac())), "{text}");
    assert!(text.contains("\tNumber of ports: 3\n"), "{text}");
    let json = serde_json::to_value(&st).unwrap();
    assert!(json["slaves"][0]["lacp_counters"]["lacpdu_rx"].as_u64().unwrap() >= 4);
    assert!(!text.contains("lacpdu"), "counters are JSON only");
}

#[test]
fn cable_pull_leaves_and_plug_rejoins() {
    let mut net = pair(2, &[("lacp_rate", "fast")]);
    net.run(5_000);
    assert_eq!(net.l.tx_slaves(), &[SlaveId(0), SlaveId(1)]);
    net.pull(0);
    assert_eq!(net.l.tx_slaves(), &[SlaveId(1)], "the pulled port leaves at once");
    assert!(net.l.carrier());
    assert!(net.l.slave(SlaveId(0)).unwrap().inactive);
    net.plug(0, 100);
    net.run(5_000);
    assert_eq!(net.l.tx_slaves(), &[SlaveId(0), SlaveId(1)], "the port rejoins");
    assert_eq!(net.l.status().ad.unwrap().active_aggregator.unwrap().num_ports, 2);
}

#[test]
fn min_links_drives_the_carrier() {
    let mut net = pair(2, &[("lacp_rate", "fast"), ("min_links", "2")]);
    net.run(5_000);
    assert!(net.l.carrier());
    net.pull(1);
    assert!(!net.l.carrier(), "1 port < min_links 2");
    net.l.set_option("min_links", "1", net.now).unwrap();
    assert!(net.l.carrier(), "a min_links change reaches the engine at once");
}

#[test]
fn option_writes_reach_the_engine() {
    let mut net = pair(2, &[("lacp_rate", "fast")]);
    net.run(5_000);
    // ad_actor_sys_prio and ad_actor_system may change while up: the partner sees the new
    // identity and the aggregator re-forms with it.
    net.l.set_option("ad_actor_system", "02:00:5e:aa:bb:cc", net.now).unwrap();
    net.l.set_option("ad_actor_sys_prio", "100", net.now).unwrap();
    net.run(6_000);
    let st = net.r.status();
    assert_eq!(st.ad.as_ref().unwrap().active_aggregator.as_ref().unwrap().partner_mac, MacAddr::parse("02:00:5e:aa:bb:cc").unwrap());
    assert_eq!(st.slaves[0].ad.as_ref().unwrap().partner.system_priority, 100);
    assert_eq!(net.l.status().ad.unwrap().system_priority, 100);
    assert_eq!(net.l.tx_slaves().len(), 2);
}

#[test]
fn lacp_fallback_runs_active_backup_without_partner_and_returns() {
    let l = ad_bond("bond0", 1, 0, "eth", 2, &[("lacp_rate", "fast"), ("lacp_fallback", "active-backup")]);
    assert_eq!(l.show("lacp_fallback").unwrap(), "active-backup 1");
    let r = ad_bond("po0", 2, 100, "swp", 2, &[("lacp_rate", "fast")]);
    // No cables yet: the left bond hears nobody.
    let mut net = Net::new(l, r, &[]);
    net.run(8_000);
    assert_eq!(net.l.tx_slaves(), &[SlaveId(0)], "the first up port carries everything");
    assert!(net.l.carrier());
    let s1 = net.l.slave(SlaveId(1)).unwrap();
    assert!(s1.backup && s1.inactive);
    assert!(net.logs.iter().any(|l| l.contains("lacp_fallback: no 802.3ad partner")), "{:?}", net.logs);
    // The fallback port keeps its role while up; when it fails the next up port takes over.
    net.l.link_observed(SlaveId(0), down(), net.now);
    net.shuttle();
    assert_eq!(net.l.tx_slaves(), &[SlaveId(1)]);
    net.l.link_observed(SlaveId(0), up(1000), net.now);
    net.run(1_000);
    assert_eq!(net.l.tx_slaves(), &[SlaveId(1)], "no fail-back while the current port is up");
    // The switch ports get LACP (they flap as a switch reconfigures them) and the partner
    // speaks: back to LACP, one aggregator over both ports.
    for i in 0..2 {
        net.l.link_observed(SlaveId(i), down(), net.now);
        net.r.link_observed(SlaveId(100 + i), down(), net.now);
    }
    net.run(200);
    net.plug(0, 100);
    net.plug(1, 101);
    net.run(6_000);
    assert_eq!(net.l.tx_slaves(), &[SlaveId(0), SlaveId(1)], "{}\n{}\n{:?}", net.l.status().render_proc(true), net.r.status().render_proc(true), net.logs);
    assert!(net.logs.iter().any(|l| l.contains("back to LACP")), "{:?}", net.logs);
    // Without the option, the kernel's behaviour: one individual port's aggregator.
    let l = ad_bond("bond0", 1, 0, "eth", 2, &[("lacp_rate", "fast")]);
    let r = ad_bond("po0", 2, 100, "swp", 2, &[]);
    let mut net = Net::new(l, r, &[]);
    net.run(8_000);
    assert_eq!(net.l.tx_slaves().len(), 1);
}

#[test]
fn lacp_fallback_and_tx_redundancy_are_mode_4_options() {
    let mut b = Bond::new("bond0", MacAddr([2, 0, 0x5e, 0, 0, 1]), "6.1.0-25-amd64");
    b.set_option("mode", "active-backup", 0).unwrap();
    for opt in ["lacp_fallback", "lacp_tx_redundancy"] {
        let e = b.set_option(opt, "1", 0).unwrap_err();
        assert!(
            e.lines.iter().any(|l| l.contains(&format!("option {opt}: mode dependency failed, not supported in mode active-backup(1)"))),
            "{e:?}"
        );
    }
    b.set_option("mode", "802.3ad", 0).unwrap();
    b.set_option("lacp_fallback", "active-backup", 0).unwrap();
    b.set_option("lacp_tx_redundancy", "on", 0).unwrap();
    assert_eq!(b.show("lacp_tx_redundancy").unwrap(), "on 1");
    assert!(b.set_option("lacp_fallback", "2", 0).is_err());
}

#[test]
fn tx_redundancy_sends_three_lacpdus_per_second() {
    for (red, lo, hi) in [("off", 9, 12), ("on", 28, 32)] {
        let mut net = pair(1, &[("lacp_rate", "fast"), ("lacp_tx_redundancy", red)]);
        net.run(5_000);
        net.left_sent.clear();
        net.run(10_000);
        let n = net.left_sent.len();
        assert!((lo..=hi).contains(&n), "lacp_tx_redundancy {red}: {n} LACPDUs in 10 s");
    }
}

#[test]
fn short_flap_of_the_second_port_rejoins() {
    for gap in [50, 200, 500, 1500] {
        let mut net = pair(2, &[("lacp_rate", "fast")]);
        net.run(5_000);
        let c = net.cables.remove(1);
        net.l.link_observed(SlaveId(1), down(), net.now);
        net.r.link_observed(SlaveId(101), down(), net.now);
        net.run(gap);
        net.plug(c.0, c.1);
        net.run(5_000);
        assert_eq!(net.l.tx_slaves(), &[SlaveId(0), SlaveId(1)], "gap {gap}\n{}", net.l.status().render_proc(true));
        assert_eq!(net.r.tx_slaves(), &[SlaveId(100), SlaveId(101)], "gap {gap}");
    }
}

/// One direction of a link goes silent (the right side's LACPDUs on cable 0 are lost, the
/// carrier stays up). The left port expires within 3 s and leaves distribution; when it
/// defaults (3 s later) it tells the right side at once, which stops distributing on that
/// link too. Whatever the phase of the periodic timers when the silence starts.
#[test]
fn one_way_silence_expires_then_both_ends_stop_using_the_link() {
    for start in (3_000..6_000).step_by(130) {
        let mut net = pair(3, &[("lacp_rate", "fast")]);
        net.run(start);
        assert_eq!(net.r.tx_slaves().len(), 3);
        net.mute_right.push(100);
        let t0 = net.now;
        let (mut left_out, mut right_out) = (None, None);
        while net.now < t0 + 10_000 {
            net.run(10);
            if left_out.is_none() && !net.l.tx_slaves().contains(&SlaveId(0)) {
                left_out = Some(net.now - t0);
            }
            if right_out.is_none() && !net.r.tx_slaves().contains(&SlaveId(100)) {
                right_out = Some(net.now - t0);
            }
        }
        let (l, r) = (left_out.expect("left port leaves"), right_out.expect("right port leaves"));
        assert!(l <= 3_000, "start {start}: left out after {l} ms");
        assert!(r <= l + 3_200, "start {start}: right out after {r} ms, left after {l} ms");
        assert_eq!(net.l.tx_slaves(), &[SlaveId(1), SlaveId(2)]);
    }
}

/// Releasing a port sends a final LACPDU (Synchronization, Collecting, Distributing cleared,
/// `bond_3ad_unbind_slave`): the partner stops distributing on that link at once, not after
/// its timeout.
#[test]
fn a_released_port_tells_its_partner() {
    let mut net = pair(2, &[]); // slow rate: a timeout would take 90 s
    net.run(5_000);
    assert_eq!(net.r.tx_slaves().len(), 2);
    let sent = net.left_sent.len();
    net.l.release(SlaveId(0), net.now);
    net.shuttle();
    assert_eq!(net.left_sent.len(), sent + 1, "one final LACPDU");
    net.run(300);
    assert_eq!(net.r.tx_slaves(), &[SlaveId(101)]);
    assert_eq!(net.l.tx_slaves(), &[SlaveId(1)]);
}
