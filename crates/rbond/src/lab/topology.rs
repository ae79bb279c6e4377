//! The lab's namespaces and links, and the rbond daemons that run in them.
//!
//! ```text
//!  ns host                         ns sw                                 ns peer
//!  bond0 198.18.0.1/24             br0 (Linux bridge, STP off)
//!   ├ eth0 ═══ veth ═══ swp0 ─┐     ├ swp0..N-1            (plain ports: active-backup, tlb, alb)
//!   └ eth1 ═══ veth ═══ swp1 ─┘     │   or po0 = rbond bond over swp0..N-1, a static
//!                                   │      port-channel (balance-rr, balance-xor, broadcast,
//!                                   │      802.3ad: the seed's "Trunking/EtherChannel" side)
//!                                   └ swpeer ═══ veth ═══ eth0 198.18.0.2/24
//! ```
//!
//! A pulled cable is `ip link set swpK down` in ns sw: the host end (ethK) loses carrier, which
//! is what the MII monitor watches.

use super::netns::{veth, Netns, ProcLog};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub const HOST_ADDR: &str = "198.18.0.1/24";
pub const PEER_ADDR: &str = "198.18.0.2/24";
pub const HOST_BOND: &str = "bond0";
pub const SWITCH_BOND: &str = "po0";

/// The lab uses the core's modes; names and numbers come from the one option table.
pub use rbond_core::Mode;

/// What the switch namespace offers the host's bond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchSide {
    /// Independent bridge ports: the modes that need no switch configuration.
    Bridge,
    /// The switch ports grouped into one rbond bond (po0) that is a single bridge port, as a
    /// switch's static EtherChannel (or its LACP port-channel for 802.3ad).
    PortChannel,
}

/// Parses a mode as sysfs does (a name or a number), through the core's option table.
pub fn parse_mode(s: &str) -> Result<Mode> {
    let def = rbond_core::options::def(rbond_core::options::Opt::Mode);
    match rbond_core::options::parse_table_value(def, s) {
        Ok(n) => Ok(Mode::from_num(n).expect("the table holds only valid modes")),
        Err(e) => bail!("{e}"),
    }
}

/// The switch configuration each mode needs (kernel bonding documentation, "what the
/// switch must do").
pub fn switch_side(mode: Mode) -> SwitchSide {
    match mode {
        Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb => SwitchSide::Bridge,
        Mode::BalanceRr | Mode::BalanceXor | Mode::Broadcast | Mode::Ieee8023ad => SwitchSide::PortChannel,
    }
}

/// An rbond daemon running in one namespace, with its own socket and run dir.
pub struct Daemon {
    pub ns: String,
    pub bin: PathBuf,
    pub socket: PathBuf,
    pub run_dir: PathBuf,
    pub log: ProcLog,
}

impl Daemon {
    /// Starts `rbond daemon` inside `ns` and waits for its ready line. The process belongs to
    /// the namespace guard, which stops it.
    pub fn start(ns: &Netns, bin: &Path, dir: &Path, role: &str) -> Result<Daemon> {
        Daemon::start_with(ns, bin, dir, role, &[])
    }

    /// `start` with more `rbond daemon` arguments (e.g. `--metrics ADDR`).
    pub fn start_with(ns: &Netns, bin: &Path, dir: &Path, role: &str, extra: &[&str]) -> Result<Daemon> {
        let socket = dir.join(format!("{role}.sock"));
        let run_dir = dir.join(role);
        std::fs::create_dir_all(&run_dir)?;
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "daemon".as_ref(),
            "--socket".as_ref(),
            socket.as_os_str(),
            "--run-dir".as_ref(),
            run_dir.as_os_str(),
        ];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        let log = ns.spawn(&format!("rbond daemon in {}", ns.name()), bin, &args)?;
        if let Err(e) = log.wait_for("rbond daemon ready", Duration::from_secs(10)) {
            bail!(
                "rbond daemon in {} did not become ready: {e}\n{}",
                ns.name(),
                log.lines().join("\n")
            );
        }
        Ok(Daemon { ns: ns.name().to_string(), bin: bin.to_path_buf(), socket, run_dir, log })
    }

    /// `rbond --socket <S> <args>` inside the daemon's namespace; the raw output.
    pub fn cli(&self, args: &[&str]) -> Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(&self.bin)
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running rbond {}", args.join(" ")))
    }

    /// Like `cli`, but the command must succeed; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.cli(args)?;
        if !out.status.success() {
            bail!(
                "rbond {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// A per-run directory under /run/rbond for sockets and status files, removed on drop.
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn new(id: &str) -> Result<RunDir> {
        let p = PathBuf::from(format!("/run/rbond/lab-{id}"));
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(RunDir(p))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Turns IPv6 off in a lab namespace. The probe is IPv4; IPv6 router solicitations, MLD reports
/// and DAD from the stack would add background frames to the per-slave counters that tests
/// compare, and a kernel bond's slaves would not have IPv6 addresses of their own anyway.
pub fn quiet_ipv6(ns: &Netns) -> Result<()> {
    ns.sysctl("net.ipv6.conf.all.disable_ipv6", "1")?;
    ns.sysctl("net.ipv6.conf.default.disable_ipv6", "1")
}

/// Builds the switch namespace's bridge with its peer-facing port and the peer host.
pub fn build_switch_and_peer(sw: &Netns, peer: &Netns) -> Result<()> {
    // STP off and forward_delay 0: ports forward as soon as they are up, like an unmanaged
    // switch, so a re-plugged cable carries traffic at once.
    sw.ip(&["link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"])?;
    sw.ip(&["link", "set", "br0", "up"])?;
    veth(sw, "swpeer", peer, "eth0")?;
    sw.ip(&["link", "set", "swpeer", "master", "br0"])?;
    sw.ip(&["link", "set", "swpeer", "up"])?;
    peer.ip(&["addr", "add", PEER_ADDR, "dev", "eth0"])?;
    peer.ip(&["link", "set", "eth0", "up"])?;
    Ok(())
}

/// Cables host ethK <-> sw swpK, for k in 0..n; all ends stay down for the bonds to take.
pub fn build_cables(host: &Netns, sw: &Netns, n: usize) -> Result<(Vec<String>, Vec<String>)> {
    let mut slaves = Vec::new();
    let mut ports = Vec::new();
    for k in 0..n {
        let (s, p) = (format!("eth{k}"), format!("swp{k}"));
        veth(host, &s, sw, &p)?;
        slaves.push(s);
        ports.push(p);
    }
    Ok((slaves, ports))
}

/// Plain bridge ports for the modes that need no switch configuration.
pub fn bridge_ports(sw: &Netns, ports: &[String]) -> Result<()> {
    for p in ports {
        sw.ip(&["link", "set", p, "master", "br0"])?;
        sw.ip(&["link", "set", p, "up"])?;
    }
    Ok(())
}

/// The switch's port-channel: an rbond bond po0 over the switch ports, bridged as one port.
pub fn port_channel(sw_daemon: &Daemon, sw: &Netns, mode: Mode, miimon: u32, extra: &[(String, String)], ports: &[String]) -> Result<()> {
    let miimon = miimon.to_string();
    let mut args = vec!["add", SWITCH_BOND, "mode", mode.name(), "miimon", &miimon];
    for (k, v) in extra {
        args.push(k);
        args.push(v);
    }
    sw_daemon.cli_ok(&args).context("creating the switch-side port-channel po0")?;
    let mut args = vec!["enslave", SWITCH_BOND];
    args.extend(ports.iter().map(|s| s.as_str()));
    sw_daemon.cli_ok(&args)?;
    sw.ip(&["link", "set", SWITCH_BOND, "master", "br0"])?;
    sw.ip(&["link", "set", SWITCH_BOND, "up"])?;
    Ok(())
}

/// The host's bond0 over its slaves, addressed and up.
pub fn host_bond(
    daemon: &Daemon,
    host: &Netns,
    mode: Mode,
    miimon: u32,
    extra: &[(String, String)],
    slaves: &[String],
) -> Result<()> {
    let miimon = miimon.to_string();
    let mut args = vec!["add", HOST_BOND, "mode", mode.name(), "miimon", &miimon];
    for (k, v) in extra {
        args.push(k);
        args.push(v);
    }
    daemon.cli_ok(&args).with_context(|| format!("creating {HOST_BOND} in mode {}", mode.name()))?;
    let mut args = vec!["enslave", HOST_BOND];
    args.extend(slaves.iter().map(|s| s.as_str()));
    daemon.cli_ok(&args)?;
    host.ip(&["addr", "add", HOST_ADDR, "dev", HOST_BOND])?;
    host.ip(&["link", "set", HOST_BOND, "up"])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::netns::unique_id;
    use crate::lab::probe::{self, ProbeConfig};

    #[test]
    fn mode_names_and_numbers() {
        assert_eq!(parse_mode("1").unwrap(), Mode::ActiveBackup);
        assert_eq!(parse_mode("802.3ad").unwrap(), Mode::Ieee8023ad);
        assert_eq!(Mode::BalanceAlb.num(), 6);
        let e = parse_mode("Active-Backup").unwrap_err().to_string();
        assert!(e.contains("invalid value (Active-Backup)") && e.contains("balance-alb (6)"), "{e}");
        assert_eq!(switch_side(Mode::BalanceXor), SwitchSide::PortChannel);
        assert_eq!(switch_side(Mode::BalanceTlb), SwitchSide::Bridge);
    }

    /// The switch and the cabling without any bond: the host talks over eth0 alone through the
    /// bridge; pulling swp0 cuts it, plugging restores it.
    #[test]
    fn bridge_topology_carries_traffic_and_a_pull_cuts_it() {
        if !crate::lab::netns::is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
        let id = unique_id();
        let host = Netns::new(&id, "host").unwrap();
        let sw = Netns::new(&id, "sw").unwrap();
        let peer = Netns::new(&id, "peer").unwrap();
        for ns in [&host, &sw, &peer] {
            quiet_ipv6(ns).unwrap();
        }
        build_switch_and_peer(&sw, &peer).unwrap();
        let (slaves, ports) = build_cables(&host, &sw, 2).unwrap();
        assert_eq!(slaves, ["eth0", "eth1"]);
        bridge_ports(&sw, &ports).unwrap();
        host.ip(&["addr", "add", HOST_ADDR, "dev", "eth0"]).unwrap();
        host.ip(&["link", "set", "eth0", "up"]).unwrap();
        let r = probe::run(&host, &peer, ProbeConfig::new(Duration::from_millis(1000))).unwrap();
        assert_eq!(r.summary().lost, 0, "{:?}", r.summary());
        let tx = host.counter("eth0", "tx_packets").unwrap();
        assert!(tx >= 1000, "eth0 tx_packets {tx}");

        let h = probe::start(&host, &peer, ProbeConfig::new(Duration::from_millis(1500)), None).unwrap();
        std::thread::sleep(Duration::from_millis(400));
        sw.ip(&["link", "set", "swp0", "down"]).unwrap();
        std::thread::sleep(Duration::from_millis(400));
        sw.ip(&["link", "set", "swp0", "up"]).unwrap();
        let s = h.wait().unwrap().summary();
        // The cable was out for 400 ms: a gap of most of that, whatever the probe managed to
        // send on a loaded machine.
        assert!(s.lost > 0 && s.longest_gap >= Duration::from_millis(300), "{s:?}");
    }
}
