//! Keeps `src/core` pure: the core must stay a deterministic state machine, so it may not reach for clocks,
//! threads, files, sockets, locks, channels, randomly seeded hash maps, global randomness or printing. This test
//! scans the sources as tokens (comments, strings and character literals dropped) and fails on any such use, in
//! whatever form the path is written: in full, through a grouped import such as `use std::{thread, time}`, or by a
//! module name imported elsewhere (`thread::sleep`).

use std::fs;
use std::path::Path;

/// Names that mean a clock, randomness, a lock, a channel, IO or `unsafe` wherever they appear. `HashMap` and
/// `HashSet` are here because their default hasher (`RandomState`) is seeded at random, so iteration order would
/// differ from run to run.
const FORBIDDEN_NAMES: &[&str] = &[
    "Instant",
    "SystemTime",
    "UNIX_EPOCH",
    "sleep",
    "spawn",
    "HashMap",
    "HashSet",
    "RandomState",
    "rand",
    "thread_rng",
    "ThreadRng",
    "OsRng",
    "getrandom",
    "from_entropy",
    "Mutex",
    "RwLock",
    "Condvar",
    "mpsc",
    "File",
    "OpenOptions",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "stdin",
    "stdout",
    "stderr",
    "unsafe",
];

/// Crates of threads, locks and channels, by name prefix (`crossbeam_channel`, `parking_lot_core`).
const FORBIDDEN_CRATES: &[&str] = &["crossbeam", "parking_lot", "tokio"];

/// Macros that print.
const FORBIDDEN_MACROS: &[&str] = &["println", "eprintln", "print", "eprint", "dbg"];

/// Modules of `std` (and `core`) that reach the outside world or other threads: forbidden as a path segment
/// (`thread::sleep`, `std::time::Instant`) and anywhere inside an import from `std` (`use std::{fs, io::Read}`).
const WORLD_MODULES: &[&str] = &["time", "thread", "fs", "net", "io", "sync", "process", "env", "os"];

/// A word or punctuation of the code, with its line.
#[derive(Debug)]
struct Token<'a> {
    text: &'a str,
    line: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Splits Rust source into identifiers, `::` and single punctuation characters. Comments (nested block comments
/// too), string literals of every kind and character literals become nothing, so words in them never count.
fn tokens(source: &str) -> Vec<Token<'_>> {
    let s = source.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let newlines = |from: usize, to: usize| s[from..to].iter().filter(|&&c| c == b'\n').count();
    while i < s.len() {
        let start = i;
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == b'/' && next == Some(b'/') {
            while i < s.len() && s[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && next == Some(b'*') {
            let mut depth = 0;
            while i < s.len() {
                if s[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if s[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(s, i) {
            i = end;
        } else if c == b'"' || (matches!(c, b'b' | b'c') && next == Some(b'"')) {
            i += if c == b'"' { 1 } else { 2 };
            while i < s.len() && s[i] != b'"' {
                i += if s[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == b'\'' || (c == b'b' && next == Some(b'\'')) {
            // A character literal ('x', '\n', '\u{1F600}', b'x'), or a lifetime ('a), which is skipped too.
            let open = if c == b'b' { i + 1 } else { i };
            let mut j = open + 1;
            if s.get(j) == Some(&b'\\') {
                j += 2;
                while j < s.len() && s[j] != b'\'' && s[j] != b'\n' {
                    j += 1;
                }
                i = j + 1;
            } else if s.get(j + 1) == Some(&b'\'') {
                i = j + 2;
            } else if let Some(width) = source[j..].chars().next().map(char::len_utf8).filter(|&w| w > 1) {
                i = j + width + 1;
            } else {
                while j < s.len() && is_ident(s[j]) {
                    j += 1;
                }
                i = j.max(open + 1);
            }
        } else if is_ident_start(c) || (c == b'r' && next == Some(b'#')) {
            if c == b'r' && next == Some(b'#') {
                i += 2;
            }
            let word = i;
            while i < s.len() && is_ident(s[i]) {
                i += 1;
            }
            out.push(Token { text: &source[word..i], line });
        } else if c.is_ascii_digit() {
            while i < s.len() && (is_ident(s[i]) || s[i] == b'.' && s.get(i + 1).is_some_and(u8::is_ascii_digit)) {
                i += 1;
            }
        } else if c == b':' && next == Some(b':') {
            out.push(Token { text: "::", line });
            i += 2;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else {
            let width = source[i..].chars().next().map_or(1, char::len_utf8);
            out.push(Token { text: &source[i..i + width], line });
            i += width;
        }
        line += newlines(start, i.min(s.len()));
    }
    out
}

/// Where a raw string (`r"…"`, `r#"…"#`, `br##"…"##`, `cr"…"`) starting at `i` ends, if one starts there.
fn raw_string_end(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(s[j], b'b' | b'c') {
        j += 1;
    }
    if s.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = s[j..].iter().take_while(|&&c| c == b'#').count();
    j += hashes;
    if s.get(j) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = j + 1;
    let end = s[body..].windows(close.len()).position(|w| w == close.as_slice())?;
    Some(body + end + close.len())
}

/// Every impure use in `source`, as `line: what`.
fn impurities(source: &str) -> Vec<String> {
    let tokens = tokens(source);
    let text = |k: usize| tokens.get(k).map_or("", |t| t.text);
    let mut hits = Vec::new();
    let mut in_std_use = false;
    for (k, token) in tokens.iter().enumerate() {
        let word = token.text;
        if word == "use" {
            // `use std::…;` or `use ::std::…;` and the same for `core`, however the tree is grouped and split.
            let root = if text(k + 1) == "::" { text(k + 2) } else { text(k + 1) };
            in_std_use = root == "std" || root == "core";
        } else if word == ";" {
            in_std_use = false;
        }
        let world = WORLD_MODULES.contains(&word);
        let why = if FORBIDDEN_NAMES.contains(&word) || FORBIDDEN_CRATES.iter().any(|c| word.starts_with(c)) {
            Some("forbidden name")
        } else if FORBIDDEN_MACROS.contains(&word) && text(k + 1) == "!" {
            Some("printing macro")
        } else if world && text(k + 1) == "::" {
            Some("path through a world-facing module")
        } else if world && in_std_use {
            Some("import of a world-facing module")
        } else {
            None
        };
        if let Some(why) = why {
            hits.push(format!("{}: {why} `{word}`", token.line));
        }
    }
    hits
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src/core") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_uses_no_clock_thread_io_lock_channel_or_global_rng() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/core.rs")];
    rust_files(&root.join("src/core"), &mut files);
    assert!(files.len() > 3, "expected the core's sources, found {files:?}");
    let mut hits = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("read source");
        hits.extend(impurities(&text).into_iter().map(|hit| format!("{}:{hit}", file.display())));
    }
    assert!(hits.is_empty(), "src/core must stay pure:\n{}", hits.join("\n"));
}

#[test]
fn the_scanner_flags_each_planted_impurity() {
    let planted = [
        ("a grouped import", "use std::{thread, time};\nfn f() {}"),
        ("a grouped import over lines", "use std::{\n    collections::BTreeMap,\n    time::Duration,\n};"),
        ("a nested grouped import", "use std::{fmt, sync::{atomic::AtomicU64}};"),
        ("an import from the root", "use ::std::env;"),
        ("a hash map's random state", "use std::collections::HashMap;\nstruct S { m: HashMap<u64, u64> }"),
        ("a hasher seeded at random", "let s = std::collections::hash_map::RandomState::new();"),
        ("a hash set", "let s: std::collections::HashSet<u8> = Default::default();"),
        ("a clock", "let now = std::time::Instant::now();"),
        ("a clock imported earlier", "fn f(t: Instant) -> u64 { t.elapsed().as_secs() }"),
        ("wall-clock time", "let t = SystemTime::now();"),
        ("a sleep through an imported module", "fn f() { thread::sleep(d) }"),
        ("a sleep in full", "fn f() { std::thread::sleep(d) }"),
        ("a sleep imported by name", "fn f() { sleep(d) }"),
        ("a file read in full", "let s = std::fs::read_to_string(path)?;"),
        ("a file read through an imported module", "let s = fs::read(path)?;"),
        ("a file opened", "let f = File::open(\"state\")?;"),
        ("file IO imported as a group", "use std::{fs, io::Write};"),
        ("a socket", "let s = TcpStream::connect(addr)?;"),
        ("the environment", "let v = env::var(\"X\");"),
        ("a lock", "use parking_lot::Mutex;"),
        ("a channel", "let (tx, rx) = crossbeam_channel::unbounded::<u8>();"),
        ("global randomness", "let x: u64 = rand::random();"),
        ("a thread's generator", "let x = thread_rng().next_u64();"),
        ("printing", "fn f() { println!(\"{}\", 1) }"),
        ("printing with a space", "fn f() { dbg !(x) }"),
        ("unsafe code", "fn f(p: *const u8) -> u8 { unsafe { *p } }"),
    ];
    for (what, source) in planted {
        assert!(!impurities(source).is_empty(), "the scanner missed {what}: {source}");
    }
}

#[test]
fn the_scanner_ignores_comments_strings_and_pure_code() {
    let clean = r####"
//! Unlike a clock (std::time::Instant), a tick count replays: see `use std::{thread, time}` nowhere here.
/* A block comment /* nested, with thread::sleep */ and HashMap<K, V> */
use std::collections::BTreeMap;
use std::mem;
use crate::core::config::Config;
/// Doc: never File::open, never println!("x").
fn f<'a>(x: &'a str) -> (char, char, u8, &'static str, &'a str) {
    let _ = "std::fs::read and \" thread::sleep";
    let _ = r#"unsafe "Instant" inside"#;
    let _ = br##"HashMap"#still raw"##;
    let _ = b"SystemTime";
    let time = 3; // a variable may be named like a module
    let _ = (time, mem::size_of::<u8>(), 1.5e3);
    self.image.sync(&mut self.log);
    ('"', '\'', b'x', "ok", x)
}
"####;
    let hits = impurities(clean);
    assert!(hits.is_empty(), "false alarms: {hits:?}");
    // A line number points at the use, past comments and strings that span lines.
    let source = "/* one\ntwo */\nlet s = \"a\nb\";\nlet t = Instant::now();";
    assert_eq!(impurities(source), vec!["5: forbidden name `Instant`".to_owned()]);
}
