//! Open vSwitch as the lab's switch side for 802.3ad: an independent LACP implementation to
//! prove rbond against. Userspace datapath only (`datapath_type=netdev`; the machine has no
//! openvswitch kernel module), one private directory per instance so several labs run side
//! by side, and both daemons started in the foreground inside the switch namespace, as
//! children of the namespace guard, which stops them (SIGTERM) before the namespace goes.
//!
//! Layout in ns sw: bridge `ovsbr0` with the peer-facing port `swpeer` and a bond `lag0`
//! over swp0..N-1 (`bond_mode=balance-tcp`, `lacp=active|passive`, `lacp-time=fast|slow`).

use super::netns::Netns;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const OVS_BRIDGE: &str = "ovsbr0";
pub const OVS_BOND: &str = "lag0";

/// How the OVS bond speaks LACP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OvsLacp {
    /// `lacp=active` (else passive).
    pub active: bool,
    /// `other_config:lacp-time=fast` (else slow).
    pub fast: bool,
}

impl Default for OvsLacp {
    fn default() -> Self {
        OvsLacp { active: true, fast: true }
    }
}

/// Is Open vSwitch installed?
pub fn available() -> bool {
    ["/usr/sbin/ovs-vswitchd", "/usr/sbin/ovsdb-server", "/usr/bin/ovs-vsctl", "/usr/bin/ovsdb-tool"]
        .iter()
        .all(|p| Path::new(p).exists())
}

/// One running OVS instance (its processes belong to the switch namespace's guard).
pub struct Ovs {
    pub dir: PathBuf,
}

impl Ovs {
    fn env(&self) -> Vec<(String, String)> {
        let d = self.dir.display().to_string();
        vec![
            ("OVS_RUNDIR".into(), d.clone()),
            ("OVS_LOGDIR".into(), d.clone()),
            ("OVS_DBDIR".into(), d.clone()),
            ("OVS_SYSCONFDIR".into(), d),
            ("OVS_PKGDATADIR".into(), "/usr/share/openvswitch".into()),
        ]
    }

    fn db(&self) -> String {
        format!("unix:{}/db.sock", self.dir.display())
    }

    /// Creates the database and starts ovsdb-server and ovs-vswitchd inside `sw`.
    pub fn start(sw: &Netns, dir: &Path) -> Result<Ovs> {
        if !available() {
            bail!("Open vSwitch is not installed (apt-get install openvswitch-switch)");
        }
        std::fs::create_dir_all(dir)?;
        let ovs = Ovs { dir: dir.to_path_buf() };
        let d = dir.display().to_string();
        let mut c = Command::new("ovsdb-tool");
        c.args(["create", &format!("{d}/conf.db"), "/usr/share/openvswitch/vswitch.ovsschema"]);
        run_ok(&mut c, &ovs.env())?;
        let env_args = |prog: &str, args: Vec<String>| -> Vec<String> {
            let mut v: Vec<String> = ovs.env().into_iter().map(|(k, x)| format!("{k}={x}")).collect();
            v.push(prog.into());
            v.extend(args);
            v
        };
        let server = env_args(
            "/usr/sbin/ovsdb-server",
            vec![
                format!("{d}/conf.db"),
                format!("--remote=punix:{d}/db.sock"),
                format!("--unixctl={d}/ovsdb-server.ctl"),
                format!("--log-file={d}/ovsdb-server.log"),
                "-vconsole:off".into(),
            ],
        );
        sw.spawn("ovsdb-server", Path::new("/usr/bin/env"), &server)?;
        wait_path(&dir.join("db.sock"), Duration::from_secs(10))?;
        ovs.vsctl(&["--no-wait", "init"])?;
        // Userspace TSO: without it TCP through the netdev datapath stalls on offloaded
        // frames; it must be set before ovs-vswitchd starts.
        ovs.vsctl(&["--no-wait", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=true"])?;
        let vswitchd = env_args(
            "/usr/sbin/ovs-vswitchd",
            vec![
                ovs.db(),
                format!("--unixctl={d}/ovs-vswitchd.ctl"),
                format!("--log-file={d}/ovs-vswitchd.log"),
                "-vconsole:off".into(),
            ],
        );
        sw.spawn("ovs-vswitchd", Path::new("/usr/bin/env"), &vswitchd)?;
        wait_path(&dir.join("ovs-vswitchd.ctl"), Duration::from_secs(10))?;
        Ok(ovs)
    }

    /// `ovs-vsctl --db=... <args>`; stdout.
    pub fn vsctl(&self, args: &[&str]) -> Result<String> {
        let mut c = Command::new("ovs-vsctl");
        c.arg(format!("--db={}", self.db())).arg("--timeout=20").args(args);
        run_ok(&mut c, &self.env())
    }

    /// `ovs-appctl -t <vswitchd> <args>`; stdout.
    pub fn appctl(&self, args: &[&str]) -> Result<String> {
        let mut c = Command::new("ovs-appctl");
        c.arg("-t").arg(self.dir.join("ovs-vswitchd.ctl")).args(args);
        run_ok(&mut c, &self.env())
    }

    /// The bridge with `uplink` (towards the peer host) and the LACP bond over `ports`.
    pub fn build(&self, sw: &Netns, uplink: &str, ports: &[String], lacp: OvsLacp) -> Result<()> {
        self.vsctl(&["add-br", OVS_BRIDGE, "--", "set", "bridge", OVS_BRIDGE, "datapath_type=netdev"])?;
        for p in ports {
            sw.ip(&["link", "set", p, "up"])?;
        }
        self.vsctl(&["add-port", OVS_BRIDGE, uplink])?;
        let mut args = vec!["add-bond", OVS_BRIDGE, OVS_BOND];
        args.extend(ports.iter().map(|s| s.as_str()));
        args.push(if lacp.active { "lacp=active" } else { "lacp=passive" });
        args.push("bond_mode=balance-tcp");
        args.push(if lacp.fast { "other_config:lacp-time=fast" } else { "other_config:lacp-time=slow" });
        self.vsctl(&args)?;
        sw.ip(&["link", "set", OVS_BRIDGE, "up"])?;
        Ok(())
    }

    /// `ovs-appctl lacp/show lag0`.
    pub fn lacp_show(&self) -> Result<String> {
        self.appctl(&["lacp/show", OVS_BOND])
    }

    /// `ovs-appctl bond/show lag0`.
    pub fn bond_show(&self) -> Result<String> {
        self.appctl(&["bond/show", OVS_BOND])
    }
}

fn run_ok(c: &mut Command, env: &[(String, String)]) -> Result<String> {
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().with_context(|| format!("running {c:?}"))?;
    if !out.status.success() {
        bail!("{c:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn wait_path(p: &Path, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !p.exists() {
        if Instant::now() > deadline {
            bail!("{} did not appear within {timeout:?}", p.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Per member of `lacp/show`: (name, status words), e.g. ("swp0", "current attached").
pub fn members(lacp_show: &str) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for line in lacp_show.lines() {
        let t = line.trim();
        // "member: swp0: current attached" (older releases say "slave:").
        if let Some(rest) = t.strip_prefix("member: ").or_else(|| t.strip_prefix("slave: ")) {
            if let Some((name, status)) = rest.split_once(':') {
                v.push((name.trim().to_string(), status.trim().to_string()));
            }
        }
    }
    v
}

/// The OVS bond's own LACP system id (`sys_id:` of the bond, not a member's actor/partner
/// line), from `lacp/show`.
pub fn system_id(lacp_show: &str) -> Option<String> {
    lacp_show.lines().map(str::trim).find_map(|l| l.strip_prefix("sys_id: ")).map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lacp_show() {
        let text = "---- lag0 ----\n  status: active negotiated\n  sys_id: 52:54:00:aa:bb:cc\n  sys_priority: 65534\n  aggregation key: 1\n  lacp_time: fast\n\nmember: swp0: current attached\n  port_id: 1\n\nmember: swp1: defaulted detached\n  port_id: 2\n";
        assert_eq!(members(text), vec![("swp0".into(), "current attached".into()), ("swp1".into(), "defaulted detached".into())]);
        assert_eq!(system_id(text).as_deref(), Some("52:54:00:aa:bb:cc"));
    }
}
