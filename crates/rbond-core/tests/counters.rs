//! The core's observability counters: failovers counted with their cause (link failure,
//! release, manual choice, reselection of the primary), `ActiveChanged` carrying the same
//! cause, link failures and activations per slave.

use rbond_core::bond::{Action, Bond, FailoverCause};
use rbond_core::{Duplex, LinkObservation, MacAddr, Millis, SlaveId};

fn up() -> LinkObservation {
    LinkObservation { admin_up: true, carrier: true, speed_mbps: Some(1000), duplex: Duplex::Full }
}
fn down() -> LinkObservation {
    LinkObservation { admin_up: true, carrier: false, speed_mbps: None, duplex: Duplex::Unknown }
}

/// Runs the timers up to `until`, collecting the active-slave changes.
fn run(b: &mut Bond, now: &mut Millis, until: Millis, seen: &mut Vec<(Option<SlaveId>, Option<SlaveId>, FailoverCause)>) {
    loop {
        while let Some(a) = b.poll_action() {
            if let Action::ActiveChanged { old, new, cause } = a {
                seen.push((old, new, cause));
            }
        }
        match b.poll_timeout() {
            Some(t) if t <= until => {
                *now = t.max(*now);
                b.tick(*now);
            }
            _ => break,
        }
    }
    *now = until;
}

fn ab_bond(opts: &[(&str, &str)]) -> Bond {
    let mut b = Bond::new("bond0", MacAddr([2, 0, 0x5e, 0, 0, 1]), "6.1.0");
    for (k, v) in opts {
        b.set_option(k, v, 0).unwrap();
    }
    for (i, n) in ["eth0", "eth1"].iter().enumerate() {
        b.enslave(SlaveId(10 + i as u32), n, MacAddr([2, 0, 0x5e, 0, 1, i as u8]), up(), 0).unwrap();
    }
    b.set_admin_up(true, 0);
    b
}

#[test]
fn failovers_are_counted_with_their_cause() {
    let mut b = ab_bond(&[("mode", "active-backup"), ("miimon", "100"), ("primary", "eth0")]);
    let (mut now, mut seen) = (0, Vec::new());
    run(&mut b, &mut now, 500, &mut seen);
    assert_eq!(b.active_slave(), Some(SlaveId(10)));
    assert_eq!(seen, vec![(None, Some(SlaveId(10)), FailoverCause::NoActive)]);

    // Pull eth0: the MII monitor fails it over to eth1.
    b.link_observed(SlaveId(10), down(), now);
    run(&mut b, &mut now, 1000, &mut seen);
    assert_eq!(b.active_slave(), Some(SlaveId(11)));
    assert_eq!(seen[1], (Some(SlaveId(10)), Some(SlaveId(11)), FailoverCause::LinkFailure));

    // Plug it back: the primary takes over again (primary_reselect always).
    b.link_observed(SlaveId(10), up(), now);
    run(&mut b, &mut now, 1500, &mut seen);
    assert_eq!(seen[2], (Some(SlaveId(11)), Some(SlaveId(10)), FailoverCause::Reselect));

    // An administrator's choice.
    b.set_option("active_slave", "eth1", now).unwrap();
    run(&mut b, &mut now, 1600, &mut seen);
    assert_eq!(seen[3], (Some(SlaveId(10)), Some(SlaveId(11)), FailoverCause::Manual));

    // Releasing the active slave: the old id is still named in the action.
    b.release_named("eth1", now).unwrap();
    run(&mut b, &mut now, 1700, &mut seen);
    assert_eq!(seen[4], (Some(SlaveId(11)), Some(SlaveId(10)), FailoverCause::Released));
    assert_eq!(seen.len(), 5);

    let c = b.counters();
    assert_eq!(c.failovers, 5);
    let by = |k: &str| c.failovers_by_cause[k];
    assert_eq!((by("no_active"), by("link_failure"), by("reselect"), by("manual"), by("released")), (1, 1, 1, 1, 1));
    let last = c.last_failover.unwrap();
    assert_eq!((last.from.as_deref(), last.to.as_deref(), last.cause), (Some("eth1"), Some("eth0"), FailoverCause::Released));
    // eth0 is left: one link failure, active three times.
    assert_eq!(c.slaves.len(), 1);
    assert_eq!((c.slaves[0].name.as_str(), c.slaves[0].link_failures, c.slaves[0].became_active), ("eth0", 1, 3));
    assert_eq!(b.status().slaves[0].link_failure_count, 1);

    // The last slave goes: the bond has no active slave, which counts as a change too.
    b.release_named("eth0", now).unwrap();
    run(&mut b, &mut now, 1800, &mut seen);
    assert_eq!(seen[5], (Some(SlaveId(10)), None, FailoverCause::Released));
    let c = b.counters();
    assert_eq!(c.failovers, 6);
    assert_eq!(c.failovers_by_cause["released"], 2);
    let last = c.last_failover.unwrap();
    assert_eq!((last.from.as_deref(), last.to), (Some("eth0"), None));
}

#[test]
fn a_failed_slave_that_is_not_current_counts_a_link_failure_only() {
    let mut b = ab_bond(&[("mode", "balance-rr"), ("miimon", "100")]);
    let (mut now, mut seen) = (0, Vec::new());
    run(&mut b, &mut now, 300, &mut seen);
    b.link_observed(SlaveId(11), down(), now);
    run(&mut b, &mut now, 800, &mut seen);
    // balance-rr keeps a current slave too (the kernel's curr_active_slave, chosen once);
    // eth1's failure does not change it.
    assert_eq!(seen, vec![(None, Some(SlaveId(10)), FailoverCause::NoActive)]);
    let c = b.counters();
    assert_eq!(c.failovers, 1);
    assert_eq!(c.slaves.iter().map(|s| s.link_failures).collect::<Vec<_>>(), vec![0, 1]);
    // Serialized as the daemon shows it.
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["failovers_by_cause"]["link_failure"], 0);
    assert_eq!(v["last_failover"]["cause"], "no_active");
    assert_eq!(v["slaves"][1]["name"], "eth1");
}
