//! Every record the mapper accepts fits both schemas: arbitrary prospects are mapped and what
//! came out is inserted into scratch crm_core and crm_commercial databases, through the same
//! casts the services use (text bound, cast by PostgreSQL, checked by the column types).
//!
//! The mapper itself stays free of I/O: the database is only among its dev-dependencies.

use crm_db::Database;
use crm_db::testing::TestDatabase;
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use mapper::{MappedProspect, map_prospect, normalize_phone};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use uuid::Uuid;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::properties::{leaf, prospect};

/// A prospect with both shapes of contracts in place, every value arbitrary: what reaches
/// the typed columns (amounts, prices, quantities, dates) is exercised on every case.
fn structured() -> impl Strategy<Value = Value> {
    (1..i64::MAX, prop::collection::vec(leaf(), 12), 0..1000_i64).prop_map(|(id, v, contract)| {
        json!({
            "idProspect": id,
            "nom": v[0], "dateNaissance": v[1], "telephone": v[2],
            "contrats": [{ "idContrat": contract, "montant": v[3], "dateSignature": v[4] }],
            "abonnements": [{ "offreId": v[5], "prix_base": v[6], "quantite": v[7] }],
            "Souscription": [{
                "totalAmount": v[8], "dateSouscription": v[9],
                "offre": { "offreId": 7, "prix_base": v[10], "quantite": v[11] },
                "contrats": [{ "id": contract + 1000 }],
            }],
        })
    })
}

fn text(value: &Option<String>) -> Option<String> {
    value.clone()
}

fn flag(value: Option<bool>) -> Option<String> {
    value.map(|b| b.to_string())
}

async fn insert_client(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    p: &MappedProspect,
) -> Result<Uuid, diesel::result::Error> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let c = &p.client;
    let id: Id = diesel::sql_query(
        "INSERT INTO clientbases (organisation_id, type_client, nom, prenom, date_naissance, compte_code, \
           telephone, email, statut, canal_acquisition, source, commercial_id, civilite, csp, regime_social, \
           lieu_naissance, pays_naissance, etape_courante, statut_prospect, numss, is_politically_exposed, \
           gdpr_consent, gdpr_consent_communications, iban, bic, mandat_sepa, telephone_normalized, \
           external_source, external_id) \
         VALUES ($1::uuid, $2, $3, $4, $5::date, $6, $7, $8, 'ACTIF', $9, 'WinLeadPlus', $10, $11, $12, $13, \
           $14, $15, $16, $17, $18, $19::boolean, $20::boolean, $21::boolean, $22, $23, $24::boolean, $25, \
           'WinLeadPlus', $26) RETURNING id",
    )
    .bind::<Text, _>(organisation.to_string())
    .bind::<Text, _>(&c.type_client)
    .bind::<Text, _>(&c.nom)
    .bind::<Text, _>(&c.prenom)
    .bind::<Nullable<Text>, _>(c.date_naissance.map(|d| d.to_string()))
    .bind::<Text, _>(&c.compte_code)
    .bind::<Nullable<Text>, _>(text(&c.telephone))
    .bind::<Nullable<Text>, _>(text(&c.email))
    .bind::<Text, _>(&c.canal_acquisition)
    .bind::<Nullable<Text>, _>(text(&c.commercial_id))
    .bind::<Nullable<Text>, _>(text(&c.civilite))
    .bind::<Nullable<Text>, _>(text(&c.csp))
    .bind::<Nullable<Text>, _>(text(&c.regime_social))
    .bind::<Nullable<Text>, _>(text(&c.lieu_naissance))
    .bind::<Nullable<Text>, _>(text(&c.pays_naissance))
    .bind::<Nullable<Text>, _>(text(&c.etape_courante))
    .bind::<Nullable<Text>, _>(text(&c.statut_prospect))
    .bind::<Nullable<Text>, _>(text(&c.numss))
    .bind::<Nullable<Text>, _>(flag(c.is_politically_exposed))
    .bind::<Nullable<Text>, _>(flag(c.gdpr_consent))
    .bind::<Nullable<Text>, _>(flag(c.gdpr_consent_communications))
    .bind::<Nullable<Text>, _>(text(&c.iban))
    .bind::<Nullable<Text>, _>(text(&c.bic))
    .bind::<Nullable<Text>, _>(flag(c.mandat_sepa))
    .bind::<Nullable<Text>, _>(c.telephone.as_deref().and_then(normalize_phone))
    .bind::<Text, _>(p.external_id.to_string())
    .get_result(conn)
    .await?;
    if let Some(a) = &p.address {
        diesel::sql_query(
            "INSERT INTO adresses (client_base_id, ligne1, ligne2, code_postal, ville, pays, type) \
             VALUES ($1::uuid, $2, $3, $4, $5, $6, 'PRINCIPALE')",
        )
        .bind::<Text, _>(id.id.to_string())
        .bind::<Nullable<Text>, _>(text(&a.ligne1))
        .bind::<Nullable<Text>, _>(text(&a.ligne2))
        .bind::<Nullable<Text>, _>(text(&a.code_postal))
        .bind::<Nullable<Text>, _>(text(&a.ville))
        .bind::<Text, _>(&a.pays)
        .execute(conn)
        .await?;
    }
    Ok(id.id)
}

async fn insert_contracts(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    client: Uuid,
    p: &MappedProspect,
) -> Result<(), diesel::result::Error> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    for k in &p.contrats {
        let id: Id = diesel::sql_query(
            "INSERT INTO contrats (organisation_id, reference, external_id, client_id, titre, statut, montant, \
               date_signature, date_debut, devise, frequence_facturation, fournisseur, commercial_id, notes, source) \
             VALUES ($1::uuid, $2, $3, $4::uuid, $5, $6, $7::numeric, $8::date, $9::date, $10, $11, $12, $13, $14, \
               'WinLeadPlus') RETURNING id",
        )
        .bind::<Text, _>(organisation.to_string())
        .bind::<Text, _>(&k.reference)
        .bind::<Text, _>(&k.external_id)
        .bind::<Text, _>(client.to_string())
        .bind::<Text, _>(&k.titre)
        .bind::<Text, _>(&k.statut)
        .bind::<Nullable<Text>, _>(k.montant.map(|m| m.to_string()))
        .bind::<Nullable<Text>, _>(k.date_signature.map(|d| d.to_string()))
        .bind::<Nullable<Text>, _>(k.date_debut.map(|d| d.to_string()))
        .bind::<Text, _>(&k.devise)
        .bind::<Nullable<Text>, _>(text(&k.frequence_facturation))
        .bind::<Text, _>(&k.fournisseur)
        .bind::<Nullable<Text>, _>(text(&k.commercial_id))
        .bind::<Nullable<Text>, _>(text(&k.notes))
        .get_result(conn)
        .await?;
        for (position, l) in k.lignes.iter().enumerate() {
            diesel::sql_query(
                "INSERT INTO lignes_contrat (contrat_id, position, nom, prix_unitaire, quantite, categorie, offre_id) \
                 VALUES ($1::uuid, $2::integer, $3, $4::numeric, $5::integer, $6, $7)",
            )
            .bind::<Text, _>(id.id.to_string())
            .bind::<Text, _>(position.to_string())
            .bind::<Text, _>(&l.nom)
            .bind::<Nullable<Text>, _>(l.prix_unitaire.map(|m| m.to_string()))
            .bind::<Text, _>(l.quantite.to_string())
            .bind::<Nullable<Text>, _>(text(&l.categorie))
            .bind::<Nullable<Text>, _>(text(&l.offre_id))
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

#[test]
fn every_record_the_mapper_accepts_can_be_inserted_into_both_schemas() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (core_db, commercial_db) = runtime.block_on(async {
        (
            TestDatabase::new(Database::Core).await,
            TestDatabase::new(Database::Commercial).await,
        )
    });
    let (core, commercial) = runtime.block_on(async {
        (
            AsyncPgConnection::establish(core_db.url()).await.unwrap(),
            AsyncPgConnection::establish(commercial_db.url())
                .await
                .unwrap(),
        )
    });
    let mut runner = TestRunner::new(Config {
        cases: 256,
        ..Config::default()
    });
    // The runner takes a `Fn`: the connections and the count are borrowed per case.
    let connections = std::cell::RefCell::new((core, commercial));
    let inserted = std::cell::Cell::new(0_usize);
    let result = runner.run(&prop_oneof![prospect(), structured()], |raw| {
        let Ok(mapped) = map_prospect(&raw) else {
            return Ok(());
        };
        inserted.set(inserted.get() + 1);
        let mut connections = connections.borrow_mut();
        let (core, commercial) = &mut *connections;
        // A new organisation per case: the same prospect id may come up twice.
        let organisation = Uuid::new_v4();
        runtime.block_on(async {
            let client = insert_client(core, organisation, &mapped)
                .await
                .map_err(|e| TestCaseError::fail(format!("crm_core refused {raw}: {e}")))?;
            insert_contracts(commercial, organisation, client, &mapped)
                .await
                .map_err(|e| TestCaseError::fail(format!("crm_commercial refused {raw}: {e}")))
        })
    });
    drop(connections);
    runtime.block_on(async {
        core_db.cleanup().await.unwrap();
        commercial_db.cleanup().await.unwrap();
    });
    result.unwrap();
    let inserted = inserted.get();
    assert!(inserted > 100, "only {inserted} prospects were mapped");
}
