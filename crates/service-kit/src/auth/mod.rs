//! Authentication of the gRPC services' callers (ARCHITECTURE.md, "Security (contract)"):
//! every call but health checks carries `authorization: Bearer <JWT>`, verified here against
//! an HS256 shared secret and/or the identity provider's RS256/ES256 key set, and turned into
//! a typed [`Caller`] with the organisations it may see. Handlers never see the token.
//!
//! A service flattens [`AuthConfig`] into its `Config`, builds one [`Authenticator`] at
//! start (logging a warning when [`Authenticator::is_disabled`]), installs
//! [`AuthLayer`] on its tonic server, and reads the caller in each handler with
//! [`caller`]. The `mint` feature adds [`mint`], which signs tokens for tests and tools.

mod authenticator;
mod caller;
mod config;
mod error;
mod jwks;
mod layer;
#[cfg(any(test, feature = "mint"))]
pub mod mint;
mod tenant;

pub use authenticator::{Authenticator, LEEWAY_SECS};
pub use caller::{Caller, Organisations};
pub use config::{AuthConfig, ConfigError, DEFAULT_ORG_CLAIM};
pub use error::{AuthError, InvalidToken};
pub use layer::{AuthLayer, AuthService, caller};
pub use tenant::{Forbidden, Tenant};
