//! Mapped prospects → the messages and rows the engine writes: `events.ClientCreate`,
//! `events.ClientUpdated` (update, restore, archive), contract upserts. One conversion each,
//! in one place.

use mapper::{AddressRecord, ClientRecord, ContratRecord, MappedProspect};
use proto::events::{AddressData, ClientCreate, ClientData, ClientUpdated, Lifecycle};
use uuid::Uuid;

use crate::db::contrats::{ContratUpsert, LigneUpsert};

fn client_data(c: &ClientRecord) -> ClientData {
    ClientData {
        type_client: c.type_client.clone(),
        nom: c.nom.clone(),
        prenom: c.prenom.clone(),
        date_naissance: c.date_naissance.map(|d| d.to_string()),
        compte_code: c.compte_code.clone(),
        telephone: c.telephone.clone(),
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
    }
}

fn address(a: &AddressRecord) -> AddressData {
    AddressData {
        ligne1: a.ligne1.clone(),
        ligne2: a.ligne2.clone(),
        code_postal: a.code_postal.clone(),
        ville: a.ville.clone(),
        pays: a.pays.clone(),
    }
}

/// The create request item of a new prospect.
pub(crate) fn create_item(
    organisation_id: Uuid,
    p: &MappedProspect,
    source_version: i64,
) -> ClientCreate {
    ClientCreate {
        organisation_id: organisation_id.to_string(),
        source: mapper::SOURCE.to_owned(),
        external_id: p.external_id.to_string(),
        source_version,
        data: Some(client_data(&p.client)),
        address: p.address.as_ref().map(address),
    }
}

/// The update event of a changed prospect (a restore when it is back after an archive), and
/// its `Nats-Msg-Id` (`{organisation}:{prospect}:{data_hash}:{source_version}`): JetStream
/// drops only a second copy of this very publication.
pub(crate) fn update_event(
    organisation_id: Uuid,
    client_id: Uuid,
    p: &MappedProspect,
    source_version: i64,
    restore: bool,
) -> (String, ClientUpdated) {
    // Unique per publication: the version makes an A→B→A change a new message, which
    // JetStream's duplicate window would otherwise drop as the first A again.
    let msg_id = format!(
        "{organisation_id}:{}:{}:{source_version}",
        p.external_id, p.data_hash
    );
    let event = ClientUpdated {
        client_id: client_id.to_string(),
        organisation_id: organisation_id.to_string(),
        source: mapper::SOURCE.to_owned(),
        external_id: p.external_id.to_string(),
        source_version,
        data: Some(client_data(&p.client)),
        address: p.address.as_ref().map(address),
        lifecycle: if restore {
            Lifecycle::Restore
        } else {
            Lifecycle::Update
        }
        .into(),
    };
    (msg_id, event)
}

/// The archive event of a prospect that vanished from WinLeadPlus, and its `Nats-Msg-Id`
/// (`{organisation}:{prospect}:archived:{source_version}`): no data, only who and which
/// version, applied under the same version guard as updates.
pub(crate) fn archive_event(
    organisation_id: Uuid,
    client_id: Uuid,
    prospect_id: i64,
    source_version: i64,
) -> (String, ClientUpdated) {
    let msg_id = format!("{organisation_id}:{prospect_id}:archived:{source_version}");
    let event = ClientUpdated {
        client_id: client_id.to_string(),
        organisation_id: organisation_id.to_string(),
        source: mapper::SOURCE.to_owned(),
        external_id: prospect_id.to_string(),
        source_version,
        data: None,
        address: None,
        lifecycle: Lifecycle::Archive.into(),
    };
    (msg_id, event)
}

/// The contract rows of a prospect, for its CRM client.
pub(crate) fn contrat_upserts(client_id: Uuid, contrats: &[ContratRecord]) -> Vec<ContratUpsert> {
    contrats
        .iter()
        .map(|c| ContratUpsert {
            reference: c.reference.clone(),
            external_id: c.external_id.clone(),
            client_id,
            titre: c.titre.clone(),
            statut: c.statut.clone(),
            montant: c.montant,
            date_signature: c.date_signature,
            date_debut: c.date_debut,
            devise: c.devise.clone(),
            frequence_facturation: c.frequence_facturation.clone(),
            fournisseur: c.fournisseur.clone(),
            commercial_id: c.commercial_id.clone(),
            notes: c.notes.clone(),
            lignes: c
                .lignes
                .iter()
                .map(|l| LigneUpsert {
                    nom: l.nom.clone(),
                    prix_unitaire: l.prix_unitaire,
                    quantite: l.quantite,
                    categorie: l.categorie.clone(),
                    offre_id: l.offre_id.clone(),
                })
                .collect(),
        })
        .collect()
}
