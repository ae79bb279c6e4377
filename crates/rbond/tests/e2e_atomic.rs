//! Issue 14, atomic changes: a failed `set`, `enslave`, `release`, `active-slave` or `up` leaves
//! the bond exactly as it was. The whole `rbond status --json` (options, slaves, flags, MACs,
//! the 802.3ad and tlb/alb sections) is compared before and after 30 refused changes; only
//! the data-path counters are left out, since frames may cross the bond meanwhile.

mod common;
use common::*;

/// `status --json` of bond0 without the traffic counters.
fn state(lab: &Lab) -> serde_json::Value {
    let out = rbond_ok(lab, &["status", "bond0", "--json"]);
    let mut v: serde_json::Value = serde_json::from_str(&out).expect("status --json parses");
    if let Some(o) = v.as_object_mut() {
        o.remove("counters");
    }
    v
}

#[test]
fn thirty_refused_changes_leave_the_bond_exactly_as_it_was() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup).miimon(100));
    let slaves = lab.slaves().to_vec();
    let (s0, s1) = (slaves[0].as_str(), slaves[1].as_str());
    // A configuration that `rbond up` must refuse on the running bond: a mode change needs the
    // bond without slaves (and down), so nothing of it may be applied, not even its miimon.
    let dir = std::env::temp_dir().join(format!("rbond-atomic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ifcfg-bond0"),
        "DEVICE=bond0\nTYPE=Bond\nBONDING_MASTER=yes\nONBOOT=yes\nBOOTPROTO=none\nBONDING_OPTS=\"mode=balance-rr miimon=250\"\n",
    )
    .unwrap();
    for s in [s0, s1] {
        std::fs::write(dir.join(format!("ifcfg-{s}")), format!("DEVICE={s}\nMASTER=bond0\nSLAVE=yes\nONBOOT=yes\nBOOTPROTO=none\n")).unwrap();
    }
    let cfg = dir.to_string_lossy().into_owned();

    let cases: Vec<Vec<&str>> = vec![
        // sysfs-style writes refused by value, mode, state or option rules
        vec!["set", "bond0", "mode", "9"],
        vec!["set", "bond0", "mode", "balance-rr"],
        vec!["set", "bond0", "miimon", "fast"],
        vec!["set", "bond0", "miimon", "-1"],
        vec!["set", "bond0", "updelay", "x"],
        vec!["set", "bond0", "arp_missed_max", "0"],
        vec!["set", "bond0", "arp_missed_max", "256"],
        vec!["set", "bond0", "xmit_hash_policy", "layer5"],
        vec!["set", "bond0", "packets_per_slave", "3"],
        vec!["set", "bond0", "lacp_rate", "fast"],
        vec!["set", "bond0", "ad_actor_system", "01:00:5e:00:00:01"],
        vec!["set", "bond0", "fail_over_mac", "active"],
        vec!["set", "bond0", "primary_reselect", "sometimes"],
        vec!["set", "bond0", "arp_ip_target", "+255.255.255.255"],
        vec!["set", "bond0", "arp_ip_target", "-198.18.0.77"],
        // the `ip link` list form: the bad second address refuses the whole list
        vec!["set", "bond0", "arp_ip_target", "198.18.0.1,0.0.0.0"],
        vec!["set", "bond0", "num_grat_arp", "300"],
        vec!["set", "bond0", "frobnicate", "1"],
        vec!["set", "bond0", "queue_id", "nosuch:3"],
        vec!["set", "bond0", "slaves", "eth9"],
        // slaves
        vec!["enslave", "bond0", "nosuch9"],
        vec!["enslave", "bond0", s0],
        vec!["enslave", "bond0", "bond0"],
        vec!["enslave", "bond0", "lo"],
        vec!["release", "bond0", "nosuch9"],
        vec!["active-slave", "bond0", "nosuch9"],
        vec!["active-slave", "bond0", "lo"],
        // an `ip link`-style multi-write whose second part is refused: the first is undone too
        vec!["set", "bond0", "miimon", "200 updelay"],
        // configuration files: the running bond differs in a way only a new bond may
        vec!["up", "bond0", "--config-dir", cfg.as_str()],
        // a bond that does not exist
        vec!["set", "bond9", "miimon", "100"],
    ];
    assert_eq!(cases.len(), 30);
    let before = state(&lab);
    let text_before = lab.status().unwrap();
    let mut problems = Vec::new();
    for c in &cases {
        let r = rbond(&lab, c);
        println!("rbond {}: exit {:?}: {}", c.join(" "), r.code, r.stderr.lines().next().unwrap_or(""));
        if r.code == Some(0) {
            problems.push(format!("rbond {} was accepted", c.join(" ")));
        }
        let now = state(&lab);
        if now != before {
            problems.push(format!(
                "rbond {} changed the bond:\n--- before\n{}\n--- after\n{}",
                c.join(" "),
                serde_json::to_string_pretty(&before).unwrap(),
                serde_json::to_string_pretty(&now).unwrap()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(lab.status().unwrap(), text_before, "the /proc text changed");
    teardown(lab);
}
