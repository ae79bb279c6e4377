//! Shared helpers for the end-to-end tests: real namespaces, real frames, the real rbond binary.
//!
//! Each test builds its own `Lab` (unique namespace names, sockets and run dirs), so tests run in
//! parallel; dropping the lab removes everything, also when an assertion panics.
#![allow(dead_code, unused_imports)]

pub use rbond::lab::probe::{ProbeConfig, ProbeResult, Summary};
pub use rbond::lab::{status_field, Lab, LabConfig, Mode, SlaveCounters};
use std::path::Path;
use std::sync::{Condvar, Mutex};
pub use std::time::Duration;

/// The rbond binary Cargo built for these tests.
pub fn rbond_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rbond")
}

/// The tests need real namespaces; say so plainly instead of failing somewhere deep.
pub fn require_root() {
    assert!(is_root(), "the e2e tests create network namespaces and must run as root");
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// First line of every namespace test: as root (CI) it goes on; as a user it says why it
/// does nothing and the test returns, so `cargo test` without root passes what it can run.
pub fn root_or_skip() -> bool {
    if !is_root() {
        eprintln!("skipped: this test creates network namespaces and needs root (run it with sudo)");
    }
    is_root()
}

pub fn config(mode: Mode) -> LabConfig {
    LabConfig::new(mode, rbond_bin())
}

/// At most one running lab per CPU in this test process. Each lab runs two userspace datapaths
/// and a 1 ms probe; more labs than cores starve each other and turn scheduling delays into
/// probe loss that says nothing about rbond.
static SLOTS: Mutex<usize> = Mutex::new(0);
static SLOT_FREED: Condvar = Condvar::new();

pub struct Slot;

impl Slot {
    pub fn take() -> Slot {
        let max = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2);
        let mut used = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= max {
            used = SLOT_FREED.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *SLOTS.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        SLOT_FREED.notify_one();
    }
}

/// A lab plus its slot; derefs to the `Lab`. Fields drop in order: the lab, then the slot.
pub struct TestLab {
    pub lab: Lab,
    _slot: Slot,
}

impl std::ops::Deref for TestLab {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        &self.lab
    }
}

/// Builds a lab, printing the daemon log if that fails (the usual reason is a daemon error).
pub fn build(cfg: LabConfig) -> TestLab {
    require_root();
    let slot = Slot::take();
    match Lab::build(cfg.clone()) {
        Ok(lab) => TestLab { lab, _slot: slot },
        Err(e) => panic!("building the lab for {cfg:?} failed: {e:#}"),
    }
}

/// Drops the lab and checks that its namespaces are gone.
pub fn teardown(lab: TestLab) {
    let names: Vec<String> =
        [lab.host(), lab.switch(), lab.peer()].iter().map(|n| n.name().to_string()).collect();
    drop(lab);
    for n in names {
        assert!(!Path::new("/run/netns").join(&n).exists(), "namespace {n} left behind");
    }
}

/// Per-slave TX/RX deltas between two counter snapshots, as (name, rx, tx).
pub fn deltas(before: &[SlaveCounters], after: &[SlaveCounters]) -> Vec<(String, u64, u64)> {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| (a.name.clone(), a.rx_packets - b.rx_packets, a.tx_packets - b.tx_packets))
        .collect()
}

/// Runs a probe and returns it with the per-slave counter deltas over the same time.
pub fn probe_with_counters(lab: &Lab, cfg: ProbeConfig) -> (ProbeResult, Vec<(String, u64, u64)>) {
    let before = lab.slave_counters().unwrap();
    let r = lab.probe(cfg).unwrap();
    let after = lab.slave_counters().unwrap();
    let d = deltas(&before, &after);
    println!("{}", rbond::lab::report::probe_table(&r, &[]));
    println!("per-slave deltas (name, rx, tx): {d:?}");
    (r, d)
}

/// Stdout/stderr of a CLI run as text, with its exit code.
pub struct CliResult {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub fn rbond(lab: &Lab, args: &[&str]) -> CliResult {
    let out = lab.rbond(args).unwrap();
    CliResult {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `rbond <args>` must succeed.
pub fn rbond_ok(lab: &Lab, args: &[&str]) -> String {
    let r = rbond(lab, args);
    assert_eq!(r.code, Some(0), "rbond {} failed: {}", args.join(" "), r.stderr);
    r.stdout
}

/// Polls `rbond status` until `pred` holds (the daemon applies changes on its own thread and
/// the MII monitor acts at its next tick), or panics with the last status.
pub fn wait_status(lab: &Lab, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let s = lab.status().unwrap();
        if pred(&s) {
            return s;
        }
        if std::time::Instant::now() > deadline {
            panic!("status never showed {what} within {timeout:?}:\n{s}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The slave sections of a status text, as (interface, MII status, link failure count).
pub fn slave_sections(status: &str) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    for block in status.split("\n\n").filter(|b| b.starts_with("Slave Interface: ")) {
        let name = status_field(block, "Slave Interface").unwrap();
        let mii = status_field(block, "MII Status").unwrap_or_default();
        let fails = status_field(block, "Link Failure Count")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        out.push((name, mii, fails));
    }
    out
}

/// The seed's network for the configuration tests: host ns (a daemon; eth0 and eth1 for the
/// configured bond) == veths == switch ns (a bridge) == peer ns (eth0 at the seed's GATEWAY).
/// Fields drop in order: the daemon, the namespaces, then the run dir.
pub struct SeedNet {
    pub daemon: rbond::lab::topology::Daemon,
    pub host: rbond::lab::netns::Netns,
    pub sw: rbond::lab::netns::Netns,
    pub peer: rbond::lab::netns::Netns,
    pub run_dir: rbond::lab::topology::RunDir,
}

impl SeedNet {
    pub fn build(id: &str, gateway: &str) -> SeedNet {
        use rbond::lab::netns::{veth, Netns};
        require_root();
        let run_dir = rbond::lab::topology::RunDir::new(id).unwrap();
        let host = Netns::new(id, "host").unwrap();
        let sw = Netns::new(id, "sw").unwrap();
        let peer = Netns::new(id, "peer").unwrap();
        rbond::lab::topology::quiet_ipv6(&host).unwrap();
        sw.ip(&["link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"]).unwrap();
        sw.ip(&["link", "set", "br0", "up"]).unwrap();
        for (h, s) in [("eth0", "swp0"), ("eth1", "swp1"), ("swpeer", "")] {
            let (a, a_if, b, b_if) = if s.is_empty() { (&sw, h, &peer, "eth0") } else { (&host, h, &sw, s) };
            veth(a, a_if, b, b_if).unwrap();
            let port = if s.is_empty() { h } else { s };
            sw.ip(&["link", "set", port, "master", "br0"]).unwrap();
            sw.ip(&["link", "set", port, "up"]).unwrap();
        }
        peer.ip(&["addr", "add", &format!("{gateway}/24"), "dev", "eth0"]).unwrap();
        peer.ip(&["link", "set", "eth0", "up"]).unwrap();
        let daemon = rbond::lab::topology::Daemon::start(&host, Path::new(rbond_bin()), &run_dir.0, "host").unwrap();
        SeedNet { daemon, host, sw, peer, run_dir }
    }

    /// Stops everything and checks that no namespace is left behind.
    pub fn teardown(self) {
        let names: Vec<String> = [&self.host, &self.sw, &self.peer].iter().map(|n| n.name().to_string()).collect();
        drop(self);
        for n in names {
            assert!(!Path::new("/run/netns").join(&n).exists(), "{n} left behind");
        }
    }
}

pub fn ping_ok(ns: &rbond::lab::netns::Netns, addr: &str) -> bool {
    ns.exec(&["ping", "-c", "1", "-W", "1", addr]).map(|o| o.status.success()).unwrap_or(false)
}

/// Pings until an answer comes or `timeout` passes.
pub fn wait_ping(ns: &rbond::lab::netns::Netns, addr: &str, timeout: Duration) -> bool {
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        if ping_ok(ns, addr) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Namespaces still present that the `rbond lab` process `pid` created.
pub fn namespaces_of(pid: u32) -> Vec<String> {
    let out = std::process::Command::new("ip").args(["netns", "list"]).output().unwrap();
    let prefix = format!("{}{pid}-", rbond::lab::netns::NS_PREFIX);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
        .map(String::from)
        .collect()
}

/// What a finished `rbond lab` printed, and its pid (to look for namespaces it left).
pub struct LabRun {
    pub pid: u32,
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `rbond lab <args>` to its end as a user would, output captured (and printed, for the
/// test log).
pub fn run_lab(args: &[&str]) -> LabRun {
    let child = std::process::Command::new(rbond_bin())
        .arg("lab")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let run = LabRun {
        pid,
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    println!("==== rbond lab {} ====\n{}\n{}", args.join(" "), run.stdout, run.stderr);
    run
}
