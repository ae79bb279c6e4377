//! Issue 3: refused input. Each bad command must exit non-zero, say on stderr what was wrong in
//! the kernel's words (bond_options.c: bond_opt_parse, bond_opt_check_deps: the option's name, the invalid value and, for ranges,
//! the allowed values), and leave `rbond status` byte-for-byte unchanged.

mod common;
use common::*;

struct Case {
    args: &'static [&'static str],
    /// Every one of these must appear in stderr.
    stderr_has: &'static [&'static str],
}

const CASES: &[Case] = &[
    // An option the bonding driver does not have.
    Case { args: &["set", "bond0", "frobnicate", "1"], stderr_has: &["frobnicate"] },
    // Unknown option while creating a bond: the bond must not appear either.
    Case { args: &["add", "bond1", "mode", "balance-rr", "frobnicate", "1"], stderr_has: &["frobnicate"] },
    // Bad values: a name that is not in the table, a number that is not a name's number.
    Case {
        args: &["set", "bond0", "xmit_hash_policy", "layer5"],
        stderr_has: &["option xmit_hash_policy: invalid value (layer5)"],
    },
    Case { args: &["set", "bond0", "miimon", "fast"], stderr_has: &["option miimon: invalid value (fast)"] },
    // The value check comes after the "no slaves" check (bond_options.c: bond_opt_parse, bond_opt_check_deps), so a bad mode is tried on a
    // new bond, which must then not exist.
    Case { args: &["add", "bond1", "mode", "9"], stderr_has: &["option mode: invalid value (9)"] },
    // Out of range: the kernel also prints the allowed range.
    Case {
        args: &["set", "bond0", "arp_missed_max", "300"],
        stderr_has: &["option arp_missed_max: invalid value (300)", "option arp_missed_max: allowed values 1 - 255"],
    },
    // Enslaving an interface that does not exist.
    Case { args: &["enslave", "bond0", "nosuch9"], stderr_has: &["nosuch9", "does not exist"] },
    // Refused by state: the mode cannot change while the bond has slaves.
    Case {
        args: &["set", "bond0", "mode", "balance-rr"],
        stderr_has: &["option mode: unable to set because the bond device has slaves"],
    },
    // Refused by mode: packets_per_slave exists only in balance-rr.
    Case {
        args: &["set", "bond0", "packets_per_slave", "2"],
        stderr_has: &["option packets_per_slave: mode dependency failed, not supported in mode active-backup(1)"],
    },
    // A negative number is neither digits nor a name for the kernel's parser.
    Case { args: &["set", "bond0", "updelay", "-5"], stderr_has: &["option updelay: invalid value (-5)"] },
    // Not our slave.
    Case { args: &["active-slave", "bond0", "lo"], stderr_has: &["active_slave", "lo"] },
];

#[test]
fn refused_commands_fail_clearly_and_change_nothing() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup));
    let mut failures = Vec::new();
    for c in CASES {
        let before = lab.status().unwrap();
        let r = rbond(&lab, c.args);
        let after = lab.status().unwrap();
        let cmd = c.args.join(" ");
        println!("rbond {cmd}\n  exit {:?}\n  stderr: {}", r.code, r.stderr.trim());
        if r.code == Some(0) || r.code.is_none() {
            failures.push(format!("rbond {cmd}: exit {:?}, expected a non-zero exit code", r.code));
        }
        for want in c.stderr_has {
            if !r.stderr.contains(want) {
                failures.push(format!("rbond {cmd}: stderr lacks {want:?}; stderr was {:?}", r.stderr));
            }
        }
        if before != after {
            failures.push(format!("rbond {cmd}: status changed\n--- before\n{before}\n--- after\n{after}"));
        }
    }
    // Nothing named bond1 was created by the refused `add`.
    let s = lab.status().unwrap();
    if s.contains("bond1") {
        failures.push(format!("refused `add bond1` left a bond behind:\n{s}"));
    }
    // The datapath still works after all the refusals.
    let r = lab.probe(ProbeConfig::new(Duration::from_secs(1))).unwrap();
    if r.summary().loss_percent() > 1.0 {
        failures.push(format!("probe after the refusals: {:?}", r.summary()));
    }
    teardown(lab);
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}
