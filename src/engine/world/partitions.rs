//! Worlds of several accounts and Regions, loaded into a [`Cloud`].
//!
//! ```yaml
//! account: "111122223333"        # the world's own account and Region,
//! region: us-west-2              # whose items sit at the top level
//! clusters: [...]
//! accounts:                      # access keys that act as other accounts
//!   - {id: "444455556666", access_keys: [AKIAI44QH8DHBEXAMPLE]}
//! regions:                       # further partitions, each with its items
//!   - region: eu-west-1          # account: the world's own unless given
//!     clusters: [{id: cluster-2b34c5defgh}]
//!   - {region: us-west-2, account: "444455556666"}
//! ```
//!
//! The top level is built exactly as a single-Region world is (same seed,
//! same order of ids), so adding `regions` to a file changes nothing of
//! its own partition. Each `regions[i]` entry is built the same way into an
//! engine whose seed derives from the world's seed and the partition
//! (`cloud::derived_seed`), with the top level's settings (timing, pools,
//! quotas). Errors point into the entry (`regions[0].clusters[1].id`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::*;
use crate::engine::cloud::{is_account_id, regions, Cloud, Partition};

/// [`load_file`], for a world of any number of partitions.
pub fn load_cloud_file(path: &Path) -> Result<Cloud, WorldError> {
    read_then(path, load_cloud_str)
}

/// [`load_str`], for a world of any number of partitions.
pub fn load_cloud_str(yaml: &str, origin: &str) -> Result<Cloud, WorldError> {
    load_cloud_str_with_clock(yaml, origin, Clock::virtual_at(EPOCH))
}

/// [`load_str_with_clock`], for a world of any number of partitions: the
/// default partition from the top level, one more per `regions` entry, and
/// the `accounts`' access keys.
pub fn load_cloud_str_with_clock(
    yaml: &str,
    origin: &str,
    clock: Clock,
) -> Result<Cloud, WorldError> {
    let cx = Ctx { yaml, origin };
    let mut doc = parse(&cx)?;
    let regions_doc = std::mem::take(&mut doc.regions);
    let accounts = std::mem::take(&mut doc.accounts);
    let cloud = Cloud::new(default_partition(&cx, &doc, clock)?);
    let keys = access_keys(&cx, &accounts)?;
    let default = cloud.default_partition();
    let mut seen = BTreeSet::from([default.clone()]);
    let mut engines = Vec::new();
    for (i, r) in regions_doc.into_iter().enumerate() {
        let at = format!("regions[{i}].");
        if !regions::is_known(&r.region) {
            return Err(cx.err(
                format!("{at}region"),
                format!(
                    "`{}` is not an AWS Region: expected one like `eu-west-1`",
                    r.region
                ),
            ));
        }
        let account = r.account.unwrap_or_else(|| default.account.clone());
        if !is_account_id(&account) {
            return Err(cx.err(
                format!("{at}account"),
                format!("`{account}` is not an AWS account id: expected 12 digits, as \"444455556666\" (quote it so YAML keeps it a string)"),
            ));
        }
        let partition = Partition::new(account, r.region);
        if !seen.insert(partition.clone()) {
            let what = if partition == default {
                "is the world's own; declare its items at the top level"
            } else {
                "is declared twice"
            };
            return Err(cx.err(format!("{at}region"), format!("{partition} {what}")));
        }
        let engine = cloud.fresh_engine(&partition);
        let items = WorldDoc {
            subnets: r.subnets,
            clusters: r.clusters,
            custom_key_stores: r.custom_key_stores,
            keys: r.keys,
            ..WorldDoc::default()
        };
        engine.mutate_state(|st| {
            Builder {
                engine: &engine,
                cx: &cx,
                at: &at,
            }
            .build(st, &items)
        })?;
        engines.push(engine);
    }
    Ok(cloud.with_partitions(engines).with_access_keys(keys))
}

/// The access key → account map of `accounts`.
fn access_keys(
    cx: &Ctx<'_>,
    accounts: &[AccountDoc],
) -> Result<BTreeMap<String, String>, WorldError> {
    let mut keys = BTreeMap::new();
    for (i, a) in accounts.iter().enumerate() {
        if !is_account_id(&a.id) {
            return Err(cx.err(
                format!("accounts[{i}].id"),
                format!("`{}` is not an AWS account id: expected 12 digits, as \"444455556666\" (quote it so YAML keeps it a string)", a.id),
            ));
        }
        for (j, k) in a.access_keys.iter().enumerate() {
            if k.is_empty() || keys.insert(k.clone(), a.id.clone()).is_some() {
                return Err(cx.err(
                    format!("accounts[{i}].access_keys[{j}]"),
                    format!(
                        "access key `{k}` is empty or maps to two accounts: expected each key once"
                    ),
                ));
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const WORLD: &str = r#"
seed: 7
accounts:
  - {id: "444455556666", access_keys: [AKIDOTHER]}
regions:
  - region: eu-west-1
    clusters: [{id: cluster-2b34c5defgh}]
  - {region: us-west-2, account: "444455556666"}
"#;

    #[test]
    fn a_world_of_several_partitions_loads_each_with_its_items() {
        let cloud = load_cloud_str(WORLD, "w.yaml").unwrap();
        let eu = cloud
            .existing(&Partition::new("111122223333", "eu-west-1"))
            .unwrap();
        assert!(eu.with_state(|st| st.clusters.contains_key("cluster-2b34c5defgh")));
        assert!(cloud
            .default_engine()
            .with_state(|st| st.clusters.is_empty()));
        assert!(cloud
            .existing(&Partition::new("444455556666", "us-west-2"))
            .is_some());
        assert_eq!(cloud.account_for(Some("AKIDOTHER")), "444455556666");
        assert_eq!(cloud.account_for(Some("AKIDELSE")), "111122223333");
    }

    #[test]
    fn the_top_level_is_built_as_a_single_region_world_is() {
        let single = "seed: 7\nclusters: [{}]\n";
        let with_regions = format!("{single}regions: [{{region: eu-west-1, clusters: [{{}}]}}]\n");
        let a = load_str(single, "a").unwrap();
        let b = load_cloud_str(&with_regions, "b").unwrap();
        let ids = |e: &Engine| {
            e.with_state(|st| {
                let mut ids: Vec<String> = st.clusters.keys().cloned().collect();
                ids.extend(st.subnets.keys().cloned());
                ids
            })
        };
        assert_eq!(ids(&a), ids(b.default_engine()));
        let eu = b
            .existing(&Partition::new("111122223333", "eu-west-1"))
            .unwrap();
        assert_ne!(ids(&a), ids(&eu));
    }

    #[test]
    fn bad_partitions_are_refused_where_they_are_written() {
        let err = |yaml: &str| load_cloud_str(yaml, "w.yaml").unwrap_err();
        for (yaml, path) in [
            ("regions: [{region: xx-nowhere-1}]\n", "regions[0].region"),
            ("regions: [{region: us-west-2}]\n", "regions[0].region"),
            (
                "regions: [{region: eu-west-1, account: \"12\"}]\n",
                "regions[0].account",
            ),
            (
                "regions: [{region: eu-west-1, clusters: [{id: nope}]}]\n",
                "regions[0].clusters[0].id",
            ),
            (
                "accounts: [{id: \"444455556666\", access_keys: [A, A]}]\n",
                "accounts[0].access_keys[1]",
            ),
        ] {
            assert_eq!(err(yaml).path(), path, "{yaml}");
        }
        assert_eq!(
            load_str("regions: [{region: eu-west-1}]\n", "w")
                .unwrap_err()
                .path(),
            "regions"
        );
    }
}
