//! `deploy/README.md` against the files it describes: the start command, and the values its
//! grpcurl walk-through uses.

use crate::helpers::deploy;

#[test]
fn the_readme_starts_the_stack_with_the_example_env_file() {
    let d = deploy();
    assert!(
        d.readme.contains(
            "docker compose -f deploy/docker-compose.yml --env-file deploy/.env.example up --build"
        ),
        "deploy/README.md lost its start command"
    );
}

#[test]
fn the_readme_walk_through_uses_the_simulator_endpoint_and_token() {
    let d = deploy();
    let sim = d.compose.service("winleadplus-sim").env("winleadplus-sim");
    let sync = d.compose.service("sync-service").env("sync-service");
    let endpoint = &sync["WINLEADPLUS_API_URL"];
    let token = &sim["SIM_TOKEN"];
    let secret = &sync["AUTH_JWT_SECRET"];
    for expected in [
        format!("cargo xtask token --secret {secret} --org $ORG"),
        "-H \"authorization: Bearer $TOKEN\"".to_owned(),
        format!("\"api_endpoint\": \"{endpoint}\""),
        format!("\"api_token\": \"{token}\""),
        "localhost:50053 winleadplus.WinLeadPlusSyncService/SaveConfig".to_owned(),
        "localhost:50053 winleadplus.WinLeadPlusSyncService/SyncProspects".to_owned(),
        "localhost:50052 clients.ClientBaseService/List".to_owned(),
        "\"source\": \"WinLeadPlus\"".to_owned(),
    ] {
        assert!(
            d.readme.contains(&expected),
            "deploy/README.md does not say {expected}"
        );
    }
}
