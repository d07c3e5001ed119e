//! TLS for every outbound connection of the services, with one rustls crypto provider: ring.
//! aws-lc-rs is kept out of the build (reqwest's `rustls-no-provider` feature): no C
//! toolchain, and async-nats' TLS builder, which takes the process-wide default, never sees
//! two providers to choose from.
//!
//! [`client_config`] is what every reqwest client is built with
//! (`ClientBuilder::tls_backend_preconfigured`): the platform's roots and verifier, over ring.
//! [`install_default_provider`] makes ring the process-wide default for the libraries that
//! look it up (async-nats, a plain `reqwest::Client::new()`); both `main`s call it first.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls_platform_verifier::BuilderVerifierExt;

/// The system's certificate verifier could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up TLS certificate verification: {0}")]
pub struct TlsError(#[from] rustls::Error);

/// The ring crypto provider, the only one compiled in.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes ring the process-wide default provider. Idempotent: a provider already installed
/// (ring, by an earlier call) is left as it is.
pub fn install_default_provider() {
    // Err only says that a default is already there; with ring the only provider compiled
    // in, that default is ring.
    if rustls::crypto::ring::default_provider()
        .install_default()
        .is_err()
    {
        tracing::trace!("a rustls crypto provider is already installed");
    }
}

/// A client configuration for HTTPS: ring, TLS 1.2 and 1.3, the platform's verifier (its
/// root certificates), ALPN offering HTTP/2 then HTTP/1.1 (reqwest does not set it on a
/// preconfigured config).
pub fn client_config() -> Result<ClientConfig, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn installing_twice_is_harmless_and_leaves_ring_in_place() {
        install_default_provider();
        install_default_provider();
        let installed = CryptoProvider::get_default().unwrap();
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(
            installed.cipher_suites.len(),
            ring.cipher_suites.len(),
            "the default provider is ring's"
        );
    }

    #[test]
    fn the_client_config_offers_http2_and_builds_a_reqwest_client() {
        let config = client_config().unwrap();
        assert_eq!(config.alpn_protocols[0], b"h2");
        reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .build()
            .unwrap();
    }
}
