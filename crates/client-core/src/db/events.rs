//! Writes driven by NATS events: creating or linking imported clients, applying updates.
//! Each create batch runs in one transaction, each item under its own savepoint, so one bad
//! item fails alone.

use chrono::Utc;
use crm_db::core::schema::{adresses, clientbases};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{NewClientRow, PrincipalAddressRow, SourceDataChangeset};
use super::{DbError, DbPool};
use crate::domain::DEFAULT_STATUT;
use crate::events::{CreateCommand, SourceAddress, SourceClient, UpdateCommand};

diesel::define_sql_function! {
    /// PostgreSQL's `COALESCE` for a text column and a fallback.
    fn coalesce(value: diesel::sql_types::Nullable<diesel::sql_types::Text>, fallback: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// What a create did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateOutcome {
    /// The CRM client of the external record.
    pub client_id: Uuid,
    /// True when this call created the client or linked an existing manual one; false when
    /// the record was already linked.
    pub created: bool,
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The row now holds the new version.
    Applied,
    /// The row already holds this version or a newer one.
    Stale,
    /// The client was deleted in the CRM; updates no longer apply.
    Deleted,
}

/// Why an update could not be applied (it will be retried, then dead-lettered).
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No such client in that organisation.
    #[error("client {client_id} of organisation {organisation_id} not found")]
    UnknownClient {
        /// The client named by the event.
        client_id: Uuid,
        /// The organisation named by the event.
        organisation_id: Uuid,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for UpdateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Event-driven writes over the pool.
#[derive(Clone)]
pub struct EventStore {
    pool: DbPool,
}

impl EventStore {
    /// A store over this pool.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// Creates, finds or links the client of each command. The result has one entry per
    /// command, in order. The whole batch is tried set-based first (a handful of statements
    /// whatever its size); if that fails, it is replayed item by item, each under its own
    /// savepoint, so that one bad item fails alone and the others still go in.
    pub async fn create_batch(
        &self,
        commands: &[CreateCommand],
    ) -> Result<Vec<Result<CreateOutcome, String>>, DbError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.get().await?;
        let bulk = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                super::bulk::create_all(conn, commands).await
            })
            .await;
        match bulk {
            Ok(outcomes) => return Ok(outcomes.into_iter().map(Ok).collect()),
            Err(e) => {
                tracing::warn!(error = %e, items = commands.len(), "bulk create failed; retrying item by item")
            }
        }
        let results = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                let mut results = Vec::with_capacity(commands.len());
                for command in commands {
                    let outcome = conn
                        .transaction::<_, diesel::result::Error, _>(async |conn| {
                            create_one(conn, command).await
                        })
                        .await;
                    results.push(outcome.map_err(|e| {
                        tracing::warn!(
                            external_id = %command.reference.external_id,
                            error = %e,
                            "client creation failed"
                        );
                        format!("cannot create client: {e}")
                    }));
                }
                Ok(results)
            })
            .await?;
        Ok(results)
    }

    /// Applies a batch of updates set-based (one transaction); one outcome per command, in
    /// order. `Err` when the batch as a whole failed: the caller then applies them one by
    /// one with [`EventStore::apply_update`] to isolate the culprit.
    pub async fn apply_updates(
        &self,
        commands: &[UpdateCommand],
    ) -> Result<Vec<Result<UpdateOutcome, UpdateError>>, DbError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.get().await?;
        Ok(conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                super::bulk::update_all(conn, commands).await
            })
            .await?)
    }

    /// Applies an update if it is newer than the row; never touches `source`, `statut`, `id`.
    pub async fn apply_update(
        &self,
        command: &UpdateCommand,
    ) -> Result<UpdateOutcome, UpdateError> {
        let mut conn = self.pool.get().await.map_err(DbError::from)?;
        conn.transaction::<_, UpdateError, _>(async |conn| {
            let changes = changeset(&command.client, command.source_version);
            let applied = diesel::update(clientbases::table)
                .filter(clientbases::id.eq(command.client_id))
                .filter(clientbases::organisation_id.eq(command.reference.organisation_id))
                .filter(clientbases::deleted_at.is_null())
                .filter(clientbases::source_version.lt(command.source_version))
                .set(&changes)
                .execute(conn)
                .await?;
            if applied == 1 {
                if let Some(address) = &command.address {
                    upsert_principal(conn, command.client_id, address).await?;
                }
                return Ok(UpdateOutcome::Applied);
            }
            let deleted: Option<Option<chrono::DateTime<Utc>>> = clientbases::table
                .filter(clientbases::id.eq(command.client_id))
                .filter(clientbases::organisation_id.eq(command.reference.organisation_id))
                .select(clientbases::deleted_at)
                .first(conn)
                .await
                .optional()?;
            match deleted {
                None => Err(UpdateError::UnknownClient {
                    client_id: command.client_id,
                    organisation_id: command.reference.organisation_id,
                }),
                Some(Some(_)) => Ok(UpdateOutcome::Deleted),
                Some(None) => Ok(UpdateOutcome::Stale),
            }
        })
        .await
    }
}

async fn create_one(
    conn: &mut AsyncPgConnection,
    command: &CreateCommand,
) -> Result<CreateOutcome, diesel::result::Error> {
    let reference = &command.reference;
    let existing: Option<Uuid> = clientbases::table
        .filter(clientbases::organisation_id.eq(reference.organisation_id))
        .filter(clientbases::external_source.eq(&reference.source))
        .filter(clientbases::external_id.eq(&reference.external_id))
        .select(clientbases::id)
        .first(conn)
        .await
        .optional()?;
    if let Some(client_id) = existing {
        return Ok(CreateOutcome {
            client_id,
            created: false,
        });
    }

    let phone = command
        .client
        .telephone
        .as_deref()
        .and_then(mapper::normalize_phone);
    if let Some(phone) = &phone {
        // A client entered by hand in the CRM, same phone and name, not linked yet: link it
        // rather than create a duplicate. Its own data is kept; `source` only if it had none.
        let candidate = clientbases::table
            .filter(clientbases::organisation_id.eq(reference.organisation_id))
            .filter(clientbases::external_id.is_null())
            .filter(clientbases::deleted_at.is_null())
            .filter(clientbases::telephone_normalized.eq(phone))
            .filter(
                super::clients::lower(clientbases::nom)
                    .eq(super::clients::lower(&command.client.nom)),
            )
            .order_by((clientbases::created_at.asc(), clientbases::id.asc()))
            .select(clientbases::id)
            .for_update()
            .skip_locked()
            .first::<Uuid>(conn)
            .await
            .optional()?;
        if let Some(client_id) = candidate {
            diesel::update(clientbases::table.filter(clientbases::id.eq(client_id)))
                .set((
                    clientbases::external_source.eq(&reference.source),
                    clientbases::external_id.eq(&reference.external_id),
                    clientbases::source
                        .eq(coalesce(clientbases::source, &reference.source).nullable()),
                    clientbases::source_version.eq(command.source_version),
                    clientbases::updated_at.eq(Utc::now()),
                ))
                .execute(conn)
                .await?;
            return Ok(CreateOutcome {
                client_id,
                created: true,
            });
        }
    }

    let row = new_client_row(command, phone);
    let inserted: Option<Uuid> = diesel::insert_into(clientbases::table)
        .values(&row)
        .on_conflict((
            clientbases::organisation_id,
            clientbases::external_source,
            clientbases::external_id,
        ))
        .filter_target(clientbases::external_id.is_not_null())
        .do_nothing()
        .returning(clientbases::id)
        .get_result(conn)
        .await
        .optional()?;
    let (client_id, created) = match inserted {
        Some(id) => (id, true),
        // Another request created it between our look-up and our insert.
        None => (
            clientbases::table
                .filter(clientbases::organisation_id.eq(reference.organisation_id))
                .filter(clientbases::external_source.eq(&reference.source))
                .filter(clientbases::external_id.eq(&reference.external_id))
                .select(clientbases::id)
                .first(conn)
                .await?,
            false,
        ),
    };
    if let (true, Some(address)) = (created, &command.address) {
        upsert_principal(conn, client_id, address).await?;
    }
    Ok(CreateOutcome { client_id, created })
}

pub(super) fn new_client_row(
    command: &CreateCommand,
    telephone_normalized: Option<String>,
) -> NewClientRow {
    let c = &command.client;
    NewClientRow {
        organisation_id: command.reference.organisation_id,
        type_client: c.type_client.clone(),
        nom: c.nom.clone(),
        prenom: c.prenom.clone(),
        date_naissance: c.date_naissance,
        compte_code: c.compte_code.clone(),
        telephone: c.telephone.clone(),
        telephone_normalized,
        email: c.email.clone(),
        statut: DEFAULT_STATUT.to_owned(),
        canal_acquisition: c.canal_acquisition.clone(),
        source: Some(command.reference.source.clone()),
        commercial_id: c.commercial_id.clone(),
        civilite: c.civilite.clone(),
        csp: c.csp.clone(),
        regime_social: c.regime_social.clone(),
        lieu_naissance: c.lieu_naissance.clone(),
        pays_naissance: c.pays_naissance.clone(),
        etape_courante: c.etape_courante.clone(),
        statut_prospect: c.statut_prospect.clone(),
        numss: c.numss.clone(),
        is_politically_exposed: c.is_politically_exposed,
        gdpr_consent: c.gdpr_consent,
        gdpr_consent_communications: c.gdpr_consent_communications,
        iban: c.iban.clone(),
        bic: c.bic.clone(),
        mandat_sepa: c.mandat_sepa,
        external_source: Some(command.reference.source.clone()),
        external_id: Some(command.reference.external_id.clone()),
        source_version: Some(command.source_version),
        ..NewClientRow::default()
    }
}

fn changeset(c: &SourceClient, source_version: i64) -> SourceDataChangeset {
    SourceDataChangeset {
        type_client: c.type_client.clone(),
        nom: c.nom.clone(),
        prenom: c.prenom.clone(),
        date_naissance: c.date_naissance,
        compte_code: c.compte_code.clone(),
        telephone: c.telephone.clone(),
        telephone_normalized: c.telephone.as_deref().and_then(mapper::normalize_phone),
        email: c.email.clone(),
        canal_acquisition: c.canal_acquisition.clone(),
        commercial_id: c.commercial_id.clone(),
        civilite: c.civilite.clone(),
        csp: c.csp.clone(),
        regime_social: c.regime_social.clone(),
        lieu_naissance: c.lieu_naissance.clone(),
        pays_naissance: c.pays_naissance.clone(),
        etape_courante: c.etape_courante.clone(),
        statut_prospect: c.statut_prospect.clone(),
        numss: c.numss.clone(),
        is_politically_exposed: c.is_politically_exposed,
        gdpr_consent: c.gdpr_consent,
        gdpr_consent_communications: c.gdpr_consent_communications,
        iban: c.iban.clone(),
        bic: c.bic.clone(),
        mandat_sepa: c.mandat_sepa,
        source_version,
        updated_at: Utc::now(),
    }
}

pub(super) async fn upsert_principal(
    conn: &mut AsyncPgConnection,
    client_id: Uuid,
    address: &SourceAddress,
) -> Result<(), diesel::result::Error> {
    let row = PrincipalAddressRow {
        client_base_id: client_id,
        ligne1: address.ligne1.clone(),
        ligne2: address.ligne2.clone(),
        code_postal: address.code_postal.clone(),
        ville: address.ville.clone(),
        pays: address.pays.clone(),
        type_: "PRINCIPALE".to_owned(),
    };
    diesel::insert_into(adresses::table)
        .values(&row)
        .on_conflict(adresses::client_base_id)
        // A literal, not a bind: PostgreSQL matches a partial unique index to ON CONFLICT
        // only when the predicate is known at plan time (a generic plan, after five
        // executions of a prepared statement, would fail with "no unique constraint").
        .filter_target(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "type = 'PRINCIPALE'",
        ))
        .do_update()
        .set((&row, adresses::updated_at.eq(Utc::now())))
        .execute(conn)
        .await?;
    Ok(())
}
