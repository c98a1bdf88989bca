//! Loading world files: defaults, ids, errors with their positions.

use super::*;

#[test]
fn paths_split_into_segments() {
    assert_eq!(
        segments("clusters[0].users[12].role"),
        vec![
            Seg::Key("clusters".into()),
            Seg::Index(0),
            Seg::Key("users".into()),
            Seg::Index(12),
            Seg::Key("role".into()),
        ]
    );
    assert_eq!(segments(""), vec![]);
}

#[test]
fn locate_finds_nested_nodes_and_falls_back_to_ancestors() {
    let yaml =
        "clusters:\n  - id: cluster-aaaaaaaaaaa\n    users:\n      - {username: a, role: admin}\n";
    assert_eq!(locate(yaml, "clusters[0].id"), Some((2, 9)));
    assert_eq!(locate(yaml, "clusters[0].users[0].role"), Some((4, 29)));
    assert_eq!(locate(yaml, "clusters[0].nope"), Some((2, 5)));
    assert_eq!(locate(yaml, "nothing"), None);
}

#[test]
fn bare_message_drops_prefix_and_mark() {
    assert_eq!(
        bare_message("a[0].b: invalid type at line 3 column 7", "a[0].b"),
        "invalid type"
    );
    assert_eq!(bare_message("x at line y", ""), "x at line y");
    assert_eq!(
        bare_message("a[0]: unknown field `c` at line 1 column 2", "a[0].c"),
        "unknown field `c`"
    );
    assert_eq!(bare_message("a[1]: x", "a[10]"), "a[1]: x");
}

#[test]
fn clusters_get_real_certificates_by_state() {
    let yaml = "clusters:\n  - {id: cluster-1a23b4cdefg}\n  - {id: cluster-2b34c5defgh, state: UNINITIALIZED}\n  - {id: cluster-3c45d6efghi, state: UNINITIALIZED, hsms: []}\n";
    let engine = load_str(yaml, "w.yaml").unwrap_or_else(|e| panic!("{e}"));
    engine.with_state(|st| {
        let active = &st.clusters["cluster-1a23b4cdefg"];
        assert!(active.certificates.cluster_csr.is_none());
        assert!(active.certificates.hsm_certificate.is_some());
        let anchor = active.trust_anchor.clone().unwrap_or_default();
        assert!(pki::is_ca_certificate(&anchor));
        let uninitialized = &st.clusters["cluster-2b34c5defgh"];
        assert!(uninitialized.certificates.cluster_csr.is_some());
        assert!(uninitialized.certificates.cluster_certificate.is_none());
        let empty = &st.clusters["cluster-3c45d6efghi"];
        assert_eq!(empty.certificates, Certificates::default());
    });
    // The same file makes byte-identical certificates.
    let again = load_str(yaml, "w.yaml").unwrap_or_else(|e| panic!("{e}"));
    let certificates = |e: &Engine| {
        e.with_state(|st| {
            st.clusters
                .values()
                .map(|c| (c.certificates.clone(), c.trust_anchor.clone()))
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(certificates(&engine), certificates(&again));
}

#[test]
fn ids_are_checked() {
    assert!(is_cluster_id("cluster-1a23b4cdefg"));
    assert!(!is_cluster_id("cluster-short"));
    assert!(is_backup_id("backup-9g87f6edcba"));
    assert!(is_key_id("1234abcd-12ab-34cd-56ef-1234567890ab"));
    assert!(!is_key_id("1234abcd-12ab-34cd-56ef"));
    assert!(alias_problem("alias/app").is_none());
    assert!(alias_problem("alias/aws/x").is_some());
    assert!(alias_problem("app").is_some());
}
