//! The cluster PKI: real keys, certificates and CSRs where CloudHSM shows
//! them, and the checks InitializeCluster and KMS make on what callers send.
//!
//! When a cluster's first HSM comes up, it gets an HSM identity
//! ([`hsm_identity`]): a P-256 key pair, its certificate (`HsmCertificate`)
//! issued by the HSM's hardware key, whose certificates are issued by an
//! AWS root (`AwsHardwareCertificate`) and a manufacturer root
//! (`ManufacturerHardwareCertificate`), and the cluster's PKCS #10 CSR over
//! the HSM's key (`ClusterCsr`). The customer signs the CSR with their CA
//! (openssl, or [`sign_with_drill_ca`] for worlds and runbooks) and hands
//! the certificate and the CA's to InitializeCluster, which
//! [`check_initialization`] judges. KMS compares trust anchors and cluster
//! certificates with [`same_certificates`], by DER, never as text.
//!
//! Every key derives from the world's seed and a label naming its owner
//! (`keys.rs`), validity dates are fixed and serials derived, and ECDSA
//! signatures use RFC 6979 nonces: the same world makes byte-identical
//! certificates, so snapshots hold.
//!
//! Crates: `rcgen` builds CSRs and certificates (the one well-kept
//! builder of both, whose `SigningKey` trait lets a deterministic signer
//! plug in); `p256` gives that signer (RustCrypto ECDSA, deterministic
//! nonces); `x509-parser` reads PEM, certificates and CSRs and, with its
//! `verify` feature on `ring` (already the engine's crypto), checks
//! signatures of every algorithm openssl uses by default (RSA, ECDSA).
//! `rustls-webpki` was not chosen: it validates TLS end-entity chains
//! against the wall clock and wants name and usage constraints that a
//! cluster certificate does not carry.

mod issue;
mod keys;
mod verify;

use crate::engine::error::{Error, ErrorKind, Result};

/// The certificates of a cluster's first HSM, as DescribeClusters shows
/// them (PEM).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct HsmIdentity {
    /// `ClusterCsr`: PKCS #10 over the HSM's key, signed by it.
    pub csr: String,
    /// `HsmCertificate`: the HSM's key, issued by its hardware key.
    pub hsm_certificate: String,
    /// `AwsHardwareCertificate`: the hardware key, issued by the AWS root.
    pub aws_hardware_certificate: String,
    /// `ManufacturerHardwareCertificate`: the hardware key, issued by the
    /// manufacturer root.
    pub manufacturer_hardware_certificate: String,
}

/// A cluster CSR signed by the drill CA.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct SignedCsr {
    /// The cluster certificate (InitializeCluster's `SignedCert`).
    pub signed_cert: String,
    /// The drill CA's self-signed certificate (`TrustAnchor`, the
    /// `customerCA.crt` of the AWS guides).
    pub trust_anchor: String,
}

/// A certificate hsmdrill builds itself failed to build: a bug, not bad
/// input.
fn internal(e: rcgen::Error) -> Error {
    Error::new(
        ErrorKind::CloudHsmInternalFailure,
        format!("hsmdrill could not make a certificate: {e}"),
    )
}

/// The HSM identity of cluster `cluster_id` in the world seeded with `seed`.
pub fn hsm_identity(seed: u64, cluster_id: &str) -> Result<HsmIdentity> {
    issue::hsm_identity(seed, cluster_id)
}

/// Signs the cluster CSR `csr` with the drill CA of `cluster_id`.
pub fn sign_with_drill_ca(seed: u64, cluster_id: &str, csr: &str) -> Result<SignedCsr> {
    issue::sign_with_drill_ca(seed, cluster_id, csr)
}

/// The certificate of the drill CA of `cluster_id` (the trust anchor of a
/// world's initialized cluster, unless the world file gives another).
pub fn drill_ca_certificate(seed: u64, cluster_id: &str) -> Result<String> {
    issue::drill_ca_certificate(seed, cluster_id)
}

/// The InitializeCluster checks on `SignedCert` and `TrustAnchor` against
/// the cluster's CSR; a failure is the CloudHsmInvalidRequestException to
/// answer.
pub fn check_initialization(
    cluster_id: &str,
    csr: Option<&str>,
    signed_cert: &str,
    trust_anchor: &str,
) -> Result<()> {
    verify::check_initialization(cluster_id, csr, signed_cert, trust_anchor)
        .map_err(|m| Error::new(ErrorKind::CloudHsmInvalidRequest, m))
}

/// Whether PEM text holds one or more X.509 certificates, each a CA.
pub fn is_ca_certificate(text: &str) -> bool {
    verify::certificates_der(text).is_some_and(|ders| verify::all_ca(&ders))
}

/// Whether two PEM texts hold the same certificates, compared as DER.
pub fn same_certificates(a: &str, b: &str) -> bool {
    verify::same_certificates(a, b)
}

#[cfg(test)]
mod tests;
