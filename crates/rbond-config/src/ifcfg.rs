//! RHEL `ifcfg-*` files (initscripts) into the bond model.
//!
//! Rules, following what `service network restart` (initscripts' `ifup-eth`) does:
//! - every `ifcfg-<name>` in the directory is read except backups (`*~`, `.bak`, `.old`,
//!   `.orig`, `.rpmnew`, `.rpmorig`, `.rpmsave`, initscripts' `is_ignored_file`) and IP alias or
//!   range files (`ifcfg-bond0:1`, `ifcfg-eth0-range0`), which rbond does not handle (warning);
//! - `DEVICE` defaults to the name after `ifcfg-`; an empty value is the same as unset (the
//!   scripts test `[ -n "$VAR" ]`); a key set twice keeps the last value (shell);
//! - a file is a bond when it says `TYPE=Bond`, `BONDING_MASTER=yes` or `BONDING_OPTS=...`, or
//!   when its DEVICE is aliased to the bonding module in modprobe (the RHEL 5 recipe:
//!   `alias bond0 bonding`);
//! - a file with `MASTER=<bond>` and `SLAVE=yes` is a slave of that bond; slaves are enslaved in
//!   file name order (the scripts glob `ifcfg-*`); MASTER without SLAVE=yes is not enslaved
//!   (initscripts ignores it) and gets a warning;
//! - yes/no values take initscripts' `is_true`/`is_false` words (yes/no, true/false, y/n, t/f,
//!   1/0, any case);
//! - ONBOOT defaults to yes (`/etc/init.d/network` only skips files saying ONBOOT=no);
//! - no NETMASK and no PREFIX: the classful mask, as `ipcalc --netmask` gives initscripts, with
//!   a warning;
//! - unknown keys give warnings; files that are neither a bond nor a slave are not interpreted.

use crate::bonding_opts;
use crate::model::{BondSpec, BootProto, ConfigError, Diag, SlaveSpec};
use crate::shell::{self, Assignment};
use rbond_core::options::BondOptions;
use rbond_core::MacAddr;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// One lexed ifcfg file.
#[derive(Clone, Debug)]
pub struct IfcfgFile {
    pub path: PathBuf,
    /// The name after `ifcfg-`.
    pub stem: String,
    pub vars: Vec<Assignment>,
}

impl IfcfgFile {
    /// The effective (last, non-empty) assignment of `key`.
    pub fn get(&self, key: &str) -> Option<&Assignment> {
        self.vars.iter().rev().find(|a| a.key == key).filter(|a| !a.value.is_empty())
    }
    fn line_of(&self, key: &str) -> usize {
        self.vars.iter().rev().find(|a| a.key == key).map(|a| a.line).unwrap_or(0)
    }
    pub fn device(&self) -> String {
        self.get("DEVICE").map(|a| a.value.clone()).unwrap_or_else(|| self.stem.clone())
    }
}

/// Lex one file's text.
pub fn parse_file(path: &Path, text: &str) -> Result<IfcfgFile, ConfigError> {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("ifcfg-"))
        .unwrap_or("")
        .to_string();
    let vars = shell::lex(text).map_err(|e| ConfigError::new(path, e.line, e.key.as_deref(), e.problem, e.expected))?;
    if let Some(a) = vars.iter().find(|a| a.value.contains('\u{FFFD}') || a.value.contains('\0')) {
        return Err(ConfigError::new(path, a.line, Some(&a.key), "the value is not valid UTF-8 text", "UTF-8 text (comments may use any encoding)"));
    }
    Ok(IfcfgFile { path: path.to_path_buf(), stem, vars })
}

/// Names initscripts skips (`is_ignored_file`).
pub fn is_ignored_name(name: &str) -> bool {
    const SUFFIXES: &[&str] = &["~", ".bak", ".old", ".orig", ".rpmnew", ".rpmorig", ".rpmsave"];
    SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Lex every relevant `ifcfg-*` file of `dir`, in file name order.
pub fn read_dir(dir: &Path, warnings: &mut Vec<Diag>) -> Result<Vec<IfcfgFile>, ConfigError> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| ConfigError::new(dir, 0, None, format!("cannot read the directory: {e}"), "a directory of ifcfg-* files (--config-dir)"))?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("ifcfg-") && n.len() > "ifcfg-".len())
        .collect();
    // Byte order, as `LANG=C` globbing gives the scripts.
    names.sort();
    let mut files = Vec::new();
    for n in names {
        let path = dir.join(&n);
        if is_ignored_name(&n) {
            continue;
        }
        let stem = &n["ifcfg-".len()..];
        if stem.contains(':') || stem.contains("-range") {
            warnings.push(Diag::new(&path, 0, None, "IP alias and range files are not supported by rbond; file ignored"));
            continue;
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| ConfigError::new(&path, 0, None, format!("cannot read the file: {e}"), "a readable file"))?;
        // Comments may be in any encoding (bash does not care; old RHEL systems used GB18030 or
        // Latin-1); values must be UTF-8, checked in parse_file.
        let text = String::from_utf8_lossy(&bytes);
        files.push(parse_file(&path, &text)?);
    }
    Ok(files)
}

/// The kernel's `dev_valid_name`: 1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace.
pub fn valid_ifname(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 15
        && n != "."
        && n != ".."
        && !n.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// initscripts' `is_true` / `is_false`.
fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "1" => Some(true),
        "no" | "n" | "false" | "f" | "0" => Some(false),
        _ => None,
    }
}

/// Keys accepted everywhere and ignored (they concern NetworkManager or user control).
const IGNORED: &[&str] = &["USERCTL", "NM_CONTROLLED", "NAME", "UUID", "IPV6INIT", "HWADDR", "ZONE"];
const BOND_KEYS: &[&str] = &[
    "DEVICE", "TYPE", "BONDING_MASTER", "BONDING_OPTS", "IPADDR", "NETMASK", "PREFIX", "GATEWAY", "DNS1", "DNS2",
    "DNS3", "DOMAIN", "ONBOOT", "BOOTPROTO", "MTU", "MACADDR", "DEFROUTE", "PEERDNS",
];
const SLAVE_KEYS: &[&str] = &["DEVICE", "TYPE", "MASTER", "SLAVE", "BOOTPROTO", "ONBOOT"];
/// Keys that make sense on a device of its own but not on a slave: ignored with a warning.
const NOT_ON_SLAVE: &[&str] = &[
    "IPADDR", "NETMASK", "PREFIX", "GATEWAY", "DNS1", "DNS2", "DNS3", "DOMAIN", "MTU", "MACADDR", "DEFROUTE", "PEERDNS",
];

/// Reading context for one file: errors and warnings carry its path.
struct Reader<'a> {
    f: &'a IfcfgFile,
}

impl<'a> Reader<'a> {
    fn err(&self, key: &str, problem: impl Into<String>, expected: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.f.path, self.f.line_of(key), Some(key), problem, expected)
    }
    fn warn(&self, key: &str, msg: impl Into<String>) -> Diag {
        Diag::new(&self.f.path, self.f.line_of(key), Some(key), msg)
    }
    fn get(&self, key: &str) -> Option<&'a str> {
        self.f.get(key).map(|a| a.value.as_str())
    }
    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse_bool(v).ok_or_else(|| self.err(key, format!("'{v}' is not a yes/no value"), "yes or no")),
        }
    }
    fn ipv4(&self, key: &str) -> Result<Option<Ipv4Addr>, ConfigError> {
        let Some(v) = self.get(key) else { return Ok(None) };
        if v.contains('/') {
            return Err(self.err(key, format!("'{v}' has a prefix length"), "a plain IPv4 address, with the prefix length in PREFIX= or the mask in NETMASK="));
        }
        v.parse::<Ipv4Addr>()
            .map(Some)
            .map_err(|_| self.err(key, format!("'{v}' is not an IPv4 address"), "a dotted-quad IPv4 address such as 198.18.0.11"))
    }
    /// Warnings for keys this role does not know, and for ones set twice.
    fn unknown_and_dups(&self, known: &[&str], warnings: &mut Vec<Diag>) {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &self.f.vars {
            if let Some(first) = seen.insert(&a.key, a.line) {
                warnings.push(Diag::new(&self.f.path, a.line, Some(&a.key), format!("set again (first on line {first}); the last value wins")));
            }
        }
        for (k, line) in seen {
            if !known.contains(&k) && !IGNORED.contains(&k) {
                warnings.push(Diag::new(&self.f.path, line, Some(k), "unknown key, ignored"));
            }
        }
    }
}

/// What a file is, decided before any bond is built.
enum Role {
    Bond,
    Slave { master: String },
    Other,
}

fn role_of(f: &IfcfgFile, aliases: &[String]) -> Result<(Role, Vec<Diag>), ConfigError> {
    let r = Reader { f };
    let mut warnings = Vec::new();
    let dev = f.device();
    let ty = r.get("TYPE");
    let bonding_master = r.bool("BONDING_MASTER", false)?;
    let is_bond_type = ty.is_some_and(|t| t.eq_ignore_ascii_case("bond"));
    let marker = if is_bond_type {
        Some("TYPE")
    } else if bonding_master {
        Some("BONDING_MASTER")
    } else if r.get("BONDING_OPTS").is_some() {
        Some("BONDING_OPTS")
    } else if aliases.contains(&dev) {
        Some("DEVICE")
    } else {
        None
    };
    let master = r.get("MASTER");
    let slave_yes = r.bool("SLAVE", false)?;
    if let Some(m) = marker {
        if let Some(t) = ty.filter(|_| !is_bond_type) {
            return Err(r.err("TYPE", format!("TYPE={t} but {m} makes {dev} a bond"), "TYPE=Bond (or no TYPE)"));
        }
        if r.get("BONDING_MASTER").is_some() && !bonding_master {
            return Err(r.err("BONDING_MASTER", format!("BONDING_MASTER=no but {m} makes {dev} a bond"), "BONDING_MASTER=yes"));
        }
        if let Some(mst) = master {
            return Err(r.err("MASTER", format!("{dev} is a bond and cannot be enslaved to {mst} (nested bonds are not supported)"), "no MASTER= in a bond's file"));
        }
        if slave_yes {
            return Err(r.err("SLAVE", format!("{dev} is a bond and cannot be a slave"), "no SLAVE= in a bond's file"));
        }
        return Ok((Role::Bond, warnings));
    }
    match (master, slave_yes) {
        (Some(m), true) => {
            if let Some(t) = ty.filter(|t| !t.eq_ignore_ascii_case("ethernet")) {
                return Err(r.err("TYPE", format!("a slave of type {t}"), "TYPE=Ethernet (or no TYPE) on a slave"));
            }
            Ok((Role::Slave { master: m.to_string() }, warnings))
        }
        (None, true) => Err(r.err("SLAVE", "SLAVE=yes without MASTER", "MASTER=<bond> next to SLAVE=yes")),
        (Some(m), false) => {
            warnings.push(r.warn(
                "MASTER",
                format!("MASTER={m} without SLAVE=yes: initscripts does not enslave {dev}, neither does rbond"),
            ));
            Ok((Role::Other, warnings))
        }
        (None, false) => Ok((Role::Other, warnings)),
    }
}

fn prefix_to_mask(p: u8) -> u32 {
    if p == 0 {
        0
    } else {
        u32::MAX << (32 - p as u32)
    }
}

/// The classful prefix `ipcalc --netmask` gives an address without a mask.
fn classful_prefix(a: Ipv4Addr) -> u8 {
    match a.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        _ => 24,
    }
}

fn net_of(a: Ipv4Addr, p: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(a) & prefix_to_mask(p))
}

/// Address with prefix length, and gateway.
type Addressing = (Option<(Ipv4Addr, u8)>, Option<Ipv4Addr>);

/// The bond's address part: IPADDR, NETMASK/PREFIX, GATEWAY.
fn read_addressing(r: &Reader, bootproto: BootProto, warnings: &mut Vec<Diag>) -> Result<Addressing, ConfigError> {
    let ip = r.ipv4("IPADDR")?;
    let Some(ip) = ip else {
        if bootproto == BootProto::Static {
            return Err(r.err("BOOTPROTO", "BOOTPROTO=static without IPADDR", "IPADDR=<address> with BOOTPROTO=static"));
        }
        for k in ["NETMASK", "PREFIX", "GATEWAY"] {
            if r.get(k).is_some() {
                return Err(r.err(k, format!("{k} without IPADDR"), "IPADDR=<address> next to it"));
            }
        }
        return Ok((None, None));
    };
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() || ip.octets()[0] >= 240 {
        return Err(r.err("IPADDR", format!("{ip} cannot be a host address"), "a unicast IPv4 address such as 198.18.0.11"));
    }
    let from_prefix = match r.get("PREFIX") {
        None => None,
        Some(v) => match v.parse::<u8>() {
            Ok(p) if (1..=32).contains(&p) => Some(p),
            _ => return Err(r.err("PREFIX", format!("'{v}' is not a prefix length"), "a number from 1 to 32")),
        },
    };
    let from_mask = match r.ipv4("NETMASK")? {
        None => None,
        Some(m) => {
            let bits = u32::from(m);
            let p = bits.leading_ones() as u8;
            if bits != prefix_to_mask(p) || p == 0 {
                return Err(r.err("NETMASK", format!("{m} is not a contiguous netmask"), "a mask such as 255.255.255.0 (ones then zeros)"));
            }
            Some(p)
        }
    };
    let prefix = match (from_prefix, from_mask) {
        (Some(p), Some(m)) if p != m => {
            return Err(r.err("PREFIX", format!("PREFIX={p} disagrees with NETMASK={} (/{m})", r.get("NETMASK").unwrap_or("")), "only one of PREFIX and NETMASK, or both meaning the same length"))
        }
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => {
            let p = classful_prefix(ip);
            warnings.push(r.warn("IPADDR", format!("no NETMASK or PREFIX: using the classful /{p} (as ipcalc does for initscripts)")));
            p
        }
    };
    if prefix <= 30 {
        let host = u32::from(ip) & !prefix_to_mask(prefix);
        if host == 0 {
            return Err(r.err("IPADDR", format!("{ip} is the network address of {}/{prefix}", net_of(ip, prefix)), "a host address inside the subnet"));
        }
        if host == !prefix_to_mask(prefix) {
            return Err(r.err("IPADDR", format!("{ip} is the broadcast address of {}/{prefix}", net_of(ip, prefix)), "a host address inside the subnet"));
        }
    }
    let gw = r.ipv4("GATEWAY")?;
    if let Some(g) = gw {
        let net = net_of(ip, prefix);
        if net_of(g, prefix) != net {
            // Not a refusal: initscripts bring the bond up and only report that the default
            // route could not be added (the seed's own ifcfg-bond0 is like this).
            warnings.push(r.warn(
                "GATEWAY",
                format!("{g} is not in the bond's subnet {net}/{prefix}: the default route via {g} cannot be added (the kernel answers Network is unreachable); the bond is brought up without it, as initscripts do"),
            ));
            return Ok((Some((ip, prefix)), gw));
        }
        if g == ip {
            return Err(r.err("GATEWAY", format!("{g} is the bond's own address"), "the address of a router in the subnet"));
        }
        let host = u32::from(g) & !prefix_to_mask(prefix);
        if prefix <= 30 && (host == 0 || host == !prefix_to_mask(prefix)) {
            return Err(r.err("GATEWAY", format!("{g} is the network or broadcast address of {net}/{prefix}"), "the address of a router in the subnet"));
        }
    }
    Ok((Some((ip, prefix)), gw))
}

/// Build one bond from its file (slaves filled in by the caller).
fn read_bond(f: &IfcfgFile, base: &BondOptions, tx_queues: u16, slaves: Vec<SlaveSpec>, warnings: &mut Vec<Diag>) -> Result<BondSpec, ConfigError> {
    let r = Reader { f };
    r.unknown_and_dups(&[BOND_KEYS, IGNORED].concat(), warnings);
    let name = f.device();
    if r.get("HWADDR").is_some() {
        warnings.push(r.warn("HWADDR", "HWADDR on a bond is ignored; MACADDR sets the bond's address"));
    }
    if r.bool("IPV6INIT", false)? {
        warnings.push(r.warn("IPV6INIT", "IPv6 configuration is not supported by rbond; ignored"));
    }
    let bootproto = match r.get("BOOTPROTO").map(|v| v.to_ascii_lowercase()) {
        None => BootProto::None,
        Some(v) if v == "none" => BootProto::None,
        Some(v) if v == "static" => BootProto::Static,
        Some(v) if v == "dhcp" || v == "bootp" => {
            return Err(r.err("BOOTPROTO", format!("BOOTPROTO={v} (DHCP) is not supported by rbond"), "none or static, with IPADDR"))
        }
        Some(v) => return Err(r.err("BOOTPROTO", format!("unknown boot protocol '{v}'"), "none or static")),
    };
    let onboot = r.bool("ONBOOT", true)?;
    let defroute = r.bool("DEFROUTE", true)?;
    let peerdns = r.bool("PEERDNS", true)?;
    let (ipv4, gateway) = read_addressing(&r, bootproto, warnings)?;
    let mut dns = Vec::new();
    for k in ["DNS1", "DNS2", "DNS3"] {
        if let Some(v) = r.get(k) {
            dns.push(v.parse::<IpAddr>().map_err(|_| r.err(k, format!("'{v}' is not an IP address"), "an IPv4 or IPv6 address of a name server"))?);
        }
    }
    let domain = r.get("DOMAIN").map(str::to_string);
    let mtu = match r.get("MTU") {
        None => None,
        Some(v) => match v.parse::<u32>() {
            Ok(m) if (68..=65535).contains(&m) => Some(m),
            _ => return Err(r.err("MTU", format!("'{v}' is not a valid MTU"), "a number from 68 to 65535")),
        },
    };
    let macaddr = match r.get("MACADDR") {
        None => None,
        Some(v) => match MacAddr::parse(v) {
            Some(m) if !m.is_multicast() && !m.is_zero() => Some(m),
            Some(_) => return Err(r.err("MACADDR", format!("{v} is a multicast or all-zero address"), "a unicast MAC address such as 02:00:00:00:00:01")),
            None => return Err(r.err("MACADDR", format!("'{v}' is not a MAC address"), "six hex bytes separated by colons, e.g. 02:00:00:00:00:01")),
        },
    };

    // Options: module defaults, then BONDING_OPTS with initscripts' semantics.
    let opts_line = f.line_of("BONDING_OPTS");
    // `BONDING_OPTS=mode=1 miimon=100` is valid shell that assigns only `mode=1`; the rest
    // become shell variables of their own. Catch it instead of dropping options silently.
    let stray: Vec<&Assignment> =
        f.vars.iter().filter(|a| a.line == opts_line && a.key != "BONDING_OPTS" && rbond_core::options::lookup(&a.key).is_some()).collect();
    if !stray.is_empty() {
        let all: Vec<String> = std::iter::once(r.get("BONDING_OPTS").unwrap_or("").to_string())
            .chain(stray.iter().map(|a| format!("{}={}", a.key, a.value)))
            .collect();
        return Err(r.err(
            "BONDING_OPTS",
            format!("the value is not quoted, so bash sets BONDING_OPTS to '{}' only and '{}' becomes a separate variable", all[0], all[1]),
            format!("BONDING_OPTS=\"{}\"", all.join(" ")),
        ));
    }
    let applied = bonding_opts::apply(base, r.get("BONDING_OPTS").unwrap_or(""))
        .map_err(|e| ConfigError::new(&f.path, opts_line, Some("BONDING_OPTS"), e.problem, e.expected))?;
    for w in &applied.warnings {
        warnings.push(Diag::new(&f.path, opts_line, Some("BONDING_OPTS"), w.clone()));
    }
    let slave_names: Vec<&str> = slaves.iter().map(|s| s.name.as_str()).collect();
    let done = bonding_opts::finish(&applied, &name, &slave_names, tx_queues)
        .map_err(|p| ConfigError::new(&f.path, opts_line, Some("BONDING_OPTS"), p.problem, p.expected))?;
    for (_, _, w) in done.warnings {
        warnings.push(Diag::new(&f.path, opts_line, Some("BONDING_OPTS"), w));
    }
    let (writes, post) = (done.writes, done.post);
    Ok(BondSpec {
        name,
        source: f.path.clone(),
        opts: writes,
        post_opts: post,
        effective: applied.effective,
        slaves,
        ipv4,
        gateway,
        defroute,
        dns,
        domain,
        peerdns,
        mtu,
        macaddr,
        onboot,
        bootproto,
    })
}

fn read_slave(f: &IfcfgFile, warnings: &mut Vec<Diag>) -> Result<(), ConfigError> {
    let r = Reader { f };
    r.unknown_and_dups(&[SLAVE_KEYS, NOT_ON_SLAVE, IGNORED].concat(), warnings);
    r.bool("ONBOOT", true)?;
    for k in NOT_ON_SLAVE {
        if r.get(k).is_some() {
            warnings.push(r.warn(k, "ignored on a slave: the bond carries addresses, MTU and MAC"));
        }
    }
    if let Some(b) = r.get("BOOTPROTO") {
        if !b.eq_ignore_ascii_case("none") && !b.eq_ignore_ascii_case("static") {
            return Err(r.err("BOOTPROTO", format!("BOOTPROTO={b} on a slave"), "BOOTPROTO=none on a slave"));
        }
    }
    if let Some(h) = r.get("HWADDR") {
        if MacAddr::parse(h).is_none() {
            return Err(r.err("HWADDR", format!("'{h}' is not a MAC address"), "six hex bytes separated by colons"));
        }
    }
    Ok(())
}

/// Interpret lexed files into bonds. `base` holds the module defaults.
pub fn build(files: &[IfcfgFile], aliases: &[String], base: &BondOptions, tx_queues: u16, warnings: &mut Vec<Diag>) -> Result<Vec<BondSpec>, ConfigError> {
    // Names first: every file's DEVICE must be a valid, unique interface name.
    let mut by_dev: BTreeMap<String, &IfcfgFile> = BTreeMap::new();
    for f in files {
        let dev = f.device();
        let line = f.line_of("DEVICE");
        if !valid_ifname(&dev) {
            return Err(ConfigError::new(&f.path, line, Some("DEVICE"), format!("'{dev}' is not a valid interface name"), "1 to 15 characters, without '/', ':' or spaces"));
        }
        if let Some(other) = by_dev.insert(dev.clone(), f) {
            return Err(ConfigError::new(&f.path, line, Some("DEVICE"), format!("{dev} is also configured by {}", other.path.display()), "one ifcfg file per device"));
        }
        if f.get("DEVICE").is_some() && dev != f.stem {
            warnings.push(Diag::new(&f.path, line, Some("DEVICE"), format!("DEVICE={dev} differs from the file name ifcfg-{}", f.stem)));
        }
    }
    let mut roles = Vec::new();
    for f in files {
        let (role, w) = role_of(f, aliases)?;
        warnings.extend(w);
        roles.push(role);
    }
    let bond_devs: Vec<String> = files.iter().zip(&roles).filter(|(_, r)| matches!(r, Role::Bond)).map(|(f, _)| f.device()).collect();
    let mut slaves_of: BTreeMap<String, Vec<SlaveSpec>> = BTreeMap::new();
    for (f, role) in files.iter().zip(&roles) {
        if let Role::Slave { master } = role {
            let line = f.line_of("MASTER");
            if !bond_devs.contains(master) {
                let problem = match by_dev.get(master.as_str()) {
                    Some(other) => format!("{master} is not a bond ({} has no TYPE=Bond, BONDING_MASTER=yes or BONDING_OPTS)", other.path.display()),
                    None => format!("no ifcfg file configures a bond named {master}"),
                };
                let expected = if bond_devs.is_empty() { "the DEVICE of a bond's ifcfg file".to_string() } else { format!("one of the bonds: {}", bond_devs.join(", ")) };
                return Err(ConfigError::new(&f.path, line, Some("MASTER"), problem, expected));
            }
            read_slave(f, warnings)?;
            slaves_of.entry(master.clone()).or_default().push(SlaveSpec { name: f.device(), source: f.path.clone() });
        }
    }
    let mut bonds = Vec::new();
    for (f, role) in files.iter().zip(&roles) {
        if let Role::Bond = role {
            let slaves = slaves_of.remove(&f.device()).unwrap_or_default();
            if slaves.is_empty() {
                warnings.push(Diag::new(&f.path, 0, None, format!("bond {} has no slaves (no ifcfg file with MASTER={} and SLAVE=yes)", f.device(), f.device())));
            }
            bonds.push(read_bond(f, base, tx_queues, slaves, warnings)?);
        }
    }
    Ok(bonds)
}
