//! The one internal model every configuration format is read into (ifcfg today; networkd or
//! netplan would produce the same), and the diagnostics that point back into the files.

use rbond_core::options::BondOptions;
use rbond_core::MacAddr;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// How the bond gets its address. rbond does static addressing only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootProto {
    /// `BOOTPROTO=none` (or unset): static if IPADDR is given, else no address.
    None,
    /// `BOOTPROTO=static`: same as none for initscripts, but IPADDR is required.
    Static,
}

/// One slave, with the file that declared it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaveSpec {
    pub name: String,
    pub source: PathBuf,
}

/// A bond as the configuration describes it, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct BondSpec {
    pub name: String,
    /// The file that defines the bond (ifcfg-bond0).
    pub source: PathBuf,
    /// sysfs writes that turn a fresh bond (kernel defaults) into the configured one, in apply
    /// order, with `mode` always first. They include the module parameters' defaults. All are
    /// valid on a down bond without slaves.
    pub opts: Vec<(String, String)>,
    /// Writes that need the slaves, applied after enslaving (`primary`, `active_slave`,
    /// `queue_id`), in BONDING_OPTS order.
    pub post_opts: Vec<(String, String)>,
    /// The options the bond ends up with once `opts` and `post_opts` are applied.
    pub effective: BondOptions,
    /// Slaves in the order initscripts enslaves them (ifcfg file name order).
    pub slaves: Vec<SlaveSpec>,
    /// Address and prefix length.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    pub gateway: Option<Ipv4Addr>,
    /// DEFROUTE=no: keep GATEWAY out of the default route.
    pub defroute: bool,
    /// DNS1, DNS2, DNS3 in order.
    pub dns: Vec<IpAddr>,
    /// DOMAIN: the resolv.conf search list.
    pub domain: Option<String>,
    /// PEERDNS=no keeps resolv.conf untouched even with --dns (initscripts' rule).
    pub peerdns: bool,
    pub mtu: Option<u32>,
    pub macaddr: Option<MacAddr>,
    pub onboot: bool,
    pub bootproto: BootProto,
}

impl BondSpec {
    /// The configured primary slave, if any.
    pub fn primary(&self) -> Option<&str> {
        self.post_opts.iter().rev().find(|(k, _)| k == "primary").map(|(_, v)| v.as_str())
    }
    pub fn slave_names(&self) -> Vec<&str> {
        self.slaves.iter().map(|s| s.name.as_str()).collect()
    }

    /// The bond's subnet as (network, prefix length), if it has an address.
    pub fn subnet(&self) -> Option<(Ipv4Addr, u8)> {
        self.ipv4.map(|(ip, p)| {
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - u32::from(p.min(32))) };
            (Ipv4Addr::from(u32::from(ip) & mask), p)
        })
    }

    /// GATEWAY outside the bond's subnet (the seed's own ifcfg-bond0 has one): no route to it
    /// exists on the bond, so the kernel refuses the default route (ENETUNREACH). initscripts
    /// bring such a bond up and only report that the default gateway could not be added;
    /// rbond does the same, skipping the route.
    pub fn unreachable_gateway(&self) -> Option<Ipv4Addr> {
        let g = self.gateway?;
        let (net, p) = self.subnet()?;
        let mask = if p == 0 { 0 } else { u32::MAX << (32 - u32::from(p.min(32))) };
        (Ipv4Addr::from(u32::from(g) & mask) != net).then_some(g)
    }
}

/// Module-wide facts from the modprobe configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleInfo {
    /// `name=value` as written, with file:line.
    pub params: Vec<(String, String, PathBuf, usize)>,
    /// Per-bond defaults the module would start every bond with.
    pub defaults: BondOptions,
    pub max_bonds: u32,
    /// `alias <name> bonding` names.
    pub aliases: Vec<String>,
}

/// Everything read from a configuration directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Bonds in ifcfg file name order.
    pub bonds: Vec<BondSpec>,
    pub module: ModuleInfo,
    pub warnings: Vec<Diag>,
}

impl Config {
    pub fn bond(&self, name: &str) -> Option<&BondSpec> {
        self.bonds.iter().find(|b| b.name == name)
    }
}

/// A warning that points into a file. `line` 0 means the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub file: PathBuf,
    pub line: usize,
    pub key: Option<String>,
    pub message: String,
}

impl Diag {
    pub fn new(file: &Path, line: usize, key: Option<&str>, message: impl Into<String>) -> Diag {
        Diag { file: file.to_path_buf(), line, key: key.map(str::to_string), message: message.into() }
    }
}

fn write_loc(f: &mut fmt::Formatter<'_>, file: &Path, line: usize) -> fmt::Result {
    if line > 0 {
        write!(f, "{}:{}: ", file.display(), line)
    } else {
        write!(f, "{}: ", file.display())
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_loc(f, &self.file, self.line)?;
        f.write_str("warning: ")?;
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A configuration that cannot be used: `<file>:<line>: <KEY>: <what is wrong>; expected <what>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is the file (or directory) as a whole.
    pub line: usize,
    pub key: Option<String>,
    pub problem: String,
    pub expected: String,
}

impl ConfigError {
    pub fn new(file: &Path, line: usize, key: Option<&str>, problem: impl Into<String>, expected: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line,
            key: key.map(str::to_string),
            problem: problem.into(),
            expected: expected.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_loc(f, &self.file, self.line)?;
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        write!(f, "{}; expected {}", self.problem, self.expected)
    }
}

impl std::error::Error for ConfigError {}
