//! The cluster PKI checked with the real programs: the aws CLI reads the
//! cluster's CSR from a running `hsmdrill serve`, `openssl` verifies it and
//! signs it with a CA made on the spot, and `aws cloudhsmv2
//! initialize-cluster` takes the result, as the CloudHSM guide's "initialize
//! the cluster" steps do. A certificate from another CA, one over another
//! key, garbage and a trust anchor that is no CA are each refused and leave
//! the cluster `UNINITIALIZED`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::support::http;
use crate::support::programs::{available, aws_cli};
use crate::support::serve::ServeProcess;

/// An `UNINITIALIZED` cluster with one active HSM: its CSR is waiting.
const WORLD: &str = "seed: 7
clusters:
  - id: cluster-1a23b4cdefg
    state: UNINITIALIZED
    hsms: [us-west-2a]
";
const CLUSTER: &str = "cluster-1a23b4cdefg";

/// What a step printed, for failure messages.
fn text(out: &Output) -> String {
    crate::support::output_text(out)
}

/// `openssl <args>` in `dir`; must succeed.
fn openssl(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
    out
}

/// `aws --endpoint-url <url> <args>` (the CLI as a module: pip may not put
/// `aws` on PATH) in `dir`.
fn aws(url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new("python3")
        .args(["-m", "awscli", "--endpoint-url", url])
        .args(args)
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .output()
        .unwrap()
}

/// `aws cloudhsmv2 describe-clusters --query <query> --output text`.
fn describe(url: &str, dir: &Path, query: &str) -> String {
    let out = aws(
        url,
        dir,
        &[
            "cloudhsmv2",
            "describe-clusters",
            "--query",
            query,
            "--output",
            "text",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

/// `aws cloudhsmv2 initialize-cluster` with these files.
fn initialize(url: &str, dir: &Path, cert: &str, anchor: &str) -> Output {
    aws(
        url,
        dir,
        &[
            "cloudhsmv2",
            "initialize-cluster",
            "--cluster-id",
            CLUSTER,
            "--signed-cert",
            &format!("file://{cert}"),
            "--trust-anchor",
            &format!("file://{anchor}"),
        ],
    )
}

/// InitializeCluster with these files fails with
/// CloudHsmInvalidRequestException and `message`, and the cluster stays
/// `UNINITIALIZED`.
fn refused(url: &str, dir: &Path, cert: &str, anchor: &str, message: &str) {
    let out = initialize(url, dir, cert, anchor);
    let said = text(&out);
    assert!(!out.status.success(), "{cert} + {anchor} accepted: {said}");
    assert!(
        said.contains("(CloudHsmInvalidRequestException)") && said.contains(message),
        "{cert} + {anchor}: {said}"
    );
    assert_eq!(
        describe(url, dir, "Clusters[0].State"),
        "UNINITIALIZED",
        "{cert} + {anchor}"
    );
}

/// The public key of a CSR or certificate, as openssl prints it.
fn public_key(dir: &Path, kind: &str, file: &str) -> String {
    let out = openssl(dir, &[kind, "-in", file, "-noout", "-pubkey"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn openssl_signs_the_cluster_csr_and_the_aws_cli_initializes_the_cluster() {
    if !aws_cli()
        || !available(
            "openssl",
            "openssl",
            &["version"],
            "apt-get install -y openssl",
        )
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("world.yaml"), WORLD).unwrap();
    let s = ServeProcess::start(["--world", dir.join("world.yaml").to_str().unwrap()]);
    let url = s.url();

    // The CSR, as the guide fetches it; openssl verifies its signature.
    let csr = describe(&url, dir, "Clusters[0].Certificates.ClusterCsr");
    assert!(
        csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{csr}"
    );
    std::fs::write(dir.join("cluster.csr"), format!("{csr}\n")).unwrap();
    let verified = openssl(dir, &["req", "-in", "cluster.csr", "-noout", "-verify"]);
    assert!(text(&verified).contains("verify OK"), "{}", text(&verified));

    // The HSM certificate is over the CSR's key.
    let hsm = describe(&url, dir, "Clusters[0].Certificates.HsmCertificate");
    std::fs::write(dir.join("hsm.crt"), format!("{hsm}\n")).unwrap();
    assert_eq!(
        public_key(dir, "x509", "hsm.crt"),
        public_key(dir, "req", "cluster.csr")
    );

    // A CA of our own signs the CSR (the guide's steps 2 and 3).
    let make_ca = |name: &str| {
        openssl(dir, &["genrsa", "-out", &format!("{name}.key"), "2048"]);
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-x509",
                "-days",
                "3652",
                "-key",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
    };
    let sign = |csr: &str, ca: &str, out: &str| {
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-days",
                "3652",
                "-in",
                csr,
                "-CA",
                &format!("{ca}.crt"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-out",
                out,
            ],
        );
    };
    make_ca("customerCA");
    sign("cluster.csr", "customerCA", "cluster.crt");

    // Refusals, each leaving the cluster as it was.
    make_ca("otherCA");
    refused(
        &url,
        dir,
        "cluster.crt",
        "otherCA.crt",
        "SignedCert is not signed by the TrustAnchor certificate",
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "otherCA.key",
            "-subj",
            "/CN=other",
            "-out",
            "other.csr",
        ],
    );
    sign("other.csr", "customerCA", "other.crt");
    refused(
        &url,
        dir,
        "other.crt",
        "customerCA.crt",
        "SignedCert does not certify the public key of the cluster",
    );
    std::fs::write(dir.join("garbage.crt"), "not a certificate\n").unwrap();
    refused(
        &url,
        dir,
        "garbage.crt",
        "customerCA.crt",
        "SignedCert is not a PEM-encoded X.509 certificate.",
    );
    refused(
        &url,
        dir,
        "cluster.crt",
        "garbage.crt",
        "TrustAnchor is not a PEM-encoded X.509 certificate.",
    );
    refused(
        &url,
        dir,
        "cluster.crt",
        "cluster.crt",
        "TrustAnchor is not a CA certificate",
    );

    // The guide's step 4: initialize-cluster with the files.
    let out = initialize(&url, dir, "cluster.crt", "customerCA.crt");
    assert!(out.status.success(), "{}", text(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["State"], json!("INITIALIZE_IN_PROGRESS"), "{answer}");
    let settled = http::request(
        s.addr(),
        "POST",
        "/_hsmdrill/clock/settle",
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .unwrap();
    assert_eq!(settled.status, 200);
    assert_eq!(describe(&url, dir, "Clusters[0].State"), "INITIALIZED");
    let signed = std::fs::read_to_string(dir.join("cluster.crt")).unwrap();
    assert_eq!(
        describe(&url, dir, "Clusters[0].Certificates.ClusterCertificate"),
        signed.trim_end()
    );
    // The CSR exists only while the cluster is UNINITIALIZED.
    assert_eq!(
        describe(&url, dir, "Clusters[0].Certificates.ClusterCsr"),
        "None"
    );
}
