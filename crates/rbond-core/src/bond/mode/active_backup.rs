//! active-backup (mode 1), bond_main.c: bond_find_best_slave–6.6: one slave carries everything; at failover the
//! bond applies fail_over_mac and announces itself (the kernel's `bond_change_active_slave`
//! for `BOND_MODE_ACTIVEBACKUP`).

use super::{ModeOps, TxDecision, View};
use crate::bond::{Action, Bond};
use crate::options::{BondOptions, FailOverMac};
use crate::types::{SlaveIdx};

#[derive(Clone, Copy, Debug, Default)]
pub struct ActiveBackup;

impl ModeOps for ActiveBackup {
    fn uses_primary(&self) -> bool {
        true
    }
    fn announces_failover(&self) -> bool {
        true
    }
    /// The selection decides which slave is active; committing to UP changes no flag.
    fn on_commit_up(&self, _s: &mut crate::bond::Slave) {}
    fn down_marks_inactive(&self) -> bool {
        true
    }
    /// Mode 1 skips the updelay when it has no active slave (bond_main.c: bond_miimon_inspect).
    fn ignore_updelay(&self, v: &View) -> bool {
        v.active.is_none()
    }
    fn log_role(&self, v: &View, i: SlaveIdx) -> &'static str {
        if v.active == Some(i) {
            "active "
        } else {
            "backup "
        }
    }
    fn slaves_keep_own_mac(&self, o: &BondOptions) -> bool {
        o.fail_over_mac != FailOverMac::None
    }
    fn bond_mac_follows_active(&self, o: &BondOptions) -> bool {
        o.fail_over_mac == FailOverMac::Active
    }
    fn restores_mac_on_release(&self, o: &BondOptions) -> bool {
        o.fail_over_mac != FailOverMac::Active
    }
    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, _frame: &mut [u8]) -> TxDecision<'a> {
        match super::round_robin::active_if(v.active, |a| v.slaves[a].can_tx()) {
            Some(a) => TxDecision::Slave(v.id(a)),
            None => TxDecision::Drop,
        }
    }
}

impl Bond {
    /// fail_over_mac at a failover to `new` (bond_main.c: bond_do_fail_over_mac).
    pub(crate) fn apply_fail_over_mac(&mut self, old: Option<SlaveIdx>, new: SlaveIdx) {
        match self.opts.fail_over_mac {
            FailOverMac::None => {}
            FailOverMac::Active => {
                // The bond takes the new active slave's MAC.
                let m = self.slaves[new].cur_mac;
                if m != self.mac {
                    self.mac = m;
                    self.actions.push_back(Action::SetBondMac(m));
                }
            }
            FailOverMac::Follow => {
                // The new active gets the bond MAC; the old one (or whoever holds the bond
                // MAC) gets the new one's previous MAC: a swap.
                let bond_mac = self.mac;
                let holder = old
                    .filter(|&o| o < self.slaves.len() && o != new)
                    .or_else(|| self.slaves.iter().position(|s| s.cur_mac == bond_mac).filter(|&h| h != new));
                let new_prev = self.slaves[new].cur_mac;
                if new_prev == bond_mac {
                    return;
                }
                self.set_slave_mac(new, bond_mac);
                if let Some(h) = holder {
                    self.set_slave_mac(h, new_prev);
                }
            }
        }
    }
}
