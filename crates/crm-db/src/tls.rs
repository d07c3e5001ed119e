//! PostgreSQL over TLS, with rustls and the ring provider (the only one in the build), for
//! the pool and the one-off connections of migrations alike ([`Target::establish`]).
//!
//! What the URL asks for decides, as libpq's `sslmode` does:
//! - no `sslmode`, or `sslmode=disable`: no TLS, as before (tokio-postgres' `NoTls`);
//! - `sslmode=prefer`: TLS when the server offers it, plain otherwise;
//! - `sslmode=require`: TLS or no connection.
//!
//! With `prefer` and `require` the server's certificate is, as with libpq, **not verified**
//! (the traffic is encrypted; a machine in the middle could still pose as the server): the
//! verifier [`EncryptOnly`] accepts any certificate but still checks that the server holds
//! its key (the handshake signatures, with ring). Add `sslrootcert=<PEM file>` to verify it:
//! the chain must lead to a certificate of that file and the certificate must name the host
//! of the URL (stricter than libpq's `verify-ca`: it is its `verify-full`). tokio-postgres
//! does not know `sslrootcert`; it is taken out of the URL before the driver sees it.
//!
//! Channel binding (`SCRAM-SHA-256-PLUS`) is not offered: plain SCRAM still authenticates.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use diesel::ConnectionResult;
use diesel::result::ConnectionError;
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use url::Url;

use crate::Error;

/// Where to connect and how: the URL as tokio-postgres takes it, and the TLS to use.
#[derive(Clone)]
pub(crate) struct Target {
    /// The URL without `sslrootcert`. Holds the password: never log it.
    url: String,
    /// `None`: no TLS (no `sslmode`, or `disable`).
    tls: Option<Arc<ClientConfig>>,
}

impl Target {
    /// Reads `sslmode` and `sslrootcert` from `raw` (and the root file, if any). The error
    /// names the file, never the URL.
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidUrl { reason };
        let mut url = Url::parse(raw).map_err(|e| invalid(e.to_string()))?;
        let mut mode = None;
        let mut root = None;
        let mut kept = Vec::new();
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "sslrootcert" => root = Some(PathBuf::from(value.as_ref())),
                "sslmode" => {
                    mode = Some(value.to_string());
                    kept.push((key.to_string(), value.to_string()));
                }
                _ => kept.push((key.to_string(), value.to_string())),
            }
        }
        if root.is_some() {
            url.query_pairs_mut().clear().extend_pairs(&kept);
            if kept.is_empty() {
                url.set_query(None);
            }
        }
        let tls = match mode.as_deref() {
            None | Some("disable") => {
                if root.is_some() {
                    return Err(invalid(
                        "sslrootcert needs sslmode=require (or prefer)".to_owned(),
                    ));
                }
                None
            }
            Some("prefer" | "require") => Some(Arc::new(client_config(root)?)),
            Some(other) => {
                return Err(invalid(format!(
                    "sslmode={other} is not supported: disable, prefer or require \
                     (with sslrootcert=<file> to verify the server)"
                )));
            }
        };
        Ok(Self {
            url: url.into(),
            tls,
        })
    }

    /// Opens one connection, with TLS when the URL asks for it.
    pub(crate) async fn establish(&self) -> Result<AsyncPgConnection, EstablishError> {
        match &self.tls {
            None => {
                let (client, connection) =
                    tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await?;
                Ok(AsyncPgConnection::try_from_client_and_connection(client, connection).await?)
            }
            Some(config) => {
                let (client, connection) =
                    tokio_postgres::connect(&self.url, MakeRustls(Arc::clone(config))).await?;
                Ok(AsyncPgConnection::try_from_client_and_connection(client, connection).await?)
            }
        }
    }

    /// [`establish`](Self::establish) as diesel's connection managers want it.
    pub(crate) async fn establish_for_diesel(&self) -> ConnectionResult<AsyncPgConnection> {
        self.establish().await.map_err(|e| match e {
            EstablishError::Setup(e) => e,
            EstablishError::Connect(e) => ConnectionError::BadConnection(crate::error::chain(&e)),
        })
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EstablishError {
    /// The server could not be reached, refused us, or the TLS handshake failed.
    #[error(transparent)]
    Connect(#[from] tokio_postgres::Error),
    /// diesel could not set the connection up.
    #[error(transparent)]
    Setup(#[from] ConnectionError),
}

/// The rustls client configuration: ring, verifying the server against the roots of
/// `root_file`, or only its possession of the key ([`EncryptOnly`]) without one.
fn client_config(root_file: Option<PathBuf>) -> Result<ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidUrl {
            reason: format!("TLS: {e}"),
        })?;
    let config = match root_file {
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly { provider })),
        Some(path) => {
            let unusable = |reason: String| Error::InvalidUrl {
                reason: format!("sslrootcert {}: {reason}", path.display()),
            };
            let mut roots = RootCertStore::empty();
            for certificate in
                CertificateDer::pem_file_iter(&path).map_err(|e| unusable(e.to_string()))?
            {
                roots
                    .add(certificate.map_err(|e| unusable(e.to_string()))?)
                    .map_err(|e| unusable(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(unusable("no PEM certificate in it".to_owned()));
            }
            builder.with_root_certificates(roots)
        }
    };
    Ok(config.with_no_client_auth())
}

/// libpq's `sslmode=require` without a root certificate: any certificate is accepted (no
/// chain, name or date check), but the handshake signatures are verified with ring, so the
/// server must hold the private key of the certificate it shows.
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<CryptoProvider>,
}

impl EncryptOnly {
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

/// tokio-postgres' TLS connector factory over a rustls configuration.
struct MakeRustls(Arc<ClientConfig>);

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            connector: tokio_rustls::TlsConnector::from(Arc::clone(&self.0)),
            server: ServerName::try_from(domain.to_owned())?,
        })
    }
}

/// One TLS handshake with the server named `server`.
struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    server: ServerName<'static>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<RustlsStream>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let stream = self.connector.connect(self.server, stream).await?;
            Ok(RustlsStream(stream))
        })
    }
}

/// A TLS connection to PostgreSQL.
struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tls_follows_sslmode_and_sslrootcert_never_reaches_the_driver() {
        let plain = Target::parse("postgres://u:p@h/db").unwrap();
        assert!(plain.tls.is_none());
        assert!(
            Target::parse("postgres://h/db?sslmode=disable")
                .unwrap()
                .tls
                .is_none()
        );
        for mode in ["prefer", "require"] {
            let target = Target::parse(&format!("postgres://h/db?sslmode={mode}")).unwrap();
            assert!(target.tls.is_some(), "{mode}");
        }
        let error = Target::parse("postgres://h/db?sslmode=require&sslrootcert=/nonexistent.pem")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("/nonexistent.pem"), "{error}");
        let error = Target::parse("postgres://u:hunter2@h/db?sslmode=verify-full")
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("verify-full") && !error.contains("hunter2"),
            "{error}"
        );
    }
}
