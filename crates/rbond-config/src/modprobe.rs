//! modprobe configuration: `alias bond0 bonding` and `options bonding mode=4 miimon=100`.
//!
//! Read the way kmod reads `/etc/modprobe.conf` and `/etc/modprobe.d/*.conf` (files in the
//! order given, which callers make lexical like kmod):
//!
//! - a line whose first word starts with `#` is a comment; there are no trailing comments: a
//!   `#` later on an `options` line is passed to the module as a parameter, which the kernel then
//!   ignores as unknown (we warn the same way);
//! - a backslash at the end of a line joins the next one;
//! - module names compare with `-` and `_` equal;
//! - all `options` lines for the module are concatenated, in file order; options written for an
//!   alias of the module (`alias bond0 bonding` + `options bond0 miimon=100`, the RHEL 4/5
//!   recipe) apply too, as modprobe applies them when loading through the alias;
//! - other commands (`install`, `blacklist`, `softdep`, ...) and other modules are ignored.
//!
//! Parameters are `name=value`, the value optionally in double quotes (the kernel's
//! `parse_args`). Which names exist and what values mean is the core option table's business.

use std::path::{Path, PathBuf};

/// Where something came from: file and 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

/// One module parameter for `bonding`, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: String,
    pub origin: Origin,
}

/// What the modprobe configuration says about the bonding module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModprobeConfig {
    /// Parameters in the order modprobe would pass them.
    pub params: Vec<Param>,
    /// Interface names aliased to the bonding module (`alias bond0 bonding`).
    pub aliases: Vec<(String, Origin)>,
    /// Non-fatal remarks (file, line, text).
    pub warnings: Vec<(Origin, String)>,
}

/// The module this crate cares about.
pub const MODULE: &str = "bonding";

/// kmod treats `-` and `_` in module names as the same character.
fn norm_module(name: &str) -> String {
    name.replace('-', "_")
}

/// Split a kernel parameter string into `name=value` pairs the way `parse_args` does: words
/// separated by blanks, double quotes group (and are removed), a word without `=` has an empty
/// value.
fn split_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' => {
                in_q = !in_q;
                any = true;
            }
            ' ' | '\t' if !in_q => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            _ => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out.into_iter()
        .map(|w| match w.split_once('=') {
            Some((n, v)) => (n.replace('-', "_"), v.to_string()),
            None => (w.replace('-', "_"), String::new()),
        })
        .collect()
}

/// Join backslash-continued lines; yields (first line number, logical line).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut acc = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if acc.is_empty() {
            start = i + 1;
        }
        if let Some(head) = raw.strip_suffix('\\') {
            acc.push_str(head);
            acc.push(' ');
        } else {
            acc.push_str(raw);
            out.push((start, std::mem::take(&mut acc)));
        }
    }
    if !acc.is_empty() {
        out.push((start, acc));
    }
    out
}

/// Parse one modprobe file's text (pure; `file` only labels origins).
/// Returns raw per-line records; `resolve` decides which options reach the module.
fn parse_text(file: &Path, text: &str, recs: &mut Vec<Rec>) {
    for (line, l) in logical_lines(text) {
        let mut words = l.split_whitespace();
        let Some(cmd) = words.next() else { continue };
        if cmd.starts_with('#') {
            continue;
        }
        let origin = Origin { file: file.to_path_buf(), line };
        match cmd {
            "alias" => {
                if let (Some(name), Some(module)) = (words.next(), words.next()) {
                    recs.push(Rec::Alias { name: name.to_string(), module: norm_module(module), origin });
                }
            }
            "options" => {
                if let Some(module) = words.next() {
                    // The parameter text is everything after the module name, unsplit, so the
                    // kernel's quoting rules apply to it.
                    let rest = l.trim_start();
                    let rest = rest["options".len()..].trim_start();
                    let rest = rest[module.len()..].to_string();
                    recs.push(Rec::Options { module: norm_module(module), params: rest, origin });
                }
            }
            _ => {}
        }
    }
}

enum Rec {
    Alias { name: String, module: String, origin: Origin },
    Options { module: String, params: String, origin: Origin },
}

/// Parse modprobe texts given as (path, contents) pairs, in order.
pub fn parse_texts(files: &[(PathBuf, String)]) -> ModprobeConfig {
    let mut recs = Vec::new();
    for (p, t) in files {
        parse_text(p, t, &mut recs);
    }
    let module = norm_module(MODULE);
    let mut cfg = ModprobeConfig::default();
    for r in &recs {
        if let Rec::Alias { name, module: m, origin } = r {
            if *m == module {
                cfg.aliases.push((name.clone(), origin.clone()));
            }
        }
    }
    for r in &recs {
        if let Rec::Options { module: m, params, origin } = r {
            let applies = *m == module || cfg.aliases.iter().any(|(a, _)| norm_module(a) == *m);
            if !applies {
                continue;
            }
            for (name, value) in split_params(params) {
                if name.starts_with('#') {
                    cfg.warnings.push((
                        origin.clone(),
                        format!("'#' after options is not a comment for modprobe: the module ignores unknown parameter '{name}'"),
                    ));
                    continue;
                }
                cfg.params.push(Param { name, value, origin: origin.clone() });
            }
        }
    }
    cfg
}

/// Read the given files (missing ones are skipped: `/etc/modprobe.conf` usually is).
pub fn read_files(paths: &[PathBuf]) -> std::io::Result<ModprobeConfig> {
    let mut files = Vec::new();
    for p in paths {
        match std::fs::read(p) {
            Ok(bytes) => files.push((p.clone(), String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(std::io::Error::new(e.kind(), format!("{}: {e}", p.display()))),
        }
    }
    Ok(parse_texts(&files))
}

/// The files modprobe reads under `root` (normally `/`): `etc/modprobe.conf`, then
/// `etc/modprobe.d/*.conf` in lexical order.
pub fn default_paths(root: &Path) -> Vec<PathBuf> {
    let mut v = vec![root.join("etc/modprobe.conf")];
    if let Ok(rd) = std::fs::read_dir(root.join("etc/modprobe.d")) {
        let mut d: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        d.sort();
        v.extend(d);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ModprobeConfig {
        parse_texts(&[(PathBuf::from("/etc/modprobe.d/b.conf"), s.to_string())])
    }
    fn names(c: &ModprobeConfig) -> Vec<(String, String, usize)> {
        c.params.iter().map(|p| (p.name.clone(), p.value.clone(), p.origin.line)).collect()
    }

    #[test]
    fn seed_alias() {
        let c = p("alias bond0 bonding\n");
        assert_eq!(c.aliases.len(), 1);
        assert_eq!(c.aliases[0].0, "bond0");
        assert!(c.params.is_empty());
    }

    #[test]
    fn options_lines_concatenate() {
        let c = p("# comment\n  # indented comment\noptions bonding mode=4 miimon=100\n\noptions snd foo=1\noptions bonding max_bonds=2 \\\n  arp_ip_target=\"198.18.0.1,198.18.0.2\"\n");
        assert_eq!(
            names(&c),
            vec![
                ("mode".into(), "4".into(), 3),
                ("miimon".into(), "100".into(), 3),
                ("max_bonds".into(), "2".into(), 6),
                ("arp_ip_target".into(), "198.18.0.1,198.18.0.2".into(), 6),
            ]
        );
    }

    #[test]
    fn alias_options_and_dash_names() {
        let c = p("alias bond0 bonding\noptions bond0 mode=active-backup\noptions bond1 miimon=1\n");
        assert_eq!(names(&c), vec![("mode".into(), "active-backup".into(), 2)]);
        let c = p("options bonding lp-interval=3\n");
        assert_eq!(names(&c), vec![("lp_interval".into(), "3".into(), 1)]);
    }

    #[test]
    fn trailing_hash_is_not_a_comment() {
        let c = p("options bonding mode=1 # active-backup\n");
        assert_eq!(names(&c), vec![("mode".into(), "1".into(), 1), ("active_backup".into(), "".into(), 1)]);
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn files_in_order() {
        let c = parse_texts(&[
            (PathBuf::from("/a.conf"), "options bonding miimon=1\n".into()),
            (PathBuf::from("/b.conf"), "options bonding miimon=2\n".into()),
        ]);
        assert_eq!(c.params[1].origin.file, PathBuf::from("/b.conf"));
        assert_eq!(c.params[1].value, "2");
    }
}
