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
