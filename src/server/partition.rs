//! Which partition (account and Region) a request is for.
//!
//! AWS serves each Region at its own endpoint, and a client signs for the
//! Region it calls: the Region is the third part of the SigV4 credential
//! scope (`Credential=AKID/20170705/eu-west-1/kms/aws4_request`). One
//! `hsmdrill serve` endpoint stands for every Region, so the scope is what
//! tells them apart; it is read whether or not `--auth` checks signatures.
//! The account is the one the world maps the access key to (`accounts:` in
//! the world file), else the world's own. A request without a readable
//! `Authorization` header (curl, the control API) goes to the world's own
//! account and Region. The control API names a partition with the query
//! parameters `region=` and `account=` instead.
//!
//! A Region AWS does not have is refused as AWS refuses a credential
//! scoped to one: `InvalidSignatureException`, "Credential should be scoped
//! to a valid region, not '…'." (docs/fidelity.md F21).

use std::sync::Arc;

use axum::http::HeaderMap;

use super::protocol::WireError;
use super::ServerState;
use crate::engine::cloud::{regions, Cloud, Partition};
use crate::engine::Engine;

/// A request's cloud and the engine of its partition.
pub(super) struct Routed {
    pub(super) cloud: Arc<Cloud>,
    pub(super) engine: Arc<Engine>,
}

/// The access key id and Region of an `Authorization` header's credential
/// scope, if it has one of five parts.
pub(super) fn credential_scope(headers: &HeaderMap) -> Option<(String, String)> {
    let text = headers.get("authorization")?.to_str().ok()?;
    let (_, rest) = text.split_once("Credential=")?;
    let credential = rest.split([',', ' ']).next()?;
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, _date, region, _service, _terminator] => {
            Some(((*key).to_owned(), (*region).to_owned()))
        }
        _ => None,
    }
}

/// The partition of an AWS request.
pub(super) fn of_request(state: &ServerState, headers: &HeaderMap) -> Result<Routed, WireError> {
    let cloud = state.cloud();
    let default = cloud.default_partition();
    let (key, region) = match credential_scope(headers) {
        Some((key, region)) => (Some(key), region),
        None => (None, default.region.clone()),
    };
    // The world's own Region is served whatever its name (a world may
    // make one up); any other must be one AWS has.
    if region != default.region && !regions::is_known(&region) {
        return Err(WireError::client(
            "InvalidSignatureException",
            format!("Credential should be scoped to a valid region, not '{region}'."),
        ));
    }
    let partition = Partition::new(cloud.account_for(key.as_deref()), region);
    route(cloud, &partition)
}

/// The partition the control API's `region=` and `account=` name (each
/// defaulting to the world's own).
pub(super) fn of_query(
    state: &ServerState,
    region: Option<&str>,
    account: Option<&str>,
) -> Result<Routed, WireError> {
    let cloud = state.cloud();
    let default = cloud.default_partition();
    let partition = Partition::new(
        account.unwrap_or(&default.account),
        region.unwrap_or(&default.region),
    );
    route(cloud, &partition)
}

fn route(cloud: Arc<Cloud>, partition: &Partition) -> Result<Routed, WireError> {
    match cloud.engine(partition) {
        Some(engine) => Ok(Routed { cloud, engine }),
        None => Err(WireError::client(
            "ValidationException",
            format!(
                "{partition} is not a partition hsmdrill can serve: expected a 12-digit account and an AWS Region such as us-west-2."
            ),
        )),
    }
}
