//! The PKI on its own: determinism, the identity's chain, the drill CA, and
//! every refusal of InitializeCluster with its message.

use super::verify::{certificate_public_key, csr_public_key, pem_issued_by};
use super::*;

const CLUSTER: &str = "cluster-1a23b4cdefg";

fn identity() -> HsmIdentity {
    hsm_identity(1, CLUSTER).unwrap_or_else(|e| panic!("identity: {e}"))
}

fn signed(csr: &str) -> SignedCsr {
    sign_with_drill_ca(1, CLUSTER, csr).unwrap_or_else(|e| panic!("sign: {e}"))
}

fn refusal(csr: Option<&str>, cert: &str, anchor: &str) -> String {
    match check_initialization(CLUSTER, csr, cert, anchor) {
        Ok(()) => panic!("accepted"),
        Err(e) => {
            assert_eq!(e.aws_name(), "CloudHsmInvalidRequestException");
            e.message().to_owned()
        }
    }
}

#[test]
fn the_same_seed_makes_byte_identical_certificates() {
    let a = identity();
    assert_eq!(a, identity());
    assert_eq!(signed(&a.csr), signed(&a.csr));
    let other = hsm_identity(2, CLUSTER).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(a.csr, other.csr);
    let other_cluster = hsm_identity(1, "cluster-2b34c5defgh").unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(a.hsm_certificate, other_cluster.hsm_certificate);
}

#[test]
fn the_csr_is_signed_by_the_hsm_key_and_the_chain_holds() {
    let id = identity();
    assert!(id.csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
    let csr_key = csr_public_key(&id.csr).unwrap_or_else(|| panic!("CSR does not verify"));
    assert_eq!(certificate_public_key(&id.hsm_certificate), Some(csr_key));
    assert!(pem_issued_by(
        &id.hsm_certificate,
        &id.aws_hardware_certificate
    ));
    assert!(pem_issued_by(
        &id.hsm_certificate,
        &id.manufacturer_hardware_certificate
    ));
    assert!(is_ca_certificate(&id.aws_hardware_certificate));
    assert!(!is_ca_certificate(&id.hsm_certificate));
}

#[test]
fn the_drill_ca_signs_a_certificate_initialization_accepts() {
    let id = identity();
    let s = signed(&id.csr);
    assert!(is_ca_certificate(&s.trust_anchor));
    assert_eq!(
        certificate_public_key(&s.signed_cert),
        csr_public_key(&id.csr)
    );
    assert!(check_initialization(CLUSTER, Some(&id.csr), &s.signed_cert, &s.trust_anchor).is_ok());
    // Windows line ends and indentation are the same certificate.
    let crlf = s.trust_anchor.replace('\n', "\r\n  ");
    assert!(check_initialization(CLUSTER, Some(&id.csr), &s.signed_cert, &crlf).is_ok());
    assert!(same_certificates(&s.trust_anchor, &crlf));
    assert!(!same_certificates(&s.trust_anchor, &s.signed_cert));
    assert!(!same_certificates("garbage", "garbage"));
}

#[test]
fn every_refusal_has_its_message() {
    let id = identity();
    let s = signed(&id.csr);
    let csr = Some(id.csr.as_str());
    assert_eq!(
        refusal(csr, "not a certificate", &s.trust_anchor),
        "SignedCert is not a PEM-encoded X.509 certificate."
    );
    let two = format!("{}{}", s.signed_cert, s.signed_cert);
    assert_eq!(
        refusal(csr, &two, &s.trust_anchor),
        "SignedCert must be one PEM-encoded X.509 certificate, not several."
    );
    assert_eq!(
        refusal(
            csr,
            &s.signed_cert,
            "-----BEGIN CERTIFICATE-----\nYW5jaG9y\n-----END CERTIFICATE-----\n"
        ),
        "TrustAnchor is not a PEM-encoded X.509 certificate."
    );
    assert_eq!(
        refusal(csr, &s.signed_cert, &s.signed_cert),
        "TrustAnchor is not a CA certificate: it needs basicConstraints with CA:TRUE."
    );
    // A CA that is not self-signed (the hardware CA, issued by the AWS root).
    assert_eq!(
        refusal(csr, &s.signed_cert, &id.aws_hardware_certificate),
        "TrustAnchor must end with a self-signed root certificate; the last certificate is not self-signed."
    );
    // Another CA (another cluster's drill CA) did not sign it.
    let other =
        sign_with_drill_ca(1, "cluster-2b34c5defgh", &id.csr).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        refusal(csr, &s.signed_cert, &other.trust_anchor),
        "SignedCert is not signed by the TrustAnchor certificate: the trust anchor must be the certificate of the CA that signed the cluster CSR."
    );
    // A certificate over another key: another cluster's CSR, signed.
    let elsewhere = hsm_identity(1, "cluster-2b34c5defgh").unwrap_or_else(|e| panic!("{e}"));
    let wrong_key = signed(&elsewhere.csr);
    assert_eq!(
        refusal(csr, &wrong_key.signed_cert, &wrong_key.trust_anchor),
        format!("SignedCert does not certify the public key of the cluster {CLUSTER} CSR; sign the CSR from DescribeClusters.")
    );
    assert_eq!(
        refusal(None, &s.signed_cert, &s.trust_anchor),
        format!(
            "Cluster {CLUSTER} has no certificate signing request to match SignedCert against."
        )
    );
}
