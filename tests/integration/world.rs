//! World fixtures: `scenarios/worlds/example.yaml` loads into the page's
//! world, deterministically; bad files give errors that name the file, the
//! document path and the line; no input makes the loader panic.

// clippy.toml allows these in `#[test]` functions only; the helpers here are
// test code too.

use std::path::PathBuf;

use hsmdrill::engine::world::{load_file, load_str, WorldError};
use hsmdrill::engine::Engine;
use serde_json::json;

fn example_path() -> PathBuf {
    crate::support::example_world()
}

fn example_text() -> String {
    std::fs::read_to_string(example_path()).unwrap()
}

fn load_err(yaml: &str) -> WorldError {
    match load_str(yaml, "bad.yaml") {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e,
    }
}

/// One line of a fingerprint: what the item is, then its fields.
fn line(what: &str, fields: &[&dyn std::fmt::Display]) -> String {
    fields
        .iter()
        .fold(what.to_owned(), |line, f| format!("{line} {f}"))
}

/// Every identifier and secret the loader made up, in a stable order.
fn fingerprint(engine: &Engine) -> String {
    engine.with_state(|st| {
        let mut out = Vec::new();
        for s in st.subnets.values() {
            out.push(line(
                "subnet",
                &[&s.id, &s.availability_zone, &s.free_addresses],
            ));
        }
        for c in st.clusters.values() {
            let mapping = format!("{:?}", c.subnet_mapping);
            out.push(line(
                "cluster",
                &[&c.id, &c.vpc_id, &c.security_group, &mapping],
            ));
            for h in &c.hsms {
                out.push(line("hsm", &[&h.id, &h.eni_id, &h.eni_ip, &h.subnet_id]));
            }
            for u in c.users.iter() {
                out.push(format!("user {} {:?} {:?}", u.username, u.role, u.password));
            }
            for k in c.keys.iter() {
                out.push(line("hsm key", &[&k.reference, &k.id, &k.label]));
            }
        }
        for s in st.stores.values() {
            out.push(line(
                "store",
                &[&s.id, &s.name, &s.password, &s.state.as_str()],
            ));
        }
        for k in st.keys.values() {
            let (backing, handle) = k.store().map_or((String::new(), 0), |b| {
                (b.backing_key_id.to_string(), b.key_handle)
            });
            out.push(line("key", &[&k.id, &backing, &handle]));
        }
        for b in st.backups.values() {
            out.push(line("backup", &[&b.id, &b.cluster_id, &b.state.as_str()]));
        }
        for a in st.aliases.values() {
            out.push(line("alias", &[&a.name, &a.target_key_id]));
        }
        out.join("\n")
    })
}

#[test]
fn example_world_has_the_page_store_connected() {
    let engine = load_file(&example_path()).unwrap();
    let out = engine.call("DescribeCustomKeyStores", json!({})).unwrap();
    let stores = out["CustomKeyStores"].as_array().unwrap();
    assert_eq!(stores.len(), 1);
    let s = &stores[0];
    assert_eq!(s["CustomKeyStoreId"], "cks-1234567890abcdef0");
    assert_eq!(s["CustomKeyStoreName"], "ExampleKeyStore");
    assert_eq!(s["CloudHsmClusterId"], "cluster-1a23b4cdefg");
    assert_eq!(s["ConnectionState"], "CONNECTED");

    engine.with_state(|st| {
        let c = &st.clusters["cluster-1a23b4cdefg"];
        assert_eq!(c.state.as_str(), "ACTIVE");
        assert_eq!(c.hsms.len(), 2);
        assert_eq!(c.subnet_mapping.len(), 2);
        // Connected: kmsuser's password was rotated to the secret KMS holds.
        let store = &st.stores["cks-1234567890abcdef0"];
        let kmsuser = c.users.get("kmsuser").unwrap();
        assert_eq!(kmsuser.password.as_deref(), Some(store.password.as_str()));
        assert_ne!(store.password, "kmsPassword1");
        assert_eq!(
            c.users.get("admin").unwrap().password.as_deref(),
            Some("adminPassword1")
        );
        // Each subnet gave one address to an HSM and one to KMS.
        for id in c.subnet_mapping.values() {
            assert_eq!(st.subnets[id].free_addresses, 248);
        }

        let key = &st.keys["1234abcd-12ab-34cd-56ef-1234567890ab"];
        assert_eq!(
            &*key.arn,
            "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        );
        let backing = key.store().expect("a store key");
        assert_eq!(&*backing.store_id, "cks-1234567890abcdef0");
        let material = c.keys.by_id(&backing.backing_key_id).unwrap();
        assert_eq!(material.owner, "kmsuser");
        assert_eq!(material.label, &*key.arn);
        assert_eq!(
            st.aliases["alias/app"].target_key_id,
            "1234abcd-12ab-34cd-56ef-1234567890ab"
        );

        // The backup holds the key's material and is ready at once.
        let b = &st.backups["backup-9g87f6edcba"];
        assert_eq!(b.state.as_str(), "READY");
        assert_eq!(b.cluster_id, "cluster-1a23b4cdefg");
        assert!(b.contents.keys.by_id(&backing.backing_key_id).is_some());
        assert_eq!(
            b.contents.certificates.cluster_certificate,
            c.certificates.cluster_certificate
        );
        assert_eq!(st.backups.len(), 1);
    });

    let key = engine
        .call("DescribeKey", json!({"KeyId": "alias/app"}))
        .unwrap();
    assert_eq!(key["KeyMetadata"]["KeyState"], "Enabled");
}

#[test]
fn loading_twice_gives_the_same_ids() {
    let a = fingerprint(&load_file(&example_path()).unwrap());
    let b = fingerprint(&load_file(&example_path()).unwrap());
    assert_eq!(a, b);
    assert!(a.contains("hsm hsm-"), "{a}");

    // Generated ids too.
    let minimal =
        "seed: 7\nclusters: [{}]\ncustom_key_stores: [{name: S, connected: true}]\nkeys: [{}]\n";
    let a = fingerprint(&load_str(minimal, "m.yaml").unwrap());
    let b = fingerprint(&load_str(minimal, "m.yaml").unwrap());
    assert_eq!(a, b);
    assert!(a.contains("cluster cluster-"), "{a}");
    let other = fingerprint(&load_str(&minimal.replace("seed: 7", "seed: 8"), "m.yaml").unwrap());
    assert_ne!(a, other);
}

#[test]
fn defaults_make_a_usable_world() {
    let engine = load_str("clusters: [{}]\ncustom_key_stores: [{name: S}]\n", "d.yaml").unwrap();
    engine.with_state(|st| {
        let c = st.clusters.values().next().unwrap();
        assert_eq!(c.hsms.len(), 2);
        assert!(c
            .trust_anchor
            .as_deref()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----"));
        let s = st.stores.values().next().unwrap();
        assert_eq!(s.state.as_str(), "DISCONNECTED");
        assert_eq!(s.password, "kmsPassword1");
        assert_eq!(Some(&s.trust_anchor), c.trust_anchor.as_ref());
    });
}

#[test]
fn bad_role_names_file_and_path() {
    let e = load_err(
        "clusters:\n  - id: cluster-1a23b4cdefg\n    users:\n      - {username: admin, role: superuser, password: adminPassword1}\n",
    );
    let shown = e.to_string();
    assert!(shown.starts_with("bad.yaml:4:"), "{shown}");
    assert!(shown.contains("`clusters[0].users[0].role`"), "{shown}");
    assert!(shown.contains("crypto-user"), "{shown}");
    assert_eq!(e.path(), "clusters[0].users[0].role");
}

#[test]
fn type_error_gives_file_path_and_line() {
    let yaml = example_text().replace("connected: true ", "connected: maybe ");
    assert_ne!(yaml, example_text());
    let e = load_err(&yaml);
    assert_eq!(e.file(), "bad.yaml");
    assert_eq!(e.path(), "custom_key_stores[0].connected");
    let line = e.line().unwrap();
    assert!(
        yaml.lines()
            .nth(line - 1)
            .unwrap()
            .contains("connected: maybe"),
        "{e}"
    );
    assert!(e.column().is_some());
    assert!(
        e.to_string().starts_with(&format!("bad.yaml:{line}:")),
        "{e}"
    );
}

#[test]
fn unknown_field_is_rejected_with_its_path() {
    let e = load_err("clusters:\n  - id: cluster-1a23b4cdefg\n    colour: blue\n");
    assert!(e.path().starts_with("clusters[0]"), "{e}");
    assert!(e.message().contains("colour"), "{e}");
    assert_eq!(e.line(), Some(3), "{e}");

    let e = load_err("seed: 1\nregoin: us-west-2\n");
    assert!(e.message().contains("regoin"), "{e}");
}

#[test]
fn store_on_unknown_cluster_names_the_reference() {
    let e = load_err(
        "clusters: [{id: cluster-1a23b4cdefg}]\ncustom_key_stores:\n  - name: S\n    cluster: cluster-nosuchcluster\n",
    );
    assert_eq!(e.path(), "custom_key_stores[0].cluster");
    assert!(e.message().contains("cluster-nosuchcluster"), "{e}");
    assert!(e.message().contains("cluster-1a23b4cdefg"), "{e}");
    assert_eq!((e.line(), e.column()), (Some(4), Some(14)), "{e}");
    assert!(e
        .to_string()
        .starts_with("bad.yaml:4:14: at `custom_key_stores[0].cluster`: "));
}

/// `origin: AWS_KMS` declares a key KMS keeps the material of: no store,
/// and it encrypts whatever the store does.
#[test]
fn a_world_declares_aws_kms_keys_in_no_store() {
    let e = load_str(
        "clusters: [{id: cluster-1a23b4cdefg}]\ncustom_key_stores: [{name: S}]\nkeys:\n  - {id: 0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d, origin: AWS_KMS, aliases: [alias/own]}\n",
        "kms.yaml",
    )
    .unwrap();
    let m = e
        .call("DescribeKey", json!({"KeyId": "alias/own"}))
        .unwrap();
    assert_eq!(m["KeyMetadata"]["Origin"], "AWS_KMS");
    assert_eq!(m["KeyMetadata"]["KeyState"], "Enabled");
    assert!(m["KeyMetadata"].get("CustomKeyStoreId").is_none());
    e.call(
        "Encrypt",
        json!({"KeyId": "alias/own", "Plaintext": "eA=="}),
    )
    .unwrap();

    let err = load_err(
        "clusters: [{id: cluster-1a23b4cdefg}]\ncustom_key_stores: [{name: S}]\nkeys:\n  - {origin: AWS_KMS, store: S}\n",
    );
    assert_eq!(err.path(), "keys[0].store");
    assert!(err.message().contains("AWS_KMS"), "{err}");
}

#[test]
fn semantic_errors_point_at_the_offending_item() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "clusters: [{users: [{username: kmsuser, role: crypto-user, password: short}]}]",
            "clusters[0].users[0].password",
            "7 to 32",
        ),
        (
            "clusters: [{availability_zones: [eu-west-1a]}]",
            "clusters[0].availability_zones[0]",
            "us-west-2a",
        ),
        ("clusters: [{id: cluster-1}]", "clusters[0].id", "cluster-"),
        (
            "clusters: [{id: cluster-1a23b4cdefg}, {id: cluster-1a23b4cdefg}]",
            "clusters[1].id",
            "duplicate",
        ),
        (
            "clusters: [{}, {}]\ncustom_key_stores: [{name: S}]",
            "custom_key_stores[0]",
            "missing `cluster`",
        ),
        (
            "clusters: [{}]\ncustom_key_stores: [{name: S, password: otherPass1, connected: true}]",
            "custom_key_stores[0].password",
            "does not match",
        ),
        (
            "clusters: [{}]\ncustom_key_stores: [{name: S}]\nkeys: [{store: T}]",
            "keys[0].store",
            "`S`",
        ),
        (
            "clusters: [{}]\ncustom_key_stores: [{name: S}]\nkeys: [{aliases: [alias/a]}, {aliases: [alias/a]}]",
            "keys[1].aliases[0]",
            "duplicate alias",
        ),
        (
            "clusters: [{}]\ncustom_key_stores: [{name: S}]\nkeys: [{aliases: [alias/aws/x]}]",
            "keys[0].aliases[0]",
            "reserved",
        ),
        (
            "clusters: [{}]\ncustom_key_stores: [{name: S}, {name: S}]",
            "custom_key_stores[1].name",
            "duplicate",
        ),
        (
            "clusters: [{state: UNINITIALIZED, backups: [backup-aaaaaaaaaaa]}]",
            "clusters[0].backups[0]",
            "ACTIVE",
        ),
    ];
    for (yaml, path, needle) in cases {
        let e = load_err(yaml);
        assert_eq!(e.path(), *path, "{yaml}\n=> {e}");
        assert!(e.message().contains(needle), "{yaml}\n=> {e}");
        assert!(e.line().is_some(), "{yaml}\n=> {e}");
    }
}

#[test]
fn unreadable_file_is_named() {
    let e = load_file(std::path::Path::new("/nonexistent/world.yaml")).unwrap_err();
    assert_eq!(e.file(), "/nonexistent/world.yaml");
    assert!(
        e.to_string().starts_with("/nonexistent/world.yaml: "),
        "{e}"
    );
}

/// xorshift64*: a deterministic source of garbling, no extra crates.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn garbled_worlds_never_panic() {
    let original: Vec<char> = example_text().chars().collect();
    let noise: Vec<char> = ":-[]{}#&*!|>'\"%@`,? \n\t0aZ~\u{e9}".chars().collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut loaded = 0;
    for case in 0..3000 {
        let mut text = original.clone();
        for _ in 0..1 + rng.below(4) {
            let len = text.len();
            let i = rng.below(len);
            match rng.below(5) {
                0 => {
                    text.remove(i);
                }
                1 => {
                    let c = text[i];
                    text.insert(i, c);
                }
                2 if i + 1 < len => text.swap(i, i + 1),
                3 => text[i] = noise[rng.below(noise.len())],
                _ => {
                    // Duplicate or drop a whole run of characters.
                    let end = (i + 1 + rng.below(40)).min(len);
                    if rng.below(2) == 0 {
                        text.drain(i..end);
                    } else {
                        let run: Vec<char> = text[i..end].to_vec();
                        let at = rng.below(text.len());
                        text.splice(at..at, run);
                    }
                }
            }
        }
        let yaml: String = text.into_iter().collect();
        let outcome = std::panic::catch_unwind(|| load_str(&yaml, "fuzz.yaml"));
        match outcome {
            Ok(Ok(_)) => loaded += 1,
            Ok(Err(e)) => {
                assert_eq!(e.file(), "fuzz.yaml");
                assert!(!e.to_string().is_empty());
            }
            Err(_) => panic!("case {case}: load_str panicked on:\n{yaml}"),
        }
    }
    // Many mutations only touch comments or values that stay valid.
    assert!(loaded > 100, "only {loaded} of 3000 garbled worlds loaded");
}
