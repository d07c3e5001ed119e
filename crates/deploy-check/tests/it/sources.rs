//! What a binary reads from its environment, found in its sources rather than by running it:
//! clap's `env = "NAME"` (with the `default_value` beside it), `std::env::var("NAME")`,
//! `RUST_LOG` where tracing's `EnvFilter` reads its default variable, and the
//! `crm_db::Database::env_var()` names where a crate asks crm-db for them.
//!
//! A binary's sources are its own crate's and those of the workspace crates it uses by path
//! (service-kit's telemetry reads `RUST_LOG`, its ops router has `/readyz`): of such a crate,
//! `lib.rs` and the modules the binary names (`service_kit::ops`, `use service_kit::{…}`),
//! so that a binary that uses the kit's telemetry does not seem to serve its `/readyz`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::helpers::root;

/// The environment of one binary, as its sources tell it.
#[derive(Debug)]
pub(crate) struct BinaryEnv {
    /// Every variable the binary reads.
    pub(crate) reads: BTreeSet<String>,
    /// clap arguments with an `env`: their `default_value`, if any.
    pub(crate) clap_defaults: BTreeMap<String, Option<String>>,
    /// The concatenated sources, for checks of routes and the like.
    pub(crate) text: String,
}

impl BinaryEnv {
    /// The clap variables that name a listen address (`*_ADDR`), with their defaults.
    pub(crate) fn listen_vars(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.clap_defaults
            .iter()
            .filter(|(name, _)| name.ends_with("_ADDR"))
            .map(|(name, default)| (name.as_str(), default.as_deref()))
    }
}

/// The directory of the crate whose binary is `binary` (`crates/<binary>` or `<binary>`): it
/// must have `src/main.rs` and be the package of that name, so the binary is named after it.
pub(crate) fn crate_dir(binary: &str) -> PathBuf {
    let candidates = [root().join("crates").join(binary), root().join(binary)];
    let dir = candidates
        .iter()
        .find(|dir| dir.join("src/main.rs").is_file())
        .unwrap_or_else(|| panic!("no crate with src/main.rs for the binary `{binary}`"));
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!("name = \"{binary}\"")),
        "{} is not the package `{binary}`",
        dir.display()
    );
    dir.clone()
}

/// What `binary` reads, from every `.rs` file under its crate's `src/` and the parts of the
/// workspace crates it uses (see the module's documentation).
pub(crate) fn binary_env(binary: &str) -> BinaryEnv {
    let dir = crate_dir(binary);
    let mut files = Vec::new();
    rust_files(&dir.join("src"), &mut files);
    let used = used_workspace_sources(&dir, files.clone());
    let text = read_all(&used);

    // A library's clap struct is read only if the binary parses it (xtask builds the
    // services' `Config`s by hand): clap attributes count in the binary's own crate, and in
    // the `clap::Args` structs of the crates it uses when its own sources flatten one
    // (`#[command(flatten)]`, as both services do with the kit's `AuthConfig`).
    let mut clap_files = files.clone();
    if read_all(&files).contains("command(flatten)") {
        clap_files.extend(
            used.iter()
                .filter(|f| !files.contains(f))
                .filter(|f| fs::read_to_string(f).unwrap().contains("clap::Args"))
                .cloned(),
        );
    }
    let own = read_all(&clap_files);
    let mut clap_defaults = BTreeMap::new();
    for attr in attributes(&own) {
        for name in assigned(attr, "env") {
            let default = assigned(attr, "default_value").into_iter().next();
            clap_defaults.insert(name, default);
        }
    }
    let mut reads: BTreeSet<String> = clap_defaults.keys().cloned().collect();
    for call in ["env::var(\"", "env::var_os(\"", ".env(\""] {
        reads.extend(literals_after(&text, call));
    }
    if text.contains("from_default_env") {
        // tracing_subscriber::EnvFilter::DEFAULT_ENV
        reads.insert("RUST_LOG".to_owned());
    }
    if text.contains(".env_var()") {
        reads.extend(crm_db_env_vars());
    }
    BinaryEnv {
        reads,
        clap_defaults,
        text,
    }
}

/// `files` (a binary crate's own sources) and, transitively, the sources they use of the
/// workspace crates their crate depends on by path: each such crate's `lib.rs` and every
/// top-level module of it that the sources gathered so far name.
fn used_workspace_sources(dir: &Path, mut files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut crates: BTreeMap<String, PathBuf> = path_dependencies(dir);
    let mut taken: BTreeSet<PathBuf> = files.iter().cloned().collect();
    loop {
        let text = read_all(&files);
        let mut more = Vec::new();
        for (lib, dep) in &crates {
            let src = dep.join("src");
            let named = modules_named(&text, lib);
            if named.is_empty() {
                continue;
            }
            let mut candidates = vec![src.join("lib.rs")];
            for module in named {
                candidates.push(src.join(format!("{module}.rs")));
                if src.join(&module).is_dir() {
                    rust_files(&src.join(&module), &mut candidates);
                }
            }
            more.extend(
                candidates
                    .into_iter()
                    .filter(|f| f.is_file() && !taken.contains(f)),
            );
        }
        if more.is_empty() {
            return files;
        }
        for file in more {
            taken.insert(file.clone());
            files.push(file);
        }
        let deps: Vec<PathBuf> = crates.values().cloned().collect();
        for dep in deps {
            crates.extend(path_dependencies(&dep));
        }
    }
}

/// The workspace crates in the `[dependencies]` of the crate in `dir` (not dev- or build-
/// dependencies): library name (`service_kit`) → crate directory. A dependency is one either
/// with a `path`, or `workspace = true` where the root's `[workspace.dependencies]` gives one.
fn path_dependencies(dir: &Path) -> BTreeMap<String, PathBuf> {
    let workspace_paths: BTreeMap<String, String> = table_lines(
        &fs::read_to_string(root().join("Cargo.toml")).unwrap(),
        "[workspace.dependencies]",
    )
    .into_iter()
    .filter_map(|(name, value)| Some((name, assigned(&value, "path").into_iter().next()?)))
    .collect();
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    table_lines(&manifest, "[dependencies]")
        .into_iter()
        .filter_map(|(name, value)| {
            let path = match assigned(&value, "path").into_iter().next() {
                Some(path) => dir.join(path),
                None if value.contains("workspace = true") => {
                    root().join(workspace_paths.get(&name)?)
                }
                None => return None,
            };
            Some((name.replace('-', "_"), path))
        })
        .collect()
}

/// The `name = value` lines of a TOML table (`name.workspace = true` reads as name `name`,
/// value `workspace = true`).
fn table_lines(manifest: &str, header: &str) -> Vec<(String, String)> {
    let Some(start) = manifest.find(&format!("\n{header}\n")) else {
        return Vec::new();
    };
    manifest[start + header.len() + 2..]
        .lines()
        .take_while(|line| !line.starts_with('['))
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            let key = key.trim();
            Some(match key.split_once('.') {
                Some((name, field)) => (name.to_owned(), format!("{field} ={value}")),
                None => (key.to_owned(), value.trim().to_owned()),
            })
        })
        .collect()
}

/// The top-level items `text` names in the crate `lib`: `lib::module`, or each first name of
/// `lib::{a, b::{c, d}}` (`a`, `b`). Not every one is a module; callers look for the file.
fn modules_named(text: &str, lib: &str) -> BTreeSet<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let first_ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|&c| is_ident(c))
            .collect()
    };
    let prefix = format!("{lib}::");
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices(&prefix) {
        if text[..at].ends_with(is_ident) {
            continue;
        }
        let rest = &text[at + prefix.len()..];
        let Some(group) = rest.strip_prefix('{') else {
            out.insert(first_ident(rest));
            continue;
        };
        // The items of the group are separated by the commas outside nested braces.
        let mut depth = 0;
        let mut item_start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    out.insert(first_ident(&group[item_start..i]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.insert(first_ident(&group[item_start..i]));
                    item_start = i + 1;
                }
                _ => {}
            }
        }
    }
    out.retain(|name| !name.is_empty() && name != "self");
    out
}

fn read_all(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| fs::read_to_string(f).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names `crm_db::Database::env_var` returns, from the body of that function.
pub(crate) fn crm_db_env_vars() -> BTreeSet<String> {
    let lib = fs::read_to_string(root().join("crates/crm-db/src/lib.rs")).unwrap();
    let start = lib.find("fn env_var").expect("crm-db has no `fn env_var`");
    let body = &lib[start..];
    let body = &body[..body[1..].find("fn ").map_or(body.len(), |at| at + 1)];
    let names: BTreeSet<String> = string_literals(body)
        .into_iter()
        .filter(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        })
        .collect();
    assert!(
        !names.is_empty(),
        "no variable names in crm-db's `fn env_var`"
    );
    names
}

/// The root-level entries (e.g. `proto`, `migrations`) that the build scripts and sources of
/// the crate in `dir` reach with `../` paths.
pub(crate) fn root_paths_reached_from(dir: &Path) -> BTreeSet<String> {
    let depth = dir.strip_prefix(root()).unwrap().components().count();
    let mut files = Vec::new();
    rust_files(&dir.join("src"), &mut files);
    if dir.join("build.rs").is_file() {
        files.push(dir.join("build.rs"));
    }
    let mut out = BTreeSet::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for literal in string_literals(&text) {
            let mut rest = literal.as_str();
            let mut ups = 0;
            while let Some(r) = rest.strip_prefix("../") {
                ups += 1;
                rest = r;
            }
            if ups == depth
                && let Some(first) = rest.split('/').next().filter(|s| !s.is_empty())
            {
                out.insert(first.to_owned());
            }
        }
    }
    out
}

/// The workspace members listed in the root `Cargo.toml`.
pub(crate) fn workspace_members() -> Vec<String> {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let start = manifest
        .find("members = [")
        .expect("no `members = [` in Cargo.toml");
    let list = &manifest[start..];
    let list = &list[..list.find(']').unwrap()];
    string_literals(list)
}

/// The workspace's `rust-version` (major, minor).
pub(crate) fn workspace_rust_version() -> (u32, u32) {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("rust-version"))
        .expect("no rust-version in Cargo.toml");
    let version = string_literals(line).pop().unwrap();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap_or(0))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The insides of every `#[arg(…)]` and `#[clap(…)]` attribute.
fn attributes(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for opener in ["#[arg(", "#[clap("] {
        let mut from = 0;
        while let Some(at) = text[from..].find(opener) {
            let start = from + at + opener.len();
            let len = balanced(&text[start..]);
            out.push(&text[start..start + len]);
            from = start + len;
        }
    }
    out
}

/// The length of `text` up to the `)` that closes an already open parenthesis, skipping
/// string literals.
fn balanced(text: &str) -> usize {
    let mut depth = 1;
    let mut in_string = false;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return at;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// The string values of `key = "…"` in `text`, `key` standing alone (so `env` does not match
/// `hide_env_values`, nor `default_value` match `default_value_t`).
fn assigned(text: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (at, _) in text.match_indices(key) {
        if text[..at].ends_with(is_ident) {
            continue;
        }
        let rest = &text[at + key.len()..];
        if rest.starts_with(is_ident) {
            continue;
        }
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        if let Some(rest) = rest.trim_start().strip_prefix('"') {
            out.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    out
}

/// The string literal that starts right after each `prefix` (which ends with `"`).
fn literals_after(text: &str, prefix: &str) -> Vec<String> {
    text.match_indices(prefix)
        .map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// Every plain `"…"` string literal in `text` (escapes are kept as written).
fn string_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let body = &rest[start + 1..];
        let mut escaped = false;
        let Some(end) = body.char_indices().find_map(|(at, c)| {
            let closes = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closes.then_some(at)
        }) else {
            break;
        };
        out.push(body[..end].to_owned());
        rest = &body[end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_attributes_yield_their_variable_and_default() {
        let text = r#"
            #[arg(long, env = "A_ADDR", default_value = "0.0.0.0:1")]
            #[arg(long, env = "B", hide_env_values = true, value_parser = clap::value_parser!(u16).range(1..=5))]
            #[arg(long, env="C", default_value_t = 3)]
            #[clap(long, env = "D", default_value = "x)y")]
        "#;
        let found: BTreeMap<String, Option<String>> = attributes(text)
            .into_iter()
            .flat_map(|a| {
                let default = assigned(a, "default_value").into_iter().next();
                assigned(a, "env")
                    .into_iter()
                    .map(move |n| (n, default.clone()))
            })
            .collect();
        assert_eq!(
            found,
            BTreeMap::from([
                ("A_ADDR".to_owned(), Some("0.0.0.0:1".to_owned())),
                ("B".to_owned(), None),
                ("C".to_owned(), None),
                ("D".to_owned(), Some("x)y".to_owned())),
            ])
        );
    }

    #[test]
    fn a_binary_reads_the_kit_modules_it_uses_and_only_those() {
        for binary in ["client-core", "sync-service", "winleadplus-sim"] {
            let env = binary_env(binary);
            assert!(env.reads.contains("RUST_LOG"), "{binary}: {:?}", env.reads);
            assert!(
                env.reads.contains("LOG_FORMAT"),
                "{binary}: {:?}",
                env.reads
            );
        }
        assert!(binary_env("client-core").text.contains("\"/readyz\""));
        // The simulator uses the kit's telemetry and shutdown, not its ops router.
        assert!(!binary_env("winleadplus-sim").text.contains("\"/readyz\""));
    }

    #[test]
    fn modules_are_named_by_paths_and_use_groups() {
        let check = |text: &str, expected: &[&str]| {
            let found = modules_named(text, "service_kit");
            let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(found, expected, "{text}");
        };
        check("use service_kit::ops::{Check, Ops};", &["ops"]);
        check(
            "use service_kit::{shutdown, telemetry};",
            &["shutdown", "telemetry"],
        );
        check(
            "use service_kit::{ops::{self, Check}, grpc::GrpcServer, self};",
            &["ops", "grpc"],
        );
        check("service_kit::telemetry::init(f)", &["telemetry"]);
        check("my_service_kit::ops::x; service_kit_other::y", &[]);
    }

    #[test]
    fn string_literals_skip_escaped_quotes() {
        assert_eq!(string_literals(r#"a("x\"y", "z") "#), [r#"x\"y"#, "z"]);
    }
}
