//! Locating a document path (`clusters[0].users[1].role`) in the YAML text,
//! for the line and column of a semantic error.

use super::*;

/// One step of a document path.
#[derive(Debug, Eq, PartialEq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// `clusters[0].users[1].role` as steps.
pub(super) fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next() {
            if !name.is_empty() {
                out.push(Seg::Key(name.to_owned()));
            }
        }
        for p in pieces {
            match p.strip_suffix(']').and_then(|n| n.parse().ok()) {
                Some(n) => out.push(Seg::Index(n)),
                None => return out,
            }
        }
    }
    out
}

/// Line and column of the node at `path`, or of its nearest ancestor that
/// exists (a missing key is reported where its mapping is).
pub(super) fn locate(yaml: &str, path: &str) -> Option<(usize, usize)> {
    let segs = segments(path);
    (1..=segs.len())
        .rev()
        .find_map(|n| segs.get(..n).and_then(|s| locate_exact(yaml, s)))
}

/// What the walk raises when it reaches its target.
pub(super) const HERE: &str = "\u{1}hsmdrill: here";

pub(super) fn locate_exact(yaml: &str, segs: &[Seg]) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(yaml);
    match Walk(segs).deserialize(de) {
        Err(e) if e.to_string().contains(HERE) => e.location().map(|l| (l.line(), l.column())),
        Ok(()) | Err(_) => None,
    }
}

/// Walks down `.0` and fails with [`HERE`] at its end, so that `serde_yaml`
/// stamps the error with the node's position.
pub(super) struct Walk<'p>(&'p [Seg]);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.0.is_empty() {
            d.deserialize_any(Here)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or a sequence")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.0.split_first() else {
            return Ok(());
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == *want {
                return map.next_value_seed(Walk(rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.0.split_first() else {
            return Ok(());
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Walk(rest)).map(|_| ())
    }
}

/// The target: whatever it is, fail with [`HERE`].
pub(super) struct Here;

impl<'de> Visitor<'de> for Here {
    type Value = ();

    /// Serde's own refusal of every kind of node says what was expected,
    /// so every visit fails with the marker in its message.
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HERE)
    }
}
