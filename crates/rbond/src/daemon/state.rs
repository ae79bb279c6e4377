//! The crash record: for each bond, one JSON file `<run dir>/state/<bond>.json` saying what
//! must be restored on every slave and how to rebuild the bond.
//!
//! A slave's entry is written (and fsynced) *before* rbond changes anything on that
//! interface, so whatever kills the daemon (kill -9, a panic, an OOM kill), the record of
//! the interface as it was found survives: its own MAC, MTU, admin state and the name of the
//! nftables table that isolates it. A restarted daemon re-adopts the bond from this file
//! (`daemon::adopt`), and `rbond cleanup` restores the slaves from it without any daemon.
//!
//! Each write goes to a temporary file which is fsynced and renamed over the old one, then the
//! directory is fsynced: a reader sees the old or the new file, never a torn one (rename(2)
//! is atomic within a file system).
//!
//! The daemon keeps one store per process (`init`); without it (the library used from tests
//! or tools) the record functions do nothing.

use rbond_core::bond::Bond;
use rbond_core::options::{Opt, OPTIONS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Format version of the file; a file with another version is not touched.
pub const VERSION: u32 = 1;

/// What rbond found on a slave before it touched it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaveState {
    /// The name at enslave time (the interface is found again by `ifindex`).
    pub name: String,
    pub ifindex: u32,
    /// The MAC the interface had before it was enslaved: the slave's "Permanent HW addr".
    pub perm_mac: String,
    pub mtu: u32,
    pub admin_up: bool,
    /// The nftables netdev table isolating the slave (`isolate::table_name`).
    pub nft_table: String,
    /// `/proc/sys/net/ipv6/conf/<if>/disable_ipv6` before enslaving (the isolation's
    /// fallback on kernels without the netdev egress hook may change it).
    #[serde(default)]
    pub disable_ipv6: Option<String>,
}

/// One bond's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondState {
    pub version: u32,
    pub bond: String,
    /// The bond device's ifindex when last recorded (informational: it is found by name).
    #[serde(default)]
    pub ifindex: u32,
    /// Option writes that rebuild the bond's settings, in option-table order (mode first):
    /// every option whose value differs from a new bond's, in the form a write accepts.
    pub options: Vec<(String, String)>,
    /// Slaves in enslave order (the order decides the first slave, hence the bond's MAC).
    pub slaves: Vec<SlaveState>,
}

impl BondState {
    pub fn new(bond: &str) -> BondState {
        BondState { version: VERSION, bond: bond.to_string(), ifindex: 0, options: Vec::new(), slaves: Vec::new() }
    }
}

pub fn mac_text(m: [u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        if n == 6 || part.len() != 2 {
            return None;
        }
        out[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(out)
}

impl SlaveState {
    /// The interface as found now, before rbond touches it.
    pub fn found(info: &crate::sys::netlink::LinkInfo) -> SlaveState {
        let sysctl = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", info.name);
        SlaveState {
            name: info.name.clone(),
            ifindex: info.index,
            perm_mac: mac_text(info.mac),
            mtu: info.mtu,
            admin_up: info.admin_up,
            nft_table: crate::sys::isolate::table_name(&info.name, info.index),
            disable_ipv6: std::fs::read_to_string(sysctl).ok().map(|v| v.trim().to_string()),
        }
    }

    pub fn mac(&self) -> Option<[u8; 6]> {
        parse_mac(&self.perm_mac)
    }
}

/// The directory holding the state files of the daemon with run dir `run_dir`.
pub fn dir(run_dir: &Path) -> PathBuf {
    run_dir.join("state")
}

fn file(dir: &Path, bond: &str) -> PathBuf {
    dir.join(format!("{bond}.json"))
}

/// Writes `st` atomically (tmp + fsync + rename + fsync of the directory).
pub fn write(dir: &Path, st: &BondState) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = file(dir, &st.bond);
    let tmp = dir.join(format!(".{}.json.tmp", st.bond));
    let text = serde_json::to_string_pretty(st).map_err(io::Error::other)?;
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Reads one bond's record; None when there is none.
pub fn read(dir: &Path, bond: &str) -> io::Result<Option<BondState>> {
    match std::fs::read_to_string(file(dir, bond)) {
        Ok(t) => parse(&t).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn parse(text: &str) -> io::Result<BondState> {
    let st: BondState = serde_json::from_str(text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if st.version != VERSION {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("state file version {} (expected {VERSION})", st.version)));
    }
    Ok(st)
}

/// Every record in `dir`, sorted by bond name; unreadable files are reported, not skipped
/// silently.
pub fn read_all(dir: &Path) -> io::Result<Vec<Result<BondState, (PathBuf, io::Error)>>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut paths: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|p| match std::fs::read_to_string(&p).and_then(|t| parse(&t)) {
            Ok(st) => Ok(st),
            Err(e) => Err((p, e)),
        })
        .collect())
}

/// Removes a bond's record (after its slaves were restored and its device deleted).
pub fn remove(dir: &Path, bond: &str) -> io::Result<()> {
    match std::fs::remove_file(file(dir, bond)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The bond's options as replayable writes: each option of the table whose read-back value
/// differs from a new bond's, converted to the write form (`active-backup 1` is written as
/// `active-backup`; target lists as `a,b`).
pub fn options_of(core: &Bond) -> Vec<(String, String)> {
    let fresh = Bond::new(core.name(), rbond_core::MacAddr::ZERO, "");
    let mut out = Vec::new();
    for def in OPTIONS {
        let Some(v) = core.opts().show(def.name) else { continue };
        if v.is_empty() || fresh.opts().show(def.name).as_deref() == Some(v.as_str()) {
            continue;
        }
        let w = match def.id {
            Opt::ArpIpTarget | Opt::NsIp6Target => v.split_whitespace().collect::<Vec<_>>().join(","),
            _ => v.split_whitespace().next().unwrap_or_default().to_string(),
        };
        out.push((def.name.to_string(), w));
    }
    out
}

/// Replays `options_of` writes on a new bond through the core's normal write path; returns
/// the refusals (as text), which leave those options at their defaults.
pub fn replay_options(core: &mut Bond, opts: &[(String, String)], now: rbond_core::Millis) -> Vec<String> {
    let mut errors = Vec::new();
    for (k, v) in opts {
        // One at a time (not all or nothing): a refused option stays at its default.
        if let Err(e) = core.set_options(&[(k.clone(), v.clone())], now) {
            errors.push(format!("{k} {v}: {}", e.lines.join("; ")));
        }
    }
    errors
}

// ----- the daemon's store --------------------------------------------------------------

struct Store {
    dir: PathBuf,
    bonds: BTreeMap<String, BondState>,
}

static STORE: Mutex<Option<Store>> = Mutex::new(None);

fn with_store<T>(f: impl FnOnce(&mut Store) -> io::Result<T>) -> io::Result<Option<T>> {
    let mut g = STORE.lock().unwrap_or_else(|e| e.into_inner());
    match g.as_mut() {
        Some(s) => f(s).map(Some),
        None => Ok(None),
    }
}

/// Starts recording under `run_dir` and returns the records found there (a previous
/// daemon's bonds, to re-adopt).
pub fn init(run_dir: &Path) -> io::Result<Vec<Result<BondState, (PathBuf, io::Error)>>> {
    let d = dir(run_dir);
    std::fs::create_dir_all(&d)?;
    let found = read_all(&d)?;
    let bonds = found.iter().filter_map(|r| r.as_ref().ok()).map(|s| (s.bond.clone(), s.clone())).collect();
    *STORE.lock().unwrap_or_else(|e| e.into_inner()) = Some(Store { dir: d, bonds });
    Ok(found)
}

/// A new bond (before its device is created), or a re-adopted one.
pub fn record_bond(bond: &str) -> io::Result<()> {
    with_store(|s| {
        let st = s.bonds.entry(bond.to_string()).or_insert_with(|| BondState::new(bond)).clone();
        write(&s.dir, &st)
    })
    .map(drop)
}

/// The bond's device index and options, written only when they changed.
pub fn record_bond_info(core: &Bond, ifindex: u32) -> io::Result<()> {
    let opts = options_of(core);
    with_store(|s| {
        let Some(st) = s.bonds.get_mut(core.name()) else { return Ok(()) };
        if st.options == opts && st.ifindex == ifindex {
            return Ok(());
        }
        st.options = opts;
        st.ifindex = ifindex;
        let st = st.clone();
        write(&s.dir, &st)
    })
    .map(drop)
}

/// Records slave `slave` of `bond` (replacing an entry with the same ifindex, keeping its
/// place), before anything on it changes.
pub fn record_slave(bond: &str, slave: &SlaveState) -> io::Result<()> {
    with_store(|s| {
        let st = s.bonds.entry(bond.to_string()).or_insert_with(|| BondState::new(bond));
        match st.slaves.iter_mut().find(|x| x.ifindex == slave.ifindex) {
            Some(x) => *x = slave.clone(),
            None => st.slaves.push(slave.clone()),
        }
        let st = st.clone();
        write(&s.dir, &st)
    })
    .map(drop)
}

/// Slave `ifindex` was restored and left `bond`.
/// The slave `ifindex` of `bond` was renamed: its record follows (name and isolation table).
pub fn rename_slave(bond: &str, ifindex: u32, name: &str, nft_table: &str) -> io::Result<()> {
    with_store(|s| {
        let Some(st) = s.bonds.get_mut(bond) else { return Ok(()) };
        let Some(x) = st.slaves.iter_mut().find(|x| x.ifindex == ifindex) else { return Ok(()) };
        x.name = name.to_string();
        x.nft_table = nft_table.to_string();
        let st = st.clone();
        write(&s.dir, &st)
    })
    .map(drop)
}

pub fn forget_slave(bond: &str, ifindex: u32) -> io::Result<()> {
    with_store(|s| {
        let Some(st) = s.bonds.get_mut(bond) else { return Ok(()) };
        let n = st.slaves.len();
        st.slaves.retain(|x| x.ifindex != ifindex);
        if st.slaves.len() == n {
            return Ok(());
        }
        let st = st.clone();
        write(&s.dir, &st)
    })
    .map(drop)
}

/// The bond is gone and its slaves restored.
pub fn forget_bond(bond: &str) -> io::Result<()> {
    with_store(|s| {
        s.bonds.remove(bond);
        remove(&s.dir, bond)
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slave(name: &str, ifindex: u32) -> SlaveState {
        SlaveState {
            name: name.into(),
            ifindex,
            perm_mac: "02:00:00:00:00:01".into(),
            mtu: 1500,
            admin_up: false,
            nft_table: format!("rbond_{name}_{ifindex}"),
            disable_ipv6: Some("0".into()),
        }
    }

    #[test]
    fn write_read_remove_round_trip() {
        let d = std::env::temp_dir().join(format!("rbond-state-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let mut st = BondState::new("bond7");
        st.options = vec![("mode".into(), "active-backup".into()), ("miimon".into(), "100".into())];
        st.slaves = vec![slave("eth0", 4), slave("eth1", 5)];
        write(&d, &st).unwrap();
        assert_eq!(read(&d, "bond7").unwrap(), Some(st.clone()));
        // No temporary file is left next to it.
        let names: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("bond7.json")]);
        let all = read_all(&d).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].as_ref().unwrap(), &st);
        remove(&d, "bond7").unwrap();
        assert_eq!(read(&d, "bond7").unwrap(), None);
        remove(&d, "bond7").unwrap();
        std::fs::write(d.join("bad.json"), "{").unwrap();
        assert!(read_all(&d).unwrap()[0].is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn mac_text_round_trip() {
        let m = [0x02, 0xab, 0, 0x10, 0xff, 9];
        assert_eq!(mac_text(m), "02:ab:00:10:ff:09");
        assert_eq!(parse_mac(&mac_text(m)), Some(m));
        assert_eq!(parse_mac("02:ab:00:10:ff"), None);
        assert_eq!(parse_mac("02:ab:00:10:ff:09:01"), None);
        assert_eq!(parse_mac("02:ab:00:10:ff:zz"), None);
    }

    #[test]
    fn options_replay_rebuilds_the_same_settings() {
        let mut b = Bond::new("bond0", rbond_core::MacAddr::ZERO, "");
        for (k, v) in [("mode", "active-backup"), ("miimon", "100"), ("updelay", "200"), ("primary", "eth1"), ("fail_over_mac", "active"), ("num_grat_arp", "3")] {
            b.set_option(k, v, 0).unwrap();
        }
        b.set_options(&[("arp_ip_target".into(), "198.18.0.9,198.18.0.10".into())], 0).unwrap();
        let opts = options_of(&b);
        assert_eq!(opts[0], ("mode".to_string(), "active-backup".to_string()));
        assert!(opts.contains(&("arp_ip_target".to_string(), "198.18.0.9,198.18.0.10".to_string())), "{opts:?}");
        let mut c = Bond::new("bond0", rbond_core::MacAddr::ZERO, "");
        assert_eq!(replay_options(&mut c, &opts, 0), Vec::<String>::new());
        for def in OPTIONS {
            assert_eq!(c.opts().show(def.name), b.opts().show(def.name), "{}", def.name);
        }
    }
}
