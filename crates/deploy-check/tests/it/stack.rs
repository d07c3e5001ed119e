//! The compose file and its env file against the services' own configuration (what each
//! binary reads, where it listens) and the runtime contract of ARCHITECTURE.md.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use base64::Engine;
use url::Url;

use crate::compose::{Compose, Service, socket_addr};
use crate::helpers::deploy;
use crate::sources::{self, BinaryEnv};

/// The published ports of ARCHITECTURE.md, "Runtime contract".
const CONTRACT_PORTS: [(&str, &[u16]); 3] = [
    ("client-core", &[50052, 8081]),
    ("sync-service", &[50053, 8083]),
    ("winleadplus-sim", &[8090]),
];

/// The database each URL variable names (ARCHITECTURE.md, "Runtime contract").
const DATABASES: [(&str, &str); 2] = [
    ("CORE_DATABASE_URL", "crm_core"),
    ("COMMERCIAL_DATABASE_URL", "crm_commercial"),
];

#[test]
fn every_service_but_the_one_shot_migrate_has_a_healthcheck() {
    let d = deploy();
    let one_shots: BTreeSet<&str> = d
        .compose
        .services
        .iter()
        .filter(|(_, s)| s.restart() == Some("no"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        one_shots,
        BTreeSet::from(["migrate"]),
        "services with restart: \"no\""
    );
    for (name, service) in &d.compose.services {
        if !one_shots.contains(name.as_str()) {
            assert!(
                service.has_healthcheck(),
                "service `{name}` has no healthcheck"
            );
        }
    }
}

#[test]
fn migrate_runs_once_before_client_core_and_sync_service() {
    let d = deploy();
    let migrate = d.compose.service("migrate");
    assert_eq!(migrate.restart(), Some("no"));
    assert_eq!(
        migrate.command.as_deref(),
        Some(["xtask".to_owned(), "migrate".to_owned()].as_slice())
    );
    assert!(
        sources::binary_env("xtask").text.contains("Task::Migrate"),
        "xtask has no `migrate` task"
    );
    assert_eq!(condition(migrate, "migrate", "postgres"), "service_healthy");
    for name in ["client-core", "sync-service"] {
        assert_eq!(
            condition(d.compose.service(name), name, "migrate"),
            "service_completed_successfully",
            "{name} must wait for the migrations"
        );
    }
}

#[test]
fn dependencies_wait_for_health_or_completion() {
    let d = deploy();
    for (name, service) in &d.compose.services {
        for (target, dependency) in &service.depends_on {
            let other = d.compose.services.get(target).unwrap_or_else(|| {
                panic!("service `{name}` depends on `{target}`, which is not a service")
            });
            match dependency.condition.as_str() {
                "service_healthy" => assert!(
                    other.has_healthcheck(),
                    "`{name}` waits for `{target}` to be healthy, but it has no healthcheck"
                ),
                "service_completed_successfully" => assert_eq!(
                    other.restart(),
                    Some("no"),
                    "`{name}` waits for `{target}` to complete, but it restarts"
                ),
                "service_started" => {}
                other => panic!("`{name}` → `{target}`: unknown condition {other:?}"),
            }
        }
    }
    let c = &d.compose;
    assert_eq!(
        condition(c.service("client-core"), "client-core", "nats"),
        "service_healthy"
    );
    assert_eq!(
        condition(c.service("client-core"), "client-core", "postgres"),
        "service_healthy"
    );
    assert_eq!(
        condition(c.service("sync-service"), "sync-service", "nats"),
        "service_healthy"
    );
    assert_eq!(
        condition(c.service("sync-service"), "sync-service", "client-core"),
        "service_healthy",
        "sync-service's first sync needs client-core to answer create requests"
    );
}

#[test]
fn the_sources_show_the_variables_of_the_runtime_contract() {
    // Guards the source scanner itself: if it stopped finding these, the next test would
    // pass for the wrong reason or fail for one.
    let expected: [(&str, &[&str]); 4] = [
        (
            "client-core",
            &[
                "CORE_GRPC_ADDR",
                "CORE_HTTP_ADDR",
                "CORE_DATABASE_URL",
                "NATS_URL",
                "LOG_FORMAT",
                "RUST_LOG",
            ],
        ),
        (
            "sync-service",
            &[
                "SYNC_GRPC_ADDR",
                "SYNC_HTTP_ADDR",
                "COMMERCIAL_DATABASE_URL",
                "NATS_URL",
                "WINLEADPLUS_API_URL",
                "WINLEADPLUS_API_TOKEN",
                "SYNC_CRON",
                "SYNC_TIMEZONE",
                "TOKEN_ENCRYPTION_KEY",
                "LOG_FORMAT",
                "RUST_LOG",
            ],
        ),
        (
            "winleadplus-sim",
            &[
                "SIM_ADDR",
                "SIM_TOKEN",
                "SIM_DATA",
                "SIM_GENERATE",
                "SIM_SEED",
                "LOG_FORMAT",
                "RUST_LOG",
            ],
        ),
        ("xtask", &["CORE_DATABASE_URL", "COMMERCIAL_DATABASE_URL"]),
    ];
    for (binary, names) in expected {
        let reads = sources::binary_env(binary).reads;
        let missing: Vec<_> = names.iter().filter(|n| !reads.contains(**n)).collect();
        assert!(
            missing.is_empty(),
            "`{binary}`: {missing:?} not found in its sources"
        );
    }
}

#[test]
fn every_grpc_service_is_told_how_to_authenticate_its_callers() {
    let d = deploy();
    for name in ["client-core", "sync-service"] {
        let env = d.compose.service(name).env(name);
        let set = |var: &str| env.get(var).is_some_and(|v| !v.trim().is_empty());
        assert!(
            set("AUTH_JWT_SECRET") || set("AUTH_JWKS_URL"),
            "service `{name}` gets neither AUTH_JWT_SECRET nor AUTH_JWKS_URL: it would refuse to start"
        );
        assert!(
            !env.contains_key("AUTH_DISABLED"),
            "service `{name}` must not switch authentication off in the stack"
        );
    }
}

#[test]
fn every_variable_a_service_gets_is_one_its_binary_reads() {
    let d = deploy();
    for (name, service, binary) in d.compose.app_services() {
        let reads = sources::binary_env(binary).reads;
        let unknown: Vec<String> = service
            .env(name)
            .into_keys()
            .filter(|k| !reads.contains(k))
            .collect();
        assert!(
            unknown.is_empty(),
            "service `{name}` sets {unknown:?}, which `{binary}` never reads; it reads {reads:?}"
        );
    }
}

#[test]
fn published_ports_are_those_of_the_runtime_contract() {
    let d = deploy();
    for (name, ports) in CONTRACT_PORTS {
        let published = d.compose.service(name).published(name);
        let containers: BTreeSet<u16> = published.iter().map(|p| p.container).collect();
        assert_eq!(
            containers,
            ports.iter().copied().collect(),
            "service `{name}`"
        );
        for port in &published {
            assert_eq!(
                port.host,
                Some(port.container),
                "service `{name}`: {port:?} is published on another host port than the contract's"
            );
            assert_eq!(
                port.host_ip.as_deref(),
                Some("127.0.0.1"),
                "service `{name}`: {port:?} must be bound to 127.0.0.1 (the stack has public dev secrets)"
            );
        }
    }
}

#[test]
fn services_listen_on_every_interface_at_their_published_ports() {
    let d = deploy();
    for (name, service, _) in d.compose.app_services() {
        let published: BTreeSet<u16> = service
            .published(name)
            .iter()
            .map(|p| p.container)
            .collect();
        assert_eq!(
            published,
            listen_ports(&d.compose, name),
            "service `{name}`: published container ports vs the ports its binary listens on"
        );
    }
}

#[test]
fn healthchecks_probe_each_service_over_http() {
    let d = deploy();
    for (name, service, binary) in d.compose.app_services() {
        let Some(check) = &service.healthcheck else {
            continue;
        };
        let source = sources::binary_env(binary);
        assert_eq!(
            check.test.first().map(String::as_str),
            Some("CMD"),
            "service `{name}`"
        );
        assert_eq!(
            check.test.get(1).map(String::as_str),
            Some("curl"),
            "service `{name}`"
        );
        let url = check
            .test
            .iter()
            .find_map(|w| Url::parse(w).ok().filter(|u| u.scheme() == "http"))
            .unwrap_or_else(|| panic!("service `{name}`: no http URL in {:?}", check.test));
        assert!(
            matches!(url.host_str(), Some("127.0.0.1" | "localhost")),
            "service `{name}`: the healthcheck runs inside the container: {url}"
        );
        let port = url.port().unwrap_or(80);
        assert!(
            listen_ports(&d.compose, name).contains(&port),
            "service `{name}`: the healthcheck probes port {port}, where `{binary}` does not listen"
        );
        let path = url.path();
        assert!(
            source.text.contains(&format!("\"{path}\"")),
            "service `{name}`: `{binary}` has no route {path}"
        );
        if source.text.contains("\"/readyz\"") {
            assert_eq!(
                path, "/readyz",
                "service `{name}`: `{binary}` has /readyz (PostgreSQL and NATS answer); the healthcheck should use it"
            );
        }
    }
}

#[test]
fn every_compose_variable_is_defined_in_env_example_and_every_definition_is_used() {
    let d = deploy();
    let defined: BTreeSet<String> = d.env.vars.keys().cloned().collect();
    let undefined: Vec<_> = d.referenced.difference(&defined).collect();
    assert!(
        undefined.is_empty(),
        "not in deploy/.env.example: {undefined:?}"
    );
    let unused: Vec<_> = defined.difference(&d.referenced).collect();
    assert!(
        unused.is_empty(),
        "deploy/.env.example defines {unused:?}, which deploy/docker-compose.yml never uses"
    );
}

#[test]
fn values_are_ones_the_services_accept() {
    let d = deploy();
    for (name, service, _) in d.compose.app_services() {
        for (key, value) in service.env(name) {
            let what = format!("service `{name}`: {key}={value:?}");
            match key.as_str() {
                "TOKEN_ENCRYPTION_KEY" => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(value.trim())
                        .unwrap_or_else(|e| panic!("{what} is not base64: {e}"));
                    assert_eq!(bytes.len(), 32, "{what} must decode to 32 bytes");
                }
                "SYNC_CRON" => {
                    cron::Schedule::from_str(&value)
                        .unwrap_or_else(|e| panic!("{what} is not a cron with seconds: {e}"));
                }
                "SYNC_TIMEZONE" => {
                    chrono_tz::Tz::from_str(&value)
                        .unwrap_or_else(|e| panic!("{what} is not a time zone: {e}"));
                }
                "LOG_FORMAT" => assert!(
                    ["auto", "json", "pretty"].contains(&value.as_str()),
                    "{what} is not auto, json or pretty"
                ),
                "SIM_GENERATE" | "SIM_SEED" => {
                    value
                        .parse::<u64>()
                        .unwrap_or_else(|e| panic!("{what} is not a number: {e}"));
                }
                "SIM_ADMIN_ANYWHERE" => {
                    assert!(
                        ["true", "false"].contains(&value.as_str()),
                        "{what} is not a bool"
                    );
                }
                k if k.ends_with("_ADDR") => {
                    socket_addr(k, &value);
                }
                _ => {}
            }
        }
    }
    let sync = d.compose.service("sync-service").env("sync-service");
    for key in ["SYNC_CRON", "SYNC_TIMEZONE", "TOKEN_ENCRYPTION_KEY"] {
        assert!(
            sync.contains_key(key),
            "sync-service must set {key} explicitly"
        );
    }
}

#[test]
fn urls_point_at_compose_services_with_matching_credentials() {
    let d = deploy();
    let postgres = d.compose.service("postgres").env("postgres");
    let mut seen = BTreeSet::new();
    for (name, service, _) in d.compose.app_services() {
        for (key, value) in service.env(name) {
            let Ok(url) = Url::parse(&value) else {
                continue;
            };
            let Some(host) = url.host_str() else {
                continue;
            };
            let what = format!("service `{name}`: {key}");
            match url.scheme() {
                "postgres" | "postgresql" => {
                    assert_eq!(host, "postgres", "{what}");
                    assert_eq!(url.port().unwrap_or(5432), 5432, "{what}");
                    assert_eq!(url.username(), postgres["POSTGRES_USER"], "{what}: user");
                    assert_eq!(
                        url.password(),
                        Some(postgres["POSTGRES_PASSWORD"].as_str()),
                        "{what}: password"
                    );
                    let (_, database) = DATABASES
                        .iter()
                        .find(|(var, _)| *var == key)
                        .unwrap_or_else(|| panic!("{what}: which database is this?"));
                    assert_eq!(url.path(), format!("/{database}"), "{what}");
                }
                "nats" => {
                    assert_eq!(host, "nats", "{what}");
                    assert_eq!(url.port().unwrap_or(4222), 4222, "{what}");
                }
                "http" | "https" => {
                    assert!(
                        d.compose.services.contains_key(host),
                        "{what}: `{host}` is not a service"
                    );
                    let port = url.port_or_known_default().unwrap();
                    assert!(
                        listen_ports(&d.compose, host).contains(&port),
                        "{what}: `{host}` does not listen on {port}"
                    );
                }
                _ => continue,
            }
            seen.insert(key);
        }
    }
    for key in [
        "CORE_DATABASE_URL",
        "COMMERCIAL_DATABASE_URL",
        "NATS_URL",
        "WINLEADPLUS_API_URL",
    ] {
        assert!(seen.contains(key), "no service got {key}");
    }
}

#[test]
fn the_simulator_is_reachable_and_sync_service_points_at_it() {
    let d = deploy();
    let sim = d.compose.service("winleadplus-sim").env("winleadplus-sim");
    assert_eq!(
        sim.get("SIM_ADDR").map(String::as_str),
        Some("0.0.0.0:8090")
    );
    assert_eq!(sim.get("SIM_GENERATE").map(String::as_str), Some("2000"));
    assert!(
        sim.get("SIM_TOKEN").is_some_and(|t| !t.is_empty()),
        "SIM_TOKEN"
    );
    let sync = d.compose.service("sync-service").env("sync-service");
    assert_eq!(
        sync.get("WINLEADPLUS_API_URL").map(String::as_str),
        Some("http://winleadplus-sim:8090/api/prospects")
    );
}

#[test]
fn the_dev_secrets_say_so_and_how_to_make_a_real_key() {
    let d = deploy();
    let head: String = d.env_text.lines().take(5).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("DEV ONLY"),
        "deploy/.env.example must open with DEV ONLY"
    );
    let doc = d.env.comments["AUTH_JWT_SECRET"].join(" ");
    assert!(doc.contains("DEV ONLY"), "AUTH_JWT_SECRET: {doc}");
    let doc = d.env.comments["TOKEN_ENCRYPTION_KEY"].join(" ");
    assert!(doc.contains("DEV ONLY"), "TOKEN_ENCRYPTION_KEY: {doc}");
    assert!(
        doc.contains("openssl rand -base64 32"),
        "TOKEN_ENCRYPTION_KEY: {doc}"
    );
}

/// The ports the binary of service `name` listens on there: each `*_ADDR` clap variable, from
/// the service's environment or else the binary's default. Every one must be an unspecified
/// address, the only kind the other containers and the published port reach.
fn listen_ports(compose: &Compose, name: &str) -> BTreeSet<u16> {
    let service = compose.service(name);
    let binary = service.binary(name);
    let source: BinaryEnv = sources::binary_env(binary);
    let env: BTreeMap<String, String> = service.env(name);
    source
        .listen_vars()
        .map(|(var, default)| {
            let value = env
                .get(var)
                .map(String::as_str)
                .or(default)
                .unwrap_or_else(|| panic!("service `{name}`: `{var}` has no value and no default"));
            let addr = socket_addr(var, value);
            assert!(
                addr.ip().is_unspecified(),
                "service `{name}`: {var}={value}: in a container only 0.0.0.0 (or [::]) is reachable \
                 from the other containers and the published port"
            );
            addr.port()
        })
        .collect()
}

fn condition<'a>(service: &'a Service, name: &str, target: &str) -> &'a str {
    service
        .depends_on
        .get(target)
        .map(|d| d.condition.as_str())
        .unwrap_or_else(|| panic!("service `{name}` does not depend on `{target}`"))
}
