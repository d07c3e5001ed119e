//! Row types → the `winleadplus` and `contrats` messages (RFC 3339 timestamps).

use chrono::{DateTime, SecondsFormat, Utc};
use proto::contrats::{Contrat, LigneContrat};
use proto::winleadplus::{WinLeadPlusConfig, WinLeadPlusSyncLog};

use crate::db::contrats::ContratWithLines;
use crate::db::models::{ConfigRow, LogRow};

pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn config(c: ConfigRow) -> WinLeadPlusConfig {
    WinLeadPlusConfig {
        id: c.id.to_string(),
        organisation_id: c.organisation_id.to_string(),
        api_endpoint: c.api_endpoint,
        enabled: c.enabled,
        sync_interval_minutes: c.sync_interval_minutes,
        last_sync_at: c.last_sync_at.map(timestamp),
        created_at: timestamp(c.created_at),
        updated_at: timestamp(c.updated_at),
        has_api_token: Some(c.api_token_encrypted.is_some()),
    }
}

pub(crate) fn log(l: LogRow) -> WinLeadPlusSyncLog {
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
    }
}

pub(crate) fn contrat(c: ContratWithLines) -> Contrat {
    let ContratWithLines { contrat: r, lignes } = c;
    Contrat {
        id: r.id.to_string(),
        organisation_id: r.organisation_id.to_string(),
        reference: r.reference,
        client_id: r.client_id.map(|u| u.to_string()),
        titre: r.titre,
        statut: r.statut,
        montant: r.montant.map(|d| d.to_string()),
        date_signature: r.date_signature.map(|d| d.to_string()),
        date_debut: r.date_debut.map(|d| d.to_string()),
        devise: r.devise,
        frequence_facturation: r.frequence_facturation,
        fournisseur: r.fournisseur.unwrap_or_default(),
        commercial_id: r.commercial_id,
        notes: r.notes,
        source: r.source,
        created_at: timestamp(r.created_at),
        updated_at: timestamp(r.updated_at),
        lignes: lignes
            .into_iter()
            .map(|l| LigneContrat {
                id: l.id.to_string(),
                contrat_id: l.contrat_id.to_string(),
                nom: l.nom,
                prix_unitaire: l.prix_unitaire.map(|d| d.to_string()),
                quantite: l.quantite,
                categorie: l.categorie,
                offre_id: l.offre_id,
            })
            .collect(),
        external_id: r.external_id,
    }
}
