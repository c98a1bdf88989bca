//! Reading what callers send: PEM certificates and CSRs parsed with
//! `x509-parser`, signatures checked with its `verify` feature (`ring`), the
//! checks InitializeCluster makes, and certificates compared by DER.

use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;

/// The DER bodies of the `label` blocks of PEM text, in order. Lines are
/// trimmed first, so indentation, `\r\n` line ends and surrounding blank
/// lines do not matter; text outside the blocks is ignored. `None` when a
/// block is broken or there is none.
fn pem_blocks(text: &str, label: &str) -> Option<Vec<Vec<u8>>> {
    let mut normalized = String::with_capacity(text.len());
    for line in text.lines() {
        normalized.push_str(line.trim());
        normalized.push('\n');
    }
    let mut out = Vec::new();
    for block in Pem::iter_from_buffer(normalized.as_bytes()) {
        let block = block.ok()?;
        if block.label == label {
            out.push(block.contents);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The certificates of PEM text as DER, each checked to parse as X.509;
/// `None` when the text holds none or one does not parse.
pub(super) fn certificates_der(text: &str) -> Option<Vec<Vec<u8>>> {
    let blocks = pem_blocks(text, "CERTIFICATE")?;
    blocks
        .iter()
        .all(|der| matches!(X509Certificate::from_der(der), Ok((rest, _)) if rest.is_empty()))
        .then_some(blocks)
}

/// Whether two PEM texts hold the same certificates (compared as DER), so a
/// PEM with other line ends or wrapping is the same certificate. Text that
/// holds no certificate equals nothing.
pub(super) fn same_certificates(a: &str, b: &str) -> bool {
    match (certificates_der(a), certificates_der(b)) {
        (Some(a), Some(b)) => a == b,
        (None, _) | (_, None) => false,
    }
}

/// Whether every certificate (DER) has `basicConstraints CA:TRUE`.
pub(super) fn all_ca(ders: &[Vec<u8>]) -> bool {
    ders.iter().all(|d| parse(d).is_some_and(|c| c.is_ca()))
}

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    X509Certificate::from_der(der).ok().map(|(_, c)| c)
}

/// Whether `child` names `parent` as its issuer and carries a signature
/// `parent`'s key verifies.
fn issued_by(child: &X509Certificate<'_>, parent: &X509Certificate<'_>) -> bool {
    child.issuer().as_raw() == parent.subject().as_raw()
        && child.verify_signature(Some(parent.public_key())).is_ok()
}

/// The InitializeCluster checks (docs/fidelity.md F12, I33), in the order a
/// caller fixes them: `SignedCert` is one X.509 certificate; `TrustAnchor`
/// holds certificates, each a CA, ending with a self-signed root; the
/// signed certificate is over the key of the cluster's CSR; it is issued by
/// the first certificate of the anchor, and each anchor certificate by the
/// next. `Err` is the message of the CloudHsmInvalidRequestException.
pub(super) fn check_initialization(
    cluster_id: &str,
    csr: Option<&str>,
    signed_cert: &str,
    trust_anchor: &str,
) -> Result<(), String> {
    let signed_der = match certificates_der(signed_cert) {
        Some(mut v) if v.len() == 1 => v.pop().unwrap_or_default(),
        Some(_) => {
            return Err("SignedCert must be one PEM-encoded X.509 certificate, not several.".into())
        }
        None => {
            return Err("SignedCert is not a PEM-encoded X.509 certificate.".into());
        }
    };
    let Some(signed) = parse(&signed_der) else {
        return Err("SignedCert is not a PEM-encoded X.509 certificate.".into());
    };
    let Some(anchor_der) = certificates_der(trust_anchor) else {
        return Err("TrustAnchor is not a PEM-encoded X.509 certificate.".into());
    };
    let anchor: Vec<X509Certificate<'_>> = anchor_der.iter().filter_map(|d| parse(d)).collect();
    if anchor.iter().any(|c| !c.is_ca()) {
        return Err(
            "TrustAnchor is not a CA certificate: it needs basicConstraints with CA:TRUE.".into(),
        );
    }
    let (Some(first), Some(root)) = (anchor.first(), anchor.last()) else {
        return Err("TrustAnchor is not a PEM-encoded X.509 certificate.".into());
    };
    if !issued_by(root, root) {
        return Err(
            "TrustAnchor must end with a self-signed root certificate; the last certificate is not self-signed.".into(),
        );
    }
    let Some(csr) = csr.and_then(|t| pem_blocks(t, "CERTIFICATE REQUEST")) else {
        return Err(format!(
            "Cluster {cluster_id} has no certificate signing request to match SignedCert against."
        ));
    };
    let csr_key_matches = csr.first().is_some_and(|der| {
        X509CertificationRequest::from_der(der).is_ok_and(|(_, req)| {
            req.certification_request_info.subject_pki.raw == signed.public_key().raw
        })
    });
    if !csr_key_matches {
        return Err(format!(
            "SignedCert does not certify the public key of the cluster {cluster_id} CSR; sign the CSR from DescribeClusters."
        ));
    }
    if !issued_by(&signed, first) {
        return Err(
            "SignedCert is not signed by the TrustAnchor certificate: the trust anchor must be the certificate of the CA that signed the cluster CSR.".into(),
        );
    }
    if anchor.windows(2).any(|w| match w {
        [child, parent] => !issued_by(child, parent),
        _ => false,
    }) {
        return Err(
            "TrustAnchor is not a certificate chain: each certificate must be issued by the one after it.".into(),
        );
    }
    Ok(())
}

/// The SubjectPublicKeyInfo (DER) of the CSR in PEM text.
#[cfg(test)]
pub(super) fn csr_public_key(csr: &str) -> Option<Vec<u8>> {
    let der = pem_blocks(csr, "CERTIFICATE REQUEST")?.pop()?;
    let (_, req) = X509CertificationRequest::from_der(&der).ok()?;
    req.verify_signature().ok()?;
    Some(req.certification_request_info.subject_pki.raw.to_vec())
}

/// The SubjectPublicKeyInfo (DER) of the first certificate in PEM text.
#[cfg(test)]
pub(super) fn certificate_public_key(cert: &str) -> Option<Vec<u8>> {
    let der = certificates_der(cert)?.into_iter().next()?;
    parse(&der).map(|c| c.public_key().raw.to_vec())
}

/// Whether the first certificate of `child` is issued by the first of
/// `parent`.
#[cfg(test)]
pub(super) fn pem_issued_by(child: &str, parent: &str) -> bool {
    let (Some(c), Some(p)) = (certificates_der(child), certificates_der(parent)) else {
        return false;
    };
    match (
        c.first().and_then(|d| parse(d)),
        p.first().and_then(|d| parse(d)),
    ) {
        (Some(c), Some(p)) => issued_by(&c, &p),
        _ => false,
    }
}
