//! `rbond cleanup` (and `rbond del`/`down` when no daemon answers): undo, without a daemon,
//! what a dead daemon left, from its state files (`daemon::state`). For each slave: its
//! isolation table is deleted, its recorded MAC, MTU, admin state and disable_ipv6 value are
//! put back; then the persistent bond device is deleted and the state file removed.
//!
//! A bond whose device a live daemon still holds is refused: attaching to a single-queue TAP
//! that has an attached file fails with EBUSY (tun_set_iff), which is exactly "a daemon owns
//! it". The cleanup keeps its own attachment while it works, so no daemon can re-adopt the
//! bond half way.

use crate::daemon::state::{self, BondState, SlaveState};
use crate::sys::{isolate, netlink, tap::Tap};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The run dir the CLI assumes for the state files: `$RBOND_RUN_DIR`, else the default.
pub fn default_run_dir() -> PathBuf {
    std::env::var_os("RBOND_RUN_DIR").map(PathBuf::from).unwrap_or_else(crate::ctl::default_run_dir)
}

/// Some drivers refuse a MAC change while up (EBUSY): then down, change, up.
fn set_mac_hard(ifindex: u32, mac: [u8; 6]) -> std::io::Result<()> {
    if netlink::set_mac(ifindex, mac).is_ok() {
        return Ok(());
    }
    let was_up = netlink::link_by_index(ifindex).ok().flatten().map(|l| l.admin_up).unwrap_or(false);
    let _ = netlink::set_up(ifindex, false);
    let r = netlink::set_mac(ifindex, mac);
    if was_up {
        let _ = netlink::set_up(ifindex, true);
    }
    r
}

/// Restores one recorded slave; returns what was done (one line per change), or why not.
pub fn restore_slave(rec: &SlaveState) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |r: std::io::Result<()>, what: String| match r {
        Ok(()) => out.push(what),
        Err(e) => out.push(format!("{what} FAILED: {e}")),
    };
    note(isolate::remove_table(&rec.nft_table), format!("(slave {}): isolation table {} removed", rec.name, rec.nft_table));
    let Some(now) = netlink::link_by_index(rec.ifindex).ok().flatten() else {
        out.push(format!("(slave {}): ifindex {} is gone, nothing else to restore", rec.name, rec.ifindex));
        return out;
    };
    let n = &now.name;
    if let Some(mac) = rec.mac().filter(|m| *m != now.mac) {
        note(set_mac_hard(now.index, mac), format!("(slave {n}): MAC {} restored", rec.perm_mac));
    }
    if now.mtu != rec.mtu {
        note(netlink::set_mtu(now.index, rec.mtu), format!("(slave {n}): MTU {} restored", rec.mtu));
    }
    if now.admin_up != rec.admin_up {
        note(netlink::set_up(now.index, rec.admin_up), format!("(slave {n}): set {}", if rec.admin_up { "up" } else { "down" }));
    }
    if let Some(orig) = &rec.disable_ipv6 {
        let path = format!("/proc/sys/net/ipv6/conf/{n}/disable_ipv6");
        if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() != orig) {
            note(std::fs::write(&path, orig), format!("(slave {n}): disable_ipv6 {orig} restored"));
        }
    }
    out
}

/// Restores every slave of `st`, last enslaved first.
pub fn restore_slaves(st: &BondState) -> Vec<String> {
    st.slaves.iter().rev().flat_map(restore_slave).collect()
}

/// Cleans up one bond from its record: slaves, device, record. Refused while a daemon
/// holds the device.
pub fn cleanup_bond(state_dir: &Path, st: &BondState) -> Result<Vec<String>> {
    let tap = match Tap::attach(&st.bond) {
        Ok(t) => Some(t),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            bail!("{}: a running rbond daemon holds this bond; use `rbond del {}` (or stop that daemon first)", st.bond, st.bond)
        }
        // Gone (deleted from outside), or a non-TAP device took the name: not ours to delete.
        Err(_) => None,
    };
    let mut out = restore_slaves(st);
    match tap {
        Some(t) => {
            t.set_persist(false).with_context(|| format!("{}: cannot delete the bond device", st.bond))?;
            drop(t);
            out.push(format!("device {} deleted", st.bond));
        }
        None => out.push(format!("device {} was already gone", st.bond)),
    }
    state::remove(state_dir, &st.bond).with_context(|| format!("{}: removing its state file", st.bond))?;
    // The dead daemon's status text for the bond (`<run dir>/<bond>`) would now lie.
    if let Some(run_dir) = state_dir.parent() {
        let _ = std::fs::remove_file(run_dir.join(&st.bond));
    }
    Ok(out)
}

/// `rbond cleanup [bond]`: every recorded bond (or one) of the daemon with run dir
/// `run_dir`. Prints what it does; Ok(false) when there was nothing to clean up.
///
/// `live`: the bonds a daemon answering on the CLI's socket runs; they are refused too
/// (the device check alone would miss a live bond whose device was deleted from outside).
pub fn cleanup(run_dir: &Path, bond: Option<&str>, live: &[String]) -> Result<bool> {
    let dir = state::dir(run_dir);
    let mut found = false;
    let mut failed = Vec::new();
    for r in state::read_all(&dir).with_context(|| format!("reading {}", dir.display()))? {
        match r {
            Ok(st) if bond.is_none_or(|b| b == st.bond) => {
                found = true;
                if live.contains(&st.bond) {
                    failed.push(format!("{}: a running rbond daemon holds this bond; use `rbond del {}`", st.bond, st.bond));
                    continue;
                }
                match cleanup_bond(&dir, &st) {
                    Ok(lines) => lines.iter().for_each(|l| println!("{}: {l}", st.bond)),
                    Err(e) => failed.push(format!("{e:#}")),
                }
            }
            Ok(_) => {}
            Err((p, e)) => failed.push(format!("{}: {e}", p.display())),
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(found)
}
