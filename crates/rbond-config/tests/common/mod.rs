//! Helpers shared by the integration tests: scratch directories that clean up after themselves.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A directory under the system temp dir, removed on drop (also when a test fails).
pub struct Scratch {
    pub path: PathBuf,
}

static N: AtomicUsize = AtomicUsize::new(0);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let n = N.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("rbond-config-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch { path }
    }
    /// Write files (name, contents) into the directory.
    pub fn with(tag: &str, files: &[(&str, &str)]) -> Scratch {
        let bytes: Vec<(&str, &[u8])> = files.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
        Scratch::with_bytes(tag, &bytes)
    }
    pub fn with_bytes(tag: &str, files: &[(&str, &[u8])]) -> Scratch {
        let s = Scratch::new(tag);
        for (n, t) in files {
            std::fs::write(s.path.join(n), t).unwrap();
        }
        s
    }
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
    /// Every file's name and bytes, sorted: to prove nothing was changed.
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&self.path)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The seed's ifcfg-eth<N> text for slave `n` (byte-identical to the seed but for <N>).
pub fn seed_slave(n: u32) -> String {
    std::fs::read_to_string(fixtures().join("seed/ifcfg-eth0")).unwrap().replace("eth0", &format!("eth{n}"))
}

pub fn seed_bond() -> String {
    std::fs::read_to_string(fixtures().join("seed/ifcfg-bond0")).unwrap()
}

/// Expands an expected message: `{d}` is the directory, `{accepted:<option>}` the core
/// table's accepted values (so tests never copy the table's text).
pub fn expand(s: &str, dir: &str) -> String {
    let mut out = s.replace("{d}", dir);
    while let Some(i) = out.find("{accepted:") {
        let j = i + out[i..].find('}').unwrap();
        let acc = rbond_core::options::lookup(&out[i + "{accepted:".len()..j]).unwrap().accepted();
        out.replace_range(i..=j, &acc);
    }
    out
}
