//! systemd-networkd `.netdev` / `.network` files into the bond model, with the semantics of
//! systemd.netdev(5) and systemd.network(5):
//!
//! - files come from one or more directories (like /etc/systemd/network before
//!   /run/systemd/network before /usr/lib/systemd/network): a file in an earlier directory
//!   masks one of the same name in a later one; all are then read in file name order;
//! - the INI syntax of systemd.syntax(7): `[Section]` headers, `Key=Value` with blanks around
//!   both trimmed, comment lines starting with `#` or `;`, a trailing `\` joins the next line;
//!   a scalar key set twice keeps the last value, list keys (Address=, DNS=, ARPIPTargets=,
//!   Name=) accumulate and an empty assignment clears them;
//! - a `.netdev` with `[NetDev] Kind=bond` creates the bond `Name=`; its `[Bond]` keys map to
//!   the kernel's options (below), time spans in systemd.time(7) syntax (a bare number is
//!   seconds) turned into the kernel's milliseconds (seconds for lp_interval), truncated as
//!   networkd does;
//! - a `.network` file applies to the interfaces its `[Match] Name=` lists; only the first file
//!   (in name order) matching an interface applies, as networkd picks one file per link;
//!   `[Network] Bond=<bond>` enslaves it, `PrimarySlave=yes`/`ActiveSlave=yes` in that file
//!   make it the bond's primary / active slave; the file matching the bond itself gives its
//!   Address=, Gateway= (or a `[Route]` without Destination), DNS=, Domains=, and `[Link]`
//!   MTUBytes= / MACAddress= (also accepted in the `.netdev`'s `[NetDev]`, where netplan
//!   writes them);
//! - networkd attaches slaves as links appear; rbond enslaves them in file name order, then in
//!   `Name=` order;
//! - every option value goes through the same core validation as ifcfg's BONDING_OPTS, in the
//!   order the kernel applies netlink attributes (the option table's), so a value refused here
//!   is refused with the same words.
//!
//! Decisions: globs and `!` in `Name=` are refused (rbond reads no live interface list to
//! expand them); `[Match]` keys other than Name= are not evaluated (warning); unknown keys and
//! sections give warnings; DHCP is refused; IPv6 addresses are ignored with a warning.
//!
//! The second half of this file (`Draft`, `finish`, value conversions) is shared with the
//! netplan reader: both describe a bond in kernel terms with file:line origins, and `finish`
//! validates that into a `BondSpec` exactly like the ifcfg reader does.

use crate::bonding_opts;
use crate::ifcfg::valid_ifname;
use crate::model::{BondSpec, BootProto, ConfigError, Diag, SlaveSpec};
use rbond_core::options::{lookup, BondOptions, OPTIONS};
use rbond_core::MacAddr;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// INI syntax

/// One `Key=Value` line of a unit-style file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    pub value: String,
    /// 1-based line where the assignment starts.
    pub line: usize,
    /// Index of its section in `UnitFile::sections` (sections like [Route] may repeat).
    pub sec: usize,
}

/// A lexed `.netdev` or `.network` file.
#[derive(Clone, Debug)]
pub struct UnitFile {
    pub path: PathBuf,
    /// Sections in order, with the line of their header.
    pub sections: Vec<(String, usize)>,
    pub entries: Vec<Entry>,
}

impl UnitFile {
    /// The last assignment of a scalar key (an empty one counts: it resets to the default).
    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.section == section && e.key == key)
    }
    /// A list key: every word of every assignment, an empty assignment clearing what came before.
    pub fn list(&self, section: &str, key: &str) -> Vec<(String, &Entry)> {
        let mut out = Vec::new();
        for e in self.entries.iter().filter(|e| e.section == section && e.key == key) {
            if e.value.is_empty() {
                out.clear();
            }
            out.extend(e.value.split_whitespace().map(|w| (w.to_string(), e)));
        }
        out
    }
    fn at(&self, e: &Entry) -> At {
        At { file: self.path.clone(), line: e.line, key: e.key.clone() }
    }
    fn file_at(&self, section: &str, key: &str) -> At {
        let line = self.sections.iter().find(|(s, _)| s == section).map(|(_, l)| *l).unwrap_or(0);
        At { file: self.path.clone(), line, key: key.to_string() }
    }
}

/// Lex one file's text (systemd.syntax(7)).
pub fn parse_unit(path: &Path, text: &str) -> Result<UnitFile, ConfigError> {
    let mut f = UnitFile { path: path.to_path_buf(), sections: Vec::new(), entries: Vec::new() };
    let mut section: Option<String> = None;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let start = i + 1;
        let mut line = lines[i].trim_end_matches('\r').trim().to_string();
        i += 1;
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        // A trailing backslash joins the next line (comment lines in between are skipped).
        while line.ends_with('\\') && i < lines.len() {
            line.pop();
            let next = lines[i].trim_end_matches('\r').trim();
            i += 1;
            if next.starts_with('#') || next.starts_with(';') {
                continue;
            }
            line.push(' ');
            line.push_str(next);
        }
        if line.contains('\u{FFFD}') || line.contains('\0') {
            return Err(ConfigError::new(path, start, None, "the line is not valid UTF-8 text", "UTF-8 text (comments may use any encoding)"));
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(ConfigError::new(path, start, None, format!("'{line}' is not a section header"), "[Section] alone on its line"));
            };
            if name.is_empty() || name.contains(['[', ']']) {
                return Err(ConfigError::new(path, start, None, format!("'{line}' is not a section header"), "[Section] alone on its line"));
            }
            f.sections.push((name.to_string(), start));
            section = Some(name.to_string());
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(ConfigError::new(path, start, None, format!("'{line}' is not an assignment"), "Key=Value, a [Section] header or a # comment"));
        };
        let key = k.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
            return Err(ConfigError::new(path, start, None, format!("'{key}' is not a key name"), "Key=Value with a key made of letters and digits"));
        }
        let Some(sec) = &section else {
            return Err(ConfigError::new(path, start, Some(key), "assignment outside of any section", "a [Section] header (e.g. [NetDev] or [Network]) before it"));
        };
        f.entries.push(Entry { section: sec.clone(), key: key.to_string(), value: v.trim().to_string(), line: start, sec: f.sections.len() - 1 });
    }
    Ok(f)
}

/// The `.netdev` / `.network` files of `dirs`, earlier directories masking later ones, in file
/// name order.
pub fn read_dirs(dirs: &[PathBuf]) -> Result<Vec<UnitFile>, ConfigError> {
    let mut chosen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in dirs {
        let rd = std::fs::read_dir(dir).map_err(|e| {
            ConfigError::new(dir, 0, None, format!("cannot read the directory: {e}"), "a directory of systemd-networkd .netdev/.network files (--networkd-dir)")
        })?;
        for e in rd.filter_map(|e| e.ok()) {
            let Ok(name) = e.file_name().into_string() else { continue };
            if !(name.ends_with(".netdev") || name.ends_with(".network")) || e.file_type().map(|t| t.is_dir()).unwrap_or(true) {
                continue;
            }
            chosen.entry(name).or_insert_with(|| e.path());
        }
    }
    let mut files = Vec::new();
    for path in chosen.values() {
        let bytes = std::fs::read(path).map_err(|e| ConfigError::new(path, 0, None, format!("cannot read the file: {e}"), "a readable file"))?;
        files.push(parse_unit(path, &String::from_utf8_lossy(&bytes))?);
    }
    Ok(files)
}

// ---------------------------------------------------------------------------------------------
// .netdev / .network into drafts

/// What one `[Bond]` key sets: the kernel option and how its value is written.
const BOND_KEYS: &[(&str, &str, Kind)] = &[
    ("Mode", "mode", Kind::Word),
    ("TransmitHashPolicy", "xmit_hash_policy", Kind::Word),
    ("LACPTransmitRate", "lacp_rate", Kind::Word),
    ("MIIMonitorSec", "miimon", Kind::Ms),
    ("UpDelaySec", "updelay", Kind::Ms),
    ("DownDelaySec", "downdelay", Kind::Ms),
    ("PeerNotifyDelaySec", "peer_notif_delay", Kind::Ms),
    ("ARPIntervalSec", "arp_interval", Kind::Ms),
    ("ARPIPTargets", "arp_ip_target", Kind::Targets),
    ("ARPValidate", "arp_validate", Kind::Word),
    ("ARPAllTargets", "arp_all_targets", Kind::Word),
    ("ARPMissedMax", "arp_missed_max", Kind::Number),
    ("PrimaryReselectPolicy", "primary_reselect", Kind::Word),
    ("FailOverMACPolicy", "fail_over_mac", Kind::Word),
    ("AdSelect", "ad_select", Kind::Word),
    ("MinLinks", "min_links", Kind::Number),
    ("GratuitousARP", "num_grat_arp", Kind::Number),
    ("PacketsPerSlave", "packets_per_slave", Kind::Number),
    ("AllSlavesActive", "all_slaves_active", Kind::Bool),
    ("ResendIGMP", "resend_igmp", Kind::Number),
    ("LearnPacketIntervalSec", "lp_interval", Kind::Secs),
    ("DynamicTransmitLoadBalancing", "tlb_dynamic_lb", Kind::Bool),
    ("AdActorSystemPriority", "ad_actor_sys_prio", Kind::Number),
    ("AdUserPortKey", "ad_user_port_key", Kind::Number),
    ("AdActorSystem", "ad_actor_system", Kind::Mac),
];

const NETDEV_KEYS: &[&str] = &["Name", "Kind", "Description", "MTUBytes", "MACAddress"];
/// `.network` keys rbond reads, by section; the `IGNORED_NETWORK` ones are accepted silently.
const NETWORK_KEYS: &[(&str, &[&str])] = &[
    ("Match", &["Name"]),
    ("Network", &["Bond", "PrimarySlave", "ActiveSlave", "Address", "Gateway", "DNS", "Domains", "DHCP", "Description"]),
    ("Link", &["MTUBytes", "MACAddress", "ActivationPolicy"]),
    ("Address", &["Address"]),
    ("Route", &["Gateway", "Destination"]),
];
const IGNORED_NETWORK: &[(&str, &[&str])] = &[
    ("Network", &["LinkLocalAddressing", "IPv6AcceptRA", "ConfigureWithoutCarrier", "IgnoreCarrierLoss", "LLDP", "EmitLLDP", "IPv6LinkLocalAddressGenerationMode"]),
    ("Link", &["RequiredForOnline", "RequiredFamilyForOnline"]),
];
/// Keys that make sense on a device of its own but not on a slave (ignored with a warning).
const NOT_ON_SLAVE: &[(&str, &str)] =
    &[("Network", "Address"), ("Network", "Gateway"), ("Network", "DNS"), ("Network", "Domains"), ("Link", "MTUBytes"), ("Link", "MACAddress"), ("Address", "Address"), ("Route", "Gateway")];

fn known(table: &[(&str, &[&str])], section: &str, key: &str) -> bool {
    table.iter().any(|(s, ks)| *s == section && ks.contains(&key))
}

/// Warnings for sections and keys rbond does not read.
fn unknown_keys(f: &UnitFile, is_known: impl Fn(&str, &str) -> bool, known_section: impl Fn(&str) -> bool, warnings: &mut Vec<Diag>) {
    for (s, line) in &f.sections {
        if !known_section(s) {
            warnings.push(Diag::new(&f.path, *line, None, format!("unknown section [{s}], ignored")));
        }
    }
    for e in &f.entries {
        if known_section(&e.section) && !is_known(&e.section, &e.key) {
            warnings.push(Diag::new(&f.path, e.line, Some(&e.key), format!("unknown key in [{}], ignored", e.section)));
        }
    }
}

/// systemd's boolean words (parse_boolean).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

fn bool_of(f: &UnitFile, e: &Entry) -> Result<bool, ConfigError> {
    parse_bool(&e.value).ok_or_else(|| f.at(e).err(format!("'{}' is not a boolean", e.value), "yes or no (also true/false, on/off, 1/0)"))
}

/// `[NetDev] Name=` of a bond `.netdev`, or None for other kinds.
fn netdev_bond_name(f: &UnitFile) -> Result<Option<(String, At)>, ConfigError> {
    let kind = f.get("NetDev", "Kind").filter(|e| !e.value.is_empty());
    let Some(kind) = kind else {
        return Err(f.file_at("NetDev", "Kind").err("a .netdev without Kind= (networkd ignores it)", "Kind=bond in [NetDev]"));
    };
    if kind.value != "bond" {
        return Ok(None);
    }
    let Some(name) = f.get("NetDev", "Name").filter(|e| !e.value.is_empty()) else {
        return Err(f.at(kind).err("a bond .netdev without Name=", "Name=<bond interface name> in [NetDev]"));
    };
    if !valid_ifname(&name.value) {
        return Err(f.at(name).err(format!("'{}' is not a valid interface name", name.value), "1 to 15 characters, without '/', ':' or spaces"));
    }
    Ok(Some((name.value.clone(), f.at(name))))
}

/// Interface names a `.network` file matches (`[Match] Name=`), or None when it matches by
/// other properties only.
fn match_names(f: &UnitFile, warnings: &mut Vec<Diag>) -> Result<Option<Vec<(String, At)>>, ConfigError> {
    for e in f.entries.iter().filter(|e| e.section == "Match" && e.key != "Name") {
        warnings.push(f.at(e).warn("rbond matches .network files by Name= only; this condition is not evaluated"));
    }
    let names = f.list("Match", "Name");
    if names.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for (n, e) in names {
        if n.contains(['*', '?', '[']) || n.starts_with('!') {
            return Err(f.at(e).err(format!("'{n}' is a pattern; rbond does not expand patterns against the interfaces present"), "literal interface names, e.g. Name=eth0 eth1"));
        }
        if !valid_ifname(&n) {
            return Err(f.at(e).err(format!("'{n}' is not a valid interface name"), "1 to 15 characters, without '/', ':' or spaces"));
        }
        out.push((n, f.at(e)));
    }
    Ok(Some(out))
}

/// `MTUBytes=`: bytes, with an optional K, M or G suffix (base 1024, parse_size).
fn parse_mtu(at: &At, v: &str) -> Result<u32, ConfigError> {
    let (num, mult) = match v.chars().last() {
        Some('K') => (&v[..v.len() - 1], 1024u64),
        Some('M') => (&v[..v.len() - 1], 1024 * 1024),
        Some('G') => (&v[..v.len() - 1], 1024 * 1024 * 1024),
        Some('B') => (&v[..v.len() - 1], 1),
        _ => (v, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .map(|n| n.saturating_mul(mult))
        .ok_or(())
        .and_then(|m| check_mtu(at, m).map_err(|_| ()))
        .map_err(|_| at.err(format!("'{v}' is not a valid MTU"), "a number from 68 to 65535"))
}

/// Reads the bond's own `.network` file into the draft.
fn read_bond_network(f: &UnitFile, d: &mut Draft, warnings: &mut Vec<Diag>) -> Result<(), ConfigError> {
    unknown_keys(f, |s, k| known(NETWORK_KEYS, s, k) || known(IGNORED_NETWORK, s, k), |s| NETWORK_KEYS.iter().any(|(n, _)| *n == s), warnings);
    if let Some(e) = f.get("Network", "Bond").filter(|e| !e.value.is_empty()) {
        return Err(f.at(e).err(format!("{} is a bond and cannot be enslaved to {} (nested bonds are not supported)", d.name, e.value), "no Bond= in the bond's own .network file"));
    }
    for key in ["PrimarySlave", "ActiveSlave"] {
        if let Some(e) = f.get("Network", key) {
            if bool_of(f, e)? {
                return Err(f.at(e).err(format!("{} is the bond itself, not a slave", d.name), format!("{key}=yes in a slave's .network file")));
            }
        }
    }
    if let Some(e) = f.get("Network", "DHCP").filter(|e| !e.value.is_empty()) {
        match e.value.to_ascii_lowercase().as_str() {
            "no" | "false" | "0" | "off" => {}
            "ipv6" => warnings.push(f.at(e).warn("IPv6 configuration is not supported by rbond; ignored")),
            _ => return Err(f.at(e).err(format!("DHCP={} is not supported by rbond", e.value), "DHCP=no with a static Address=")),
        }
    }
    // Addresses: [Network] Address= and [Address] Address=, in file order.
    let mut addrs: Vec<(String, At)> = f.list("Network", "Address").into_iter().map(|(a, e)| (a, f.at(e))).collect();
    addrs.extend(f.entries.iter().filter(|e| e.section == "Address" && e.key == "Address" && !e.value.is_empty()).map(|e| (e.value.clone(), f.at(e))));
    for (a, at) in addrs {
        match parse_cidr(&at, &a, true)? {
            None => warnings.push(at.warn(format!("{a}: IPv6 addresses are not supported by rbond; ignored"))),
            Some((ip, p)) => {
                if let Some((old, _, _)) = d.ipv4 {
                    return Err(at.err(format!("a second IPv4 address ({old} is already configured)"), "one IPv4 address per bond"));
                }
                if a.find('/').is_none() {
                    warnings.push(at.warn(format!("no prefix length: using /32 for {ip} (networkd's default)")));
                }
                check_host(&at, ip, p)?;
                d.ipv4 = Some((ip, p, at));
            }
        }
    }
    // Gateways: [Network] Gateway= and [Route] sections with Gateway= and no Destination.
    let mut gws: Vec<(String, At)> = f.list("Network", "Gateway").into_iter().map(|(g, e)| (g, f.at(e))).collect();
    // Each [Route] section is one route; only default routes (no Destination=) are rbond's.
    for (idx, _) in f.sections.iter().enumerate().filter(|(_, (s, _))| s == "Route") {
        let in_sec = |k: &str| f.entries.iter().rev().find(|e| e.sec == idx && e.key == k);
        let Some(g) = in_sec("Gateway").filter(|e| !e.value.is_empty()) else { continue };
        match in_sec("Destination").map(|e| e.value.as_str()) {
            None | Some("") | Some("0.0.0.0/0") => gws.push((g.value.clone(), f.at(g))),
            Some(other) => {
                return Err(f.at(g).err(format!("a route to {other}: rbond configures the default route only"), "[Route] Gateway= without Destination= (the default route)"))
            }
        }
    }
    for (g, at) in gws {
        if g.starts_with("_dhcp") || g.starts_with("_ipv6") {
            return Err(at.err(format!("Gateway={g} needs DHCP or router advertisements, which rbond does not do"), "a static IPv4 gateway address"));
        }
        match g.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => warnings.push(at.warn(format!("{g}: IPv6 gateways are not supported by rbond; ignored"))),
            Ok(IpAddr::V4(v4)) => {
                if let Some((old, _)) = &d.gateway {
                    if *old != v4 {
                        return Err(at.err(format!("a second default gateway ({old} is already configured)"), "one IPv4 gateway per bond"));
                    }
                }
                d.gateway = Some((v4, at));
            }
            Err(_) => return Err(at.err(format!("'{g}' is not an IP address"), "the IPv4 address of a router in the bond's subnet")),
        }
    }
    for (s, e) in f.list("Network", "DNS") {
        // DNS= may carry %interface, :port or #name suffixes (systemd.network(5)); rbond writes
        // resolv.conf, which takes plain addresses.
        let ip = s.parse::<IpAddr>().map_err(|_| f.at(e).err(format!("'{s}' is not an IP address"), "the IPv4 or IPv6 address of a name server"))?;
        d.dns.push(ip);
    }
    let search: Vec<String> = f.list("Network", "Domains").into_iter().map(|(s, _)| s).filter(|s| !s.starts_with('~')).collect();
    if !search.is_empty() {
        d.domain = Some(search.join(" "));
    }
    if let Some(e) = f.get("Link", "MTUBytes").filter(|e| !e.value.is_empty()) {
        d.mtu = Some(parse_mtu(&f.at(e), &e.value)?);
    }
    if let Some(e) = f.get("Link", "MACAddress").filter(|e| !e.value.is_empty()) {
        d.macaddr = Some(parse_mac(&f.at(e), &e.value)?);
    }
    if let Some(e) = f.get("Link", "ActivationPolicy").filter(|e| !e.value.is_empty()) {
        d.onboot = match e.value.as_str() {
            "up" | "always-up" | "bound" => true,
            "manual" | "down" | "always-down" => false,
            v => return Err(f.at(e).err(format!("unknown activation policy '{v}'"), "up, always-up, manual, always-down, down or bound")),
        };
    }
    Ok(())
}

/// Interpret lexed files into bonds. `base` holds the module defaults.
pub fn build(files: &[UnitFile], base: &BondOptions, tx_queues: u16, warnings: &mut Vec<Diag>) -> Result<Vec<BondSpec>, ConfigError> {
    // 1. The bonds: .netdev files with Kind=bond.
    let mut drafts: Vec<Draft> = Vec::new();
    for f in files.iter().filter(|f| f.path.extension().is_some_and(|x| x == "netdev")) {
        let Some((name, at)) = netdev_bond_name(f)? else { continue };
        if let Some(other) = drafts.iter().find(|d| d.name == name) {
            return Err(at.err(format!("{name} is also created by {}", other.source.display()), "one .netdev file per bond"));
        }
        unknown_keys(
            f,
            |s, k| (s == "NetDev" && NETDEV_KEYS.contains(&k)) || (s == "Bond" && BOND_KEYS.iter().any(|(n, _, _)| *n == k)),
            |s| matches!(s, "NetDev" | "Bond" | "Match"),
            warnings,
        );
        for e in f.entries.iter().filter(|e| e.section == "Match") {
            warnings.push(f.at(e).warn("conditions in a .netdev's [Match] are not evaluated by rbond; the bond is created"));
        }
        let mut d = Draft::new(&name, &f.path);
        if let Some(e) = f.get("NetDev", "MTUBytes").filter(|e| !e.value.is_empty()) {
            d.mtu = Some(parse_mtu(&f.at(e), &e.value)?);
        }
        if let Some(e) = f.get("NetDev", "MACAddress").filter(|e| !e.value.is_empty()) {
            d.macaddr = Some(parse_mac(&f.at(e), &e.value)?);
        }
        for (key, opt, kind) in BOND_KEYS {
            if *kind == Kind::Targets {
                for (t, e) in f.list("Bond", key) {
                    d.opts.push(((*opt).to_string(), t, f.at(e)));
                }
                continue;
            }
            let Some(e) = f.get("Bond", key) else { continue };
            if e.value.is_empty() {
                continue; // an empty assignment resets to the kernel default
            }
            let at = f.at(e);
            for v in convert(&at, opt, *kind, &e.value, Unit::Seconds, warnings)? {
                d.opts.push(((*opt).to_string(), v, at.clone()));
            }
        }
        drafts.push(d);
    }
    // 2. .network files: the first one matching an interface applies to it.
    let mut claimed: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut primary: BTreeMap<String, (String, At)> = BTreeMap::new();
    for f in files.iter().filter(|f| f.path.extension().is_some_and(|x| x == "network")) {
        let Some(names) = match_names(f, warnings)? else {
            if f.get("Network", "Bond").is_some_and(|e| !e.value.is_empty()) {
                warnings.push(Diag::new(&f.path, 0, None, "no [Match] Name=: rbond cannot tell which interfaces this file enslaves; file ignored"));
            }
            continue;
        };
        let bond_to = f.get("Network", "Bond").filter(|e| !e.value.is_empty());
        let mut warned = false;
        for (n, at) in names {
            if let Some(other) = claimed.get(&n) {
                let ours = drafts.iter().any(|d| d.name == n) || bond_to.is_some();
                if ours {
                    warnings.push(at.warn(format!("{n} is already matched by {}; networkd applies only the first matching file", other.display())));
                }
                continue;
            }
            claimed.insert(n.clone(), f.path.clone());
            if let Some(d) = drafts.iter_mut().find(|d| d.name == n) {
                read_bond_network(f, d, warnings)?;
                continue;
            }
            let Some(b) = bond_to else { continue };
            let Some(d) = drafts.iter_mut().find(|d| d.name == b.value) else {
                let names: Vec<&str> = drafts.iter().map(|d| d.name.as_str()).collect();
                let expected = if names.is_empty() { "the Name= of a .netdev file with Kind=bond".to_string() } else { format!("one of the bonds: {}", names.join(", ")) };
                return Err(f.at(b).err(format!("no .netdev file creates a bond named {}", b.value), expected));
            };
            // Once per file, though it may match several slaves.
            if !std::mem::replace(&mut warned, true) {
                unknown_keys(f, |s, k| known(NETWORK_KEYS, s, k) || known(IGNORED_NETWORK, s, k), |s| NETWORK_KEYS.iter().any(|(n, _)| *n == s), warnings);
                for e in &f.entries {
                    if NOT_ON_SLAVE.contains(&(e.section.as_str(), e.key.as_str())) && !e.value.is_empty() {
                        warnings.push(f.at(e).warn("ignored on a slave: the bond carries addresses, MTU and MAC"));
                    }
                }
            }
            for (key, opt) in [("PrimarySlave", "primary"), ("ActiveSlave", "active_slave")] {
                if let Some(e) = f.get("Network", key) {
                    if bool_of(f, e)? {
                        let slot = format!("{}/{opt}", d.name);
                        if let Some((other, _)) = primary.get(&slot) {
                            return Err(f.at(e).err(format!("{other} is already the {opt} of {}", d.name), format!("{key}=yes on one slave of {} only", d.name)));
                        }
                        primary.insert(slot, (n.clone(), f.at(e)));
                        d.opts.push((opt.to_string(), n.clone(), f.at(e)));
                    }
                }
            }
            d.slaves.push(SlaveSpec { name: n.clone(), source: f.path.clone() });
        }
    }
    let mut bonds = Vec::new();
    for d in drafts {
        if d.slaves.is_empty() {
            warnings.push(Diag::new(&d.source, 0, None, format!("bond {} has no slaves (no .network file with [Network] Bond={})", d.name, d.name)));
        }
        bonds.push(finish(d, base, tx_queues, warnings)?);
    }
    Ok(bonds)
}

// ---------------------------------------------------------------------------------------------
// Shared with the netplan reader: drafts, value conversions, validation into a BondSpec.

/// Where a value was written: file, 1-based line (0: the file as a whole) and the key as the
/// admin wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct At {
    pub file: PathBuf,
    pub line: usize,
    pub key: String,
}

impl At {
    pub fn err(&self, problem: impl Into<String>, expected: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.file, self.line, Some(&self.key), problem, expected)
    }
    pub fn warn(&self, msg: impl Into<String>) -> Diag {
        Diag::new(&self.file, self.line, Some(&self.key), msg)
    }
}

/// A bond as networkd or netplan describe it, in kernel terms, not yet validated.
#[derive(Clone, Debug)]
pub struct Draft {
    pub name: String,
    /// The file that defines the bond (the .netdev, or the YAML file with its `bonds:` entry).
    pub source: PathBuf,
    /// (kernel option, value in sysfs syntax, where it was written), any order.
    pub opts: Vec<(String, String, At)>,
    pub slaves: Vec<SlaveSpec>,
    /// Address, prefix length, where.
    pub ipv4: Option<(Ipv4Addr, u8, At)>,
    pub gateway: Option<(Ipv4Addr, At)>,
    pub dns: Vec<IpAddr>,
    pub domain: Option<String>,
    pub mtu: Option<u32>,
    pub macaddr: Option<MacAddr>,
    pub onboot: bool,
}

impl Draft {
    pub fn new(name: &str, source: &Path) -> Draft {
        Draft {
            name: name.to_string(),
            source: source.to_path_buf(),
            opts: Vec::new(),
            slaves: Vec::new(),
            ipv4: None,
            gateway: None,
            dns: Vec::new(),
            domain: None,
            mtu: None,
            macaddr: None,
            onboot: true,
        }
    }
}

/// How a format writes an option's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A name from the kernel's table (`active-backup`); numbers are not accepted.
    Word,
    /// An unsigned number.
    Number,
    /// A boolean, written as 0/1.
    Bool,
    /// A time span, written in milliseconds.
    Ms,
    /// A time span, written in seconds (lp_interval).
    Secs,
    /// IPv4 addresses, one option write each.
    Targets,
    /// A MAC address.
    Mac,
}

/// What a time span without a unit means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// systemd.time(7): seconds.
    Seconds,
    /// netplan's intervals: milliseconds (netplan appends `ms` before handing them to networkd).
    Millis,
}

/// A time span in systemd.time(7) syntax (`100ms`, `1s`, `0.1s`, `1min 30s`), in microseconds.
/// A number without a unit is in `bare`.
pub fn parse_timespan_us(s: &str, bare: Unit) -> Option<u128> {
    const UNITS: &[(&[&str], u128)] = &[
        (&["usec", "us", "µs", "μs"], 1),
        (&["msec", "ms"], 1_000),
        (&["seconds", "second", "sec", "s"], 1_000_000),
        (&["minutes", "minute", "min", "m"], 60_000_000),
        (&["hours", "hour", "hr", "h"], 3_600_000_000),
        (&["days", "day", "d"], 86_400_000_000),
        (&["weeks", "week", "w"], 604_800_000_000),
        (&["months", "month", "M"], 2_629_800_000_000),
        (&["years", "year", "y"], 31_557_600_000_000),
    ];
    let bare_us = match bare {
        Unit::Seconds => 1_000_000,
        Unit::Millis => 1_000,
    };
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let int: &str = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let l = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            if l == 0 {
                return None;
            }
            frac = &r[..l];
            rest = &r[l..];
        }
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        rest = rest.trim_start();
        let ulen = rest.find(|c: char| !(c.is_alphabetic())).unwrap_or(rest.len());
        let word = &rest[..ulen];
        rest = rest[ulen..].trim_start();
        let mult = if word.is_empty() { bare_us } else { UNITS.iter().find(|(ws, _)| ws.contains(&word))?.1 };
        let i: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut v = i.checked_mul(mult)?;
        if !frac.is_empty() {
            let digits = frac.len().min(20) as u32;
            let f: u128 = frac[..digits as usize].parse().ok()?;
            v = v.checked_add(f * mult / 10u128.pow(digits))?;
        }
        total = total.checked_add(v)?;
    }
    Some(total)
}

/// The kernel's names for an enum-like option, for "numbers are not accepted here".
fn names_of(opt: &str) -> String {
    lookup(opt).map(|d| d.values().iter().map(|v| v.name).filter(|n| *n != "default").collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

/// Turn a format's value into the kernel's value(s) for `opt`. The kernel-side check (range,
/// names, mode) is left to the core, through `finish`.
pub fn convert(at: &At, opt: &str, kind: Kind, raw: &str, bare: Unit, warnings: &mut Vec<Diag>) -> Result<Vec<String>, ConfigError> {
    let raw = raw.trim();
    let span_hint = match bare {
        Unit::Seconds => "a time span such as 100ms, 1s or 0.1s (a number without unit means seconds)",
        Unit::Millis => "a number of milliseconds, or a time span such as 100ms or 1s",
    };
    Ok(match kind {
        Kind::Word => {
            if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
                return Err(at.err(format!("'{raw}' is a number; this format takes the name"), format!("one of: {}", names_of(opt))));
            }
            vec![raw.to_string()]
        }
        Kind::Number => {
            if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
                let hint = lookup(opt).map(|d| d.accepted()).unwrap_or_else(|| "a number".into());
                return Err(at.err(format!("'{raw}' is not a number"), hint));
            }
            vec![raw.to_string()]
        }
        Kind::Bool => match parse_bool(raw) {
            Some(b) => vec![if b { "1" } else { "0" }.to_string()],
            None => return Err(at.err(format!("'{raw}' is not a boolean"), "yes or no (also true/false, on/off, 1/0)")),
        },
        Kind::Ms | Kind::Secs => {
            let Some(us) = parse_timespan_us(raw, bare) else {
                return Err(at.err(format!("'{raw}' is not a time span"), span_hint));
            };
            let unit: u128 = if kind == Kind::Ms { 1_000 } else { 1_000_000 };
            if us % unit != 0 {
                let (n, u) = if kind == Kind::Ms { (us / unit, "ms") } else { (us / unit, "s") };
                warnings.push(at.warn(format!("{raw} is not a whole number of {}; the kernel gets {n}{u} (networkd truncates)", if u == "ms" { "milliseconds" } else { "seconds" })));
            }
            vec![(us / unit).to_string()]
        }
        Kind::Targets => raw.split_whitespace().map(str::to_string).collect(),
        Kind::Mac => vec![raw.to_string()],
    })
}

/// `a.b.c.d/p` (or without `/p`, then /32 if `default_host`): Ok(None) for IPv6.
pub fn parse_cidr(at: &At, s: &str, default_host: bool) -> Result<Option<(Ipv4Addr, u8)>, ConfigError> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let expected = "an IPv4 address with its prefix length, such as 198.18.1.11/24";
    match a.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => Ok(None),
        Ok(IpAddr::V4(ip)) => {
            let prefix = match p {
                Some(p) => match p.parse::<u8>() {
                    Ok(n) if (1..=32).contains(&n) => n,
                    _ => return Err(at.err(format!("'{p}' is not a prefix length"), "a prefix length from 1 to 32 after the '/'")),
                },
                None if default_host => 32,
                None => return Err(at.err(format!("'{s}' has no prefix length"), expected)),
            };
            Ok(Some((ip, prefix)))
        }
        Err(_) => Err(at.err(format!("'{s}' is not an IP address"), expected)),
    }
}

pub fn parse_mac(at: &At, v: &str) -> Result<MacAddr, ConfigError> {
    match MacAddr::parse(v) {
        Some(m) if !m.is_multicast() && !m.is_zero() => Ok(m),
        Some(_) => Err(at.err(format!("{v} is a multicast or all-zero address"), "a unicast MAC address such as 02:00:00:00:00:01")),
        None => Err(at.err(format!("'{v}' is not a MAC address"), "six hex bytes separated by colons, e.g. 02:00:00:00:00:01")),
    }
}

pub fn check_mtu(at: &At, m: u64) -> Result<u32, ConfigError> {
    if (68..=65535).contains(&m) {
        Ok(m as u32)
    } else {
        Err(at.err(format!("'{m}' is not a valid MTU"), "a number from 68 to 65535"))
    }
}

fn mask(p: u8) -> u32 {
    if p == 0 {
        0
    } else {
        u32::MAX << (32 - p as u32)
    }
}

fn net_of(a: Ipv4Addr, p: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(a) & mask(p))
}

/// The bond's own address must be a unicast host address of its subnet.
pub fn check_host(at: &At, ip: Ipv4Addr, prefix: u8) -> Result<(), ConfigError> {
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() || ip.octets()[0] >= 240 {
        return Err(at.err(format!("{ip} cannot be a host address"), "a unicast IPv4 address such as 198.18.0.11"));
    }
    if prefix <= 30 {
        let host = u32::from(ip) & !mask(prefix);
        let net = net_of(ip, prefix);
        if host == 0 {
            return Err(at.err(format!("{ip} is the network address of {net}/{prefix}"), "a host address inside the subnet"));
        }
        if host == !mask(prefix) {
            return Err(at.err(format!("{ip} is the broadcast address of {net}/{prefix}"), "a host address inside the subnet"));
        }
    }
    Ok(())
}

/// The gateway must be another host of the bond's subnet (the kernel refuses a route via an
/// unreachable gateway).
fn check_gateway(at: &At, g: Ipv4Addr, ip: Option<(Ipv4Addr, u8)>) -> Result<(), ConfigError> {
    let Some((ip, prefix)) = ip else {
        return Err(at.err(format!("gateway {g} without an IPv4 address on the bond"), "an IPv4 address on the bond next to the gateway"));
    };
    let net = net_of(ip, prefix);
    if net_of(g, prefix) != net {
        return Err(at.err(
            format!("{g} is not in the bond's subnet {net}/{prefix}; the kernel refuses such a route (Network is unreachable)"),
            format!("a gateway address inside {net}/{prefix}"),
        ));
    }
    if g == ip {
        return Err(at.err(format!("{g} is the bond's own address"), "the address of a router in the subnet"));
    }
    let host = u32::from(g) & !mask(prefix);
    if prefix <= 30 && (host == 0 || host == !mask(prefix)) {
        return Err(at.err(format!("{g} is the network or broadcast address of {net}/{prefix}"), "the address of a router in the subnet"));
    }
    Ok(())
}

/// Validate a draft into a `BondSpec`, the way the ifcfg reader validates BONDING_OPTS: the
/// option writes go through `bonding_opts::apply` on top of the module defaults, so a refusal
/// reads the same whichever format the option came from.
pub fn finish(d: Draft, base: &BondOptions, tx_queues: u16, warnings: &mut Vec<Diag>) -> Result<BondSpec, ConfigError> {
    let name = d.name.clone();
    let mut opts = d.opts;
    // networkd hands all options to the kernel in one netlink message, which the kernel applies
    // in its fixed attribute order (mode first, monitors before the delays and arp targets):
    // the option table's order. The file order does not matter.
    opts.sort_by_key(|(k, _, _)| OPTIONS.iter().position(|o| o.name == k).unwrap_or(usize::MAX));
    for (k, v, at) in &opts {
        if v.is_empty() || v.contains(char::is_whitespace) || v.contains('=') {
            let hint = lookup(k).map(|d| d.accepted()).unwrap_or_else(|| "a single word".into());
            return Err(at.err(format!("'{v}' is not a value for {k}"), hint));
        }
    }
    // One option more at a time, so a refusal (or a warning) points at the line that caused it.
    let mut text = String::new();
    let mut applied = bonding_opts::apply(base, "").map_err(|e| ConfigError::new(&d.source, 0, None, e.problem, e.expected))?;
    for (k, v, at) in &opts {
        text.push_str(&format!("{k}={v} "));
        let a = bonding_opts::apply(base, &text).map_err(|e| at.err(e.problem, e.expected))?;
        for w in a.warnings.get(applied.warnings.len()..).unwrap_or(&[]) {
            warnings.push(at.warn(w.clone()));
        }
        applied = a;
    }
    let slave_names: Vec<&str> = d.slaves.iter().map(|s| s.name.as_str()).collect();
    // The line that set a post-enslave option, for its warning or refusal.
    let line_of = |k: &str, v: &str| opts.iter().rev().find(|(ok, ov, _)| ok == k && ov == v).map(|(_, _, at)| at);
    let done = bonding_opts::finish(&applied, &name, &slave_names, tx_queues).map_err(|p| match line_of(&p.key, &p.value) {
        Some(at) => at.err(p.problem, p.expected),
        None => ConfigError::new(&d.source, 0, None, p.problem, p.expected),
    })?;
    for (k, v, w) in done.warnings {
        match line_of(&k, &v) {
            Some(at) => warnings.push(at.warn(w)),
            None => warnings.push(Diag::new(&d.source, 0, None, w)),
        }
    }
    let (writes, post) = (done.writes, done.post);
    if let Some((g, at)) = &d.gateway {
        check_gateway(at, *g, d.ipv4.as_ref().map(|(a, p, _)| (*a, *p)))?;
    }
    Ok(BondSpec {
        name,
        source: d.source,
        opts: writes,
        post_opts: post,
        effective: applied.effective,
        slaves: d.slaves,
        ipv4: d.ipv4.map(|(a, p, _)| (a, p)),
        gateway: d.gateway.map(|(g, _)| g),
        defroute: true,
        dns: d.dns,
        domain: d.domain,
        peerdns: true,
        mtu: d.mtu,
        macaddr: d.macaddr,
        onboot: d.onboot,
        bootproto: BootProto::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        let ms = |s: &str| parse_timespan_us(s, Unit::Seconds).map(|u| u / 1000);
        assert_eq!(ms("100ms"), Some(100));
        assert_eq!(ms("1s"), Some(1000));
        assert_eq!(ms("0.1s"), Some(100));
        assert_eq!(ms("0.1"), Some(100), "a bare number is seconds");
        assert_eq!(ms("1min 30s"), Some(90_000));
        assert_eq!(ms("1s500ms"), Some(1500));
        assert_eq!(ms("2 h"), Some(7_200_000));
        assert_eq!(parse_timespan_us("100", Unit::Millis), Some(100_000));
        for bad in ["", "ms", "1 fortnight", "-1s", "1..2s", "infinity"] {
            assert_eq!(parse_timespan_us(bad, Unit::Seconds), None, "{bad}");
        }
    }

    #[test]
    fn ini_syntax() {
        let f = parse_unit(Path::new("x.netdev"), "# c\n[NetDev]\n Name = bond0 \n; c\nKind=bo\\\nnd\n[Bond]\nARPIPTargets=198.18.0.1\nARPIPTargets=\nARPIPTargets=198.18.0.2 198.18.0.3\n").unwrap();
        assert_eq!(f.get("NetDev", "Name").unwrap().value, "bond0");
        assert_eq!(f.get("NetDev", "Name").unwrap().line, 3);
        assert_eq!(f.get("NetDev", "Kind").unwrap().value, "bo nd", "a continuation joins with a space");
        let t: Vec<String> = f.list("Bond", "ARPIPTargets").into_iter().map(|(t, _)| t).collect();
        assert_eq!(t, vec!["198.18.0.2", "198.18.0.3"]);
        let e = parse_unit(Path::new("x.netdev"), "Name=bond0\n").unwrap_err();
        assert_eq!(e.to_string(), "x.netdev:1: Name: assignment outside of any section; expected a [Section] header (e.g. [NetDev] or [Network]) before it");
        let e = parse_unit(Path::new("x.netdev"), "[NetDev]\nName bond0\n").unwrap_err();
        assert_eq!(e.to_string(), "x.netdev:2: 'Name bond0' is not an assignment; expected Key=Value, a [Section] header or a # comment");
    }
}
