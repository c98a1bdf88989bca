//! Variables: `$name` substituted in inputs, CLI lines and faults, and
//! paths followed into responses; and the store a failure is about.

use serde_json::{json, Value};

use super::expect::text;
use super::Ctx;
use crate::scenario::ir::{Fault, Path, Segment};

impl Ctx {
    /// The entry of the store a failed step was about (or the only store),
    /// read fresh; not recorded in the snapshot.
    pub(super) fn store_involved(&self, store_ref: &Option<String>) -> Option<Value> {
        let all = self
            .target
            .call("DescribeCustomKeyStores", json!({}))
            .ok()?;
        let stores = all["CustomKeyStores"].as_array()?;
        match store_ref {
            Some(r) => stores
                .iter()
                .find(|s| s["CustomKeyStoreId"] == json!(r) || s["CustomKeyStoreName"] == json!(r))
                .cloned(),
            None if stores.len() == 1 => stores.first().cloned(),
            None => None,
        }
    }

    pub(super) fn subst_fault(&self, f: &Fault) -> Result<Fault, String> {
        use Fault;
        let s = |v: &String| self.subst_str(v);
        Ok(match f {
            Fault::Network { cluster, condition } => Fault::Network {
                cluster: s(cluster)?,
                condition: *condition,
            },
            Fault::SecurityGroup { cluster, ok } => Fault::SecurityGroup {
                cluster: s(cluster)?,
                ok: *ok,
            },
            Fault::DeleteHsm { cluster, hsm } => Fault::DeleteHsm {
                cluster: s(cluster)?,
                hsm: hsm.as_ref().map(s).transpose()?,
            },
            Fault::DegradeHsm { cluster, hsm } => Fault::DegradeHsm {
                cluster: s(cluster)?,
                hsm: hsm.as_ref().map(s).transpose()?,
            },
            Fault::RepairHsm { cluster, hsm } => Fault::RepairHsm {
                cluster: s(cluster)?,
                hsm: hsm.as_ref().map(s).transpose()?,
            },
            Fault::DeleteKeyMaterial { cluster, key } => Fault::DeleteKeyMaterial {
                cluster: s(cluster)?,
                key: s(key)?,
            },
            Fault::DeleteCluster { cluster } => Fault::DeleteCluster {
                cluster: s(cluster)?,
            },
            Fault::DeleteSubnet { subnet } => Fault::DeleteSubnet { subnet: s(subnet)? },
            Fault::FreeAddresses { subnet, count } => Fault::FreeAddresses {
                subnet: s(subnet)?,
                count: *count,
            },
            Fault::ExhaustSessions { cluster } => Fault::ExhaustSessions {
                cluster: s(cluster)?,
            },
            Fault::ReleaseSessions { cluster } => Fault::ReleaseSessions {
                cluster: s(cluster)?,
            },
            Fault::InternalErrors { cluster, count } => Fault::InternalErrors {
                cluster: s(cluster)?,
                count: *count,
            },
            Fault::Backup { cluster } => Fault::Backup {
                cluster: s(cluster)?,
            },
            Fault::SignCsr { cluster } => Fault::SignCsr {
                cluster: s(cluster)?,
            },
        })
    }

    /// Substitutes variables in every string of a JSON value.
    pub(super) fn subst(&self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => match whole_var(s) {
                Some(name) => self
                    .vars
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("undefined variable `${name}`"))?,
                None => Value::String(self.subst_str(s)?),
            },
            Value::Array(a) => {
                Value::Array(a.iter().map(|x| self.subst(x)).collect::<Result<_, _>>()?)
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| Ok((k.clone(), self.subst(x)?)))
                    .collect::<Result<_, String>>()?,
            ),
            Value::Null | Value::Bool(_) | Value::Number(_) => v.clone(),
        })
    }

    /// Substitutes `$name`, `${name}` and `$$` in text.
    pub(super) fn subst_str(&self, s: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('$') {
                out.push('$');
                rest = r;
                continue;
            }
            let (name, r) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(j) => (&inner[..j], &inner[j + 1..]),
                    None => return Err(format!("unterminated `${{` in {s:?}")),
                }
            } else {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..n], &after[n..])
            };
            if name.is_empty() {
                out.push('$');
                rest = after;
                continue;
            }
            let v = self
                .vars
                .get(name)
                .ok_or_else(|| format!("undefined variable `${name}`"))?;
            out.push_str(&text(v));
            rest = r;
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `$name` or `${name}` standing alone.
fn whole_var(s: &str) -> Option<&str> {
    let name = s
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| s.strip_prefix('$'))?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// Follows a path; a string holding JSON on the way is parsed and entered.
/// An explicit `null` is returned as such (`== null` holds); `is absent`
/// treats it like a missing member, as AWS omits empty members.
pub fn lookup(v: &Value, path: &Path) -> Option<Value> {
    find(v, path).ok()
}

/// Follows a path like [`lookup`]; `Err` is the index of the first segment
/// that is not there.
pub(super) fn find(v: &Value, path: &Path) -> Result<Value, usize> {
    let mut cur = v.clone();
    for (at, seg) in path.0.iter().enumerate() {
        if let Value::String(s) = &cur {
            if let Ok(parsed) = serde_json::from_str::<Value>(s) {
                cur = parsed;
            }
        }
        cur = match (seg, &cur) {
            (Segment::Field(f), Value::Object(m)) => m.get(f).ok_or(at)?.clone(),
            (Segment::Index(i), Value::Array(a)) => a.get(*i).ok_or(at)?.clone(),
            (Segment::Field(_) | Segment::Index(_), _) => return Err(at),
        };
    }
    Ok(cur)
}
