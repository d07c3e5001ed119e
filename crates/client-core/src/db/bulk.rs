//! Set-based writes of imported clients: a create batch costs a handful of statements,
//! whatever its size (look up the linked ones, link matching manual clients, insert the
//! rest, write their addresses); an update batch three at most. The item-by-item fallback of
//! `events.rs` runs these same functions with one item, so the two paths cannot drift apart.
//! The client columns are named and bound from one list, [`CLIENT_COLUMNS`].

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::events::{CreateOutcome, UpdateError, UpdateOutcome};
use super::models::{CLIENT_COLUMNS, ClientColumns, ColumnArray};
use crate::domain::DEFAULT_STATUT;
use crate::events::{Change, CreateCommand, SourceAddress, SourceClient, UpdateCommand};

type Key<'a> = (Uuid, &'a str, &'a str);

/// A statement over `UNNEST` arrays. Boxed, so that the client columns can be bound in a
/// loop over [`CLIENT_COLUMNS`]; diesel then does not keep it as a prepared statement, which
/// costs one parse per batch, not per row.
type Statement<'a> = BoxedSqlQuery<'a, Pg, SqlQuery>;

#[derive(QueryableByName)]
struct Hit {
    #[diesel(sql_type = BigInt)]
    i: i64,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct Returned {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

/// Creates, finds or links every command's client, in the caller's transaction. One outcome
/// per command, in order.
#[tracing::instrument(skip_all, fields(op = "create_clients", batch = commands.len()))]
pub(super) async fn create_all(
    conn: &mut AsyncPgConnection,
    commands: &[CreateCommand],
) -> Result<Vec<CreateOutcome>, diesel::result::Error> {
    let columns: Vec<ClientColumns> = commands
        .iter()
        .map(|c| ClientColumns::from(&c.client))
        .collect();
    // The same external record twice in a batch: the first occurrence decides.
    let mut first_of: HashMap<Key<'_>, usize> = HashMap::new();
    let mut unique: Vec<usize> = Vec::new();
    for (i, c) in commands.iter().enumerate() {
        if let Entry::Vacant(slot) = first_of.entry(key_of(c)) {
            slot.insert(i);
            unique.push(i);
        }
    }
    let mut outcomes: Vec<Option<CreateOutcome>> = vec![None; commands.len()];
    let pending = |outcomes: &[Option<CreateOutcome>], among: &[usize]| -> Vec<usize> {
        among
            .iter()
            .copied()
            .filter(|&i| outcomes[i].is_none())
            .collect()
    };

    // 1. Already linked: a create sent again, its answer or its record lost in a crash. Its
    //    data goes to the client as an update would (when newer, restoring an archived
    //    client): a change made in between is not lost behind "already exists".
    let again = linked(conn, commands, &unique).await?;
    if !again.is_empty() {
        let updates: Vec<UpdateCommand> = again
            .iter()
            .map(|&(i, client_id)| UpdateCommand {
                client_id,
                reference: commands[i].reference.clone(),
                source_version: commands[i].source_version,
                change: Change::Data {
                    client: Box::new(commands[i].client.clone()),
                    address: commands[i].address.clone(),
                    restore: false,
                },
            })
            .collect();
        update_all(conn, &updates).await?;
    }
    for (i, id) in again {
        outcomes[i] = Some(CreateOutcome {
            client_id: id,
            created: false,
        });
    }

    // 2. Link manual clients.
    let unlinked = pending(&outcomes, &unique);
    for (i, id) in link_manual_clients(conn, commands, &columns, &unlinked).await? {
        outcomes[i] = Some(CreateOutcome {
            client_id: id,
            created: true,
        });
    }

    // 3. Insert the rest; a concurrent insert of the same record is found afterwards.
    let to_insert = pending(&outcomes, &unique);
    if !to_insert.is_empty() {
        for (org, src, ext, id) in insert(conn, commands, &columns, &to_insert).await? {
            if let Some(&i) = first_of.get(&(org, src.as_str(), ext.as_str())) {
                outcomes[i] = Some(CreateOutcome {
                    client_id: id,
                    created: true,
                });
            }
        }
        let missing = pending(&outcomes, &to_insert);
        for (i, id) in linked(conn, commands, &missing).await? {
            outcomes[i] = Some(CreateOutcome {
                client_id: id,
                created: false,
            });
        }
        // 4. Principal addresses of the new clients.
        let with_address: Vec<(Uuid, &SourceAddress)> = to_insert
            .iter()
            .filter_map(|&i| match (&outcomes[i], &commands[i].address) {
                (Some(o), Some(address)) if o.created => Some((o.client_id, address)),
                _ => None,
            })
            .collect();
        upsert_addresses(conn, &with_address).await?;
    }

    // Later duplicates share the outcome of their first occurrence.
    for (i, c) in commands.iter().enumerate() {
        if outcomes[i].is_none()
            && let Some(&first) = first_of.get(&key_of(c))
        {
            outcomes[i] = outcomes[first].map(|o| CreateOutcome {
                created: false,
                ..o
            });
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or(diesel::result::Error::NotFound))
        .collect()
}

/// [`create_all`] of one command: the item-by-item path.
pub(super) async fn create_one(
    conn: &mut AsyncPgConnection,
    command: &CreateCommand,
) -> Result<CreateOutcome, diesel::result::Error> {
    create_all(conn, std::slice::from_ref(command))
        .await?
        .pop()
        .ok_or(diesel::result::Error::NotFound)
}

fn key_of(c: &CreateCommand) -> Key<'_> {
    (
        c.reference.organisation_id,
        c.reference.source.as_str(),
        c.reference.external_id.as_str(),
    )
}

/// Which of `indices` are already linked to a client: (index, client id).
#[tracing::instrument(skip_all, fields(op = "find_linked_clients", batch = indices.len()))]
async fn linked(
    conn: &mut AsyncPgConnection,
    commands: &[CreateCommand],
    indices: &[usize],
) -> Result<Vec<(usize, Uuid)>, diesel::result::Error> {
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    let hits: Vec<Hit> = diesel::sql_query(
        "SELECT u.i, c.id FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::text[]) AS u(i, org, src, ext) \
         JOIN clientbases c ON c.organisation_id = u.org AND c.external_source = u.src AND c.external_id = u.ext",
    )
    .bind::<Array<BigInt>, _>(array(indices, |i| i as i64))
    .bind::<Array<diesel::sql_types::Uuid>, _>(array(indices, |i| commands[i].reference.organisation_id))
    .bind::<Array<Text>, _>(array(indices, |i| commands[i].reference.source.clone()))
    .bind::<Array<Text>, _>(array(indices, |i| commands[i].reference.external_id.clone()))
    .load(conn)
    .await?;
    Ok(indices_of(hits))
}

/// Links records to clients entered by hand in the CRM rather than create duplicates: the one
/// place of the rule. A manual client matches a record when it belongs to the same
/// organisation, has the same normalized phone and the same name ignoring case, is not
/// deleted and is not linked to a record yet; the oldest match wins, and one manual client
/// links to one record (the first of `indices` that matched it). A linked client keeps its
/// own data; it takes the record's `source` only if it had none. The link is remembered
/// (`import_linked`, and `source_before_link`): when the record vanishes from its source,
/// the client is unlinked and its source given back, never deleted. Returns (index, client
/// id) of the records linked.
#[tracing::instrument(skip_all, fields(op = "link_manual_clients", batch = indices.len()))]
async fn link_manual_clients(
    conn: &mut AsyncPgConnection,
    commands: &[CreateCommand],
    columns: &[ClientColumns],
    indices: &[usize],
) -> Result<Vec<(usize, Uuid)>, diesel::result::Error> {
    let candidates: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|&i| columns[i].phone.normalized().is_some())
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let hits: Vec<Hit> = diesel::sql_query(
        "SELECT DISTINCT ON (u.i) u.i, c.id \
         FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::text[]) AS u(i, org, phone, nom) \
         JOIN clientbases c ON c.organisation_id = u.org AND c.external_id IS NULL \
           AND c.deleted_at IS NULL AND c.telephone_normalized = u.phone AND lower(c.nom) = lower(u.nom) \
         ORDER BY u.i, c.created_at, c.id",
    )
    .bind::<Array<BigInt>, _>(array(&candidates, |i| i as i64))
    .bind::<Array<diesel::sql_types::Uuid>, _>(array(&candidates, |i| commands[i].reference.organisation_id))
    .bind::<Array<Nullable<Text>>, _>(array(&candidates, |i| columns[i].phone.normalized().map(str::to_owned)))
    .bind::<Array<Text>, _>(array(&candidates, |i| columns[i].nom.clone()))
    .load(conn)
    .await?;
    let mut taken: HashMap<Uuid, usize> = HashMap::new();
    for (i, id) in indices_of(hits) {
        taken.entry(id).or_insert(i);
    }
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, owners): (Vec<Uuid>, Vec<usize>) = taken.into_iter().unzip();
    // Still unlinked when written: a concurrent batch may have linked it meanwhile.
    let linked: Vec<Returned> = diesel::sql_query(
        "UPDATE clientbases c SET external_source = u.src, external_id = u.ext, \
           import_linked = true, source_before_link = c.source, archived_at = NULL, \
           source = COALESCE(c.source, u.src), source_version = u.v, updated_at = now() \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::bigint[]) AS u(id, src, ext, v) \
         WHERE c.id = u.id AND c.external_id IS NULL \
         RETURNING c.id",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<Text>, _>(array(&owners, |i| commands[i].reference.source.clone()))
    .bind::<Array<Text>, _>(array(&owners, |i| {
        commands[i].reference.external_id.clone()
    }))
    .bind::<Array<BigInt>, _>(array(&owners, |i| commands[i].source_version))
    .load(conn)
    .await?;
    let done: HashSet<Uuid> = linked.into_iter().map(|r| r.id).collect();
    Ok(owners
        .into_iter()
        .zip(ids)
        .filter(|(_, id)| done.contains(id))
        .collect())
}

/// One value per index: an `UNNEST` array.
fn array<T>(indices: &[usize], value: impl Fn(usize) -> T) -> Vec<T> {
    indices.iter().map(|&i| value(i)).collect()
}

/// (index, client id) of the hits whose index is one.
fn indices_of(hits: Vec<Hit>) -> Vec<(usize, Uuid)> {
    hits.into_iter()
        .filter_map(|h| usize::try_from(h.i).ok().map(|i| (i, h.id)))
        .collect()
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    organisation_id: Uuid,
    #[diesel(sql_type = Text)]
    external_source: String,
    #[diesel(sql_type = Text)]
    external_id: String,
}

/// Inserts the clients of `indices`; a record inserted meanwhile by someone else is skipped.
/// Returns (organisation, source, external id, client id) of the rows inserted.
#[tracing::instrument(skip_all, fields(op = "insert_clients", batch = indices.len()))]
async fn insert(
    conn: &mut AsyncPgConnection,
    commands: &[CreateCommand],
    columns: &[ClientColumns],
    indices: &[usize],
) -> Result<Vec<(Uuid, String, String, Uuid)>, diesel::result::Error> {
    let sql = format!(
        "INSERT INTO clientbases (organisation_id, statut, source, external_source, external_id, source_version, {names}) \
         SELECT u.org, $1, u.src, u.src, u.ext, u.v, {values} \
         FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::bigint[], {arrays}) AS u(org, src, ext, v, {names}) \
         ON CONFLICT (organisation_id, external_source, external_id) WHERE external_id IS NOT NULL DO NOTHING \
         RETURNING id, organisation_id, external_source::text AS external_source, external_id::text AS external_id",
        names = column_names(""),
        values = column_names("u."),
        arrays = column_arrays(6),
    );
    let statement = diesel::sql_query(sql)
        .into_boxed()
        .bind::<Text, _>(DEFAULT_STATUT)
        .bind::<Array<diesel::sql_types::Uuid>, _>(array(indices, |i| {
            commands[i].reference.organisation_id
        }))
        .bind::<Array<Text>, _>(array(indices, |i| commands[i].reference.source.clone()))
        .bind::<Array<Text>, _>(array(indices, |i| {
            commands[i].reference.external_id.clone()
        }))
        .bind::<Array<BigInt>, _>(array(indices, |i| commands[i].source_version));
    let rows: Vec<Inserted> = bind_columns(statement, indices.iter().map(|&i| &columns[i]))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.organisation_id, r.external_source, r.external_id, r.id))
        .collect())
}

/// The client columns, comma-separated, each behind `prefix`.
fn column_names(prefix: &str) -> String {
    CLIENT_COLUMNS
        .iter()
        .map(|(name, _)| format!("{prefix}{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `column = u.column` for every client column.
fn column_assignments() -> String {
    CLIENT_COLUMNS
        .iter()
        .map(|(name, _)| format!("{name} = u.{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The typed `UNNEST` arguments of the client columns, numbered from `$first`.
fn column_arrays(first: usize) -> String {
    CLIENT_COLUMNS
        .iter()
        .enumerate()
        .map(|(n, (_, array))| {
            let sql_type = match array {
                ColumnArray::Text(_) => "text[]",
                ColumnArray::Date(_) => "date[]",
                ColumnArray::Bool(_) => "bool[]",
            };
            format!("${}::{sql_type}", first + n)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds one array per client column, in the order of [`column_arrays`], after the
/// statement's own parameters.
fn bind_columns<'r>(
    mut statement: Statement<'static>,
    rows: impl Iterator<Item = &'r ClientColumns> + Clone,
) -> Statement<'static> {
    for (_, array) in CLIENT_COLUMNS {
        let rows = rows.clone();
        statement = match *array {
            ColumnArray::Text(read) => statement.bind::<Array<Nullable<Text>>, _>(
                rows.map(|c| read(c).map(str::to_owned)).collect::<Vec<_>>(),
            ),
            ColumnArray::Date(read) => {
                statement.bind::<Array<Nullable<Date>>, _>(rows.map(read).collect::<Vec<_>>())
            }
            ColumnArray::Bool(read) => {
                statement.bind::<Array<Nullable<Bool>>, _>(rows.map(read).collect::<Vec<_>>())
            }
        };
    }
    statement
}

/// Writes the principal address of each client (insert, or replace the existing one).
#[tracing::instrument(skip_all, fields(op = "upsert_addresses", batch = rows.len()))]
async fn upsert_addresses(
    conn: &mut AsyncPgConnection,
    rows: &[(Uuid, &SourceAddress)],
) -> Result<(), diesel::result::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let field = |f: &dyn Fn(&SourceAddress) -> Option<String>| -> Vec<Option<String>> {
        rows.iter().map(|(_, a)| f(a)).collect()
    };
    diesel::sql_query(
        "INSERT INTO adresses (client_base_id, ligne1, ligne2, code_postal, ville, pays, type) \
         SELECT u.id, u.l1, u.l2, u.cp, u.ville, u.pays, 'PRINCIPALE' \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(id, l1, l2, cp, ville, pays) \
         ON CONFLICT (client_base_id) WHERE type = 'PRINCIPALE' DO UPDATE SET \
           ligne1 = EXCLUDED.ligne1, ligne2 = EXCLUDED.ligne2, code_postal = EXCLUDED.code_postal, \
           ville = EXCLUDED.ville, pays = EXCLUDED.pays, updated_at = now()",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.ligne1.clone()))
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.ligne2.clone()))
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.code_postal.clone()))
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.ville.clone()))
    .bind::<Array<Nullable<Text>>, _>(field(&|a| a.pays.clone()))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Owned {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    organisation_id: Uuid,
}

#[derive(QueryableByName)]
struct Archived {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    organisation_id: Uuid,
    /// A manual client the import had linked: unlinked rather than deleted.
    #[diesel(sql_type = Bool)]
    unlinked: bool,
    /// The record it was linked to.
    #[diesel(sql_type = Text)]
    external_id: String,
}

#[derive(QueryableByName)]
struct State {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    organisation_id: Uuid,
    #[diesel(sql_type = Bool)]
    deleted: bool,
    #[diesel(sql_type = Nullable<Text>)]
    external_source: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    external_id: Option<String>,
}

/// Applies updates, archives and restores set-based, in the caller's transaction: one
/// statement for the archives, one to bring restored clients back, one for the data, one
/// for the addresses, one to explain the rows left alone. A change applies when it is newer
/// than the row and the row is still linked to its record; an update never touches
/// `source`, `statut` or `id`. One outcome per command, in order.
#[tracing::instrument(skip_all, fields(op = "update_clients", batch = commands.len()))]
pub(super) async fn update_all(
    conn: &mut AsyncPgConnection,
    commands: &[UpdateCommand],
) -> Result<Vec<Result<UpdateOutcome, UpdateError>>, diesel::result::Error> {
    // Several changes of one client in a batch: only the newest can apply. (Keyed with the
    // organisation too: an update naming the wrong organisation must fail, not be outdated.)
    let mut newest: HashMap<(Uuid, Uuid), usize> = HashMap::new();
    for (i, c) in commands.iter().enumerate() {
        let entry = newest
            .entry((c.client_id, c.reference.organisation_id))
            .or_insert(i);
        if commands[*entry].source_version < c.source_version {
            *entry = i;
        }
    }
    let chosen: Vec<usize> = {
        let mut v: Vec<usize> = newest.values().copied().collect();
        v.sort_unstable();
        v
    };
    let archives: Vec<usize> = chosen
        .iter()
        .copied()
        .filter(|&i| matches!(commands[i].change, Change::Archive))
        .collect();
    // Any data of a record means it exists: a client archived by an archive whose record was
    // lost (so the next sync sends a plain update) is restored too. The restore statement
    // only touches clients the import archived or unlinked.
    let restores: Vec<usize> = chosen
        .iter()
        .copied()
        .filter(|&i| matches!(commands[i].change, Change::Data { .. }))
        .collect();
    let data: Vec<(usize, &SourceClient, Option<&SourceAddress>)> = chosen
        .iter()
        .filter_map(|&i| match &commands[i].change {
            Change::Data {
                client, address, ..
            } => Some((i, client.as_ref(), address.as_ref())),
            Change::Archive => None,
        })
        .collect();

    let archived = archive(conn, commands, &archives).await?;
    restore(conn, commands, &restores).await?;
    let applied = apply_data(conn, commands, &data).await?;

    let addresses: Vec<(Uuid, &SourceAddress)> = data
        .iter()
        .filter(|(i, _, _)| {
            applied.contains(&(
                commands[*i].client_id,
                commands[*i].reference.organisation_id,
            ))
        })
        .filter_map(|(i, _, address)| address.map(|a| (commands[*i].client_id, a)))
        .collect();
    upsert_addresses(conn, &addresses).await?;

    let others: Vec<Uuid> = newest
        .keys()
        .filter(|key| !applied.contains(key) && !archived.contains_key(key))
        .map(|(id, _)| *id)
        .collect();
    let states: HashMap<Uuid, State> = if others.is_empty() {
        HashMap::new()
    } else {
        diesel::sql_query(
            "SELECT id, organisation_id, deleted_at IS NOT NULL AS deleted, \
               external_source::text AS external_source, external_id::text AS external_id \
             FROM clientbases WHERE id = ANY($1)",
        )
        .bind::<Array<diesel::sql_types::Uuid>, _>(others)
        .load::<State>(conn)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect()
    };
    Ok(commands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let key = (c.client_id, c.reference.organisation_id);
            if newest.get(&key) != Some(&i) {
                return Ok(UpdateOutcome::Stale);
            }
            if applied.contains(&key) {
                return Ok(UpdateOutcome::Applied);
            }
            if let Some(&unlinked) = archived.get(&key) {
                return Ok(if unlinked {
                    UpdateOutcome::Unlinked
                } else {
                    UpdateOutcome::Applied
                });
            }
            match states.get(&c.client_id) {
                Some(s) if s.organisation_id == c.reference.organisation_id => Ok(if s.deleted {
                    UpdateOutcome::Deleted
                } else if s.external_source.as_deref() != Some(c.reference.source.as_str())
                    || s.external_id.as_deref() != Some(c.reference.external_id.as_str())
                {
                    UpdateOutcome::NotLinked
                } else {
                    UpdateOutcome::Stale
                }),
                _ => Err(UpdateError::UnknownClient {
                    client_id: c.client_id,
                    organisation_id: c.reference.organisation_id,
                }),
            }
        })
        .collect())
}

/// The `UNNEST` arguments every change statement starts with: client id, organisation,
/// version, source and external id of each command of `indices`.
fn bind_changes<'a>(
    statement: Statement<'a>,
    commands: &[UpdateCommand],
    indices: &[usize],
) -> Statement<'a> {
    statement
        .bind::<Array<diesel::sql_types::Uuid>, _>(array(indices, |i| commands[i].client_id))
        .bind::<Array<diesel::sql_types::Uuid>, _>(array(indices, |i| {
            commands[i].reference.organisation_id
        }))
        .bind::<Array<BigInt>, _>(array(indices, |i| commands[i].source_version))
        .bind::<Array<Text>, _>(array(indices, |i| commands[i].reference.source.clone()))
        .bind::<Array<Text>, _>(array(indices, |i| {
            commands[i].reference.external_id.clone()
        }))
}

/// Archives the live clients still linked to their vanished record: one the import created
/// is soft-deleted and marked `archived_at`; a manual client it only linked is unlinked
/// (external reference cleared, `source` back to `source_before_link`), marked too, and
/// stays visible. Returns, per client archived, whether it was unlinked.
#[tracing::instrument(skip_all, fields(op = "archive_clients", batch = indices.len()))]
async fn archive(
    conn: &mut AsyncPgConnection,
    commands: &[UpdateCommand],
    indices: &[usize],
) -> Result<HashMap<(Uuid, Uuid), bool>, diesel::result::Error> {
    if indices.is_empty() {
        return Ok(HashMap::new());
    }
    // Every SET expression reads the row as it was before the statement.
    let statement = diesel::sql_query(
        "UPDATE clientbases c SET \
           deleted_at = CASE WHEN c.import_linked THEN NULL ELSE now() END, \
           external_source = CASE WHEN c.import_linked THEN NULL ELSE c.external_source END, \
           external_id = CASE WHEN c.import_linked THEN NULL ELSE c.external_id END, \
           source = CASE WHEN c.import_linked THEN c.source_before_link ELSE c.source END, \
           archived_at = now(), source_version = u.v, updated_at = now() \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[]) AS u(id, org, v, src, ext) \
         WHERE c.id = u.id AND c.organisation_id = u.org AND c.deleted_at IS NULL \
           AND c.external_source = u.src AND c.external_id = u.ext AND c.source_version < u.v \
         RETURNING c.id, c.organisation_id, c.import_linked AS unlinked, u.ext AS external_id",
    )
    .into_boxed();
    let rows: Vec<Archived> = bind_changes(statement, commands, indices)
        .load(conn)
        .await?;
    for r in rows.iter().filter(|r| r.unlinked) {
        tracing::warn!(
            client_id = %r.id,
            organisation_id = %r.organisation_id,
            external_id = %r.external_id,
            "archive: a manual client linked to a record that vanished from its source was unlinked, not deleted; its source is back to what it was before the link"
        );
    }
    Ok(rows
        .into_iter()
        .map(|r| ((r.id, r.organisation_id), r.unlinked))
        .collect())
}

/// Brings back the archived clients of records that came back, before their data is
/// applied: one the import deleted is undeleted; a manual client the archive unlinked is
/// linked again if it is still unlinked. A client a CRM user deleted (no archive mark) is
/// left deleted. The version is not moved here: the data statement that follows sets it.
#[tracing::instrument(skip_all, fields(op = "restore_clients", batch = indices.len()))]
async fn restore(
    conn: &mut AsyncPgConnection,
    commands: &[UpdateCommand],
    indices: &[usize],
) -> Result<(), diesel::result::Error> {
    if indices.is_empty() {
        return Ok(());
    }
    let statement = diesel::sql_query(
        "UPDATE clientbases c SET deleted_at = NULL, archived_at = NULL, \
           external_source = u.src, external_id = u.ext, \
           source_before_link = CASE WHEN c.external_id IS NULL THEN c.source ELSE c.source_before_link END, \
           source = CASE WHEN c.external_id IS NULL THEN COALESCE(c.source, u.src) ELSE c.source END, \
           updated_at = now() \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[]) AS u(id, org, v, src, ext) \
         WHERE c.id = u.id AND c.organisation_id = u.org AND c.archived_at IS NOT NULL \
           AND c.source_version < u.v \
           AND ((c.deleted_at IS NOT NULL AND c.external_source = u.src AND c.external_id = u.ext) \
             OR (c.deleted_at IS NULL AND c.import_linked AND c.external_id IS NULL))",
    )
    .into_boxed();
    bind_changes(statement, commands, indices)
        .execute(conn)
        .await?;
    Ok(())
}

/// Applies the data of `rows` to the live clients still linked to their record, when newer.
/// Returns (client id, organisation) of the rows changed.
#[tracing::instrument(skip_all, fields(op = "update_client_data", batch = rows.len()))]
async fn apply_data(
    conn: &mut AsyncPgConnection,
    commands: &[UpdateCommand],
    rows: &[(usize, &SourceClient, Option<&SourceAddress>)],
) -> Result<HashSet<(Uuid, Uuid)>, diesel::result::Error> {
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    let indices: Vec<usize> = rows.iter().map(|(i, _, _)| *i).collect();
    let columns: Vec<ClientColumns> = rows
        .iter()
        .map(|(_, client, _)| ClientColumns::from(*client))
        .collect();
    let sql = format!(
        "UPDATE clientbases c SET {assignments}, source_version = u.v, updated_at = now() \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], {arrays}) AS u(id, org, v, src, ext, {names}) \
         WHERE c.id = u.id AND c.organisation_id = u.org AND c.deleted_at IS NULL AND c.source_version < u.v \
           AND c.external_source = u.src AND c.external_id = u.ext \
         RETURNING c.id, c.organisation_id",
        assignments = column_assignments(),
        arrays = column_arrays(6),
        names = column_names(""),
    );
    let statement = bind_changes(diesel::sql_query(sql).into_boxed(), commands, &indices);
    let applied: Vec<Owned> = bind_columns(statement, columns.iter()).load(conn).await?;
    Ok(applied
        .into_iter()
        .map(|r| (r.id, r.organisation_id))
        .collect())
}

/// [`update_all`] of one command: the item-by-item path.
pub(super) async fn update_one(
    conn: &mut AsyncPgConnection,
    command: &UpdateCommand,
) -> Result<UpdateOutcome, UpdateError> {
    update_all(conn, std::slice::from_ref(command))
        .await?
        .pop()
        .unwrap_or(Err(diesel::result::Error::NotFound.into()))
}
