//! Making certificates: a cluster's HSM identity (its hardware chain, its
//! HSM certificate and its CSR) and the drill CA that plays the customer's
//! issuing CA for world files and the runbooks' `sign csr of`.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, IsCa, Issuer, KeyUsagePurpose,
};

use super::keys::{serial, SeededKey};
use super::{internal, HsmIdentity, SignedCsr};
use crate::engine::error::{Error, Result};

/// The validity of every certificate hsmdrill makes: from the virtual
/// clock's epoch year to thirty years on (docs/fidelity.md I34). Fixed, not
/// "now", so certificates do not depend on when a world is loaded.
fn validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2017, 1, 1);
    params.not_after = rcgen::date_time_ymd(2047, 1, 1);
}

fn name(org: &str, cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, cn);
    dn
}

/// A CA certificate's parameters (`basicConstraints CA:TRUE`, key usage
/// keyCertSign and cRLSign).
fn ca_params(seed: u64, label: &str, dn: DistinguishedName) -> CertificateParams {
    let mut p = CertificateParams::default();
    validity(&mut p);
    p.distinguished_name = dn;
    p.serial_number = Some(serial(seed, label));
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// The subject of a cluster's HSM certificate and CSR, after the form of
/// the real ones (`CN=HSM:<serial>:PARTN:<n>`).
fn hsm_subject(cluster_id: &str) -> DistinguishedName {
    name("hsmdrill CloudHSM", &format!("HSM:{cluster_id}:PARTN:0"))
}

/// The HSM identity of the cluster `cluster_id` in the world seeded with
/// `seed`: the first HSM's key pair, certified by its hardware key, whose
/// certificates AWS's and the manufacturer's roots issue; and the CSR the
/// HSM makes over its key (docs/fidelity.md F11, I32).
pub(super) fn hsm_identity(seed: u64, cluster_id: &str) -> Result<HsmIdentity> {
    let aws_root_key = SeededKey::derive(seed, "aws-root");
    let aws_root = ca_params(
        seed,
        "aws-root",
        name("hsmdrill AWS CloudHSM", "AWS CloudHSM root"),
    );
    let maker_root_key = SeededKey::derive(seed, "manufacturer-root");
    let maker_root = ca_params(
        seed,
        "manufacturer-root",
        name("hsmdrill HSM manufacturer", "HSM manufacturer root"),
    );

    let hw_label = format!("hardware {cluster_id}");
    let hw_key = SeededKey::derive(seed, &hw_label);
    let hw = ca_params(
        seed,
        &hw_label,
        name(
            "hsmdrill HSM hardware",
            &format!("HSM hardware of {cluster_id}"),
        ),
    );
    let aws_hw = hw
        .signed_by(&hw_key, &Issuer::from_params(&aws_root, &aws_root_key))
        .map_err(internal)?;
    let mut maker_hw_params = hw.clone();
    maker_hw_params.serial_number = Some(serial(seed, &format!("{hw_label} manufacturer")));
    let maker_hw = maker_hw_params
        .signed_by(&hw_key, &Issuer::from_params(&maker_root, &maker_root_key))
        .map_err(internal)?;

    let hsm_label = format!("hsm {cluster_id}");
    let hsm_key = SeededKey::derive(seed, &hsm_label);
    let mut hsm = CertificateParams::default();
    validity(&mut hsm);
    hsm.distinguished_name = hsm_subject(cluster_id);
    hsm.serial_number = Some(serial(seed, &hsm_label));
    let hsm_cert = hsm
        .signed_by(&hsm_key, &Issuer::from_params(&hw, &hw_key))
        .map_err(internal)?;

    let mut request = CertificateParams::default();
    request.distinguished_name = hsm_subject(cluster_id);
    let csr = request
        .serialize_request(&hsm_key)
        .and_then(|r| r.pem())
        .map_err(internal)?;

    Ok(HsmIdentity {
        csr,
        hsm_certificate: hsm_cert.pem(),
        aws_hardware_certificate: aws_hw.pem(),
        manufacturer_hardware_certificate: maker_hw.pem(),
    })
}

/// The drill CA of a cluster: a self-signed root made from the seed and
/// the cluster id, standing in for the customer's issuing CA
/// (`customerCA.crt`) where a world or a runbook needs one (docs/fidelity.md
/// I35).
fn drill_ca(seed: u64, cluster_id: &str) -> (CertificateParams, SeededKey) {
    let label = format!("drill-ca {cluster_id}");
    let key = SeededKey::derive(seed, &label);
    let params = ca_params(
        seed,
        &label,
        name(
            "hsmdrill customer CA",
            &format!("customerCA of {cluster_id}"),
        ),
    );
    (params, key)
}

/// The drill CA's self-signed certificate.
pub(super) fn drill_ca_certificate(seed: u64, cluster_id: &str) -> Result<String> {
    let (ca, ca_key) = drill_ca(seed, cluster_id);
    Ok(ca.self_signed(&ca_key).map_err(internal)?.pem())
}

/// Signs `csr` (PEM) with the drill CA of `cluster_id`, as `openssl x509
/// -req -CA customerCA.crt` would: the cluster certificate and the CA's
/// certificate, the trust anchor.
pub(super) fn sign_with_drill_ca(seed: u64, cluster_id: &str, csr: &str) -> Result<SignedCsr> {
    let (ca, ca_key) = drill_ca(seed, cluster_id);
    let trust_anchor = drill_ca_certificate(seed, cluster_id)?;
    let mut request = CertificateSigningRequestParams::from_pem(csr).map_err(|e| {
        Error::new(
            crate::engine::error::ErrorKind::CloudHsmInvalidRequest,
            format!("The CSR of cluster {cluster_id} cannot be read: {e}."),
        )
    })?;
    validity(&mut request.params);
    request.params.serial_number = Some(serial(seed, &format!("cluster {cluster_id}")));
    let signed = request
        .signed_by(&Issuer::from_params(&ca, &ca_key))
        .map_err(internal)?;
    Ok(SignedCsr {
        signed_cert: signed.pem(),
        trust_anchor,
    })
}
