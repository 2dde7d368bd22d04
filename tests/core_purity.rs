//! Keeps `src/core` pure: the core must stay a deterministic state machine, so it may not reach for clocks,
//! threads, files, sockets, locks, channels, global randomness or printing. This test reads the sources and fails
//! on any such use outside comments.

use std::fs;
use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "std::time",
    "Instant",
    "SystemTime",
    "std::thread",
    "std::fs",
    "std::net",
    "std::io",
    "std::sync",
    "std::process",
    "std::env",
    "parking_lot",
    "crossbeam",
    "thread_rng",
    "rand::rng",
    "OsRng",
    "getrandom",
    "println!",
    "eprintln!",
    "print!",
    "dbg!",
    "unsafe",
];

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
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    hits.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(hits.is_empty(), "src/core must stay pure:\n{}", hits.join("\n"));
}

#[test]
fn the_purity_check_catches_a_clock() {
    let line = "let now = std::time::Instant::now();";
    assert!(FORBIDDEN.iter().any(|w| line.contains(w)));
}
