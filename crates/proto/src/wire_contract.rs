//! The wire contract of PROTO_CONTRACT.md as a test: for every documented field, a message
//! with only that field set encodes with the documented field number and wire type. Renumbering
//! or retyping a field of the frontend's contract fails here.

#![allow(clippy::unwrap_used, clippy::panic)]

use prost::Message;

use crate::{clients, contrats, winleadplus};

/// Field number and wire type of the first (only) field of an encoded message.
fn key_of(bytes: &[u8]) -> (u32, u32) {
    let mut key: u64 = 0;
    for (i, b) in bytes.iter().enumerate() {
        key |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
    }
    ((key >> 3) as u32, (key & 7) as u32)
}

fn check<M: Message + Default>(message: M, expected: (u32, u32), what: &str) {
    let bytes = message.encode_to_vec();
    assert!(!bytes.is_empty(), "{what}: nothing encoded");
    assert_eq!(
        key_of(&bytes),
        expected,
        "{what}: (field number, wire type)"
    );
}

macro_rules! field {
    ($msg:ty, $field:ident = $value:expr, $number:expr, $wire:expr) => {
        check(
            <$msg>::default_with(|m| m.$field = $value),
            ($number, $wire),
            concat!(stringify!($msg), ".", stringify!($field)),
        )
    };
}

trait DefaultWith: Default {
    fn default_with(f: impl FnOnce(&mut Self)) -> Self {
        let mut m = Self::default();
        f(&mut m);
        m
    }
}
impl<T: Default> DefaultWith for T {}

#[test]
fn win_lead_plus_config_keeps_its_field_numbers() {
    field!(winleadplus::WinLeadPlusConfig, id = "x".into(), 1, 2);
    field!(
        winleadplus::WinLeadPlusConfig,
        organisation_id = "x".into(),
        2,
        2
    );
    field!(
        winleadplus::WinLeadPlusConfig,
        api_endpoint = "x".into(),
        3,
        2
    );
    field!(winleadplus::WinLeadPlusConfig, enabled = true, 4, 0);
    field!(
        winleadplus::WinLeadPlusConfig,
        sync_interval_minutes = 1,
        5,
        0
    );
    field!(
        winleadplus::WinLeadPlusConfig,
        last_sync_at = Some("x".into()),
        6,
        2
    );
    field!(
        winleadplus::WinLeadPlusConfig,
        created_at = "x".into(),
        7,
        2
    );
    field!(
        winleadplus::WinLeadPlusConfig,
        updated_at = "x".into(),
        8,
        2
    );
    field!(
        winleadplus::WinLeadPlusConfig,
        has_api_token = Some(true),
        9,
        0
    );
}

#[test]
fn update_win_lead_plus_config_request_keeps_its_field_numbers() {
    field!(
        winleadplus::UpdateWinLeadPlusConfigRequest,
        id = "x".into(),
        1,
        2
    );
    field!(
        winleadplus::UpdateWinLeadPlusConfigRequest,
        api_endpoint = Some("x".into()),
        2,
        2
    );
    field!(
        winleadplus::UpdateWinLeadPlusConfigRequest,
        enabled = Some(true),
        3,
        0
    );
    field!(
        winleadplus::UpdateWinLeadPlusConfigRequest,
        sync_interval_minutes = Some(1),
        4,
        0
    );
    field!(
        winleadplus::UpdateWinLeadPlusConfigRequest,
        organisation_id = Some("x".into()),
        5,
        2
    );
    field!(
        winleadplus::UpdateWinLeadPlusConfigRequest,
        api_token = Some("x".into()),
        6,
        2
    );
}

#[test]
fn create_win_lead_plus_config_request_keeps_its_field_numbers() {
    field!(
        winleadplus::CreateWinLeadPlusConfigRequest,
        organisation_id = "x".into(),
        1,
        2
    );
    field!(
        winleadplus::CreateWinLeadPlusConfigRequest,
        api_endpoint = "x".into(),
        2,
        2
    );
    field!(
        winleadplus::CreateWinLeadPlusConfigRequest,
        enabled = true,
        3,
        0
    );
    field!(
        winleadplus::CreateWinLeadPlusConfigRequest,
        sync_interval_minutes = 1,
        4,
        0
    );
}

#[test]
fn get_win_lead_plus_config_request_keeps_its_field_numbers() {
    field!(
        winleadplus::GetWinLeadPlusConfigRequest,
        organisation_id = "x".into(),
        1,
        2
    );
}

#[test]
fn has_win_lead_plus_config_response_keeps_its_field_numbers() {
    field!(
        winleadplus::HasWinLeadPlusConfigResponse,
        enabled = true,
        1,
        0
    );
}

#[test]
fn win_lead_plus_mapping_keeps_its_field_numbers() {
    field!(winleadplus::WinLeadPlusMapping, id = "x".into(), 1, 2);
    field!(
        winleadplus::WinLeadPlusMapping,
        organisation_id = "x".into(),
        2,
        2
    );
    field!(
        winleadplus::WinLeadPlusMapping,
        winleadplus_prospect_id = "x".into(),
        3,
        2
    );
    field!(
        winleadplus::WinLeadPlusMapping,
        crm_client_id = "x".into(),
        4,
        2
    );
    field!(
        winleadplus::WinLeadPlusMapping,
        crm_contrat_ids = vec!["x".into()],
        5,
        2
    );
    field!(
        winleadplus::WinLeadPlusMapping,
        last_synced_at = "x".into(),
        6,
        2
    );
}

#[test]
fn win_lead_plus_sync_log_keeps_its_field_numbers() {
    field!(winleadplus::WinLeadPlusSyncLog, id = "x".into(), 1, 2);
    field!(
        winleadplus::WinLeadPlusSyncLog,
        organisation_id = "x".into(),
        2,
        2
    );
    field!(
        winleadplus::WinLeadPlusSyncLog,
        started_at = "x".into(),
        3,
        2
    );
    field!(
        winleadplus::WinLeadPlusSyncLog,
        finished_at = Some("x".into()),
        4,
        2
    );
    field!(winleadplus::WinLeadPlusSyncLog, status = "x".into(), 5, 2);
    field!(winleadplus::WinLeadPlusSyncLog, total_prospects = 1, 6, 0);
    field!(winleadplus::WinLeadPlusSyncLog, created = 1, 7, 0);
    field!(winleadplus::WinLeadPlusSyncLog, updated = 1, 8, 0);
    field!(winleadplus::WinLeadPlusSyncLog, skipped = 1, 9, 0);
    field!(
        winleadplus::WinLeadPlusSyncLog,
        errors = vec!["x".into()],
        10,
        2
    );
    field!(winleadplus::WinLeadPlusSyncLog, failed = 1, 11, 0);
    field!(winleadplus::WinLeadPlusSyncLog, dry_run = true, 12, 0);
    field!(
        winleadplus::WinLeadPlusSyncLog,
        warnings = vec!["x".into()],
        13,
        2
    );
    field!(winleadplus::WinLeadPlusSyncLog, duration_ms = 1, 14, 0);
}

#[test]
fn list_win_lead_plus_sync_logs_request_keeps_its_field_numbers() {
    field!(
        winleadplus::ListWinLeadPlusSyncLogsRequest,
        organisation_id = "x".into(),
        1,
        2
    );
    field!(
        winleadplus::ListWinLeadPlusSyncLogsRequest,
        limit = Some(1),
        2,
        0
    );
}

#[test]
fn list_win_lead_plus_sync_logs_response_keeps_its_field_numbers() {
    field!(
        winleadplus::ListWinLeadPlusSyncLogsResponse,
        logs = vec![Default::default()],
        1,
        2
    );
}

#[test]
fn sync_prospects_request_keeps_its_field_numbers() {
    field!(
        winleadplus::SyncProspectsRequest,
        organisation_id = "x".into(),
        1,
        2
    );
    field!(winleadplus::SyncProspectsRequest, dry_run = true, 2, 0);
}

#[test]
fn sync_prospects_response_keeps_its_field_numbers() {
    field!(winleadplus::SyncProspectsResponse, success = true, 1, 0);
    field!(
        winleadplus::SyncProspectsResponse,
        sync_log = Some(Default::default()),
        2,
        2
    );
}

#[test]
fn get_sync_status_request_keeps_its_field_numbers() {
    field!(
        winleadplus::GetSyncStatusRequest,
        organisation_id = "x".into(),
        1,
        2
    );
}

#[test]
fn get_sync_status_response_keeps_its_field_numbers() {
    field!(winleadplus::GetSyncStatusResponse, is_syncing = true, 1, 0);
    field!(
        winleadplus::GetSyncStatusResponse,
        current_sync_id = Some("x".into()),
        2,
        2
    );
    field!(
        winleadplus::GetSyncStatusResponse,
        last_sync_at = Some("x".into()),
        3,
        2
    );
    field!(winleadplus::GetSyncStatusResponse, processed = 1, 4, 0);
    field!(winleadplus::GetSyncStatusResponse, total = 1, 5, 0);
}

#[test]
fn test_connection_request_keeps_its_field_numbers() {
    field!(
        winleadplus::TestConnectionRequest,
        organisation_id = "x".into(),
        1,
        2
    );
    field!(
        winleadplus::TestConnectionRequest,
        api_endpoint = "x".into(),
        2,
        2
    );
    field!(
        winleadplus::TestConnectionRequest,
        api_token = Some("x".into()),
        3,
        2
    );
}

#[test]
fn test_connection_response_keeps_its_field_numbers() {
    field!(winleadplus::TestConnectionResponse, success = true, 1, 0);
    field!(
        winleadplus::TestConnectionResponse,
        message = "x".into(),
        2,
        2
    );
    field!(winleadplus::TestConnectionResponse, http_status = 1, 3, 0);
    field!(winleadplus::TestConnectionResponse, latency_ms = 1, 4, 0);
}

#[test]
fn client_base_keeps_its_field_numbers() {
    field!(clients::ClientBase, id = "x".into(), 1, 2);
    field!(clients::ClientBase, organisation_id = "x".into(), 2, 2);
    field!(clients::ClientBase, type_client = "x".into(), 3, 2);
    field!(clients::ClientBase, nom = "x".into(), 4, 2);
    field!(clients::ClientBase, prenom = "x".into(), 5, 2);
    field!(clients::ClientBase, date_naissance = "x".into(), 6, 2);
    field!(clients::ClientBase, compte_code = "x".into(), 7, 2);
    field!(clients::ClientBase, partenaire_id = "x".into(), 8, 2);
    field!(clients::ClientBase, date_creation = "x".into(), 9, 2);
    field!(clients::ClientBase, telephone = "x".into(), 10, 2);
    field!(clients::ClientBase, email = "x".into(), 11, 2);
    field!(clients::ClientBase, statut = "x".into(), 12, 2);
    field!(clients::ClientBase, created_at = "x".into(), 13, 2);
    field!(clients::ClientBase, updated_at = "x".into(), 14, 2);
    field!(
        clients::ClientBase,
        adresses = vec![Default::default()],
        15,
        2
    );
    field!(clients::ClientBase, societe_id = Some("x".into()), 16, 2);
    field!(clients::ClientBase, profession = Some("x".into()), 17, 2);
    field!(clients::ClientBase, iban = Some("x".into()), 18, 2);
    field!(clients::ClientBase, mandat_sepa = Some(true), 19, 0);
    field!(clients::ClientBase, kyc_status = Some("x".into()), 20, 2);
    field!(clients::ClientBase, gdpr_consent = Some(true), 21, 0);
    field!(
        clients::ClientBase,
        gdpr_consent_date = Some("x".into()),
        22,
        2
    );
    field!(clients::ClientBase, langue = Some("x".into()), 23, 2);
    field!(clients::ClientBase, has_conciergerie = Some(true), 24, 0);
    field!(clients::ClientBase, has_justi_plus = Some(true), 25, 0);
    field!(clients::ClientBase, has_wincash = Some(true), 26, 0);
    field!(clients::ClientBase, uuid_wincash = Some("x".into()), 27, 2);
    field!(
        clients::ClientBase,
        uuid_justi_plus = Some("x".into()),
        28,
        2
    );
    field!(
        clients::ClientBase,
        date_premiere_souscription = Some("x".into()),
        29,
        2
    );
    field!(
        clients::ClientBase,
        canal_acquisition = Some("x".into()),
        30,
        2
    );
    field!(clients::ClientBase, source = Some("x".into()), 31, 2);
    field!(clients::ClientBase, commercial_id = Some("x".into()), 41, 2);
    field!(clients::ClientBase, bic = Some("x".into()), 33, 2);
    field!(clients::ClientBase, civilite = Some("x".into()), 32, 2);
    field!(clients::ClientBase, csp = Some("x".into()), 34, 2);
    field!(clients::ClientBase, regime_social = Some("x".into()), 35, 2);
    field!(
        clients::ClientBase,
        lieu_naissance = Some("x".into()),
        36,
        2
    );
    field!(
        clients::ClientBase,
        pays_naissance = Some("x".into()),
        37,
        2
    );
    field!(
        clients::ClientBase,
        etape_courante = Some("x".into()),
        38,
        2
    );
    field!(
        clients::ClientBase,
        is_politically_exposed = Some(true),
        39,
        0
    );
    field!(clients::ClientBase, numss = Some("x".into()), 40, 2);
}

#[test]
fn create_client_base_request_keeps_its_field_numbers() {
    field!(
        clients::CreateClientBaseRequest,
        organisation_id = "x".into(),
        1,
        2
    );
    field!(
        clients::CreateClientBaseRequest,
        type_client = "x".into(),
        2,
        2
    );
    field!(clients::CreateClientBaseRequest, nom = "x".into(), 3, 2);
    field!(clients::CreateClientBaseRequest, prenom = "x".into(), 4, 2);
    field!(
        clients::CreateClientBaseRequest,
        date_naissance = "x".into(),
        5,
        2
    );
    field!(
        clients::CreateClientBaseRequest,
        compte_code = "x".into(),
        6,
        2
    );
    field!(
        clients::CreateClientBaseRequest,
        partenaire_id = "x".into(),
        7,
        2
    );
    field!(
        clients::CreateClientBaseRequest,
        telephone = "x".into(),
        8,
        2
    );
    field!(clients::CreateClientBaseRequest, email = "x".into(), 9, 2);
    field!(clients::CreateClientBaseRequest, statut = "x".into(), 10, 2);
    field!(
        clients::CreateClientBaseRequest,
        societe_id = Some("x".into()),
        11,
        2
    );
    field!(
        clients::CreateClientBaseRequest,
        has_conciergerie = Some(true),
        12,
        0
    );
    field!(
        clients::CreateClientBaseRequest,
        has_justi_plus = Some(true),
        13,
        0
    );
    field!(
        clients::CreateClientBaseRequest,
        has_wincash = Some(true),
        14,
        0
    );
    field!(
        clients::CreateClientBaseRequest,
        uuid_wincash = Some("x".into()),
        15,
        2
    );
    field!(
        clients::CreateClientBaseRequest,
        uuid_justi_plus = Some("x".into()),
        16,
        2
    );
    field!(
        clients::CreateClientBaseRequest,
        date_premiere_souscription = Some("x".into()),
        17,
        2
    );
    field!(
        clients::CreateClientBaseRequest,
        canal_acquisition = Some("x".into()),
        18,
        2
    );
    field!(
        clients::CreateClientBaseRequest,
        source = Some("x".into()),
        19,
        2
    );
}

#[test]
fn update_client_base_request_keeps_its_field_numbers() {
    field!(clients::UpdateClientBaseRequest, id = "x".into(), 1, 2);
    field!(
        clients::UpdateClientBaseRequest,
        type_client = Some("x".into()),
        2,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        nom = Some("x".into()),
        3,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        prenom = Some("x".into()),
        4,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        date_naissance = Some("x".into()),
        5,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        compte_code = Some("x".into()),
        6,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        partenaire_id = Some("x".into()),
        7,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        telephone = Some("x".into()),
        8,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        email = Some("x".into()),
        9,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        statut = Some("x".into()),
        10,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        societe_id = Some("x".into()),
        11,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        has_conciergerie = Some(true),
        12,
        0
    );
    field!(
        clients::UpdateClientBaseRequest,
        has_justi_plus = Some(true),
        13,
        0
    );
    field!(
        clients::UpdateClientBaseRequest,
        has_wincash = Some(true),
        14,
        0
    );
    field!(
        clients::UpdateClientBaseRequest,
        uuid_wincash = Some("x".into()),
        15,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        uuid_justi_plus = Some("x".into()),
        16,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        date_premiere_souscription = Some("x".into()),
        17,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        canal_acquisition = Some("x".into()),
        18,
        2
    );
    field!(
        clients::UpdateClientBaseRequest,
        source = Some("x".into()),
        19,
        2
    );
}

#[test]
fn get_client_base_request_keeps_its_field_numbers() {
    field!(clients::GetClientBaseRequest, id = "x".into(), 1, 2);
}

#[test]
fn delete_client_base_request_keeps_its_field_numbers() {
    field!(clients::DeleteClientBaseRequest, id = "x".into(), 1, 2);
}

#[test]
fn delete_response_keeps_its_field_numbers() {
    field!(clients::DeleteResponse, success = true, 1, 0);
}

#[test]
fn list_clients_base_request_keeps_its_field_numbers() {
    field!(
        clients::ListClientsBaseRequest,
        organisation_id = "x".into(),
        1,
        2
    );
    field!(
        clients::ListClientsBaseRequest,
        statut_id = Some("x".into()),
        2,
        2
    );
    field!(
        clients::ListClientsBaseRequest,
        societe_id = Some("x".into()),
        3,
        2
    );
    field!(
        clients::ListClientsBaseRequest,
        search = Some("x".into()),
        4,
        2
    );
    field!(
        clients::ListClientsBaseRequest,
        source = Some("x".into()),
        5,
        2
    );
    field!(
        clients::ListClientsBaseRequest,
        pagination = Some(Default::default()),
        6,
        2
    );
}

#[test]
fn list_clients_base_response_keeps_its_field_numbers() {
    field!(
        clients::ListClientsBaseResponse,
        clients = vec![Default::default()],
        1,
        2
    );
    field!(
        clients::ListClientsBaseResponse,
        pagination = Some(Default::default()),
        2,
        2
    );
}

#[test]
fn pagination_request_keeps_its_field_numbers() {
    field!(clients::PaginationRequest, page = 1, 1, 0);
    field!(clients::PaginationRequest, limit = 1, 2, 0);
    field!(clients::PaginationRequest, sort_by = "x".into(), 3, 2);
    field!(clients::PaginationRequest, sort_order = "x".into(), 4, 2);
}

#[test]
fn pagination_response_keeps_its_field_numbers() {
    field!(clients::PaginationResponse, total = 1, 1, 0);
    field!(clients::PaginationResponse, page = 1, 2, 0);
    field!(clients::PaginationResponse, limit = 1, 3, 0);
    field!(clients::PaginationResponse, total_pages = 1, 4, 0);
}

#[test]
fn search_client_request_keeps_its_field_numbers() {
    field!(
        clients::SearchClientRequest,
        organisation_id = "x".into(),
        1,
        2
    );
    field!(clients::SearchClientRequest, telephone = "x".into(), 2, 2);
    field!(clients::SearchClientRequest, nom = "x".into(), 3, 2);
}

#[test]
fn search_client_response_keeps_its_field_numbers() {
    field!(clients::SearchClientResponse, found = true, 1, 0);
    field!(
        clients::SearchClientResponse,
        client = Some(Default::default()),
        2,
        2
    );
}

#[test]
fn adresse_keeps_its_field_numbers() {
    field!(clients::Adresse, id = "x".into(), 1, 2);
    field!(clients::Adresse, client_base_id = "x".into(), 2, 2);
    field!(clients::Adresse, ligne1 = "x".into(), 3, 2);
    field!(clients::Adresse, ligne2 = "x".into(), 4, 2);
    field!(clients::Adresse, code_postal = "x".into(), 5, 2);
    field!(clients::Adresse, ville = "x".into(), 6, 2);
    field!(clients::Adresse, pays = "x".into(), 7, 2);
    field!(clients::Adresse, r#type = "x".into(), 8, 2);
    field!(clients::Adresse, created_at = "x".into(), 9, 2);
    field!(clients::Adresse, updated_at = "x".into(), 10, 2);
}

#[test]
fn get_contrat_request_keeps_its_field_numbers() {
    field!(contrats::GetContratRequest, id = "x".into(), 1, 2);
}

#[test]
fn services_keep_their_full_names() {
    assert_eq!(
        clients::client_base_service_server::SERVICE_NAME,
        "clients.ClientBaseService"
    );
    assert_eq!(
        winleadplus::win_lead_plus_sync_service_server::SERVICE_NAME,
        "winleadplus.WinLeadPlusSyncService"
    );
    assert_eq!(
        contrats::contrat_service_server::SERVICE_NAME,
        "contrats.ContratService"
    );
}
