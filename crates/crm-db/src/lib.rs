//! crm-db placeholder.
