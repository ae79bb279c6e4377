//! Refusals, shaped like the kernel's: an errno plus the log lines the kernel would print
//! (bond_options.c: bond_opt_parse, bond_opt_check_deps), and one extra line listing what is accepted.

use serde::Serialize;
use std::fmt;

/// The errno a sysfs `write()` would return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Errno {
    EINVAL,
    EACCES,
    ENOTEMPTY,
    EBUSY,
    ENODEV,
    EPERM,
    EOPNOTSUPP,
    EEXIST,
    ENOENT,
}

impl Errno {
    pub fn describe(self) -> &'static str {
        match self {
            Errno::EINVAL => "Invalid argument",
            Errno::EACCES => "Permission denied",
            Errno::ENOTEMPTY => "Directory not empty",
            Errno::EBUSY => "Device or resource busy",
            Errno::ENODEV => "No such device",
            Errno::EPERM => "Operation not permitted",
            Errno::EOPNOTSUPP => "Operation not supported",
            Errno::EEXIST => "File exists",
            Errno::ENOENT => "No such file or directory",
        }
    }
}

/// A refused option write. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OptError {
    /// The option's name ("mode", "slaves", ...).
    pub option: String,
    pub errno: Errno,
    /// The kernel's log lines, in order, without the `<bond>: ` prefix.
    pub lines: Vec<String>,
}

impl OptError {
    pub fn new(option: &str, errno: Errno, lines: Vec<String>) -> Self {
        OptError { option: option.to_string(), errno, lines }
    }
    pub fn option(&self) -> &str {
        &self.option
    }
    /// The generic "invalid value" refusal, with the range line when the table has a maxval
    /// and, beyond the kernel, the list of accepted values.
    /// `text` is what was written; like the kernel, the line shows it cut at the first newline
    /// (raw options get their text unparsed, so they may still carry one).
    pub fn invalid_value(def: &super::OptionDef, text: &str) -> Self {
        let text = text.split('\n').next().unwrap_or("");
        let mut lines = vec![format!("option {}: invalid value ({})", def.name, text)];
        if let Some(max) = def.max() {
            lines.push(format!("option {}: allowed values {} - {}", def.name, def.min().unwrap_or(0), max));
        }
        lines.push(format!("option {}: accepted: {}", def.name, def.accepted()));
        OptError::new(def.name, Errno::EINVAL, lines)
    }

    /// An option-specific refusal that the kernel follows with the generic line (bond_options.c: bond_opt_parse, bond_opt_check_deps: the
    /// setter's own message, then `option <opt>: invalid value (<text>)`).
    pub fn invalid_value_after(def: &super::OptionDef, text: &str, specific: String) -> Self {
        let mut e = OptError::invalid_value(def, text);
        e.lines.insert(0, specific);
        e
    }

    /// The same refusal as seen through another name of the option (`num_unsol_na` is
    /// `num_grat_arp`): the kernel has a file of that name and its messages use it.
    pub fn renamed(mut self, from: &str, to: &str) -> Self {
        if from == to {
            return self;
        }
        let (old, new) = (format!("option {from}:"), format!("option {to}:"));
        for l in &mut self.lines {
            if let Some(rest) = l.strip_prefix(&old) {
                *l = format!("{new}{rest}");
            }
        }
        self.option = to.to_string();
        self
    }
}

impl fmt::Display for OptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(l)?;
        }
        Ok(())
    }
}

impl std::error::Error for OptError {}
