//! RS256/ES256 tokens checked against a JWK set served on 127.0.0.1: accepted when signed by
//! a published key, the set refreshed on an unknown kid at most once a minute (time moved
//! with `tokio::time::advance`, never waited for), and the algorithm confusions refused.

use std::time::Duration;

use service_kit::auth::{
    AuthConfig, AuthError, Authenticator, Caller, InvalidToken, Organisations,
};
use uuid::Uuid;

use crate::helpers::{
    JwksServer, Mode, SECRET, SigningKey, claims, hs256_with_kid, now, public_material,
    secret_config,
};

async fn authenticate(authenticator: &Authenticator, token: &str) -> Result<Caller, AuthError> {
    authenticator
        .authenticate(Some(&format!("Bearer {token}")))
        .await
}

/// Why `token` was refused (it must be).
async fn refused(authenticator: &Authenticator, token: &str) -> AuthError {
    authenticate(authenticator, token).await.unwrap_err()
}

/// Moves tokio's clock past the refresh interval. The clock is paused only for the jump:
/// HTTP requests run on real time, so no timeout fires early.
async fn a_minute_later() {
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(61)).await;
    tokio::time::resume();
}

#[tokio::test]
async fn es256_and_rs256_tokens_signed_by_published_keys_are_accepted() {
    let es = SigningKey::es256("es-1");
    let rs = SigningKey::rs256("rs-1");
    let jwks = JwksServer::start(&[&es, &rs]).await;
    let authenticator = jwks.authenticator();
    let org = Uuid::new_v4();

    for key in [&es, &rs] {
        let caller = authenticate(&authenticator, &key.token("alice", org))
            .await
            .unwrap();
        assert_eq!(caller.subject(), "alice");
        assert_eq!(
            caller.organisations(),
            &Organisations::Only([org].into_iter().collect())
        );
    }
    // Fetched once, on first use, not at construction nor per token.
    assert_eq!(jwks.requests(), 1);
}

#[tokio::test]
async fn the_key_set_is_fetched_on_first_use_not_at_start() {
    let key = SigningKey::es256("k");
    let jwks = JwksServer::start(&[&key]).await;
    let authenticator = jwks.authenticator();
    assert_eq!(jwks.requests(), 0);
    authenticate(&authenticator, &key.token("u", Uuid::new_v4()))
        .await
        .unwrap();
    assert_eq!(jwks.requests(), 1);
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_then_accepted() {
    let old = SigningKey::es256("old");
    let new = SigningKey::es256("new");
    let jwks = JwksServer::start(&[&old]).await;
    let authenticator = jwks.authenticator();
    authenticate(&authenticator, &old.token("u", Uuid::new_v4()))
        .await
        .unwrap();

    // The first fetch happened just now: a minute must pass before the next.
    a_minute_later().await;
    jwks.publish(&[&new]);
    let caller = authenticate(&authenticator, &new.token("u", Uuid::new_v4())).await;
    assert!(caller.is_ok(), "{caller:?}");
    assert_eq!(jwks.requests(), 2);
    // The old key is gone from the set, and so from the cache.
    assert_eq!(
        authenticate(&authenticator, &old.token("u", Uuid::new_v4())).await,
        Err(InvalidToken::UnknownKey.into())
    );
}

#[tokio::test]
async fn unknown_kids_within_a_minute_cause_one_fetch_and_another_after_it() {
    let known = SigningKey::es256("known");
    let jwks = JwksServer::start(&[&known]).await;
    let authenticator = jwks.authenticator();
    let unknown = |kid: &str| SigningKey::es256(kid).token("mallory", Uuid::new_v4());

    // The first unknown kid triggers the first fetch; the second is refused without one.
    assert_eq!(
        refused(&authenticator, &unknown("forged-1")).await,
        InvalidToken::UnknownKey.into()
    );
    assert_eq!(
        refused(&authenticator, &unknown("forged-2")).await,
        InvalidToken::UnknownKey.into()
    );
    assert_eq!(jwks.requests(), 1);
    // Known keys keep working meanwhile, from the cache.
    authenticate(&authenticator, &known.token("u", Uuid::new_v4()))
        .await
        .unwrap();
    assert_eq!(jwks.requests(), 1);

    a_minute_later().await;
    let rotated = SigningKey::es256("forged-3");
    jwks.publish(&[&known, &rotated]);
    authenticate(&authenticator, &rotated.token("u", Uuid::new_v4()))
        .await
        .unwrap();
    assert_eq!(jwks.requests(), 2);
}

#[tokio::test]
async fn a_failing_key_set_makes_calls_unavailable_until_it_recovers() {
    let key = SigningKey::es256("k");
    let jwks = JwksServer::start(&[&key]).await;
    jwks.set_mode(Mode::Fail);
    let authenticator = jwks.authenticator();
    let token = key.token("u", Uuid::new_v4());

    assert_eq!(
        refused(&authenticator, &token).await,
        AuthError::Unavailable
    );
    // Within the minute the endpoint is not asked again, and the answer stays the same.
    assert_eq!(
        refused(&authenticator, &token).await,
        AuthError::Unavailable
    );
    assert_eq!(jwks.requests(), 1);

    jwks.set_mode(Mode::Serve);
    a_minute_later().await;
    authenticate(&authenticator, &token).await.unwrap();
    assert_eq!(jwks.requests(), 2);
}

#[tokio::test]
async fn redirects_of_the_key_set_are_not_followed() {
    let key = SigningKey::es256("k");
    let jwks = JwksServer::start(&[&key]).await;
    jwks.set_mode(Mode::Redirect);
    let authenticator = jwks.authenticator();
    assert_eq!(
        authenticate(&authenticator, &key.token("u", Uuid::new_v4())).await,
        Err(AuthError::Unavailable)
    );
}

#[tokio::test]
async fn an_unreachable_key_set_is_unavailable_not_a_panic() {
    // A port just freed by a listener: nothing answers there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let authenticator = Authenticator::new(&AuthConfig {
        jwks_url: Some(format!("http://127.0.0.1:{port}/certs")),
        ..AuthConfig::default()
    })
    .unwrap();
    let token = SigningKey::es256("k").token("u", Uuid::new_v4());
    assert_eq!(
        refused(&authenticator, &token).await,
        AuthError::Unavailable
    );
}

#[tokio::test]
async fn an_hs256_token_made_from_the_public_key_is_refused_when_only_the_jwks_is_configured() {
    let rs = SigningKey::rs256("rs-1");
    let jwks = JwksServer::start(&[&rs]).await;
    let authenticator = jwks.authenticator();
    let claims = claims("mallory", Uuid::new_v4());

    for material in public_material(&rs) {
        for kid in [Some("rs-1"), None] {
            let forged = hs256_with_kid(&material, kid, &claims);
            assert_eq!(
                refused(&authenticator, &forged).await,
                InvalidToken::AlgorithmNotAccepted.into()
            );
        }
    }
    // Refused on its header alone: the key set was not even fetched.
    assert_eq!(jwks.requests(), 0);
}

#[tokio::test]
async fn an_rs256_token_is_refused_when_only_a_secret_is_configured() {
    let authenticator = Authenticator::new(&secret_config()).unwrap();
    let token = SigningKey::rs256("rs-1").token("u", Uuid::new_v4());
    assert_eq!(
        refused(&authenticator, &token).await,
        InvalidToken::AlgorithmNotAccepted.into()
    );
}

#[tokio::test]
async fn with_both_a_secret_and_a_jwks_every_allowed_algorithm_is_accepted() {
    let es = SigningKey::es256("es-1");
    let rs = SigningKey::rs256("rs-1");
    let jwks = JwksServer::start(&[&es, &rs]).await;
    let authenticator = Authenticator::new(&AuthConfig {
        jwks_url: Some(jwks.url.clone()),
        ..secret_config()
    })
    .unwrap();
    let org = Uuid::new_v4();
    let hs =
        service_kit::auth::mint::hs256_token(SECRET, "u", &[org], Duration::from_secs(60)).unwrap();
    for token in [hs, es.token("u", org), rs.token("u", org)] {
        let caller = authenticate(&authenticator, &token).await.unwrap();
        assert!(caller.may_access(org));
    }
    // An HS256 token naming a key of the set is still checked with the secret only.
    let forged = hs256_with_kid(&public_material(&rs)[0], Some("rs-1"), &claims("m", org));
    assert_eq!(
        refused(&authenticator, &forged).await,
        InvalidToken::BadSignature.into()
    );
}

#[tokio::test]
async fn a_key_only_verifies_the_algorithm_it_was_published_for() {
    let es = SigningKey::es256("es-1");
    let rs = SigningKey::rs256("rs-1");
    let jwks = JwksServer::start(&[&es]).await;
    let authenticator = jwks.authenticator();
    // An RS256 token naming the kid of the P-256 key.
    let mut impostor = rs.clone();
    impostor.kid = "es-1".to_owned();
    assert_eq!(
        authenticate(&authenticator, &impostor.token("u", Uuid::new_v4())).await,
        Err(InvalidToken::AlgorithmNotAccepted.into())
    );
}

#[tokio::test]
async fn jwks_tokens_are_checked_like_any_other() {
    let key = SigningKey::es256("k");
    let other = SigningKey::es256("k");
    let jwks = JwksServer::start(&[&key]).await;
    let authenticator = jwks.authenticator();
    let org = Uuid::new_v4();
    let cases = [
        (
            key.sign(&serde_json::json!({"sub": "u", "exp": now() - 120})),
            AuthError::from(InvalidToken::Expired),
        ),
        (other.token("u", org), InvalidToken::BadSignature.into()),
        (
            {
                let mut anonymous = key.clone();
                anonymous.kid = String::new();
                let token = anonymous.token("u", org);
                // Drop the (empty) kid from the header altogether.
                let (_, rest) = token.split_once('.').unwrap();
                let header = base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    r#"{"alg":"ES256","typ":"JWT"}"#,
                );
                format!("{header}.{rest}")
            },
            InvalidToken::MissingKeyId.into(),
        ),
    ];
    for (token, error) in cases {
        assert_eq!(refused(&authenticator, &token).await, error);
    }
}
