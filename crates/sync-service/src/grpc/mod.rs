//! `winleadplus.WinLeadPlusSyncService` and `contrats.ContratService`: request validation,
//! tenancy and status mapping only; the work is in `engine` and `db`. Every handler takes the
//! caller's organisations from the request: an organisation the request names is checked
//! first (`PERMISSION_DENIED`), and lookups by id only see the caller's organisations
//! (another's resource is `NOT_FOUND`, as a missing one). Only this module (and the
//! server's set-up in `startup`) knows tonic; calls are counted by service-kit's metrics
//! layer, not here.

mod convert;
mod error;

use proto::contrats::contrat_service_server::ContratService;
use proto::contrats::{
    Contrat, ContratWithDetails, CreateContratRequest, DeleteContratRequest, DeleteResponse,
    GetContratByReferenceRequest, GetContratRequest, ListContratRequest, ListContratResponse,
    PaginationResult, UpdateContratRequest,
};
use proto::tonic::{self, Request, Response, Status};
use proto::winleadplus::win_lead_plus_sync_service_server::WinLeadPlusSyncService;
use proto::winleadplus::{
    GetSyncStatusRequest, GetSyncStatusResponse, GetWinLeadPlusConfigRequest,
    HasWinLeadPlusConfigResponse, ListWinLeadPlusSyncLogsRequest, ListWinLeadPlusSyncLogsResponse,
    SyncProspectsRequest, SyncProspectsResponse, TestConnectionRequest, TestConnectionResponse,
    UpdateWinLeadPlusConfigRequest, WinLeadPlusConfig,
};
use service_kit::grpc::respond;
use service_kit::paging::{self, PageRequest};
use uuid::Uuid;

pub use proto::contrats::contrat_service_server::ContratServiceServer;
pub use proto::winleadplus::win_lead_plus_sync_service_server::WinLeadPlusSyncServiceServer;

use crate::crypto::{TokenBinding, TokenCipher};
use crate::db::configs::{ConfigChange, ConfigStore, SaveTarget};
use crate::db::contrats::{ContratFilter, ContratPage, ContratStore};
use crate::db::logs::LogStore;
use crate::domain::{
    self, ContratSort, DEFAULT_INTERVAL_MINUTES, Endpoint, SyncConfig, SyncStatus,
};
use crate::engine::{RunOptions, SyncEngine, SyncOutcome, Trigger};
use crate::error::Error;
use crate::winleadplus::egress::Checked;
use crate::winleadplus::{Refusal, WinLeadPlusClient};
use service_kit::auth::{Organisations, Tenant};

/// Logs returned by `GetSyncLogs` when the caller gives no limit.
pub const DEFAULT_LOG_LIMIT: i64 = 10;
/// Most logs returned by `GetSyncLogs`.
pub const MAX_LOG_LIMIT: i64 = 100;
/// The message of `FAILED_PRECONDITION` for Create, Update and Delete of a contract.
pub const READ_ONLY_MESSAGE: &str =
    "contracts imported from WinLeadPlus are read-only; change them in WinLeadPlus";

/// Everything the handlers need, built once at start-up.
#[derive(Clone)]
pub struct Handlers {
    /// Configs.
    pub configs: ConfigStore,
    /// Sync logs.
    pub logs: LogStore,
    /// Contracts.
    pub contrats: ContratStore,
    /// Runs syncs.
    pub engine: SyncEngine,
    /// For TestConnection.
    pub winleadplus: WinLeadPlusClient,
    /// Seals tokens.
    pub cipher: TokenCipher,
    /// Endpoint of a new config.
    pub default_endpoint: String,
}

impl Handlers {
    async fn save_config(
        &self,
        organisations: &Organisations,
        r: UpdateWinLeadPlusConfigRequest,
    ) -> Result<WinLeadPlusConfig, Error> {
        // An organisation named in the request is checked before anything else is looked at.
        let tenant = r
            .organisation_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|org| requested(organisations, org))
            .transpose()?;
        let api_endpoint = match r.api_endpoint.as_deref() {
            Some(e) => Some(self.allowed_endpoint(e).await?),
            None => None,
        };
        let sync_interval_minutes = r.sync_interval_minutes.map(domain::interval).transpose()?;
        let api_token = r.api_token.as_deref().map(str::trim);
        // Decided on the row as it is, under its lock: the token is sealed for the origin the
        // config will have, and a token left behind by a move to another origin is cleared.
        let plan = |current: &SyncConfig| -> Result<ConfigChange, Error> {
            if let Some(tenant) = tenant
                && current.organisation_id != tenant.id()
            {
                return Err(Error::invalid(format!(
                    "config {} belongs to another organisation than {tenant}",
                    current.id
                )));
            }
            let stored = Endpoint::parse(&current.api_endpoint).ok();
            let endpoint = match (&api_endpoint, &stored) {
                (Some(new), _) => new.clone(),
                (None, Some(stored)) => stored.clone(),
                (None, None) => Endpoint::parse(&self.default_endpoint)?,
            };
            let moved = stored.is_none_or(|s| !s.same_origin(&endpoint));
            let api_token_encrypted = match api_token {
                Some("") => Some(None),
                Some(token) => {
                    let binding = TokenBinding::new(current.organisation_id, &endpoint);
                    Some(Some(self.cipher.seal(token, &binding).map_err(|e| {
                        Error::FailedPrecondition(format!("cannot store the API token: {e}"))
                    })?))
                }
                // The stored token is bound to its origin: it would not open at the new one,
                // and must never be sent there.
                None if moved && current.api_token_sealed.is_some() => Some(None),
                None => None,
            };
            Ok(ConfigChange {
                api_endpoint: api_endpoint.as_ref().map(|e| e.as_str().to_owned()),
                enabled: r.enabled,
                sync_interval_minutes,
                api_token_encrypted,
                updated_at: None,
            })
        };
        let saved = if !r.id.trim().is_empty() {
            let id = domain::parse_uuid("id", &r.id)?;
            // Another organisation's config is not found, exactly as a missing one: the
            // query only sees the caller's organisations.
            self.configs
                .save(SaveTarget::Id { organisations, id }, plan)
                .await?
                .ok_or_else(|| Error::NotFound(format!("no WinLeadPlus config with id {id}")))?
        } else if let Some(tenant) = tenant {
            let target = SaveTarget::Organisation {
                tenant,
                default_endpoint: &self.default_endpoint,
            };
            self.configs
                .save(target, plan)
                .await?
                .ok_or_else(|| Error::Internal("a config just created is missing".to_owned()))?
        } else {
            return Err(Error::invalid("give the config's id or an organisation_id"));
        };
        if api_token.is_none()
            && saved.before.api_token_sealed.is_some()
            && saved.after.api_token_sealed.is_none()
        {
            tracing::info!(
                organisation_id = %saved.after.organisation_id,
                from = %origin_of(&saved.before.api_endpoint),
                to = %origin_of(&saved.after.api_endpoint),
                "the endpoint moved to another origin: the stored WinLeadPlus token was cleared (has_api_token is now false; save an api_token for the new origin)"
            );
        }
        Ok(convert::config(saved.after))
    }

    /// A new `api_endpoint`, parsed and checked against the egress policy: its scheme, its
    /// address when it is an IP literal, and a host name's addresses when it resolves now
    /// (one that does not is accepted: every fetch checks it again).
    async fn allowed_endpoint(&self, value: &str) -> Result<Endpoint, Error> {
        let endpoint = Endpoint::parse(value)?;
        match self
            .winleadplus
            .egress()
            .check_resolved(endpoint.url())
            .await
            .map_err(refused)?
        {
            Checked::Static | Checked::Resolved => {}
            Checked::Unresolved(reason) => tracing::info!(
                endpoint = %endpoint.as_str(),
                %reason,
                "api_endpoint does not resolve now; saved, and checked again on every fetch"
            ),
        }
        Ok(endpoint)
    }

    async fn get_config(
        &self,
        organisations: &Organisations,
        r: GetWinLeadPlusConfigRequest,
    ) -> Result<WinLeadPlusConfig, Error> {
        let tenant = requested(organisations, &r.organisation_id)?;
        Ok(match self.configs.by_organisation(tenant).await? {
            Some(config) => convert::config(config),
            // Not saved yet: what SaveConfig would start from.
            None => WinLeadPlusConfig {
                id: String::new(),
                organisation_id: tenant.to_string(),
                api_endpoint: self.default_endpoint.clone(),
                enabled: false,
                sync_interval_minutes: DEFAULT_INTERVAL_MINUTES,
                last_sync_at: None,
                created_at: String::new(),
                updated_at: String::new(),
                has_api_token: Some(false),
            },
        })
    }

    async fn has_config(
        &self,
        organisations: &Organisations,
        r: GetWinLeadPlusConfigRequest,
    ) -> Result<HasWinLeadPlusConfigResponse, Error> {
        let tenant = requested(organisations, &r.organisation_id)?;
        let enabled = self
            .configs
            .by_organisation(tenant)
            .await?
            .is_some_and(|c| c.enabled);
        Ok(HasWinLeadPlusConfigResponse { enabled })
    }

    async fn test_connection(
        &self,
        organisations: &Organisations,
        r: TestConnectionRequest,
    ) -> Result<TestConnectionResponse, Error> {
        // Checked first: a foreign organisation gets neither its config read nor a request sent.
        let tenant = requested(organisations, &r.organisation_id)?;
        let stored = self.configs.by_organisation(tenant).await?;
        let stored_endpoint = match &stored {
            Some(c) => Endpoint::parse(&c.api_endpoint)?,
            None => Endpoint::parse(&self.default_endpoint)?,
        };
        let endpoint = if r.api_endpoint.trim().is_empty() {
            stored_endpoint.clone()
        } else {
            Endpoint::parse(&r.api_endpoint)?
        };
        // Before the token is even looked at: nothing goes where the policy forbids.
        self.winleadplus
            .egress()
            .check_url(endpoint.url())
            .map_err(refused)?;
        let token = match r
            .api_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(t) => t.to_owned(),
            None => match stored.as_ref().filter(|c| c.api_token_sealed.is_some()) {
                Some(config) => {
                    // The stored token only ever goes to the origin it was saved for.
                    if !endpoint.same_origin(&stored_endpoint) {
                        return Err(Error::PermissionDenied(format!(
                            "the stored token is only sent to {}; give api_token to test {}",
                            origin_of(stored_endpoint.as_str()),
                            origin_of(endpoint.as_str())
                        )));
                    }
                    self.engine.token_of(config)?
                }
                // The fallback only ever goes to the origin of WINLEADPLUS_API_URL.
                None => self.engine.fallback_for(tenant.id(), &endpoint)?,
            },
        };
        let outcome = self
            .winleadplus
            .test_connection(&endpoint, &token)
            .await
            .map_err(refused)?;
        Ok(TestConnectionResponse {
            success: outcome.success,
            message: outcome.message,
            http_status: outcome.http_status,
            latency_ms: outcome.latency_ms,
        })
    }

    async fn sync_prospects(
        &self,
        organisations: &Organisations,
        r: SyncProspectsRequest,
    ) -> Result<SyncProspectsResponse, Error> {
        let tenant = requested(organisations, &r.organisation_id)?;
        // The run goes on in its own task: a caller that hangs up does not abort it half-way.
        let engine = self.engine.clone();
        let options = RunOptions {
            dry_run: r.dry_run,
            force_archive: r.force_archive,
        };
        let outcome =
            tokio::spawn(async move { engine.sync(tenant, options, Trigger::Manual).await })
                .await
                .map_err(|e| Error::Internal(format!("sync task failed: {e}")))??;
        Ok(match outcome {
            SyncOutcome::Finished(log) => SyncProspectsResponse {
                success: log.status == SyncStatus::Success,
                sync_log: Some(convert::log(log)),
            },
            SyncOutcome::AlreadyRunning(log) => SyncProspectsResponse {
                success: false,
                sync_log: Some(convert::log(log)),
            },
            SyncOutcome::NotDue => SyncProspectsResponse {
                success: false,
                sync_log: None,
            },
        })
    }

    async fn sync_status(
        &self,
        organisations: &Organisations,
        r: GetSyncStatusRequest,
    ) -> Result<GetSyncStatusResponse, Error> {
        let tenant = requested(organisations, &r.organisation_id)?;
        let running = self.logs.running(tenant).await?;
        let last_sync_at = self
            .configs
            .by_organisation(tenant)
            .await?
            .and_then(|c| c.last_sync_at)
            .map(convert::timestamp);
        Ok(match running {
            Some(log) => GetSyncStatusResponse {
                is_syncing: true,
                current_sync_id: Some(log.id.to_string()),
                last_sync_at,
                processed: log.processed,
                total: log.total_prospects,
            },
            None => GetSyncStatusResponse {
                is_syncing: false,
                current_sync_id: None,
                last_sync_at,
                processed: 0,
                total: 0,
            },
        })
    }

    async fn sync_logs(
        &self,
        organisations: &Organisations,
        r: ListWinLeadPlusSyncLogsRequest,
    ) -> Result<ListWinLeadPlusSyncLogsResponse, Error> {
        let tenant = requested(organisations, &r.organisation_id)?;
        let limit = paging::limit(r.limit.unwrap_or(0), DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT)?;
        let logs = self.logs.recent(tenant, limit).await?;
        Ok(ListWinLeadPlusSyncLogsResponse {
            logs: logs.into_iter().map(convert::log).collect(),
        })
    }

    async fn get_contrat(
        &self,
        organisations: &Organisations,
        r: GetContratRequest,
    ) -> Result<Contrat, Error> {
        let id = domain::parse_uuid("id", &r.id)?;
        // The request names no organisation: the query sees only the caller's.
        let found = self.contrats.get(organisations, id).await?;
        found
            .map(convert::contrat)
            .ok_or_else(|| contrat_not_found(id))
    }

    async fn get_contrat_with_details(
        &self,
        organisations: &Organisations,
        r: GetContratRequest,
    ) -> Result<ContratWithDetails, Error> {
        let id = domain::parse_uuid("id", &r.id)?;
        let found = self.contrats.get_with_lines(organisations, id).await?;
        found
            .map(convert::contrat_with_details)
            .ok_or_else(|| contrat_not_found(id))
    }

    async fn get_contrat_by_reference(
        &self,
        organisations: &Organisations,
        r: GetContratByReferenceRequest,
    ) -> Result<Contrat, Error> {
        let tenant = requested(organisations, &r.organisation_id)?;
        let reference = r.reference.trim();
        if reference.is_empty() {
            return Err(Error::invalid("reference is required"));
        }
        let found = self.contrats.get_by_reference(tenant, reference).await?;
        found.map(convert::contrat).ok_or_else(|| {
            Error::NotFound(format!(
                "no contract with reference {reference:?} in organisation {tenant}"
            ))
        })
    }

    async fn list_contrats(
        &self,
        organisations: &Organisations,
        r: ListContratRequest,
    ) -> Result<ListContratResponse, Error> {
        let tenant = requested(organisations, &r.organisation_id)?;
        // The CRM sends every filter as a string: empty (or blank) is no filter.
        let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let uuid = |field: &str, v: &str| -> Result<Option<Uuid>, Error> {
            text(v).map(|v| domain::parse_uuid(field, &v)).transpose()
        };
        let filter = ContratFilter {
            client_id: uuid("client_id", &r.client_id)?,
            commercial_id: text(&r.commercial_id),
            societe_id: uuid("societe_id", &r.societe_id)?,
            statut: text(&r.statut),
            search: text(&r.search),
        };
        let pagination = r.pagination.unwrap_or_default();
        let request =
            PageRequest::parse(pagination.page, pagination.limit, &pagination.sort_order)?;
        let page = ContratPage {
            page: request.page,
            limit: request.limit,
            sort: ContratSort::parse(&pagination.sort_by)?,
            descending: request.descending,
        };
        let (contrats, total) = self.contrats.list(tenant, &filter, page).await?;
        let counts = request.counts(total);
        Ok(ListContratResponse {
            contrats: contrats.into_iter().map(convert::contrat).collect(),
            pagination: Some(PaginationResult {
                total: counts.total,
                page: counts.page,
                limit: counts.limit,
                total_pages: counts.total_pages,
            }),
        })
    }
}

/// An `api_endpoint` the egress policy refuses: `PERMISSION_DENIED` for an internal address,
/// `INVALID_ARGUMENT` for a scheme; the message names the rule.
fn refused(refusal: Refusal) -> Error {
    let message = format!("api_endpoint refused: {refusal}");
    if refusal.is_internal() {
        Error::PermissionDenied(message)
    } else {
        Error::Invalid(message)
    }
}

/// `scheme://host[:port]` of a stored endpoint, for messages (the text itself when it is not
/// a URL).
fn origin_of(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => endpoint.to_owned(),
    }
}

/// The organisation a request names, parsed, and checked against the caller's.
fn requested(organisations: &Organisations, organisation_id: &str) -> Result<Tenant, Error> {
    Ok(Tenant::checked(
        organisations,
        domain::organisation_id(organisation_id)?,
    )?)
}

/// The caller's organisations and the request's message. The kit's auth layer puts the
/// caller on every request it lets through; a request without one is refused (fail closed).
fn open<T>(request: Request<T>) -> Result<(Organisations, T), Status> {
    let organisations = service_kit::auth::caller(&request)?.organisations().clone();
    Ok((organisations, request.into_inner()))
}

/// Same message for a contract that does not exist and for another organisation's.
fn contrat_not_found(id: Uuid) -> Error {
    Error::NotFound(format!("contract {id} not found"))
}

/// What Create, Update and Delete answer: the contracts here are WinLeadPlus's, and a change
/// made in the CRM would be overwritten by the next sync.
fn read_only() -> Error {
    Error::FailedPrecondition(READ_ONLY_MESSAGE.to_owned())
}

#[tonic::async_trait]
impl WinLeadPlusSyncService for Handlers {
    async fn sync_prospects(
        &self,
        request: Request<SyncProspectsRequest>,
    ) -> Result<Response<SyncProspectsResponse>, Status> {
        let (organisations, r) = open(request)?;
        respond(Handlers::sync_prospects(self, &organisations, r).await)
    }

    async fn get_sync_status(
        &self,
        request: Request<GetSyncStatusRequest>,
    ) -> Result<Response<GetSyncStatusResponse>, Status> {
        let (organisations, r) = open(request)?;
        respond(self.sync_status(&organisations, r).await)
    }

    async fn get_sync_logs(
        &self,
        request: Request<ListWinLeadPlusSyncLogsRequest>,
    ) -> Result<Response<ListWinLeadPlusSyncLogsResponse>, Status> {
        let (organisations, r) = open(request)?;
        respond(self.sync_logs(&organisations, r).await)
    }

    async fn test_connection(
        &self,
        request: Request<TestConnectionRequest>,
    ) -> Result<Response<TestConnectionResponse>, Status> {
        let (organisations, r) = open(request)?;
        respond(Handlers::test_connection(self, &organisations, r).await)
    }

    async fn get_config(
        &self,
        request: Request<GetWinLeadPlusConfigRequest>,
    ) -> Result<Response<WinLeadPlusConfig>, Status> {
        let (organisations, r) = open(request)?;
        respond(Handlers::get_config(self, &organisations, r).await)
    }

    async fn save_config(
        &self,
        request: Request<UpdateWinLeadPlusConfigRequest>,
    ) -> Result<Response<WinLeadPlusConfig>, Status> {
        let (organisations, r) = open(request)?;
        respond(Handlers::save_config(self, &organisations, r).await)
    }

    async fn has_config(
        &self,
        request: Request<GetWinLeadPlusConfigRequest>,
    ) -> Result<Response<HasWinLeadPlusConfigResponse>, Status> {
        let (organisations, r) = open(request)?;
        respond(Handlers::has_config(self, &organisations, r).await)
    }
}

#[tonic::async_trait]
impl ContratService for Handlers {
    async fn create(
        &self,
        request: Request<CreateContratRequest>,
    ) -> Result<Response<Contrat>, Status> {
        service_kit::auth::caller(&request)?;
        respond(Err(read_only()))
    }

    async fn get(&self, request: Request<GetContratRequest>) -> Result<Response<Contrat>, Status> {
        let (organisations, r) = open(request)?;
        respond(self.get_contrat(&organisations, r).await)
    }

    async fn get_by_reference(
        &self,
        request: Request<GetContratByReferenceRequest>,
    ) -> Result<Response<Contrat>, Status> {
        let (organisations, r) = open(request)?;
        respond(self.get_contrat_by_reference(&organisations, r).await)
    }

    async fn update(
        &self,
        request: Request<UpdateContratRequest>,
    ) -> Result<Response<Contrat>, Status> {
        service_kit::auth::caller(&request)?;
        respond(Err(read_only()))
    }

    async fn list(
        &self,
        request: Request<ListContratRequest>,
    ) -> Result<Response<ListContratResponse>, Status> {
        let (organisations, r) = open(request)?;
        respond(self.list_contrats(&organisations, r).await)
    }

    async fn delete(
        &self,
        request: Request<DeleteContratRequest>,
    ) -> Result<Response<DeleteResponse>, Status> {
        service_kit::auth::caller(&request)?;
        respond(Err(read_only()))
    }

    async fn get_with_details(
        &self,
        request: Request<GetContratRequest>,
    ) -> Result<Response<ContratWithDetails>, Status> {
        let (organisations, r) = open(request)?;
        respond(self.get_contrat_with_details(&organisations, r).await)
    }
}
