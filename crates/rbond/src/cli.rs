//! The `rbond` command line (clap). Option words are the kernel's: `rbond add bond0 mode
//! active-backup miimon 100` takes the same names and values as `ip link` and sysfs.

use crate::ctl::{self, Request, Response};
use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "rbond", version, about = "Linux NIC bonding in userspace (modes, miimon, /proc-style status)")]
pub struct Cli {
    /// Control socket of the daemon [default: $RBOND_SOCKET, else /run/rbond/ns-<inode of
    /// /proc/self/ns/net>/rbond.sock: one per network namespace]
    #[arg(long, global = true)]
    pub socket: Option<PathBuf>,
    /// Seconds to wait for the daemon's answer
    #[arg(long, global = true, value_name = "SECS", default_value_t = ctl::DEFAULT_TIMEOUT_SECS as f64)]
    pub timeout: f64,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run the bonding daemon in the foreground (in the current network namespace).
    Daemon {
        /// Where `<bond>` status files are kept (like /proc/net/bonding) [default: the
        /// namespace's dir, /run/rbond/ns-<inode of /proc/self/ns/net>]
        #[arg(long)]
        run_dir: Option<PathBuf>,
        /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9469); off by default.
        #[arg(long, value_name = "ADDR:PORT")]
        metrics: Option<std::net::SocketAddr>,
        /// Data-path threads per bond: each reads its own queue of the multi-queue bond
        /// device and its own share of every slave's frames [default: the number of CPUs]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
        workers: Option<u16>,
        /// After traffic, keep polling the data path for this many microseconds before
        /// sleeping (nothing is spent while idle). Off by default: on a machine without
        /// spare cores the spinning thread delays the application it answers (BENCHMARKS.md).
        #[arg(long, value_name = "USECS", default_value_t = crate::daemon::DEFAULT_BUSY_POLL_US,
              value_parser = clap::value_parser!(u32).range(0..=10_000))]
        busy_poll: u32,
        /// Ignore the slaves' netlink carrier events and read their links every miimon only,
        /// as the kernel's MII monitor does (for comparison: events fail over sooner).
        #[arg(long)]
        no_link_events: bool,
    },
    /// Create a bond: `rbond add bond0 mode active-backup miimon 100`.
    Add {
        bond: String,
        /// Option/value pairs, as `ip link add ... type bond` takes them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        opts: Vec<String>,
    },
    /// Delete a bond, releasing its slaves. With no daemon answering, the bond is cleaned
    /// up from the state file a dead daemon left (as `rbond cleanup <bond>`).
    Del {
        bond: String,
        /// Run dir of the daemon, for the state files [default: $RBOND_RUN_DIR or /run/rbond]
        #[arg(long)]
        run_dir: Option<PathBuf>,
    },
    /// Enslave interfaces (like ifenslave).
    Enslave {
        bond: String,
        #[arg(required = true)]
        ifaces: Vec<String>,
    },
    /// Release slaves (like ifenslave -d).
    Release {
        bond: String,
        #[arg(required = true)]
        ifaces: Vec<String>,
    },
    /// Write one option like /sys/class/net/<bond>/bonding/<option>.
    Set {
        bond: String,
        option: String,
        #[arg(allow_hyphen_values = true, default_value = "")]
        value: String,
    },
    /// Read one option like /sys/class/net/<bond>/bonding/<option>.
    Show { bond: String, option: String },
    /// Change the active slave (like ifenslave -c).
    ActiveSlave { bond: String, slave: String },
    /// Print /proc/net/bonding/<bond> text (or --json).
    Status {
        bond: Option<String>,
        #[arg(long)]
        json: bool,
        /// Refresh in place every --interval ms until interrupted.
        #[arg(long, short)]
        watch: bool,
        /// Refresh interval of --watch, in ms.
        #[arg(long, default_value_t = 1000, requires = "watch")]
        interval: u64,
    },
    /// List option names, values and defaults (the one option table).
    Options,
    /// Build a lab in network namespaces and run the seed's pull-a-cable test.
    Lab {
        /// Bonding mode, name or number.
        #[arg(long, default_value = "active-backup")]
        mode: String,
        /// Number of slaves (cables).
        #[arg(long, default_value_t = 2)]
        slaves: usize,
        /// MII monitor interval in ms.
        #[arg(long, default_value_t = 100)]
        miimon: u32,
        /// Probe duration in seconds; every cable is pulled and plugged once in it.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// 802.3ad: the switch side, `rbond` (a second rbond bond) or `ovs` (Open vSwitch).
        #[arg(long, default_value = "rbond")]
        switch: String,
        /// 802.3ad: lacp_rate of both ends, `slow` (the kernel's default) or `fast`.
        #[arg(long, default_value = "slow")]
        lacp_rate: String,
        /// 802.3ad: measure LACP timings instead (link-up to distributing, silent partner
        /// detection, loss at a cable pull); see scripts/bench-lacp.sh.
        #[arg(long)]
        bench: bool,
        /// Draw per-slave throughput and probe loss over time, pulls and failovers marked (SVG).
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// Run the host daemon with --no-link-events: failover from the miimon poll alone.
        #[arg(long)]
        no_link_events: bool,
    },
    /// Bring bonds up from ifcfg files (like ifup / service network start).
    Up(crate::ifup::UpArgs),
    /// Take bonds down and delete them (like ifdown).
    Down(crate::ifup::DownArgs),
    /// Validate the ifcfg configuration and print what `up` would do; changes nothing.
    Check(crate::ifup::CheckArgs),
    /// After a daemon died: restore every slave it left (MAC, MTU, up/down, isolation),
    /// delete its bond devices and state files. Needs no daemon; refuses bonds a live one holds.
    Cleanup {
        /// Only this bond.
        bond: Option<String>,
        /// Run dir of the dead daemon [default: $RBOND_RUN_DIR, else this namespace's /run/rbond/ns-<inode>]
        #[arg(long)]
        run_dir: Option<PathBuf>,
    },
    /// Show the event log: link changes, failovers and their cause, enslave/release, options.
    Events {
        /// Only this bond's events.
        bond: Option<String>,
        /// Keep printing new events as they happen (until interrupted).
        #[arg(long, short)]
        follow: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Print every bond's metrics in the Prometheus text format (what --metrics serves).
    Metrics,
    /// Print a shell completion script: `rbond completions bash > /etc/bash_completion.d/rbond`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `rbond man > /usr/local/share/man/man8/rbond.8`.
    Man,
    /// Live per-slave throughput (packets/s, Mbit/s each way) and state, refreshed in place.
    Top {
        /// Only this bond.
        bond: Option<String>,
        /// Refresh interval in ms.
        #[arg(long, default_value_t = 1000)]
        interval: u64,
        /// Stop after this many refreshes and print plainly (no screen control), e.g. for logs.
        #[arg(long)]
        count: Option<u64>,
    },
}

/// Whether `e` says no daemon listens on the socket (nothing there, or a stale socket file
/// whose daemon died): the cases where the state files are the way to undo a bond.
pub fn no_daemon(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| matches!(io.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused))
    })
}

/// Prints a daemon answer; a refusal becomes exit code 2.
fn finish(resp: Response) -> Result<i32> {
    for w in &resp.warnings {
        eprintln!("warning: {w}");
    }
    if !resp.ok {
        eprintln!("{}", resp.error);
        return Ok(2);
    }
    if !resp.out.is_empty() {
        // A closed pipe (`| head`) is not an error worth a panic.
        use std::io::Write;
        // The status text is printed exactly as /proc would have it (it ends with '\n').
        let nl = if resp.out.ends_with('\n') { "" } else { "\n" };
        let _ = write!(std::io::stdout(), "{}{nl}", resp.out);
    }
    Ok(0)
}

fn pairs(opts: &[String]) -> Result<Vec<(String, String)>> {
    if !opts.len().is_multiple_of(2) {
        bail!("option `{}` has no value (options come as pairs: `mode active-backup miimon 100`)", opts[opts.len() - 1]);
    }
    Ok(opts.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect())
}

pub fn run(cli: Cli) -> Result<i32> {
    if !(cli.timeout.is_finite() && cli.timeout > 0.0) {
        bail!("--timeout {}: expected a positive number of seconds", cli.timeout);
    }
    ctl::set_timeout(std::time::Duration::from_secs_f64(cli.timeout.min(1e9)));
    let sock = ctl::socket_path(cli.socket.as_deref());
    let call = |r: Request| -> Result<i32> { finish(ctl::call(&sock, &r)?) };
    match cli.cmd {
        Cmd::Daemon { run_dir, metrics, workers, busy_poll, no_link_events } => {
            crate::daemon::obs::init_tracing();
            if let Some(addr) = metrics {
                let bound = crate::daemon::metrics::spawn(addr, sock.clone())
                    .map_err(|e| anyhow::anyhow!("--metrics {addr}: {e}"))?;
                eprintln!("rbond: metrics on http://{bound}/metrics");
            }
            let workers = workers.map_or_else(crate::daemon::default_workers, usize::from);
            let opts = crate::daemon::DaemonOpts { workers, busy_poll_us: busy_poll, link_events: !no_link_events };
            crate::daemon::run(&sock, &run_dir.unwrap_or_else(ctl::default_run_dir), opts)?;
            Ok(0)
        }
        Cmd::Add { bond, opts } => call(Request::Add { bond, opts: pairs(&opts)? }),
        Cmd::Del { bond, run_dir } => match ctl::call(&sock, &Request::Del { bond: bond.clone() }) {
            Ok(resp) => finish(resp),
            Err(e) if no_daemon(&e) => {
                let run_dir = run_dir.unwrap_or_else(crate::cleanup::default_run_dir);
                eprintln!("rbond: no daemon answers at {}; cleaning up {bond} from its state file", sock.display());
                if crate::cleanup::cleanup(&run_dir, Some(&bond), &[])? {
                    Ok(0)
                } else {
                    eprintln!("bonding: unable to delete non-existent {bond} (no state file in {})", state_dir(&run_dir));
                    Ok(2)
                }
            }
            Err(e) => Err(e),
        },
        Cmd::Enslave { bond, ifaces } => call(Request::Enslave { bond, ifaces }),
        Cmd::Release { bond, ifaces } => call(Request::Release { bond, ifaces }),
        Cmd::Set { bond, option, value } => call(Request::Set { bond, option, value }),
        Cmd::Show { bond, option } => call(Request::Show { bond, option }),
        Cmd::ActiveSlave { bond, slave } => call(Request::ActiveSlave { bond, slave }),
        Cmd::Status { bond, json, watch: false, .. } => call(Request::Status { bond, json }),
        Cmd::Status { bond, json, watch: true, interval } => crate::top::watch_status(&sock, bond, json, interval),
        Cmd::Options => {
            print_options();
            Ok(0)
        }
        Cmd::Lab { mode, slaves, miimon, duration, switch, lacp_rate, bench, plot, no_link_events } => {
            let link_events = !no_link_events;
            crate::lab::run(crate::lab::LabArgs { mode, slaves, miimon, duration, switch, lacp_rate, bench, plot, link_events }).map(|_| 0)
        }
        Cmd::Up(a) => crate::ifup::up(&sock, &a),
        Cmd::Down(a) => crate::ifup::down(&sock, &a),
        Cmd::Check(a) => crate::ifup::check(&a),
        Cmd::Cleanup { bond, run_dir } => {
            let run_dir = run_dir.unwrap_or_else(crate::cleanup::default_run_dir);
            let live: Vec<String> = match ctl::call(&sock, &Request::List) {
                Ok(r) if r.ok => r.out.split_whitespace().map(String::from).collect(),
                _ => Vec::new(),
            };
            if !crate::cleanup::cleanup(&run_dir, bond.as_deref(), &live)? {
                println!("nothing to clean up (no state files in {})", state_dir(&run_dir));
            }
            Ok(0)
        }
        Cmd::Events { bond, follow, json } => crate::top::events(&sock, bond, follow, json),
        Cmd::Metrics => call(Request::Metrics),
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "rbond", &mut std::io::stdout());
            Ok(0)
        }
        Cmd::Top { bond, interval, count } => crate::top::top(&sock, bond, interval, count),
        Cmd::Man => {
            clap_mangen::Man::new(man_command()).section("8").render(&mut std::io::stdout())?;
            Ok(0)
        }
    }
}

fn state_dir(run_dir: &std::path::Path) -> String {
    crate::daemon::state::dir(run_dir).display().to_string()
}

fn print_options() {
    use rbond_core::options::OPTIONS;
    for o in OPTIONS {
        let unit = if o.unit.is_empty() { String::new() } else { format!(" [{}]", o.unit) };
        println!("{:<18} default {:<12} {}{}", o.name, o.default_text, o.help, unit);
        println!("{:<18} accepts {}", "", o.accepted());
    }
}

/// The clap definition as the man page shows it: section 8 (system administration).
pub fn man_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command().name("rbond")
}
