//! The control protocol between the `rbond` CLI and `rbond daemon`: one JSON request line
//! per connection on a root-only unix socket, answered by one JSON response line.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

pub const DEFAULT_SOCKET: &str = "/run/rbond/rbond.sock";
pub const DEFAULT_RUN_DIR: &str = "/run/rbond";

/// The socket path: `--socket`, else `$RBOND_SOCKET`, else the default.
pub fn socket_path(arg: Option<&Path>) -> PathBuf {
    arg.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("RBOND_SOCKET").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
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

/// Sends one request and waits for the answer.
pub fn call(socket: &Path, req: &Request) -> Result<Response> {
    let mut s = UnixStream::connect(socket)
        .with_context(|| format!("cannot reach the rbond daemon at {} (is `rbond daemon` running?)", socket.display()))?;
    let mut line = serde_json::to_string(req)?;
    line.push('\n');
    s.write_all(line.as_bytes())?;
    let mut r = BufReader::new(s);
    let mut resp = String::new();
    r.read_line(&mut resp)?;
    if resp.is_empty() {
        bail!("the rbond daemon closed the connection without an answer");
    }
    Ok(serde_json::from_str(&resp)?)
}
