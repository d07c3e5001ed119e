//! The one error of the kit's request parsing ([`crate::ids`], [`crate::paging`]): a field
//! the caller got wrong, with a message that names it. Always the caller's mistake, so
//! `INVALID_ARGUMENT` (`grpc`), or a service's own "invalid" variant.

/// A request field that cannot be used; the message names the field and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A required field is absent or blank.
    #[error("{field} is required")]
    Missing {
        /// The request field, e.g. `organisation_id`.
        field: String,
    },
    /// The field is not a UUID.
    #[error("{field} must be a UUID, got {value:?}")]
    NotUuid {
        /// The request field.
        field: String,
        /// What the caller sent, trimmed.
        value: String,
    },
    /// A negative page.
    #[error("page must be 1 or more, got {0}")]
    Page(i32),
    /// A negative limit.
    #[error("limit must be positive, got {0}")]
    Limit(i32),
    /// Neither `asc` nor `desc`.
    #[error("sort_order must be \"asc\" or \"desc\", got {0:?}")]
    SortOrder(String),
}
