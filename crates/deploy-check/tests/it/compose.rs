//! `deploy/docker-compose.yml` read as compose reads it: YAML, merge keys (`<<: *app`) applied,
//! every `${NAME}` substituted from the env file, then the parts the checks look at in typed
//! form. The types take one shape each (environment and `depends_on` as maps, ports in short
//! syntax, healthcheck tests as lists), so a file written otherwise fails loudly here instead
//! of slipping past a check.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use serde::Deserialize;
use serde_norway::Value;

use crate::interpolate;

/// The compose file.
#[derive(Debug, Deserialize)]
pub(crate) struct Compose {
    pub(crate) services: BTreeMap<String, Service>,
}

/// One service.
#[derive(Debug, Deserialize)]
pub(crate) struct Service {
    pub(crate) image: Option<String>,
    pub(crate) build: Option<Build>,
    pub(crate) command: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) environment: BTreeMap<String, Option<Scalar>>,
    #[serde(default)]
    pub(crate) ports: Vec<String>,
    #[serde(default)]
    pub(crate) depends_on: BTreeMap<String, Dependency>,
    pub(crate) healthcheck: Option<Healthcheck>,
    pub(crate) restart: Option<Value>,
}

/// `build:` in its long form.
#[derive(Debug, Deserialize)]
pub(crate) struct Build {
    pub(crate) context: String,
    pub(crate) dockerfile: Option<String>,
}

/// One entry of `depends_on:` in its long form.
#[derive(Debug, Deserialize)]
pub(crate) struct Dependency {
    pub(crate) condition: String,
}

/// `healthcheck:`.
#[derive(Debug, Deserialize)]
pub(crate) struct Healthcheck {
    pub(crate) test: Vec<String>,
    #[serde(default)]
    pub(crate) disable: bool,
}

/// An environment value: compose accepts any scalar and passes its text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scalar {
    Text(String),
    Number(serde_norway::Number),
    Bool(bool),
}

/// A published port in short syntax: `[ip:][host:]container[/protocol]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Port {
    pub(crate) host_ip: Option<String>,
    pub(crate) host: Option<u16>,
    pub(crate) container: u16,
}

impl Compose {
    /// Parses the compose file, substituting with `vars`. Also returns every name the file
    /// refers to; a reference to an undefined name fails here, listing all such names.
    pub(crate) fn parse(text: &str, vars: &BTreeMap<String, String>) -> (Self, BTreeSet<String>) {
        let mut value: Value = serde_norway::from_str(text)
            .unwrap_or_else(|e| panic!("deploy/docker-compose.yml is not YAML: {e}"));
        value
            .apply_merge()
            .unwrap_or_else(|e| panic!("deploy/docker-compose.yml: bad merge key: {e}"));
        let mut referenced = BTreeSet::new();
        let mut undefined = BTreeSet::new();
        substitute(&mut value, vars, &mut referenced, &mut undefined);
        assert!(
            undefined.is_empty(),
            "deploy/docker-compose.yml uses {undefined:?}, which deploy/.env.example does not define"
        );
        let compose = serde_norway::from_value(value).unwrap_or_else(|e| {
            panic!(
                "deploy/docker-compose.yml does not have the shape deploy-check reads \
                 (environment and depends_on as maps, ports as strings, healthcheck.test as a list): {e}"
            )
        });
        (compose, referenced)
    }

    /// The named service.
    pub(crate) fn service(&self, name: &str) -> &Service {
        self.services
            .get(name)
            .unwrap_or_else(|| panic!("deploy/docker-compose.yml has no service `{name}`"))
    }

    /// The services built from our Dockerfile, with the binary each one runs.
    pub(crate) fn app_services(&self) -> Vec<(&str, &Service, &str)> {
        self.services
            .iter()
            .filter(|(_, s)| s.build.is_some())
            .map(|(name, s)| (name.as_str(), s, s.binary(name)))
            .collect()
    }
}

impl Service {
    /// The binary of `command` (its first word).
    pub(crate) fn binary(&self, name: &str) -> &str {
        self.command
            .as_ref()
            .and_then(|c| c.first())
            .unwrap_or_else(|| panic!("service `{name}` has no `command` naming its binary"))
    }

    /// The environment as text; a variable without value (compose passes the host's through,
    /// which no env file documents) fails.
    pub(crate) fn env(&self, name: &str) -> BTreeMap<String, String> {
        self.environment
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Some(Scalar::Text(s)) => s.clone(),
                    Some(Scalar::Number(n)) => n.to_string(),
                    Some(Scalar::Bool(b)) => b.to_string(),
                    None => panic!(
                        "service `{name}`: `{key}` has no value, so compose would pass the host's \
                         through; give it one (from deploy/.env.example)"
                    ),
                };
                (key.clone(), value)
            })
            .collect()
    }

    /// The published ports.
    pub(crate) fn published(&self, name: &str) -> Vec<Port> {
        self.ports
            .iter()
            .map(|p| Port::parse(p).unwrap_or_else(|e| panic!("service `{name}`: port {p:?}: {e}")))
            .collect()
    }

    /// `restart` as text (`"no"`, `unless-stopped`, …).
    pub(crate) fn restart(&self) -> Option<&str> {
        self.restart.as_ref().map(|r| {
            r.as_str()
                .unwrap_or_else(|| panic!("restart: {r:?} is not a string (quote \"no\")"))
        })
    }

    /// Whether a healthcheck is defined and not disabled.
    pub(crate) fn has_healthcheck(&self) -> bool {
        self.healthcheck
            .as_ref()
            .is_some_and(|h| !h.disable && !h.test.is_empty())
    }
}

impl Port {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let spec = text.split_once('/').map_or(text, |(spec, _protocol)| spec);
        let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
        let number = |s: &str| s.parse::<u16>().map_err(|e| format!("`{s}`: {e}"));
        Ok(match parts.as_slice() {
            [container] => Self {
                host_ip: None,
                host: None,
                container: number(container)?,
            },
            [container, host] => Self {
                host_ip: None,
                host: Some(number(host)?),
                container: number(container)?,
            },
            [container, host, ip] => Self {
                host_ip: Some((*ip).to_owned()),
                host: Some(number(host)?),
                container: number(container)?,
            },
            _ => return Err("not [ip:][host:]container[/protocol]".to_owned()),
        })
    }
}

/// The socket address a listen variable holds.
pub(crate) fn socket_addr(name: &str, value: &str) -> SocketAddr {
    value
        .parse()
        .unwrap_or_else(|e| panic!("`{name}` = {value:?} is not a socket address: {e}"))
}

fn substitute(
    value: &mut Value,
    vars: &BTreeMap<String, String>,
    referenced: &mut BTreeSet<String>,
    undefined: &mut BTreeSet<String>,
) {
    match value {
        Value::String(text) => {
            let pieces = interpolate::parse(text)
                .unwrap_or_else(|e| panic!("deploy/docker-compose.yml: {e}"));
            for name in interpolate::references(&pieces) {
                referenced.insert(name.to_owned());
                if !vars.contains_key(name) {
                    undefined.insert(name.to_owned());
                }
            }
            if let Ok(resolved) = interpolate::resolve(&pieces, vars) {
                *text = resolved;
            }
        }
        Value::Sequence(items) => {
            for item in items {
                substitute(item, vars, referenced, undefined);
            }
        }
        Value::Mapping(map) => {
            for (_, item) in map.iter_mut() {
                substitute(item, vars, referenced, undefined);
            }
        }
        Value::Tagged(tagged) => substitute(&mut tagged.value, vars, referenced, undefined),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_read_in_short_syntax() {
        let port = |ip: Option<&str>, host: Option<u16>, container| Port {
            host_ip: ip.map(str::to_owned),
            host,
            container,
        };
        assert_eq!(Port::parse("8090"), Ok(port(None, None, 8090)));
        assert_eq!(Port::parse("1:8090"), Ok(port(None, Some(1), 8090)));
        assert_eq!(
            Port::parse("127.0.0.1:50052:50052/tcp"),
            Ok(port(Some("127.0.0.1"), Some(50052), 50052))
        );
        assert!(Port::parse("a:b").is_err());
    }

    #[test]
    fn merge_keys_and_substitution_apply_before_typing() {
        let vars = BTreeMap::from([("V".to_owned(), "x".to_owned())]);
        let (compose, referenced) = Compose::parse(
            "x-a: &a\n  image: i:${V}\nservices:\n  s:\n    <<: *a\n    command: [\"b\"]\n    restart: \"no\"\n",
            &vars,
        );
        let s = compose.service("s");
        assert_eq!(s.image.as_deref(), Some("i:x"));
        assert_eq!(s.restart(), Some("no"));
        assert_eq!(referenced, BTreeSet::from(["V".to_owned()]));
    }

    #[test]
    #[should_panic(expected = "does not define")]
    fn an_undefined_variable_is_named() {
        Compose::parse("services:\n  s:\n    image: ${NOPE}\n", &BTreeMap::new());
    }
}
