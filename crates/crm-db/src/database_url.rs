//! A parsed `postgres://` URL: swap its database name, and describe it without its password.

use url::Url;

use crate::Error;

/// A PostgreSQL URL (`postgres://user:password@host:port/database?options`).
#[derive(Clone)]
pub(crate) struct DatabaseUrl {
    url: Url,
}

impl DatabaseUrl {
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        // Url's messages never echo the input, so they are safe to show.
        let url = Url::parse(raw).map_err(|e| Error::InvalidUrl {
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(Error::InvalidUrl {
                reason: format!(
                    "scheme `{}` is not `postgres` or `postgresql`",
                    url.scheme()
                ),
            });
        }
        if url.cannot_be_a_base() {
            return Err(Error::InvalidUrl {
                reason: "expected postgres://[user[:password]@]host[:port]/database".to_owned(),
            });
        }
        Ok(Self { url })
    }

    /// The URL itself, to hand to the driver. Contains the password: never log it.
    pub(crate) fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The database name (percent-decoded), when the URL names one.
    pub(crate) fn database(&self) -> Option<String> {
        let path = self.url.path().trim_start_matches('/');
        if path.is_empty() {
            None
        } else {
            Some(percent_decode(path))
        }
    }

    /// The same URL (user, password, host, port, query) naming database `name` instead.
    pub(crate) fn with_database(&self, name: &str) -> Self {
        let mut url = self.url.clone();
        url.set_path(&format!("/{}", percent_encode(name)));
        Self { url }
    }

    /// `host:port/database`, for messages: never the user or the password.
    pub(crate) fn target(&self) -> String {
        let query = |key: &str| {
            self.url
                .query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        };
        let host = query("host")
            .or_else(|| {
                self.url
                    .host_str()
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "localhost".to_owned());
        let port = query("port")
            .or_else(|| self.url.port().map(|p| p.to_string()))
            .unwrap_or_else(|| "5432".to_owned());
        let database = query("dbname")
            .or_else(|| self.database())
            .unwrap_or_default();
        format!("{host}:{port}/{database}")
    }
}

/// Decodes `%XX` escapes; anything malformed is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Escapes every byte but RFC 3986's unreserved characters, so that any name survives a path.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> DatabaseUrl {
        DatabaseUrl::parse(raw).unwrap()
    }

    #[test]
    fn swapping_the_database_keeps_credentials_host_port_and_query() {
        let swapped = url("postgres://me:s3cret@db.local:6543/crm_core?sslmode=disable")
            .with_database("postgres");
        assert_eq!(
            swapped.as_str(),
            "postgres://me:s3cret@db.local:6543/postgres?sslmode=disable"
        );
    }

    #[test]
    fn swapping_adds_a_database_to_a_url_without_one() {
        assert_eq!(
            url("postgresql://localhost").with_database("x").as_str(),
            "postgresql://localhost/x"
        );
    }

    #[test]
    fn target_shows_host_port_and_database_but_no_credentials() {
        assert_eq!(
            url("postgres://me:s3cret@db.local:6543/crm_core").target(),
            "db.local:6543/crm_core"
        );
        assert_eq!(
            url("postgres://localhost/crm_core").target(),
            "localhost:5432/crm_core"
        );
        assert_eq!(
            url("postgres:///crm_core?host=/run/postgresql").target(),
            "/run/postgresql:5432/crm_core"
        );
    }

    #[test]
    fn database_names_survive_a_round_trip_through_the_path() {
        for name in ["crm_core", "with space", "quo\"te", "100%", "été"] {
            let swapped = url("postgres://localhost/x").with_database(name);
            assert_eq!(swapped.database().as_deref(), Some(name));
        }
    }

    #[test]
    fn database_is_read_from_the_path() {
        assert_eq!(
            url("postgres://localhost/crm_core").database().as_deref(),
            Some("crm_core")
        );
        assert_eq!(url("postgres://localhost/").database(), None);
        assert_eq!(url("postgres://localhost").database(), None);
    }

    #[test]
    fn other_schemes_and_garbage_are_rejected_without_echoing_the_input() {
        for raw in ["mysql://u:pw@localhost/db", "not a url pw", "postgres:pw"] {
            let message = DatabaseUrl::parse(raw).err().unwrap().to_string();
            assert!(message.starts_with("invalid database URL"), "{message}");
            assert!(!message.contains("pw"), "{message}");
        }
    }
}
