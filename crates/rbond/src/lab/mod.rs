//! `rbond lab`: the seed's test, reproducible on one machine.
//!
//! It builds a host with bond0 over N veth "cables" to a switch namespace and a peer host behind
//! the switch (see `topology`), sends a 1 ms UDP echo probe through the bond, pulls each cable in
//! turn at the switch end and plugs it back, and reports what the probe saw. Everything lives
//! in namespaces owned by RAII guards, so it is all removed on success, error, panic or Ctrl-C.
//!
//! The same building blocks (`Lab`) drive the end-to-end tests.

pub mod netns;
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
    /// Draw the run (per-slave throughput, probe loss, pulls and failovers) as SVG here.
    pub plot: Option<PathBuf>,
}

impl Default for LabArgs {
    fn default() -> Self {
        LabArgs { mode: "active-backup".into(), slaves: 2, miimon: 100, duration: 10, plot: None }
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
    /// `--metrics` address of the host daemon (inside the host namespace; loopback is up).
    pub host_metrics: Option<std::net::SocketAddr>,
}

impl LabConfig {
    pub fn new(mode: Mode, rbond_bin: impl Into<PathBuf>) -> LabConfig {
        LabConfig { mode, slaves: 2, miimon: 100, bond_options: Vec::new(), rbond_bin: rbond_bin.into(), host_metrics: None }
    }

    pub fn slaves(mut self, n: usize) -> Self {
        self.slaves = n;
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

    pub fn option(mut self, name: &str, value: &str) -> Self {
        self.bond_options.push((name.into(), value.into()));
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
    // Field order is drop order: namespaces before the directory holding the daemons' sockets.
    host: Netns,
    sw: Netns,
    peer: Netns,
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
            host,
            sw,
            peer,
            _dir: dir,
        };
        for ns in [&lab.host, &lab.sw, &lab.peer] {
            topology::quiet_ipv6(ns)?;
        }
        topology::build_switch_and_peer(&lab.sw, &lab.peer)?;
        let (slaves, ports) = topology::build_cables(&lab.host, &lab.sw, lab.config.slaves)?;
        lab.slaves = slaves;
        lab.ports = ports;
        let (mode, miimon) = (lab.config.mode, lab.config.miimon);
        let bin = lab.config.rbond_bin.clone();
        match topology::switch_side(mode) {
            SwitchSide::Bridge => topology::bridge_ports(&lab.sw, &lab.ports)?,
            SwitchSide::PortChannel => {
                let d = Daemon::start(&lab.sw, &bin, &lab._dir.0, "sw")?;
                lab.sw_daemon = Some(d);
                let d = lab.sw_daemon.as_ref().unwrap();
                topology::port_channel(d, &lab.sw, mode, miimon, &lab.ports)?;
            }
        }
        let metrics = lab.config.host_metrics.map(|a| a.to_string());
        let mut extra = Vec::new();
        if let Some(m) = &metrics {
            lab.host.ip(&["link", "set", "lo", "up"])?;
            extra = vec!["--metrics", m.as_str()];
        }
        let d = Daemon::start_with(&lab.host, &bin, &lab._dir.0, "host", &extra)?;
        lab.host_daemon = Some(d);
        let d = lab.host_daemon.as_ref().unwrap();
        topology::host_bond(d, &lab.host, mode, miimon, &lab.config.bond_options, &lab.slaves)?;
        // LACP needs partners to agree before any port distributes; give it longer.
        let timeout = if mode == Mode::Ieee8023ad { 30 } else { 10 };
        lab.wait_reachable(Duration::from_secs(timeout))?;
        Ok(lab)
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

    /// `rbond status` of the switch's port-channel, if the mode has one.
    pub fn switch_status(&self) -> Option<Result<String>> {
        self.sw_daemon.as_ref().map(|d| d.cli_ok(&["status"]))
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
    if mode == Mode::Ieee8023ad {
        // Said at once rather than after the 30 s wait for an aggregator that cannot form.
        bail!("mode 802.3ad: rbond does not run the LACP state machines yet, so no aggregator forms and the bond carries no traffic; try --mode balance-xor (the static port-channel) meanwhile");
    }
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
    let config = LabConfig::new(mode, bin).slaves(args.slaves).miimon(args.miimon);
    println!(
        "rbond lab: bond0 mode {}({}), {} slaves, miimon {} ms; switch side: {}",
        mode.name(),
        mode.num(),
        args.slaves,
        args.miimon,
        match topology::switch_side(mode) {
            SwitchSide::Bridge => "Linux bridge (no switch configuration)",
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
    let total = Duration::from_secs(args.duration);
    let seg = total / (2 * n as u32 + 1);
    let handle = lab.start_probe(ProbeConfig::new(total), Some(stop.clone()))?;
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
