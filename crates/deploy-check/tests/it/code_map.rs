//! ARCHITECTURE.md's code map against the directories, so that it stays the map of the code
//! as it is: every workspace crate has its section, every top-level module of its `src/` is
//! named there, and every file or directory a section names exists.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::helpers::{read, root};

/// The `### ` sections of `## Code map`: heading line → text.
fn sections() -> Vec<(String, String)> {
    let doc = read("ARCHITECTURE.md");
    let start = doc
        .find("\n## Code map\n")
        .expect("ARCHITECTURE.md has a Code map");
    let rest = &doc[start + 1..];
    let body = &rest[..rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3)];
    body.split("\n### ")
        .skip(1)
        .map(|s| {
            let (heading, text) = s.split_once('\n').unwrap_or((s, ""));
            (heading.to_owned(), text.to_owned())
        })
        .collect()
}

/// The workspace members of the root `Cargo.toml`.
fn members() -> Vec<String> {
    let manifest = read("Cargo.toml");
    let start = manifest.find("members = [").expect("a members list");
    let list = &manifest[start..manifest[start..].find(']').map(|i| start + i).unwrap()];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The top-level modules of `src/`: file stems and directory names (but `lib`, the crate
/// itself, which its paragraph describes).
fn modules(src: &Path) -> BTreeSet<String> {
    fs::read_dir(src)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            if path.is_dir() {
                Some(path.file_name()?.to_str()?.to_owned())
            } else if path.extension().is_some_and(|e| e == "rs") {
                Some(path.file_stem()?.to_str()?.to_owned())
            } else {
                None
            }
        })
        .filter(|name| name != "lib")
        .collect()
}

/// Whether a file or directory called `name` exists under `dir`, at any depth.
fn exists_below(dir: &Path, name: &str) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let path = entry.path();
            path.file_name().is_some_and(|n| n == name)
                || (path.is_dir() && !path.ends_with("target") && exists_below(&path, name))
        })
    })
}

#[test]
fn every_crate_and_every_top_level_module_is_on_the_code_map() {
    let sections = sections();
    let mut missing = Vec::new();
    for member in members() {
        let Some((_, text)) = sections.iter().find(|(heading, _)| {
            heading.contains(&format!("`{member}`")) || heading.contains(&format!("`{member}/`"))
        }) else {
            missing.push(format!("no section for `{member}`"));
            continue;
        };
        for module in modules(&root().join(&member).join("src")) {
            if !text.contains(&format!("`{module}`")) && !text.contains(&format!("`{module}/`")) {
                missing.push(format!("`{member}`: module `{module}` is not named"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_file_the_code_map_names_exists() {
    let members = members();
    let mut unknown = Vec::new();
    for (heading, text) in sections() {
        let dirs: Vec<_> = members
            .iter()
            .filter(|m| heading.contains(&format!("`{m}")))
            .map(|m| root().join(m))
            .collect();
        for token in text.split('`').skip(1).step_by(2) {
            let name = token.trim_end_matches('/');
            let is_path = token.ends_with(".rs") || (token.ends_with('/') && !token.contains(' '));
            if !is_path || name.is_empty() {
                continue;
            }
            let leaf = name.rsplit('/').next().unwrap_or(name);
            let found =
                root().join(name).exists() || dirs.iter().any(|dir| exists_below(dir, leaf));
            if !found {
                unknown.push(format!("{heading}: `{token}` does not exist"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "ARCHITECTURE.md's code map:\n{}",
        unknown.join("\n")
    );
}
