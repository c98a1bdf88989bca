//! The runbooks R1–R9 of `docs/runbooks.md`, proved against the embedded
//! engine the way the AWS SDKs and an operator would drive it.
//!
//! Every test starts from a world file (`scenarios/worlds/example.yaml`: the
//! troubleshooting page's own identifiers, store `CONNECTED`), or from a
//! small inline variant, and then only uses what a real incident offers:
//! KMS and CloudHSM v2 operations by name with AWS JSON members
//! ([`Engine::call`]), CloudHSM CLI command lines ([`Engine::cloudhsm_cli`]),
//! the injected faults of `engine::faults`, and the virtual clock
//! (`settle`, `advance`). Assertions are on exact `ConnectionState`s,
//! `ConnectionErrorCode`s, `KeyState`s, exception names and message texts.
//!
//! Modules, one per runbook (plus the cluster lifecycle the runbooks lean on,
//! and determinism):
//!
//! - `r1_unavailable_keys`: keys of a disconnected store read `Unavailable`;
//! - `r2_failed_keys`: crypto failures with the store disconnected or the
//!   cluster broken (no HSM, deleted, no PKCS #11 session);
//! - `r3_connection_failures`: every `ConnectionErrorCode` from its cause;
//! - `r4_failed_crypto`: the two `KMSInvalidStateException` messages;
//! - `r5_invalid_credentials`: lockout, `INVALID_CREDENTIALS`, the repair;
//! - `r6_orphaned_key_material`: the `DeleteKey` trail event and `key delete`;
//! - `r7_recover_key_material`: a cluster from a backup brings material back;
//! - `r8_login_as_kmsuser`: KMS holds the `kmsuser` login while connected;
//! - `r9_logout_and_reconnect`: `USER_LOGGED_IN`, asynchronous connect,
//!   password rotation;
//! - `cluster_lifecycle`: CloudHSM v2 cluster creation and
//!   CreateCustomKeyStore's checks, store paging and deletion;
//! - `kms_api`: the KMS operations around the runbooks (aliases, listing,
//!   data keys, re-encryption, dry runs, GenerateRandom, quotas);
//! - `determinism`: same world, same calls, same bytes;
//! - `trail_examples`: trail events against AWS's example events.

mod cluster_lifecycle;
mod determinism;
mod kms_api;
mod r1_unavailable_keys;
mod r2_failed_keys;
mod r3_connection_failures;
mod r4_failed_crypto;
mod r5_invalid_credentials;
mod r6_orphaned_key_material;
mod r7_recover_key_material;
mod r8_login_as_kmsuser;
mod r9_logout_and_reconnect;
mod trail_examples;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hsmdrill::engine::{world, Engine};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// The example world (the troubleshooting page's identifiers)

/// The custom key store of the example world.
pub(crate) const STORE: &str = "cks-1234567890abcdef0";
/// Its name.
pub(crate) const STORE_NAME: &str = "ExampleKeyStore";
/// Its cluster.
pub(crate) const CLUSTER: &str = "cluster-1a23b4cdefg";
/// The KMS key in the store.
pub(crate) const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
/// Its ARN.
pub(crate) const KEY_ARN: &str =
    "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
/// Its alias.
pub(crate) const ALIAS: &str = "alias/app";
/// The backup of the cluster taken after the key existed.
pub(crate) const BACKUP: &str = "backup-9g87f6edcba";
/// The cluster admin's password.
pub(crate) const ADMIN_PASSWORD: &str = "adminPassword1";
/// A store id no world has.
pub(crate) const UNKNOWN_STORE: &str = "cks-00000000000000000";

/// R4, first message (`kms::CANNOT_COMMUNICATE`).
pub(crate) const CANNOT_COMMUNICATE: &str = "KMS cannot communicate with your CloudHSM cluster. This might be a transient network issue. If you see this error repeatedly, verify that the Network ACLs and the security group rules for the VPC of your AWS CloudHSM cluster are correct.";
/// R4, second message (`kms::KMSUSER_LOCKED_OUT`).
pub(crate) const KMSUSER_LOCKED_OUT: &str = "KMS cannot communicate with your AWS CloudHSM cluster because the kmsuser is locked out. If you see this error repeatedly, disconnect the AWS CloudHSM key store and reset the kmsuser account password. Update the kmsuser password for the custom key store and try the request again.";

/// A fresh engine on the example world.
pub(crate) fn example() -> Engine {
    let path = crate::support::example_world();
    world::load_file(&path).unwrap_or_else(|e| panic!("example world: {e}"))
}

/// A fresh engine on an inline world.
pub(crate) fn world_from(yaml: &str) -> Engine {
    world::load_str(yaml, "inline.yaml").unwrap_or_else(|e| panic!("inline world: {e}"))
}

/// The example world with its store disconnected, where most repairs start.
pub(crate) fn disconnected() -> Engine {
    let e = example();
    disconnect(&e, STORE);
    e
}

// ---------------------------------------------------------------------------
// Calls

/// Runs an operation that must succeed and returns its output.
pub(crate) fn call(e: &Engine, op: &str, input: Value) -> Value {
    match e.call(op, input.clone()) {
        Ok(v) => v,
        Err(err) => panic!("{op} {input} should succeed, got {err}"),
    }
}

/// Runs an operation that must fail and returns `(exception name, message)`.
pub(crate) fn fail(e: &Engine, op: &str, input: Value) -> (String, String) {
    match e.call(op, input.clone()) {
        Ok(v) => panic!("{op} {input} should fail, got {v}"),
        Err(err) => (err.aws_name().to_owned(), err.message().to_owned()),
    }
}

/// Runs an operation that must fail and returns the exception name.
pub(crate) fn exception(e: &Engine, op: &str, input: Value) -> String {
    fail(e, op, input).0
}

/// Each member of the object `expected` has the same value in `actual`,
/// which may have more members; a failure names the member.
pub(crate) fn assert_members(actual: &Value, expected: Value) {
    let Value::Object(members) = expected else {
        panic!("expected members as an object: {expected}")
    };
    for (name, value) in members {
        assert_eq!(actual[name.as_str()], value, "{name} of {actual}");
    }
}

/// `(name, message)` as owned strings, for comparing with [`fail`].
pub(crate) fn error(name: &str, message: &str) -> (String, String) {
    (name.to_owned(), message.to_owned())
}

/// R4's first message: `KMSInvalidStateException` with [`CANNOT_COMMUNICATE`].
pub(crate) fn cannot_communicate() -> (String, String) {
    error("KMSInvalidStateException", CANNOT_COMMUNICATE)
}

/// `KMSInvalidStateException: <key ARN> is unavailable.`
pub(crate) fn unavailable(arn: &str) -> (String, String) {
    error(
        "KMSInvalidStateException",
        &format!("{arn} is unavailable."),
    )
}

/// Every entry of a paged KMS list operation (ListKeys,
/// DescribeCustomKeyStores), fetched one per page with `Limit` and
/// `Marker`: each page but the last is `Truncated` with a `NextMarker`, the
/// last has neither, and a marker no page gave is `InvalidMarkerException`.
pub(crate) fn one_per_page(e: &Engine, op: &str, member: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut input = json!({"Limit": 1});
    loop {
        let out = call(e, op, input.clone());
        let page = out[member]
            .as_array()
            .unwrap_or_else(|| panic!("{member}: {out}"));
        assert_eq!(page.len(), 1, "{op} page {}: {out}", entries.len());
        entries.extend(page.iter().cloned());
        if out["Truncated"] == json!(false) {
            assert!(out.get("NextMarker").is_none(), "{out}");
            break;
        }
        assert_eq!(out["Truncated"], json!(true), "{out}");
        let marker = out["NextMarker"].as_str();
        input["Marker"] = json!(marker.unwrap_or_else(|| panic!("NextMarker: {out}")));
        assert!(entries.len() < 1_000, "{op} pages without end");
    }
    let bad = json!({"Limit": 1, "Marker": "not-a-marker"});
    assert_eq!(exception(e, op, bad), "InvalidMarkerException", "{op}");
    entries
}

// ---------------------------------------------------------------------------
// Custom key stores

/// The store's `CustomKeyStoresListEntry`.
pub(crate) fn store_entry(e: &Engine, id: &str) -> Value {
    let out = call(
        e,
        "DescribeCustomKeyStores",
        json!({"CustomKeyStoreId": id}),
    );
    let stores = out["CustomKeyStores"].as_array().expect("CustomKeyStores");
    assert_eq!(stores.len(), 1, "one store with id {id}: {out}");
    stores[0].clone()
}

/// `(ConnectionState, ConnectionErrorCode)` of a store.
pub(crate) fn store_state(e: &Engine, id: &str) -> (String, Option<String>) {
    let entry = store_entry(e, id);
    (
        entry["ConnectionState"]
            .as_str()
            .expect("ConnectionState")
            .to_owned(),
        entry.get("ConnectionErrorCode").map(|c| {
            c.as_str()
                .expect("ConnectionErrorCode is a string")
                .to_owned()
        }),
    )
}

/// `(state, None)` for comparing with [`store_state`].
pub(crate) fn state(s: &str) -> (String, Option<String>) {
    (s.to_owned(), None)
}

/// The input of the key store operations that take only the store id
/// (Connect, Disconnect, Delete, DescribeCustomKeyStores).
pub(crate) fn key_store_input(id: &str) -> Value {
    json!({"CustomKeyStoreId": id})
}

/// `("FAILED", Some(code))` for comparing with [`store_state`].
pub(crate) fn failed(code: &str) -> (String, Option<String>) {
    ("FAILED".to_owned(), Some(code.to_owned()))
}

/// ConnectCustomKeyStore, which answers `{}` at once.
pub(crate) fn connect(e: &Engine, id: &str) {
    let out = call(e, "ConnectCustomKeyStore", key_store_input(id));
    assert_eq!(out, json!({}));
}

/// DisconnectCustomKeyStore; the store is `DISCONNECTED` at once.
pub(crate) fn disconnect(e: &Engine, id: &str) {
    let out = call(e, "DisconnectCustomKeyStore", key_store_input(id));
    assert_eq!(out, json!({}));
    assert_eq!(store_state(e, id), state("DISCONNECTED"));
}

/// Connects, lets the attempt complete, and returns the outcome.
pub(crate) fn connect_and_settle(e: &Engine, id: &str) -> (String, Option<String>) {
    connect(e, id);
    assert_eq!(store_state(e, id), state("CONNECTING"));
    e.settle();
    store_state(e, id)
}

/// Connects and requires the store to end `CONNECTED`.
pub(crate) fn reconnect(e: &Engine, id: &str) {
    assert_eq!(connect_and_settle(e, id), state("CONNECTED"));
}

/// R3's drill on the example world: with the store disconnected, `cause`
/// breaks something, and the next connection attempt ends `FAILED` with
/// `code`. Returns the engine, its store `FAILED`.
pub(crate) fn fails_to_connect(cause: impl FnOnce(&Engine), code: &str) -> Engine {
    let e = disconnected();
    cause(&e);
    assert_eq!(connect_and_settle(&e, STORE), failed(code));
    e
}

/// The way back from a `FAILED` store: `fix` the cause, disconnect, and
/// connect again, to `CONNECTED`.
pub(crate) fn repair(e: &Engine, fix: impl FnOnce(&Engine)) {
    fix(e);
    disconnect(e, STORE);
    reconnect(e, STORE);
}

/// UpdateCustomKeyStore `KeyStorePassword` (the store must be disconnected).
pub(crate) fn tell_store_password(e: &Engine, id: &str, password: &str) {
    let out = call(
        e,
        "UpdateCustomKeyStore",
        json!({"CustomKeyStoreId": id, "KeyStorePassword": password}),
    );
    assert_eq!(out, json!({}));
}

/// R5's fix: `password` becomes `kmsuser`'s in the example cluster (set by
/// an admin) and the example store's (UpdateCustomKeyStore).
pub(crate) fn reset_kmsuser_password(e: &Engine, password: &str) {
    set_kmsuser_password(e, CLUSTER, password);
    tell_store_password(e, STORE, password);
}

/// The password KMS holds for the store (after a connect: the rotated
/// secret only KMS knows). Read from the state, as no API shows it.
pub(crate) fn store_password(e: &Engine, id: &str) -> String {
    e.with_state(|st| st.stores.get(id).map(|s| s.password.clone()))
        .expect("store exists")
}

// ---------------------------------------------------------------------------
// KMS keys and crypto

/// DescribeKey's `KeyMetadata`.
pub(crate) fn describe_key(e: &Engine, key: &str) -> Value {
    call(e, "DescribeKey", json!({"KeyId": key}))["KeyMetadata"].clone()
}

/// The `KeyState` DescribeKey shows.
pub(crate) fn key_state(e: &Engine, key: &str) -> String {
    describe_key(e, key)["KeyState"]
        .as_str()
        .expect("KeyState")
        .to_owned()
}

/// Encrypts `text` under `key`; returns the base64 `CiphertextBlob`.
pub(crate) fn encrypt(e: &Engine, key: &str, text: &str) -> String {
    let out = call(
        e,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": STANDARD.encode(text)}),
    );
    out["CiphertextBlob"]
        .as_str()
        .expect("CiphertextBlob")
        .to_owned()
}

/// Encrypt's input for `key`.
pub(crate) fn encrypt_input(key: &str) -> Value {
    json!({"KeyId": key, "Plaintext": STANDARD.encode("hello")})
}

/// Decrypt's input for a base64 blob.
pub(crate) fn decrypt_input(blob: &str) -> Value {
    json!({"CiphertextBlob": blob})
}

/// The bytes of a base64 member (`Plaintext`, `CiphertextBlob`).
pub(crate) fn base64_bytes(member: &Value) -> Vec<u8> {
    let text = member
        .as_str()
        .unwrap_or_else(|| panic!("base64 text: {member}"));
    STANDARD
        .decode(text)
        .unwrap_or_else(|err| panic!("{text} is not base64: {err}"))
}

/// Decrypts a base64 blob; returns the plaintext as text.
pub(crate) fn decrypt(e: &Engine, blob: &str) -> String {
    let out = call(e, "Decrypt", decrypt_input(blob));
    String::from_utf8(base64_bytes(&out["Plaintext"])).expect("utf-8 plaintext")
}

/// Encrypt under [`ALIAS`] and Decrypt of `blob` both fail with `expected`.
pub(crate) fn assert_crypto_fails(e: &Engine, blob: &str, expected: (String, String)) {
    assert_eq!(
        fail(e, "Encrypt", encrypt_input(ALIAS)),
        expected,
        "Encrypt"
    );
    assert_eq!(fail(e, "Decrypt", decrypt_input(blob)), expected, "Decrypt");
}

/// CreateKey in a CloudHSM key store; returns the key id.
pub(crate) fn create_key(e: &Engine, store: &str) -> String {
    let out = call(
        e,
        "CreateKey",
        json!({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": store}),
    );
    out["KeyMetadata"]["KeyId"]
        .as_str()
        .expect("KeyId")
        .to_owned()
}

/// ScheduleKeyDeletion with a waiting period of `days`; returns its output.
pub(crate) fn schedule_deletion(e: &Engine, key: &str, days: u32) -> Value {
    call(
        e,
        "ScheduleKeyDeletion",
        json!({"KeyId": key, "PendingWindowInDays": days}),
    )
}

/// GenerateRandom's input for `bytes` bytes from the HSMs of `store`.
pub(crate) fn random_input(bytes: usize, store: &str) -> Value {
    json!({"NumberOfBytes": bytes, "CustomKeyStoreId": store})
}

/// GenerateRandom with a `CustomKeyStoreId` needs that store to exist and
/// be connected: `bytes` random bytes from the example store while it is
/// connected, `CustomKeyStoreNotFoundException` for an unknown one, and
/// `CustomKeyStoreInvalidStateException` once it is disconnected.
pub(crate) fn assert_random_needs_a_connected_store(e: &Engine, bytes: usize) {
    let out = call(e, "GenerateRandom", random_input(bytes, STORE));
    assert_eq!(base64_bytes(&out["Plaintext"]).len(), bytes);
    assert_eq!(
        exception(e, "GenerateRandom", random_input(bytes, UNKNOWN_STORE)),
        "CustomKeyStoreNotFoundException"
    );
    disconnect(e, STORE);
    assert_eq!(
        exception(e, "GenerateRandom", random_input(bytes, STORE)),
        "CustomKeyStoreInvalidStateException"
    );
}

// ---------------------------------------------------------------------------
// CloudHSM

/// An `UNINITIALIZED` cluster's CSR signed by the drill CA (the runbooks'
/// `sign csr of`): the cluster certificate and the trust anchor
/// (`customerCA.crt`).
pub(crate) fn sign_csr(e: &Engine, cluster: &str) -> (String, String) {
    let s = e.sign_cluster_csr(cluster).expect("the cluster has a CSR");
    (s.signed_cert, s.trust_anchor)
}

/// CreateCluster (`hsm2m.medium`) in two subnets, from `backup` if given;
/// returns the id of the cluster, which is `CREATE_IN_PROGRESS`.
pub(crate) fn create_cluster(e: &Engine, subnets: [&str; 2], backup: Option<&str>) -> String {
    let mut input = json!({"HsmType": "hsm2m.medium", "SubnetIds": subnets});
    if let Some(b) = backup {
        input["SourceBackupId"] = json!(b);
    }
    let out = call(e, "CreateCluster", input);
    assert_eq!(out["Cluster"]["State"], json!("CREATE_IN_PROGRESS"));
    assert_eq!(
        out["Cluster"].get("SourceBackupId"),
        backup.map(|b| json!(b)).as_ref()
    );
    out["Cluster"]["ClusterId"]
        .as_str()
        .expect("ClusterId")
        .to_owned()
}

/// A brand-new cluster (not from a backup) taken the whole way to `ACTIVE`:
/// created, two HSMs, initialized with its CSR signed by the drill CA
/// ([`sign_csr`]), activated with the admin password; returns its id and
/// trust anchor.
pub(crate) fn new_active_cluster(e: &Engine, subnets: [&str; 2]) -> (String, String) {
    let cluster = create_cluster(e, subnets, None);
    e.settle();
    assert_eq!(cluster_state(e, &cluster), "UNINITIALIZED");
    create_hsm(e, &cluster, "us-west-2a");
    create_hsm(e, &cluster, "us-west-2b");
    e.settle();
    let (signed, anchor) = sign_csr(e, &cluster);
    call(
        e,
        "InitializeCluster",
        json!({"ClusterId": cluster, "SignedCert": signed, "TrustAnchor": anchor}),
    );
    e.settle();
    assert_eq!(cluster_state(e, &cluster), "INITIALIZED");
    cli_ok(
        e,
        &cluster,
        "admin-shell",
        &format!("cluster activate --password {ADMIN_PASSWORD}"),
    );
    assert_eq!(cluster_state(e, &cluster), "ACTIVE");
    (cluster, anchor)
}

/// The cluster as DescribeClusters shows it.
pub(crate) fn describe_cluster(e: &Engine, id: &str) -> Value {
    let out = call(
        e,
        "DescribeClusters",
        json!({"Filters": {"clusterIds": [id]}}),
    );
    let clusters = out["Clusters"].as_array().expect("Clusters");
    assert_eq!(clusters.len(), 1, "one cluster with id {id}: {out}");
    clusters[0].clone()
}

/// The cluster's `State`.
pub(crate) fn cluster_state(e: &Engine, id: &str) -> String {
    describe_cluster(e, id)["State"]
        .as_str()
        .expect("State")
        .to_owned()
}

/// The string `field` of each object in the array `list`, in order.
pub(crate) fn strings_of(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("an array: {list}"))
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("string {field} in {item}"))
                .to_owned()
        })
        .collect()
}

/// The cluster's subnets, from `SubnetMapping` (AZ order).
pub(crate) fn subnets(e: &Engine, id: &str) -> Vec<String> {
    describe_cluster(e, id)["SubnetMapping"]
        .as_object()
        .expect("SubnetMapping")
        .values()
        .map(|v| v.as_str().expect("subnet id").to_owned())
        .collect()
}

/// The cluster's HSM ids.
pub(crate) fn hsm_ids(e: &Engine, id: &str) -> Vec<String> {
    strings_of(&describe_cluster(e, id)["Hsms"], "HsmId")
}

/// DeleteHsm, which answers with the HSM's id.
pub(crate) fn delete_hsm(e: &Engine, cluster: &str, hsm: &str) {
    let out = call(e, "DeleteHsm", json!({"ClusterId": cluster, "HsmId": hsm}));
    assert_eq!(out["HsmId"], json!(hsm));
}

/// Deletes every HSM of the cluster with DeleteHsm.
pub(crate) fn delete_all_hsms(e: &Engine, cluster: &str) {
    for hsm in hsm_ids(e, cluster) {
        delete_hsm(e, cluster, &hsm);
    }
}

/// CreateHsm in `az`; returns the HSM id.
pub(crate) fn create_hsm(e: &Engine, cluster: &str, az: &str) -> String {
    let out = call(
        e,
        "CreateHsm",
        json!({"ClusterId": cluster, "AvailabilityZone": az}),
    );
    out["Hsm"]["HsmId"].as_str().expect("HsmId").to_owned()
}

/// One CloudHSM CLI line in `session` against `cluster`: the JSON envelope.
pub(crate) fn cli(e: &Engine, cluster: &str, session: &str, line: &str) -> Value {
    e.cloudhsm_cli(cluster, session, line)
}

/// A CLI line that must succeed; returns its `data`.
pub(crate) fn cli_ok(e: &Engine, cluster: &str, session: &str, line: &str) -> Value {
    let out = cli(e, cluster, session, line);
    assert_eq!(
        out["error_code"],
        json!(0),
        "`{line}` should succeed: {out}"
    );
    out["data"].clone()
}

/// A CLI line that must fail; returns its message.
pub(crate) fn cli_err(e: &Engine, cluster: &str, session: &str, line: &str) -> String {
    let out = cli(e, cluster, session, line);
    assert_ne!(out["error_code"], json!(0), "`{line}` should fail: {out}");
    out["data"].as_str().expect("error message").to_owned()
}

/// The CLI line that logs in as `kmsuser` with `password`.
pub(crate) fn kmsuser_login(password: &str) -> String {
    format!("login --username kmsuser --role crypto-user --password {password}")
}

/// Logs in as `admin` (with [`ADMIN_PASSWORD`]) in `session`.
pub(crate) fn log_in_as_admin(e: &Engine, cluster: &str, session: &str) {
    let line = format!("login --username admin --role admin --password {ADMIN_PASSWORD}");
    let data = cli_ok(e, cluster, session, &line);
    assert_eq!(data, json!({"username": "admin", "role": "admin"}));
}

/// Logs in as `kmsuser` with `password` in `session`.
pub(crate) fn log_in_as_kmsuser(e: &Engine, cluster: &str, session: &str, password: &str) {
    let data = cli_ok(e, cluster, session, &kmsuser_login(password));
    assert_eq!(data, json!({"username": "kmsuser", "role": "crypto-user"}));
}

/// A `kmsuser` login with `password` in `kms-shell` that must fail; returns
/// its message.
pub(crate) fn kmsuser_login_refused(e: &Engine, password: &str) -> String {
    cli_err(e, CLUSTER, "kms-shell", &kmsuser_login(password))
}

/// `logout` in `session`.
pub(crate) fn log_out(e: &Engine, cluster: &str, session: &str) {
    assert_eq!(
        cli_ok(e, cluster, session, "logout"),
        json!("Logout successful")
    );
}

/// R8 on the example cluster, its store disconnected: an admin sets
/// `kmsuser`'s password, and `kms-shell` logs in as `kmsuser` with it.
pub(crate) fn take_over_kmsuser(e: &Engine, password: &str) {
    set_kmsuser_password(e, CLUSTER, password);
    log_in_as_kmsuser(e, CLUSTER, "kms-shell", password);
}

/// R9: `kms-shell` logs out, the store is told the password `kmsuser` now
/// has, and it connects again.
pub(crate) fn hand_kmsuser_back(e: &Engine, password: &str) {
    log_out(e, CLUSTER, "kms-shell");
    tell_store_password(e, STORE, password);
    reconnect(e, STORE);
}

/// The keys `key list --filter <filter>` matches in `session`.
pub(crate) fn key_list(e: &Engine, cluster: &str, session: &str, filter: &str) -> Vec<Value> {
    let data = cli_ok(e, cluster, session, &format!("key list --filter {filter}"));
    data["matched_keys"]
        .as_array()
        .unwrap_or_else(|| panic!("matched_keys: {data}"))
        .clone()
}

/// As `admin` in `admin-shell`: logs in, runs `line`, which must succeed,
/// and logs out; returns the line's `data`.
pub(crate) fn admin_ok(e: &Engine, cluster: &str, line: &str) -> Value {
    log_in_as_admin(e, cluster, "admin-shell");
    let data = cli_ok(e, cluster, "admin-shell", line);
    log_out(e, cluster, "admin-shell");
    data
}

/// As `admin` in `admin-shell`: logs in, runs `line`, which must fail, and
/// logs out; returns the line's message.
pub(crate) fn admin_err(e: &Engine, cluster: &str, line: &str) -> String {
    log_in_as_admin(e, cluster, "admin-shell");
    let message = cli_err(e, cluster, "admin-shell", line);
    log_out(e, cluster, "admin-shell");
    message
}

/// R8: as `admin`, sets `kmsuser`'s password, then logs out.
pub(crate) fn set_kmsuser_password(e: &Engine, cluster: &str, password: &str) {
    let data = admin_ok(
        e,
        cluster,
        &format!(
            "user change-password --username kmsuser --role crypto-user --password {password}"
        ),
    );
    assert_eq!(data, json!({"username": "kmsuser", "role": "crypto-user"}));
}

/// R5: five wrong passwords for `kmsuser`.
pub(crate) fn lock_kmsuser(e: &Engine, cluster: &str) {
    for _ in 0..5 {
        cli_err(e, cluster, "intruder", &kmsuser_login("wrongPass1"));
    }
}

/// `locked` of a user in `user list` (the string `"true"` or `"false"`).
pub(crate) fn user_locked(e: &Engine, cluster: &str, username: &str) -> String {
    let data = cli_ok(e, cluster, "lister", "user list");
    data["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == json!(username))
        .unwrap_or_else(|| panic!("user {username} in {data}"))["locked"]
        .as_str()
        .expect("locked is a string")
        .to_owned()
}
