//! The MII monitor's per-slave state machine (reference §7.1), as the kernel's
//! `bond_miimon_inspect`: UP → FAIL (downdelay) → DOWN → BACK (updelay) → UP.
//!
//! Like the kernel, entering FAIL or BACK falls through into that state's handling in the
//! same tick, so a delay of D ticks commits exactly D ticks after the link change was seen.

use super::slave::Slave;
use crate::types::{LinkState, Millis};

/// A state the slave must be committed to (the kernel's "commit" phase).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MiiCommit {
    Up,
    Down,
}

/// One inspection of one slave. `updelay`/`downdelay` are in ticks; `ignore_updelay`
/// is the kernel's rule that updelay is skipped when the bond has nothing usable.
/// Log lines for the transitions are pushed to `log`.
pub fn inspect(
    s: &mut Slave,
    link_up: bool,
    updelay: u32,
    downdelay: u32,
    miimon: u32,
    ignore_updelay: bool,
    role: &str,
    now: Millis,
    log: &mut Vec<String>,
) -> Option<MiiCommit> {
    let ms = |ticks: i64| ticks.max(0) as u64 * miimon as u64;
    match s.link {
        LinkState::Up => {
            if link_up {
                return None;
            }
            s.link = LinkState::Fail;
            s.delay = downdelay as i64;
            s.phase_since = now;
            if downdelay > 0 {
                log.push(format!(
                    "link status down for {role}interface, disabling it in {} ms",
                    ms(downdelay as i64)
                ));
            }
            fail_step(s)
        }
        LinkState::Fail => {
            if link_up {
                s.link = LinkState::Up;
                log.push(format!("link status up again after {} ms", now.saturating_sub(s.phase_since)));
                return None;
            }
            fail_step(s)
        }
        LinkState::Down => {
            if !link_up {
                return None;
            }
            s.link = LinkState::Back;
            s.delay = if ignore_updelay { 0 } else { updelay as i64 };
            s.phase_since = now;
            if updelay > 0 {
                log.push(format!(
                    "link status up, enabling it in {} ms",
                    if ignore_updelay { 0 } else { ms(updelay as i64) }
                ));
            }
            back_step(s, ignore_updelay)
        }
        LinkState::Back => {
            if !link_up {
                s.link = LinkState::Down;
                log.push(format!("link status down again after {} ms", now.saturating_sub(s.phase_since)));
                return None;
            }
            back_step(s, ignore_updelay)
        }
    }
}

fn fail_step(s: &mut Slave) -> Option<MiiCommit> {
    if s.delay <= 0 {
        return Some(MiiCommit::Down);
    }
    s.delay -= 1;
    None
}

fn back_step(s: &mut Slave, ignore_updelay: bool) -> Option<MiiCommit> {
    if ignore_updelay {
        s.delay = 0;
    }
    if s.delay <= 0 {
        return Some(MiiCommit::Up);
    }
    s.delay -= 1;
    None
}
