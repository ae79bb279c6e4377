//! Finding and killing the rbond daemons the e2e tests start (through /proc).
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

/// The pid of the live `rbond daemon` serving `socket` (found in /proc by its command line).
pub fn daemon_pid(socket: &Path) -> u32 {
    let sock = socket.to_string_lossy().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let args: Vec<String> = cmd.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.len() > 1 && args[0].ends_with("rbond") && args.contains(&"daemon".to_string()) && args.contains(&sock) && !is_zombie(pid) {
            return pid;
        }
    }
    panic!("no rbond daemon for {sock}");
}

pub fn is_zombie(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(s) => s.rsplit(')').next().and_then(|r| r.split_whitespace().next()) == Some("Z"),
        Err(_) => true,
    }
}

pub fn kill9(pid: u32) {
    // SAFETY: kill(2) on a daemon this test started.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_dead(pid);
}

/// Waits until `pid` is a zombie whose files are all closed: the leader turns into a zombie
/// before its other threads have exited, and the fds (TAP, sockets) close with the last one.
pub fn wait_dead(pid: u32) {
    let end = Instant::now() + Duration::from_secs(5);
    let open_fds = || std::fs::read_dir(format!("/proc/{pid}/fd")).map(|r| r.count()).unwrap_or(0);
    let tasks = || std::fs::read_dir(format!("/proc/{pid}/task")).map(|r| r.count()).unwrap_or(0);
    while !is_zombie(pid) || open_fds() > 0 || tasks() > 1 {
        assert!(Instant::now() < end, "daemon {pid} did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
}

