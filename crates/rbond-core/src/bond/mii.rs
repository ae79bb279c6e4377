//! The MII monitor's per-slave state machine (bond_main.c: bond_miimon_inspect), as the kernel's
//! `bond_miimon_inspect`: UP → FAIL (downdelay) → DOWN → BACK (updelay) → UP.
//!
//! The kernel counts a delay in monitor ticks from the tick that saw the change, so a delay
//! of D ticks commits D × miimon ms after that tick. rbond also sees link changes at once
//! from netlink events, between ticks; to keep "D × miimon after the change" exact for
//! those, a delay is kept as a deadline (`Slave::delay_until`) rather than a tick count. On
//! the regular tick grid both give the same instants.

use super::slave::Slave;
use crate::types::{LinkState, Millis};

/// A state the slave must be committed to (the kernel's "commit" phase).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MiiCommit {
    Up,
    Down,
}

/// The bond-wide inputs of one inspection.
pub struct MiiParams<'a> {
    /// Stored updelay / downdelay, in ticks.
    pub updelay: u32,
    pub downdelay: u32,
    pub miimon: u32,
    /// The kernel skips updelay when the bond has nothing usable.
    pub ignore_updelay: bool,
    /// "active " / "backup " in active-backup, "" otherwise (log wording).
    pub role: &'a str,
}

/// One inspection of one slave. Log lines for the transitions are pushed to `log`.
pub fn inspect(s: &mut Slave, link_up: bool, p: &MiiParams, now: Millis, log: &mut Vec<String>) -> Option<MiiCommit> {
    let ms = |ticks: u32| ticks as u64 * p.miimon as u64;
    match s.link {
        LinkState::Up => {
            if link_up {
                return None;
            }
            s.link = LinkState::Fail;
            s.phase_since = now;
            s.delay_until = now + ms(p.downdelay);
            if p.downdelay > 0 {
                log.push(format!("link status down for {}interface, disabling it in {} ms", p.role, ms(p.downdelay)));
            }
            expired(s, now).then_some(MiiCommit::Down)
        }
        LinkState::Fail => {
            if link_up {
                s.link = LinkState::Up;
                log.push(format!("link status up again after {} ms", now.saturating_sub(s.phase_since)));
                return None;
            }
            expired(s, now).then_some(MiiCommit::Down)
        }
        LinkState::Down => {
            if !link_up {
                return None;
            }
            s.link = LinkState::Back;
            s.phase_since = now;
            let delay = if p.ignore_updelay { 0 } else { ms(p.updelay) };
            s.delay_until = now + delay;
            if p.updelay > 0 {
                log.push(format!("link status up, enabling it in {delay} ms"));
            }
            expired(s, now).then_some(MiiCommit::Up)
        }
        LinkState::Back => {
            if !link_up {
                s.link = LinkState::Down;
                log.push(format!("link status down again after {} ms", now.saturating_sub(s.phase_since)));
                return None;
            }
            if p.ignore_updelay {
                s.delay_until = now;
            }
            expired(s, now).then_some(MiiCommit::Up)
        }
    }
}

fn expired(s: &Slave, now: Millis) -> bool {
    now >= s.delay_until
}
