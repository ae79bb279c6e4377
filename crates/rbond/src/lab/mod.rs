//! `rbond lab`: the seed's test, reproducible on one machine.
//!
//! It builds a host with bond0 over N veth "cables" to a switch namespace and a peer host behind
//! the switch (see `topology`), sends a 1 ms UDP echo probe through the bond, pulls each cable in
//! turn at the switch end and plugs it back, and reports what the probe saw. Everything lives
//! in namespaces owned by RAII guards, so it is all removed on success, error, panic or Ctrl-C.
//!
//! The same building blocks (`Lab`) drive the end-to-end tests.

pub mod bench;
pub mod clients;
pub mod netns;
pub mod ovs;
pub mod plot;
pub mod probe;
pub mod report;
pub mod topology;

use anyhow::{bail, Context, Result};
use netns::Netns;
use probe::{ProbeConfig, ProbeHandle, ProbeResult};
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use topology::{Daemon, RunDir, SwitchSide};

pub use topology::Mode;

/// Options of `rbond lab`.
#[derive(Clone, Debug)]
pub struct LabArgs {
    /// Bonding mode, name or number (default active-backup, the seed's mode=1).
    pub mode: String,
    /// Number of slaves (cables), default 2.
    pub slaves: usize,
    /// MII monitor interval in ms, default 100 (the seed's miimon=100).
    pub miimon: u32,
    /// Probe duration in seconds, during which every cable is pulled and plugged once.
    pub duration: u64,
    /// 802.3ad: the switch side, `rbond` (a second rbond bond) or `ovs` (Open vSwitch).
    pub switch: String,
    /// 802.3ad: lacp_rate of both rbond bonds (and lacp-time of OVS), `slow` or `fast`.
    pub lacp_rate: String,
    /// 802.3ad: instead of the pull-a-cable run, measure LACP timings (`bench`).
    pub bench: bool,
    /// false: the host daemon ignores carrier events (`--no-link-events`), miimon alone.
    pub link_events: bool,
    /// Draw the run (per-slave throughput, probe loss, pulls and failovers) as SVG here.
    pub plot: Option<PathBuf>,
}

impl Default for LabArgs {
    fn default() -> Self {
        LabArgs { mode: "active-backup".into(), slaves: 2, miimon: 100, duration: 10, switch: "rbond".into(), lacp_rate: "slow".into(), bench: false, plot: None, link_events: true }
    }
}

/// How to build a lab.
#[derive(Clone, Debug)]
pub struct LabConfig {
    pub mode: Mode,
    pub slaves: usize,
    pub miimon: u32,
    /// More `<option> <value>` pairs for `rbond add bond0` (e.g. xmit_hash_policy layer3+4).
    pub bond_options: Vec<(String, String)>,
    /// The rbond binary that runs the daemons and the CLI.
    pub rbond_bin: PathBuf,
    /// Client hosts behind the switch besides the peer (`clients`), 0 for none.
    pub clients: usize,
    /// What stands on the switch side of the cables (modes with a port-channel).
    pub switch: SwitchKind,
    /// More `<option> <value>` pairs for the switch-side rbond bond po0.
    pub switch_options: Vec<(String, String)>,
    /// `--metrics` address of the host daemon (inside the host namespace; loopback is up).
    pub host_metrics: Option<std::net::SocketAddr>,
    /// `--workers` of the host daemon (None: its default, one per CPU).
    pub host_workers: Option<u16>,
    /// false: the host daemon runs with `--no-link-events`.
    pub host_link_events: bool,
}

/// The switch-side implementation of the port-channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchKind {
    /// A second rbond bond, po0.
    Rbond,
    /// Open vSwitch (802.3ad only), with these LACP settings.
    Ovs(ovs::OvsLacp),
    /// Plain bridge ports, whatever the mode: a switch nobody configured (for 802.3ad: no
    /// LACP partner at all, the case of rbond's lacp_fallback).
    Unconfigured,
}

impl LabConfig {
    pub fn new(mode: Mode, rbond_bin: impl Into<PathBuf>) -> LabConfig {
        LabConfig {
            mode,
            slaves: 2,
            miimon: 100,
            bond_options: Vec::new(),
            rbond_bin: rbond_bin.into(),
            clients: 0,
            switch: SwitchKind::Rbond,
            switch_options: Vec::new(),
            host_metrics: None,
            host_workers: None,
            host_link_events: true,
        }
    }

    pub fn slaves(mut self, n: usize) -> Self {
        self.slaves = n;
        self
    }

    pub fn clients(mut self, n: usize) -> Self {
        self.clients = n;
        self
    }

    pub fn miimon(mut self, ms: u32) -> Self {
        self.miimon = ms;
        self
    }

    /// Serve the host daemon's metrics on `addr` in the host namespace.
    pub fn metrics(mut self, addr: std::net::SocketAddr) -> Self {
        self.host_metrics = Some(addr);
        self
    }

    /// Run the host daemon with `--workers n`.
    pub fn workers(mut self, n: u16) -> Self {
        self.host_workers = Some(n);
        self
    }

    pub fn option(mut self, name: &str, value: &str) -> Self {
        self.bond_options.push((name.into(), value.into()));
        self
    }

    /// An option of the switch-side rbond bond po0.
    pub fn switch_option(mut self, name: &str, value: &str) -> Self {
        self.switch_options.push((name.into(), value.into()));
        self
    }

    /// Open vSwitch instead of rbond on the switch side (802.3ad).
    pub fn ovs(mut self, lacp: ovs::OvsLacp) -> Self {
        self.switch = SwitchKind::Ovs(lacp);
        self
    }

    /// Plain bridge ports on the switch side, whatever the mode.
    pub fn unconfigured_switch(mut self) -> Self {
        self.switch = SwitchKind::Unconfigured;
        self
    }
}

/// Packet counters of one host slave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaveCounters {
    pub name: String,
    pub rx_packets: u64,
    pub tx_packets: u64,
}

/// A built lab. Dropping it stops the daemons (so they restore their slaves) and then deletes
/// the namespaces and the run directory.
pub struct Lab {
    pub config: LabConfig,
    host_daemon: Option<Daemon>,
    sw_daemon: Option<Daemon>,
    slaves: Vec<String>,
    ports: Vec<String>,
    log_seen: Mutex<(usize, usize)>,
    ovs: Option<ovs::Ovs>,
    // Field order is drop order: namespaces before the directory holding the daemons' sockets.
    host: Netns,
    sw: Netns,
    peer: Netns,
    clients: Vec<Netns>,
    _dir: RunDir,
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Daemons first, while their slaves still exist, then the namespaces (field drops).
        self.host.stop_processes();
        self.sw.stop_processes();
    }
}

impl Lab {
    /// Builds namespaces, cables, the switch, the peer and the bonds, and waits until the peer
    /// answers through bond0.
    pub fn build(config: LabConfig) -> Result<Lab> {
        if config.slaves == 0 || config.slaves > 16 {
            bail!("--slaves {}: accepted values 1 - 16", config.slaves);
        }
        netns::sweep_stale();
        let id = netns::unique_id();
        let dir = RunDir::new(&id)?;
        let host = Netns::new(&id, "host")?;
        let sw = Netns::new(&id, "sw")?;
        let peer = Netns::new(&id, "peer")?;
        // From here on, an error drops `lab`, which cleans up in the right order.
        let mut lab = Lab {
            config,
            host_daemon: None,
            sw_daemon: None,
            slaves: Vec::new(),
            ports: Vec::new(),
            log_seen: Mutex::new((0, 0)),
            ovs: None,
            host,
            sw,
            peer,
            clients: Vec::new(),
            _dir: dir,
        };
        for ns in [&lab.host, &lab.sw, &lab.peer] {
            topology::quiet_ipv6(ns)?;
        }
        topology::build_switch_and_peer(&lab.sw, &lab.peer)?;
        for k in 0..lab.config.clients {
            let c = clients::build_client(&lab.sw, &id, k)?;
            lab.clients.push(c);
        }
        let (slaves, ports) = topology::build_cables(&lab.host, &lab.sw, lab.config.slaves)?;
        lab.slaves = slaves;
        lab.ports = ports;
        let (mode, miimon) = (lab.config.mode, lab.config.miimon);
        let bin = lab.config.rbond_bin.clone();
        match (topology::switch_side(mode), lab.config.switch) {
            (_, SwitchKind::Ovs(_)) if mode != Mode::Ieee8023ad => {
                bail!("--switch ovs: the Open vSwitch side is for mode 802.3ad only")
            }
            (SwitchSide::Bridge, _) | (_, SwitchKind::Unconfigured) => topology::bridge_ports(&lab.sw, &lab.ports)?,
            (SwitchSide::PortChannel, SwitchKind::Rbond) => {
                let d = Daemon::start(&lab.sw, &bin, &lab._dir.0, "sw")?;
                lab.sw_daemon = Some(d);
                let d = lab.sw_daemon.as_ref().unwrap();
                topology::port_channel(d, &lab.sw, mode, miimon, &lab.config.switch_options, &lab.ports)?;
            }
            (SwitchSide::PortChannel, SwitchKind::Ovs(lacp)) => {
                let o = ovs::Ovs::start(&lab.sw, &lab._dir.0.join("ovs"))?;
                // The peer-facing port moves from the Linux bridge to the OVS bridge.
                lab.sw.ip(&["link", "set", "swpeer", "nomaster"])?;
                o.build(&lab.sw, "swpeer", &lab.ports, lacp)?;
                lab.ovs = Some(o);
            }
        }
        let metrics = lab.config.host_metrics.map(|a| a.to_string());
        let workers = lab.config.host_workers.map(|n| n.to_string());
        let mut extra = Vec::new();
        if let Some(m) = &metrics {
            lab.host.ip(&["link", "set", "lo", "up"])?;
            extra.extend(["--metrics", m.as_str()]);
        }
        if let Some(w) = &workers {
            extra.extend(["--workers", w.as_str()]);
        }
        if !lab.config.host_link_events {
            extra.push("--no-link-events");
        }
        let d = Daemon::start_with(&lab.host, &bin, &lab._dir.0, "host", &extra)?;
        lab.host_daemon = Some(d);
        let d = lab.host_daemon.as_ref().unwrap();
        topology::host_bond(d, &lab.host, mode, miimon, &lab.config.bond_options, &lab.slaves)?;
        // LACP needs partners to agree before any port distributes; give it longer.
        let timeout = if mode == Mode::Ieee8023ad { 30 } else { 10 };
        lab.wait_reachable(Duration::from_secs(timeout))?;
        if mode == Mode::Ieee8023ad && lab.config.switch != SwitchKind::Unconfigured {
            // The first reply comes as soon as one port distributes; the others join within
            // the aggregate wait (2 s) and an LACPDU exchange.
            lab.wait_aggregated(Duration::from_secs(timeout))?;
        }
        Ok(lab)
    }

    /// 802.3ad: waits until every slave of bond0 distributes (state active, actor
    /// Distributing).
    pub fn wait_aggregated(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_daemons()?;
            let v = self.status_json()?;
            let all = v["slaves"].as_array().is_some_and(|s| {
                s.iter().all(|s| s["state"] == "active" && s["ad"]["actor"]["port_state"].as_u64().unwrap_or(0) & 0x20 != 0)
            });
            if all {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("802.3ad: not every port of {} distributes after {timeout:?}:\n{}", topology::HOST_BOND, self.status()?);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Probes with short bursts until one reply comes back: the bonds are up, the bridge
    /// forwards and ARP is resolved, so measurements start from a working path.
    fn wait_reachable(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.check_daemons()?;
            let mut cfg = ProbeConfig::new(Duration::from_millis(200));
            cfg.interval = Duration::from_millis(10);
            cfg.grace = Duration::from_millis(100);
            if self.probe(cfg)?.summary().received > 0 {
                return Ok(());
            }
        }
        bail!(
            "198.18.0.2 not reachable through {} within {timeout:?}\nstatus:\n{}\ndaemon log:\n{}",
            topology::HOST_BOND,
            self.status().unwrap_or_else(|e| e.to_string()),
            self.daemon_log().join("\n")
        )
    }

    /// Fails if a daemon has exited.
    pub fn check_daemons(&self) -> Result<()> {
        self.host.check_processes()?;
        self.sw.check_processes()
    }

    pub fn host(&self) -> &Netns {
        &self.host
    }
    pub fn switch(&self) -> &Netns {
        &self.sw
    }
    pub fn peer(&self) -> &Netns {
        &self.peer
    }
    /// Host slave names, eth0..ethN-1; cable k joins slave k to switch port k.
    pub fn slaves(&self) -> &[String] {
        &self.slaves
    }
    /// Switch port names, swp0..swpN-1.
    pub fn ports(&self) -> &[String] {
        &self.ports
    }
    pub fn host_daemon(&self) -> &Daemon {
        self.host_daemon.as_ref().expect("built")
    }
    pub fn switch_daemon(&self) -> Option<&Daemon> {
        self.sw_daemon.as_ref()
    }

    /// The client hosts (`LabConfig::clients`).
    pub fn clients(&self) -> &[Netns] {
        &self.clients
    }

    /// Every client pings bond0 (`count` echoes, one per `interval`) at the same time; waits
    /// for all.
    pub fn ping_from_clients(&self, count: u64, interval: Duration) -> Result<Vec<clients::PingResult>> {
        let hs = self.start_client_pings(count, interval);
        hs.into_iter().map(|h| h.join().map_err(|_| anyhow::anyhow!("ping thread panicked"))?).collect()
    }

    /// Starts the clients' pings of bond0 in the background (see `ping_from_clients`).
    pub fn start_client_pings(&self, count: u64, interval: Duration) -> Vec<std::thread::JoinHandle<Result<clients::PingResult>>> {
        let target = topology::HOST_ADDR.split('/').next().unwrap_or_default();
        self.clients.iter().map(|c| clients::start_ping(c, target, count, interval)).collect()
    }

    /// The MAC each client's neighbour table holds for bond0's address, in client order.
    pub fn client_neigh(&self) -> Vec<Option<String>> {
        let target = topology::HOST_ADDR.split('/').next().unwrap_or_default();
        self.clients.iter().map(|c| clients::neigh_mac(c, target)).collect()
    }

    /// `bridge fdb show br br0` in the switch: (MAC, port) of every learned entry (the
    /// bridge's own permanent entries left out).
    pub fn fdb(&self) -> Result<Vec<(String, String)>> {
        let out = self.sw.exec_ok(&["bridge", "fdb", "show", "br", "br0"])?;
        Ok(out
            .lines()
            .filter(|l| !l.contains("permanent"))
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let dev = w.iter().position(|&x| x == "dev").and_then(|i| w.get(i + 1))?;
                Some((w.first()?.to_lowercase(), dev.to_string()))
            })
            .collect())
    }

    /// The MAC a host interface carries now.
    pub fn host_mac(&self, ifname: &str) -> Result<String> {
        Ok(self.host.read_sys(&format!("/sys/class/net/{ifname}/address"))?.to_lowercase())
    }

    /// `rbond status --json` of the host daemon, parsed.
    pub fn status_json(&self) -> Result<serde_json::Value> {
        let text = self.host_daemon().cli_ok(&["status", topology::HOST_BOND, "--json"])?;
        serde_json::from_str(&text).with_context(|| format!("status --json: {text}"))
    }

    /// Runs a probe to completion.
    pub fn probe(&self, cfg: ProbeConfig) -> Result<ProbeResult> {
        probe::run(&self.host, &self.peer, cfg)
    }

    /// Starts a probe in the background; `stop` cuts it short.
    pub fn start_probe(&self, cfg: ProbeConfig, stop: Option<Arc<AtomicBool>>) -> Result<ProbeHandle> {
        probe::start(&self.host, &self.peer, cfg, stop)
    }

    /// Pulls cable k: carrier down at the switch end, so the host's slave k loses its link.
    pub fn pull(&self, k: usize) -> Result<()> {
        self.sw.ip(&["link", "set", self.port(k)?, "down"]).map(drop)
    }

    /// Plugs cable k back in.
    pub fn plug(&self, k: usize) -> Result<()> {
        self.sw.ip(&["link", "set", self.port(k)?, "up"]).map(drop)
    }

    fn port(&self, k: usize) -> Result<&str> {
        match self.ports.get(k) {
            Some(p) => Ok(p),
            None => bail!("no cable {k}: the lab has {} slaves", self.ports.len()),
        }
    }

    /// `rbond <args>` against the host daemon; the raw output (exit status, stdout, stderr).
    pub fn rbond(&self, args: &[&str]) -> Result<Output> {
        self.host_daemon().cli(args)
    }

    /// `rbond status` of the host daemon (the /proc/net/bonding text).
    pub fn status(&self) -> Result<String> {
        self.host_daemon().cli_ok(&["status"])
    }

    /// `rbond status` of the switch's port-channel, if the mode has one; with Open vSwitch,
    /// its `lacp/show` and `bond/show`.
    pub fn switch_status(&self) -> Option<Result<String>> {
        if let Some(o) = &self.ovs {
            return Some(o.lacp_show().and_then(|l| Ok(format!("{l}\n{}", o.bond_show()?))));
        }
        self.sw_daemon.as_ref().map(|d| d.cli_ok(&["status"]))
    }

    /// The Open vSwitch instance on the switch side, if the lab uses one.
    pub fn ovs(&self) -> Option<&ovs::Ovs> {
        self.ovs.as_ref()
    }

    /// `rbond status --json` of the switch-side bond po0, parsed.
    pub fn switch_status_json(&self) -> Result<serde_json::Value> {
        let Some(d) = &self.sw_daemon else { bail!("no rbond on the switch side") };
        let text = d.cli_ok(&["status", topology::SWITCH_BOND, "--json"])?;
        serde_json::from_str(&text).with_context(|| format!("status --json: {text}"))
    }

    /// The "Currently Active Slave" of bond0, if the status shows one.
    pub fn active_slave(&self) -> Result<Option<String>> {
        Ok(status_field(&self.status()?, "Currently Active Slave")
            .filter(|s| s != "None"))
    }

    /// RX/TX packet counters of every host slave.
    pub fn slave_counters(&self) -> Result<Vec<SlaveCounters>> {
        self.slaves
            .iter()
            .map(|s| {
                Ok(SlaveCounters {
                    name: s.clone(),
                    rx_packets: self.host.counter(s, "rx_packets")?,
                    tx_packets: self.host.counter(s, "tx_packets")?,
                })
            })
            .collect()
    }

    /// Every line the daemons printed (host first, then switch).
    pub fn daemon_log(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        if let Some(d) = &self.host_daemon {
            v.extend(d.log.lines().into_iter().map(|l| format!("[host] {l}")));
        }
        if let Some(d) = &self.sw_daemon {
            v.extend(d.log.lines().into_iter().map(|l| format!("[sw] {l}")));
        }
        v
    }

    /// Daemon lines not yet returned by an earlier call (for live display).
    pub fn new_daemon_log(&self) -> Vec<String> {
        let mut seen = self.log_seen.lock().unwrap();
        let mut out = Vec::new();
        if let Some(d) = &self.host_daemon {
            let l = d.log.lines();
            out.extend(l[seen.0.min(l.len())..].iter().map(|l| format!("[host daemon] {l}")));
            seen.0 = l.len();
        }
        if let Some(d) = &self.sw_daemon {
            let l = d.log.lines();
            out.extend(l[seen.1.min(l.len())..].iter().map(|l| format!("[switch daemon] {l}")));
            seen.1 = l.len();
        }
        out
    }
}

/// The value after `<name>: ` on the first status line that starts with it.
pub fn status_field(status: &str, name: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": ").map(|v| v.to_string()))
}

/// Set by SIGINT/SIGTERM during `rbond lab`.
fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        // The handler only sets a flag; the main thread notices it, returns an error and the
        // guards' Drop removes the namespaces. If installing fails (a handler already exists),
        // the lab still works, only Ctrl-C would skip the cleanup.
        if let Err(e) = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst)) {
            eprintln!("rbond lab: cannot install the Ctrl-C handler: {e}");
        }
        flag
    })
    .clone()
}

/// Sleeps until `t`, returning an error as soon as Ctrl-C is pressed.
fn sleep_until(t: Instant, stop: &AtomicBool) -> Result<()> {
    loop {
        if stop.load(Ordering::SeqCst) {
            bail!("interrupted; removing the lab");
        }
        let now = Instant::now();
        if now >= t {
            return Ok(());
        }
        std::thread::sleep((t - now).min(Duration::from_millis(50)));
    }
}

fn print_section(title: &str, body: &str) {
    println!("==== {title} ====");
    print!("{body}");
    if !body.ends_with('\n') {
        println!();
    }
    println!();
}

/// `rbond lab`: build, probe, pull every cable in turn, report, remove everything.
pub fn run(args: LabArgs) -> Result<()> {
    let mode = topology::parse_mode(&args.mode)?;
    if args.slaves == 0 || args.slaves > 16 {
        bail!("option --slaves: invalid value ({}); accepted values 1 - 16", args.slaves);
    }
    if args.duration < 2 || args.duration > 3600 {
        bail!("option --duration: invalid value ({}); accepted values 2 - 3600 (seconds)", args.duration);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("rbond lab needs root (it creates network namespaces)");
    }
    let stop = interrupt_flag();
    let bin = std::env::current_exe().context("locating the rbond binary")?;
    if args.bench {
        if mode != Mode::Ieee8023ad {
            bail!("--bench: mode 802.3ad only");
        }
        return bench::run(bin);
    }
    // tlb and alb balance per peer: give them several clients behind the switch.
    let n_clients = if mode.is_tlb() { clients::LAB_CLIENTS } else { 0 };
    let mut config = LabConfig::new(mode, bin).slaves(args.slaves).miimon(args.miimon).clients(n_clients);
    config.host_link_events = args.link_events;
    let fast = match args.lacp_rate.as_str() {
        "slow" | "0" => false,
        "fast" | "1" => true,
        v => bail!("option --lacp-rate: invalid value ({v}); accepted values slow, fast"),
    };
    match args.switch.as_str() {
        "rbond" => {}
        "ovs" if mode == Mode::Ieee8023ad => {
            if !ovs::available() {
                bail!("--switch ovs: Open vSwitch is not installed (apt-get install openvswitch-switch)");
            }
            config = config.ovs(ovs::OvsLacp { active: true, fast });
        }
        "ovs" => bail!("--switch ovs: the Open vSwitch side is for mode 802.3ad only"),
        v => bail!("option --switch: invalid value ({v}); accepted values rbond, ovs"),
    }
    if mode == Mode::Ieee8023ad {
        config = config.option("lacp_rate", &args.lacp_rate).switch_option("lacp_rate", &args.lacp_rate);
    } else if args.lacp_rate != "slow" {
        bail!("--lacp-rate: mode 802.3ad only");
    }
    println!(
        "rbond lab: bond0 mode {}({}), {} slaves, miimon {} ms; switch side: {}",
        mode.name(),
        mode.num(),
        args.slaves,
        args.miimon,
        match topology::switch_side(mode) {
            SwitchSide::Bridge => "Linux bridge (no switch configuration)",
            SwitchSide::PortChannel if mode == Mode::Ieee8023ad && args.switch == "ovs" => {
                "Open vSwitch (netdev datapath) bond lag0, lacp=active balance-tcp, in bridge ovsbr0"
            }
            SwitchSide::PortChannel if mode == Mode::Ieee8023ad => {
                "rbond 802.3ad bond po0 (LACP port-channel) in a Linux bridge"
            }
            SwitchSide::PortChannel => "rbond bond po0 as a static port-channel in a Linux bridge",
        }
    );
    let lab = Lab::build(config)?;
    println!(
        "namespaces: {} (bond0 198.18.0.1), {} (br0), {} (198.18.0.2)\n",
        lab.host().name(),
        lab.switch().name(),
        lab.peer().name()
    );
    for l in lab.new_daemon_log() {
        println!("{l}");
    }
    println!();
    print_section("status before", &lab.status()?);
    if let Some(s) = lab.switch_status() {
        print_section("switch port-channel status", &s?);
    }
    let before = lab.slave_counters()?;

    // Equal segments: clean, then for each cable "pulled" and "plugged back".
    let n = lab.slaves().len();
    let mut total = Duration::from_secs(args.duration);
    // A plugged-back port needs ~2.5 s to distribute again (aggregate wait, LACPDU exchange):
    // give each segment 3 s so the next pull does not hit a half-formed aggregate.
    let min_total = Duration::from_secs(3 * (2 * n as u64 + 1));
    if mode == Mode::Ieee8023ad && total < min_total {
        println!("802.3ad: --duration {} raised to {} s (3 s per segment, for LACP to re-form after each plug)\n", args.duration, min_total.as_secs());
        total = min_total;
    }
    let seg = total / (2 * n as u32 + 1);
    let handle = lab.start_probe(ProbeConfig::new(total), Some(stop.clone()))?;
    // The clients ping bond0 every 10 ms meanwhile (what alb spreads over the slaves).
    let ping_every = Duration::from_millis(10);
    let pings = lab.start_client_pings(total.as_millis() as u64 / ping_every.as_millis() as u64, ping_every);
    let t0 = Instant::now();
    let t0_wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let sampler = args.plot.as_ref().map(|_| plot::Sampler::start(lab.host_daemon().socket.clone(), topology::HOST_BOND, t0));
    let mut marks = Vec::new();
    let mut phases = vec![report::Phase { name: "all cables in".into(), from: Duration::ZERO, to: seg }];
    for k in 0..n {
        let (pull_at, plug_at) = (seg * (2 * k as u32 + 1), seg * (2 * k as u32 + 2));
        sleep_until(t0 + pull_at, &stop)?;
        lab.pull(k)?;
        marks.push(plot::Mark { at: t0.elapsed(), kind: plot::MarkKind::Pull, label: format!("pull {}", lab.slaves()[k]) });
        println!("t={:.1}s: pulled cable {} ({} at the switch, {} at the host)", t0.elapsed().as_secs_f64(), k, lab.ports()[k], lab.slaves()[k]);
        // Half a segment later the MII monitor has acted: show what the bond made of it.
        sleep_until(t0 + pull_at + seg / 2, &stop)?;
        for l in lab.new_daemon_log() {
            println!("{l}");
        }
        print_section(&format!("status with cable {k} pulled"), &lab.status()?);
        sleep_until(t0 + plug_at, &stop)?;
        lab.plug(k)?;
        marks.push(plot::Mark { at: t0.elapsed(), kind: plot::MarkKind::Plug, label: format!("plug {}", lab.slaves()[k]) });
        println!("t={:.1}s: plugged cable {k} back in", t0.elapsed().as_secs_f64());
        phases.push(report::Phase { name: format!("{} pulled", lab.ports()[k]), from: pull_at, to: plug_at });
        phases.push(report::Phase {
            name: format!("{} plugged back", lab.ports()[k]),
            from: plug_at,
            to: plug_at + seg,
        });
    }
    let result = handle.wait()?;
    let mut ping_rows = Vec::new();
    for h in pings {
        ping_rows.push(h.join().map_err(|_| anyhow::anyhow!("ping thread panicked"))??);
    }
    if stop.load(Ordering::SeqCst) {
        bail!("interrupted; removing the lab");
    }
    for l in lab.new_daemon_log() {
        println!("{l}");
    }
    println!();
    print_section("status after", &lab.status()?);
    let after = lab.slave_counters()?;
    let rows: Vec<_> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| (a.name.clone(), (b.rx_packets, b.tx_packets), (a.rx_packets, a.tx_packets)))
        .collect();
    print_section("slave counters during the probe", &report::counter_table(&rows));
    if !lab.clients().is_empty() {
        print_section("clients", &client_report(&lab, &ping_rows));
    }
    print_section("report", &report::probe_table(&result, &phases));
    if let (Some(path), Some(sampler)) = (&args.plot, sampler) {
        marks.extend(plot::failover_marks(&lab.host_daemon().socket, topology::HOST_BOND, t0_wall));
        let data = plot::PlotData {
            title: format!("rbond lab: bond0 {}, {} slaves, miimon {} ms", mode.name(), n, args.miimon),
            samples: sampler.finish(),
            loss: plot::loss_series(&result, Duration::from_millis(100)),
            marks,
            duration: total,
        };
        plot::render(path, &data)?;
        println!("plot written to {}", path.display());
    }
    Ok(())
}

/// tlb/alb: what each client learned for bond0's address and which slave carries that MAC,
/// the RLB client table, and the clients' pings of bond0 over the run.
fn client_report(lab: &Lab, pings: &[clients::PingResult]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let macs: Vec<(String, String)> =
        lab.slaves().iter().map(|s| (s.clone(), lab.host_mac(s).unwrap_or_default())).collect();
    let _ = writeln!(out, "slave MACs now: {}", macs.iter().map(|(s, m)| format!("{s} {m}")).collect::<Vec<_>>().join(", "));
    for (k, n) in lab.client_neigh().into_iter().enumerate() {
        let n = n.unwrap_or_else(|| "-".into());
        let on = macs.iter().find(|(_, m)| *m == n).map(|(s, _)| s.as_str()).unwrap_or("no slave");
        let _ = writeln!(out, "client {} ({}) reaches 198.18.0.1 at {n} ({on})", k, clients::client_addr(k));
    }
    if lab.config.mode != Mode::BalanceAlb {
        // tlb has no receive balancing: no client table.
    } else if let Ok(j) = lab.status_json() {
        if let Some(cl) = j["lb"]["rlb_clients"].as_array() {
            let _ = writeln!(out, "RLB clients: {}", cl.len());
            for c in cl {
                let _ = writeln!(out, "  {} {} -> {}", c["ip"].as_str().unwrap_or("?"), c["mac"].as_str().unwrap_or("-"), c["slave"].as_str().unwrap_or("-"));
            }
        }
    }
    out.push('\n');
    out.push_str(&clients::ping_table(pings));
    out
}
