//! Shell completions and the man page are generated from the clap definitions: each shell's
//! script and the roff page come out without error and name the subcommands.

use std::process::Command;

fn rbond(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rbond")).args(args).output().unwrap();
    assert!(out.status.success(), "rbond {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "rbond {args:?} wrote to stderr");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let s = rbond(&["completions", shell]);
        for sub in ["enslave", "active-slave", "events", "completions"] {
            assert!(s.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let bash = rbond(&["completions", "bash"]);
    assert!(bash.contains("complete -F _rbond") && bash.contains("--follow"), "{bash}");
    // bash accepts the script.
    let check = Command::new("bash").args(["-n", "-c", &bash]).status().unwrap();
    assert!(check.success());
}

#[test]
fn man_page_is_roff_in_section_8() {
    let m = rbond(&["man"]);
    assert!(m.contains(".TH rbond 8"));
    for sec in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(m.contains(sec), "man page lacks {sec}");
    }
    assert!(m.contains("rbond\\-enslave") || m.contains("rbond-enslave"));
    // man(1) renders it, if installed.
    if Command::new("man").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let dir = std::env::temp_dir().join(format!("rbond-man-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("rbond.8");
        std::fs::write(&f, &m).unwrap();
        let out = Command::new("man").arg("-l").arg(&f).env("MANPAGER", "cat").env("PAGER", "cat").output().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("enslave"));
    }
}
