//! The SQL functions that `crm_core`'s migrations define, declared for diesel's query builder.
//!
//! A case- and accent-insensitive search over clients that uses the trigram index:
//!
//! ```
//! use crm_db::core::functions::{clientbase_search_text, f_unaccent};
//! use crm_db::core::schema::clientbases::dsl::*;
//! use diesel::prelude::*;
//!
//! // The user's term, lower-cased, with `%`, `_` and `\` escaped.
//! let term = "élodie";
//! let query = clientbases
//!     .filter(deleted_at.is_null())
//!     .filter(
//!         clientbase_search_text(nom, prenom, email, telephone)
//!             .like(f_unaccent(format!("%{term}%"))),
//!     )
//!     .select(id);
//! let sql = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
//! assert!(sql.contains("clientbase_search_text(\"clientbases\".\"nom\""));
//! ```

use diesel::sql_types::{Nullable, Text};

diesel::define_sql_function! {
    /// `f_unaccent(text)`: `unaccent` with its dictionary pinned, hence IMMUTABLE (usable in
    /// indexes). `NULL` in, `NULL` out.
    fn f_unaccent(text: Text) -> Text;
}

diesel::define_sql_function! {
    /// `clientbase_search_text(nom, prenom, email, telephone)`: the lower-cased, unaccented
    /// text that client search matches against, indexed by `clientbases_org_search_trgm_idx`
    /// after the organisation. Call it with exactly these four columns, beside
    /// `organisation_id = …` and `deleted_at IS NULL`, or the index is not used.
    fn clientbase_search_text(
        nom: Text,
        prenom: Text,
        email: Nullable<Text>,
        telephone: Nullable<Text>,
    ) -> Text;
}
