//! Bonding options against bond_options.c : value tables (bonding.rst, Bonding Driver Options), parsing and
//! refusals (bond_options.c: bond_opt_parse, bond_opt_check_deps), side effects (bond_options.c option setters; bond_check_params), sysfs read-back (bond_sysfs.c) and module-parameter loads (bond_options.c option setters; bond_check_params).
//!
//! The expected values are written out here from the reference, independently of
//! `options/table.rs`, so that a wrong row in the table fails a test.

use rbond_core::options::{
    def, lookup, parse_table_value, ArpValidate, BondOptions, Errno, LacpRate, ModuleParams, Opt, OptError,
    PrimaryReselect, SetContext, Syntax, OPTIONS,
};
use rbond_core::{MacAddr, Mode, XmitHashPolicy};
use std::net::Ipv4Addr;

const INT_MAX: u64 = i32::MAX as u64;

const DOWN: SetContext = SetContext { has_slaves: false, is_up: false };
const UP: SetContext = SetContext { has_slaves: false, is_up: true };
const SLAVES: SetContext = SetContext { has_slaves: true, is_up: false };
const SLAVES_UP: SetContext = SetContext { has_slaves: true, is_up: true };

const MODE_NAMES: [&str; 7] =
    ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];
const ALL: &[u8] = &[0, 1, 2, 3, 4, 5, 6];

/// One row of bonding.rst, Bonding Driver Options for an option with a value table.
struct Spec {
    name: &'static str,
    /// Every name the table gives, with its number (keywords off/minval/maxval/default too).
    names: &'static [(&'static str, u64)],
    /// `[minval, maxval]` when the table has a maxval.
    range: Option<(u64, u64)>,
    /// What `default` gives; None: `default` is refused.
    default: Option<u64>,
    modes: &'static [u8],
    needs_down: bool,
    needs_no_slaves: bool,
    /// Read back as `<name> <number>` (bond_sysfs.c) rather than a decimal.
    pair: bool,
}

const fn spec(
    name: &'static str,
    names: &'static [(&'static str, u64)],
    range: Option<(u64, u64)>,
    default: Option<u64>,
    modes: &'static [u8],
) -> Spec {
    Spec { name, names, range, default, modes, needs_down: false, needs_no_slaves: false, pair: false }
}
const fn down(mut s: Spec) -> Spec {
    s.needs_down = true;
    s
}
const fn noslv(mut s: Spec) -> Spec {
    s.needs_no_slaves = true;
    s
}
const fn pair(mut s: Spec) -> Spec {
    s.pair = true;
    s
}

const INTMAX_NAMES: &[(&str, u64)] = &[("off", 0), ("maxval", INT_MAX)];
const ON_OFF: &[(&str, u64)] = &[("off", 0), ("on", 1)];
const COUNT_255: &[(&str, u64)] = &[("off", 0), ("maxval", 255), ("default", 1)];

static SPECS: &[Spec] = &[
    noslv(down(pair(spec(
        "mode",
        &[
            ("balance-rr", 0),
            ("active-backup", 1),
            ("balance-xor", 2),
            ("broadcast", 3),
            ("802.3ad", 4),
            ("balance-tlb", 5),
            ("balance-alb", 6),
        ],
        None,
        Some(0),
        ALL,
    )))),
    spec("miimon", INTMAX_NAMES, Some((0, INT_MAX)), Some(0), ALL),
    spec("updelay", INTMAX_NAMES, Some((0, INT_MAX)), Some(0), ALL),
    spec("downdelay", INTMAX_NAMES, Some((0, INT_MAX)), Some(0), ALL),
    spec("peer_notif_delay", &[("off", 0), ("maxval", 300_000)], Some((0, 300_000)), None, ALL),
    spec("use_carrier", ON_OFF, None, Some(1), ALL),
    spec("arp_interval", INTMAX_NAMES, Some((0, INT_MAX)), Some(0), &[0, 1, 2, 3]),
    spec("arp_missed_max", &[("minval", 1), ("maxval", 255), ("default", 2)], Some((1, 255)), Some(2), &[0, 1, 2, 3]),
    pair(spec(
        "arp_validate",
        &[
            ("none", 0),
            ("active", 1),
            ("backup", 2),
            ("all", 3),
            ("filter", 4),
            ("filter_active", 5),
            ("filter_backup", 6),
        ],
        None,
        Some(0),
        &[0, 1, 2, 3],
    )),
    pair(spec("arp_all_targets", &[("any", 0), ("all", 1)], None, Some(0), ALL)),
    pair(spec("primary_reselect", &[("always", 0), ("better", 1), ("failure", 2)], None, Some(0), ALL)),
    noslv(pair(spec("fail_over_mac", &[("none", 0), ("active", 1), ("follow", 2)], None, Some(0), ALL))),
    pair(spec(
        "xmit_hash_policy",
        &[("layer2", 0), ("layer3+4", 1), ("layer2+3", 2), ("encap2+3", 3), ("encap3+4", 4), ("vlan+srcmac", 5)],
        None,
        Some(0),
        ALL,
    )),
    spec("packets_per_slave", &[("default", 1), ("maxval", 65535)], Some((0, 65535)), Some(1), &[0]),
    down(pair(spec("lacp_rate", &[("slow", 0), ("fast", 1)], None, None, &[4]))),
    down(pair(spec("lacp_active", ON_OFF, None, Some(1), &[4]))),
    down(pair(spec("ad_select", &[("stable", 0), ("bandwidth", 1), ("count", 2)], None, Some(0), ALL))),
    spec("min_links", INTMAX_NAMES, Some((0, INT_MAX)), Some(0), ALL),
    spec("ad_actor_sys_prio", &[("minval", 1), ("maxval", 65535)], Some((1, 65535)), Some(65535), &[4]),
    down(spec("ad_user_port_key", &[("minval", 0), ("maxval", 1023)], Some((0, 1023)), Some(0), &[4])),
    down(spec("coupled_control", ON_OFF, None, Some(1), &[4])),
    spec("broadcast_neighbor", ON_OFF, None, Some(0), &[4]),
    spec("num_grat_arp", COUNT_255, Some((0, 255)), Some(1), ALL),
    spec("num_unsol_na", COUNT_255, Some((0, 255)), Some(1), ALL),
    spec("all_slaves_active", ON_OFF, None, Some(0), ALL),
    spec("resend_igmp", COUNT_255, Some((0, 255)), Some(1), ALL),
    spec("lp_interval", &[("minval", 1), ("maxval", INT_MAX)], Some((1, INT_MAX)), Some(1), ALL),
    down(spec("tlb_dynamic_lb", ON_OFF, None, Some(1), &[5, 6])),
];

fn is_delay(name: &str) -> bool {
    matches!(name, "updelay" | "downdelay" | "peer_notif_delay")
}

/// A bond in the first mode the option is allowed in; delays get miimon 1 so that every value
/// is a multiple and reads back unchanged.
fn bond_for(s: &Spec) -> BondOptions {
    let mut o = BondOptions::default();
    o.set("mode", &s.modes[0].to_string(), &DOWN).unwrap();
    if is_delay(s.name) {
        o.set("miimon", "1", &DOWN).unwrap();
    }
    o
}

/// What sysfs shows after `value` was accepted.
fn shown(s: &Spec, value: u64) -> String {
    if s.pair {
        // Options read back as pairs have plain name tables (no range keywords).
        let name = s
            .names
            .iter()
            .find(|(_, v)| *v == value)
            .map(|(n, _)| *n)
            .unwrap_or_else(|| panic!("{}: no name for {value}", s.name));
        format!("{name} {value}")
    } else {
        value.to_string()
    }
}

fn accept(s: &Spec, input: &str, expect: u64) {
    let mut o = bond_for(s);
    let r = o.set(s.name, input, &DOWN);
    assert!(r.is_ok(), "{} = {input:?} refused: {:?}", s.name, r);
    assert_eq!(o.show(s.name).unwrap(), shown(s, expect), "{} = {input:?}", s.name);
}

/// Refused as an invalid value: exact kernel lines, then rbond's accepted-values line, and
/// nothing changed.
fn refuse_value(s: &Spec, input: &str) {
    let mut o = bond_for(s);
    let before = o.clone();
    let e = o.set(s.name, input, &DOWN).expect_err(&format!("{} = {input:?} accepted", s.name));
    assert_eq!(e.errno, Errno::EINVAL, "{} = {input:?}", s.name);
    assert_eq!(e.option, s.name);
    let text = input.split('\n').next().unwrap();
    let mut want = vec![format!("option {}: invalid value ({text})", s.name)];
    if let Some((min, max)) = s.range {
        want.push(format!("option {}: allowed values {min} - {max}", s.name));
    }
    assert_eq!(&e.lines[..want.len()], &want[..], "{} = {input:?}", s.name);
    assert_eq!(e.lines.len(), want.len() + 1, "{:?}", e.lines);
    let acc = e.lines.last().unwrap();
    assert!(acc.starts_with(&format!("option {}: accepted: ", s.name)), "{acc}");
    for (n, _) in s.names {
        assert!(acc.contains(n), "{acc} misses {n}");
    }
    assert_eq!(o, before, "a refusal changed the options");
}

#[test]
fn every_issue_option_exists() {
    let issue = [
        "mode",
        "miimon",
        "updelay",
        "downdelay",
        "peer_notif_delay",
        "use_carrier",
        "arp_interval",
        "arp_ip_target",
        "ns_ip6_target",
        "arp_validate",
        "arp_all_targets",
        "arp_missed_max",
        "primary",
        "primary_reselect",
        "fail_over_mac",
        "xmit_hash_policy",
        "packets_per_slave",
        "lacp_rate",
        "lacp_active",
        "ad_select",
        "ad_actor_sys_prio",
        "ad_user_port_key",
        "ad_actor_system",
        "min_links",
        "all_slaves_active",
        "num_grat_arp",
        "num_unsol_na",
        "resend_igmp",
        "lp_interval",
        "tlb_dynamic_lb",
        "coupled_control",
        "queue_id",
        "max_bonds",
    ];
    for n in issue {
        assert!(lookup(n).is_some(), "{n} missing");
    }
    // num_unsol_na is the same option as num_grat_arp.
    assert_eq!(lookup("num_unsol_na").unwrap().id, Opt::NumPeerNotif);
    assert_eq!(lookup("num_grat_arp").unwrap().id, Opt::NumPeerNotif);
    assert!(lookup("no_such_option").is_none());
    assert!(lookup("MODE").is_none(), "names are case-sensitive");
}

#[test]
fn every_row_is_reachable() {
    for row in OPTIONS {
        assert!(std::ptr::eq(lookup(row.name).unwrap(), row), "{}", row.name);
        for a in row.aliases {
            assert!(std::ptr::eq(lookup(a).unwrap(), row), "{a}");
        }
        assert!(std::ptr::eq(def(row.id), row), "{}", row.name);
    }
    let mut names: Vec<_> = OPTIONS.iter().map(|o| o.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), OPTIONS.len(), "duplicate rows");
}

#[test]
fn table_rows_match_reference() {
    for s in SPECS {
        let d = lookup(s.name).unwrap();
        for m in 0..7u8 {
            assert_eq!(d.allowed_in(Mode::from_num(m as u64).unwrap()), s.modes.contains(&m), "{} mode {m}", s.name);
        }
        assert_eq!(d.max(), s.range.map(|r| r.1), "{} maxval", s.name);
        if let Some((min, _)) = s.range {
            assert_eq!(d.min().unwrap_or(0), min, "{} minval", s.name);
        }
    }
    // Module parameters (MP column).
    for (n, mp) in [
        ("mode", true),
        ("miimon", true),
        ("updelay", true),
        ("peer_notif_delay", false),
        ("arp_ip_target", true),
        ("arp_missed_max", false),
        ("ns_ip6_target", false),
        ("primary", true),
        ("active_slave", false),
        ("lacp_active", false),
        ("ad_actor_sys_prio", false),
        ("ad_actor_system", false),
        ("ad_user_port_key", false),
        ("coupled_control", false),
        ("num_grat_arp", true),
        ("num_unsol_na", true),
        ("lp_interval", true),
        ("tlb_dynamic_lb", false),
        ("queue_id", false),
        ("max_bonds", true),
        ("tx_queues", true),
    ] {
        assert_eq!(lookup(n).unwrap().module_param, mp, "{n}");
    }
    // Raw options have their own parsers (bond_options.c: bond_opt_parse, bond_opt_check_deps rule 1).
    for n in ["arp_ip_target", "ns_ip6_target", "primary", "active_slave", "queue_id", "slaves", "ad_actor_system"] {
        assert!(matches!(lookup(n).unwrap().syntax, Syntax::Raw(_)), "{n}");
    }
}

#[test]
fn every_documented_value_is_accepted() {
    for s in SPECS {
        for &(name, num) in s.names {
            accept(s, name, num);
            accept(s, &num.to_string(), num);
        }
        // Numbers anywhere in the range, and its ends.
        if let Some((min, max)) = s.range {
            for n in [min, max, min + (max - min) / 2, min + 1] {
                accept(s, &n.to_string(), n);
            }
        }
        if let Some(d) = s.default {
            accept(s, "default", d);
        }
        // A value as `echo` writes it, and with whitespace around it.
        let (first, num) = s.names[s.names.len() - 1];
        accept(s, &format!("{first}\n"), num);
        accept(s, &format!("  {num} \n"), num);
        accept(s, &format!("{first} trailing words"), num);
    }
}

#[test]
fn undocumented_values_are_refused() {
    for s in SPECS {
        refuse_value(s, "bogus");
        refuse_value(s, "bogus\n");
        refuse_value(s, "");
        refuse_value(s, "-1");
        refuse_value(s, "1.5");
        refuse_value(s, &s.names[0].0.to_uppercase());
        refuse_value(s, "99999999999999999999999");
        // `minval` is a name only where the table has it.
        if !s.names.iter().any(|(n, _)| *n == "minval") {
            refuse_value(s, "minval");
        }
        if s.default.is_none() {
            refuse_value(s, "default");
        }
        match s.range {
            Some((min, max)) => {
                refuse_value(s, &(max + 1).to_string());
                if min > 0 {
                    refuse_value(s, &(min - 1).to_string());
                }
            }
            None => {
                let top = s.names.iter().map(|n| n.1).max().unwrap();
                refuse_value(s, &(top + 1).to_string());
            }
        }
    }
}

#[test]
fn parse_rules() {
    let miimon = def(Opt::Miimon);
    assert_eq!(parse_table_value(miimon, "maxval").unwrap(), 2147483647);
    assert_eq!(parse_table_value(miimon, "\t 250 \n").unwrap(), 250);
    // Only digits and whitespace: the first number counts.
    assert_eq!(parse_table_value(miimon, "10 20").unwrap(), 10);
    // The text ends at the first newline.
    assert_eq!(parse_table_value(miimon, "30\nbogus").unwrap(), 30);
    assert_eq!(parse_table_value(def(Opt::Mode), "802.3ad\nxyz").unwrap(), 4);
    // A name longer than 32 characters is never a name.
    let long = format!("balance-rr{}", "x".repeat(30));
    assert!(parse_table_value(def(Opt::Mode), &long).is_err());
    assert_eq!(parse_table_value(def(Opt::LacpRate), "fast").unwrap(), 1);
    let e = parse_table_value(def(Opt::LacpRate), "default").unwrap_err();
    assert_eq!(e.lines[0], "option lacp_rate: invalid value (default)");
    assert_eq!(e.lines.len(), 2, "no allowed-values line without a maxval: {:?}", e.lines);
    // The example from the reference: maxval written to miimon.
    let mut o = BondOptions::default();
    o.set("miimon", "maxval", &DOWN).unwrap();
    assert_eq!(o.show("miimon").unwrap(), "2147483647");
}

#[test]
fn accepted_line_names_the_values() {
    let mut o = BondOptions::default();
    let e = o.set("mode", "7", &DOWN).unwrap_err();
    assert_eq!(
        e.lines,
        vec![
            "option mode: invalid value (7)".to_string(),
            "option mode: accepted: balance-rr (0), active-backup (1), balance-xor (2), broadcast (3), 802.3ad (4), balance-tlb (5), balance-alb (6), default (0)".to_string(),
        ]
    );
    let e = o.set("miimon", "-5", &DOWN).unwrap_err();
    assert_eq!(
        e.lines,
        vec![
            "option miimon: invalid value (-5)".to_string(),
            "option miimon: allowed values 0 - 2147483647".to_string(),
            "option miimon: accepted: 0 - 2147483647, or off (0), maxval (2147483647), default (0)".to_string(),
        ]
    );
    // The Display form is the lines, one per line.
    assert_eq!(e.to_string(), e.lines.join("\n"));
}

#[test]
fn alias_refusals_use_the_written_name() {
    let mut o = BondOptions::default();
    let e = o.set("num_unsol_na", "256", &DOWN).unwrap_err();
    assert_eq!(e.option, "num_unsol_na");
    assert_eq!(e.lines[0], "option num_unsol_na: invalid value (256)");
    assert_eq!(e.lines[1], "option num_unsol_na: allowed values 0 - 255");
    assert!(e.lines[2].starts_with("option num_unsol_na: accepted: "));
    o.set("num_unsol_na", "5", &DOWN).unwrap();
    assert_eq!(o.show("num_grat_arp").unwrap(), "5");
    assert_eq!(o.show("num_unsol_na").unwrap(), "5");
}

#[test]
fn mode_dependency_refusals() {
    for s in SPECS {
        for m in (0..7u8).filter(|m| !s.modes.contains(m)) {
            let mut o = BondOptions::default();
            o.set("mode", &m.to_string(), &DOWN).unwrap();
            let before = o.clone();
            // The value is not even looked at: a bad value gives the same refusal.
            for v in [s.names[0].0, "bogus"] {
                let e = o.set(s.name, v, &DOWN).unwrap_err();
                assert_eq!(e.errno, Errno::EACCES);
                assert_eq!(
                    e.lines,
                    vec![format!(
                        "option {}: mode dependency failed, not supported in mode {}({m})",
                        s.name, MODE_NAMES[m as usize]
                    )]
                );
            }
            assert_eq!(o, before);
        }
    }
    let mut o = BondOptions::default();
    let e = o.set("primary", "eth0", &DOWN).unwrap_err();
    assert_eq!(e.lines, vec!["option primary: mode dependency failed, not supported in mode balance-rr(0)"]);
    for m in ["balance-xor", "802.3ad"] {
        let mut o = BondOptions::default();
        o.set("mode", m, &DOWN).unwrap();
        assert_eq!(o.set("primary", "eth0", &DOWN).unwrap_err().errno, Errno::EACCES);
        assert_eq!(o.set("ad_actor_system", "02:00:00:00:00:01", &DOWN).is_ok(), m == "802.3ad");
    }
    for m in ["active-backup", "balance-tlb", "balance-alb"] {
        let mut o = BondOptions::default();
        o.set("mode", m, &DOWN).unwrap();
        o.set("primary", "eth0", &SLAVES_UP).unwrap();
        assert_eq!(o.primary.as_deref(), Some("eth0"));
    }
}

#[test]
fn slaves_and_up_refusals() {
    for s in SPECS {
        let mut o = bond_for(s);
        let before = o.clone();
        let value = s.names[0].0;
        let slaves = o.set(s.name, value, &SLAVES);
        if s.needs_no_slaves {
            let e = slaves.unwrap_err();
            assert_eq!(e.errno, Errno::ENOTEMPTY);
            assert_eq!(e.lines, vec![format!("option {}: unable to set because the bond device has slaves", s.name)]);
            assert_eq!(o, before);
        } else {
            assert!(slaves.is_ok(), "{}: {:?}", s.name, slaves);
        }
        let mut o = bond_for(s);
        let up = o.set(s.name, value, &UP);
        if s.needs_down {
            let e = up.unwrap_err();
            assert_eq!(e.errno, Errno::EBUSY);
            assert_eq!(e.lines, vec![format!("option {}: unable to set because the bond device is up", s.name)]);
            assert_eq!(o, before);
        } else {
            assert!(up.is_ok(), "{}: {:?}", s.name, up);
        }
    }
}

#[test]
fn check_order_is_mode_slaves_up_value() {
    // mode: has slaves beats is up.
    let mut o = BondOptions::default();
    assert_eq!(o.set("mode", "bogus", &SLAVES_UP).unwrap_err().errno, Errno::ENOTEMPTY);
    assert_eq!(o.set("mode", "bogus", &UP).unwrap_err().errno, Errno::EBUSY);
    assert_eq!(o.set("mode", "bogus", &DOWN).unwrap_err().errno, Errno::EINVAL);
    // Mode dependency beats everything.
    assert_eq!(o.set("lacp_rate", "bogus", &SLAVES_UP).unwrap_err().errno, Errno::EACCES);
    o.set("mode", "802.3ad", &DOWN).unwrap();
    assert_eq!(o.set("lacp_rate", "bogus", &SLAVES_UP).unwrap_err().errno, Errno::EBUSY);
    assert_eq!(o.set("lacp_rate", "bogus", &SLAVES).unwrap_err().errno, Errno::EINVAL);
    assert_eq!(o.set("fail_over_mac", "bogus", &SLAVES_UP).unwrap_err().errno, Errno::ENOTEMPTY);
    // The value comes before the delay's own check (miimon 0).
    let mut o = BondOptions::default();
    assert_eq!(o.set("updelay", "bogus", &DOWN).unwrap_err().errno, Errno::EINVAL);
    assert_eq!(o.set("updelay", "100", &DOWN).unwrap_err().errno, Errno::EPERM);
}

#[test]
fn delays_need_miimon() {
    for (opt, text) in [("updelay", "up delay"), ("downdelay", "down delay"), ("peer_notif_delay", "peer notification delay")] {
        let mut o = BondOptions::default();
        let before = o.clone();
        let e = o.set(opt, "200", &DOWN).unwrap_err();
        assert_eq!(e.errno, Errno::EPERM);
        // EPERM gets no generic line.
        assert_eq!(e.lines, vec![format!("Unable to set {text} as MII monitoring is disabled")]);
        assert_eq!(o, before);
        // 0 is refused as well: the check is on miimon, not on the value.
        assert_eq!(o.set(opt, "0", &DOWN).unwrap_err().errno, Errno::EPERM);

        o.set("miimon", "100", &DOWN).unwrap();
        let w = o.set(opt, "250", &DOWN).unwrap();
        assert_eq!(w, vec![format!("{text} (250) is not a multiple of miimon (100), value rounded to 200 ms")]);
        assert_eq!(o.show(opt).unwrap(), "200");
        // Stored in ticks: miimon 50 now shows 100.
        o.set("miimon", "50", &DOWN).unwrap();
        assert_eq!(o.show(opt).unwrap(), "100");
        o.set("miimon", "300", &DOWN).unwrap();
        assert_eq!(o.show(opt).unwrap(), "600");
        assert!(o.set(opt, "900", &DOWN).unwrap().is_empty(), "a multiple gives no warning");
        assert_eq!(o.show(opt).unwrap(), "900");
        // Below one tick rounds to 0.
        let w = o.set(opt, "299", &DOWN).unwrap();
        assert_eq!(w, vec![format!("{text} (299) is not a multiple of miimon (300), value rounded to 0 ms")]);
        assert_eq!(o.show(opt).unwrap(), "0");
        // With the ARP monitor all delays show 0.
        o.set(opt, "600", &DOWN).unwrap();
        o.set("arp_interval", "100", &DOWN).unwrap();
        assert_eq!(o.miimon, 0);
        assert_eq!(o.show(opt).unwrap(), "0");
    }
    let mut o = BondOptions::default();
    o.set("miimon", "100", &DOWN).unwrap();
    o.set("updelay", "250", &DOWN).unwrap();
    assert_eq!(o.updelay, 2, "stored as value / miimon");
    assert_eq!(o.updelay_ms(), 200);
}

#[test]
fn miimon_and_arp_interval_exclude_each_other() {
    let mut o = BondOptions::default();
    o.set("arp_ip_target", "+198.18.0.1", &DOWN).unwrap();
    o.set("arp_interval", "200", &DOWN).unwrap();
    o.set("arp_validate", "all", &DOWN).unwrap();
    assert_eq!(o.set("miimon", "100", &DOWN).unwrap(), Vec::<String>::new(), "silent");
    assert_eq!((o.miimon, o.arp_interval, o.arp_validate), (100, 0, ArpValidate::None));
    assert_eq!(o.arp_ip_targets, vec![Ipv4Addr::new(198, 18, 0, 1)], "targets are kept");
    assert_eq!(o.set("arp_interval", "300", &DOWN).unwrap(), Vec::<String>::new());
    assert_eq!((o.miimon, o.arp_interval), (0, 300));
    // Zero disables without touching the other monitor.
    o.set("arp_validate", "backup", &DOWN).unwrap();
    o.set("miimon", "0", &DOWN).unwrap();
    assert_eq!((o.miimon, o.arp_interval, o.arp_validate), (0, 300, ArpValidate::Backup));
    o.set("miimon", "100", &DOWN).unwrap();
    o.set("arp_interval", "0", &DOWN).unwrap();
    assert_eq!((o.miimon, o.arp_interval), (100, 0));
}

#[test]
fn mode_change_effects() {
    // 802.3ad, tlb, alb: ARP off, miimon 100 if it was 0.
    for m in ["802.3ad", "balance-tlb", "balance-alb"] {
        let mut o = BondOptions::default();
        o.set("arp_ip_target", "+198.18.0.1", &DOWN).unwrap();
        o.set("arp_interval", "250", &DOWN).unwrap();
        o.set("mode", m, &DOWN).unwrap();
        assert_eq!((o.arp_interval, o.miimon), (0, 100), "{m}");
        assert_eq!(o.show("miimon").unwrap(), "100");
        // miimon 0 may be written afterwards, even while up.
        o.set("miimon", "0", &UP).unwrap();
        assert_eq!(o.miimon, 0);
        // An existing miimon is kept.
        let mut o = BondOptions::default();
        o.set("miimon", "40", &DOWN).unwrap();
        o.set("mode", m, &DOWN).unwrap();
        assert_eq!(o.miimon, 40);
    }
    // The other modes leave the monitors alone.
    for m in ["balance-rr", "active-backup", "balance-xor", "broadcast"] {
        let mut o = BondOptions::default();
        o.set("mode", m, &DOWN).unwrap();
        assert_eq!(o.miimon, 0, "{m}");
        o.set("arp_interval", "250", &DOWN).unwrap();
        o.set("mode", "active-backup", &DOWN).unwrap();
        assert_eq!(o.arp_interval, 250);
    }
    // alb sets tlb_dynamic_lb=1; tlb does not.
    let mut o = BondOptions::default();
    o.set("mode", "balance-tlb", &DOWN).unwrap();
    o.set("tlb_dynamic_lb", "0", &DOWN).unwrap();
    o.set("mode", "balance-tlb", &DOWN).unwrap();
    assert!(!o.tlb_dynamic_lb);
    assert_eq!(o.show("tlb_dynamic_lb").unwrap(), "0");
    o.set("mode", "balance-alb", &DOWN).unwrap();
    assert!(o.tlb_dynamic_lb);
    assert_eq!(o.show("tlb_dynamic_lb").unwrap(), "1");
    // Every mode change resets arp_validate (and broadcast_neighbor), even to the same mode.
    let mut o = BondOptions::default();
    o.set("arp_validate", "filter_backup", &DOWN).unwrap();
    o.set("mode", "balance-rr", &DOWN).unwrap();
    assert_eq!(o.show("arp_validate").unwrap(), "none 0");
    o.set("arp_validate", "active", &DOWN).unwrap();
    o.set("mode", "active-backup", &DOWN).unwrap();
    assert_eq!(o.arp_validate, ArpValidate::None);
    o.set("mode", "802.3ad", &DOWN).unwrap();
    o.set("broadcast_neighbor", "on", &DOWN).unwrap();
    o.set("mode", "802.3ad", &DOWN).unwrap();
    assert!(!o.broadcast_neighbor);
    // Unrelated options survive a mode change.
    let mut o = BondOptions::default();
    o.set("xmit_hash_policy", "layer3+4", &DOWN).unwrap();
    o.set("arp_ip_target", "+198.18.0.9", &DOWN).unwrap();
    o.set("mode", "balance-xor", &DOWN).unwrap();
    assert_eq!(o.xmit_hash_policy, XmitHashPolicy::Layer34);
    assert_eq!(o.arp_ip_targets.len(), 1);
}

fn arp_err(o: &mut BondOptions, v: &str) -> OptError {
    let before = o.clone();
    let e = o.set("arp_ip_target", v, &DOWN).unwrap_err();
    assert_eq!(*o, before, "{v}: a refusal changed the options");
    e
}

/// EINVAL refusals of arp_ip_target: the specific line, the generic line, the accepted line.
fn assert_arp_einval(e: &OptError, specific: &str, written: &str) {
    assert_eq!(e.errno, Errno::EINVAL, "{:?}", e.lines);
    assert_eq!(e.lines[0], specific);
    assert_eq!(e.lines[1], format!("option arp_ip_target: invalid value ({written})"));
    assert!(e.lines[2].starts_with("option arp_ip_target: accepted: "), "{:?}", e.lines);
    assert_eq!(e.lines.len(), 3);
}

#[test]
fn arp_ip_target_writes() {
    let mut o = BondOptions::default();
    assert_eq!(o.show("arp_ip_target").unwrap(), "");
    assert_eq!(o.show_file("arp_ip_target").unwrap(), "", "0 bytes when empty");
    o.set("arp_ip_target", "+198.18.0.1\n", &DOWN).unwrap();
    o.set("arp_ip_target", "+198.18.0.2", &DOWN).unwrap();
    o.set("arp_ip_target", "+198.18.0.3", &DOWN).unwrap();
    assert_eq!(o.show("arp_ip_target").unwrap(), "198.18.0.1 198.18.0.2 198.18.0.3");
    assert_eq!(o.show_file("arp_ip_target").unwrap(), "198.18.0.1 198.18.0.2 198.18.0.3\n");
    // Removal closes the gap; order stays insertion order.
    o.set("arp_ip_target", "-198.18.0.2", &DOWN).unwrap();
    o.set("arp_ip_target", "+198.18.0.4", &DOWN).unwrap();
    assert_eq!(o.show("arp_ip_target").unwrap(), "198.18.0.1 198.18.0.3 198.18.0.4");

    for (v, line) in [
        ("+255.255.255.255", "invalid ARP target 255.255.255.255 specified for addition"),
        ("+0.0.0.0", "invalid ARP target 0.0.0.0 specified for addition"),
        ("+198.18.0.1", "ARP target 198.18.0.1 is already present"),
        ("-255.255.255.255", "invalid ARP target 255.255.255.255 specified for removal"),
        ("-0.0.0.0", "invalid ARP target 0.0.0.0 specified for removal"),
        ("-198.18.0.99", "unable to remove nonexistent ARP target 198.18.0.99"),
    ] {
        assert_arp_einval(&arp_err(&mut o, v), line, v);
    }
    // The generic line shows the text without its newline.
    assert_arp_einval(&arp_err(&mut o, "+198.18.0.1\n"), "ARP target 198.18.0.1 is already present", "+198.18.0.1");
    // EPERM: no generic line.
    for (v, line) in [
        ("", "invalid ARP target specified"),
        ("+", "invalid ARP target specified"),
        ("+198.18.0", "invalid ARP target specified"),
        ("+bogus", "invalid ARP target specified"),
        ("1.2.3.4", "invalid ARP target specified"),
        ("é198.18.0.1", "no command found in arp_ip_targets file - use +<addr> or -<addr>"),
        ("198.18.0.1", "no command found in arp_ip_targets file - use +<addr> or -<addr>"),
        ("*198.18.0.1", "no command found in arp_ip_targets file - use +<addr> or -<addr>"),
    ] {
        let e = arp_err(&mut o, v);
        assert_eq!(e.errno, Errno::EPERM, "{v}");
        assert_eq!(e.lines, vec![line.to_string()], "{v}");
    }
    // The table holds 16.
    let mut o = BondOptions::default();
    for i in 1..=16 {
        o.set("arp_ip_target", &format!("+198.18.1.{i}"), &DOWN).unwrap();
    }
    assert_arp_einval(&arp_err(&mut o, "+198.18.0.17"), "ARP target table is full!", "+198.18.0.17");
    assert_eq!(o.arp_ip_targets.len(), 16);
    // Removing the last target while ARP monitoring is on warns, and is done.
    let mut o = BondOptions::default();
    o.set("arp_ip_target", "+198.18.0.1", &DOWN).unwrap();
    o.set("arp_ip_target", "+198.18.0.2", &DOWN).unwrap();
    o.set("arp_interval", "100", &DOWN).unwrap();
    assert!(o.set("arp_ip_target", "-198.18.0.1", &DOWN).unwrap().is_empty());
    assert_eq!(o.set("arp_ip_target", "-198.18.0.2", &DOWN).unwrap(), vec!["Removing last arp target with arp_interval on"]);
    assert!(o.arp_ip_targets.is_empty());
    // Without ARP monitoring: no warning.
    o.set("arp_interval", "0", &DOWN).unwrap();
    o.set("arp_ip_target", "+198.18.0.1", &DOWN).unwrap();
    assert!(o.set("arp_ip_target", "-198.18.0.1", &DOWN).unwrap().is_empty());
}

#[test]
fn ns_ip6_target_writes() {
    let mut o = BondOptions::default();
    o.set("ns_ip6_target", "+2001:2::1", &DOWN).unwrap();
    o.set("ns_ip6_target", "+2001:2::2", &DOWN).unwrap();
    assert_eq!(o.show("ns_ip6_target").unwrap(), "2001:2::1 2001:2::2");
    for (v, line) in [
        ("+::", "invalid NS target :: specified for addition"),
        ("+::1", "invalid NS target ::1 specified for addition"),
        ("+ff02::1", "invalid NS target ff02::1 specified for addition"),
        ("+2001:2::1", "NS target 2001:2::1 is already present"),
    ] {
        let before = o.clone();
        let e = o.set("ns_ip6_target", v, &DOWN).unwrap_err();
        assert_eq!(e.errno, Errno::EINVAL);
        assert_eq!(e.lines[0], line);
        assert_eq!(e.lines[1], format!("option ns_ip6_target: invalid value ({v})"));
        assert_eq!(o, before);
    }
    for i in 3..=16 {
        o.set("ns_ip6_target", &format!("+2001:2::{i:x}"), &DOWN).unwrap();
    }
    let e = o.set("ns_ip6_target", "+2001:2::99", &DOWN).unwrap_err();
    assert_eq!(e.lines[0], "NS target table is full!");
    o.set("ns_ip6_target", "-2001:2::1", &DOWN).unwrap();
    assert_eq!(o.ns_ip6_targets.len(), 15);
    assert!(o.set("ns_ip6_target", "2001:2::1", &DOWN).is_err());
    assert!(o.set("ns_ip6_target", "+198.18.0.1", &DOWN).is_err());
}

#[test]
fn target_lists_replace() {
    let mut o = BondOptions::default();
    o.set("arp_ip_target", "+198.18.0.9", &DOWN).unwrap();
    o.set_target_list("arp_ip_target", "198.18.0.1, 198.18.0.2").unwrap();
    assert_eq!(o.arp_ip_targets, vec![Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2)]);
    let before = o.clone();
    let e = o.set_target_list("arp_ip_target", "198.18.0.3,0.0.0.0").unwrap_err();
    assert_eq!(e.lines[0], "invalid ARP target 0.0.0.0 specified for addition");
    assert_eq!(o, before, "a refused list changes nothing");
    o.set_target_list("ns_ip6_target", "2001:2::5").unwrap();
    assert_eq!(o.show("ns_ip6_target").unwrap(), "2001:2::5");
    assert!(o.set_target_list("miimon", "1").is_err());
}

#[test]
fn ad_actor_system_values() {
    let mut o = BondOptions::default();
    o.set("mode", "802.3ad", &DOWN).unwrap();
    assert_eq!(o.show("ad_actor_system").unwrap(), "00:00:00:00:00:00");
    o.set("ad_actor_system", "02:AB:cd:00:00:01\n", &DOWN).unwrap();
    assert_eq!(o.show("ad_actor_system").unwrap(), "02:ab:cd:00:00:01");
    assert_eq!(o.ad_actor_system, MacAddr([2, 0xab, 0xcd, 0, 0, 1]));
    o.set("ad_actor_system", "00:00:00:00:00:00", &DOWN).unwrap();
    assert!(o.ad_actor_system.is_zero());
    for v in ["01:80:c2:00:00:02", "ff:ff:ff:ff:ff:ff", "03:00:00:00:00:00", "bogus", "02:00:00:00:00", "02:00:00:00:00:00:00", ""] {
        let before = o.clone();
        let e = o.set("ad_actor_system", &format!("{v}\n"), &DOWN).unwrap_err();
        assert_eq!(e.errno, Errno::EINVAL, "{v}");
        assert_eq!(e.lines[0], "Invalid ad_actor_system MAC address.");
        assert_eq!(e.lines[1], format!("option ad_actor_system: invalid value ({v})"));
        assert!(e.lines[2].starts_with("option ad_actor_system: accepted: "));
        assert_eq!(o, before);
    }
}

#[test]
fn primary_values() {
    let mut o = BondOptions::default();
    o.set("mode", "active-backup", &DOWN).unwrap();
    assert_eq!(o.show_file("primary").unwrap(), "");
    // May name an interface that does not exist (yet): accepted, no log.
    assert!(o.set("primary", "eth9\n", &SLAVES_UP).unwrap().is_empty());
    assert_eq!(o.primary.as_deref(), Some("eth9"));
    assert_eq!(o.show_file("primary").unwrap(), "eth9\n");
    // Empty clears.
    o.set("primary", "\n", &DOWN).unwrap();
    assert_eq!(o.primary, None);
    assert_eq!(o.show("primary").unwrap(), "");
}

#[test]
fn sysfs_read_back() {
    let o = BondOptions::default();
    for (n, want) in [
        ("mode", "balance-rr 0"),
        ("xmit_hash_policy", "layer2 0"),
        ("arp_validate", "none 0"),
        ("arp_all_targets", "any 0"),
        ("fail_over_mac", "none 0"),
        ("lacp_active", "on 1"),
        ("lacp_rate", "slow 0"),
        ("ad_select", "stable 0"),
        ("primary_reselect", "always 0"),
        ("miimon", "0"),
        ("updelay", "0"),
        ("downdelay", "0"),
        ("peer_notif_delay", "0"),
        ("arp_interval", "0"),
        ("arp_missed_max", "2"),
        ("num_grat_arp", "1"),
        ("num_unsol_na", "1"),
        ("use_carrier", "1"),
        ("all_slaves_active", "0"),
        ("resend_igmp", "1"),
        ("lp_interval", "1"),
        ("tlb_dynamic_lb", "1"),
        ("min_links", "0"),
        ("packets_per_slave", "1"),
        ("arp_ip_target", ""),
        ("primary", ""),
        // 802.3ad-only files read as 0 bytes in other modes.
        ("ad_actor_sys_prio", ""),
        ("ad_actor_system", ""),
        ("ad_user_port_key", ""),
    ] {
        assert_eq!(o.show(n).unwrap(), want, "{n}");
        let file = o.show_file(n).unwrap();
        assert_eq!(file, if want.is_empty() { String::new() } else { format!("{want}\n") });
    }
    let mut o = BondOptions::default();
    o.set("mode", "4", &DOWN).unwrap();
    o.set("lacp_rate", "fast", &DOWN).unwrap();
    o.set("xmit_hash_policy", "2", &DOWN).unwrap();
    o.set("ad_select", "count", &DOWN).unwrap();
    o.set("lacp_active", "0", &DOWN).unwrap();
    for (n, want) in [
        ("mode", "802.3ad 4"),
        ("miimon", "100"),
        ("lacp_rate", "fast 1"),
        ("xmit_hash_policy", "layer2+3 2"),
        ("ad_select", "count 2"),
        ("lacp_active", "off 0"),
        ("ad_actor_sys_prio", "65535"),
        ("ad_actor_system", "00:00:00:00:00:00"),
        ("ad_user_port_key", "0"),
    ] {
        assert_eq!(o.show(n).unwrap(), want, "{n}");
    }
    assert_eq!(o.lacp_rate, LacpRate::Fast);
    // Not kept in BondOptions: the bond answers these.
    for n in ["slaves", "active_slave", "queue_id", "max_bonds", "tx_queues", "nonexistent"] {
        assert!(o.show(n).is_none(), "{n}");
    }
}

#[test]
fn other_refusals() {
    let mut o = BondOptions::default();
    let e = o.set("no_such_option", "1", &DOWN).unwrap_err();
    assert_eq!(e.errno, Errno::ENOENT);
    assert!(e.lines[0].contains("no_such_option"));
    for n in ["max_bonds", "tx_queues"] {
        assert_eq!(o.set(n, "2", &DOWN).unwrap_err().errno, Errno::ENOENT, "{n}: module parameter only");
    }
    // Slave-dependent options are the bond's, not BondOptions'.
    for n in ["slaves", "queue_id"] {
        assert!(o.set(n, "+eth0", &DOWN).is_err());
    }
    assert_eq!(o.set("active_slave", "eth0", &DOWN).unwrap_err().errno, Errno::EACCES);
    assert_eq!(o, BondOptions::default());
}

// ---- module parameters (bond_options.c option setters; bond_check_params) ----

fn load(p: &[(&str, &str)]) -> ModuleParams {
    ModuleParams::load(p).unwrap_or_else(|e| panic!("{p:?}: {e}"))
}

fn load_err(p: &[(&str, &str)]) -> OptError {
    let e = ModuleParams::load(p).expect_err(&format!("{p:?} loaded"));
    assert_eq!(e.errno, Errno::EINVAL);
    e
}

fn has(w: &[String], part: &str) -> bool {
    w.iter().any(|l| l.contains(part))
}

#[test]
fn module_defaults_and_named_values() {
    let p = load(&[]);
    assert_eq!(p.opts, BondOptions::default());
    assert_eq!((p.max_bonds, p.tx_queues), (1, 16));
    let p = load(&[("mode", "active-backup"), ("miimon", "100"), ("max_bonds", "2"), ("tx_queues", "8")]);
    assert_eq!((p.opts.mode, p.opts.miimon, p.max_bonds, p.tx_queues), (Mode::ActiveBackup, 100, 2, 8));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // Numbers for named values work too.
    assert_eq!(load(&[("mode", "1"), ("miimon", "100")]).opts.mode, Mode::ActiveBackup);
    // Later occurrences win; num_unsol_na and num_grat_arp are one parameter.
    let p = load(&[("miimon", "100"), ("miimon", "200"), ("num_grat_arp", "3"), ("num_unsol_na", "5")]);
    assert_eq!((p.opts.miimon, p.opts.num_peer_notif), (200, 5));
    let p = load(&[("all_slaves_active", "1"), ("use_carrier", "0"), ("resend_igmp", "0"), ("min_links", "2"), ("lp_interval", "4")]);
    assert!(p.opts.all_slaves_active && !p.opts.use_carrier);
    assert_eq!((p.opts.resend_igmp, p.opts.min_links, p.opts.lp_interval), (0, 2, 4));
}

#[test]
fn module_errors_fail_the_load() {
    assert_eq!(load_err(&[("mode", "bogus")]).lines, vec![r#"Error: Invalid bonding mode "bogus""#]);
    assert_eq!(load_err(&[("mode", "7")]).lines, vec![r#"Error: Invalid bonding mode "7""#]);
    // xmit_hash_policy is checked only in 2, 4, 5, 6.
    for m in ["2", "4", "5", "6"] {
        let e = load_err(&[("mode", m), ("xmit_hash_policy", "bogus")]);
        assert!(e.lines[0].contains(r#""bogus""#), "{:?}", e.lines);
        assert_eq!(load(&[("mode", m), ("xmit_hash_policy", "layer3+4")]).opts.xmit_hash_policy, XmitHashPolicy::Layer34);
    }
    for (m, text) in [("0", "load balancing (round-robin)"), ("1", "fault-tolerance (active-backup)"), ("3", "fault-tolerance (broadcast)")] {
        let p = load(&[("mode", m), ("miimon", "100"), ("xmit_hash_policy", "bogus")]);
        assert_eq!(p.warnings, vec![format!("xmit_hash_policy param is irrelevant in mode {text}")]);
        assert_eq!(p.opts.xmit_hash_policy, XmitHashPolicy::Layer2);
    }
    // lacp_rate only in 802.3ad.
    assert!(load_err(&[("mode", "802.3ad"), ("lacp_rate", "bogus")]).lines[0].contains(r#""bogus""#));
    assert_eq!(load(&[("mode", "802.3ad"), ("lacp_rate", "fast")]).opts.lacp_rate, LacpRate::Fast);
    let p = load(&[("mode", "balance-xor"), ("miimon", "100"), ("lacp_rate", "fast")]);
    assert_eq!(p.warnings, vec!["lacp_rate param is irrelevant in mode load balancing (xor)"]);
    assert_eq!(p.opts.lacp_rate, LacpRate::Slow);
    // ad_select and fail_over_mac in any mode.
    assert!(load_err(&[("ad_select", "bogus")]).lines[0].contains(r#""bogus""#));
    assert!(load_err(&[("fail_over_mac", "bogus")]).lines[0].contains(r#""bogus""#));
    // More than 16 arp_ip_targets.
    let many: Vec<String> = (1..=17).map(|i| format!("198.18.0.{i}")).collect();
    let e = load_err(&[("arp_interval", "100"), ("arp_ip_target", &many.join(","))]);
    assert!(e.lines[0].contains("16"), "{:?}", e.lines);
    assert_eq!(load(&[("arp_interval", "100"), ("arp_ip_target", &many[..16].join(","))]).opts.arp_ip_targets.len(), 16);
    // Integer parameters must be integers.
    let e = load_err(&[("miimon", "abc")]);
    assert_eq!(e.lines, vec!["bonding: 'abc' invalid for parameter 'miimon'"]);
    load_err(&[("max_bonds", "99999999999")]);
}

#[test]
fn module_primary_and_reselect() {
    let p = load(&[("mode", "1"), ("miimon", "100"), ("primary", "eth1"), ("primary_reselect", "failure")]);
    assert_eq!(p.opts.primary.as_deref(), Some("eth1"));
    assert_eq!(p.opts.primary_reselect, PrimaryReselect::Failure);
    for m in ["5", "6"] {
        assert_eq!(load(&[("mode", m), ("primary", "eth1")]).opts.primary.as_deref(), Some("eth1"));
    }
    let e = load_err(&[("mode", "1"), ("primary", "eth1"), ("primary_reselect", "bogus")]);
    assert!(e.lines[0].contains(r#""bogus""#));
    // Without a primary, primary_reselect is not read at all.
    let p = load(&[("mode", "1"), ("miimon", "100"), ("primary_reselect", "bogus")]);
    assert_eq!(p.opts.primary_reselect, PrimaryReselect::Always);
    // Outside 1/5/6 primary is dropped with a warning, and so is the reselect check.
    for m in ["0", "2", "3", "4"] {
        let p = load(&[("mode", m), ("miimon", "100"), ("primary", "eth1"), ("primary_reselect", "bogus")]);
        assert_eq!(p.opts.primary, None, "mode {m}");
        assert!(has(&p.warnings, "eth1"), "{:?}", p.warnings);
    }
}

#[test]
fn module_monitor_reconciliation() {
    const FORCE: [&str; 2] = [
        "Warning: miimon must be specified, otherwise bonding will not detect link failure, speed and duplex which are essential for 802.3ad operation",
        "Forcing miimon to 100msec",
    ];
    for m in ["802.3ad", "balance-tlb", "balance-alb"] {
        let p = load(&[("mode", m)]);
        assert_eq!(p.opts.miimon, 100, "{m}");
        let i = p.warnings.iter().position(|l| l == FORCE[0]).unwrap_or_else(|| panic!("{:?}", p.warnings));
        assert_eq!(p.warnings[i + 1], FORCE[1]);
        // A given miimon is kept, without the warning.
        let p = load(&[("mode", m), ("miimon", "50")]);
        assert_eq!(p.opts.miimon, 50);
        assert!(!p.warnings.iter().any(|l| l == FORCE[0]));
        // ARP monitoring is dropped (miimon wins), and arp_validate then fails the load.
        let p = load(&[("mode", m), ("arp_interval", "200"), ("arp_ip_target", "198.18.0.1")]);
        assert_eq!((p.opts.miimon, p.opts.arp_interval), (100, 0));
        assert!(p.warnings.contains(&"Warning: miimon (100) and arp_interval (200) can't be used simultaneously, disabling ARP monitoring".to_string()), "{:?}", p.warnings);
        let e = load_err(&[("mode", m), ("arp_interval", "200"), ("arp_ip_target", "198.18.0.1"), ("arp_validate", "all")]);
        assert_eq!(e.lines, vec!["arp_validate requires arp_interval"]);
    }
    for m in ["balance-rr", "active-backup", "balance-xor", "broadcast"] {
        let p = load(&[("mode", m)]);
        assert_eq!(p.opts.miimon, 0, "{m}: no forced miimon");
        assert!(!p.warnings.iter().any(|l| l == FORCE[0]));
    }
    // miimon and arp_interval: ARP monitoring is disabled.
    let p = load(&[("miimon", "100"), ("arp_interval", "200"), ("arp_ip_target", "198.18.0.1")]);
    assert_eq!((p.opts.miimon, p.opts.arp_interval), (100, 0));
    assert_eq!(p.warnings, vec!["Warning: miimon (100) and arp_interval (200) can't be used simultaneously, disabling ARP monitoring"]);
    assert_eq!(p.opts.arp_ip_targets, vec![Ipv4Addr::new(198, 18, 0, 1)]);
    // arp_interval without targets is reset to 0 with a warning.
    let p = load(&[("arp_interval", "200")]);
    assert_eq!(p.opts.arp_interval, 0);
    assert!(has(&p.warnings, "arp_interval was reset to 0"), "{:?}", p.warnings);
    // A working ARP setup.
    let p = load(&[("arp_interval", "200"), ("arp_ip_target", "198.18.0.1,198.18.0.2"), ("arp_validate", "all"), ("arp_all_targets", "all")]);
    assert_eq!(p.opts.arp_interval, 200);
    assert_eq!(p.opts.arp_ip_targets, vec![Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2)]);
    assert_eq!(p.opts.arp_validate, ArpValidate::All);
    assert_eq!(p.opts.show("arp_all_targets").unwrap(), "all 1");
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // arp_validate needs arp_interval, whatever its value; an invalid one fails too.
    for v in ["active", "none", "bogus"] {
        assert_eq!(load_err(&[("arp_validate", v)]).lines, vec!["arp_validate requires arp_interval"]);
    }
    let e = load_err(&[("arp_interval", "200"), ("arp_ip_target", "198.18.0.1"), ("arp_validate", "bogus")]);
    assert!(e.lines[0].contains(r#""bogus""#));
    // An invalid target turns ARP monitoring off; the load goes on.
    let p = load(&[("arp_interval", "200"), ("arp_ip_target", "198.18.0.1,0.0.0.0")]);
    assert_eq!(p.opts.arp_interval, 0);
    assert!(has(&p.warnings, "0.0.0.0"), "{:?}", p.warnings);
    assert_eq!(p.opts.arp_ip_targets, vec![Ipv4Addr::new(198, 18, 0, 1)]);
    // ... and so an arp_validate then fails the load.
    load_err(&[("arp_interval", "200"), ("arp_ip_target", "bogus"), ("arp_validate", "all")]);
    // An invalid arp_all_targets is logged and ignored.
    let p = load(&[("miimon", "100"), ("arp_all_targets", "bogus")]);
    assert_eq!(p.opts.show("arp_all_targets").unwrap(), "any 0");
    assert!(has(&p.warnings, r#""bogus""#));
}

#[test]
fn module_delays() {
    let p = load(&[("miimon", "100"), ("updelay", "250"), ("downdelay", "400")]);
    assert_eq!(p.warnings, vec!["Warning: updelay (250) is not a multiple of miimon (100), updelay rounded to 200 ms"]);
    assert_eq!((p.opts.updelay, p.opts.downdelay), (2, 4));
    assert_eq!((p.opts.show("updelay").unwrap().as_str(), p.opts.show("downdelay").unwrap().as_str()), ("200", "400"));
    let p = load(&[("miimon", "100"), ("downdelay", "150")]);
    assert_eq!(p.warnings, vec!["Warning: downdelay (150) is not a multiple of miimon (100), downdelay rounded to 100 ms"]);
    // Forced miimon counts for the rounding.
    let p = load(&[("mode", "802.3ad"), ("updelay", "250")]);
    assert!(p.warnings.contains(&"Warning: updelay (250) is not a multiple of miimon (100), updelay rounded to 200 ms".to_string()));
    assert_eq!(p.opts.updelay_ms(), 200);
    // Without miimon, delays are ignored with a warning.
    let p = load(&[("updelay", "200")]);
    assert_eq!((p.opts.updelay, p.opts.downdelay), (0, 0));
    assert!(has(&p.warnings, "updelay (200)"), "{:?}", p.warnings);
}

#[test]
fn module_out_of_range_resets() {
    // (parameters, what must hold, the parameter the warning names; it names the value too,
    // except lp_interval's)
    type Check = Box<dyn Fn(&ModuleParams) -> bool>;
    type Case = (Vec<(&'static str, &'static str)>, Check, &'static str);
    let cases: Vec<Case> = vec![
        (vec![("miimon", "-1")], Box::new(|p| p.opts.miimon == 0), "miimon"),
        (vec![("miimon", "100"), ("updelay", "-100")], Box::new(|p| p.opts.updelay == 0), "updelay"),
        (vec![("miimon", "100"), ("downdelay", "-100")], Box::new(|p| p.opts.downdelay == 0), "downdelay"),
        (vec![("num_grat_arp", "256")], Box::new(|p| p.opts.num_peer_notif == 1), "num_grat_arp"),
        (vec![("num_unsol_na", "-1")], Box::new(|p| p.opts.num_peer_notif == 1), "num_unsol_na"),
        (vec![("resend_igmp", "300")], Box::new(|p| p.opts.resend_igmp == 1), "resend_igmp"),
        (vec![("packets_per_slave", "65536")], Box::new(|p| p.opts.packets_per_slave == 1), "packets_per_slave"),
        (vec![("lp_interval", "0")], Box::new(|p| p.opts.lp_interval == 1), "lp_interval"),
        (vec![("tx_queues", "0")], Box::new(|p| p.tx_queues == 16), "tx_queues"),
        (vec![("tx_queues", "256")], Box::new(|p| p.tx_queues == 16), "tx_queues"),
        (vec![("use_carrier", "2")], Box::new(|p| p.opts.use_carrier), "use_carrier"),
        (vec![("use_carrier", "-1")], Box::new(|p| p.opts.use_carrier), "use_carrier"),
        (vec![("all_slaves_active", "5")], Box::new(|p| !p.opts.all_slaves_active), "all_slaves_active"),
        (vec![("max_bonds", "-1")], Box::new(|p| p.max_bonds == 1), "max_bonds"),
    ];
    for (mut params, ok, name) in cases {
        if !params.iter().any(|(k, _)| *k == "miimon") {
            params.push(("miimon", "100"));
        }
        let p = load(&params);
        assert!(ok(&p), "{params:?}: {:?}", p.opts);
        let value = format!("({})", params.iter().find(|(k, _)| *k == name).unwrap().1);
        assert!(
            p.warnings.iter().any(|l| l.contains(name) && (l.contains(&value) || name == "lp_interval")),
            "{params:?}: {:?}",
            p.warnings
        );
    }
    // In range: kept, no warning.
    let p = load(&[("miimon", "100"), ("num_grat_arp", "255"), ("packets_per_slave", "0"), ("tx_queues", "255"), ("max_bonds", "0")]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!((p.opts.num_peer_notif, p.opts.packets_per_slave, p.tx_queues, p.max_bonds), (255, 0, 255, 0));
}

#[test]
fn module_unknown_parameters_are_ignored() {
    let p = load(&[("foo", "1"), ("miimon", "100"), ("lacp_active", "off"), ("peer_notif_delay", "100")]);
    assert_eq!(
        p.warnings,
        vec![
            "bonding: unknown parameter 'foo' ignored",
            "bonding: unknown parameter 'lacp_active' ignored",
            "bonding: unknown parameter 'peer_notif_delay' ignored",
        ]
    );
    assert_eq!(p.opts.miimon, 100);
    assert!(p.opts.lacp_active);
    let (o, w) = BondOptions::from_module_params(&[("mode", "balance-xor"), ("miimon", "100")]).unwrap();
    assert_eq!(o.mode, Mode::BalanceXor);
    assert!(w.is_empty());
}
