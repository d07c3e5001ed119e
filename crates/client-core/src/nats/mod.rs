//! client-core's NATS side: the connection, its readiness check, the create responder (core
//! request/reply) and the update consumer (JetStream). Only this module knows async-nats.

mod convert;
mod create;
mod update;

pub use create::CreateResponder;
pub use service_kit::nats::{Connection, connect, readiness};
pub use update::{UpdateConsumer, ensure_update_stream, replay_dead_letter};
