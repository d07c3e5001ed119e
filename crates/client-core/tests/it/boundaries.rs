//! The layers the module docs promise, checked on the sources: tonic only in `grpc/` and
//! `startup.rs`, diesel only in `db/`, async-nats only in `nats/`, and reqwest nowhere.

use std::path::Path;

use service_kit::boundaries::{assert_layers, service_layers};

#[test]
fn each_driver_is_named_only_in_its_own_layer() {
    assert_layers(Path::new(env!("CARGO_MANIFEST_DIR")), &service_layers(&[]));
}
