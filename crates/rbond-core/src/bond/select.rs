//! Choice of the current active slave for modes 1, 5 and 6 (bond_main.c: bond_find_best_slave), as the
//! kernel's `bond_find_best_slave` / `bond_choose_primary_or_current`.

use super::slave::Slave;
use crate::options::PrimaryReselect;
use crate::types::{Duplex, LinkState, SlaveIdx};

/// Inputs that are not per-slave.
pub struct SelectInput<'a> {
    pub slaves: &'a [Slave],
    /// The configured primary, if it is enslaved.
    pub primary: Option<SlaveIdx>,
    pub current: Option<SlaveIdx>,
    pub reselect: PrimaryReselect,
    /// The kernel's force_primary flag: consumed by the selection.
    pub force_primary: &'a mut bool,
}

fn up(s: &[Slave], i: Option<SlaveIdx>) -> Option<SlaveIdx> {
    i.filter(|&i| s[i].link == LinkState::Up)
}

/// Primary or current, by step 1–4 of bond_main.c: bond_find_best_slave.
fn primary_or_current(inp: &mut SelectInput) -> Option<SlaveIdx> {
    let s = inp.slaves;
    let cur = inp.current;
    let mut prim = up(s, inp.primary);
    if prim.is_none() {
        // Step 1: the UP slave with the highest prio (first in list on ties).
        let mut best: Option<SlaveIdx> = None;
        for (i, sl) in s.iter().enumerate() {
            if sl.link == LinkState::Up && best.is_none_or(|b| sl.prio > s[b].prio) {
                best = Some(i);
            }
        }
        match best {
            Some(h) if Some(h) != cur => prim = Some(h),
            _ => return up(s, cur),
        }
    } else if *inp.force_primary {
        // Step 2.
        *inp.force_primary = false;
        return prim;
    }
    let p = prim.expect("set above");
    // Step 3.
    let Some(c) = up(s, cur) else { return Some(p) };
    // Step 4.
    match inp.reselect {
        PrimaryReselect::Always => Some(p),
        PrimaryReselect::Better => {
            let (ps, cs) = (s[p].speed_mbps.unwrap_or(0), s[c].speed_mbps.unwrap_or(0));
            let dup = |d: Duplex| matches!(d, Duplex::Full) as u8;
            if ps < cs || (ps == cs && dup(s[p].duplex) <= dup(s[c].duplex)) {
                Some(c)
            } else {
                Some(p)
            }
        }
        PrimaryReselect::Failure => Some(c),
    }
}

/// What `find_best_slave` returns: the new active slave, and whether a BACK slave was
/// promoted to UP at once to get it (step 5).
pub fn find_best_slave(mut inp: SelectInput) -> (Option<SlaveIdx>, bool) {
    if let Some(b) = primary_or_current(&mut inp) {
        return (Some(b), false);
    }
    let s = inp.slaves;
    // Step 5: the first UP slave; failing that the BACK slave with the least delay left.
    if let Some(i) = s.iter().position(|sl| sl.link == LinkState::Up) {
        return (Some(i), false);
    }
    let back = s
        .iter()
        .enumerate()
        .filter(|(_, sl)| sl.link == LinkState::Back && sl.obs.admin_up)
        .min_by_key(|(_, sl)| sl.delay_until)
        .map(|(i, _)| i);
    (back, back.is_some())
}
