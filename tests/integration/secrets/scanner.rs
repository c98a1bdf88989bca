//! The scanner: finds any of a set of secrets, in any encoding, in a text;
//! a [`Tally`] counts what was scanned and every hit as a leak. Its
//! self-check plants a key and a password in each encoding.

use std::collections::{BTreeSet, HashMap};

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use regex::bytes::{Regex, RegexBuilder};

use super::harvest::{material_encodings, Secrets};

/// Finds any of a set of secrets, in any encoding, in one pass over a text
/// (a byte regex of literals, i.e. Aho-Corasick, built optimized).
pub(super) struct Scanner {
    pub(super) regex: Option<Regex>,
    /// Needle → what it is ("key material (…) as base64").
    pub(super) names: HashMap<Vec<u8>, String>,
}

/// One secret found in one text.
#[derive(Debug)]
pub(super) struct Hit {
    pub(super) what: String,
    pub(super) context: String,
}

impl Scanner {
    /// Every material and every password of `secrets` but those in `skip`.
    pub(super) fn new(secrets: &Secrets, skip: &BTreeSet<String>) -> Scanner {
        let mut names = HashMap::new();
        for (raw, origin) in &secrets.materials {
            for (encoding, needle) in material_encodings(raw) {
                names
                    .entry(needle)
                    .or_insert_with(|| format!("key material ({origin}) as {encoding}"));
            }
        }
        for (p, origin) in &secrets.passwords {
            if !skip.contains(p) {
                names
                    .entry(p.as_bytes().to_vec())
                    .or_insert_with(|| format!("password ({origin})"));
            }
        }
        let mut needles: Vec<&Vec<u8>> = names.keys().collect();
        // Longest first, so a padded base64 is named rather than its prefix.
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let pattern = needles
            .iter()
            .map(|n| n.iter().map(|b| format!("\\x{b:02x}")).collect::<String>())
            .collect::<Vec<_>>()
            .join("|");
        let regex = (!needles.is_empty()).then(|| {
            RegexBuilder::new(&pattern)
                .unicode(false)
                .size_limit(1 << 30)
                .dfa_size_limit(1 << 30)
                .build()
                .unwrap()
        });
        Scanner { regex, names }
    }

    /// How many byte strings it looks for.
    pub(super) fn needles(&self) -> usize {
        self.names.len()
    }

    /// Every secret in `text`, with the text around it (the secret itself
    /// masked).
    pub(super) fn scan(&self, text: &[u8]) -> Vec<Hit> {
        let Some(regex) = &self.regex else {
            return Vec::new();
        };
        regex
            .find_iter(text)
            .map(|m| {
                let before = &text[m.start().saturating_sub(60)..m.start()];
                let after = &text[m.end()..(m.end() + 60).min(text.len())];
                Hit {
                    what: self.names[m.as_bytes()].clone(),
                    context: format!(
                        "…{}«SECRET»{}…",
                        String::from_utf8_lossy(before),
                        String::from_utf8_lossy(after)
                    ),
                }
            })
            .collect()
    }
}

/// Totals for the figures.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) texts: usize,
    pub(super) bytes: usize,
    pub(super) leaks: Vec<String>,
}

impl Tally {
    /// Fails with every leak found.
    pub(super) fn assert_no_leaks(&self) {
        assert!(
            self.leaks.is_empty(),
            "{} secrets leaked:\n{}",
            self.leaks.len(),
            self.leaks.join("\n")
        );
    }

    /// Scans one text; every hit is a leak.
    pub(super) fn check(&mut self, scanner: &Scanner, place: &str, text: &[u8]) {
        self.texts += 1;
        self.bytes += text.len();
        for hit in scanner.scan(text) {
            self.leaks
                .push(format!("{place}: {} in {}", hit.what, hit.context));
        }
    }
}

#[test]
fn the_scanner_finds_a_planted_secret_in_every_encoding() {
    // Bytes above 0x7f and 0xfb..0xff (base64 `+` `/` `-` `_`) included.
    let raw: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(200));
    let other: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(11).wrapping_add(3));
    let mut secrets = Secrets::default();
    secrets.materials.insert(raw, "planted".into());
    secrets
        .passwords
        .insert("plantedPass123".into(), "planted".into());
    let scanner = Scanner::new(&secrets, &BTreeSet::new());
    let encodings = material_encodings(&raw);
    assert_eq!(encodings.len(), 15);
    for (name, needle) in &encodings {
        let mut text = b"{\"Message\": \"something ".to_vec();
        text.extend_from_slice(needle);
        text.extend_from_slice(b" and more\"}");
        let hits = scanner.scan(&text);
        assert!(!hits.is_empty(), "a planted key as {name} was not found");
        assert!(hits[0].what.contains("key material (planted)"), "{hits:?}");
    }
    // Inside a longer base64 blob at every alignment, in both alphabets.
    for prefix in 0..3 {
        for engine in [STANDARD, URL_SAFE] {
            let mut blob = vec![0x5au8; prefix];
            blob.extend_from_slice(&raw);
            blob.extend_from_slice(b"tail bytes");
            let text = format!("\"CiphertextBlob\":\"{}\"", engine.encode(&blob));
            assert!(
                !scanner.scan(text.as_bytes()).is_empty(),
                "a key at offset {prefix} of a base64 blob was not found"
            );
        }
    }
    // A password anywhere: a JSON member, a log line, a message.
    for text in [
        r#"{"KeyStorePassword":"plantedPass123"}"#,
        "2024-01-01 login kmsuser plantedPass123 ok",
        "Value 'plantedPass123' at 'keyStorePassword'",
    ] {
        let hits = scanner.scan(text.as_bytes());
        assert_eq!(hits.len(), 1, "{text}");
        assert!(hits[0].what.starts_with("password (planted)"));
        assert!(!hits[0].context.contains("plantedPass123"));
    }
    // Nothing where nothing was planted: another key, a prefix of the
    // password, an empty text.
    for (_, needle) in material_encodings(&other) {
        assert!(scanner.scan(&needle).is_empty());
    }
    assert!(scanner.scan(b"plantedPass12 plantedpass123").is_empty());
    assert!(scanner.scan(b"").is_empty());
    // A skipped password is not looked for; the key still is.
    let skip = BTreeSet::from(["plantedPass123".to_owned()]);
    let lenient = Scanner::new(&secrets, &skip);
    assert!(lenient.scan(b"plantedPass123").is_empty());
    assert!(!lenient.scan(STANDARD.encode(raw).as_bytes()).is_empty());
    // And a tally counts every hit as a leak.
    let mut tally = Tally::default();
    tally.check(&scanner, "planted", b"x plantedPass123 y");
    assert_eq!(tally.leaks.len(), 1);
}
