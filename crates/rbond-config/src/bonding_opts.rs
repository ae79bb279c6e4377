//! `BONDING_OPTS="mode=1 miimon=100 ..."` with initscripts' semantics, checked through the
//! core's one option table (`rbond_core::options`).
//!
//! What RHEL's `ifup-eth` does with the string, and so what we model:
//! - it splits on whitespace; each word is `key=value`, key before the first `=`, value after
//!   the last `=` (`${arg%%=*}` / `${arg##*=}`);
//! - `mode` words are written first (a mode change needs the bond down and without slaves),
//!   then every other word in order, each as `echo value > /sys/class/net/<bond>/bonding/<key>`,
//!   on the fresh bond: down, no slaves;
//! - `arp_ip_target=a,b` (no leading `+`/`-`) becomes `+a` and `+b`, each skipped if already
//!   present; `arp_ip_target=+a` / `-a` is written as is;
//! - `primary` is written after the slaves are enslaved; we do the same with `active_slave`
//!   and `queue_id`, which need the slaves too. They are validated here, up front.
//!
//! Decisions (not in initscripts, which would just fail one `echo` and go on):
//! - an unknown key is an error (the kernel has no such sysfs file), listing the valid keys;
//! - `max_bonds` and `tx_queues` are module parameters only: a warning, ignored (set them in
//!   `options bonding ...` in /etc/modprobe.d);
//! - `slaves=` is an error: slaves come from the slaves' own ifcfg files (MASTER=, SLAVE=yes).

use rbond_core::options::{lookup, settable_names, target_list_items, table::MODULE_ONLY, BondOptions, Errno, OptError, OptionDef, SetContext};
use rbond_core::Mode;

/// Keys written after the slaves are enslaved.
pub const POST_ENSLAVE: &[&str] = &["primary", "active_slave", "queue_id"];

/// A BONDING_OPTS problem, before it gets its file:line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptsError {
    pub problem: String,
    pub expected: String,
}

/// The result of applying BONDING_OPTS on top of the module defaults.
#[derive(Clone, Debug)]
pub struct Applied {
    /// Options after every pre-enslave write and `primary`.
    pub effective: BondOptions,
    /// Pre-enslave writes in initscripts' order (mode first), with arp targets expanded.
    pub writes: Vec<(String, String)>,
    /// Post-enslave writes (primary, active_slave, queue_id) in order.
    pub post: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

/// The modes an option may be set in, as `name(num)` words.
fn modes_of(def: &OptionDef) -> String {
    Mode::ALL.iter().filter(|m| def.allowed_in(**m)).map(|m| format!("{}({})", m.name(), m.num())).collect::<Vec<_>>().join(", ")
}

/// Splits a core refusal into "what is wrong" and "expected".
pub fn explain(err: &OptError, value_hint: &str) -> OptsError {
    let def = lookup(err.option());
    let mut problem = Vec::new();
    let mut accepted = None;
    for l in &err.lines {
        let marker = format!("option {}: accepted: ", err.option());
        if let Some(a) = l.strip_prefix(&marker) {
            accepted = Some(a.to_string());
        } else {
            problem.push(l.clone());
        }
    }
    let expected = match (err.errno, def) {
        (Errno::EACCES, Some(d)) => format!("{} only in modes {}", d.name, modes_of(d)),
        (Errno::EPERM, Some(d)) if matches!(d.name, "updelay" | "downdelay" | "peer_notif_delay") => {
            format!("miimon=<ms> (not 0) before {}", d.name)
        }
        (Errno::ENOTEMPTY, Some(d)) => format!("{} set before any slave is enslaved", d.name),
        (Errno::EBUSY, Some(d)) => format!("{} set while the bond is down", d.name),
        (_, Some(d)) => accepted.unwrap_or_else(|| d.accepted()),
        (_, None) => accepted.unwrap_or_else(|| value_hint.to_string()),
    };
    OptsError { problem: problem.join("; "), expected }
}

fn ctx_fresh() -> SetContext {
    SetContext { has_slaves: false, is_up: false }
}

/// Apply `text` (the BONDING_OPTS value) to a bond that starts with `base` (the module
/// defaults). Slave-dependent writes are only syntax- and mode-checked here; the caller checks
/// the interface names against the bond's slaves.
pub fn apply(base: &BondOptions, text: &str) -> Result<Applied, OptsError> {
    let mut words: Vec<(String, String)> = Vec::new();
    let mut warnings = Vec::new();
    for w in text.split_whitespace() {
        let Some((key, _)) = w.split_once('=') else {
            return Err(OptsError {
                problem: format!("'{w}' has no value"),
                expected: format!("key=value words, e.g. {w}=<value>"),
            });
        };
        let value = w.rsplit('=').next().unwrap_or("");
        let Some(def) = lookup(key) else {
            return Err(OptsError {
                problem: format!("unknown bonding option '{key}' (the kernel has no such sysfs file)"),
                expected: format!("one of: {}", settable_names().join(", ")),
            });
        };
        if def.set_flags & MODULE_ONLY != 0 {
            warnings.push(format!(
                "{key} is a module parameter only, ignored here; set it with `options bonding {key}={value}` in /etc/modprobe.d/bonding.conf"
            ));
            continue;
        }
        if def.name == "slaves" {
            return Err(OptsError {
                problem: "slaves cannot be set in BONDING_OPTS".into(),
                expected: "MASTER=<bond> and SLAVE=yes in each slave's ifcfg file".into(),
            });
        }
        words.push((def.name.to_string(), value.to_string()));
    }

    let mut o = base.clone();
    let mut writes = Vec::new();
    let set = |o: &mut BondOptions, k: &str, v: &str, ctx: SetContext, warnings: &mut Vec<String>| -> Result<(), OptsError> {
        let w = o.set(k, v, &ctx).map_err(|e| explain(&e, v))?;
        warnings.extend(w);
        Ok(())
    };
    // 1. mode first.
    for (k, v) in words.iter().filter(|(k, _)| k == "mode") {
        set(&mut o, k, v, ctx_fresh(), &mut warnings)?;
        writes.push((k.clone(), v.clone()));
    }
    // 2. everything else but the post-enslave keys, in order.
    for (k, v) in words.iter().filter(|(k, _)| k != "mode" && !POST_ENSLAVE.contains(&k.as_str())) {
        let def = lookup(k).expect("looked up above");
        if let Some(items) = target_list_items(def.id, v) {
            for item in items {
                if o.show(k).is_some_and(|have| have.split(' ').any(|t| t == &item[1..])) {
                    continue; // initscripts greps the sysfs file first and skips it
                }
                set(&mut o, k, &item, ctx_fresh(), &mut warnings)?;
                writes.push((k.clone(), item));
            }
            continue;
        }
        set(&mut o, k, v, ctx_fresh(), &mut warnings)?;
        writes.push((k.clone(), v.clone()));
    }
    // 3. post-enslave keys, checked in the state the bond has then: up, with slaves.
    let after = SetContext { has_slaves: true, is_up: true };
    let mut post = Vec::new();
    for (k, v) in words.iter().filter(|(k, _)| POST_ENSLAVE.contains(&k.as_str())) {
        let def = lookup(k).expect("looked up above");
        if k == "primary" {
            set(&mut o, k, v, after, &mut warnings)?;
        } else {
            o.precheck(def, &after).map_err(|e| explain(&e, v))?;
        }
        post.push((k.clone(), v.clone()));
    }
    Ok(Applied { effective: o, writes, post, warnings })
}

/// Options compared by `diff_writes`, in a write order that works from any state. The
/// option table is already in that order (mode first, as its side effects touch the
/// monitors; monitors before the delays and arp_validate they affect), so it is derived from
/// the table: every bond-wide option with a sysfs read-back, except `primary`, which is
/// written after enslaving.
pub fn diff_order() -> impl Iterator<Item = &'static str> {
    use rbond_core::options::{table::MODULE_ONLY, Opt, OPTIONS};
    OPTIONS
        .iter()
        .filter(|o| o.set_flags & MODULE_ONLY == 0)
        .filter(|o| !matches!(o.id, Opt::Primary | Opt::ActiveSlave | Opt::QueueId | Opt::Slaves))
        .map(|o| o.name)
}

/// The value to write to reach `show` output (`802.3ad 4` -> `802.3ad`).
pub fn write_form(shown: &str) -> String {
    shown.split(' ').next().unwrap_or("").to_string()
}

/// Target-list options shown as space-separated lists.
fn list_items(shown: &str) -> Vec<&str> {
    shown.split(' ').filter(|s| !s.is_empty()).collect()
}

/// The sysfs writes that turn `from` into `to` (except `primary`), each checked with `ctx`.
/// Returns the writes that succeed and the refusals; a refused write is skipped and the
/// following ones still tried, so callers see every refusal at once.
pub fn diff_writes(from: &BondOptions, to: &BondOptions, ctx: &SetContext) -> (Vec<(String, String)>, Vec<OptError>) {
    let mut cur = from.clone();
    let mut writes = Vec::new();
    let mut errors = Vec::new();
    for name in diff_order() {
        let (Some(have), Some(want)) = (cur.show(name), to.show(name)) else { continue };
        if have == want {
            continue;
        }
        let vals: Vec<String> = if name == "arp_ip_target" || name == "ns_ip6_target" {
            // Remove what should go, then add what is missing; if the order differs, rebuild.
            let h = list_items(&have);
            let w = list_items(&want);
            let keep_prefix = h.iter().filter(|a| w.contains(a)).copied().collect::<Vec<_>>();
            let in_order = w.starts_with(&keep_prefix);
            let mut v: Vec<String> = Vec::new();
            for a in &h {
                if !in_order || !w.contains(a) {
                    v.push(format!("-{a}"));
                }
            }
            for a in &w {
                if !in_order || !h.contains(a) {
                    v.push(format!("+{a}"));
                }
            }
            v
        } else {
            vec![write_form(&want)]
        };
        for v in vals {
            match cur.set(name, &v, ctx) {
                Ok(_) => writes.push((name.to_string(), v)),
                Err(e) => errors.push(e),
            }
        }
    }
    (writes, errors)
}

/// True when `a` and `b` show the same value for every option `diff_writes` handles.
pub fn same_shown(a: &BondOptions, b: &BondOptions) -> bool {
    diff_order().all(|n| a.show(n) == b.show(n))
}

/// A post-enslave option that does not fit the bond's slaves: (key, value, problem, expected).
pub struct PostProblem {
    pub key: String,
    pub value: String,
    pub problem: String,
    pub expected: String,
}

/// What every config reader does after applying a bond's options: checks `primary`,
/// `active_slave` and `queue_id` against the slaves (warnings, or the first problem), and
/// computes the writes that rebuild the effective options from a fresh bond (mode first,
/// module defaults included), plus the post-enslave writes with a module-level primary.
pub struct Finished {
    pub writes: Vec<(String, String)>,
    pub post: Vec<(String, String)>,
    /// (key, value, warning) for post-enslave options, and ("", "", warning) for the rest.
    pub warnings: Vec<(String, String, String)>,
}

pub fn finish(applied: &Applied, bond: &str, slave_names: &[&str], tx_queues: u16) -> Result<Finished, PostProblem> {
    let mut warnings = Vec::new();
    for (k, v) in &applied.post {
        let problem = |problem: String, expected: String| PostProblem { key: k.clone(), value: v.clone(), problem, expected };
        match k.as_str() {
            "primary" if !v.is_empty() && !slave_names.contains(&v.as_str()) => warnings.push((
                k.clone(),
                v.clone(),
                format!("primary {v} is not a slave of {bond}; the kernel keeps it until {v} is enslaved"),
            )),
            "active_slave" if !v.is_empty() && !slave_names.contains(&v.as_str()) => {
                return Err(problem(
                    format!("option active_slave: {v} is not a slave of {bond}"),
                    format!("one of the slaves: {}", slave_names.join(", ")),
                ))
            }
            "queue_id" => {
                let ok = v.split_once(':').and_then(|(ifn, q)| {
                    let q: u16 = q.parse().ok()?;
                    (slave_names.contains(&ifn) && q <= tx_queues).then_some(())
                });
                if ok.is_none() {
                    return Err(problem(
                        format!("option queue_id: invalid value ({v})"),
                        format!("<slave>:<queue id 0-{tx_queues}> with a slave of {bond} ({})", slave_names.join(", ")),
                    ));
                }
            }
            _ => {}
        }
    }
    let mut post = applied.post.clone();
    // A primary from the module parameters, not overridden by the bond's own options.
    if let Some(p) = &applied.effective.primary {
        if !post.iter().any(|(k, _)| k == "primary") {
            post.insert(0, ("primary".into(), p.clone()));
        }
    }
    let fresh = SetContext { has_slaves: false, is_up: false };
    let (mut writes, errs) = diff_writes(&BondOptions::default(), &applied.effective, &fresh);
    let mut replay = BondOptions::default();
    let replay_ok = errs.is_empty()
        && writes.iter().all(|(k, v)| replay.set(k, v, &fresh).is_ok())
        && same_shown(&replay, &applied.effective);
    if !replay_ok {
        // Some module default cannot be written through sysfs in this mode (e.g.
        // packets_per_slave outside balance-rr): it has no effect there, say so.
        for e in errs {
            warnings.push((String::new(), String::new(), format!("module default not reproducible: {}", e.to_string().replace('\n', "; "))));
        }
    }
    if writes.first().map(|(k, _)| k.as_str()) != Some("mode") {
        writes.insert(0, ("mode".into(), applied.effective.mode.name().to_string()));
    }
    Ok(Finished { writes, post, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_opts() {
        let a = apply(&BondOptions::default(), "mode=1 miimon=100").unwrap();
        assert_eq!(a.effective.mode, Mode::ActiveBackup);
        assert_eq!(a.effective.miimon, 100);
        assert_eq!(a.writes, vec![("mode".into(), "1".into()), ("miimon".into(), "100".into())]);
        assert!(a.post.is_empty());
    }

    #[test]
    fn mode_goes_first_and_names_work() {
        let a = apply(&BondOptions::default(), "lacp_rate=fast mode=802.3ad xmit_hash_policy=layer3+4").unwrap();
        assert_eq!(a.writes[0], ("mode".into(), "802.3ad".into()));
        assert_eq!(a.effective.mode, Mode::Ieee8023ad);
        assert_eq!(a.effective.miimon, 100, "802.3ad forces miimon 100");
        assert_eq!(a.effective.show("lacp_rate").unwrap(), "fast 1");
        let b = apply(&BondOptions::default(), "mode=active-backup").unwrap();
        assert_eq!(b.effective.mode, Mode::ActiveBackup);
    }

    #[test]
    fn arp_targets_expand_and_dedupe() {
        let a = apply(&BondOptions::default(), "arp_interval=200 arp_ip_target=198.18.0.1,198.18.0.2 arp_ip_target=198.18.0.1").unwrap();
        assert_eq!(a.effective.arp_ip_targets.len(), 2);
        assert_eq!(
            a.writes,
            vec![
                ("arp_interval".into(), "200".into()),
                ("arp_ip_target".into(), "+198.18.0.1".into()),
                ("arp_ip_target".into(), "+198.18.0.2".into())
            ]
        );
    }

    #[test]
    fn primary_is_post_and_checked() {
        let a = apply(&BondOptions::default(), "primary=eth0 mode=1").unwrap();
        assert_eq!(a.post, vec![("primary".into(), "eth0".into())]);
        assert_eq!(a.effective.primary.as_deref(), Some("eth0"));
        let e = apply(&BondOptions::default(), "mode=0 primary=eth0").unwrap_err();
        assert_eq!(e.problem, "option primary: mode dependency failed, not supported in mode balance-rr(0)");
        assert!(e.expected.contains("active-backup(1)"), "{}", e.expected);
    }

    #[test]
    fn refusals() {
        let e = apply(&BondOptions::default(), "mode=7").unwrap_err();
        assert!(e.problem.starts_with("option mode: invalid value (7)"), "{e:?}");
        assert!(e.expected.contains("active-backup (1)"), "{e:?}");
        let e = apply(&BondOptions::default(), "bogus=1").unwrap_err();
        assert!(e.problem.contains("unknown bonding option 'bogus'"));
        assert!(e.expected.contains("miimon"));
        let e = apply(&BondOptions::default(), "updelay=200").unwrap_err();
        assert!(e.problem.contains("MII monitoring is disabled"), "{e:?}");
        let e = apply(&BondOptions::default(), "miimon").unwrap_err();
        assert!(e.problem.contains("has no value"));
    }

    #[test]
    fn max_bonds_warns() {
        let a = apply(&BondOptions::default(), "mode=1 max_bonds=2").unwrap();
        assert_eq!(a.warnings.len(), 1);
        assert!(a.warnings[0].contains("module parameter"));
    }

    #[test]
    fn diff_reaches_target() {
        let to = apply(&BondOptions::default(), "mode=4 lacp_rate=1 miimon=50 updelay=100 xmit_hash_policy=layer2+3 ad_select=count").unwrap().effective;
        let (w, errs) = diff_writes(&BondOptions::default(), &to, &SetContext::default());
        assert!(errs.is_empty());
        assert_eq!(w[0], ("mode".into(), "802.3ad".into()));
        let mut replay = BondOptions::default();
        for (k, v) in &w {
            replay.set(k, v, &SetContext::default()).unwrap();
        }
        assert!(same_shown(&replay, &to));
        // A live bond refuses mode changes with the kernel's reason.
        let (_, errs) = diff_writes(&to, &BondOptions::default(), &SetContext { has_slaves: true, is_up: true });
        assert!(errs.iter().any(|e| e.to_string().contains("option mode: unable to set because the bond device has slaves")), "{errs:?}");
    }

    #[test]
    fn diff_targets() {
        let mut from = BondOptions::default();
        from.set("arp_ip_target", "+198.18.0.1", &SetContext::default()).unwrap();
        from.set("arp_ip_target", "+198.18.0.2", &SetContext::default()).unwrap();
        let mut to = BondOptions::default();
        to.set("arp_ip_target", "+198.18.0.2", &SetContext::default()).unwrap();
        to.set("arp_ip_target", "+198.18.0.3", &SetContext::default()).unwrap();
        let (w, e) = diff_writes(&from, &to, &SetContext::default());
        assert!(e.is_empty());
        assert_eq!(w, vec![("arp_ip_target".into(), "-198.18.0.1".into()), ("arp_ip_target".into(), "+198.18.0.3".into())]);
    }
}
