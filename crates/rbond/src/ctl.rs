//! The control protocol between the `rbond` CLI and `rbond daemon`: one JSON request line
//! per connection on a root-only unix socket, answered by one JSON response line.
//!
//! Identity: the default socket and run dir name the network namespace, because a daemon
//! runs the bonds of one namespace and `/run` is shared by every namespace of the host (`ip
//! netns exec` remounts /sys, not /run). The namespace is named by the inode of
//! `/proc/self/ns/net` (namespaces(7): two processes are in the same namespace exactly when
//! those inodes, on the nsfs device, are equal).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where every rbond keeps its per-namespace dirs (and the shared ownership records).
pub const RUN_ROOT: &str = "/run/rbond";
/// The longest request line the daemon reads, newline included. The largest real request
/// (`rbond up` with every option of a bond) is a few KiB.
pub const MAX_REQUEST: usize = 64 * 1024;
/// The CLI's default wait for the daemon's answer.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

static TIMEOUT_MS: AtomicU64 = AtomicU64::new(DEFAULT_TIMEOUT_SECS * 1000);

/// Sets how long `call` waits for the daemon (the CLI's `--timeout`).
pub fn set_timeout(t: Duration) {
    TIMEOUT_MS.store(t.as_millis().clamp(1, u64::MAX as u128) as u64, Ordering::Relaxed);
}

pub fn timeout() -> Duration {
    Duration::from_millis(TIMEOUT_MS.load(Ordering::Relaxed))
}

/// The inode of this process's network namespace.
pub fn netns_inode() -> Option<u64> {
    std::fs::metadata("/proc/self/ns/net").ok().map(|m| m.ino())
}

/// The default run dir of this network namespace: `/run/rbond/ns-<inode>`.
pub fn default_run_dir() -> PathBuf {
    match netns_inode() {
        Some(ino) => Path::new(RUN_ROOT).join(format!("ns-{ino}")),
        // No /proc: one namespace is all we can tell apart.
        None => PathBuf::from(RUN_ROOT),
    }
}

/// The default socket of this network namespace: `<default run dir>/rbond.sock`.
pub fn default_socket() -> PathBuf {
    default_run_dir().join("rbond.sock")
}

/// The socket path: `--socket`, else `$RBOND_SOCKET`, else this namespace's default.
pub fn socket_path(arg: Option<&Path>) -> PathBuf {
    arg.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("RBOND_SOCKET").map(PathBuf::from))
        .unwrap_or_else(default_socket)
}

/// The refusal for a request line longer than `MAX_REQUEST`.
pub fn too_long() -> String {
    format!("request too long (limit {MAX_REQUEST} bytes)")
}

/// Parses one request line as the daemon received it (without or with its newline). Pure:
/// the fuzz target `ctl_request` drives it with arbitrary bytes.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    if line.len() > MAX_REQUEST {
        return Err(too_long());
    }
    let text = std::str::from_utf8(line).map_err(|e| format!("request is not UTF-8: {e}"))?;
    serde_json::from_str::<Request>(text.trim_end_matches(['\n', '\r'])).map_err(|e| e.to_string())
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// Create a bond (down) and apply options in order; all or nothing.
    Add { bond: String, opts: Vec<(String, String)> },
    Del { bond: String },
    Enslave { bond: String, ifaces: Vec<String> },
    Release { bond: String, ifaces: Vec<String> },
    /// `ip link set <bond> mtu N address MAC up|down`: the daemon changes its bond device
    /// itself, so nothing else writes to it.
    Link {
        bond: String,
        #[serde(default)]
        mtu: Option<u32>,
        #[serde(default)]
        up: Option<bool>,
        #[serde(default)]
        mac: Option<String>,
    },
    /// A sysfs-style write (`slaves +eth0` included).
    Set { bond: String, option: String, value: String },
    /// Several writes applied all or nothing (used by `rbond up` on a running bond).
    SetMany { bond: String, opts: Vec<(String, String)> },
    ActiveSlave { bond: String, slave: String },
    /// sysfs-style read of one option.
    Show { bond: String, option: String },
    Status { bond: Option<String>, json: bool },
    /// Names of the bonds (like /sys/class/net/bonding_masters).
    List,
    /// The event log after event `since` (0: all it holds), of one bond or all: a JSON array.
    Events {
        #[serde(default)]
        bond: Option<String>,
        #[serde(default)]
        since: u64,
    },
    /// Every bond's metrics in the Prometheus text format.
    Metrics,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Response {
    pub ok: bool,
    #[serde(default)]
    pub out: String,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub error: String,
}

impl Response {
    pub fn ok(out: String, warnings: Vec<String>) -> Response {
        Response { ok: true, out, warnings, error: String::new() }
    }
    pub fn err(error: String) -> Response {
        Response { ok: false, error, ..Default::default() }
    }
}

/// One request as the CLI sends it: a JSON line.
pub fn encode_request(req: &Request) -> String {
    let mut line = serde_json::to_string(req).unwrap_or_default();
    line.push('\n');
    line
}

/// Sends one request and waits for the answer, at most `timeout()` in all.
pub fn call(socket: &Path, req: &Request) -> Result<Response> {
    let limit = timeout();
    let late = || format!("the rbond daemon at {} did not answer within {} s", socket.display(), secs(limit));
    let s = UnixStream::connect(socket)
        .with_context(|| format!("cannot reach the rbond daemon at {} (is `rbond daemon` running?)", socket.display()))?;
    s.set_write_timeout(Some(limit))?;
    s.set_read_timeout(Some(limit))?;
    let start = std::time::Instant::now();
    let line = encode_request(req);
    if let Err(e) = (&s).write_all(line.as_bytes()) {
        if is_timeout(&e) {
            bail!("{}", late());
        }
        return Err(e).context(format!("sending to the rbond daemon at {}", socket.display()));
    }
    // The answer is one line; the deadline covers all of it, however it trickles in.
    let mut r = BufReader::new(&s);
    let mut resp = Vec::new();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            bail!("{}", late());
        }
        s.set_read_timeout(Some(left))?;
        match r.read_until(b'\n', &mut resp) {
            Ok(0) => break,
            Ok(_) if resp.ends_with(b"\n") => break,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => bail!("{}", late()),
            Err(e) => return Err(e).context(format!("reading the answer of the rbond daemon at {}", socket.display())),
        }
    }
    if resp.is_empty() {
        bail!("the rbond daemon closed the connection without an answer");
    }
    Ok(serde_json::from_slice(&resp)?)
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}

/// Seconds for messages: whole when whole.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.1}", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_limit_and_parse() {
        assert_eq!(parse_request(b"{\"cmd\":\"list\"}\n"), Ok(Request::List));
        let big = vec![b' '; MAX_REQUEST + 1];
        assert_eq!(parse_request(&big), Err("request too long (limit 65536 bytes)".to_string()));
        assert!(parse_request(&[0xff, 0xfe]).unwrap_err().contains("UTF-8"));
    }
}
