//! Which rbond daemon owns an interface, recorded where every rbond on the host can see it.
//!
//! The kernel marks an enslaved device itself (IFF_SLAVE, a registered rx_handler), so a
//! second bond's `bond_enslave` sees `netdev_is_rx_handler_busy()` and refuses with "Device is
//! in use and cannot be enslaved" (EBUSY). rbond drives its slaves from userspace and leaves
//! no such mark in the kernel, so two daemons in one network namespace (different
//! `--socket`s) would not see each other's slaves or bond TAPs. Each daemon therefore writes
//! one small file per device it owns:
//!
//! `/run/rbond/owners/ns-<netns inode>-if-<ifindex>`, holding `pid`, the pid's start time
//! (from /proc/<pid>/stat, so a recycled pid is not mistaken for the owner), the control
//! socket and the device's name at the time.
//!
//! The key is the namespace and the ifindex, not the name: a device keeps its ifindex when it
//! is renamed, and ifindexes are only unique within one namespace. A record whose owner is
//! no longer alive is stale (kill -9, panic) and is taken over.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where the records live; shared by every namespace (the file names carry the namespace).
pub fn owners_dir() -> PathBuf {
    Path::new(crate::ctl::RUN_ROOT).join("owners")
}

/// This process's identity as an owner: the control socket it answers on. Set once at start.
static SOCKET: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

pub fn set_socket(socket: &Path) {
    let _ = SOCKET.set(socket.to_path_buf());
}

fn record_path(ifindex: u32) -> PathBuf {
    let ns = crate::ctl::netns_inode().unwrap_or(0);
    owners_dir().join(format!("ns-{ns}-if-{ifindex}"))
}

/// An owner as read from a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub start: u64,
    pub socket: String,
    pub name: String,
}

impl Owner {
    fn me(name: &str) -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: start_time(pid).unwrap_or(0),
            socket: SOCKET.get().map(|p| p.display().to_string()).unwrap_or_default(),
            name: name.to_string(),
        }
    }

    fn render(&self) -> String {
        format!("pid={}\nstart={}\nsocket={}\nname={}\n", self.pid, self.start, self.socket, self.name)
    }

    fn parse(text: &str) -> Option<Owner> {
        let mut o = Owner { pid: 0, start: 0, socket: String::new(), name: String::new() };
        for line in text.lines() {
            let (k, v) = line.split_once('=')?;
            match k {
                "pid" => o.pid = v.parse().ok()?,
                "start" => o.start = v.parse().ok()?,
                "socket" => o.socket = v.to_string(),
                "name" => o.name = v.to_string(),
                _ => {}
            }
        }
        (o.pid != 0).then_some(o)
    }

    /// The recorded process still runs (same pid and same start time).
    fn alive(&self) -> bool {
        start_time(self.pid).is_some_and(|s| self.start == 0 || s == self.start)
    }

    fn is_me(&self) -> bool {
        self.pid == std::process::id()
    }
}

/// Field 22 of /proc/<pid>/stat (starttime, in clock ticks since boot; proc(5)); None when
/// the process does not exist or has exited (state Z or X: a zombie awaiting its parent's
/// wait(2) owns nothing any more).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(rest.next()?, "Z" | "X" | "x") {
        return None;
    }
    rest.nth(18)?.parse().ok()
}

/// The live rbond daemon other than this one that owns `ifindex`, if any. Stale records
/// (their owner has died) are removed on the way.
pub fn other_owner(ifindex: u32) -> Option<Owner> {
    let path = record_path(ifindex);
    let text = std::fs::read_to_string(&path).ok()?;
    match Owner::parse(&text) {
        Some(o) if o.is_me() => None,
        Some(o) if o.alive() => Some(o),
        _ => {
            let _ = std::fs::remove_file(&path);
            None
        }
    }
}

/// Records this daemon as the owner of `ifindex` (named `name` now). Refuses, returning
/// the owner, when another live daemon holds it. The record is created with O_EXCL, so of
/// two daemons claiming at once exactly one wins.
pub fn claim(ifindex: u32, name: &str) -> Result<(), ClaimError> {
    let dir = owners_dir();
    std::fs::create_dir_all(&dir).map_err(ClaimError::Io)?;
    let path = record_path(ifindex);
    for _ in 0..3 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(Owner::me(name).render().as_bytes()).map_err(ClaimError::Io)?;
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Ours already, another live owner, or stale (then removed: try again).
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                match Owner::parse(&text) {
                    Some(o) if o.is_me() => {
                        let _ = std::fs::write(&path, Owner::me(name).render());
                        return Ok(());
                    }
                    Some(o) if o.alive() => return Err(ClaimError::Owned(o)),
                    // An empty file may be a claim being written right now: look again.
                    None if text.is_empty() => std::thread::sleep(std::time::Duration::from_millis(5)),
                    _ => {
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
            Err(e) => return Err(ClaimError::Io(e)),
        }
    }
    Err(ClaimError::Io(io::Error::other(format!("cannot claim {}", path.display()))))
}

/// Drops this daemon's record for `ifindex` (release, bond deletion, daemon exit). A record
/// that another daemon holds is left alone.
/// Removes the records of owners that are gone (killed, crashed): they could only ever be
/// taken over, and the namespace they name may not exist any more. Run at daemon start.
pub fn sweep_dead() {
    let Ok(dir) = std::fs::read_dir(owners_dir()) else { return };
    for e in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else { continue };
        if Owner::parse(&text).is_some_and(|o| !o.alive()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

pub fn release(ifindex: u32) {
    let path = record_path(ifindex);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if Owner::parse(&text).is_none_or(|o| o.is_me()) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[derive(Debug)]
pub enum ClaimError {
    Owned(Owner),
    Io(io::Error),
}

/// The kernel's EBUSY refusal text, with who holds the device.
pub fn in_use_line(ifname: &str, o: &Owner) -> String {
    format!("(slave {ifname}): Error: Device is in use and cannot be enslaved (owned by the rbond daemon at {})", o.socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip_and_liveness() {
        let me = Owner::me("eth0");
        assert_eq!(Owner::parse(&me.render()), Some(me.clone()));
        assert!(me.alive());
        // A pid that runs but started at another time is a recycled pid, not the owner.
        let recycled = Owner { start: me.start + 1, ..me.clone() };
        assert!(!recycled.alive());
        assert_eq!(Owner::parse("garbage"), None);
    }
}
