//! What bringing a bond up does, step by step, in initscripts' order (`ifup-eth` for a bond):
//! create the bond and write its options while it is down and empty, set MACADDR and MTU,
//! bring it up, enslave the slaves in file order, write `primary` (and other slave-dependent
//! options), add the address, then the default route. DNS only on request (`--dns`).
//!
//! `rbond check` prints these steps and `rbond up` executes the same list, so what check
//! shows is what up does.

use crate::model::{BondSpec, Config};
use rbond_core::MacAddr;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Create the bond (down, no slaves) with these option writes, in order.
    Create { bond: String, opts: Vec<(String, String)> },
    SetMac { bond: String, mac: MacAddr },
    SetMtu { bond: String, mtu: u32 },
    Up { bond: String },
    Enslave { bond: String, slave: String },
    /// An option written after enslaving (primary, active_slave, queue_id).
    SetOption { bond: String, key: String, value: String },
    Address { bond: String, addr: Ipv4Addr, prefix: u8 },
    DefaultRoute { bond: String, via: Ipv4Addr },
    /// Rewrite /etc/resolv.conf (only with --dns).
    Dns { servers: Vec<IpAddr>, domain: Option<String> },
}

fn join_opts(opts: &[(String, String)]) -> String {
    opts.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Create { bond, opts } => write!(f, "create {bond} ({})", join_opts(opts)),
            Step::SetMac { bond, mac } => write!(f, "set {bond} MAC address {mac}"),
            Step::SetMtu { bond, mtu } => write!(f, "set {bond} mtu {mtu}"),
            Step::Up { bond } => write!(f, "bring {bond} up"),
            Step::Enslave { slave, .. } => write!(f, "enslave {slave}"),
            Step::SetOption { bond, key, value } => write!(f, "set {bond} {key} {value}"),
            Step::Address { bond, addr, prefix } => write!(f, "address {addr}/{prefix} on {bond}"),
            Step::DefaultRoute { via, bond } => write!(f, "default route via {via} dev {bond}"),
            Step::Dns { servers, domain } => {
                let s: Vec<String> = servers.iter().map(|a| a.to_string()).collect();
                write!(f, "nameserver {} in /etc/resolv.conf", s.join(" "))?;
                if let Some(d) = domain {
                    write!(f, ", search {d}")?;
                }
                Ok(())
            }
        }
    }
}

/// The steps to bring `b` up from nothing. `dns`: include the resolv.conf step (--dns).
pub fn steps(b: &BondSpec, dns: bool) -> Vec<Step> {
    let bond = b.name.clone();
    let mut v = vec![Step::Create { bond: bond.clone(), opts: b.opts.clone() }];
    if let Some(mac) = b.macaddr {
        v.push(Step::SetMac { bond: bond.clone(), mac });
    }
    if let Some(mtu) = b.mtu {
        v.push(Step::SetMtu { bond: bond.clone(), mtu });
    }
    v.push(Step::Up { bond: bond.clone() });
    for s in &b.slaves {
        v.push(Step::Enslave { bond: bond.clone(), slave: s.name.clone() });
    }
    for (k, val) in &b.post_opts {
        v.push(Step::SetOption { bond: bond.clone(), key: k.clone(), value: val.clone() });
    }
    if let Some((addr, prefix)) = b.ipv4 {
        v.push(Step::Address { bond: bond.clone(), addr, prefix });
    }
    if let (Some(via), true, None) = (b.gateway, b.defroute, b.unreachable_gateway()) {
        v.push(Step::DefaultRoute { bond: bond.clone(), via });
    }
    if dns && b.peerdns && !b.dns.is_empty() {
        v.push(Step::Dns { servers: b.dns.clone(), domain: b.domain.clone() });
    }
    v
}

/// The human-readable steps `rbond check` prints (DNS included, marked as --dns only).
pub fn plan(b: &BondSpec) -> Vec<String> {
    steps(b, true)
        .into_iter()
        .map(|s| match s {
            Step::Dns { .. } => format!("{s} (only with --dns)"),
            _ => s.to_string(),
        })
        .collect()
}

/// The whole `rbond check` report: module defaults, each bond's plan, then the warnings.
pub fn report(cfg: &Config) -> String {
    let mut out = String::new();
    if !cfg.module.params.is_empty() {
        let p: Vec<String> = cfg.module.params.iter().map(|(k, v, _, _)| format!("{k}={v}")).collect();
        let (_, _, file, line) = &cfg.module.params[0];
        out.push_str(&format!("module bonding options: {} (from {}:{})\n", p.join(" "), file.display(), line));
    }
    if cfg.bonds.is_empty() {
        out.push_str("no bonds configured\n");
    }
    for b in &cfg.bonds {
        let slaves = if b.slaves.is_empty() { "none".to_string() } else { b.slave_names().join(" ") };
        out.push_str(&format!(
            "{} (from {}): ONBOOT={}, slaves: {}\n",
            b.name,
            b.source.display(),
            if b.onboot { "yes" } else { "no (skipped by --all)" },
            slaves
        ));
        for s in plan(b) {
            out.push_str(&format!("  {s}\n"));
        }
        if let (Some(g), true, Some((net, p))) = (b.unreachable_gateway(), b.defroute, b.subnet()) {
            out.push_str(&format!("  no default route: GATEWAY {g} is outside {net}/{p} (skipped, as initscripts do)\n"));
        }
    }
    for w in &cfg.warnings {
        out.push_str(&format!("{w}\n"));
    }
    out
}
