//! Counters the core itself knows: failovers with their cause, and per slave the link
//! failures (the kernel's `link_failure_count`, bond_procfs.c: bond_info_show_slave) and how often it became active.
//! Data-path counters (packets, bytes, drops) belong to the driver, which sees the frames.
//! Not rendered in the /proc text; the daemon shows them in `rbond status --json` and on its
//! metrics endpoint.

use super::Bond;
use crate::types::SlaveId;
use serde::Serialize;

/// Why the active slave changed (modes with an active slave: 1, 5, 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailoverCause {
    /// The active slave's link failed (MII or ARP monitor, bond_main.c: bond_find_best_slave "the active slave fails").
    LinkFailure,
    /// The active slave was released.
    Released,
    /// An administrator chose the slave (`active_slave`, `ifenslave -c`).
    Manual,
    /// The old active slave is still up but a better one won: the primary came back, a
    /// higher `prio`, or a `primary`/`primary_reselect` write (bond_main.c: bond_find_best_slave reselection triggers).
    Reselect,
    /// There was no active slave (first slave up, or recovery after all links failed).
    NoActive,
}

impl FailoverCause {
    pub const ALL: [FailoverCause; 5] =
        [FailoverCause::LinkFailure, FailoverCause::Released, FailoverCause::Manual, FailoverCause::Reselect, FailoverCause::NoActive];

    pub fn name(self) -> &'static str {
        match self {
            FailoverCause::LinkFailure => "link_failure",
            FailoverCause::Released => "released",
            FailoverCause::Manual => "manual",
            FailoverCause::Reselect => "reselect",
            FailoverCause::NoActive => "no_active",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The bond-wide counters kept in the core.
#[derive(Clone, Debug, Default)]
pub(crate) struct CoreCounters {
    /// Changes of the active slave, by cause (indexed by `FailoverCause as usize`).
    pub by_cause: [u64; 5],
    /// The cause the next change of the active slave will carry, set by the caller that
    /// knows it (release, a manual choice); otherwise `change_active` infers it.
    pub hint: Option<FailoverCause>,
    /// The released active slave (it has left the list when the new one is chosen).
    pub released: Option<(SlaveId, String)>,
    pub last: Option<LastFailover>,
}

/// A snapshot for the driver (serialized into `rbond status --json` as `counters`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CountersView {
    /// Every change of the active slave (to another slave or to none).
    pub failovers: u64,
    /// The same, by cause (`link_failure`, `released`, `manual`, `reselect`, `no_active`).
    pub failovers_by_cause: std::collections::BTreeMap<&'static str, u64>,
    /// The last change: from and to (slave names, None = no slave), and its cause.
    pub last_failover: Option<LastFailover>,
    pub slaves: Vec<SlaveCountersView>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LastFailover {
    pub from: Option<String>,
    pub to: Option<String>,
    pub cause: FailoverCause,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SlaveCountersView {
    pub name: String,
    /// The kernel's `Link Failure Count`.
    pub link_failures: u32,
    /// How many times this slave became the active one.
    pub became_active: u32,
}

impl Bond {
    /// The core's counters now (a query; allocates, not for the data path).
    pub fn counters(&self) -> CountersView {
        let c = &self.counters;
        CountersView {
            failovers: c.by_cause.iter().sum(),
            failovers_by_cause: FailoverCause::ALL.iter().map(|k| (k.name(), c.by_cause[k.index()])).collect(),
            last_failover: c.last.clone(),
            slaves: self
                .slaves
                .iter()
                .map(|s| SlaveCountersView { name: s.name.clone(), link_failures: s.link_failure_count, became_active: s.became_active })
                .collect(),
        }
    }

    /// Counts one change of the active slave and says why it happened. Returns the cause
    /// and the old slave's id (for a released active slave, the id it had).
    pub(super) fn count_failover(&mut self, old: Option<SlaveId>, old_link_up: bool, new: Option<SlaveId>) -> (FailoverCause, Option<SlaveId>) {
        let released = self.counters.released.take();
        let cause = match self.counters.hint.take() {
            Some(h) => h,
            None if old.is_none() => FailoverCause::NoActive,
            None if !old_link_up => FailoverCause::LinkFailure,
            None => FailoverCause::Reselect,
        };
        let name = |b: &Bond, id: Option<SlaveId>| id.and_then(|i| b.slave(i)).map(|s| s.name.clone());
        let (old, from) = match (old, released) {
            (None, Some((id, n))) => (Some(id), Some(n)),
            (o, _) => (o, name(self, o)),
        };
        let to = name(self, new);
        self.counters.by_cause[cause.index()] += 1;
        self.counters.last = Some(LastFailover { from, to, cause });
        if let Some(s) = new.and_then(|n| self.slaves.iter_mut().find(|s| s.id == n)) {
            s.became_active += 1;
        }
        (cause, old)
    }
}
