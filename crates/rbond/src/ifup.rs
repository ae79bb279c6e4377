//! `rbond up` / `rbond down` / `rbond check`: the ifcfg configuration (issue 4) applied through
//! the daemon, like initscripts' `ifup`/`ifdown` and `service network restart`.
//!
//! - `up` on a bond that does not run yet follows the plan `rbond check` prints
//!   (`rbond_config::steps`): everything that can be checked is checked first (configuration,
//!   slaves exist and are free), then the bond is created with all its options at once (the
//!   daemon applies them all or nothing), brought up, the slaves enslaved in one request
//!   (checked before any is enslaved), `primary` written, address and default route added. If a
//!   later step fails the bond is deleted again, which restores the slaves and takes the
//!   address and route with it: no half-applied state.
//! - `up` on a running bond applies the differences the way sysfs writes would: option changes
//!   are computed against the bond's current values and sent as one all-or-nothing request; a
//!   change the kernel refuses on a live bond (mode, fail_over_mac with slaves, lacp_rate while
//!   up, ...) is refused with the kernel's reason before anything changes. Missing slaves are
//!   enslaved; slaves that are no longer configured are reported, not released (ifup does not
//!   release either).
//! - `down` deletes the bond (`ifdown` writes `-bond0` to bonding_masters): the daemon restores
//!   the slaves; the address and routes go with the device.
//! - DNS only with `--dns`, and not when PEERDNS=no (initscripts' rule).

use crate::ctl::{self, Request, Response};
use crate::sys::netlink;
use anyhow::{bail, Context, Result};
use rbond_config::bonding_opts::{diff_order, diff_writes, write_form};
use rbond_config::{BondSpec, Config, Step};
use rbond_core::options::{BondOptions, SetContext};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Exit code of a refusal (configuration or kernel rule), as for the other subcommands.
pub const EXIT_REFUSED: i32 = 2;

/// Where the bonds are configured: ifcfg (default), systemd-networkd or netplan, and modprobe.
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Directory of ifcfg-* files.
    #[arg(long, default_value = rbond_config::DEFAULT_CONFIG_DIR)]
    pub config_dir: PathBuf,
    /// Read the bonds from systemd-networkd .netdev/.network files in this directory instead
    /// of ifcfg files (repeatable; an earlier directory masks same-named files in later ones).
    #[arg(long = "networkd-dir", value_name = "DIR", conflicts_with = "netplan")]
    pub networkd_dir: Vec<PathBuf>,
    /// Read the bonds from netplan YAML instead of ifcfg files: a file, or a directory of
    /// *.yaml (repeatable; merged in file name order, as netplan does).
    #[arg(long = "netplan", value_name = "FILE|DIR")]
    pub netplan: Vec<PathBuf>,
    /// modprobe files to read instead of /etc/modprobe.conf and /etc/modprobe.d/*.conf.
    #[arg(long = "modprobe-conf")]
    pub modprobe_conf: Vec<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct UpArgs {
    /// The bond to bring up (configured by ifcfg-<bond>).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub bond: Option<String>,
    /// Every bond whose file does not say ONBOOT=no (like `service network start`).
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Also write DNS1/DNS2/DNS3 (and DOMAIN) to the resolver configuration.
    #[arg(long)]
    pub dns: bool,
    /// The resolver file --dns writes.
    #[arg(long, default_value = "/etc/resolv.conf")]
    pub resolv_conf: PathBuf,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DownArgs {
    /// The bond to take down and delete.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub bond: Option<String>,
    /// Every bond the daemon runs.
    #[arg(long)]
    pub all: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

fn modprobe_paths(explicit: &[PathBuf]) -> Vec<PathBuf> {
    if explicit.is_empty() {
        rbond_config::modprobe::default_paths(Path::new("/"))
    } else {
        explicit.to_vec()
    }
}

/// Where the bonds are configured: ifcfg unless --networkd-dir or --netplan says otherwise.
fn source(config_dir: &Path, networkd: &[PathBuf], netplan: &[PathBuf]) -> rbond_config::Source {
    if !networkd.is_empty() {
        rbond_config::Source::Networkd(networkd.to_vec())
    } else if !netplan.is_empty() {
        rbond_config::Source::Netplan(netplan.to_vec())
    } else {
        rbond_config::Source::Ifcfg(config_dir.to_path_buf())
    }
}

/// Loads the configuration, printing warnings; a configuration error is a refusal.
fn load(src: &rbond_config::Source, modprobe: &[PathBuf]) -> std::result::Result<Config, i32> {
    match rbond_config::load(src, &modprobe_paths(modprobe)) {
        Ok(cfg) => {
            for w in &cfg.warnings {
                eprintln!("{w}");
            }
            Ok(cfg)
        }
        Err(e) => {
            eprintln!("rbond: {e}");
            Err(EXIT_REFUSED)
        }
    }
}

/// A request that must be accepted; a refusal carries the daemon's (kernel-style) text.
struct Refused(String);

fn call(sock: &Path, req: Request) -> Result<std::result::Result<Response, Refused>> {
    let r = ctl::call(sock, &req)?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    Ok(if r.ok { Ok(r) } else { Err(Refused(r.error)) })
}

fn daemon_bonds(sock: &Path) -> Result<Vec<String>> {
    match call(sock, Request::List)? {
        Ok(r) => Ok(r.out.split_whitespace().map(str::to_string).collect()),
        Err(Refused(e)) => bail!("listing bonds: {e}"),
    }
}

fn show(sock: &Path, bond: &str, option: &str) -> Result<String> {
    match call(sock, Request::Show { bond: bond.into(), option: option.into() })? {
        Ok(r) => Ok(r.out.trim_end_matches('\n').to_string()),
        Err(Refused(e)) => bail!("reading {bond} {option}: {e}"),
    }
}

/// `rbond check`: validate and print the plan; touches nothing.
pub fn check(a: &CheckArgs) -> Result<i32> {
    let src = source(&a.config.config_dir, &a.config.networkd_dir, &a.config.netplan);
    let cfg = match load(&src, &a.config.modprobe_conf) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let mut out = String::new();
    // The report without the warnings (already on stderr).
    let no_warn = Config { warnings: Vec::new(), ..cfg.clone() };
    out.push_str(&rbond_config::plan::report(&no_warn));
    // Read-only look at this machine: would `rbond up` find the slaves?
    for b in &cfg.bonds {
        for s in &b.slaves {
            if !matches!(netlink::link_by_name(&s.name), Ok(Some(_))) {
                out.push_str(&format!("note: {}: slave {} does not exist here; rbond up {} would refuse\n", b.name, s.name, b.name));
            }
        }
    }
    print!("{out}");
    Ok(0)
}

/// `rbond up`.
pub fn up(sock: &Path, a: &UpArgs) -> Result<i32> {
    let src = source(&a.config.config_dir, &a.config.networkd_dir, &a.config.netplan);
    let cfg = match load(&src, &a.config.modprobe_conf) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let chosen: Vec<&BondSpec> = match &a.bond {
        Some(name) => match cfg.bond(name) {
            Some(b) => vec![b],
            None => {
                let slave_of = cfg.bonds.iter().find(|b| b.slaves.iter().any(|s| &s.name == name));
                match slave_of {
                    Some(b) => eprintln!("rbond: {name} is a slave of {}; bring the bond up: rbond up {}", b.name, b.name),
                    None => eprintln!("rbond: {}", src.no_bond(name)),
                }
                return Ok(EXIT_REFUSED);
            }
        },
        None => {
            for b in cfg.bonds.iter().filter(|b| !b.onboot) {
                println!("{}: ONBOOT=no, skipped", b.name);
            }
            cfg.bonds.iter().filter(|b| b.onboot).collect()
        }
    };
    let running = daemon_bonds(sock)?;
    let mut code = 0;
    for b in chosen {
        let r = if running.contains(&b.name) { update(sock, b, a, &running)? } else { bring_up(sock, b, a, &running)? };
        if let (Ok(()), Some(g), true, Some((net, p))) = (&r, b.unreachable_gateway(), b.defroute, b.subnet()) {
            // As initscripts: the bond is up, only its default route is missing.
            eprintln!(
                "warning: {}: the default route via {g} could not be added: {g} is outside {net}/{p} (Network is unreachable); {} is up without it",
                b.name, b.name
            );
        }
        if let Err(Refused(e)) = r {
            eprintln!("rbond: {e}");
            code = EXIT_REFUSED;
        }
    }
    Ok(code)
}

type Outcome = std::result::Result<(), Refused>;

/// Checks that need no change: the slaves exist and no other bond of the daemon holds them.
fn preflight(sock: &Path, b: &BondSpec, running: &[String]) -> Result<Outcome> {
    // MACADDR is set on the bond device before enslaving; the daemon adopts a MAC set on
    // bond0 like the kernel does (`ip link set bond0 address ...`).
    for s in &b.slaves {
        if !matches!(netlink::link_by_name(&s.name), Ok(Some(_))) {
            return Ok(Err(Refused(format!("{}: option slaves: interface +{} does not exist!", b.name, s.name))));
        }
    }
    for other in running.iter().filter(|o| **o != b.name) {
        let slaves = show(sock, other, "slaves")?;
        for s in &b.slaves {
            if slaves.split_whitespace().any(|x| x == s.name) {
                return Ok(Err(Refused(format!(
                    "{}: (slave {}): Error: Device is in use and cannot be enslaved (it is a slave of {other})",
                    b.name, s.name
                ))));
            }
        }
    }
    Ok(Ok(()))
}

fn ifindex(name: &str) -> Result<u32> {
    Ok(netlink::link_by_name(name)?.with_context(|| format!("{name}: the bond device is gone"))?.index)
}

/// Executes one plan step on a bond being created. Err(Refused) for daemon refusals.
fn run_step(sock: &Path, step: &Step, a: &UpArgs, source: &Path) -> Result<Outcome> {
    match step {
        Step::Create { bond, opts } => return Ok(call(sock, Request::Add { bond: bond.clone(), opts: opts.clone() })?.map(|_| ())),
        // The daemon is the only writer of its bond devices.
        Step::SetMac { bond, mac } => return link(sock, bond, None, None, Some(mac.to_string())),
        Step::SetMtu { bond, mtu } => return link(sock, bond, Some(*mtu), None, None),
        Step::Up { bond } => return link(sock, bond, None, Some(true), None),
        Step::Enslave { .. } => unreachable!("enslaved together in bring_up"),
        Step::SetOption { bond, key, value } => {
            return Ok(call(sock, Request::SetMany { bond: bond.clone(), opts: vec![(key.clone(), value.clone())] })?.map(|_| ()))
        }
        Step::Address { bond, addr, prefix } => netlink::add_address(ifindex(bond)?, IpAddr::V4(*addr), *prefix)
            .with_context(|| format!("{bond}: adding {addr}/{prefix}"))?,
        Step::DefaultRoute { bond, via } => netlink::replace_default_route(IpAddr::V4(*via), Some(ifindex(bond)?))
            .with_context(|| format!("default route via {via} dev {bond}"))?,
        Step::Dns { servers, domain } => write_resolv_conf(&a.resolv_conf, servers, domain.as_deref(), source)
            .with_context(|| format!("writing {}", a.resolv_conf.display()))?,
    }
    Ok(Ok(()))
}

/// A bond that does not run yet: the whole plan, undone if any step fails.
fn bring_up(sock: &Path, b: &BondSpec, a: &UpArgs, running: &[String]) -> Result<Outcome> {
    if let Err(r) = preflight(sock, b, running)? {
        return Ok(Err(r));
    }
    let steps = rbond_config::steps(b, a.dns);
    let slaves: Vec<String> = b.slaves.iter().map(|s| s.name.clone()).collect();
    let mut created = false;
    let mut enslaved = false;
    let result: Result<Outcome> = (|| {
        for step in &steps {
            println!("{}: {step}", b.name);
            let r = match step {
                Step::Enslave { .. } if enslaved => continue,
                Step::Enslave { bond, .. } => {
                    // One request: the daemon checks every slave before enslaving any.
                    enslaved = true;
                    call(sock, Request::Enslave { bond: bond.clone(), ifaces: slaves.clone() })?.map(|_| ())
                }
                _ => run_step(sock, step, a, &b.source)?,
            };
            if matches!(step, Step::Create { .. }) && r.is_ok() {
                created = true;
            }
            if r.is_err() {
                return Ok(r);
            }
        }
        Ok(Ok(()))
    })();
    let failed = !matches!(result, Ok(Ok(())));
    if failed && created {
        // Deleting the bond restores the slaves and removes its address and routes.
        eprintln!("rbond: {}: undoing: deleting {}", b.name, b.name);
        let _ = call(sock, Request::Del { bond: b.name.clone() });
    }
    result
}

/// `ip link set <bond> ...` through the daemon.
fn link(sock: &Path, bond: &str, mtu: Option<u32>, up: Option<bool>, mac: Option<String>) -> Result<Outcome> {
    Ok(call(sock, Request::Link { bond: bond.to_string(), mtu, up, mac })?.map(|_| ()))
}

/// What the daemon shows of a running bond, from one `status --json` call: its options as
/// sysfs reads them, by name.
fn shown_options(sock: &Path, bond: &str) -> Result<std::collections::BTreeMap<String, String>> {
    let r = match call(sock, Request::Status { bond: Some(bond.to_string()), json: true })? {
        Ok(r) => r,
        Err(Refused(e)) => bail!("reading {bond}: {e}"),
    };
    #[derive(serde::Deserialize)]
    struct Shown {
        options: std::collections::BTreeMap<String, String>,
    }
    Ok(serde_json::from_str::<Shown>(&r.out).with_context(|| format!("reading {bond}: the daemon's status"))?.options)
}

/// The options the running bond has now, rebuilt from its sysfs-style values.
fn current_options(shown: &std::collections::BTreeMap<String, String>) -> BondOptions {
    let fresh = SetContext::default();
    let mut cur = BondOptions::default();
    for name in diff_order() {
        let shown = shown.get(name).cloned().unwrap_or_default();
        if cur.show(name).as_deref() == Some(shown.as_str()) {
            continue;
        }
        if name == "arp_ip_target" || name == "ns_ip6_target" {
            for t in shown.split_whitespace() {
                let _ = cur.set(name, &format!("+{t}"), &fresh);
            }
        } else {
            // Values another mode would refuse stay at their default: they do not apply.
            let _ = cur.set(name, &write_form(&shown), &fresh);
        }
    }
    cur
}

/// A running bond: apply what differs, like sysfs writes, all or nothing.
fn update(sock: &Path, b: &BondSpec, a: &UpArgs, running: &[String]) -> Result<Outcome> {
    if let Err(r) = preflight(sock, b, running)? {
        return Ok(Err(r));
    }
    let bond = &b.name;
    let link = netlink::link_by_name(bond)?.with_context(|| format!("{bond}: the bond device is gone"))?;
    let shown = shown_options(sock, bond)?;
    let shown_of = |k: &str| shown.get(k).cloned().unwrap_or_default();
    let have_slaves: Vec<String> = shown_of("slaves").split_whitespace().map(str::to_string).collect();
    let ctx = SetContext { has_slaves: !have_slaves.is_empty(), is_up: link.admin_up };
    let cur = current_options(&shown);
    let (mut writes, refusals) = diff_writes(&cur, &b.effective, &ctx);
    if !refusals.is_empty() {
        let text: Vec<String> = refusals.iter().flat_map(|e| e.lines.iter().map(|l| format!("{bond}: {l}"))).collect();
        return Ok(Err(Refused(format!("{}\n{bond}: nothing changed ({} is running; `rbond down {bond}` first)", text.join("\n"), bond))));
    }
    let want_primary = b.primary().unwrap_or("").to_string();
    let post_primary = shown_of("primary") != want_primary;
    // Everything is checked; now change things.
    if !writes.is_empty() {
        println!("{bond}: set {}", writes.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
        if let Err(r) = call(sock, Request::SetMany { bond: bond.clone(), opts: std::mem::take(&mut writes) })? {
            return Ok(Err(r));
        }
    }
    if let Some(mtu) = b.mtu.filter(|m| *m != link.mtu) {
        println!("{bond}: set {bond} mtu {mtu}");
        // The daemon passes the bond's MTU on to the slaves, as the kernel bond does.
        if let Err(r) = self::link(sock, bond, Some(mtu), None, None)? {
            return Ok(Err(r));
        }
    }
    if !link.admin_up {
        println!("{bond}: bring {bond} up");
        if let Err(r) = self::link(sock, bond, None, Some(true), None)? {
            return Ok(Err(r));
        }
    }
    let missing: Vec<String> = b.slaves.iter().map(|s| s.name.clone()).filter(|s| !have_slaves.contains(s)).collect();
    if !missing.is_empty() {
        println!("{bond}: enslave {}", missing.join(" "));
        if let Err(r) = call(sock, Request::Enslave { bond: bond.clone(), ifaces: missing })? {
            return Ok(Err(r));
        }
    }
    for s in have_slaves.iter().filter(|s| !b.slaves.iter().any(|c| &c.name == *s)) {
        eprintln!("rbond: {bond}: {s} is enslaved but not configured (no MASTER={bond} in ifcfg-{s}); left as it is");
    }
    let mut post: Vec<(String, String)> = b.post_opts.iter().filter(|(k, _)| k != "primary").cloned().collect();
    if post_primary {
        post.insert(0, ("primary".into(), want_primary));
    }
    if !post.is_empty() {
        println!("{bond}: set {}", post.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
        if let Err(r) = call(sock, Request::SetMany { bond: bond.clone(), opts: post })? {
            return Ok(Err(r));
        }
    }
    for step in rbond_config::steps(b, a.dns) {
        if matches!(step, Step::Address { .. } | Step::DefaultRoute { .. } | Step::Dns { .. }) {
            println!("{bond}: {step}");
            if let Err(r) = run_step(sock, &step, a, &b.source)? {
                return Ok(Err(r));
            }
        }
    }
    Ok(Ok(()))
}

/// `rbond down`.
pub fn down(sock: &Path, a: &DownArgs) -> Result<i32> {
    let running = match daemon_bonds(sock) {
        Ok(r) => r,
        // No daemon: what a dead one left is undone from its state files.
        Err(e) if crate::cli::no_daemon(&e) => {
            eprintln!("rbond: no daemon answers at {}; cleaning up from the state files", sock.display());
            let dir = crate::cleanup::default_run_dir();
            return Ok(if crate::cleanup::cleanup(&dir, a.bond.as_deref(), &[])? || a.bond.is_none() { 0 } else { EXIT_REFUSED });
        }
        Err(e) => return Err(e),
    };
    let names: Vec<String> = match &a.bond {
        Some(n) if running.contains(n) => vec![n.clone()],
        Some(n) => {
            eprintln!("rbond: {n}: not up (the daemon has no such bond)");
            return Ok(EXIT_REFUSED);
        }
        None => running,
    };
    let mut code = 0;
    for n in names {
        println!("{n}: delete {n}");
        if let Err(Refused(e)) = call(sock, Request::Del { bond: n.clone() })? {
            eprintln!("rbond: {e}");
            code = EXIT_REFUSED;
        }
    }
    Ok(code)
}

/// initscripts' resolv.conf update: our `nameserver` lines (and `search` for DOMAIN) replace
/// the old ones; every other line is kept. Written in place, so a bind-mounted file (as
/// `ip netns exec` sets up from /etc/netns/<ns>/resolv.conf) stays the same file.
pub fn write_resolv_conf(path: &Path, servers: &[IpAddr], domain: Option<&str>, source: &Path) -> std::io::Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut out = format!("# nameservers from {} (rbond up --dns)\n", source.display());
    if let Some(d) = domain {
        out.push_str(&format!("search {d}\n"));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    for l in old.lines() {
        let w = l.split_whitespace().next().unwrap_or("");
        let ours = w == "nameserver" || (domain.is_some() && (w == "search" || w == "domain")) || l.starts_with("# nameservers from ");
        if !ours {
            out.push_str(l);
            out.push('\n');
        }
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_keeps_other_lines() {
        let p = std::env::temp_dir().join(format!("rbond-resolv-{}", std::process::id()));
        std::fs::write(&p, "options edns0\nnameserver 198.18.9.9\nsearch old.example\n").unwrap();
        let servers = ["198.18.1.53".parse().unwrap(), "2001:2::53".parse().unwrap()];
        write_resolv_conf(&p, &servers, Some("lab.example"), Path::new("/x/ifcfg-bond0")).unwrap();
        let got = std::fs::read_to_string(&p).unwrap();
        let _ = std::fs::remove_file(&p);
        assert_eq!(
            got,
            "# nameservers from /x/ifcfg-bond0 (rbond up --dns)\nsearch lab.example\nnameserver 198.18.1.53\nnameserver 2001:2::53\noptions edns0\n"
        );
    }
}
