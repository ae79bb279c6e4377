//! Issue 14: rbond under systemd. The daemon speaks sd_notify(3) (READY=1 once it serves,
//! WATCHDOG=1 from its event loop, STOPPING=1 on a clean stop), and the units in `dist/` are
//! valid: run under systemd when it is PID 1, else checked by `systemd-analyze verify`.

mod common;
use common::*;
use rbond::lab::netns::{unique_id, Netns};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// A daemon started by a test, killed and reaped on drop (also on panic).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scratch directory, removed on drop (also on panic).
struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmp_dir(tag: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("rbt-{tag}-{}", unique_id()));
    std::fs::create_dir_all(&d).unwrap();
    TmpDir(d)
}

/// `rbond daemon` in `ns` with its socket and run dir under `dir`, and extra environment.
fn daemon(ns: &Netns, dir: &Path, env: &[(&str, &str)]) -> Proc {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns.name(), rbond_bin(), "daemon", "--socket"])
        .arg(dir.join("d.sock"))
        .arg("--run-dir")
        .arg(dir.join("run"))
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    Proc(c.spawn().unwrap())
}

/// Messages received on `sock` within `d` (each one datagram).
fn collect(sock: &UnixDatagram, d: Duration) -> Vec<(Duration, String)> {
    let t = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    while t.elapsed() < d {
        sock.set_read_timeout(Some((d - t.elapsed()).max(Duration::from_millis(1)))).unwrap();
        if let Ok(n) = sock.recv(&mut buf) {
            out.push((t.elapsed(), String::from_utf8_lossy(&buf[..n]).into_owned()));
        }
    }
    out
}

fn first_message(sock: &UnixDatagram, timeout: Duration) -> String {
    sock.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("no notification from the daemon");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn notify_socket_gets_ready_then_watchdog_pings_then_stopping() {
    require_root();
    let ns = Netns::new(&unique_id(), "ntf").unwrap();
    let dir = tmp_dir("notify");
    let path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    // WatchdogSec=200ms: pings are due every 100 ms.
    let mut d = daemon(&ns, &dir, &[("NOTIFY_SOCKET", path.to_str().unwrap()), ("WATCHDOG_USEC", "200000")]);
    let first = first_message(&sock, Duration::from_secs(10));
    assert!(first.lines().any(|l| l == "READY=1"), "first message {first:?}");
    // It is ready for real: the control socket answers.
    let out = Command::new("ip")
        .args(["netns", "exec", ns.name(), rbond_bin(), "--socket"])
        .arg(dir.join("d.sock"))
        .arg("status")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let msgs = collect(&sock, Duration::from_millis(1000));
    let pings: Vec<Duration> = msgs.iter().filter(|(_, m)| m == "WATCHDOG=1").map(|(t, _)| *t).collect();
    println!("watchdog pings in 1 s: {} at {pings:?}", pings.len());
    assert!(pings.len() >= 5, "{msgs:?}");
    let longest = pings.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(longest < Duration::from_millis(200), "a ping interval of {longest:?} would miss a 200 ms watchdog");
    // SAFETY: kill(2) on the daemon this test started.
    unsafe { libc::kill(d.0.id() as i32, libc::SIGTERM) };
    let status = d.0.wait().unwrap();
    assert!(status.success(), "{status}");
    let rest = collect(&sock, Duration::from_millis(100));
    assert!(rest.iter().any(|(_, m)| m == "STOPPING=1"), "{rest:?}");
    drop(d);
    drop(ns);
}

/// An abstract NOTIFY_SOCKET (`@name`, as systemd uses) works; without WATCHDOG_USEC, or with
/// a WATCHDOG_PID that is another process, there are no pings.
#[test]
fn abstract_notify_socket_and_no_watchdog_when_not_asked() {
    require_root();
    use std::os::linux::net::SocketAddrExt;
    let ns = Netns::new(&unique_id(), "nta").unwrap();
    for (i, env) in [vec![], vec![("WATCHDOG_USEC", "200000"), ("WATCHDOG_PID", "1")]].into_iter().enumerate() {
        let dir = tmp_dir("notify-abstract");
        let name = format!("rbt-notify-{}-{i}", unique_id());
        // Abstract unix addresses belong to a network namespace: bind it in the daemon's.
        let n2 = name.clone();
        let sock = ns
            .spawn_thread(move || {
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(n2.as_bytes())?;
                Ok(UnixDatagram::bind_addr(&addr)?)
            })
            .join()
            .unwrap()
            .unwrap();
        let at = format!("@{name}");
        let mut e = vec![("NOTIFY_SOCKET", at.as_str())];
        e.extend(env.iter().copied());
        let d = daemon(&ns, &dir, &e);
        let first = first_message(&sock, Duration::from_secs(10));
        assert!(first.lines().any(|l| l == "READY=1"), "{first:?}");
        let msgs = collect(&sock, Duration::from_millis(500));
        assert!(msgs.iter().all(|(_, m)| m != "WATCHDOG=1"), "pings nobody asked for ({env:?}): {msgs:?}");
        drop(d);
    }
}

fn dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist")
}

/// The units as installed, with ExecStart= pointing at the binary under test.
fn units_for_test(dir: &Path) -> Vec<PathBuf> {
    ["rbond.service", "rbond-up.service"]
        .iter()
        .map(|u| {
            let text = std::fs::read_to_string(dist().join(u)).unwrap();
            let p = dir.join(u);
            std::fs::write(&p, text.replace("/usr/sbin/rbond", rbond_bin())).unwrap();
            p
        })
        .collect()
}

/// `key=value` lines of one section of a unit file.
fn section(text: &str, name: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for l in text.lines().map(str::trim) {
        if l.starts_with('[') {
            inside = l == format!("[{name}]");
        } else if inside && !l.is_empty() && !l.starts_with('#') {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("not key=value: {l}"));
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

#[test]
fn dist_units_have_the_promised_settings() {
    let text = std::fs::read_to_string(dist().join("rbond.service")).unwrap();
    let svc = section(&text, "Service");
    let get = |k: &str| svc.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    assert_eq!(get("Type"), Some("notify"));
    assert_eq!(get("Restart"), Some("on-failure"));
    assert!(get("WatchdogSec").is_some());
    assert_eq!(get("CapabilityBoundingSet"), Some("CAP_NET_ADMIN CAP_NET_RAW"));
    assert_eq!(get("ProtectSystem"), Some("strict"));
    assert_eq!(get("ReadWritePaths"), Some("/run/rbond"));
    // The state files must survive the unit's stop (RuntimeDirectory= is deleted otherwise).
    assert_eq!(get("RuntimeDirectoryPreserve"), Some("yes"));
    // Settings that would break the daemon: no /dev/net/tun, no /proc/sys writes, no setns,
    // a private network namespace.
    for (k, bad) in [("PrivateDevices", "yes"), ("ProtectKernelTunables", "yes"), ("RestrictNamespaces", "yes"), ("PrivateNetwork", "yes")] {
        assert_ne!(get(k), Some(bad), "{k}={bad} breaks the daemon");
    }
    assert!(svc.iter().any(|(k, v)| k == "DeviceAllow" && v.starts_with("/dev/net/tun")));
    let up = std::fs::read_to_string(dist().join("rbond-up.service")).unwrap();
    let u = section(&up, "Unit");
    for k in ["Requires", "After", "PartOf"] {
        assert!(u.iter().any(|(a, v)| a == k && v == "rbond.service"), "rbond-up.service: {k}=rbond.service missing");
    }
    let s = section(&up, "Service");
    assert!(s.iter().any(|(k, v)| k == "ExecStart" && v.ends_with("up --all")), "{s:?}");
}

#[test]
fn units_run_under_systemd_or_pass_systemd_analyze_verify() {
    let dir = tmp_dir("units");
    let units = units_for_test(&dir);
    let pid1 = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
    if pid1.trim() == "systemd" {
        // A transient unit with the daemon's settings; it must reach "active" (READY=1).
        let unit = format!("rbt-{}", unique_id().replace('-', "x"));
        let run_dir = dir.join("run");
        let out = Command::new("systemd-run")
            .args(["--unit", &unit, "-p", "Type=notify", "-p", "WatchdogSec=5s", "-p", "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW"])
            .arg(rbond_bin())
            .args(["daemon", "--socket"])
            .arg(dir.join("d.sock"))
            .arg("--run-dir")
            .arg(&run_dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "systemd-run: {}", String::from_utf8_lossy(&out.stderr));
        let state = Command::new("systemctl").args(["show", "-p", "ActiveState", "--value", &unit]).output().unwrap();
        let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
        let _ = Command::new("systemctl").args(["stop", &unit]).status();
        assert_eq!(state, "active");
    }
    let out = match Command::new("systemd-analyze").arg("verify").args(&units).current_dir(&*dir).output() {
        Ok(o) => o,
        Err(e) => {
            // No systemd tools: the settings test above still parsed the files.
            println!("systemd-analyze not available ({e}); units only parsed");
            return;
        }
    };
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("systemd-analyze verify: {}\n{text}", out.status);
    assert!(out.status.success(), "{text}");
    // verify reports unknown keys and bad values as warnings with exit 0: none allowed.
    let ours: Vec<&str> = text.lines().filter(|l| l.contains("rbond")).collect();
    assert!(ours.is_empty(), "warnings about the units: {ours:?}");
}
