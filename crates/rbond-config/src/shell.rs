//! A lexer for the shell-variable files initscripts sources (`ifcfg-*`).
//!
//! initscripts runs `. ifcfg-bond0` in bash, so the files are shell. We accept the subset admins
//! actually write and refuse, with a line number, everything whose meaning would depend on running
//! a shell (expansions, command substitution, commands):
//!
//! - `KEY=value`, `KEY="v a l"`, `KEY='v'`, and concatenations such as `KEY=a"b c"'d'`;
//! - backslash escapes: unquoted `\x` is `x`; inside double quotes only `\$ \` \" \\` and
//!   backslash-newline are escapes (as in bash), any other backslash is literal;
//! - quoted values may span lines; an unquoted backslash-newline continues the line;
//! - `#` starts a comment at the start of a line or at the start of a word, i.e. after
//!   whitespace, so `NM_CONTROLLED=no    # comment` is `no` while `KEY=a#b` is `a#b`;
//! - `export KEY=value` is tolerated; several assignments on one line are allowed (valid shell).
//!
//! Refused: unterminated quotes, `$` and backticks outside single quotes (expansions), control
//! operators (`; & | < > ( )`), words that are not assignments (bash would run them as a
//! command, e.g. the `b` of `KEY=a b`), invalid keys, and carriage returns (DOS line endings,
//! which bash would keep inside the value).

use std::fmt;

/// One `KEY=value` assignment, with the 1-based line where the assignment starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A lexing failure. `key` is the assignment being read, when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub line: usize,
    pub key: Option<String>,
    pub problem: String,
    pub expected: String,
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        write!(f, "{}; expected {}", self.problem, self.expected)
    }
}

impl std::error::Error for LexError {}

/// Characters that end an unquoted word or are shell control operators.
fn is_operator(c: char) -> bool {
    matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// True for a valid shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_key(k: &str) -> bool {
    let mut cs = k.chars();
    match cs.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

/// A raw word: its text after quote removal, and whether any part of it was quoted (an
/// assignment's `=` must be unquoted, so `"A=1"` is a command, not an assignment).
struct Word {
    text: String,
    /// Byte offset in `text` of the first unquoted `=`, if any.
    unquoted_eq: Option<usize>,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn err(&self, line: usize, key: Option<&str>, problem: impl Into<String>, expected: impl Into<String>) -> LexError {
        LexError { line, key: key.map(str::to_string), problem: problem.into(), expected: expected.into() }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next();
        if c == Some('\n') {
            self.line += 1;
        }
        c
    }

    /// Skip blanks; returns what follows (not consumed).
    fn skip_blanks(&mut self) -> Option<char> {
        while let Some(&c) = self.chars.peek() {
            if is_blank(c) {
                self.bump();
            } else if c == '\\' {
                // Backslash-newline between words is a line continuation.
                let mut look = self.chars.clone();
                look.next();
                if look.peek() == Some(&'\n') {
                    self.bump();
                    self.bump();
                } else {
                    return Some(c);
                }
            } else {
                return Some(c);
            }
        }
        None
    }

    fn skip_comment(&mut self) {
        while let Some(&c) = self.chars.peek() {
            if c == '\n' {
                return;
            }
            self.bump();
        }
    }

    /// Read one word starting at the current (non-blank, non-`#`) character.
    /// `key` is the key of the assignment in progress, for messages (None while reading the
    /// part before `=`).
    fn word(&mut self) -> Result<Word, LexError> {
        let start_line = self.line;
        let mut text = String::new();
        let mut unquoted_eq = None;
        // The key once the unquoted '=' is seen, for messages about the value.
        let mut key_owned: Option<String> = None;
        while let Some(&c) = self.chars.peek() {
            let key = key_owned.as_deref();
            match c {
                ' ' | '\t' | '\n' => break,
                '\r' => {
                    return Err(self.err(self.line, key, "carriage return in the file (DOS line ending); bash keeps it in the value", "Unix line endings (LF only)"))
                }
                c if is_operator(c) => {
                    return Err(self.err(self.line, key, format!("shell operator '{c}' is not supported"), "KEY=value, with the value quoted if it contains special characters"))
                }
                '$' | '`' => {
                    return Err(self.err(self.line, key, format!("'{c}' (shell expansion) is not supported"), "a literal value; quote it with '...' if it contains $ or `"))
                }
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') => {}
                        Some('\r') => {
                            return Err(self.err(self.line, key, "carriage return in the file (DOS line ending); bash keeps it in the value", "Unix line endings (LF only)"))
                        }
                        Some(e) => text.push(e),
                        None => {
                            return Err(self.err(self.line, key, "backslash at end of file", "a character after the backslash"))
                        }
                    }
                }
                '\'' => {
                    let open = self.line;
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('\'') => break,
                            Some(ch) => text.push(ch),
                            None => {
                                return Err(self.err(open, key, "unterminated single quote", "a closing ' before the end of the file"))
                            }
                        }
                    }
                }
                '"' => {
                    let open = self.line;
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('"') => break,
                            Some('\\') => match self.chars.peek().copied() {
                                Some(e @ ('$' | '`' | '"' | '\\')) => {
                                    self.bump();
                                    text.push(e);
                                }
                                Some('\n') => {
                                    self.bump();
                                }
                                _ => text.push('\\'),
                            },
                            Some(ch @ ('$' | '`')) => {
                                return Err(self.err(self.line, key, format!("'{ch}' (shell expansion) inside double quotes is not supported"), "a literal value; write \\{ch} or use single quotes"))
                            }
                            Some('\r') => {
                                return Err(self.err(self.line, key, "carriage return in the file (DOS line ending); bash keeps it in the value", "Unix line endings (LF only)"))
                            }
                            Some(ch) => text.push(ch),
                            None => {
                                return Err(self.err(open, key, "unterminated double quote", "a closing \" before the end of the file"))
                            }
                        }
                    }
                }
                '=' if unquoted_eq.is_none() => {
                    self.bump();
                    unquoted_eq = Some(text.len());
                    key_owned = Some(text.clone());
                    text.push('=');
                }
                _ => {
                    self.bump();
                    text.push(c);
                }
            }
        }
        Ok(Word { text, unquoted_eq, line: start_line })
    }
}

/// Lex a whole file into its assignments, in file order.
pub fn lex(input: &str) -> Result<Vec<Assignment>, LexError> {
    let mut lx = Lexer { chars: input.chars().peekable(), line: 1 };
    let mut out = Vec::new();
    // Per logical line: whether the first word was `export` (then all following words must be
    // assignments or names, as `export` accepts both).
    let mut word_index = 0usize;
    let mut exporting = false;
    // Key of the last assignment on this line, for messages about the words that follow it.
    let mut last_key: Option<String> = None;
    while let Some(c) = lx.skip_blanks() {
        match c {
            '\n' => {
                lx.bump();
                word_index = 0;
                exporting = false;
                last_key = None;
                continue;
            }
            '#' => {
                lx.skip_comment();
                continue;
            }
            '\r' => {
                return Err(lx.err(lx.line, last_key.as_deref(), "carriage return in the file (DOS line ending); bash keeps it in the value", "Unix line endings (LF only)"))
            }
            _ => {}
        }
        let w = lx.word()?;
        word_index += 1;
        match w.unquoted_eq {
            Some(i) => {
                let key = &w.text[..i];
                if !is_valid_key(key) {
                    if word_index > 1 && !exporting {
                        return Err(not_assignment_after(w.line, last_key.as_deref(), &w.text));
                    }
                    return Err(LexError {
                        line: w.line,
                        key: None,
                        problem: format!("'{}' is not a valid variable name", key),
                        expected: "KEY=value with KEY made of letters, digits and _ (not starting with a digit)".into(),
                    });
                }
                last_key = Some(key.to_string());
                out.push(Assignment { key: key.to_string(), value: w.text[i + 1..].to_string(), line: w.line });
            }
            None => {
                if word_index == 1 && w.text == "export" {
                    exporting = true;
                } else if exporting && is_valid_key(&w.text) {
                    // `export KEY` alone: exports an existing variable, assigns nothing.
                } else if word_index > 1 {
                    return Err(not_assignment_after(w.line, last_key.as_deref(), &w.text));
                } else {
                    // Distinguish `KEY = value` (spaces around '=') from other commands.
                    let next_is_eq = lx.skip_blanks() == Some('=');
                    let problem = if is_valid_key(&w.text) && next_is_eq {
                        format!("'{}' followed by a space before '='", w.text)
                    } else {
                        format!("'{}' is not an assignment (bash would run it as a command)", w.text)
                    };
                    return Err(LexError { line: w.line, key: None, problem, expected: "KEY=value with no spaces around '='".into() });
                }
            }
        }
    }
    Ok(out)
}

fn not_assignment_after(line: usize, key: Option<&str>, word: &str) -> LexError {
    LexError {
        line,
        key: key.map(str::to_string),
        problem: format!("unquoted space before '{word}' (bash would run '{word}' as a command)"),
        expected: "the whole value in quotes, e.g. KEY=\"a b\", or a # comment after the space".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(input: &str) -> Vec<(String, String, usize)> {
        lex(input).unwrap().into_iter().map(|a| (a.key, a.value, a.line)).collect()
    }
    fn one(input: &str) -> String {
        let v = kv(input);
        assert_eq!(v.len(), 1, "{input:?} -> {v:?}");
        v[0].1.clone()
    }
    fn err(input: &str) -> LexError {
        lex(input).expect_err(input)
    }

    #[test]
    fn plain_and_quoted() {
        assert_eq!(one("DEVICE=bond0\n"), "bond0");
        assert_eq!(one("BONDING_OPTS=\"mode=1 miimon=100\""), "mode=1 miimon=100");
        assert_eq!(one("X='a b $c'"), "a b $c");
        assert_eq!(one("X=a\"b c\"'d e'f"), "ab cd ef");
        assert_eq!(one("X="), "");
        assert_eq!(one("X=\"\""), "");
        assert_eq!(one("  \tX=1"), "1");
    }

    #[test]
    fn escapes() {
        assert_eq!(one(r#"X="a\"b""#), "a\"b");
        assert_eq!(one(r#"X="a\$b\\c\`d""#), "a$b\\c`d");
        // Backslash before another character stays inside double quotes (bash).
        assert_eq!(one(r#"X="a\nb""#), "a\\nb");
        assert_eq!(one(r"X=a\ b"), "a b");
        assert_eq!(one(r"X=a\$b"), "a$b");
        assert_eq!(one("X='a\\b'"), "a\\b");
    }

    #[test]
    fn comments() {
        let seed = "NM_CONTROLLED=no                  #6中此项禁掉networkmanager\n\
                    BONDING_OPTS=\"mode=1 miimon=100\"  #设置网卡的运行模式，也可以在配置文件中设置  \n";
        assert_eq!(
            kv(seed),
            vec![
                ("NM_CONTROLLED".into(), "no".into(), 1),
                ("BONDING_OPTS".into(), "mode=1 miimon=100".into(), 2)
            ]
        );
        assert_eq!(one("# c\n\n   # indented\nX=a#b # real comment"), "a#b");
        assert_eq!(one("X=#notacomment"), "#notacomment");
        assert_eq!(one("X=\"a # b\""), "a # b");
        assert_eq!(one("X=1\t# tab comment"), "1");
        // Trailing blanks after a value (the seed has them) are not part of the value.
        assert_eq!(one("IPADDR=198.18.0.11  \n"), "198.18.0.11");
    }

    #[test]
    fn multiline_and_lines() {
        let v = kv("A=1\n\nB=\"x\ny\"\nC=2\\\n3\nD=4");
        assert_eq!(
            v,
            vec![
                ("A".into(), "1".into(), 1),
                ("B".into(), "x\ny".into(), 3),
                ("C".into(), "23".into(), 5),
                ("D".into(), "4".into(), 7)
            ]
        );
    }

    #[test]
    fn export_and_several() {
        assert_eq!(kv("export A=1 B=2\nexport C\n"), vec![("A".into(), "1".into(), 1), ("B".into(), "2".into(), 1)]);
        assert_eq!(kv("A=1 B=2"), vec![("A".into(), "1".into(), 1), ("B".into(), "2".into(), 1)]);
    }

    #[test]
    fn errors() {
        let e = err("A=1\nX=\"abc\n\n");
        assert_eq!((e.line, e.key.as_deref()), (2, Some("X")));
        assert!(e.problem.contains("unterminated double quote"), "{e}");
        let e = err("X='abc");
        assert!(e.problem.contains("unterminated single quote"), "{e}");
        let e = err("\nX=a b\n");
        assert_eq!((e.line, e.key.as_deref()), (2, Some("X")));
        assert!(e.problem.contains("unquoted space before 'b'"), "{e}");
        let e = err("DEVICE bond0");
        assert!(e.problem.contains("not an assignment"), "{e}");
        let e = err("DEVICE =bond0");
        assert!(e.problem.contains("space before '='"), "{e}");
        let e = err("X=$HOME");
        assert!(e.problem.contains("expansion"), "{e}");
        let e = err("X=\"$HOME\"");
        assert!(e.problem.contains("expansion"), "{e}");
        let e = err("X=`id`");
        assert!(e.problem.contains("expansion"), "{e}");
        let e = err("X=1; Y=2");
        assert!(e.problem.contains("operator ';'"), "{e}");
        let e = err("X=1\r\n");
        assert!(e.problem.contains("carriage return"), "{e}");
        let e = err("1X=2");
        assert!(e.problem.contains("not a valid variable name"), "{e}");
        let e = err("\"A=1\"");
        assert!(e.problem.contains("not an assignment"), "{e}");
        let e = err("X=a\\");
        assert!(e.problem.contains("end of file"), "{e}");
        assert!(format!("{e}").starts_with("line 1: X: "));
    }

    #[test]
    fn never_panics_on_garbage() {
        // A cheap fuzz: every prefix of a tricky input either lexes or errors, never panics.
        let s = "export A=\"x\\\"y $z\" B='q' C=a\\\n#c\nD=\\ \"\n\r\t(=)|;`'";
        for i in 0..=s.len() {
            if s.is_char_boundary(i) {
                let _ = lex(&s[..i]);
            }
        }
    }
}
