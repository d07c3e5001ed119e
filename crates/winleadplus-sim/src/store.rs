//! The simulator's data: an ordered list of prospects, each kept as its compact JSON text
//! (about 1.6 KB for a generated one, where a parsed `serde_json::Value` weighs several times
//! that), indexed by `idProspect`. Serving is then copying bytes; only the admin API parses.
//! The list sits behind an `Arc` so that a request writes a snapshot without holding the lock
//! or copying the list; a change while a response is being written copies the list of
//! pointers once, not the prospects.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::generate::{email, mutation_pick_rng, mutation_rng, other_etape, phone, prospect};

/// One stored prospect.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Its `idProspect` when that is a positive integer (or a numeric string of one).
    id: Option<i64>,
    /// Whether it is a JSON object (the admin API may load anything).
    object: bool,
    /// Its compact JSON text (or raw bytes, see [`Item::raw`]), served as it is.
    json: Arc<[u8]>,
}

impl Item {
    pub(crate) fn new(value: &Value) -> Item {
        Item {
            id: id_of(value),
            object: value.is_object(),
            json: Arc::from(value.to_string().into_bytes()),
        }
    }

    /// A record served byte for byte, valid JSON or not (hostile-data tests).
    pub(crate) fn raw(bytes: Vec<u8>) -> Item {
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        Item {
            id: parsed.as_ref().and_then(id_of),
            object: bytes.first() == Some(&b'{'),
            json: Arc::from(bytes),
        }
    }

    /// The bytes served.
    pub(crate) fn json(&self) -> &[u8] {
        &self.json
    }

    /// The prospect as a JSON value (`null` for a raw record that is not valid JSON).
    pub(crate) fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

/// The prospects, in the order they are served.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// The list itself; anything JSON is kept as given.
    items: Arc<Vec<Item>>,
    /// `idProspect` → position of its first occurrence in `items`; prospects whose id is not a
    /// positive integer are served but not indexed.
    index: HashMap<i64, usize>,
}

impl Store {
    /// A store holding these prospects in that order (built outside any lock: serializing a
    /// large data set takes a while).
    pub(crate) fn new(prospects: impl IntoIterator<Item = Value>) -> Store {
        let items = prospects.into_iter().map(|p| Item::new(&p)).collect();
        let mut store = Store {
            items: Arc::new(items),
            index: HashMap::new(),
        };
        store.reindex();
        store
    }

    /// A store of raw records, served byte for byte.
    pub(crate) fn raw(records: Vec<Vec<u8>>) -> Store {
        let mut store = Store {
            items: Arc::new(records.into_iter().map(Item::raw).collect()),
            index: HashMap::new(),
        };
        store.reindex();
        store
    }

    /// `generate(count, seed)`, serialized one prospect at a time (no list of parsed values).
    pub(crate) fn generated(count: usize, seed: u64) -> Store {
        Store::new((0..count as u64).map(|i| prospect(seed, i)))
    }

    /// The current list, cheap to take: later changes do not affect it.
    pub(crate) fn snapshot(&self) -> Arc<Vec<Item>> {
        Arc::clone(&self.items)
    }

    /// How many prospects are stored.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Adds prospects, or replaces in place those whose `idProspect` is already stored.
    /// Returns how many were given.
    pub(crate) fn upsert(&mut self, new: Vec<Value>) -> usize {
        let given = new.len();
        let items = Arc::make_mut(&mut self.items);
        for prospect in new {
            let item = Item::new(&prospect);
            match item.id.and_then(|id| self.index.get(&id).copied()) {
                Some(pos) => {
                    if let Some(slot) = items.get_mut(pos) {
                        *slot = item;
                    }
                }
                None => {
                    if let Some(id) = item.id {
                        self.index.insert(id, items.len());
                    }
                    items.push(item);
                }
            }
        }
        given
    }

    /// Removes every prospect with this id; returns how many there were.
    pub(crate) fn remove(&mut self, id: i64) -> usize {
        if !self.index.contains_key(&id) {
            return 0;
        }
        let items = Arc::make_mut(&mut self.items);
        let before = items.len();
        items.retain(|item| item.id != Some(id));
        let removed = before - items.len();
        self.reindex();
        removed
    }

    /// Changes `round(fraction × n)` of the `n` prospects that have a valid id: each gets a
    /// new `telephone`, `email` and `etapeCourante`, all different from the old ones. The
    /// choice and the new values depend only on the data and `seed`. Returns the changed
    /// ids, ascending. `fraction` is clamped to `[0, 1]` (NaN counts as 0).
    pub(crate) fn mutate(&mut self, fraction: f64, seed: u64) -> Vec<i64> {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let mut candidates: Vec<usize> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.object && item.id.is_some())
            .map(|(pos, _)| pos)
            .collect();
        let n = candidates.len();
        let k = ((fraction * n as f64).round() as usize).min(n);
        // A partial Fisher–Yates shuffle: the first k positions are the chosen ones.
        let mut r = mutation_pick_rng(seed, n);
        for j in 0..k {
            let other = j + r.below((n - j) as u64) as usize;
            candidates.swap(j, other);
        }
        candidates.truncate(k);
        let items = Arc::make_mut(&mut self.items);
        let mut changed: Vec<i64> = candidates
            .into_iter()
            .filter_map(|pos| {
                let item = items.get_mut(pos)?;
                let mut value = item.value();
                let id = change(&mut value, seed)?;
                *item = Item::new(&value);
                Some(id)
            })
            .collect();
        changed.sort_unstable();
        changed.dedup();
        changed
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (pos, item) in self.items.iter().enumerate() {
            if let Some(id) = item.id {
                self.index.entry(id).or_insert(pos);
            }
        }
    }
}

/// The `idProspect` of a prospect when it is a positive integer (or a numeric string of one).
pub(crate) fn id_of(prospect: &Value) -> Option<i64> {
    let id = match prospect.get("idProspect")? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (id > 0).then_some(id)
}

/// Gives one prospect a new phone, e-mail and funnel step; returns its id.
fn change(prospect: &mut Value, seed: u64) -> Option<i64> {
    let id = id_of(prospect)?;
    let object = prospect.as_object_mut()?;
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    let (old_phone, old_email, old_etape) =
        (text("telephone"), text("email"), text("etapeCourante"));
    let prenom = text("prenom").unwrap_or_else(|| "client".to_owned());
    let nom = text("nom").unwrap_or_else(|| "wlp".to_owned());
    let salt = fnv1a(&[
        old_phone.as_deref(),
        old_email.as_deref(),
        old_etape.as_deref(),
    ]);
    let mut r = mutation_rng(seed, id, salt);

    let mut new_phone = phone(&mut r);
    while Some(new_phone.as_str()) == old_phone.as_deref() {
        new_phone = phone(&mut r);
    }
    let mut new_email = email(&mut r, prenom.trim(), nom.trim());
    for attempt in 0.. {
        if Some(new_email.as_str()) != old_email.as_deref() {
            break;
        }
        new_email = if attempt < 8 {
            email(&mut r, prenom.trim(), nom.trim())
        } else {
            format!("{attempt}.{new_email}")
        };
    }
    let new_etape = other_etape(&mut r, old_etape.as_deref());

    object.insert("telephone".into(), new_phone.into());
    object.insert("email".into(), new_email.into());
    object.insert("etapeCourante".into(), new_etape.into());
    Some(id)
}

/// FNV-1a over optional strings (a cheap, stable fingerprint of the values being replaced).
fn fnv1a(parts: &[Option<&str>]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.unwrap_or("\u{0}").bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::generate::generate;

    fn values(store: &Store) -> Vec<Value> {
        store.snapshot().iter().map(Item::value).collect()
    }

    #[test]
    fn ids_are_read_from_numbers_and_numeric_strings_only() {
        let cases = [
            (json!({"idProspect": 5}), Some(5)),
            (json!({"idProspect": " 1002 "}), Some(1002)),
            (json!({"idProspect": -4}), None),
            (json!({"idProspect": 0}), None),
            (json!({"idProspect": 12.5}), None),
            (json!({"idProspect": "abc"}), None),
            (json!({"idProspect": null}), None),
            (json!({"nom": "x"}), None),
            (json!("a string"), None),
        ];
        for (prospect, expected) in cases {
            assert_eq!(id_of(&prospect), expected, "{prospect}");
        }
    }

    #[test]
    fn upsert_replaces_in_place_and_appends_the_new() {
        let mut store = Store::new(vec![
            json!({"idProspect": 1, "v": 1}),
            json!({"idProspect": 2, "v": 1}),
        ]);
        store.upsert(vec![
            json!({"idProspect": "2", "v": 2}),
            json!({"idProspect": 3, "v": 1}),
            json!({"bad": true}),
        ]);
        assert_eq!(
            values(&store),
            vec![
                json!({"idProspect": 1, "v": 1}),
                json!({"idProspect": "2", "v": 2}),
                json!({"idProspect": 3, "v": 1}),
                json!({"bad": true}),
            ]
        );
        assert_eq!(store.remove(2), 1);
        assert_eq!(store.remove(2), 0);
        store.upsert(vec![json!({"idProspect": 3, "v": 9})]);
        assert_eq!(values(&store)[1], json!({"idProspect": 3, "v": 9}));
    }

    #[test]
    fn a_snapshot_does_not_see_later_changes() {
        let mut store = Store::new(vec![json!({"idProspect": 1})]);
        let before = store.snapshot();
        store.upsert(vec![json!({"idProspect": 2})]);
        assert_eq!(before.len(), 1);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn mutate_changes_exactly_the_rounded_share_with_new_values() {
        let data = generate(200, 42);
        let mut store = Store::new(data.clone());
        let changed = store.mutate(0.05, 9);
        assert_eq!(changed.len(), 10);
        let after = values(&store);
        let mut differing = 0;
        for (old, new) in data.iter().zip(after.iter()) {
            if old != new {
                differing += 1;
                assert!(changed.contains(&id_of(new).unwrap()));
                for key in ["telephone", "email", "etapeCourante"] {
                    assert_ne!(old.get(key), new.get(key), "{key}");
                }
            }
        }
        assert_eq!(differing, 10);
        // A second mutation with the same seed still changes something.
        let again = store.mutate(0.05, 9);
        assert_eq!(again, changed);
        assert_ne!(values(&store), after);
    }

    #[test]
    fn mutate_rounds_and_clamps_the_fraction() {
        let mut store = Store::new(generate(30, 1));
        assert_eq!(store.mutate(0.05, 1).len(), 2); // 1.5 rounds to 2
        assert_eq!(store.mutate(0.0, 1).len(), 0);
        assert_eq!(store.mutate(7.0, 1).len(), 30);
        assert_eq!(store.mutate(f64::NAN, 1).len(), 0);
    }
}
