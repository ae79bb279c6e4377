//! Under systemd (JOURNAL_STREAM set) the daemon's events go to the journal as structured
//! entries. No journald runs here, so the test plays it: it binds the journal's socket
//! (/run/systemd/journal/socket, the native protocol of systemd.journal-fields(7):
//! `KEY=value` lines in one datagram) and reads what the daemon sends. Its own test binary:
//! JOURNAL_STREAM is set for the whole process. Skipped where a real journald listens.

mod common;

use common::*;
use rbond::lab::netns::{unique_id, Netns};
use std::os::unix::net::UnixDatagram;
use std::path::Path;

const SOCKET: &str = "/run/systemd/journal/socket";

/// Fields of one native-protocol datagram (values with a newline come length-prefixed).
fn fields(d: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < d.len() {
        let end = d[i..].iter().position(|&c| c == b'\n').map_or(d.len(), |p| i + p);
        let line = &d[i..end];
        if let Some(eq) = line.iter().position(|&c| c == b'=') {
            out.push((String::from_utf8_lossy(&line[..eq]).into(), String::from_utf8_lossy(&line[eq + 1..]).into()));
            i = end + 1;
        } else {
            let key = String::from_utf8_lossy(line).into_owned();
            let len = u64::from_le_bytes(d[end + 1..end + 9].try_into().unwrap()) as usize;
            out.push((key, String::from_utf8_lossy(&d[end + 9..end + 9 + len]).into()));
            i = end + 9 + len + 1;
        }
    }
    out
}

#[test]
fn events_go_to_the_journal_under_systemd() {
    if !root_or_skip() {
        return;
    }
    if Path::new(SOCKET).exists() {
        eprintln!("skipped: a journald listens on {SOCKET}; not replacing it");
        return;
    }
    let dir = Path::new(SOCKET).parent().unwrap();
    let made_dir = !dir.exists();
    std::fs::create_dir_all(dir).unwrap();
    let journal = UnixDatagram::bind(SOCKET).unwrap();
    journal.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // Whatever happens below, the fake journal goes away.
    struct Cleanup(bool);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(SOCKET);
            if self.0 {
                let _ = std::fs::remove_dir(Path::new(SOCKET).parent().unwrap());
            }
        }
    }
    let _cleanup = Cleanup(made_dir);

    std::env::set_var("JOURNAL_STREAM", "8:12345");
    let ns = Netns::new(&unique_id(), "jrnl").unwrap();
    let run = std::env::temp_dir().join(format!("rbt-jrnl-{}", std::process::id()));
    std::fs::create_dir_all(&run).unwrap();
    let sock = run.join("s");
    let log = ns
        .spawn("rbond daemon", Path::new(rbond_bin()), &["--socket".as_ref(), sock.as_os_str(), "daemon".as_ref(), "--run-dir".as_ref(), run.join("r").as_os_str()])
        .unwrap();
    log.wait_for("rbond daemon ready", Duration::from_secs(10)).unwrap();
    let out = std::process::Command::new(rbond_bin()).arg("--socket").arg(&sock).args(["add", "rbtj0", "mode", "active-backup"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The layer first sends an empty datagram to check the socket (journald discards it).
    let mut buf = vec![0u8; 65536];
    let mut n = 0;
    while n == 0 {
        n = journal.recv(&mut buf).expect("an entry from the daemon");
    }
    let f = fields(&buf[..n]);
    println!("{f:?}");
    let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(get("RBOND_KIND"), Some("create"));
    assert_eq!(get("RBOND_BOND"), Some("rbtj0"));
    assert_eq!(get("MESSAGE"), Some("bond created, mode active-backup"));
    assert_eq!(get("PRIORITY"), Some("5"), "tracing INFO is the journal's notice");
    assert_eq!(get("SYSLOG_IDENTIFIER"), Some("rbond"));
    // In the journal, not (also) as an event line on stderr.
    assert!(!log.lines().iter().any(|l| l.contains("bond created")), "{:?}", log.lines());
    ns.stop_processes();
    let _ = std::fs::remove_dir_all(&run);
}
