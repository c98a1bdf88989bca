//! `key list` and `key delete`: attributes, filters, ownership.
#![deny(clippy::wildcard_enum_match_arm)]

use super::*;

/// How an attribute prints in verbose output and compares in a filter.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum AttrKind {
    /// A string compared exactly (`label`, `class`, `key-type`).
    Text,
    /// `0x` + hex, compared case-insensitively (`id`).
    Hex,
    /// A JSON boolean; `true`/`false` in any case in a filter.
    Flag,
    /// A JSON number, compared numerically.
    Number,
}

/// The attributes hsmdrill keys have, in the order verbose output prints them.
/// It mirrors `HsmKey::attribute` (a test keeps the two in step), because the
/// model offers no list of names and a filter must reject unknown ones even
/// when there are no keys to ask.
pub(super) const ATTRIBUTES: &[(&str, AttrKind)] = &[
    ("key-type", AttrKind::Text),
    ("label", AttrKind::Text),
    ("id", AttrKind::Hex),
    ("class", AttrKind::Text),
    ("encrypt", AttrKind::Flag),
    ("decrypt", AttrKind::Flag),
    ("wrap", AttrKind::Flag),
    ("unwrap", AttrKind::Flag),
    ("sign", AttrKind::Flag),
    ("verify", AttrKind::Flag),
    ("derive", AttrKind::Flag),
    ("token", AttrKind::Flag),
    ("private", AttrKind::Flag),
    ("sensitive", AttrKind::Flag),
    ("always-sensitive", AttrKind::Flag),
    ("extractable", AttrKind::Flag),
    ("never-extractable", AttrKind::Flag),
    ("local", AttrKind::Flag),
    ("modifiable", AttrKind::Flag),
    ("copyable", AttrKind::Flag),
    ("destroyable", AttrKind::Flag),
    ("trusted", AttrKind::Flag),
    ("wrap-with-trusted", AttrKind::Flag),
    ("size", AttrKind::Number),
];

/// One `--filter` word.
#[derive(Debug)]
pub(super) enum Filter {
    Reference(u64),
    Attribute {
        name: &'static str,
        kind: AttrKind,
        value: String,
    },
}

pub(super) fn parse_filter(word: &str) -> Result<Filter, String> {
    let expected = "expected key-reference=0x<HEX> or attr.<NAME>=<VALUE>";
    let Some((lhs, value)) = word.split_once('=') else {
        return Err(format!("invalid filter '{word}': {expected}"));
    };
    if lhs == "key-reference" {
        let digits = value
            .strip_prefix("0x")
            .or_else(|| value.strip_prefix("0X"))
            .unwrap_or(value);
        return u64::from_str_radix(digits, 16)
            .map(Filter::Reference)
            .map_err(|_| {
                format!("invalid key-reference '{value}': expected 0x followed by hex digits")
            });
    }
    let Some(name) = lhs.strip_prefix("attr.") else {
        return Err(format!("invalid filter '{word}': {expected}"));
    };
    match ATTRIBUTES.iter().find(|(n, _)| *n == name) {
        Some(&(name, kind)) => Ok(Filter::Attribute {
            name,
            kind,
            value: value.to_owned(),
        }),
        None => {
            let known: Vec<&str> = ATTRIBUTES.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "unknown key attribute '{name}' in filter '{word}'; known attributes: {}",
                known.join(", ")
            ))
        }
    }
}

pub(super) fn parse_filters(words: &[String]) -> Result<Vec<Filter>, String> {
    words.iter().map(|w| parse_filter(w)).collect()
}

impl Filter {
    pub(super) fn matches(&self, key: &HsmKey) -> bool {
        match self {
            Filter::Reference(r) => key.reference == *r,
            Filter::Attribute { name, kind, value } => {
                let Some(actual) = key.attribute(name) else {
                    return false;
                };
                match kind {
                    AttrKind::Text => actual == *value,
                    // R6: `attr.id="0x<backing-key-id>"`; without `0x` it
                    // does not match, which is the pitfall the runbook warns of.
                    AttrKind::Hex | AttrKind::Flag => actual.eq_ignore_ascii_case(value),
                    AttrKind::Number => match (actual.parse::<u64>(), value.parse::<u64>()) {
                        (Ok(a), Ok(b)) => a == b,
                        (Ok(_) | Err(_), Ok(_) | Err(_)) => false,
                    },
                }
            }
        }
    }
}

/// Keys the user may see: an admin sees every key, a crypto user the keys it
/// owns or that are shared with it. (All hsmdrill keys are secret keys, so
/// there are no public keys that everyone sees.)
pub(super) fn visible(key: &HsmKey, username: &str, role: Role) -> bool {
    match role {
        Role::Admin => true,
        Role::CryptoUser => {
            key.owner.eq_ignore_ascii_case(username)
                || key
                    .shared_users
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(username))
        }
        // The appliance user cannot log in through the CLI (Role::parse
        // refuses it); if it somehow were, it holds no keys.
        Role::Appliance => false,
    }
}

pub(super) fn matching_keys<'a>(
    cluster: &'a Cluster,
    username: &str,
    role: Role,
    filters: &[Filter],
) -> Vec<&'a HsmKey> {
    cluster
        .keys
        .iter()
        .filter(|k| visible(k, username, role) && filters.iter().all(|f| f.matches(k)))
        .collect()
}

pub(super) fn key_list(cluster: &Cluster, sid: &SessionId, args: &Args) -> Outcome {
    let (username, role) = current_user(cluster, sid)?;
    let filters = parse_filters(args.many(&FILTER))?;
    let max_items = match args.one(&MAX_ITEMS) {
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n,
            Ok(_) | Err(_) => {
                return Err(format!(
                    "invalid value '{v}' for '--max-items <MAX_ITEMS>': expected a positive integer"
                ))
            }
        },
        None => DEFAULT_MAX_ITEMS,
    };
    // The token is the index of the first key to return: what this emulator
    // handed out as `next_token`.
    let start = match args.one(&STARTING_TOKEN) {
        Some(v) => v.parse::<usize>().map_err(|_| {
            format!("invalid value '{v}' for '--starting-token <STARTING_TOKEN>': not a token from an earlier key list")
        })?,
        None => 0,
    };
    let verbose = args.has(&VERBOSE);
    let matched = matching_keys(cluster, &username, role, &filters);
    let total = matched.len();
    let page: Vec<Value> = matched
        .iter()
        .skip(start)
        .take(max_items)
        .map(|k| {
            if verbose {
                key_verbose(k)
            } else {
                key_brief(k)
            }
        })
        .collect();
    let mut data = Map::new();
    data.insert("matched_keys".into(), json!(page));
    data.insert("total_key_count".into(), json!(total));
    data.insert("returned_key_count".into(), json!(page.len()));
    let end = start.saturating_add(max_items);
    if end < total {
        data.insert("next_token".into(), json!(end.to_string()));
    }
    Ok(Value::Object(data))
}

pub(super) fn key_brief(key: &HsmKey) -> Value {
    json!({
        "key-reference": key.reference_hex(),
        "attributes": { "label": key.label },
    })
}

pub(super) fn key_verbose(key: &HsmKey) -> Value {
    let mut attributes = Map::new();
    for &(name, kind) in ATTRIBUTES {
        let Some(value) = key.attribute(name) else {
            continue;
        };
        let json_value = match kind {
            AttrKind::Text | AttrKind::Hex => Value::String(value),
            AttrKind::Flag => Value::Bool(value.eq_ignore_ascii_case("true")),
            AttrKind::Number => match value.parse::<u64>() {
                Ok(n) => json!(n),
                Err(_) => Value::String(value),
            },
        };
        attributes.insert(name.to_owned(), json_value);
    }
    let shared: Vec<Value> = key
        .shared_users
        .iter()
        .map(|u| json!({ "username": u, "key-coverage": "full" }))
        .collect();
    json!({
        "key-reference": key.reference_hex(),
        "key-info": {
            "key-owners": [{ "username": key.owner, "key-coverage": "full" }],
            "shared-users": shared,
            "key-quorum-values": {
                "manage-key-quorum-value": 0,
                "use-key-quorum-value": 0,
            },
            "cluster-coverage": "full",
        },
        "attributes": attributes,
    })
}

/// R7: "Only a crypto user that owns a key can delete it"; a user the key is
/// shared with sees it but may not delete it.
pub(super) fn check_owner(key: &HsmKey, username: &str) -> Result<(), String> {
    if key.owner.eq_ignore_ascii_case(username) {
        Ok(())
    } else {
        Err(format!(
            "Only the key owner can delete this key: it is owned by '{}' and only shared with '{username}'",
            key.owner
        ))
    }
}

pub(super) fn key_delete(cluster: &mut Cluster, sid: &SessionId, args: &Args) -> Outcome {
    let (username, role) = current_user(cluster, sid)?;
    match role {
        Role::CryptoUser => {}
        Role::Admin | Role::Appliance => {
            return Err(format!(
                "Only a crypto user can delete keys; '{username}' is logged in as {}",
                role.as_str()
            ))
        }
    }
    if !args.has(&FILTER) {
        return Err(args.missing(&FILTER));
    }
    let filters = parse_filters(args.many(&FILTER))?;
    let reference = match matching_keys(cluster, &username, role, &filters).as_slice() {
        [] => return Err("No keys matched the filter".into()),
        [key] => {
            check_owner(key, &username)?;
            key.reference
        }
        [..] => {
            return Err(
                "More than one key matched the filter; key delete removes one key at a time, so use a more specific filter (for example key-reference=0x… or attr.id=0x…)"
                    .into(),
            )
        }
    };
    cluster.keys.remove(reference);
    Ok(json!({ "message": "Key deleted successfully" }))
}
