//! Fingerprints the migration folders so that `testing` can name its template databases after
//! their exact content (a changed `up.sql` gets a new template), and rebuilds the crate, hence
//! re-runs `embed_migrations!`, whenever a migration is added, removed or edited.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

fn main() -> io::Result<()> {
    for (kind, env) in [
        ("core", "CRM_DB_CORE_MIGRATIONS_HASH"),
        ("commercial", "CRM_DB_COMMERCIAL_MIGRATIONS_HASH"),
    ] {
        let dir = Path::new("../../migrations").join(kind);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        collect_files(&dir, &mut files)?;
        files.sort();
        let mut hash = Fnv1a::new();
        for file in &files {
            let relative = file.strip_prefix(&dir).unwrap_or(file);
            hash.write(relative.to_string_lossy().as_bytes());
            hash.write(&[0]);
            hash.write(&fs::read(file)?);
            hash.write(&[0]);
        }
        println!("cargo:rustc-env={env}={:016x}", hash.finish());
    }
    Ok(())
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// 64-bit FNV-1a: tiny, stable across Rust versions (unlike `DefaultHasher`), good enough to
/// tell migration sets apart.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
