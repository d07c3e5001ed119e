//! Row types → the `clients` messages of the wire contract (RFC 3339 timestamps, dates as
//! `YYYY-MM-DD`, absent text as an empty string where the contract has no `optional`).

use chrono::{DateTime, SecondsFormat, Utc};
use proto::clients::{Adresse, ClientBase};

use crate::db::ClientWithAddresses;
use crate::db::models::AddressRow;

pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn client_base(c: ClientWithAddresses) -> ClientBase {
    let ClientWithAddresses {
        client: r,
        addresses,
    } = c;
    ClientBase {
        id: r.id.to_string(),
        organisation_id: r.organisation_id.to_string(),
        type_client: r.type_client,
        nom: r.nom,
        prenom: r.prenom,
        date_naissance: r.date_naissance.map(|d| d.to_string()).unwrap_or_default(),
        compte_code: r.compte_code.unwrap_or_default(),
        partenaire_id: r.partenaire_id.map(|u| u.to_string()).unwrap_or_default(),
        date_creation: timestamp(r.date_creation),
        telephone: r.telephone.unwrap_or_default(),
        email: r.email.unwrap_or_default(),
        statut: r.statut,
        created_at: timestamp(r.created_at),
        updated_at: timestamp(r.updated_at),
        adresses: addresses.into_iter().map(adresse).collect(),
        societe_id: r.societe_id.map(|u| u.to_string()),
        profession: r.profession,
        iban: r.iban,
        mandat_sepa: r.mandat_sepa,
        kyc_status: r.kyc_status,
        gdpr_consent: r.gdpr_consent,
        gdpr_consent_date: r.gdpr_consent_date.map(timestamp),
        langue: r.langue,
        has_conciergerie: Some(r.has_conciergerie),
        has_justi_plus: Some(r.has_justi_plus),
        has_wincash: Some(r.has_wincash),
        uuid_wincash: r.uuid_wincash.map(|u| u.to_string()),
        uuid_justi_plus: r.uuid_justi_plus.map(|u| u.to_string()),
        date_premiere_souscription: r.date_premiere_souscription.map(|d| d.to_string()),
        canal_acquisition: r.canal_acquisition,
        source: r.source,
        commercial_id: r.commercial_id,
        bic: r.bic,
        civilite: r.civilite,
        csp: r.csp,
        regime_social: r.regime_social,
        lieu_naissance: r.lieu_naissance,
        pays_naissance: r.pays_naissance,
        etape_courante: r.etape_courante,
        is_politically_exposed: r.is_politically_exposed,
        numss: r.numss,
    }
}

fn adresse(a: AddressRow) -> Adresse {
    Adresse {
        id: a.id.to_string(),
        client_base_id: a.client_base_id.to_string(),
        ligne1: a.ligne1.unwrap_or_default(),
        ligne2: a.ligne2.unwrap_or_default(),
        code_postal: a.code_postal.unwrap_or_default(),
        ville: a.ville.unwrap_or_default(),
        pays: a.pays.unwrap_or_default(),
        r#type: a.type_,
        created_at: timestamp(a.created_at),
        updated_at: timestamp(a.updated_at),
    }
}
