//! Domain values of sync-service and their rules: organisation ids, the WinLeadPlus
//! endpoint, the sync interval.

use uuid::Uuid;

use crate::error::Error;

/// Smallest `sync_interval_minutes`.
pub const MIN_INTERVAL_MINUTES: i32 = 5;
/// Largest `sync_interval_minutes` (a day).
pub const MAX_INTERVAL_MINUTES: i32 = 1440;
/// `sync_interval_minutes` of a new config.
pub const DEFAULT_INTERVAL_MINUTES: i32 = 60;
/// The path of the prospects resource.
pub const PROSPECTS_PATH: &str = "/api/prospects";

/// Parses a required organisation id.
pub fn organisation_id(value: &str) -> Result<Uuid, Error> {
    parse_uuid("organisation_id", value)
}

/// Parses a required UUID field, naming it in the error.
pub fn parse_uuid(field: &str, value: &str) -> Result<Uuid, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(format!("{field} is required")));
    }
    Uuid::parse_str(value)
        .map_err(|_| Error::invalid(format!("{field} must be a UUID, got {value:?}")))
}

/// Checks a sync interval.
pub fn interval(minutes: i32) -> Result<i32, Error> {
    if (MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(Error::invalid(format!(
            "sync_interval_minutes must be between {MIN_INTERVAL_MINUTES} and {MAX_INTERVAL_MINUTES}, got {minutes}"
        )))
    }
}

/// A WinLeadPlus prospects endpoint: an absolute http(s) URL whose path ends with
/// `/api/prospects` (appended when the configured URL has no path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(url::Url);

impl Endpoint {
    /// Parses and normalizes an endpoint.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let value = value.trim();
        let mut url = url::Url::parse(value).map_err(|e| {
            Error::invalid(format!("api_endpoint is not a valid URL ({e}): {value:?}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "api_endpoint must be an http or https URL, got {value:?}"
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid(format!(
                "api_endpoint has no host: {value:?}"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid(
                "api_endpoint must not carry credentials; use api_token",
            ));
        }
        if url.path() == "/" || url.path().is_empty() {
            url.set_path(PROSPECTS_PATH);
        }
        Ok(Self(url))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The URL.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// Whether both endpoints are served by the same origin (scheme, host, port): a stored
    /// token is only ever sent to the origin it was saved for.
    pub fn same_origin(&self, other: &Endpoint) -> bool {
        self.0.origin() == other.0.origin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_without_path_gets_the_prospects_path() {
        assert_eq!(
            Endpoint::parse("https://x.example").unwrap().as_str(),
            "https://x.example/api/prospects"
        );
        assert_eq!(
            Endpoint::parse(" http://127.0.0.1:8090/api/prospects ")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8090/api/prospects"
        );
        assert_eq!(
            Endpoint::parse("https://x.example/v2/leads")
                .unwrap()
                .as_str(),
            "https://x.example/v2/leads"
        );
    }

    #[test]
    fn bad_endpoints_are_refused() {
        for bad in [
            "",
            "winleadplus.com",
            "ftp://x.example",
            "https://user:pw@x.example",
            "http://",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Endpoint::parse("https://a.example/api/prospects").unwrap();
        assert!(a.same_origin(&Endpoint::parse("https://a.example/other").unwrap()));
        assert!(!a.same_origin(&Endpoint::parse("https://evil.example/api/prospects").unwrap()));
        assert!(!a.same_origin(&Endpoint::parse("http://a.example/api/prospects").unwrap()));
        assert!(!a.same_origin(&Endpoint::parse("https://a.example:8443/api/prospects").unwrap()));
    }

    #[test]
    fn the_interval_is_bounded() {
        assert!(interval(4).is_err());
        assert!(interval(1441).is_err());
        assert_eq!(interval(5).unwrap(), 5);
        assert_eq!(interval(1440).unwrap(), 1440);
    }
}
