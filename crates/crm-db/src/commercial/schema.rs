//! Diesel schema of `crm_commercial`, written to match `migrations/commercial` exactly (the
//! integration test `schema_matches_database` compares it with the migrated database).

/// Custom PostgreSQL types of `crm_commercial`.
pub mod sql_types {
    /// The PostgreSQL enum `sync_status` (`'RUNNING'`, `'SUCCESS'`, `'FAILED'`).
    #[derive(diesel::query_builder::QueryId, Clone, Copy, Debug, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "sync_status"))]
    pub struct SyncStatus;
}

diesel::table! {
    /// Contracts imported from WinLeadPlus; `reference` is unique per organisation.
    contrats (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        #[max_length = 100]
        reference -> Varchar,
        #[max_length = 50]
        external_id -> Nullable<Varchar>,
        client_id -> Nullable<Uuid>,
        #[max_length = 255]
        titre -> Varchar,
        #[max_length = 50]
        statut -> Varchar,
        montant -> Nullable<Numeric>,
        date_signature -> Nullable<Date>,
        date_debut -> Nullable<Date>,
        #[max_length = 10]
        devise -> Varchar,
        #[max_length = 50]
        frequence_facturation -> Nullable<Varchar>,
        #[max_length = 255]
        fournisseur -> Nullable<Varchar>,
        #[max_length = 100]
        commercial_id -> Nullable<Varchar>,
        notes -> Nullable<Text>,
        #[max_length = 50]
        source -> Varchar,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Lines of a contract, in `position` order; replaced as a whole on every update.
    lignes_contrat (id) {
        id -> Uuid,
        contrat_id -> Uuid,
        position -> Int4,
        #[max_length = 255]
        nom -> Varchar,
        prix_unitaire -> Nullable<Numeric>,
        quantite -> Int4,
        #[max_length = 100]
        categorie -> Nullable<Varchar>,
        #[max_length = 50]
        offre_id -> Nullable<Varchar>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// WinLeadPlus settings, one row per organisation.
    winleadplus_configs (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        api_endpoint -> Text,
        api_token_encrypted -> Nullable<Bytea>,
        enabled -> Bool,
        sync_interval_minutes -> Int4,
        last_sync_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Which CRM client and contracts each prospect became, and the hash last applied.
    winleadplus_mappings (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        winleadplus_prospect_id -> Int8,
        crm_client_id -> Uuid,
        crm_contrat_ids -> Array<Uuid>,
        #[max_length = 64]
        data_hash -> Varchar,
        source_version -> Int8,
        last_synced_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        /// Set while the prospect is absent from WinLeadPlus (archived), cleared when it is back.
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::SyncStatus;

    /// One row per sync run; at most one RUNNING per organisation.
    winleadplus_sync_logs (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        status -> SyncStatus,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        heartbeat_at -> Timestamptz,
        total_prospects -> Int4,
        created -> Int4,
        updated -> Int4,
        skipped -> Int4,
        failed -> Int4,
        processed -> Int4,
        dry_run -> Bool,
        errors -> Array<Text>,
        warnings -> Array<Text>,
        errors_dropped -> Int4,
        warnings_dropped -> Int4,
        message -> Nullable<Text>,
        duration_ms -> Nullable<Int8>,
        archived -> Int4,
    }
}

diesel::joinable!(lignes_contrat -> contrats (contrat_id));

diesel::allow_tables_to_appear_in_same_query!(
    contrats,
    lignes_contrat,
    winleadplus_configs,
    winleadplus_mappings,
    winleadplus_sync_logs,
);
