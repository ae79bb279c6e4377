//! rbond-config: reads bond configuration as admins write it (RHEL `ifcfg-*` files and
//! modprobe `options bonding ...`), validates it through the core's option table, and plans
//! the steps that bring the bonds up. Pure apart from reading files: nothing here changes the
//! system.
//!
//! ```no_run
//! let cfg = rbond_config::load_dir(
//!     std::path::Path::new("/etc/sysconfig/network-scripts"),
//!     &rbond_config::modprobe::default_paths(std::path::Path::new("/")),
//! ).unwrap();
//! for b in &cfg.bonds {
//!     for step in rbond_config::plan::plan(b) { println!("{step}"); }
//! }
//! ```

pub mod bonding_opts;
pub mod ifcfg;
pub mod model;
pub mod modprobe;
pub mod netplan;
pub mod networkd;
pub mod plan;
pub mod shell;

pub use model::{BondSpec, BootProto, Config, ConfigError, Diag, ModuleInfo, SlaveSpec};
pub use plan::{plan, steps, Step};

use modprobe::ModprobeConfig;
use rbond_core::options::ModuleParams;
use std::path::{Path, PathBuf};

/// The directory initscripts reads.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/sysconfig/network-scripts";

/// Apply the module parameters the way the bonding module does at load (all together),
/// mapping a load failure to the file:line of the parameter that caused it.
pub fn module_info(mp: &ModprobeConfig, warnings: &mut Vec<Diag>) -> Result<(ModuleInfo, u16), ConfigError> {
    for (o, w) in &mp.warnings {
        warnings.push(Diag::new(&o.file, o.line, None, w.clone()));
    }
    let pairs: Vec<(&str, &str)> = mp.params.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect();
    let loaded = ModuleParams::load(&pairs).map_err(|e| {
        let at = mp.params.iter().rev().find(|p| p.name == e.option()).or(mp.params.first());
        let (file, line) = at.map(|p| (p.origin.file.clone(), p.origin.line)).unwrap_or_default();
        let explained = bonding_opts::explain(&e, "a value the bonding module accepts");
        ConfigError::new(
            &file,
            line,
            Some(&format!("options bonding {}", e.option())),
            format!("the bonding module would refuse to load: {}", explained.problem),
            explained.expected,
        )
    })?;
    for w in &loaded.warnings {
        // Point at the parameter the warning is about, else at the first options line.
        let at = mp.params.iter().find(|p| w.contains(&p.name)).or(mp.params.first());
        if let Some(p) = at {
            warnings.push(Diag::new(&p.origin.file, p.origin.line, Some("options bonding"), format!("bonding module: {w}")));
        }
    }
    let info = ModuleInfo {
        params: mp.params.iter().map(|p| (p.name.clone(), p.value.clone(), p.origin.file.clone(), p.origin.line)).collect(),
        defaults: loaded.opts.clone(),
        max_bonds: loaded.max_bonds,
        aliases: mp.aliases.iter().map(|(a, _)| a.clone()).collect(),
    };
    Ok((info, loaded.tx_queues))
}

fn finish(files: &[ifcfg::IfcfgFile], mp: &ModprobeConfig, mut warnings: Vec<Diag>) -> Result<Config, ConfigError> {
    let (module, tx_queues) = module_info(mp, &mut warnings)?;
    let bonds = ifcfg::build(files, &module.aliases, &module.defaults, tx_queues, &mut warnings)?;
    Ok(Config { bonds, module, warnings })
}

/// Read a directory of `ifcfg-*` files and the given modprobe files (missing ones skipped).
pub fn load_dir(dir: &Path, modprobe_paths: &[PathBuf]) -> Result<Config, ConfigError> {
    let mp = modprobe::read_files(modprobe_paths).map_err(|e| {
        ConfigError::new(Path::new("modprobe configuration"), 0, None, format!("cannot read: {e}"), "readable modprobe files")
    })?;
    let mut warnings = Vec::new();
    let files = ifcfg::read_dir(dir, &mut warnings)?;
    finish(&files, &mp, warnings)
}

/// The same from in-memory texts: `(path, text)` of ifcfg files (any order; only names
/// starting with `ifcfg-` count) and of modprobe files (in modprobe's order).
pub fn load_texts(ifcfg_files: &[(PathBuf, String)], modprobe_files: &[(PathBuf, String)]) -> Result<Config, ConfigError> {
    let mp = modprobe::parse_texts(modprobe_files);
    let mut sorted: Vec<&(PathBuf, String)> = ifcfg_files
        .iter()
        .filter(|(p, _)| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("ifcfg-") && !ifcfg::is_ignored_name(n))
        })
        .collect();
    sorted.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    let mut files = Vec::new();
    for (p, t) in sorted {
        files.push(ifcfg::parse_file(p, t)?);
    }
    finish(&files, &mp, Vec::new())
}

/// Where the bonds are configured: the three ways admins write them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A directory of RHEL `ifcfg-*` files.
    Ifcfg(PathBuf),
    /// systemd-networkd directories of `.netdev`/`.network` files, earlier ones masking
    /// same-named files in later ones (like /etc/systemd/network before /run/systemd/network).
    Networkd(Vec<PathBuf>),
    /// netplan YAML files, or directories of `*.yaml`, merged in file name order.
    Netplan(Vec<PathBuf>),
}

impl Source {
    /// Why `name` is not among the configured bonds, in this format's words.
    pub fn no_bond(&self, name: &str) -> String {
        let list = |v: &[PathBuf]| v.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        match self {
            Source::Ifcfg(d) => format!("no bond {name} in {} (no ifcfg-{name} with TYPE=Bond)", d.display()),
            Source::Networkd(d) => format!("no bond {name} in {} (no .netdev with Name={name} and Kind=bond)", list(d)),
            Source::Netplan(f) => format!("no bond {name} in {} (no bonds: {name}: entry)", list(f)),
        }
    }
}

fn read_modprobe(modprobe_paths: &[PathBuf]) -> Result<ModprobeConfig, ConfigError> {
    modprobe::read_files(modprobe_paths)
        .map_err(|e| ConfigError::new(Path::new("modprobe configuration"), 0, None, format!("cannot read: {e}"), "readable modprobe files"))
}

/// Read systemd-networkd `.netdev`/`.network` files (see `networkd`) and the modprobe files.
pub fn load_networkd(dirs: &[PathBuf], modprobe_paths: &[PathBuf]) -> Result<Config, ConfigError> {
    let mp = read_modprobe(modprobe_paths)?;
    let mut warnings = Vec::new();
    let files = networkd::read_dirs(dirs)?;
    let (module, tx_queues) = module_info(&mp, &mut warnings)?;
    let bonds = networkd::build(&files, &module.defaults, tx_queues, &mut warnings)?;
    Ok(Config { bonds, module, warnings })
}

/// Read netplan YAML files or directories (see `netplan`) and the modprobe files.
pub fn load_netplan(paths: &[PathBuf], modprobe_paths: &[PathBuf]) -> Result<Config, ConfigError> {
    let mp = read_modprobe(modprobe_paths)?;
    let mut warnings = Vec::new();
    let root = netplan::read_merged(&netplan::collect_files(paths)?)?;
    let (module, tx_queues) = module_info(&mp, &mut warnings)?;
    let bonds = netplan::build(root.as_ref(), &module.defaults, tx_queues, &mut warnings)?;
    Ok(Config { bonds, module, warnings })
}

/// Read the bonds from any `Source`, into the same model.
pub fn load(source: &Source, modprobe_paths: &[PathBuf]) -> Result<Config, ConfigError> {
    match source {
        Source::Ifcfg(dir) => load_dir(dir, modprobe_paths),
        Source::Networkd(dirs) => load_networkd(dirs, modprobe_paths),
        Source::Netplan(paths) => load_netplan(paths, modprobe_paths),
    }
}
