//! `deploy/Dockerfile` against the workspace (what the build needs, which binaries exist) and
//! the compose file (which binaries and healthcheck tools the services use).

use std::collections::BTreeSet;

use crate::dockerfile::Stage;
use crate::helpers::{deploy, root};
use crate::sources;

#[test]
fn the_runtime_stage_runs_as_a_non_root_user() {
    let d = deploy();
    let runtime = d.stages.last().expect("deploy/Dockerfile has no FROM");
    let user = runtime
        .all("USER")
        .last()
        .expect("the runtime stage has no USER: the services would run as root");
    let name = user.split(':').next().unwrap_or_default();
    assert!(!["root", "0", ""].contains(&name), "USER {user}");
    assert_eq!(
        name, "10001",
        "a numeric uid, so that run-as-non-root policies can check it"
    );
    assert!(
        runtime
            .all("RUN")
            .any(|r| r.contains("useradd") && r.contains("--uid 10001")),
        "uid 10001 has no user entry"
    );
}

#[test]
fn the_builder_copies_everything_cargo_needs_and_nothing_more() {
    let d = deploy();
    let builder = builder(&d.stages);
    let copied: BTreeSet<String> = builder
        .all("COPY")
        .filter(|args| !args.starts_with("--from"))
        .flat_map(|args| {
            let words: Vec<&str> = args.split(' ').filter(|w| !w.starts_with("--")).collect();
            words[..words.len() - 1]
                .iter()
                .map(|w| w.trim_start_matches("./").trim_end_matches('/').to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    for whole in ["", ".", "target"] {
        assert!(
            !copied.contains(whole),
            "the builder copies `{whole}`: without a .dockerignore that drags target/ and more in"
        );
    }
    let mut needed = BTreeSet::from([
        "Cargo.toml".to_owned(),
        "Cargo.lock".to_owned(),
        ".cargo".to_owned(),
    ]);
    for member in sources::workspace_members() {
        needed.insert(member.split('/').next().unwrap().to_owned());
        needed.extend(sources::root_paths_reached_from(&root().join(&member)));
    }
    assert!(
        needed.contains("proto") && needed.contains("migrations"),
        "{needed:?}"
    );
    let missing: Vec<_> = needed.difference(&copied).collect();
    assert!(missing.is_empty(), "the builder does not copy {missing:?}");
}

#[test]
fn the_image_holds_every_binary_the_compose_file_runs() {
    let d = deploy();
    let builder = builder(&d.stages);
    let build = builder
        .all("RUN")
        .find(|r| r.contains("cargo build"))
        .unwrap();
    for flag in ["--release", "--locked"] {
        assert!(build.contains(flag), "cargo build without {flag}");
    }
    for mount in ["target=/usr/local/cargo/registry", "target=/src/target"] {
        assert!(
            build.contains(&format!("--mount=type=cache,{mount}")),
            "no BuildKit cache mount {mount}"
        );
    }
    let runtime = d.stages.last().unwrap();
    let builder_name = builder
        .name
        .as_deref()
        .expect("the builder stage has no name");
    assert!(
        runtime
            .all("COPY")
            .any(|c| c.starts_with(&format!("--from={builder_name} "))
                && c.ends_with(" /usr/local/bin/")),
        "the runtime stage does not copy the binaries into /usr/local/bin/"
    );
    for (name, _, binary) in d.compose.app_services() {
        sources::crate_dir(binary);
        assert!(
            build.contains(&format!("-p {binary}")),
            "service `{name}`: cargo build lacks -p {binary}"
        );
        assert!(
            build.contains(&format!("target/release/{binary}")),
            "service `{name}`: `{binary}` is not copied out of target/"
        );
    }
}

#[test]
fn the_runtime_image_has_what_the_healthchecks_run() {
    let d = deploy();
    let runtime = d.stages.last().unwrap();
    let install = runtime
        .all("RUN")
        .find(|r| r.contains("apt-get install"))
        .expect("the runtime stage installs nothing");
    for (name, service, _) in d.compose.app_services() {
        if let Some(check) = &service.healthcheck {
            let tool = &check.test[1];
            assert!(
                install.split(' ').any(|w| w == tool),
                "service `{name}`: the healthcheck runs `{tool}`, which the runtime stage does not install"
            );
        }
    }
    assert!(
        install.contains("ca-certificates"),
        "rustls needs the system roots"
    );
}

#[test]
fn the_toolchain_is_recent_enough_and_shares_the_runtime_glibc() {
    let d = deploy();
    let builder = builder(&d.stages);
    let tag = builder
        .image
        .strip_prefix("rust:")
        .unwrap_or_else(|| panic!("builder image {} is not rust:…", builder.image));
    let version: Vec<u32> = tag
        .split('-')
        .next()
        .unwrap()
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    let (major, minor) = sources::workspace_rust_version();
    let pinned_minor = version.get(1).copied();
    assert!(
        version[0] > major || (version[0] == major && pinned_minor.is_none_or(|m| m >= minor)),
        "builder {} is older than the workspace's rust-version {major}.{minor}",
        builder.image
    );
    let runtime = d.stages.last().unwrap();
    let codename = runtime
        .image
        .strip_prefix("debian:")
        .and_then(|t| t.split('-').next())
        .unwrap_or_else(|| panic!("runtime image {} is not debian:…", runtime.image));
    assert!(
        tag.ends_with(&format!("-{codename}")),
        "builder {} and runtime {} are not the same Debian release (glibc)",
        builder.image,
        runtime.image
    );
}

#[test]
fn the_compose_services_build_this_dockerfile_from_the_repository_root() {
    let d = deploy();
    let apps = d.compose.app_services();
    assert!(apps.len() >= 4, "{} app services", apps.len());
    let images: BTreeSet<_> = apps.iter().map(|(_, s, _)| s.image.clone()).collect();
    assert_eq!(
        images.len(),
        1,
        "one image for every service built here: {images:?}"
    );
    for (name, service, _) in apps {
        let build = service.build.as_ref().unwrap();
        let context = root().join("deploy").join(&build.context);
        assert_eq!(
            context.canonicalize().unwrap(),
            root(),
            "service `{name}`: the build context must be the repository root"
        );
        assert_eq!(
            build.dockerfile.as_deref(),
            Some("deploy/Dockerfile"),
            "service `{name}`"
        );
    }
}

/// The stage that runs `cargo build`.
fn builder(stages: &[Stage]) -> &Stage {
    stages
        .iter()
        .find(|s| s.all("RUN").any(|r| r.contains("cargo build")))
        .expect("no stage runs cargo build")
}
