//! The egress policy: where sync-service may send an organisation's WinLeadPlus token.
//! Endpoints are `https`, unless their host is listed in `WINLEADPLUS_ALLOW_HTTP_HOSTS`;
//! addresses that are not public (loopback, private, link-local with the cloud metadata
//! address, carrier-grade NAT, multicast, documentation, …, and their IPv4-mapped IPv6 forms)
//! are refused after DNS resolution unless, again, the host is listed. The same rules serve
//! SaveConfig, TestConnection, every page request and every `next` link: [`EgressPolicy::check_url`]
//! before a request (reqwest does not resolve IP literals, so they are checked there), and
//! [`EgressResolver`], reqwest's resolver, which drops refused addresses, so that the address
//! connected to is the one checked, with no second lookup.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The setting that lists the hosts exempt from both rules.
pub const ALLOW_HTTP_HOSTS: &str = "WINLEADPLUS_ALLOW_HTTP_HOSTS";

/// How long a save-time lookup may take before the name counts as unresolved.
const SAVE_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Where WinLeadPlus requests may go (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    allowed: Arc<AllowList>,
}

/// The hosts of `WINLEADPLUS_ALLOW_HTTP_HOSTS`, normalized.
#[derive(Debug, Default)]
struct AllowList {
    /// Host names, lower case, without a trailing dot.
    names: BTreeSet<String>,
    /// IP literals, in their canonical form (an IPv4-mapped IPv6 address as IPv4).
    addresses: BTreeSet<IpAddr>,
}

/// An entry of `WINLEADPLUS_ALLOW_HTTP_HOSTS` that is not a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{ALLOW_HTTP_HOSTS}: {entry:?} is not a host name or an IP literal (give hosts only, \
     without scheme, port or path, e.g. 127.0.0.1,winleadplus-sim)"
)]
pub struct AllowListError {
    /// The entry as given.
    pub entry: String,
}

/// Why a destination is refused. The message names the rule; the caller says what was
/// refused (`api_endpoint refused: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Neither http nor https.
    #[error("{scheme} is not supported; use https")]
    Scheme {
        /// The scheme given.
        scheme: String,
    },
    /// The URL names no host.
    #[error("the URL has no host")]
    NoHost,
    /// Plain http to a host that is not listed.
    #[error("http is only allowed for hosts in {ALLOW_HTTP_HOSTS}; use https")]
    Http,
    /// An IP literal that is not a public address.
    #[error(
        "{address} is {kind} address; internal addresses are only reachable for hosts listed in {ALLOW_HTTP_HOSTS}"
    )]
    Internal {
        /// The address.
        address: IpAddr,
        /// Why it is not public.
        kind: AddressKind,
    },
    /// A host name whose every address is not public. The message does not show the
    /// address: callers would otherwise map the internal names of our network.
    #[error(
        "{host} resolves to {kind} address; internal addresses are only reachable for hosts listed in {ALLOW_HTTP_HOSTS}"
    )]
    ResolvesInternal {
        /// The name.
        host: String,
        /// Its first refused address (for the service's own log, not the message).
        address: IpAddr,
        /// Why that address is not public.
        kind: AddressKind,
    },
}

impl Refusal {
    /// Whether the destination itself is forbidden (an internal address), rather than the
    /// URL being unusable (a scheme, no host): `PERMISSION_DENIED` versus `INVALID_ARGUMENT`.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Internal { .. } | Self::ResolvesInternal { .. })
    }
}

/// Why an address is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918, IPv6 unique local `fc00::/7` (and the old site-local `fec0::/10`).
    Private,
    /// `169.254.0.0/16` (the cloud metadata address among them), `fe80::/10`.
    LinkLocal,
    /// `100.64.0.0/10`.
    SharedCgnat,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// `192.0.0.0/24`, `240.0.0.0/4`, `100::/64`: protocol assignments, reserved, discard.
    Reserved,
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "an unspecified",
            Self::Loopback => "a loopback",
            Self::Private => "a private",
            Self::LinkLocal => "a link-local",
            Self::SharedCgnat => "a carrier-grade NAT (100.64.0.0/10)",
            Self::Multicast => "a multicast",
            Self::Broadcast => "a broadcast",
            Self::Documentation => "a documentation",
            Self::Benchmarking => "a benchmarking",
            Self::Reserved => "a reserved",
        })
    }
}

/// What a save-time check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// An IP literal, or a listed host: nothing to resolve.
    Static,
    /// A name with at least one public address.
    Resolved,
    /// A name that does not resolve now (fetches check it again); the reason, for the log.
    Unresolved(String),
}

/// Why a lookup gave nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The name does not resolve.
    #[error("{host} does not resolve: {source}")]
    Unresolved {
        /// The name.
        host: String,
        /// The resolver's answer.
        source: io::Error,
    },
    /// It resolves, to refused addresses only.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// reqwest's DNS resolver under the policy (see the module's documentation).
#[derive(Debug, Clone)]
pub struct EgressResolver {
    policy: EgressPolicy,
}

impl EgressPolicy {
    /// A policy exempting `hosts` (entries of `WINLEADPLUS_ALLOW_HTTP_HOSTS`; blank ones are
    /// ignored) from both rules.
    pub fn new<S: AsRef<str>>(hosts: &[S]) -> Result<Self, AllowListError> {
        let mut allowed = AllowList::default();
        for entry in hosts.iter().map(|h| h.as_ref().trim()) {
            if entry.is_empty() {
                continue;
            }
            match parse_host(entry) {
                Some(Host::Address(address)) => {
                    allowed.addresses.insert(address);
                }
                Some(Host::Name(name)) => {
                    allowed.names.insert(name);
                }
                None => {
                    return Err(AllowListError {
                        entry: entry.to_owned(),
                    });
                }
            }
        }
        Ok(Self {
            allowed: Arc::new(allowed),
        })
    }

    /// Checks what can be checked without a lookup: the scheme, and an IP literal's address.
    /// Host names are checked by [`EgressResolver`] when connecting (and by
    /// [`EgressPolicy::check_resolved`] when saving).
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        let scheme = url.scheme();
        if !matches!(scheme, "http" | "https") {
            return Err(Refusal::Scheme {
                scheme: scheme.to_owned(),
            });
        }
        let host = match url.host() {
            Some(url::Host::Domain("")) | None => return Err(Refusal::NoHost),
            Some(url::Host::Domain(name)) => Host::Name(normalize_name(name)),
            Some(url::Host::Ipv4(ip)) => Host::Address(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Host::Address(IpAddr::V6(ip).to_canonical()),
        };
        if self.allows(&host) {
            return Ok(());
        }
        if let Host::Address(address) = host
            && let Some(kind) = classify(address)
        {
            return Err(Refusal::Internal { address, kind });
        }
        if scheme == "http" {
            return Err(Refusal::Http);
        }
        Ok(())
    }

    /// [`EgressPolicy::check_url`], then, for a host name that is not listed, a lookup: a
    /// name with only refused addresses is refused, one that does not resolve now is let
    /// through as [`Checked::Unresolved`] (every connection checks it again).
    pub async fn check_resolved(&self, url: &url::Url) -> Result<Checked, Refusal> {
        self.check_url(url)?;
        let Some(url::Host::Domain(name)) = url.host() else {
            return Ok(Checked::Static);
        };
        let name = normalize_name(name);
        if self.allows(&Host::Name(name.clone())) {
            return Ok(Checked::Static);
        }
        match tokio::time::timeout(SAVE_LOOKUP_TIMEOUT, self.lookup(&name)).await {
            Err(_) => Ok(Checked::Unresolved(format!("{name}: lookup timed out"))),
            Ok(Ok(_)) => Ok(Checked::Resolved),
            Ok(Err(LookupError::Refused(refusal))) => Err(refusal),
            Ok(Err(unresolved @ LookupError::Unresolved { .. })) => {
                Ok(Checked::Unresolved(unresolved.to_string()))
            }
        }
    }

    /// The resolver reqwest connects through.
    pub fn resolver(&self) -> EgressResolver {
        EgressResolver {
            policy: self.clone(),
        }
    }

    /// The addresses of `host` the policy lets through: all of them for a listed host, the
    /// public ones otherwise; an error when none remains.
    pub async fn lookup(&self, host: &str) -> Result<Vec<SocketAddr>, LookupError> {
        let name = normalize_name(host);
        let resolved = resolve(&name)
            .await
            .map_err(|source| LookupError::Unresolved {
                host: name.clone(),
                source,
            })?;
        if self.allows(&Host::Name(name.clone())) {
            return Ok(resolved);
        }
        let mut first_refused = None;
        let public: Vec<SocketAddr> = resolved
            .into_iter()
            .filter(|a| match classify(a.ip()) {
                None => true,
                Some(kind) => {
                    first_refused.get_or_insert((a.ip(), kind));
                    false
                }
            })
            .collect();
        match (public.is_empty(), first_refused) {
            (false, _) => Ok(public),
            (true, Some((address, kind))) => {
                tracing::warn!(host = %name, %address, %kind, "egress policy: a host resolves only to internal addresses");
                Err(Refusal::ResolvesInternal {
                    host: name,
                    address,
                    kind,
                }
                .into())
            }
            (true, None) => Err(LookupError::Unresolved {
                host: name,
                source: io::Error::new(io::ErrorKind::NotFound, "no address"),
            }),
        }
    }

    fn allows(&self, host: &Host) -> bool {
        match host {
            Host::Name(name) => self.allowed.names.contains(name),
            Host::Address(address) => self.allowed.addresses.contains(&address.to_canonical()),
        }
    }
}

impl Resolve for EgressResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match policy.lookup(&host).await {
                Ok(addresses) => Ok(Box::new(addresses.into_iter()) as Addrs),
                // The refusal itself is the error's source, so the client can find it in
                // the chain and report the rule rather than a connection failure.
                Err(LookupError::Refused(refusal)) => Err(Box::new(refusal) as _),
                Err(unresolved) => Err(Box::new(unresolved) as _),
            }
        })
    }
}

/// A host: a name (lower case, no trailing dot) or an address (canonical).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    Address(IpAddr),
}

/// An allow-list entry: an IP literal (IPv6 with or without brackets) or a host name.
fn parse_host(entry: &str) -> Option<Host> {
    let unbracketed = entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .unwrap_or(entry);
    if let Ok(address) = unbracketed.parse::<IpAddr>() {
        return Some(Host::Address(address.to_canonical()));
    }
    let name = normalize_name(entry);
    let valid = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then_some(Host::Name(name))
}

fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Resolves a name. RFC 6761 names are answered without asking DNS: `localhost` and
/// `*.localhost` are the loopback addresses, `*.invalid` never resolves.
async fn resolve(name: &str) -> io::Result<Vec<SocketAddr>> {
    if name == "localhost" || name.ends_with(".localhost") {
        return Ok(vec![
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        ]);
    }
    if name == "invalid" || name.ends_with(".invalid") {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "an .invalid name (RFC 6761)",
        ));
    }
    Ok(tokio::net::lookup_host((name, 0)).await?.collect())
}

/// Why `address` is not a public address, or `None` when it is one. IPv6 forms that carry an
/// IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
/// `2002::/16`) are judged by that address.
pub fn classify(address: IpAddr) -> Option<AddressKind> {
    match address {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_broadcast() => AddressKind::Broadcast,
        (0, _, _) => AddressKind::Unspecified,
        (127, _, _) => AddressKind::Loopback,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => AddressKind::Private,
        (169, 254, _) => AddressKind::LinkLocal,
        (100, 64..=127, _) => AddressKind::SharedCgnat,
        (224..=239, _, _) => AddressKind::Multicast,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressKind::Documentation,
        (198, 18..=19, _) => AddressKind::Benchmarking,
        (192, 0, 0) | (240..=255, _, _) => AddressKind::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressKind> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if ip.is_unspecified() {
        return Some(AddressKind::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressKind::Loopback);
    }
    // IPv4-compatible (deprecated) and NAT64 `64:ff9b::/96`: the last 32 bits are the IPv4
    // address; 6to4 `2002::/16`: bits 16 to 48.
    let o = ip.octets();
    if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[0] == 0x2002 {
        return classify_v4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    Some(match s[0] {
        0xfc00..=0xfdff | 0xfec0..=0xfeff => AddressKind::Private,
        0xfe80..=0xfebf => AddressKind::LinkLocal,
        0xff00..=0xffff => AddressKind::Multicast,
        0x2001 if s[1] == 0x0db8 => AddressKind::Documentation,
        0x3fff if s[1] <= 0x0fff => AddressKind::Documentation,
        0x2001 if s[1] == 0x0002 && s[2] == 0 => AddressKind::Benchmarking,
        0x0100 if s[1..4] == [0, 0, 0] => AddressKind::Reserved,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_classified_and_public_ones_are_not() {
        use AddressKind::*;
        let cases = [
            ("127.0.0.1", Some(Loopback)),
            ("127.0.0.2", Some(Loopback)),
            ("10.1.2.3", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(Private)),
            ("169.254.169.254", Some(LinkLocal)),
            ("100.64.0.1", Some(SharedCgnat)),
            ("100.127.255.255", Some(SharedCgnat)),
            ("100.128.0.1", None),
            ("224.0.0.1", Some(Multicast)),
            ("255.255.255.255", Some(Broadcast)),
            ("0.0.0.0", Some(Unspecified)),
            ("192.0.2.10", Some(Documentation)),
            ("198.51.100.1", Some(Documentation)),
            ("203.0.113.7", Some(Documentation)),
            ("198.18.0.1", Some(Benchmarking)),
            ("240.0.0.1", Some(Reserved)),
            ("8.8.8.8", None),
            ("93.184.215.14", None),
            ("::1", Some(Loopback)),
            ("::", Some(Unspecified)),
            ("fc00::1", Some(Private)),
            ("fd12:3456::1", Some(Private)),
            ("fe80::1", Some(LinkLocal)),
            ("ff02::1", Some(Multicast)),
            ("2001:db8::1", Some(Documentation)),
            ("2606:4700::1111", None),
            // IPv6 forms of an IPv4 address are judged by it.
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:7f00:2", Some(Loopback)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Loopback)),
            ("::169.254.169.254", Some(LinkLocal)),
            ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
            ("64:ff9b::808:808", None),
            ("2002:7f00:1::", Some(Loopback)),
            ("2002:c0a8:101::1", Some(Private)),
        ];
        for (address, expected) in cases {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(classify(ip), expected, "{address}");
        }
    }

    fn check_url(policy: &EgressPolicy, url: &str, expected: Result<(), &str>) {
        let parsed = url::Url::parse(url).unwrap();
        let got = policy.check_url(&parsed).map_err(|e| e.to_string());
        match expected {
            Ok(()) => assert_eq!(got, Ok(()), "{url}"),
            Err(needle) => {
                let message = got.expect_err(url);
                assert!(message.contains(needle), "{url}: {message}");
            }
        }
    }

    #[test]
    fn urls_follow_the_scheme_and_address_rules() {
        let policy = EgressPolicy::new(&["127.0.0.1", "WinLeadPlus-Sim", "[::1]", ""]).unwrap();
        let http_rule = "http is only allowed for hosts in WINLEADPLUS_ALLOW_HTTP_HOSTS";
        let cases: [(&str, Result<(), &str>); 14] = [
            ("https://wlp.example/api", Ok(())),
            ("http://wlp.example/api", Err(http_rule)),
            ("http://127.0.0.1:8090/api", Ok(())),
            (
                "http://127.0.0.2:8090/api",
                Err("127.0.0.2 is a loopback address"),
            ),
            (
                "https://127.0.0.2/api",
                Err("127.0.0.2 is a loopback address"),
            ),
            ("http://winleadplus-sim:8090/api", Ok(())),
            ("http://WINLEADPLUS-SIM.:8090/api", Ok(())),
            ("http://[::1]:8090/api", Ok(())),
            ("http://[::ffff:127.0.0.1]/api", Ok(())),
            (
                "https://[::ffff:127.0.0.2]/api",
                Err("127.0.0.2 is a loopback"),
            ),
            (
                "https://169.254.169.254/latest",
                Err("a link-local address"),
            ),
            ("https://0x7f.0.0.2/api", Err("127.0.0.2 is a loopback")),
            ("ftp://wlp.example/api", Err("ftp is not supported")),
            ("https://8.8.8.8/api", Ok(())),
        ];
        for (url, expected) in cases {
            check_url(&policy, url, expected);
        }
        // Not listed: 127.0.0.1 is refused like any loopback address.
        check_url(
            &EgressPolicy::default(),
            "http://127.0.0.1:8090/api",
            Err(
                "127.0.0.1 is a loopback address; internal addresses are only reachable for hosts listed in WINLEADPLUS_ALLOW_HTTP_HOSTS",
            ),
        );
    }

    #[test]
    fn allow_list_entries_are_hosts_only() {
        for good in ["127.0.0.1", "::1", "[::1]", "winleadplus-sim", "Sim.Local."] {
            assert!(EgressPolicy::new(&[good]).is_ok(), "{good}");
        }
        for bad in ["http://sim", "sim:8090", "sim/api", "a b", "[::1"] {
            let e = EgressPolicy::new(&[bad]).unwrap_err().to_string();
            assert!(
                e.contains("WINLEADPLUS_ALLOW_HTTP_HOSTS") && e.contains(bad),
                "{e}"
            );
        }
    }

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        let policy = EgressPolicy::new(&["sim.localhost"]).unwrap();
        let localhost = url::Url::parse("https://localhost/api").unwrap();
        let refused = policy.check_resolved(&localhost).await.unwrap_err();
        assert!(refused.is_internal());
        assert!(
            refused
                .to_string()
                .starts_with("localhost resolves to a loopback address; internal"),
            "{refused}"
        );
        let listed = url::Url::parse("http://SIM.localhost:8090/api").unwrap();
        assert_eq!(policy.check_resolved(&listed).await, Ok(Checked::Static));
        assert_eq!(policy.lookup("sim.localhost").await.unwrap().len(), 2);
        let nowhere = url::Url::parse("https://wlp.invalid/api").unwrap();
        assert!(matches!(
            policy.check_resolved(&nowhere).await,
            Ok(Checked::Unresolved(_))
        ));
        let literal = url::Url::parse("https://8.8.8.8/api").unwrap();
        assert_eq!(policy.check_resolved(&literal).await, Ok(Checked::Static));
    }
}
