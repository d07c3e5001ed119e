//! Connection URLs made safe to print: an error that names the server it could not reach
//! must not carry the password that came with the URL.

/// Hides the credentials of a URL: `nats://user:pw@host:4222` → `nats://***@host:4222`.
/// A URL without credentials is returned as it is.
pub fn mask_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &url[scheme_end + at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_hidden_and_the_rest_kept() {
        for (url, masked) in [
            ("nats://user:pw@host:4222", "nats://***@host:4222"),
            (
                "postgres://crm:s3cret@db:5432/crm_core?sslmode=disable",
                "postgres://***@db:5432/crm_core?sslmode=disable",
            ),
            (
                "postgres://localhost/crm_core",
                "postgres://localhost/crm_core",
            ),
            (
                "http://host/path@not-credentials",
                "http://host/path@not-credentials",
            ),
            ("no scheme", "no scheme"),
            ("", ""),
        ] {
            assert_eq!(mask_credentials(url), masked, "{url}");
        }
    }
}
