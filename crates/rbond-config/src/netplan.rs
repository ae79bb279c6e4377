//! netplan YAML (`network: {version: 2, ethernets: ..., bonds: ...}`) into the bond model, with
//! the semantics of netplan(5) and netplan-generate(8):
//!
//! - files are read in file name order whatever directory they are in; a file in an earlier
//!   given directory shadows one of the same name in a later one (netplan: /run over /etc
//!   over /lib); later files add mapping keys or override the values of existing ones (a
//!   sequence is replaced as a whole);
//! - `bonds.<name>` is the bond interface; `interfaces:` lists IDs from `ethernets:`, whose
//!   interface name is their `set-name:`, else their literal `match: {name: ...}`, else the ID;
//!   slaves are enslaved in `interfaces:` order;
//! - `parameters:` map to the kernel's options (below); intervals (mii-monitor-interval,
//!   up-delay, down-delay, arp-interval) are milliseconds when written without a unit, and
//!   otherwise a systemd time span (`1s`) as netplan passes them to networkd;
//!   learn-packet-interval without a unit is seconds (netplan passes it on as is);
//!   integer parameters set to 0 are not passed on by netplan, so the kernel default stays;
//! - `addresses:` (one IPv4 address with prefix; IPv6 ones are ignored with a warning),
//!   `routes:` with `to: default` (or `0.0.0.0/0`) or the older `gateway4:` give the default
//!   route, `nameservers: {addresses, search}` the resolver, and `mtu:`, `macaddress:`;
//!   `activation-mode: manual|off` keeps the bond out of `rbond up --all`;
//! - every option value goes through the same core validation as ifcfg's BONDING_OPTS (see
//!   `networkd::finish`), so refusals read the same.
//!
//! Decisions: netplan refuses unknown keys; rbond warns and ignores them (like it does for
//! ifcfg). DHCP is refused; device kinds other than bonds and ethernets are ignored with a
//! warning. Error locations are `file:line` of the YAML value, with its key path
//! (`bonds.bond0.parameters.mode`).

use crate::ifcfg::valid_ifname;
use crate::model::{BondSpec, ConfigError, Diag, SlaveSpec};
use crate::networkd::{check_host, check_mtu, convert, finish, parse_bool, parse_cidr, parse_mac, At, Draft, Kind, Unit};
use rbond_core::options::BondOptions;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// YAML into a tree that remembers file:line

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A YAML node with the file and 1-based line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub file: PathBuf,
    pub line: usize,
}

impl Node {
    fn at(&self, key: &str) -> At {
        At { file: self.file.clone(), line: self.line, key: key.to_string() }
    }
    /// The scalar text of a mapping key.
    fn key_text(&self) -> &str {
        match &self.value {
            Value::Scalar(s) => s,
            _ => "",
        }
    }
}

struct Builder<'a> {
    parser: Parser<'a, StrInput<'a>>,
    path: &'a Path,
    anchors: HashMap<usize, Node>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), ConfigError> {
        match self.parser.next_event() {
            Some(Ok(e)) => Ok(e),
            Some(Err(e)) => Err(ConfigError::new(self.path, e.marker().line(), None, format!("YAML syntax error: {}", e.info()), "valid YAML (netplan(5))")),
            None => Err(ConfigError::new(self.path, 0, None, "the YAML ends early", "valid YAML (netplan(5))")),
        }
    }

    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Node, ConfigError> {
        let line = span.start.line();
        let mk = |value| Node { value, file: self.path.to_path_buf(), line };
        let (node, anchor) = match ev {
            Event::Scalar(s, style, anchor, _) => {
                let null = style == ScalarStyle::Plain && matches!(s.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                (mk(if null { Value::Null } else { Value::Scalar(s.into_owned()) }), anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (e, sp) = self.next()?;
                    if e == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(e, sp)?);
                }
                (mk(Value::Seq(items)), anchor)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (e, sp) = self.next()?;
                    if e == Event::MappingEnd {
                        break;
                    }
                    let k = self.node(e, sp)?;
                    let (e, sp) = self.next()?;
                    let v = self.node(e, sp)?;
                    if !matches!(k.value, Value::Scalar(_)) {
                        return Err(ConfigError::new(self.path, k.line, None, "a mapping key that is not a plain word", "key: value with a scalar key"));
                    }
                    if let Some((first, _)) = entries.iter().find(|(ok, _)| ok.key_text() == k.key_text()) {
                        return Err(ConfigError::new(
                            self.path,
                            k.line,
                            Some(k.key_text()),
                            format!("duplicate key (first on line {})", first.line),
                            "each key once per mapping",
                        ));
                    }
                    entries.push((k, v));
                }
                (mk(Value::Map(entries)), anchor)
            }
            Event::Alias(id) => {
                let n = self.anchors.get(&id).cloned().ok_or_else(|| ConfigError::new(self.path, line, None, "an alias to an unknown anchor", "an &anchor defined before its *alias"))?;
                (Node { line, ..n }, 0)
            }
            other => return Err(ConfigError::new(self.path, line, None, format!("unexpected YAML event {other:?}"), "valid YAML (netplan(5))")),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

/// Parse one YAML file; None when it holds no document (empty or only comments).
pub fn parse_yaml(path: &Path, text: &str) -> Result<Option<Node>, ConfigError> {
    let mut b = Builder { parser: Parser::new_from_str(text), path, anchors: HashMap::new() };
    let mut doc = None;
    loop {
        let (e, sp) = b.next()?;
        match e {
            Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            e => {
                let n = b.node(e, sp)?;
                if doc.is_some() {
                    return Err(ConfigError::new(path, n.line, None, "a second YAML document in the file", "one document per netplan file"));
                }
                doc = Some(n);
            }
        }
    }
    Ok(doc)
}

/// netplan's merge: mappings merge key by key, anything else in `b` replaces `a`.
pub fn merge(a: Node, b: Node) -> Node {
    match (a.value, b.value) {
        (Value::Map(mut am), Value::Map(bm)) => {
            for (k, v) in bm {
                match am.iter().position(|(ak, _)| ak.key_text() == k.key_text()) {
                    Some(i) => {
                        let old = am.remove(i);
                        am.insert(i, (old.0, merge(old.1, v)));
                    }
                    None => am.push((k, v)),
                }
            }
            Node { value: Value::Map(am), file: a.file, line: a.line }
        }
        (_, bv) => Node { value: bv, file: b.file, line: b.line },
    }
}

/// The YAML files named by `paths` (files, or directories of `*.yaml`), shadowed by name (the
/// first given wins) and in file name order.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ConfigError> {
    let mut chosen: BTreeMap<std::ffi::OsString, PathBuf> = BTreeMap::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p)
                .map_err(|e| ConfigError::new(p, 0, None, format!("cannot read the directory: {e}"), "a netplan YAML file or a directory of *.yaml files (--netplan)"))?;
            for e in rd.filter_map(|e| e.ok()) {
                let is_yaml = e.file_name().to_str().is_some_and(|n| n.ends_with(".yaml"));
                if is_yaml && e.file_type().map(|t| !t.is_dir()).unwrap_or(false) {
                    chosen.entry(e.file_name()).or_insert_with(|| e.path());
                }
            }
        } else {
            let name = p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            chosen.entry(name).or_insert_with(|| p.clone());
        }
    }
    Ok(chosen.into_values().collect())
}

/// Read and merge the files into one tree (None: no YAML document at all).
pub fn read_merged(files: &[PathBuf]) -> Result<Option<Node>, ConfigError> {
    let mut texts = Vec::new();
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| ConfigError::new(f, 0, None, format!("cannot read the file: {e}"), "a readable netplan YAML file"))?;
        let text = String::from_utf8(bytes).map_err(|_| ConfigError::new(f, 0, None, "the file is not valid UTF-8 text", "UTF-8 YAML"))?;
        texts.push((f.clone(), text));
    }
    merge_texts(&texts)
}

/// The same from in-memory `(path, text)` pairs, already in merge order.
pub fn merge_texts(texts: &[(PathBuf, String)]) -> Result<Option<Node>, ConfigError> {
    let mut root: Option<Node> = None;
    for (p, t) in texts {
        let Some(doc) = parse_yaml(p, t)? else { continue };
        if !matches!(doc.value, Value::Map(_)) {
            return Err(ConfigError::new(p, doc.line, None, "the document is not a mapping", "a document starting with network:"));
        }
        root = Some(match root {
            None => doc,
            Some(r) => merge(r, doc),
        });
    }
    Ok(root)
}

// ---------------------------------------------------------------------------------------------
// The tree into drafts

fn entries<'n>(n: &'n Node, path: &str) -> Result<Vec<(&'n str, &'n Node)>, ConfigError> {
    match &n.value {
        Value::Null => Ok(Vec::new()),
        Value::Map(m) => Ok(m.iter().map(|(k, v)| (k.key_text(), v)).collect()),
        _ => Err(n.at(path).err("not a mapping", "key: value pairs (a YAML mapping)")),
    }
}

fn get<'n>(m: &[(&'n str, &'n Node)], key: &str) -> Option<&'n Node> {
    m.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).filter(|v| v.value != Value::Null)
}

fn scalar<'n>(n: &'n Node, path: &str) -> Result<&'n str, ConfigError> {
    match &n.value {
        Value::Scalar(s) => Ok(s),
        _ => Err(n.at(path).err("not a single value", "a scalar value")),
    }
}

fn seq<'n>(n: &'n Node, path: &str) -> Result<&'n [Node], ConfigError> {
    match &n.value {
        Value::Null => Ok(&[]),
        Value::Seq(s) => Ok(s),
        _ => Err(n.at(path).err("not a list", "a YAML list, e.g. [a, b]")),
    }
}

fn boolean(n: &Node, path: &str) -> Result<bool, ConfigError> {
    let s = scalar(n, path)?;
    parse_bool(s).ok_or_else(|| n.at(path).err(format!("'{s}' is not a boolean"), "true or false"))
}

/// netplan's bond parameters: (netplan key, kernel option, how the value is written).
const PARAMS: &[(&str, &str, Kind)] = &[
    ("mode", "mode", Kind::Word),
    ("lacp-rate", "lacp_rate", Kind::Word),
    ("mii-monitor-interval", "miimon", Kind::Ms),
    ("min-links", "min_links", Kind::Number),
    ("transmit-hash-policy", "xmit_hash_policy", Kind::Word),
    ("ad-select", "ad_select", Kind::Word),
    ("all-members-active", "all_slaves_active", Kind::Bool),
    ("all-slaves-active", "all_slaves_active", Kind::Bool),
    ("arp-interval", "arp_interval", Kind::Ms),
    ("arp-ip-targets", "arp_ip_target", Kind::Targets),
    ("arp-validate", "arp_validate", Kind::Word),
    ("arp-all-targets", "arp_all_targets", Kind::Word),
    ("up-delay", "updelay", Kind::Ms),
    ("down-delay", "downdelay", Kind::Ms),
    ("fail-over-mac-policy", "fail_over_mac", Kind::Word),
    ("gratuitous-arp", "num_grat_arp", Kind::Number),
    // netplan accepts its historical misspelling too.
    ("gratuitious-arp", "num_grat_arp", Kind::Number),
    ("packets-per-member", "packets_per_slave", Kind::Number),
    ("packets-per-slave", "packets_per_slave", Kind::Number),
    ("primary-reselect-policy", "primary_reselect", Kind::Word),
    ("resend-igmp", "resend_igmp", Kind::Number),
    ("learn-packet-interval", "lp_interval", Kind::Secs),
];

/// Bond keys rbond reads; `IGNORED_BOND_KEYS` are accepted without effect.
const BOND_KEYS: &[&str] =
    &["interfaces", "parameters", "addresses", "gateway4", "gateway6", "routes", "nameservers", "mtu", "macaddress", "dhcp4", "dhcp6", "activation-mode"];
const IGNORED_BOND_KEYS: &[&str] =
    &["optional", "critical", "renderer", "link-local", "accept-ra", "ipv6-privacy", "dhcp4-overrides", "dhcp6-overrides", "dhcp-identifier", "ignore-carrier"];
/// Device kinds rbond does not configure.
const OTHER_KINDS: &[&str] = &["bridges", "vlans", "wifis", "tunnels", "vrfs", "dummy-devices", "virtual-ethernets", "modems", "nm-devices"];
/// Keys on a bond member that belong to the bond.
const NOT_ON_SLAVE: &[&str] = &["addresses", "gateway4", "gateway6", "routes", "nameservers", "mtu", "macaddress"];

/// The interface name of an `ethernets:` entry.
fn ethernet_name(id: &str, def: &Node, path: &str) -> Result<String, ConfigError> {
    let m = entries(def, path)?;
    let (name, at) = if let Some(n) = get(&m, "set-name") {
        (scalar(n, &format!("{path}.set-name"))?.to_string(), n.at(&format!("{path}.set-name")))
    } else if let Some(mt) = get(&m, "match") {
        let mp = format!("{path}.match");
        let mm = entries(mt, &mp)?;
        match get(&mm, "name") {
            Some(n) => {
                let s = scalar(n, &format!("{mp}.name"))?;
                if s.contains(['*', '?', '[']) {
                    return Err(n.at(&format!("{mp}.name")).err(format!("'{s}' is a pattern; rbond does not expand patterns against the interfaces present"), "a literal interface name, or set-name:"));
                }
                (s.to_string(), n.at(&format!("{mp}.name")))
            }
            None => return Err(mt.at(&mp).err("a match without name: leaves the interface name open", format!("set-name: <interface name> next to match: in {path}"))),
        }
    } else {
        (id.to_string(), def.at(path))
    };
    if !valid_ifname(&name) {
        return Err(at.err(format!("'{name}' is not a valid interface name"), "1 to 15 characters, without '/', ':' or spaces"));
    }
    Ok(name)
}

fn read_params(p: &Node, path: &str, d: &mut Draft, ids: &HashMap<String, String>, warnings: &mut Vec<Diag>) -> Result<(), ConfigError> {
    for (k, v) in entries(p, path)? {
        let kp = format!("{path}.{k}");
        if v.value == Value::Null {
            continue;
        }
        if k == "primary" {
            let id = scalar(v, &kp)?;
            // netplan names members by ID; the kernel wants the interface name.
            let name = ids.get(id).cloned().unwrap_or_else(|| id.to_string());
            d.opts.push(("primary".into(), name, v.at(&kp)));
            continue;
        }
        let Some((_, opt, kind)) = PARAMS.iter().find(|(n, _, _)| *n == k) else {
            warnings.push(v.at(&kp).warn("unknown bond parameter, ignored"));
            continue;
        };
        let at = v.at(&kp);
        if *kind == Kind::Targets {
            for t in seq(v, &kp)? {
                d.opts.push((opt.to_string(), scalar(t, &kp)?.to_string(), t.at(&kp)));
            }
            continue;
        }
        let raw = match &v.value {
            Value::Scalar(s) => s.as_str(),
            _ => return Err(at.err("not a single value", "a scalar value")),
        };
        if *kind == Kind::Number && raw == "0" {
            warnings.push(at.warn(format!("netplan does not pass 0 on (it means unset): the kernel's default {opt} stays")));
            continue;
        }
        // Intervals without a unit are milliseconds, except learn-packet-interval (seconds).
        let bare = if *kind == Kind::Secs { Unit::Seconds } else { Unit::Millis };
        for val in convert(&at, opt, *kind, raw, bare, warnings)? {
            d.opts.push((opt.to_string(), val, at.clone()));
        }
    }
    Ok(())
}

fn read_routes(routes: &Node, path: &str, d: &mut Draft, warnings: &mut Vec<Diag>) -> Result<(), ConfigError> {
    for (i, r) in seq(routes, path)?.iter().enumerate() {
        let rp = format!("{path}[{i}]");
        let m = entries(r, &rp)?;
        let to = get(&m, "to").map(|n| scalar(n, &format!("{rp}.to"))).transpose()?;
        let Some(via_node) = get(&m, "via") else {
            return Err(r.at(&rp).err("a route without via:", "a default route: {to: default, via: <gateway>}"));
        };
        let vp = format!("{rp}.via");
        let via = scalar(via_node, &vp)?;
        for (k, n) in &m {
            if !matches!(*k, "to" | "via") {
                warnings.push(n.at(&format!("{rp}.{k}")).warn("route property not supported by rbond; ignored"));
            }
        }
        let via_ip: IpAddr = via.parse().map_err(|_| via_node.at(&vp).err(format!("'{via}' is not an IP address"), "the IPv4 address of a router in the bond's subnet"))?;
        match (to, via_ip) {
            (Some("default") | Some("0.0.0.0/0"), IpAddr::V4(g)) => set_gateway(d, g, via_node.at(&vp))?,
            (Some("default") | Some("::/0"), IpAddr::V6(_)) => warnings.push(via_node.at(&vp).warn("IPv6 routes are not supported by rbond; ignored")),
            (to, _) => {
                return Err(r.at(&rp).err(format!("a route to {}: rbond configures the default route only", to.unwrap_or("(no to:)")), "to: default with an IPv4 via:"))
            }
        }
    }
    Ok(())
}

fn set_gateway(d: &mut Draft, g: std::net::Ipv4Addr, at: At) -> Result<(), ConfigError> {
    if let Some((old, _)) = &d.gateway {
        if *old != g {
            return Err(at.err(format!("a second default gateway ({old} is already configured)"), "one IPv4 gateway per bond"));
        }
    }
    d.gateway = Some((g, at));
    Ok(())
}

fn read_bond(name: &str, key: &Node, def: &Node, ids: &HashMap<String, String>, claimed: &mut HashMap<String, String>, warnings: &mut Vec<Diag>) -> Result<Draft, ConfigError> {
    let path = format!("bonds.{name}");
    if !valid_ifname(name) {
        return Err(key.at(&path).err(format!("'{name}' is not a valid interface name"), "1 to 15 characters, without '/', ':' or spaces"));
    }
    let mut d = Draft::new(name, &key.file);
    let m = entries(def, &path)?;
    for (k, v) in &m {
        if !BOND_KEYS.contains(k) && !IGNORED_BOND_KEYS.contains(k) {
            warnings.push(v.at(&format!("{path}.{k}")).warn("unknown key, ignored"));
        }
    }
    if let Some(list) = get(&m, "interfaces") {
        let ip = format!("{path}.interfaces");
        for item in seq(list, &ip)? {
            let id = scalar(item, &ip)?;
            let Some(ifname) = ids.get(id) else {
                let mut known: Vec<&str> = ids.keys().map(String::as_str).collect();
                known.sort();
                let expected = if known.is_empty() { "an ID defined under ethernets:".to_string() } else { format!("an ID from ethernets: {}", known.join(", ")) };
                return Err(item.at(&ip).err(format!("'{id}' is not defined in ethernets:"), expected));
            };
            if let Some(other) = claimed.insert(ifname.clone(), name.to_string()) {
                return Err(item.at(&ip).err(format!("{ifname} is already a member of {other}"), "each interface in one bond only"));
            }
            d.slaves.push(SlaveSpec { name: ifname.clone(), source: item.file.clone() });
        }
    }
    if let Some(p) = get(&m, "parameters") {
        read_params(p, &format!("{path}.parameters"), &mut d, ids, warnings)?;
    }
    if let Some(v) = get(&m, "dhcp4") {
        if boolean(v, &format!("{path}.dhcp4"))? {
            return Err(v.at(&format!("{path}.dhcp4")).err("DHCP is not supported by rbond", "dhcp4: false with static addresses:"));
        }
    }
    if let Some(v) = get(&m, "dhcp6") {
        if boolean(v, &format!("{path}.dhcp6"))? {
            warnings.push(v.at(&format!("{path}.dhcp6")).warn("IPv6 configuration is not supported by rbond; ignored"));
        }
    }
    if let Some(list) = get(&m, "addresses") {
        let ap = format!("{path}.addresses");
        for item in seq(list, &ap)? {
            // An address is a scalar, or a one-key mapping {addr: {lifetime, label}}.
            let text = match &item.value {
                Value::Map(kv) if kv.len() == 1 => kv[0].0.key_text().to_string(),
                _ => scalar(item, &ap)?.to_string(),
            };
            let at = item.at(&ap);
            match parse_cidr(&at, &text, false)? {
                None => warnings.push(at.warn(format!("{text}: IPv6 addresses are not supported by rbond; ignored"))),
                Some((ip, p)) => {
                    if let Some((old, _, _)) = d.ipv4 {
                        return Err(at.err(format!("a second IPv4 address ({old} is already configured)"), "one IPv4 address per bond"));
                    }
                    check_host(&at, ip, p)?;
                    d.ipv4 = Some((ip, p, at));
                }
            }
        }
    }
    if let Some(g) = get(&m, "gateway4") {
        let gp = format!("{path}.gateway4");
        let s = scalar(g, &gp)?;
        let ip = s.parse().map_err(|_| g.at(&gp).err(format!("'{s}' is not an IPv4 address"), "the IPv4 address of a router in the bond's subnet"))?;
        set_gateway(&mut d, ip, g.at(&gp))?;
    }
    if let Some(g) = get(&m, "gateway6") {
        warnings.push(g.at(&format!("{path}.gateway6")).warn("IPv6 routes are not supported by rbond; ignored"));
    }
    if let Some(r) = get(&m, "routes") {
        read_routes(r, &format!("{path}.routes"), &mut d, warnings)?;
    }
    if let Some(ns) = get(&m, "nameservers") {
        let np = format!("{path}.nameservers");
        let nm = entries(ns, &np)?;
        if let Some(a) = get(&nm, "addresses") {
            for item in seq(a, &format!("{np}.addresses"))? {
                let s = scalar(item, &format!("{np}.addresses"))?;
                let ip = s.parse::<IpAddr>().map_err(|_| item.at(&format!("{np}.addresses")).err(format!("'{s}' is not an IP address"), "the IPv4 or IPv6 address of a name server"))?;
                d.dns.push(ip);
            }
        }
        if let Some(sr) = get(&nm, "search") {
            let words: Vec<String> = seq(sr, &format!("{np}.search"))?.iter().map(|n| scalar(n, &format!("{np}.search")).map(str::to_string)).collect::<Result<_, _>>()?;
            if !words.is_empty() {
                d.domain = Some(words.join(" "));
            }
        }
    }
    if let Some(v) = get(&m, "mtu") {
        let mp = format!("{path}.mtu");
        let s = scalar(v, &mp)?;
        let n: u64 = s.parse().map_err(|_| v.at(&mp).err(format!("'{s}' is not a valid MTU"), "a number from 68 to 65535"))?;
        d.mtu = Some(check_mtu(&v.at(&mp), n)?);
    }
    if let Some(v) = get(&m, "macaddress") {
        let mp = format!("{path}.macaddress");
        d.macaddr = Some(parse_mac(&v.at(&mp), scalar(v, &mp)?)?);
    }
    if let Some(v) = get(&m, "activation-mode") {
        let ap = format!("{path}.activation-mode");
        d.onboot = match scalar(v, &ap)? {
            "manual" | "off" => false,
            other => return Err(v.at(&ap).err(format!("unknown activation mode '{other}'"), "manual or off")),
        };
    }
    if d.slaves.is_empty() {
        warnings.push(key.at(&path).warn(format!("bond {name} has no slaves (no interfaces: list)")));
    }
    Ok(d)
}

/// Interpret the merged tree into bonds. `base` holds the module defaults.
pub fn build(root: Option<&Node>, base: &BondOptions, tx_queues: u16, warnings: &mut Vec<Diag>) -> Result<Vec<BondSpec>, ConfigError> {
    let Some(root) = root else { return Ok(Vec::new()) };
    let top = entries(root, "")?;
    for (k, v) in &top {
        if *k != "network" {
            warnings.push(v.at(k).warn("unknown key, ignored"));
        }
    }
    let Some(net) = get(&top, "network") else {
        return Err(root.at("network").err("no network: mapping", "network: with version: 2 and bonds:"));
    };
    let nm = entries(net, "network")?;
    for (k, v) in &nm {
        match *k {
            "version" => {
                if scalar(v, "network.version")? != "2" {
                    return Err(v.at("network.version").err(format!("version {}", scalar(v, "network.version")?), "version: 2"));
                }
            }
            "renderer" | "ethernets" | "bonds" => {}
            k if OTHER_KINDS.contains(&k) => warnings.push(v.at(&format!("network.{k}")).warn("rbond configures bonds and their ethernets only; ignored")),
            k => warnings.push(v.at(&format!("network.{k}")).warn("unknown key, ignored")),
        }
    }
    // Ethernet IDs and their interface names.
    let mut ids: HashMap<String, String> = HashMap::new();
    let eths = get(&nm, "ethernets").map(|n| entries(n, "ethernets")).transpose()?.unwrap_or_default();
    for (id, def) in &eths {
        ids.insert(id.to_string(), ethernet_name(id, def, &format!("ethernets.{id}"))?);
    }
    let bonds_node = get(&nm, "bonds");
    let mut claimed: HashMap<String, String> = HashMap::new();
    let mut drafts = Vec::new();
    if let Some(bn) = bonds_node {
        let Value::Map(kv) = &bn.value else {
            return Err(bn.at("bonds").err("not a mapping", "bonds: with one entry per bond"));
        };
        for (k, def) in kv {
            drafts.push(read_bond(k.key_text(), k, def, &ids, &mut claimed, warnings)?);
        }
    }
    // Bond members carry no addresses of their own.
    for (id, def) in &eths {
        if !claimed.contains_key(&ids[*id]) {
            continue;
        }
        for (k, v) in entries(def, &format!("ethernets.{id}"))? {
            let dhcp_on = matches!(k, "dhcp4" | "dhcp6") && boolean(v, &format!("ethernets.{id}.{k}"))?;
            if (NOT_ON_SLAVE.contains(&k) && v.value != Value::Null) || dhcp_on {
                warnings.push(v.at(&format!("ethernets.{id}.{k}")).warn("ignored on a bond member: the bond carries addresses, MTU and MAC"));
            }
        }
    }
    drafts.into_iter().map(|d| finish(d, base, tx_queues, warnings)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_tree_lines_and_merge() {
        let a = parse_yaml(Path::new("a.yaml"), "network:\n  version: 2\n  bonds:\n    bond0:\n      interfaces: [eth0, eth1]\n      mtu: 1500\n").unwrap().unwrap();
        let b = parse_yaml(Path::new("b.yaml"), "network:\n  bonds:\n    bond0:\n      mtu: 9000\n").unwrap().unwrap();
        let m = merge(a, b);
        let top = entries(&m, "").unwrap();
        let net = entries(get(&top, "network").unwrap(), "").unwrap();
        let bonds = entries(get(&net, "bonds").unwrap(), "").unwrap();
        let b0 = entries(get(&bonds, "bond0").unwrap(), "").unwrap();
        let mtu = get(&b0, "mtu").unwrap();
        assert_eq!((mtu.value.clone(), mtu.file.as_path(), mtu.line), (Value::Scalar("9000".into()), Path::new("b.yaml"), 4));
        let ifs = get(&b0, "interfaces").unwrap();
        assert_eq!(ifs.line, 5);
        assert_eq!(seq(ifs, "").unwrap().len(), 2);
        assert_eq!(parse_yaml(Path::new("e.yaml"), "# nothing\n").unwrap(), None);
        let e = parse_yaml(Path::new("d.yaml"), "a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.to_string(), "d.yaml:2: a: duplicate key (first on line 1); expected each key once per mapping");
        let e = parse_yaml(Path::new("s.yaml"), "a: [1, 2\n").unwrap_err();
        assert!(e.to_string().starts_with("s.yaml:"), "{e}");
        assert!(e.to_string().contains("YAML syntax error"), "{e}");
    }

    #[test]
    fn anchors_resolve() {
        let n = parse_yaml(Path::new("a.yaml"), "x: &p {mode: active-backup}\ny: *p\n").unwrap().unwrap();
        let top = entries(&n, "").unwrap();
        assert_eq!(get(&top, "x").unwrap().value, get(&top, "y").unwrap().value);
    }
}
