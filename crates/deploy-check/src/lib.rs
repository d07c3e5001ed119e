//! Nothing but tests: `tests/it` reads `deploy/Dockerfile`, `deploy/docker-compose.yml` and
//! `deploy/.env.example` and checks them against the services' own configuration (the clap
//! `env = "..."` names and listen-address defaults in their sources) and the runtime contract
//! of ARCHITECTURE.md, since no test here can build or run the images.
