//! Start-up configuration of the NATS connection (ARCHITECTURE.md, "Security (contract)"): a
//! clap `Args` struct each service flattens into its own `Config`, as with
//! [`AuthConfig`](crate::auth::AuthConfig), so both read the same variables: the server
//! (`NATS_URL`), at most one way to authenticate (`NATS_CREDS`, `NATS_USER` +
//! `NATS_PASSWORD`, `NATS_TOKEN`) and TLS (`NATS_CA_FILE`, `NATS_TLS_REQUIRED`).
//!
//! Secrets never print: the password and the token are [`SecretString`]s hidden from
//! `--help`, a creds file is named by its path only, and a URL is shown without its
//! credentials.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::urls::mask_credentials;

/// The server when `NATS_URL` is not set.
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// Where NATS runs and how to log in there. Meant to be `#[command(flatten)]`ed into a
/// service's `Config`. Empty values count as unset (compose files pass `VAR=` for "not set").
#[derive(Debug, Clone, clap::Args)]
pub struct NatsArgs {
    /// NATS server URL (`nats://host:4222`, or `tls://host:4222` for TLS).
    #[arg(
        long = "nats-url",
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        hide_env_values = true
    )]
    pub url: String,

    /// Path of a `.creds` file (user JWT and nkey seed) to log in with.
    #[arg(long = "nats-creds", env = "NATS_CREDS")]
    pub creds: Option<PathBuf>,

    /// User to log in as; needs `NATS_PASSWORD`.
    #[arg(long = "nats-user", env = "NATS_USER")]
    pub user: Option<String>,

    /// Password of `NATS_USER`. Never printed.
    #[arg(long = "nats-password", env = "NATS_PASSWORD", hide_env_values = true)]
    pub password: Option<SecretString>,

    /// Token to log in with. Never printed.
    #[arg(long = "nats-token", env = "NATS_TOKEN", hide_env_values = true)]
    pub token: Option<SecretString>,

    /// PEM file of the CA(s) that sign the server's certificate, trusted instead of the
    /// system's roots (a private CA, a self-signed server).
    #[arg(long = "nats-ca-file", env = "NATS_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// Refuse to talk to the server without TLS (implied by a `tls://` URL).
    #[arg(
        long = "nats-tls-required",
        env = "NATS_TLS_REQUIRED",
        default_value_t = false
    )]
    pub tls_required: bool,
}

impl NatsArgs {
    /// The server at `url`, no authentication, no TLS settings (tests and tools).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            creds: None,
            user: None,
            password: None,
            token: None,
            ca_file: None,
            tls_required: false,
        }
    }

    /// The same server, logging in as `user` with `password`.
    pub fn with_user(self, user: &str, password: &str) -> Self {
        Self {
            user: Some(user.to_owned()),
            password: Some(password.into()),
            ..self
        }
    }

    /// Checks the settings without reading any file: at most one way to log in, a user
    /// with a password and the other way round.
    pub fn validate(&self) -> Result<(), NatsConfigError> {
        self.auth().map(|_| ())
    }

    /// The one way to log in, checked.
    pub(crate) fn auth(&self) -> Result<Auth, NatsConfigError> {
        let creds = self.creds.as_ref().filter(|p| !p.as_os_str().is_empty());
        let user = self
            .user
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let password = self
            .password
            .as_ref()
            .filter(|p| !p.expose_secret().is_empty());
        let token = self
            .token
            .as_ref()
            .filter(|t| !t.expose_secret().is_empty());
        let in_url = mask_credentials(&self.url) != self.url;

        let mut set = Vec::new();
        if creds.is_some() {
            set.push("NATS_CREDS");
        }
        if user.is_some() || password.is_some() {
            set.push("NATS_USER/NATS_PASSWORD");
        }
        if token.is_some() {
            set.push("NATS_TOKEN");
        }
        if in_url {
            set.push("credentials in NATS_URL");
        }
        if set.len() > 1 {
            return Err(NatsConfigError::Conflicting {
                found: set.join(" and "),
            });
        }
        Ok(match (creds, user, password, token) {
            (Some(path), ..) => Auth::Creds(path.clone()),
            (None, Some(user), Some(password), None) => {
                Auth::UserPassword(user.to_owned(), password.clone())
            }
            (None, Some(_), None, None) => return Err(NatsConfigError::UserWithoutPassword),
            (None, None, Some(_), None) => return Err(NatsConfigError::PasswordWithoutUser),
            (None, None, None, Some(token)) => Auth::Token(token.clone()),
            _ => Auth::None,
        })
    }

    /// async-nats' options for these settings: reads the creds file and checks the CA file,
    /// each failure naming the file, never its content.
    pub(crate) async fn options(&self) -> Result<async_nats::ConnectOptions, NatsConfigError> {
        let mut options = match self.auth()? {
            Auth::None => async_nats::ConnectOptions::new(),
            Auth::Creds(path) => {
                let content = tokio::fs::read_to_string(&path).await.map_err(|e| {
                    NatsConfigError::CredsUnreadable {
                        path: shown(&path),
                        reason: e.to_string(),
                    }
                })?;
                // async-nats' own message could be a parser's view of the content: not shown.
                async_nats::ConnectOptions::with_credentials(&content)
                    .map_err(|_| NatsConfigError::CredsInvalid { path: shown(&path) })?
            }
            Auth::UserPassword(user, password) => async_nats::ConnectOptions::new()
                .user_and_password(user, password.expose_secret().to_owned()),
            Auth::Token(token) => {
                async_nats::ConnectOptions::new().token(token.expose_secret().to_owned())
            }
        };
        if let Some(path) = self.ca_file.as_ref().filter(|p| !p.as_os_str().is_empty()) {
            check_ca_file(path).await?;
            options = options.add_root_certificates(path.clone());
        }
        if self.tls_required {
            options = options.require_tls(true);
        }
        Ok(options)
    }
}

/// How a connection logs in (at most one way).
pub(crate) enum Auth {
    /// Anonymously, or with credentials in the URL.
    None,
    /// With the user JWT and nkey seed of this `.creds` file.
    Creds(PathBuf),
    /// As a user with a password.
    UserPassword(String, SecretString),
    /// With a token.
    Token(SecretString),
}

/// Why the NATS settings cannot be used. Each message is one line naming the variable (and
/// the file, for a file), never a secret.
#[derive(Debug, thiserror::Error)]
pub enum NatsConfigError {
    /// Two ways to log in at once.
    #[error(
        "NATS authentication: set only one of NATS_CREDS, NATS_USER/NATS_PASSWORD, NATS_TOKEN or credentials in NATS_URL; found {found}"
    )]
    Conflicting {
        /// The variables set.
        found: String,
    },
    /// A user without a password.
    #[error("NATS_USER is set without NATS_PASSWORD")]
    UserWithoutPassword,
    /// A password without a user.
    #[error("NATS_PASSWORD is set without NATS_USER")]
    PasswordWithoutUser,
    /// The creds file cannot be read.
    #[error("cannot read the NATS_CREDS file {path}: {reason}")]
    CredsUnreadable {
        /// Its path.
        path: String,
        /// Why (the operating system's reason).
        reason: String,
    },
    /// The creds file holds no user JWT and nkey seed.
    #[error(
        "the NATS_CREDS file {path} is not a NATS credentials file (a user JWT and an nkey seed)"
    )]
    CredsInvalid {
        /// Its path.
        path: String,
    },
    /// The CA file cannot be read or holds no certificate.
    #[error("cannot use the NATS_CA_FILE {path}: {reason}")]
    CaFile {
        /// Its path.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Checks that `path` holds at least one PEM certificate, so that a wrong path stops the
/// start with a line naming it rather than a TLS error at the first connection.
async fn check_ca_file(path: &Path) -> Result<(), NatsConfigError> {
    let error = |reason: String| NatsConfigError::CaFile {
        path: shown(path),
        reason,
    };
    let pem = tokio::fs::read(path)
        .await
        .map_err(|e| error(e.to_string()))?;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut certificates = CertificateDer::pem_slice_iter(&pem).peekable();
    match certificates.peek() {
        Some(Ok(_)) => Ok(()),
        Some(Err(_)) => Err(error("it is not a PEM file".to_owned())),
        None => Err(error("it holds no PEM certificate".to_owned())),
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        nats: NatsArgs,
    }

    fn parse(args: &[&str]) -> NatsArgs {
        let mut argv = vec!["service"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().nats
    }

    #[test]
    fn each_way_of_logging_in_is_accepted_alone() {
        for args in [
            &[][..],
            &["--nats-creds", "/run/secrets/sync.creds"],
            &["--nats-user", "sync-service", "--nats-password", "pw"],
            &["--nats-token", "t0ken"],
            &["--nats-url", "nats://u:pw@nats:4222"],
            // Empty values are unset.
            &[
                "--nats-user",
                "",
                "--nats-password",
                "",
                "--nats-token",
                "x",
            ],
        ] {
            parse(args)
                .validate()
                .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
    }

    #[test]
    fn two_ways_at_once_are_refused_with_one_line_naming_both_and_no_secret() {
        let cases: &[(&[&str], &[&str])] = &[
            (
                &["--nats-creds", "a.creds", "--nats-token", "hunter2"],
                &["NATS_CREDS", "NATS_TOKEN"],
            ),
            (
                &[
                    "--nats-user",
                    "u",
                    "--nats-password",
                    "hunter2",
                    "--nats-token",
                    "t",
                ],
                &["NATS_USER/NATS_PASSWORD", "NATS_TOKEN"],
            ),
            (
                &["--nats-url", "nats://u:hunter2@h:4222", "--nats-token", "t"],
                &["NATS_TOKEN", "NATS_URL"],
            ),
        ];
        for (args, named) in cases {
            let error = parse(args).validate().unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, NatsConfigError::Conflicting { .. }),
                "{args:?}"
            );
            assert!(
                !message.contains('\n') && !message.contains("hunter2"),
                "{message}"
            );
            for name in *named {
                assert!(message.contains(name), "{message}");
            }
        }
    }

    #[test]
    fn a_user_needs_a_password_and_a_password_a_user() {
        let error = parse(&["--nats-user", "u"]).validate().unwrap_err();
        assert!(matches!(error, NatsConfigError::UserWithoutPassword));
        let error = parse(&["--nats-password", "p"]).validate().unwrap_err();
        assert!(matches!(error, NatsConfigError::PasswordWithoutUser));
    }

    #[test]
    fn secrets_do_not_print_in_debug_output() {
        let args = parse(&["--nats-user", "u", "--nats-password", "hunter2"]);
        assert!(!format!("{args:?}").contains("hunter2"));
        let args = parse(&["--nats-token", "hunter3"]);
        assert!(!format!("{args:?}").contains("hunter3"));
    }

    #[tokio::test]
    async fn a_missing_creds_file_is_named_and_an_invalid_one_is_not_quoted() {
        let dir = std::env::temp_dir().join(format!("nats-creds-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.creds");
        let error = NatsArgs {
            creds: Some(missing.clone()),
            ..NatsArgs::new(DEFAULT_URL)
        }
        .options()
        .await
        .unwrap_err();
        assert!(matches!(error, NatsConfigError::CredsUnreadable { .. }));
        assert!(error.to_string().contains(&missing.display().to_string()));

        let garbage = dir.join("garbage.creds");
        std::fs::write(&garbage, "SUAhunter2 not a creds file").unwrap();
        let error = NatsArgs {
            creds: Some(garbage.clone()),
            ..NatsArgs::new(DEFAULT_URL)
        }
        .options()
        .await
        .unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, NatsConfigError::CredsInvalid { .. }));
        assert!(message.contains(&garbage.display().to_string()));
        assert!(!message.contains("hunter2"), "{message}");

        let not_a_ca = dir.join("ca.pem");
        std::fs::write(&not_a_ca, "nothing here").unwrap();
        let error = NatsArgs {
            ca_file: Some(not_a_ca),
            ..NatsArgs::new(DEFAULT_URL)
        }
        .options()
        .await
        .unwrap_err();
        assert!(matches!(error, NatsConfigError::CaFile { .. }), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
