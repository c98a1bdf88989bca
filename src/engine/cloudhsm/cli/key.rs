//! `key list`, `key delete`, `key generate-symmetric aes`, `key share` and
//! `key unshare`: attributes, filters, ownership.
#![deny(clippy::wildcard_enum_match_arm)]

use super::*;
use crate::engine::cloudhsm::keys::{KeyMaterial, KeyOrigin};

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

/// The attributes hsmdrill keys have, in the order verbose output prints them:
/// the documented output of `key generate-symmetric aes` (docs/fidelity.md
/// F24). It mirrors `HsmKey::attribute` (a test keeps the two in step),
/// because the model offers no list of names and a filter must reject
/// unknown ones even when there are no keys to ask.
pub(super) const ATTRIBUTES: &[(&str, AttrKind)] = &[
    ("key-type", AttrKind::Text),
    ("label", AttrKind::Text),
    ("id", AttrKind::Hex),
    ("check-value", AttrKind::Hex),
    ("class", AttrKind::Text),
    ("encrypt", AttrKind::Flag),
    ("decrypt", AttrKind::Flag),
    ("token", AttrKind::Flag),
    ("always-sensitive", AttrKind::Flag),
    ("derive", AttrKind::Flag),
    ("destroyable", AttrKind::Flag),
    ("extractable", AttrKind::Flag),
    ("local", AttrKind::Flag),
    ("modifiable", AttrKind::Flag),
    ("never-extractable", AttrKind::Flag),
    ("private", AttrKind::Flag),
    ("sensitive", AttrKind::Flag),
    ("sign", AttrKind::Flag),
    ("trusted", AttrKind::Flag),
    ("unwrap", AttrKind::Flag),
    ("verify", AttrKind::Flag),
    ("wrap", AttrKind::Flag),
    ("wrap-with-trusted", AttrKind::Flag),
    ("key-length-bytes", AttrKind::Number),
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
            key.owner.eq_ignore_ascii_case(username) || key.is_shared_with(username)
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

pub(super) fn key_delete(cluster: &mut Cluster, sid: &SessionId, args: &Args) -> Outcome {
    let username = require_crypto_user(cluster, sid, "delete keys")?;
    let reference = the_one_key(cluster, &username, args, "key delete removes")?;
    if let Some(key) = cluster.keys.get(reference) {
        check_owner(key, &username, "delete")?;
    }
    cluster.keys.remove(reference);
    Ok(json!({ "message": "Key deleted successfully" }))
}

/// The one key `--filter` selects among those `username` sees: `key delete`,
/// `key share` and `key unshare` act on exactly one (CHUG
/// cloudhsm_cli-key-delete: "You can only delete one key at a time").
fn the_one_key(cluster: &Cluster, username: &str, args: &Args, verb: &str) -> Result<u64, String> {
    if !args.has(&FILTER) {
        return Err(args.missing(&FILTER));
    }
    let filters = parse_filters(args.many(&FILTER))?;
    match matching_keys(cluster, username, Role::CryptoUser, &filters).as_slice() {
        [] => Err("No keys matched the filter".into()),
        [key] => Ok(key.reference),
        [..] => Err(format!(
            "More than one key matched the filter; {verb} one key at a time, so use a more specific filter (for example key-reference=0x… or attr.id=0x…)"
        )),
    }
}

/// R7 and CHUG cloudhsm_cli-key-share: only the crypto user that owns a key
/// can delete, share or unshare it; a user it is shared with sees and uses
/// it, nothing more. `action` is the verb of the refused command.
pub(super) fn check_owner(key: &HsmKey, username: &str, action: &str) -> Result<(), String> {
    if key.owner.eq_ignore_ascii_case(username) {
        Ok(())
    } else {
        Err(format!(
            "Only the key owner can {action} this key: it is owned by '{}' and only shared with '{username}'",
            key.owner
        ))
    }
}

/// `key generate-symmetric aes --label L --key-length-bytes N
/// [--attributes name=value...] [--share-crypto-users user...]`: a new AES
/// key owned by the crypto user logged in, with its material from the
/// world's seed (docs/fidelity.md I52). Answers `{"key": <verbose key>}`,
/// as documented (F24).
pub(super) fn key_generate_aes(
    cluster: &mut Cluster,
    ids: &mut IdGen,
    sid: &SessionId,
    args: &Args,
) -> Outcome {
    let owner = require_crypto_user(cluster, sid, "generate keys")?;
    let label = args.required(&LABEL)?;
    // F24: "The maximum size allowable for label is 127 characters".
    if label.chars().count() > 127 {
        return Err(format!(
            "invalid value for '--label <LABEL>': a label is at most 127 characters, this one has {}",
            label.chars().count()
        ));
    }
    let length = args.required(&KEY_LENGTH_BYTES)?;
    let length_bytes = match length.parse::<u32>() {
        Ok(n @ (16 | 24 | 32)) => n,
        Ok(_) | Err(_) => {
            return Err(format!(
                "invalid value '{length}' for '--key-length-bytes <KEY_LENGTH_BYTES>': an AES key is 16, 24 or 32 bytes"
            ))
        }
    };
    let flags = parse_key_attributes(args.many(&parse::ATTRIBUTES))?;
    let mut shared = Vec::new();
    for user in args.many(&SHARE_CRYPTO_USERS) {
        shared.push(share_target(cluster, &owner, user, Role::CryptoUser)?);
    }
    let mut raw = [0u8; 32];
    for chunk in raw.chunks_mut(8) {
        chunk.copy_from_slice(&ids.next_u64().to_be_bytes());
    }
    let material = KeyMaterial::from_bytes(&raw).map_err(|e| e.message().to_owned())?;
    let origin = KeyOrigin::Cli {
        length_bytes,
        flags,
    };
    let reference = cluster
        .keys
        .create_by_cli(label.to_owned(), &owner, shared, material, origin);
    let key = cluster
        .keys
        .get(reference)
        .ok_or_else(|| "The new key could not be read back".to_owned())?;
    Ok(json!({ "key": key_verbose(key) }))
}

/// `--attributes name=value...`: boolean attributes only; the others (`id`,
/// `label`, `key-type`, …) are set by the command or not settable here
/// (docs/fidelity.md I51).
fn parse_key_attributes(words: &[String]) -> Result<BTreeMap<String, bool>, String> {
    let mut flags = BTreeMap::new();
    for word in words {
        let Some((name, value)) = word.split_once('=') else {
            return Err(format!(
                "invalid key attribute '{word}': expected KEY_ATTRIBUTE_NAME=KEY_ATTRIBUTE_VALUE (for example sign=true)"
            ));
        };
        match ATTRIBUTES.iter().find(|(n, _)| *n == name) {
            Some((_, AttrKind::Flag)) => {}
            Some((_, AttrKind::Text | AttrKind::Hex | AttrKind::Number)) | None => {
                let settable: Vec<&str> = ATTRIBUTES
                    .iter()
                    .filter(|(_, k)| *k == AttrKind::Flag)
                    .map(|(n, _)| *n)
                    .collect();
                return Err(format!(
                    "key attribute '{name}' cannot be set by this command; settable attributes: {}",
                    settable.join(", ")
                ));
            }
        }
        let value = if value.eq_ignore_ascii_case("true") {
            true
        } else if value.eq_ignore_ascii_case("false") {
            false
        } else {
            return Err(format!(
                "invalid value '{value}' for key attribute '{name}': expected true or false"
            ));
        };
        flags.insert(name.to_owned(), value);
    }
    Ok(flags)
}

/// The stored name of the crypto user `owner` shares a key with; refuses
/// users that do not exist with `role`, admins (who hold no keys) and the
/// owner itself (docs/fidelity.md I51).
fn share_target(
    cluster: &Cluster,
    owner: &str,
    username: &str,
    role: Role,
) -> Result<String, String> {
    let stored = match cluster.users.get(username) {
        Some(u) if u.role == role => u.username.clone(),
        Some(_) | None => {
            return Err(format!(
                "User '{username}' with role {} not found",
                role.as_str()
            ))
        }
    };
    match role {
        Role::CryptoUser => {}
        Role::Admin | Role::Appliance => {
            return Err(format!(
                "Keys can only be shared with crypto users; '{stored}' is {}",
                role.as_str()
            ))
        }
    }
    if stored.eq_ignore_ascii_case(owner) {
        return Err(format!(
            "'{stored}' owns this key; a key is shared with other crypto users"
        ));
    }
    Ok(stored)
}

/// `key share` (`share` true) and `key unshare --filter ... --username U
/// --role crypto-user`, by the key's owner only (F24).
pub(super) fn key_share(
    cluster: &mut Cluster,
    sid: &SessionId,
    args: &Args,
    share: bool,
) -> Outcome {
    let me = require_crypto_user(
        cluster,
        sid,
        if share { "share keys" } else { "unshare keys" },
    )?;
    let (username, role) = args.user_and_role()?;
    let verb = if share {
        "key share shares"
    } else {
        "key unshare unshares"
    };
    let reference = the_one_key(cluster, &me, args, verb)?;
    let key = cluster
        .keys
        .get(reference)
        .ok_or_else(|| "No keys matched the filter".to_owned())?;
    check_owner(key, &me, if share { "share" } else { "unshare" })?;
    let target = share_target(cluster, &me, username, role)?;
    let already = key.is_shared_with(&target);
    if share {
        if already {
            return Err(format!("The key is already shared with '{target}'"));
        }
        cluster.keys.share(reference, &target);
        Ok(json!({ "message": "Key shared successfully" }))
    } else {
        if !already {
            return Err(format!("The key is not shared with '{target}'"));
        }
        cluster.keys.unshare(reference, &target);
        Ok(json!({ "message": "Key unshared successfully" }))
    }
}
