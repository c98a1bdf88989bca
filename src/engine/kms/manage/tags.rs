//! Tags on KMS keys: TagResource, UntagResource, ListResourceTags, and the
//! rules CreateKey's `Tags` share (docs/fidelity.md F16).

use std::collections::BTreeMap;

use serde_json::json;

use super::shapes::KeyListRequest;
use super::shapes::{ListResourceTagsResponse, TagResourceRequest, UntagResourceRequest};
use crate::engine::error::{Error, ErrorKind, Result};
use crate::engine::kms::api::{Empty, Tag};
use crate::engine::kms::{check_len, page_within};
use crate::engine::machines::key::Management;
use crate::engine::Engine;

/// Tags a key may carry (docs/fidelity.md F16).
pub(crate) const MAX_TAGS: usize = 50;

/// Checks one tag key: 1–128 characters, not `aws:…`.
fn check_tag_key(member: &str, key: &str) -> Result<()> {
    check_len(member, key, 1, 128)?;
    // "aws:" is reserved for AWS use, in any case (docs/fidelity.md F16);
    // the message is hsmdrill's (I38).
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return Err(Error::new(
            ErrorKind::Tag,
            format!("Tag key {key} is not valid: tag keys beginning with aws: are reserved for AWS use."),
        ));
    }
    Ok(())
}

/// Checks a request's `Tags` and returns them by tag key: each key and
/// value within its length, no reserved key, no key twice (I38).
pub(crate) fn checked_tags(tags: &[Tag]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (i, t) in tags.iter().enumerate() {
        let n = i + 1;
        check_tag_key(&format!("Tags.{n}.member.tagKey"), &t.tag_key)?;
        check_len(&format!("Tags.{n}.member.tagValue"), &t.tag_value, 0, 256)?;
        if out.insert(t.tag_key.clone(), t.tag_value.clone()).is_some() {
            return Err(Error::new(
                ErrorKind::Tag,
                format!("Duplicate tag key {} in the request.", t.tag_key),
            ));
        }
    }
    too_many(out.len())?;
    Ok(out)
}

/// A key carries at most 50 tags (docs/fidelity.md F16; I38 for the
/// exception).
fn too_many(n: usize) -> Result<()> {
    if n > MAX_TAGS {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("A KMS key can have at most {MAX_TAGS} tags; this request would leave {n}."),
        ));
    }
    Ok(())
}

impl Engine {
    /// TagResource: adds tags, or replaces the value of a tag key the key
    /// already has.
    pub fn tag_resource(&self, req: &TagResourceRequest) -> Result<Empty> {
        self.on_key(
            "TagResource",
            json!({"keyId": req.key_id, "tags": req.tags}),
            &req.key_id,
            |key_id| {
                let tags = req.tags.as_deref().ok_or_else(|| Error::missing("Tags"))?;
                let tags = checked_tags(tags)?;
                self.manage_key(key_id, Management::NotPendingDeletion, |key| {
                    let mut merged = key.tags.clone();
                    merged.extend(tags);
                    too_many(merged.len())?;
                    key.tags = merged;
                    Ok(Empty {})
                })
            },
        )
    }

    /// UntagResource: a tag key the key does not have is no error.
    pub fn untag_resource(&self, req: &UntagResourceRequest) -> Result<Empty> {
        self.on_key(
            "UntagResource",
            json!({"keyId": req.key_id, "tagKeys": req.tag_keys}),
            &req.key_id,
            |key_id| {
                let keys = req
                    .tag_keys
                    .as_deref()
                    .ok_or_else(|| Error::missing("TagKeys"))?;
                for (i, k) in keys.iter().enumerate() {
                    check_tag_key(&format!("TagKeys.{}.member", i + 1), k)?;
                }
                self.manage_key(key_id, Management::NotPendingDeletion, |key| {
                    for k in keys {
                        key.tags.remove(k);
                    }
                    Ok(Empty {})
                })
            },
        )
    }

    /// ListResourceTags, by tag key; `Limit` 1–50, default 50.
    pub fn list_resource_tags(&self, req: &KeyListRequest) -> Result<ListResourceTagsResponse> {
        self.on_key(
            "ListResourceTags",
            json!({"keyId": req.key_id}),
            &req.key_id,
            |key_id| {
                self.read_key(key_id, |_, key| {
                    let entries: Vec<(String, Tag)> = key
                        .tags
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                Tag {
                                    tag_key: k.clone(),
                                    tag_value: v.clone(),
                                },
                            )
                        })
                        .collect();
                    let (tags, next) =
                        page_within(&entries, req.limit, req.marker.as_deref(), 50, 50)?;
                    Ok(ListResourceTagsResponse {
                        tags,
                        truncated: next.is_some(),
                        next_marker: next,
                    })
                })
            },
        )
    }
}
