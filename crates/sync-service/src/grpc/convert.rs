//! Domain values → the `winleadplus` and `contrats` messages (RFC 3339 timestamps; the CRM's
//! `double` amounts from our exact decimals, here and nowhere else).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use proto::contrats::{Contrat, ContratWithDetails, LigneContrat};
use proto::winleadplus::{WinLeadPlusConfig, WinLeadPlusSyncLog};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::{self, ContratLigne, ContratWithLignes, SyncConfig, SyncLog};

pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn config(c: SyncConfig) -> WinLeadPlusConfig {
    WinLeadPlusConfig {
        id: c.id.to_string(),
        organisation_id: c.organisation_id.to_string(),
        api_endpoint: c.api_endpoint,
        enabled: c.enabled,
        sync_interval_minutes: c.sync_interval_minutes,
        last_sync_at: c.last_sync_at.map(timestamp),
        created_at: timestamp(c.created_at),
        updated_at: timestamp(c.updated_at),
        has_api_token: Some(c.api_token_sealed.is_some()),
    }
}

pub(crate) fn log(l: SyncLog) -> WinLeadPlusSyncLog {
    let mut errors = l.errors;
    if l.errors_dropped > 0 {
        errors.push(format!("… and {} more errors", l.errors_dropped));
    }
    let mut warnings = l.warnings;
    if l.warnings_dropped > 0 {
        warnings.push(format!("… and {} more warnings", l.warnings_dropped));
    }
    WinLeadPlusSyncLog {
        id: l.id.to_string(),
        organisation_id: l.organisation_id.to_string(),
        started_at: timestamp(l.started_at),
        finished_at: l.finished_at.map(timestamp),
        status: l.status.as_str().to_owned(),
        total_prospects: l.total_prospects,
        created: l.created,
        updated: l.updated,
        skipped: l.skipped,
        errors,
        failed: l.failed,
        dry_run: l.dry_run,
        warnings,
        duration_ms: l.duration_ms.unwrap_or_default(),
        archived: l.archived,
    }
}

/// The CRM's `Contrat` of an imported contract: what WinLeadPlus does not know is empty.
pub(crate) fn contrat(r: domain::Contrat) -> Contrat {
    Contrat {
        id: r.id.to_string(),
        organisation_id: r.organisation_id.to_string(),
        reference: r.reference,
        titre: r.titre,
        description: String::new(),
        r#type: String::new(),
        statut: r.statut,
        date_debut: date(r.date_debut),
        date_fin: String::new(),
        date_signature: date(r.date_signature),
        montant: amount(r.montant),
        devise: r.devise,
        frequence_facturation: r.frequence_facturation.unwrap_or_default(),
        document_url: String::new(),
        fournisseur: r.fournisseur.unwrap_or_default(),
        client_id: r.client_id.map(|u| u.to_string()).unwrap_or_default(),
        commercial_id: r.commercial_id.unwrap_or_default(),
        societe_id: String::new(),
        notes: r.notes.unwrap_or_default(),
        created_at: timestamp(r.created_at),
        updated_at: timestamp(r.updated_at),
        jour_prelevement: None,
        prochaine_date_prelevement: None,
        source: r.source,
        external_id: r.external_id,
    }
}

/// A contract with its lines, and no status history (WinLeadPlus keeps none).
pub(crate) fn contrat_with_details(c: ContratWithLignes) -> ContratWithDetails {
    let ContratWithLignes { contrat: r, lignes } = c;
    let organisation_id = r.organisation_id;
    ContratWithDetails {
        contrat: Some(contrat(r)),
        lignes: lignes
            .into_iter()
            .map(|l| ligne(organisation_id, l))
            .collect(),
        historique: Vec::new(),
    }
}

fn ligne(organisation_id: Uuid, l: ContratLigne) -> LigneContrat {
    LigneContrat {
        id: l.id.to_string(),
        contrat_id: l.contrat_id.to_string(),
        produit_id: l
            .offre_id
            .as_deref()
            .map(|offre| domain::produit_id(organisation_id, offre).to_string())
            .unwrap_or_default(),
        periode_facturation_id: String::new(),
        quantite: l.quantite,
        prix_unitaire: amount(l.prix_unitaire),
        canal_vente: mapper::SOURCE.to_owned(),
        created_at: timestamp(l.created_at),
        // Lines are replaced as a whole, never changed in place.
        updated_at: timestamp(l.created_at),
        nom: l.nom,
        categorie: l.categorie,
        offre_id: l.offre_id,
    }
}

/// A stored decimal as the CRM's `double`: the nearest double to the exact value (through
/// its decimal text, which parses correctly rounded); unknown is 0, the field not being
/// optional on the wire.
fn amount(d: Option<Decimal>) -> f64 {
    d.and_then(|d| d.to_string().parse().ok()).unwrap_or(0.0)
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}
