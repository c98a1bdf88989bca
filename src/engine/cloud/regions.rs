//! The AWS Regions a partition may be in.
//!
//! The commercial Regions of the `aws` partition, as the AWS General
//! Reference's "Regional endpoints" page lists them (opt-in Regions
//! included), plus the two GovCloud Regions the CloudHSM v2 model's
//! `Region` pattern (`[a-z]{2}(-(gov))?-(east|west|north|south|central){1,2}-\d`)
//! admits. A name outside this list is no Region: a request signed for it is
//! refused as AWS refuses a credential scoped to an unknown Region
//! (docs/fidelity.md F21), and `CopyBackupToRegion` cannot copy there
//! (docs/fidelity.md I46).

/// Every Region name hsmdrill accepts, sorted.
pub const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Whether `name` is a Region hsmdrill knows.
pub fn is_known(name: &str) -> bool {
    REGIONS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_so_lookups_find_every_name() {
        assert!(REGIONS.windows(2).all(|w| w[0] < w[1]));
        assert!(REGIONS.iter().all(|r| is_known(r)));
        assert!(!is_known("xx-nowhere-1"));
        assert!(!is_known(""));
    }
}
