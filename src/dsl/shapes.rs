//! What a response path may name: the output shapes of the AWS operations
//! (botocore's service models in `reference/aws-models/`, embedded so the
//! check works in a fresh clone) and the documented fields of the CloudHSM
//! CLI's envelope, CloudTrail events and a burst's tally.
//!
//! `check.rs` follows the statements in order, keeps the [`Root`] of the
//! last one that answers ([`produces`]), and asks [`Root::walk`] whether
//! the path of an `expect` or `capture` exists in it, and [`Root::leaf`]
//! what it ends at (for `<` and its kin). Where the producer cannot be
//! known before the run (a fault without a response, no action yet), the
//! root is [`Root::Free`] and the runner checks the path when it runs
//! (docs/fidelity.md I62, I65).

use std::sync::LazyLock;

use serde_json::Value;

use super::ast::Stmt;
use crate::scenario::ir::{Fault, Segment};

/// One botocore service model, parsed once.
pub(crate) struct Model {
    json: Value,
}

static KMS: LazyLock<Model> = LazyLock::new(|| {
    Model::parse(include_str!(
        "../../reference/aws-models/kms-service-2.json"
    ))
});

static CLOUDHSMV2: LazyLock<Model> = LazyLock::new(|| {
    Model::parse(include_str!(
        "../../reference/aws-models/cloudhsmv2-service-2.json"
    ))
});

impl Model {
    fn parse(text: &str) -> Model {
        // The models are part of the repository; one that does not parse
        // is treated as holding nothing, so every path is left to the run.
        Model {
            json: serde_json::from_str(text).unwrap_or(Value::Null),
        }
    }

    fn shape(&self, name: &str) -> Option<&Value> {
        self.json.get("shapes")?.get(name)
    }
}

/// The fields of a CloudTrail event record, from "CloudTrail record
/// contents for management, data, and network activity events"
/// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
/// Below the first field an event is free-form (`requestParameters` differ
/// per operation).
pub(crate) const TRAIL_FIELDS: &[&str] = &[
    "eventTime",
    "eventVersion",
    "userIdentity",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "eventType",
    "apiVersion",
    "managementEvent",
    "readOnly",
    "resources",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "tlsDetails",
    "insightDetails",
];

/// The CloudHSM CLI's JSON envelope: `error_code` and `data`, as every
/// command prints it ("CloudHSM CLI command reference",
/// https://docs.aws.amazon.com/cloudhsm/latest/userguide/cloudhsm_cli-reference.html);
/// `data` differs per command.
const CLI_FIELDS: &[&str] = &["error_code", "data"];

/// A burst's tally: `Succeeded` and `Failed` (a map by exception).
const TALLY_FIELDS: &[&str] = &["Succeeded", "Failed"];

/// The answer of `sign csr of <cluster>`.
const SIGN_CSR_FIELDS: &[&str] = &["SignedCert", "TrustAnchor"];

/// What a response is, for checking a path into it.
#[derive(Clone)]
pub(crate) enum Root {
    /// An output shape of a model, and what to call it in messages.
    Shape {
        model: &'static Model,
        shape: String,
        what: String,
    },
    /// Named fields at the top, free-form below.
    Fields {
        fields: &'static [&'static str],
        what: String,
    },
    /// A response with no members (`wait`, `settle`, an operation without
    /// an output shape).
    Empty { what: String },
    /// Not known before the run.
    Free,
}

/// A path that cannot exist: where, what is wrong, and a suggestion.
pub(crate) struct PathError {
    /// The index of the segment at fault.
    pub at: usize,
    pub message: String,
    pub label: String,
    pub candidates: Vec<String>,
}

impl Root {
    /// The response of an AWS operation by name (KMS or CloudHSM v2).
    pub(crate) fn operation(op: &str) -> Root {
        let what = format!("{op} response");
        for model in [&*KMS, &*CLOUDHSMV2] {
            let Some(o) = model.json.get("operations").and_then(|o| o.get(op)) else {
                continue;
            };
            return match o
                .get("output")
                .and_then(|x| x.get("shape"))
                .and_then(Value::as_str)
            {
                Some(shape) => Root::Shape {
                    model,
                    shape: shape.to_owned(),
                    what,
                },
                None => Root::Empty { what },
            };
        }
        Root::Free
    }

    /// A shape of the KMS model (`CustomKeyStoresListEntry`, `KeyMetadata`).
    pub(crate) fn kms_shape(shape: &str, what: &str) -> Root {
        Root::Shape {
            model: &KMS,
            shape: shape.to_owned(),
            what: what.to_owned(),
        }
    }

    pub(crate) fn trail(event: &str) -> Root {
        Root::Fields {
            fields: TRAIL_FIELDS,
            what: format!("{event} trail event"),
        }
    }

    pub(crate) fn cli() -> Root {
        Root::Fields {
            fields: CLI_FIELDS,
            what: "CloudHSM CLI response".into(),
        }
    }

    pub(crate) fn tally() -> Root {
        Root::Fields {
            fields: TALLY_FIELDS,
            what: "burst tally".into(),
        }
    }

    pub(crate) fn sign_csr() -> Root {
        Root::Fields {
            fields: SIGN_CSR_FIELDS,
            what: "sign csr response".into(),
        }
    }

    pub(crate) fn backup() -> Root {
        Root::Fields {
            fields: &["BackupId"],
            what: "backup response".into(),
        }
    }

    pub(crate) fn empty(what: &str) -> Root {
        Root::Empty { what: what.into() }
    }

    /// Where `path` ends, if it ends at a shape of a model (`None`: free
    /// form, inside a string holding JSON, or a path that cannot exist).
    pub(crate) fn leaf(&self, path: &[Segment]) -> Option<Leaf> {
        match self {
            Root::Shape { model, shape, what } => walk_shape(model, shape, what, path).ok()?,
            Root::Fields { .. } | Root::Empty { .. } | Root::Free => None,
        }
    }

    /// Follows `path`; `Err` names the first segment that cannot exist.
    pub(crate) fn walk(&self, path: &[Segment]) -> Result<(), PathError> {
        match self {
            Root::Free => Ok(()),
            Root::Empty { what } => match path.first() {
                None => Ok(()),
                Some(seg) => Err(PathError {
                    at: 0,
                    message: format!("the {what} has no members, so no `{}`", show(seg)),
                    label: "nothing here".into(),
                    candidates: Vec::new(),
                }),
            },
            Root::Fields { fields, what } => match path.first() {
                Some(Segment::Field(f)) if !fields.contains(&f.as_str()) => Err(PathError {
                    at: 0,
                    message: format!("no member `{f}` in the {what}"),
                    label: format!("not a member of the {what}"),
                    candidates: fields.iter().map(|s| (*s).to_owned()).collect(),
                }),
                Some(Segment::Index(i)) => Err(PathError {
                    at: 0,
                    message: format!("the {what} is not a list, so no `[{i}]`"),
                    label: "not a list".into(),
                    candidates: Vec::new(),
                }),
                Some(Segment::Field(_)) | None => Ok(()),
            },
            Root::Shape { model, shape, what } => walk_shape(model, shape, what, path).map(|_| ()),
        }
    }
}

/// What a statement leaves as the last response, where it sets one (blocks
/// leave their body's, a burst its tally: see `check.rs`).
pub(crate) fn produces(stmt: &Stmt) -> Option<Root> {
    Some(match stmt {
        Stmt::Call { op, .. } => Root::operation(&op.text),
        Stmt::Connect(_) => Root::operation("ConnectCustomKeyStore"),
        Stmt::Disconnect(_) => Root::operation("DisconnectCustomKeyStore"),
        Stmt::Encrypt { .. } => Root::operation("Encrypt"),
        Stmt::Decrypt { .. } => Root::operation("Decrypt"),
        Stmt::Tag { .. } => Root::operation("TagResource"),
        Stmt::Settle => Root::empty("settle response"),
        Stmt::Wait(_) => Root::empty("wait response"),
        Stmt::Cli { .. } => Root::cli(),
        Stmt::Fault { fault, .. } => match fault {
            Fault::Backup { .. } => Root::backup(),
            Fault::SignCsr { .. } => Root::sign_csr(),
            _ => Root::Free,
        },
        Stmt::Broken { .. } => Root::Free,
        Stmt::World(_)
        | Stmt::WorldYaml { .. }
        | Stmt::Answer(_)
        | Stmt::Expect(_)
        | Stmt::Capture { .. }
        | Stmt::Block { .. } => return None,
    })
}

fn show(seg: &Segment) -> String {
    match seg {
        Segment::Field(f) => f.clone(),
        Segment::Index(i) => format!("[{i}]"),
    }
}

/// Where a path ends in a model: the shape's `type` (`string`,
/// `timestamp`, `structure`, …) and name.
pub(crate) struct Leaf {
    pub kind: String,
    pub shape: String,
}

impl Leaf {
    /// Whether `<`, `<=`, `>`, `>=` can compare it.
    pub(crate) fn is_ordered(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "integer" | "long" | "float" | "double" | "timestamp"
        )
    }
}

fn walk_shape(
    model: &Model,
    root: &str,
    what: &str,
    path: &[Segment],
) -> Result<Option<Leaf>, PathError> {
    let mut name = root.to_owned();
    // What the current shape is, for messages: the response, or the member
    // that led here.
    let mut here = format!("the {what}");
    for (at, seg) in path.iter().enumerate() {
        let Some(shape) = model.shape(&name) else {
            return Ok(None);
        };
        let kind = shape.get("type").and_then(Value::as_str).unwrap_or("");
        let next = match (kind, seg) {
            ("structure", Segment::Field(f)) => {
                let members = shape.get("members").and_then(Value::as_object);
                match members.and_then(|m| m.get(f)) {
                    Some(m) => {
                        here = format!("`{f}`");
                        shape_name(m)
                    }
                    None => {
                        return Err(PathError {
                            at,
                            message: if here == format!("`{name}`") {
                                format!("no member `{f}` in {here}")
                            } else {
                                format!("no member `{f}` in {here} ({name})")
                            },
                            label: format!("not a member of {name}"),
                            candidates: members
                                .map(|m| m.keys().cloned().collect())
                                .unwrap_or_default(),
                        })
                    }
                }
            }
            ("list", Segment::Index(_)) => {
                here = format!("an element of {here}");
                member_shape(shape, "member")
            }
            ("map", Segment::Field(_)) => {
                here = format!("a value of {here}");
                member_shape(shape, "value")
            }
            // A string may hold JSON (a key policy); the runner walks into
            // it, so nothing below it is known.
            ("string", _) => return Ok(None),
            ("list", Segment::Field(f)) => {
                return Err(PathError {
                    at,
                    message: format!("{here} is a list, so it has no member `{f}`"),
                    label: "a list: index it first".into(),
                    candidates: Vec::new(),
                })
            }
            (_, Segment::Index(i)) => {
                return Err(PathError {
                    at,
                    message: format!("{here} is not a list, so no `[{i}]`"),
                    label: "not a list".into(),
                    candidates: Vec::new(),
                })
            }
            (other, Segment::Field(f)) => {
                let is = if other.is_empty() { "a value" } else { other };
                return Err(PathError {
                    at,
                    message: format!("{here} is a {is}, so it has no member `{f}`"),
                    label: format!("inside a {is}"),
                    candidates: Vec::new(),
                });
            }
        };
        name = next;
    }
    Ok(model.shape(&name).map(|shape| Leaf {
        kind: shape
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        shape: name,
    }))
}

fn shape_name(member: &Value) -> String {
    member
        .get("shape")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn member_shape(shape: &Value, which: &str) -> String {
    shape.get(which).map(shape_name).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(f: &str) -> Segment {
        Segment::Field(f.into())
    }

    #[test]
    fn a_misspelt_member_of_a_store_entry_is_named_with_candidates() {
        let root = Root::kms_shape("CustomKeyStoresListEntry", "key store entry");
        assert!(root.walk(&[field("ConnectionState")]).is_ok());
        let e = root.walk(&[field("ConectionState")]).err();
        let e = e.map(|e| (e.at, e.candidates.contains(&"ConnectionState".to_owned())));
        assert_eq!(e, Some((0, true)));
    }

    #[test]
    fn lists_maps_and_scalars_are_walked() {
        let root = Root::operation("DescribeClusters");
        let ok = [
            field("Clusters"),
            Segment::Index(0),
            field("Hsms"),
            Segment::Index(1),
            field("State"),
        ];
        assert!(root.walk(&ok).is_ok());
        assert!(root
            .walk(&[field("Clusters"), field("State")])
            .is_err_and(|e| e.at == 1));
        assert!(
            root.walk(&[
                field("Clusters"),
                Segment::Index(0),
                field("State"),
                field("X")
            ])
            .is_ok(),
            "a string may hold JSON"
        );
        let tags = Root::operation("ListResourceTags");
        assert!(tags.walk(&[field("Truncated")]).is_ok() || tags.walk(&[]).is_ok());
        assert!(Root::operation("TagResource").walk(&[field("X")]).is_err());
        assert!(Root::operation("NoSuchOperation")
            .walk(&[field("X")])
            .is_ok());
    }

    /// Every operation a runbook can `call` has its output shape in the
    /// models, the key management and Region operations included, so no
    /// path into their answers is left to the run.
    #[test]
    fn every_operation_the_engine_answers_has_an_output_in_the_models() {
        let names = crate::engine::dispatch::Operation::ALL
            .iter()
            .map(|op| op.name())
            .chain(["CopyBackupToRegion"]);
        for name in names {
            assert!(
                !matches!(Root::operation(name), Root::Free),
                "{name} is in no model"
            );
        }
        let grants = Root::operation("ListGrants");
        let grant = |f: &str| [field("Grants"), Segment::Index(0), field(f)];
        assert!(grants.walk(&grant("GrantId")).is_ok());
        let e = grants.walk(&grant("GrantID")).err();
        let e = e.map(|e| (e.at, e.candidates.contains(&"GrantId".to_owned())));
        assert_eq!(e, Some((2, true)));
        let tags = Root::operation("ListResourceTags");
        assert!(tags
            .walk(&[field("Tags"), Segment::Index(0), field("TagKey")])
            .is_ok());
        assert!(tags.walk(&[field("Tags"), field("TagKey")]).is_err());
        // The policy is a string holding JSON: walked into at run time.
        let policy = Root::operation("GetKeyPolicy");
        assert!(policy.walk(&[field("Policy"), field("Version")]).is_ok());
        assert!(policy.walk(&[field("Policie")]).is_err());
        let copy = Root::operation("CopyBackupToRegion");
        assert!(copy
            .walk(&[field("DestinationBackup"), field("SourceRegion")])
            .is_ok());
        assert!(Root::operation("RotateKeyOnDemand")
            .walk(&[field("KeyId")])
            .is_ok());
    }
}
