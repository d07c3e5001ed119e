//! Protobuf event payloads → validated commands. The one place the `events` messages are
//! read; each rule names the field it refuses.

use mapper::limits;
use proto::events::{AddressData, ClientCreate, ClientData, ClientUpdated, Lifecycle};

use crate::domain::{
    DEFAULT_TYPE_CLIENT, Phone, optional_text, parse_optional_date, parse_uuid, required_text,
};
use crate::error::Error;
use crate::events::{
    Change, CreateCommand, ExternalRef, SourceAddress, SourceClient, UpdateCommand,
};

/// Validates one item of a create batch.
pub(crate) fn create_command(item: ClientCreate) -> Result<CreateCommand, Error> {
    Ok(CreateCommand {
        reference: external_ref(&item.organisation_id, &item.source, &item.external_id)?,
        source_version: item.source_version,
        client: source_client(item.data)?,
        address: item.address.map(source_address).transpose()?,
    })
}

/// Validates an update event: new data (`UPDATE`, the default), an archive (no data) or a
/// restore (with data). An unknown lifecycle is refused, not taken for an update.
pub(crate) fn update_command(event: ClientUpdated) -> Result<UpdateCommand, Error> {
    let lifecycle = Lifecycle::try_from(event.lifecycle)
        .map_err(|_| Error::invalid(format!("unknown lifecycle {}", event.lifecycle)))?;
    let change = match lifecycle {
        Lifecycle::Archive => Change::Archive,
        Lifecycle::Update | Lifecycle::Restore => Change::Data {
            client: Box::new(source_client(event.data)?),
            address: event.address.map(source_address).transpose()?,
            restore: lifecycle == Lifecycle::Restore,
        },
    };
    Ok(UpdateCommand {
        client_id: parse_uuid("client_id", &event.client_id)?,
        reference: external_ref(&event.organisation_id, &event.source, &event.external_id)?,
        source_version: event.source_version,
        change,
    })
}

fn external_ref(
    organisation_id: &str,
    source: &str,
    external_id: &str,
) -> Result<ExternalRef, Error> {
    Ok(ExternalRef {
        organisation_id: parse_uuid("organisation_id", organisation_id)?,
        source: required_text("source", source, 50)?,
        external_id: required_text("external_id", external_id, limits::EXTERNAL_ID)?,
    })
}

fn source_client(data: Option<ClientData>) -> Result<SourceClient, Error> {
    let d = data.ok_or_else(|| Error::invalid("data is required"))?;
    let text = |field: &str, value: Option<String>, max: usize| {
        optional_text(field, value.as_deref(), max)
    };
    Ok(SourceClient {
        type_client: optional_text("type_client", Some(&d.type_client), 50)?
            .unwrap_or_else(|| DEFAULT_TYPE_CLIENT.to_owned()),
        nom: required_text("nom", &d.nom, limits::NOM)?,
        prenom: required_text("prenom", &d.prenom, limits::PRENOM)?,
        date_naissance: parse_optional_date("date_naissance", d.date_naissance.as_deref())?,
        compte_code: optional_text("compte_code", Some(&d.compte_code), limits::COMPTE_CODE)?,
        telephone: Phone::parse(d.telephone.as_deref())?,
        email: text("email", d.email, limits::EMAIL)?,
        canal_acquisition: optional_text(
            "canal_acquisition",
            Some(&d.canal_acquisition),
            limits::CANAL_ACQUISITION,
        )?,
        commercial_id: text("commercial_id", d.commercial_id, limits::COMMERCIAL_ID)?,
        civilite: text("civilite", d.civilite, limits::CIVILITE)?,
        csp: text("csp", d.csp, limits::CSP)?,
        regime_social: text("regime_social", d.regime_social, limits::REGIME_SOCIAL)?,
        lieu_naissance: text("lieu_naissance", d.lieu_naissance, limits::LIEU_NAISSANCE)?,
        pays_naissance: text("pays_naissance", d.pays_naissance, limits::PAYS_NAISSANCE)?,
        etape_courante: text("etape_courante", d.etape_courante, limits::ETAPE_COURANTE)?,
        statut_prospect: text(
            "statut_prospect",
            d.statut_prospect,
            limits::STATUT_PROSPECT,
        )?,
        numss: text("numss", d.numss, limits::NUMSS)?,
        is_politically_exposed: d.is_politically_exposed,
        gdpr_consent: d.gdpr_consent,
        gdpr_consent_communications: d.gdpr_consent_communications,
        iban: text("iban", d.iban, limits::IBAN)?,
        bic: text("bic", d.bic, limits::BIC)?,
        mandat_sepa: d.mandat_sepa,
    })
}

fn source_address(a: AddressData) -> Result<SourceAddress, Error> {
    let text = |field: &str, value: Option<String>, max: usize| {
        optional_text(field, value.as_deref(), max)
    };
    Ok(SourceAddress {
        ligne1: text("address.ligne1", a.ligne1, limits::ADRESSE_LIGNE)?,
        ligne2: text("address.ligne2", a.ligne2, limits::ADRESSE_LIGNE)?,
        code_postal: text("address.code_postal", a.code_postal, limits::CODE_POSTAL)?,
        ville: text("address.ville", a.ville, limits::VILLE)?,
        pays: optional_text("address.pays", Some(&a.pays), limits::PAYS)?,
    })
}
