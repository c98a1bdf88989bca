//! Every operation of the KMS and CloudHSM v2 models is either one the
//! engine implements or one it answers with its service's "not supported"
//! error (docs/fidelity.md I42), never `UnknownOperationException` and
//! never a panic; and `docs/fidelity.md`'s operations table lists exactly
//! the models' operations, with a status that agrees with the engine.

use std::collections::BTreeMap;

use hsmdrill::engine::cloud::{self, Cloud};
use hsmdrill::engine::dispatch::{Api, Operation, NOT_SUPPORTED};
use hsmdrill::engine::Engine;
use serde_json::{json, Value};

fn model_operations(file: &str) -> Vec<String> {
    let path = format!("{}/reference/aws-models/{file}", env!("CARGO_MANIFEST_DIR"));
    let model: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    model["operations"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn services() -> [(Api, &'static str, Vec<String>); 2] {
    [
        (Api::Kms, "KMS", model_operations("kms-service-2.json")),
        (
            Api::CloudHsmV2,
            "CloudHSM v2",
            model_operations("cloudhsmv2-service-2.json"),
        ),
    ]
}

/// An operation of one engine, or of the cloud (those span partitions and
/// are all CloudHSM v2's, `engine::cloud::OPERATIONS`).
fn implemented(api: Api, name: &str) -> bool {
    Operation::from_name(name).is_some_and(|o| o.api() == api)
        || (api == Api::CloudHsmV2 && cloud::operation_members(name).is_some())
}

fn not_supported(api: Api, name: &str) -> bool {
    NOT_SUPPORTED.iter().any(|(a, n)| *a == api && *n == name)
}

#[test]
fn every_model_operation_is_implemented_or_not_supported() {
    let e = Cloud::new(Engine::new(Default::default()));
    let here = e.default_partition();
    for (api, service, ops) in services() {
        for name in ops {
            let (i, n) = (implemented(api, &name), not_supported(api, &name));
            assert!(
                i != n,
                "{service} {name}: implemented {i}, not supported {n}"
            );
            if n {
                let err = e.call_api(&here, api, &name, json!({})).unwrap_err();
                let expected = match api {
                    Api::Kms => "UnsupportedOperationException",
                    Api::CloudHsmV2 => "CloudHsmInvalidRequestException",
                };
                assert_eq!(err.aws_name(), expected, "{service} {name}");
                assert_eq!(
                    err.message(),
                    format!("{name} is not supported by hsmdrill."),
                    "{service} {name}"
                );
            } else {
                // Implemented: an empty request is answered with an AWS
                // error of the service or a success, never "unknown".
                if let Err(err) = e.call_api(&here, api, &name, json!({})) {
                    assert_ne!(
                        err.aws_name(),
                        "UnknownOperationException",
                        "{service} {name}"
                    );
                }
            }
        }
    }
    // The lists name only model operations.
    for (api, name) in NOT_SUPPORTED {
        let known = services()
            .iter()
            .any(|(a, _, ops)| a == api && ops.iter().any(|o| o == name));
        assert!(known, "{name} is not a model operation");
    }
}

/// `(service, operation) -> status` from the table under `## Operations`.
fn fidelity_table() -> BTreeMap<(String, String), String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/fidelity.md")).unwrap();
    let section = doc
        .split("\n## Operations\n")
        .nth(1)
        .expect("docs/fidelity.md has an Operations section");
    let section = section.split("\n## ").next().unwrap();
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells[0] == "Service" {
            continue;
        }
        let previous = rows.insert(
            (cells[0].to_owned(), cells[1].to_owned()),
            cells[2].to_owned(),
        );
        assert!(previous.is_none(), "listed twice: {line}");
    }
    rows
}

#[test]
fn the_fidelity_operations_table_lists_every_operation_with_the_engines_status() {
    let mut table = fidelity_table();
    for (api, service, ops) in services() {
        for name in ops {
            let status = table
                .remove(&(service.to_owned(), name.clone()))
                .unwrap_or_else(|| panic!("docs/fidelity.md does not list {service} {name}"));
            let expected_supported = implemented(api, &name);
            match status.as_str() {
                "implemented" | "partly" => assert!(
                    expected_supported,
                    "{service} {name} is `{status}` in docs/fidelity.md but not implemented"
                ),
                "not supported" => assert!(
                    !expected_supported,
                    "{service} {name} is `not supported` in docs/fidelity.md but implemented"
                ),
                other => panic!("{service} {name}: unknown status `{other}`"),
            }
        }
    }
    assert!(
        table.is_empty(),
        "docs/fidelity.md lists operations the models do not have: {table:?}"
    );
}
