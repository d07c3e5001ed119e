//! `clients.ClientBaseService`: request validation and status mapping only; the work is in
//! `db` and `domain`. Only this module (and the server's set-up in `startup`) knows tonic;
//! calls are counted by service-kit's metrics layer, not here.
//!
//! Every RPC is bounded by the authenticated caller's organisations: an `organisation_id` in
//! the request must be one of them (else PERMISSION_DENIED), and a client asked for by id is
//! looked up among them only, so that another organisation's client is NOT_FOUND like a
//! missing one.

mod convert;
mod error;

use mapper::limits;
use proto::clients::client_base_service_server::ClientBaseService;
use proto::clients::{
    ClientBase, CreateClientBaseRequest, DeleteClientBaseRequest, DeleteResponse,
    GetClientBaseRequest, ListClientsBaseRequest, ListClientsBaseResponse, PaginationResponse,
    SearchClientRequest, SearchClientResponse, UpdateClientBaseRequest,
};
use proto::tonic::{self, Request, Response, Status};
use service_kit::auth::{Organisations, Tenant, caller};
use service_kit::grpc::respond;
use service_kit::paging::PageRequest;

use crate::db::ClientStore;
use crate::db::models::{ClientColumns, ClientPatchRow, NewClientRow, PhoneColumns};
use crate::domain::{
    DEFAULT_STATUT, DEFAULT_TYPE_CLIENT, ListQuery, Phone, SortField, SourceFilter, optional_bic,
    optional_email, optional_iban, optional_text, parse_optional_date, parse_optional_uuid,
    parse_uuid, required_text,
};
use crate::error::Error;

pub use proto::clients::client_base_service_server::ClientBaseServiceServer;

/// The clients service, holding what its handlers need.
#[derive(Clone)]
pub struct ClientService {
    store: ClientStore,
}

impl ClientService {
    /// The service over a store.
    pub fn new(store: ClientStore) -> Self {
        Self { store }
    }

    async fn create(
        &self,
        organisations: &Organisations,
        r: CreateClientBaseRequest,
    ) -> Result<ClientBase, Error> {
        let organisation = Tenant::checked(
            organisations,
            parse_uuid("organisation_id", &r.organisation_id)?,
        )?;
        let phone = Phone::parse(Some(&r.telephone))?;
        let row = NewClientRow {
            columns: ClientColumns {
                type_client: optional_text("type_client", Some(&r.type_client), 50)?
                    .unwrap_or_else(|| DEFAULT_TYPE_CLIENT.to_owned()),
                nom: required_text("nom", &r.nom, limits::NOM)?,
                prenom: required_text("prenom", &r.prenom, limits::PRENOM)?,
                date_naissance: parse_optional_date("date_naissance", Some(&r.date_naissance))?,
                compte_code: optional_text(
                    "compte_code",
                    Some(&r.compte_code),
                    limits::COMPTE_CODE,
                )?,
                phone: PhoneColumns::of(phone.as_ref()),
                email: optional_email(Some(&r.email))?,
                canal_acquisition: optional_text(
                    "canal_acquisition",
                    r.canal_acquisition.as_deref(),
                    limits::CANAL_ACQUISITION,
                )?,
                iban: optional_iban(r.iban.as_deref())?,
                mandat_sepa: r.mandat_sepa,
                civilite: optional_text("civilite", r.civilite.as_deref(), limits::CIVILITE)?,
                bic: optional_bic(r.bic.as_deref())?,
                csp: optional_text("csp", r.csp.as_deref(), limits::CSP)?,
                regime_social: optional_text(
                    "regime_social",
                    r.regime_social.as_deref(),
                    limits::REGIME_SOCIAL,
                )?,
                lieu_naissance: optional_text(
                    "lieu_naissance",
                    r.lieu_naissance.as_deref(),
                    limits::LIEU_NAISSANCE,
                )?,
                pays_naissance: optional_text(
                    "pays_naissance",
                    r.pays_naissance.as_deref(),
                    limits::PAYS_NAISSANCE,
                )?,
                etape_courante: optional_text(
                    "etape_courante",
                    r.etape_courante.as_deref(),
                    limits::ETAPE_COURANTE,
                )?,
                is_politically_exposed: r.is_politically_exposed,
                numss: optional_text("numss", r.numss.as_deref(), limits::NUMSS)?,
                // WinLeadPlus's own: the CRM's Create does not carry them.
                commercial_id: None,
                statut_prospect: None,
                gdpr_consent: None,
                gdpr_consent_communications: None,
            },
            partenaire_id: parse_optional_uuid("partenaire_id", Some(&r.partenaire_id))?,
            statut: optional_text("statut", Some(&r.statut), 50)?
                .unwrap_or_else(|| DEFAULT_STATUT.to_owned()),
            societe_id: parse_optional_uuid("societe_id", r.societe_id.as_deref())?,
            has_conciergerie: r.has_conciergerie,
            has_justi_plus: r.has_justi_plus,
            has_wincash: r.has_wincash,
            uuid_wincash: parse_optional_uuid("uuid_wincash", r.uuid_wincash.as_deref())?,
            uuid_justi_plus: parse_optional_uuid("uuid_justi_plus", r.uuid_justi_plus.as_deref())?,
            date_premiere_souscription: parse_optional_date(
                "date_premiere_souscription",
                r.date_premiere_souscription.as_deref(),
            )?,
            source: optional_text("source", r.source.as_deref(), 50)?,
        };
        Ok(convert::client_base(
            self.store.create(organisation, row).await?,
        ))
    }

    async fn get(
        &self,
        organisations: &Organisations,
        r: GetClientBaseRequest,
    ) -> Result<ClientBase, Error> {
        let id = parse_uuid("id", &r.id)?;
        Ok(convert::client_base(
            self.store.get(organisations, id).await?,
        ))
    }

    /// The request carries no organisation (nor does the patch), so a client cannot be moved
    /// to another one; the store finds it among the caller's organisations only.
    async fn update(
        &self,
        organisations: &Organisations,
        r: UpdateClientBaseRequest,
    ) -> Result<ClientBase, Error> {
        let id = parse_uuid("id", &r.id)?;
        // A present empty string clears an optional column; required ones refuse it.
        let required =
            |field: &str, v: Option<String>, max: usize| -> Result<Option<String>, Error> {
                v.map(|v| required_text(field, &v, max)).transpose()
            };
        let clearable =
            |field: &str, v: Option<String>, max: usize| -> Result<Option<Option<String>>, Error> {
                v.map(|v| optional_text(field, Some(&v), max)).transpose()
            };
        let phone = r
            .telephone
            .map(|v| Phone::parse(Some(&v)).map(|p| PhoneColumns::of(p.as_ref())))
            .transpose()?;
        let patch = ClientPatchRow {
            type_client: required("type_client", r.type_client, 50)?,
            nom: required("nom", r.nom, limits::NOM)?,
            prenom: required("prenom", r.prenom, limits::PRENOM)?,
            date_naissance: r
                .date_naissance
                .map(|v| parse_optional_date("date_naissance", Some(&v)))
                .transpose()?,
            compte_code: clearable("compte_code", r.compte_code, limits::COMPTE_CODE)?,
            partenaire_id: r
                .partenaire_id
                .map(|v| parse_optional_uuid("partenaire_id", Some(&v)))
                .transpose()?,
            phone,
            email: r.email.map(|v| optional_email(Some(&v))).transpose()?,
            statut: required("statut", r.statut, 50)?,
            societe_id: r
                .societe_id
                .map(|v| parse_optional_uuid("societe_id", Some(&v)))
                .transpose()?,
            has_conciergerie: r.has_conciergerie,
            has_justi_plus: r.has_justi_plus,
            has_wincash: r.has_wincash,
            uuid_wincash: r
                .uuid_wincash
                .map(|v| parse_optional_uuid("uuid_wincash", Some(&v)))
                .transpose()?,
            uuid_justi_plus: r
                .uuid_justi_plus
                .map(|v| parse_optional_uuid("uuid_justi_plus", Some(&v)))
                .transpose()?,
            date_premiere_souscription: r
                .date_premiere_souscription
                .map(|v| parse_optional_date("date_premiere_souscription", Some(&v)))
                .transpose()?,
            canal_acquisition: clearable(
                "canal_acquisition",
                r.canal_acquisition,
                limits::CANAL_ACQUISITION,
            )?,
            source: clearable("source", r.source, 50)?,
            iban: r.iban.map(|v| optional_iban(Some(&v))).transpose()?,
            mandat_sepa: r.mandat_sepa,
            civilite: clearable("civilite", r.civilite, limits::CIVILITE)?,
            bic: r.bic.map(|v| optional_bic(Some(&v))).transpose()?,
            csp: clearable("csp", r.csp, limits::CSP)?,
            regime_social: clearable("regime_social", r.regime_social, limits::REGIME_SOCIAL)?,
            lieu_naissance: clearable("lieu_naissance", r.lieu_naissance, limits::LIEU_NAISSANCE)?,
            pays_naissance: clearable("pays_naissance", r.pays_naissance, limits::PAYS_NAISSANCE)?,
            etape_courante: clearable("etape_courante", r.etape_courante, limits::ETAPE_COURANTE)?,
            is_politically_exposed: r.is_politically_exposed,
            numss: clearable("numss", r.numss, limits::NUMSS)?,
            updated_at: None,
        };
        Ok(convert::client_base(
            self.store.update(organisations, id, patch).await?,
        ))
    }

    async fn delete(
        &self,
        organisations: &Organisations,
        r: DeleteClientBaseRequest,
    ) -> Result<DeleteResponse, Error> {
        let id = parse_uuid("id", &r.id)?;
        self.store.delete(organisations, id).await?;
        Ok(DeleteResponse { success: true })
    }

    async fn list(
        &self,
        organisations: &Organisations,
        r: ListClientsBaseRequest,
    ) -> Result<ListClientsBaseResponse, Error> {
        let organisation = Tenant::checked(
            organisations,
            parse_uuid("organisation_id", &r.organisation_id)?,
        )?;
        let pagination = r.pagination.unwrap_or_default();
        let page = PageRequest::parse(pagination.page, pagination.limit, &pagination.sort_order)?;
        let sort = SortField::parse(&pagination.sort_by)?;
        let query = ListQuery {
            organisation,
            statut: optional_text("statut_id", r.statut_id.as_deref(), 50)?,
            societe_id: parse_optional_uuid("societe_id", r.societe_id.as_deref())?,
            search: optional_text("search", r.search.as_deref(), 200)?,
            source: SourceFilter::parse(r.source.as_deref())?,
            page: page.page,
            limit: page.limit,
            sort,
            descending: page.descending,
        };
        let (clients, total) = self.store.list(&query).await?;
        let counts = page.counts(total);
        Ok(ListClientsBaseResponse {
            clients: clients.into_iter().map(convert::client_base).collect(),
            pagination: Some(PaginationResponse {
                total: counts.total,
                page: counts.page,
                limit: counts.limit,
                total_pages: counts.total_pages,
            }),
        })
    }

    async fn search(
        &self,
        organisations: &Organisations,
        r: SearchClientRequest,
    ) -> Result<SearchClientResponse, Error> {
        let organisation = Tenant::checked(
            organisations,
            parse_uuid("organisation_id", &r.organisation_id)?,
        )?;
        let phone = match Phone::parse(Some(&r.telephone))? {
            Some(phone) => Some(phone.normalized().map(str::to_owned).ok_or_else(|| {
                Error::invalid(format!("telephone has no digits: {:?}", phone.as_str()))
            })?),
            None => None,
        };
        let nom = optional_text("nom", Some(&r.nom), limits::NOM)?;
        if phone.is_none() && nom.is_none() {
            return Err(Error::invalid("give telephone, nom or both"));
        }
        let found = self.store.search(organisation, phone, nom).await?;
        Ok(SearchClientResponse {
            found: found.is_some(),
            client: found.map(convert::client_base),
        })
    }
}

/// The caller's organisations (see [`caller`]) and the request's message.
fn authorized<T>(request: Request<T>) -> Result<(Organisations, T), Status> {
    let organisations = caller(&request)?.organisations().clone();
    Ok((organisations, request.into_inner()))
}

#[tonic::async_trait]
impl ClientBaseService for ClientService {
    async fn create(
        &self,
        request: Request<CreateClientBaseRequest>,
    ) -> Result<Response<ClientBase>, Status> {
        let (organisations, r) = authorized(request)?;
        respond(ClientService::create(self, &organisations, r).await)
    }

    async fn update(
        &self,
        request: Request<UpdateClientBaseRequest>,
    ) -> Result<Response<ClientBase>, Status> {
        let (organisations, r) = authorized(request)?;
        respond(ClientService::update(self, &organisations, r).await)
    }

    async fn get(
        &self,
        request: Request<GetClientBaseRequest>,
    ) -> Result<Response<ClientBase>, Status> {
        let (organisations, r) = authorized(request)?;
        respond(ClientService::get(self, &organisations, r).await)
    }

    async fn list(
        &self,
        request: Request<ListClientsBaseRequest>,
    ) -> Result<Response<ListClientsBaseResponse>, Status> {
        let (organisations, r) = authorized(request)?;
        respond(ClientService::list(self, &organisations, r).await)
    }

    async fn delete(
        &self,
        request: Request<DeleteClientBaseRequest>,
    ) -> Result<Response<DeleteResponse>, Status> {
        let (organisations, r) = authorized(request)?;
        respond(ClientService::delete(self, &organisations, r).await)
    }

    async fn search(
        &self,
        request: Request<SearchClientRequest>,
    ) -> Result<Response<SearchClientResponse>, Status> {
        let (organisations, r) = authorized(request)?;
        respond(ClientService::search(self, &organisations, r).await)
    }
}
