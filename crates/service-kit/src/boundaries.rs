//! Layer boundaries as a test: which files of a service's `src/` may name which driver crate.
//!
//! Each service keeps tonic in `grpc/` (and `startup.rs`, which wires the server), diesel in
//! `db/`, async-nats in `nats/` and reqwest in the WinLeadPlus client. Module docs say so; this
//! check makes it true: a service's integration tests call [`check`] on its own `src/` and fail
//! with the file and line of every use outside the allowed places. The scan is lexical (it
//! reads identifiers outside comments and string literals), which is enough because a crate
//! can only be reached by naming it: a `use diesel::prelude::*` names it on its own line.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where one driver crate may be named.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The crate as code names it (`tonic`, `diesel`, `async_nats`); identifiers that start
    /// with it and an underscore (`tonic_health`, `diesel_async`) count as the same driver.
    pub krate: &'static str,
    /// Paths relative to `src/` where it may appear: a directory ends with `/`
    /// (`"grpc/"`), anything else is one file (`"startup.rs"`).
    pub allowed: &'static [&'static str],
}

/// One use of a driver crate outside its layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The file, relative to the crate root (`src/metrics.rs`).
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// The crate named.
    pub krate: &'static str,
    /// Where it would have been allowed.
    pub allowed: &'static [&'static str],
    /// The offending line, trimmed.
    pub text: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: uses {} outside {}: `{}`",
            self.file.display(),
            self.line,
            self.krate,
            self.allowed.join(", "),
            self.text
        )
    }
}

/// The layers of a service crate: tonic in `grpc/` and `startup.rs` (which wires the server),
/// diesel in `db/`, async-nats in `nats/`, and reqwest only in `http_client` (empty: nowhere).
pub const fn service_layers(http_client: &'static [&'static str]) -> [Rule; 4] {
    [
        Rule {
            krate: "tonic",
            allowed: &["grpc/", "startup.rs"],
        },
        Rule {
            krate: "diesel",
            allowed: &["db/"],
        },
        Rule {
            krate: "async_nats",
            allowed: &["nats/"],
        },
        Rule {
            krate: "reqwest",
            allowed: http_client,
        },
    ]
}

/// For a test: fails, listing every violation with its file and line, unless the crate at
/// `crate_dir` keeps each ruled crate in its layer.
#[allow(clippy::panic, reason = "a test assertion, called only from tests")]
pub fn assert_layers(crate_dir: &Path, rules: &[Rule]) {
    match check(&crate_dir.join("src"), rules) {
        Ok(violations) if violations.is_empty() => {}
        Ok(violations) => {
            let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
            panic!(
                "{} crosses its layers:\n{}",
                crate_dir.display(),
                listed.join("\n")
            );
        }
        Err(e) => panic!("cannot read {}: {e}", crate_dir.display()),
    }
}

/// Every use of a ruled crate outside its allowed places, in file then line order. `src` is
/// the crate's `src/` directory.
pub fn check(src: &Path, rules: &[Rule]) -> io::Result<Vec<Violation>> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    files.sort();
    let crate_root = src.parent().unwrap_or(src);
    let mut violations = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let relative = relative.to_string_lossy().replace('\\', "/");
        let text = fs::read_to_string(&file)?;
        let mut in_block_comment = false;
        for (index, line) in text.lines().enumerate() {
            let code = code_of(line, &mut in_block_comment);
            for rule in rules {
                if !is_allowed(&relative, rule.allowed) && names_crate(&code, rule.krate) {
                    violations.push(Violation {
                        file: file.strip_prefix(crate_root).unwrap_or(&file).to_path_buf(),
                        line: index + 1,
                        krate: rule.krate,
                        allowed: rule.allowed,
                        text: line.trim().to_owned(),
                    });
                }
            }
        }
    }
    Ok(violations)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn is_allowed(relative: &str, allowed: &[&str]) -> bool {
    allowed.iter().any(|place| {
        if place.ends_with('/') {
            relative.starts_with(place)
        } else {
            relative == *place
        }
    })
}

/// The line without its comments and the contents of its string literals (a block comment
/// may span lines: `in_block_comment` carries that state).
fn code_of(line: &str, in_block_comment: &mut bool) -> String {
    let mut code = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if *in_block_comment {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                *in_block_comment = false;
            }
            continue;
        }
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_string = false;
                    code.push('"');
                }
                _ => {}
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                *in_block_comment = true;
            }
            '"' => {
                in_string = true;
                code.push('"');
            }
            _ => code.push(c),
        }
    }
    code
}

/// Whether `code` holds the identifier `krate`, or one that starts with `krate_`.
fn names_crate(code: &str, krate: &str) -> bool {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|ident| {
            ident == krate
                || ident
                    .strip_prefix(krate)
                    .is_some_and(|rest| rest.starts_with('_'))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const RULES: &[Rule] = &service_layers(&[]);

    fn scan(files: &[(&str, &str)]) -> Vec<String> {
        let dir = std::env::temp_dir().join(format!("boundaries-{}", uuid::Uuid::new_v4()));
        let src = dir.join("src");
        for (path, text) in files {
            let path = src.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let found = check(&src, RULES).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        found.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_driver_in_its_own_layer_passes() {
        let found = scan(&[
            ("grpc/mod.rs", "use proto::tonic::Status;\n"),
            ("startup.rs", "use proto::tonic::transport::Server;\n"),
            (
                "db/clients.rs",
                "use diesel::prelude::*;\nuse diesel_async::RunQueryDsl;\n",
            ),
            ("nats/mod.rs", "async fn f(c: async_nats::Client) {}\n"),
        ]);
        assert_eq!(found, Vec::<String>::new());
    }

    #[test]
    fn a_driver_outside_its_layer_is_named_with_file_and_line() {
        let found = scan(&[(
            "engine/mod.rs",
            "//! no diesel here\nuse crate::db;\nuse diesel::Connection;\n",
        )]);
        assert_eq!(
            found,
            ["src/engine/mod.rs:3: uses diesel outside db/: `use diesel::Connection;`"]
        );
    }

    #[test]
    fn sibling_crates_of_a_driver_count_as_the_driver() {
        let found = scan(&[(
            "http.rs",
            "let (r, s) = tonic_health::server::health_reporter();\n",
        )]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("src/http.rs:1: uses tonic"),
            "{found:?}"
        );
    }

    #[test]
    fn comments_strings_and_longer_words_are_not_uses() {
        let found = scan(&[(
            "domain.rs",
            "// diesel, tonic\n/* async_nats\n diesel */ let a = \"diesel tonic\";\nlet dieselish = 1; let x_tonic = 2;\n",
        )]);
        assert_eq!(found, Vec::<String>::new());
    }
}
