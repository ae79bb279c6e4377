//! RAII guards for network namespaces and the processes started inside them.
//!
//! Everything the lab creates lives inside namespaces it owns: deleting a namespace removes its
//! veths, bridges and TAPs, so one `Drop` per namespace is enough to leave the machine clean, on
//! success, on error (`?` unwinds through the guards) and on panic.

use anyhow::{anyhow, bail, Context, Result};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Prefix of every namespace the lab creates; `sweep_stale` only ever touches names with it.
pub const NS_PREFIX: &str = "rblab-";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A process-unique id (`<pid>-<counter>`): parallel tests in one process and parallel test
/// binaries never pick the same namespace names, socket paths or run dirs.
/// Network namespaces need root (CAP_SYS_ADMIN); tests without it skip themselves.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub fn unique_id() -> String {
    format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Runs a command, returning its output; fails only if it could not be started.
fn run(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))
}

/// Runs a command that must succeed; the error carries its stderr.
fn run_ok(cmd: &mut Command) -> Result<String> {
    let out = run(cmd)?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Lines a child printed on stdout and stderr, kept for readiness checks and failure reports.
#[derive(Clone, Default)]
pub struct ProcLog {
    lines: Arc<Mutex<Vec<String>>>,
    /// Stdout lines also go through this channel so a caller can wait for one.
    ready_rx: Arc<Mutex<Option<mpsc::Receiver<String>>>>,
}

impl ProcLog {
    /// Everything captured so far (stdout and stderr interleaved as read).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a stdout line contains `needle`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> Result<()> {
        let guard = self.ready_rx.lock().unwrap();
        let rx = guard.as_ref().ok_or_else(|| anyhow!("no stdout captured"))?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Ok(()),
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    bail!("timed out after {timeout:?} waiting for {needle:?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("process closed stdout before printing {needle:?}")
                }
            }
        }
    }
}

struct Started {
    what: String,
    child: Child,
    readers: Vec<JoinHandle<()>>,
}

/// A network namespace named `rblab-<id>-<role>`, deleted (with its processes) on drop.
pub struct Netns {
    name: String,
    children: Mutex<Vec<Started>>,
}

impl Netns {
    /// Creates the namespace and brings its loopback up (UDP to a local address needs it).
    pub fn new(id: &str, role: &str) -> Result<Netns> {
        let name = format!("{NS_PREFIX}{id}-{role}");
        run_ok(Command::new("ip").args(["netns", "add", &name]))
            .with_context(|| format!("creating network namespace {name}"))?;
        // From here on the guard exists, so any later failure deletes the namespace.
        let ns = Netns { name, children: Mutex::new(Vec::new()) };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bind-mounted namespace file `ip netns add` made; setns(2) takes its fd.
    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// `ip -n <ns> <args>`, which must succeed; returns stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        run_ok(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// `ip netns exec <ns> <args>`: the raw output, whatever the exit status.
    pub fn exec<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Output> {
        run(Command::new("ip").args(["netns", "exec", &self.name]).args(args))
    }

    /// Like `exec`, but the command must succeed; returns stdout.
    pub fn exec_ok<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<String> {
        run_ok(Command::new("ip").args(["netns", "exec", &self.name]).args(args))
    }

    /// Writes a sysctl inside the namespace (`net.*` keys are per namespace).
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.exec_ok(&["sysctl", "-q", "-w", &format!("{key}={value}")])?;
        Ok(())
    }

    /// Reads a file under /sys inside the namespace. `ip netns exec` remounts /sys for the
    /// namespace, which reading /sys from this process would not.
    pub fn read_sys(&self, path: &str) -> Result<String> {
        Ok(self.exec_ok(&["cat", path])?.trim().to_string())
    }

    /// A u64 counter from `/sys/class/net/<ifname>/statistics/<counter>`.
    pub fn counter(&self, ifname: &str, counter: &str) -> Result<u64> {
        let text = self.read_sys(&format!("/sys/class/net/{ifname}/statistics/{counter}"))?;
        text.parse().with_context(|| format!("{ifname} {counter}: {text:?}"))
    }

    /// Starts a long-running program inside the namespace. Its stdout/stderr lines are
    /// captured into the returned log. The process is stopped (SIGTERM, then SIGKILL) when
    /// the guard drops or `stop_processes` runs.
    pub fn spawn<S: AsRef<OsStr>>(&self, what: &str, program: &Path, args: &[S]) -> Result<ProcLog> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group: a terminal Ctrl-C reaches only the lab, which then stops its
            // children in order (daemons first, namespaces after), instead of all at once.
            .process_group(0);
        let mut child = cmd.spawn().with_context(|| format!("starting {what}: {cmd:?}"))?;
        let log = ProcLog::default();
        let (tx, rx) = mpsc::channel();
        *log.ready_rx.lock().unwrap() = Some(rx);
        let mut readers = Vec::new();
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        readers.push(spawn_reader(stdout, log.lines.clone(), Some(tx)));
        readers.push(spawn_reader(stderr, log.lines.clone(), None));
        self.children.lock().unwrap().push(Started { what: what.to_string(), child, readers });
        Ok(log)
    }

    /// True while every process started here is still running; else names the one that exited.
    pub fn check_processes(&self) -> Result<()> {
        for s in self.children.lock().unwrap().iter_mut() {
            if let Some(status) = s.child.try_wait()? {
                bail!("{} exited early ({status})", s.what);
            }
        }
        Ok(())
    }

    /// Stops every process started in this namespace: SIGTERM (so a daemon can restore its
    /// slaves), up to 3 s grace, then SIGKILL. Safe to call more than once.
    pub fn stop_processes(&self) {
        let mut children = std::mem::take(&mut *self.children.lock().unwrap());
        for s in children.iter_mut() {
            // SAFETY: plain kill(2) on a pid we own and have not reaped yet.
            unsafe { libc::kill(s.child.id() as libc::pid_t, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        for s in children.iter_mut() {
            loop {
                match s.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        eprintln!("lab: {} did not stop on SIGTERM, killing it", s.what);
                        let _ = s.child.kill();
                        let _ = s.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            for r in s.readers.drain(..) {
                let _ = r.join();
            }
        }
    }

    /// Runs `f` on a new thread that has entered this namespace with setns(2). Sockets made
    /// there belong to this namespace for their whole life, whichever thread uses them later.
    pub fn spawn_thread<T, F>(&self, f: F) -> JoinHandle<Result<T>>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        let path = self.path();
        std::thread::spawn(move || {
            enter(&path)?;
            f()
        })
    }
}

/// Moves the calling thread into the network namespace at `path`.
pub fn enter(path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: setns on a valid fd; CLONE_NEWNET only changes this thread's network namespace,
    // which Linux allows in a multi-threaded process.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error()).context(format!("setns {}", path.display()));
    }
    Ok(())
}

fn spawn_reader<R: Read + Send + 'static>(
    stream: R,
    lines: Arc<Mutex<Vec<String>>>,
    tx: Option<mpsc::Sender<String>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &tx {
                let _ = tx.send(line.clone());
            }
            lines.lock().unwrap().push(line);
        }
    })
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.stop_processes();
        let out = Command::new("ip").args(["netns", "del", &self.name]).output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "lab: ip netns del {} failed: {}",
                self.name,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("lab: ip netns del {}: {e}", self.name),
        }
    }
}

/// Creates a veth pair with one end directly in each namespace, so no name ever appears in the
/// root namespace (where parallel labs would collide). Both ends stay down.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<()> {
    for n in [a_if, b_if] {
        if n.len() > 15 {
            bail!("interface name {n:?} longer than 15 characters (IFNAMSIZ)");
        }
    }
    a.ip(&["link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b.name()])
        .with_context(|| format!("veth {}:{a_if} <-> {}:{b_if}", a.name(), b.name()))?;
    Ok(())
}

/// Deletes lab namespaces left behind by lab processes that no longer exist (e.g. killed with
/// SIGKILL, where no Drop could run). Only names `rblab-<pid>-...` whose pid is gone.
pub fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(NS_PREFIX) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns_exists(name: &str) -> bool {
        Path::new("/run/netns").join(name).exists()
    }

    #[test]
    fn namespace_is_removed_on_drop_with_its_links_and_processes() {
        if !crate::lab::netns::is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
        let id = unique_id();
        let a = Netns::new(&id, "a").unwrap();
        let b = Netns::new(&id, "b").unwrap();
        veth(&a, "eth0", &b, "swp0").unwrap();
        assert!(a.ip(&["link", "show", "eth0"]).is_ok());
        assert!(b.ip(&["link", "show", "swp0"]).is_ok());
        let log = a.spawn("sleeper", Path::new("/bin/sh"), &["-c", "echo ready; exec sleep 60"]).unwrap();
        log.wait_for("ready", Duration::from_secs(5)).unwrap();
        let (an, bn) = (a.name().to_string(), b.name().to_string());
        drop(a);
        assert!(!ns_exists(&an));
        // The peer end disappears with its partner's namespace; the kernel tears namespaces
        // down asynchronously (cleanup_net workqueue), so allow it a moment.
        let deadline = Instant::now() + Duration::from_secs(5);
        while b.ip(&["link", "show", "swp0"]).is_ok() {
            assert!(Instant::now() < deadline, "swp0 outlived its peer's namespace");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(b);
        assert!(!ns_exists(&bn));
    }

    #[test]
    fn guard_cleans_up_on_panic() {
        if !crate::lab::netns::is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
        let id = unique_id();
        let name = format!("{NS_PREFIX}{id}-p");
        let r = std::panic::catch_unwind(|| {
            let _ns = Netns::new(&id, "p").unwrap();
            assert!(ns_exists(&format!("{NS_PREFIX}{id}-p")));
            panic!("boom");
        });
        assert!(r.is_err());
        assert!(!ns_exists(&name));
    }

    #[test]
    fn long_interface_names_are_refused() {
        if !crate::lab::netns::is_root() {
            eprintln!("skipped: needs root (network namespaces)");
            return;
        }
        let id = unique_id();
        let a = Netns::new(&id, "a").unwrap();
        let b = Netns::new(&id, "b").unwrap();
        assert!(veth(&a, "a-name-of-16-chr", &b, "x").is_err());
    }
}
