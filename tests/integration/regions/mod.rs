//! Regions and accounts (docs/server.md, "Regions and accounts"): each
//! account and Region is its own partition of state.
//!
//! - `engine`: the embedded cloud: partitions see nothing of each other,
//!   a ciphertext does not cross Regions, `CopyBackupToRegion` and a
//!   recovery from the copy, the errors AWS gives;
//! - `clients`: boto3 and the aws CLI against `hsmdrill serve --world
//!   scenarios/worlds/regions.yaml` (`tests/clients/*_regions.*`);
//! - `durable`: `serve --state` keeps every partition across a restart.

mod clients;
mod durable;
mod engine;

/// The shipped world of two Regions and two accounts.
const WORLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/regions.yaml");
