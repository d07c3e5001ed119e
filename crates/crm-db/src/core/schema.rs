//! Diesel schema of `crm_core`, written to match `migrations/core` exactly (the integration
//! test `schema_matches_database` compares it with the migrated database).

diesel::table! {
    /// Postal addresses of clients; at most one `PRINCIPALE` per client.
    adresses (id) {
        id -> Uuid,
        client_base_id -> Uuid,
        #[max_length = 255]
        ligne1 -> Nullable<Varchar>,
        #[max_length = 255]
        ligne2 -> Nullable<Varchar>,
        #[max_length = 20]
        code_postal -> Nullable<Varchar>,
        #[max_length = 100]
        ville -> Nullable<Varchar>,
        #[max_length = 100]
        pays -> Nullable<Varchar>,
        #[sql_name = "type"]
        #[max_length = 20]
        type_ -> Varchar,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// CRM clients.
    clientbases (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        #[max_length = 50]
        type_client -> Varchar,
        #[max_length = 100]
        nom -> Varchar,
        #[max_length = 100]
        prenom -> Varchar,
        date_naissance -> Nullable<Date>,
        #[max_length = 50]
        compte_code -> Nullable<Varchar>,
        partenaire_id -> Nullable<Uuid>,
        date_creation -> Timestamptz,
        #[max_length = 50]
        telephone -> Nullable<Varchar>,
        #[max_length = 255]
        email -> Nullable<Varchar>,
        #[max_length = 50]
        statut -> Varchar,
        societe_id -> Nullable<Uuid>,
        #[max_length = 100]
        profession -> Nullable<Varchar>,
        #[max_length = 34]
        iban -> Nullable<Varchar>,
        mandat_sepa -> Nullable<Bool>,
        #[max_length = 50]
        kyc_status -> Nullable<Varchar>,
        gdpr_consent -> Nullable<Bool>,
        gdpr_consent_date -> Nullable<Timestamptz>,
        #[max_length = 20]
        langue -> Nullable<Varchar>,
        has_conciergerie -> Bool,
        has_justi_plus -> Bool,
        has_wincash -> Bool,
        uuid_wincash -> Nullable<Uuid>,
        uuid_justi_plus -> Nullable<Uuid>,
        date_premiere_souscription -> Nullable<Date>,
        #[max_length = 100]
        canal_acquisition -> Nullable<Varchar>,
        #[max_length = 50]
        source -> Nullable<Varchar>,
        #[max_length = 100]
        commercial_id -> Nullable<Varchar>,
        #[max_length = 11]
        bic -> Nullable<Varchar>,
        #[max_length = 20]
        civilite -> Nullable<Varchar>,
        #[max_length = 100]
        csp -> Nullable<Varchar>,
        #[max_length = 100]
        regime_social -> Nullable<Varchar>,
        #[max_length = 100]
        lieu_naissance -> Nullable<Varchar>,
        #[max_length = 100]
        pays_naissance -> Nullable<Varchar>,
        #[max_length = 100]
        etape_courante -> Nullable<Varchar>,
        is_politically_exposed -> Nullable<Bool>,
        #[max_length = 30]
        numss -> Nullable<Varchar>,
        gdpr_consent_communications -> Nullable<Bool>,
        #[max_length = 50]
        statut_prospect -> Nullable<Varchar>,
        #[max_length = 50]
        telephone_normalized -> Nullable<Varchar>,
        #[max_length = 50]
        external_source -> Nullable<Varchar>,
        #[max_length = 50]
        external_id -> Nullable<Varchar>,
        source_version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        /// A manual client the import linked to a record (it is unlinked, not deleted, when
        /// the record vanishes).
        import_linked -> Bool,
        /// The `source` a linked manual client had before the link.
        #[max_length = 50]
        source_before_link -> Nullable<Varchar>,
        /// Set when the import archived the client (a restore may undo only that).
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Client update messages given up on, for an operator to list and replay.
    dead_letters (id) {
        id -> Uuid,
        subject -> Text,
        payload -> Bytea,
        last_error -> Text,
        attempts -> Int4,
        created_at -> Timestamptz,
        replayed_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(adresses -> clientbases (client_base_id));

diesel::allow_tables_to_appear_in_same_query!(adresses, clientbases, dead_letters);
