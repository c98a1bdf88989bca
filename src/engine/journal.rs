//! The trail journal: `FILE.trail` beside the state file `FILE` of
//! `hsmdrill serve --state`, where every trail event is appended and
//! `fsync`ed before the answer to the request that made it.
//!
//! The state file is rewritten whole after each change; the trail grows
//! with every call, the data plane's included, so it goes to a file that is
//! only appended to. One line per record:
//!
//! ```text
//! <16 hex digits: the first 8 bytes of the SHA-256 of the JSON> <JSON>\n
//! ```
//!
//! The first record is a header, `{"format": "hsmdrill-trail", "version":
//! 1, "trail": <the trail's id>}`; every other one is a [`TrailEvent`]. The
//! header names the trail: the state file names the trail it belongs with,
//! and a journal of another trail (left by a world reset cut short by a
//! crash) is not read into it.
//!
//! A crash during an append can leave the last record torn, cut short or
//! with blocks of another content. Reading stops at the first record that
//! does not end in a newline, whose checksum does not match or that does
//! not parse, and drops it and everything after: those were never
//! acknowledged, since a record is acknowledged only once its append has
//! been `fsync`ed, and appends follow one another. A journal whose header is
//! not readable is refused, as a corrupt state file is: it is written whole
//! ([`super::persist::write_atomic`]) and is never torn.
//!
//! The journal is written anew (whole, atomically) when a server starts,
//! after a failed append, and when it holds twice the trail's capacity, so
//! it stays within a bound and never holds a torn record followed by
//! acknowledged ones.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::persist::{write_atomic, PersistError};
use super::trail::TrailEvent;

/// The `format` member of a journal's header.
pub const FORMAT: &str = "hsmdrill-trail";

/// The `version` member this build writes and reads.
pub const VERSION: u32 = 1;

/// Records a journal holds before it is written anew, in multiples of the
/// trail's capacity.
const COMPACT_AT: usize = 2;

/// Fewest records a journal may hold before it is written anew.
const COMPACT_MIN: usize = 1024;

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    trail: u64,
}

/// `FILE.trail`, the journal beside the state file `FILE`.
pub fn journal_path(state_file: &Path) -> PathBuf {
    let mut name = state_file.as_os_str().to_owned();
    name.push(".trail");
    PathBuf::from(name)
}

/// A journal open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    records: usize,
    limit: usize,
}

impl Journal {
    /// Writes a journal of the trail `trail_id` holding `events`, in one
    /// atomic step (the file mode 0600, as the state file), and opens it for
    /// appending. Once the trail holds `capacity` events the journal asks to
    /// be written anew at twice that many ([`Journal::is_full`]).
    pub fn create(
        path: &Path,
        trail_id: u64,
        events: &[TrailEvent],
        capacity: usize,
    ) -> io::Result<Journal> {
        let mut bytes = Vec::new();
        let header = Header {
            format: FORMAT.to_owned(),
            version: VERSION,
            trail: trail_id,
        };
        encode(&header, &mut bytes)?;
        for e in events {
            encode(e, &mut bytes)?;
        }
        write_atomic(path, &bytes)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Journal {
            path: path.to_owned(),
            file,
            records: events.len(),
            limit: capacity.saturating_mul(COMPACT_AT).max(COMPACT_MIN),
        })
    }

    /// Appends `events` and `fsync`s them: when this returns `Ok` they
    /// survive a crash. After an error the journal may end in a torn
    /// record: write it anew ([`Journal::create`]) before appending again.
    pub fn append(&mut self, events: &[TrailEvent]) -> io::Result<()> {
        let mut bytes = Vec::new();
        for e in events {
            encode(e, &mut bytes)?;
        }
        self.file.write_all(&bytes)?;
        self.file.sync_data()?;
        self.records += events.len();
        Ok(())
    }

    /// Whether it holds enough records to be written anew with only the
    /// trail's events.
    pub fn is_full(&self) -> bool {
        self.records >= self.limit
    }

    /// Whether its path still names the file it appends to: a journal
    /// deleted or replaced behind the server's back must be written anew,
    /// or what is appended would go to a file no restart reads.
    pub fn is_in_place(&self) -> bool {
        let (Ok(at_path), Ok(open)) = (fs::metadata(&self.path), self.file.metadata()) else {
            return false;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            at_path.dev() == open.dev() && at_path.ino() == open.ino()
        }
        #[cfg(not(unix))]
        {
            at_path.len() == open.len()
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What a journal file holds.
#[derive(Debug)]
pub struct Contents {
    /// The trail it belongs with.
    pub trail_id: u64,
    /// Its whole records, oldest first.
    pub events: Vec<TrailEvent>,
    /// Bytes after the last whole record (a torn append), dropped.
    pub dropped: usize,
}

/// Reads the journal at `path`: `Ok(None)` if there is none. A torn tail is
/// dropped (see the module docs); a header that is not this format and
/// version is an error.
pub fn read(path: &Path) -> Result<Option<Contents>, PersistError> {
    let Some(bytes) = super::persist::read_if_any(path)? else {
        return Ok(None);
    };
    let corrupt = |what: String| PersistError::Corrupt(format!("{}: {what}", path.display()));
    let mut lines = Lines { rest: &bytes };
    let header: Header = lines
        .next()
        .ok_or_else(|| corrupt("no header record".to_owned()))?
        .map_err(|e| corrupt(format!("the header record is {e}")))?;
    if header.format != FORMAT {
        return Err(corrupt(format!(
            "format is {:?}, not {FORMAT:?}",
            header.format
        )));
    }
    if header.version != VERSION {
        return Err(corrupt(format!(
            "trail journal version {}, but this build reads version {VERSION}",
            header.version
        )));
    }
    let mut events = Vec::new();
    loop {
        match lines.next::<TrailEvent>() {
            None => break,
            Some(Ok(e)) => events.push(e),
            Some(Err(why)) => {
                // Only the last append can be torn by a crash. A whole
                // record after a damaged one was acknowledged: dropping it
                // with the damage would lose it silently, so the file is
                // refused (and left as it is) instead.
                if lines.whole_record_after_the_damaged_one::<TrailEvent>() {
                    return Err(corrupt(format!(
                        "record {} is {why}, and whole records follow it",
                        events.len() + 2
                    )));
                }
                break;
            }
        }
    }
    Ok(Some(Contents {
        trail_id: header.trail,
        events,
        dropped: lines.rest.len(),
    }))
}

/// Appends `value` as one record.
fn encode<T: Serialize>(value: &T, out: &mut Vec<u8>) -> io::Result<()> {
    let json = serde_json::to_vec(value).map_err(io::Error::other)?;
    let _ = write!(out, "{:016x} ", checksum(&json));
    out.extend_from_slice(&json);
    out.push(b'\n');
    Ok(())
}

fn checksum(bytes: &[u8]) -> u64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first)
}

/// The records of a journal, one line each; `rest` is what is left after
/// the last one read.
struct Lines<'a> {
    rest: &'a [u8],
}

impl Lines<'_> {
    /// After `next` returned `Err`: whether any line after the damaged one
    /// is a whole record.
    fn whole_record_after_the_damaged_one<T: for<'de> Deserialize<'de>>(&self) -> bool {
        let Some(end) = self.rest.iter().position(|&b| b == b'\n') else {
            return false;
        };
        let mut after = Lines {
            rest: self.rest.get(end + 1..).unwrap_or_default(),
        };
        while !after.rest.is_empty() {
            match after.next::<T>() {
                Some(Ok(_)) => return true,
                Some(Err(_)) => match after.rest.iter().position(|&b| b == b'\n') {
                    Some(end) => after.rest = after.rest.get(end + 1..).unwrap_or_default(),
                    None => return false,
                },
                None => return false,
            }
        }
        false
    }

    /// The next record, if there is a line left: `Err` says why it is not a
    /// whole record (and leaves it in `rest`).
    fn next<T: for<'de> Deserialize<'de>>(&mut self) -> Option<Result<T, String>> {
        if self.rest.is_empty() {
            return None;
        }
        let Some(end) = self.rest.iter().position(|&b| b == b'\n') else {
            return Some(Err("cut short (no newline)".to_owned()));
        };
        let line = &self.rest[..end];
        let record = match line.split_first_chunk::<17>() {
            Some((head, json)) if head[16] == b' ' => {
                let sum = std::str::from_utf8(&head[..16])
                    .ok()
                    .and_then(|h| u64::from_str_radix(h, 16).ok());
                match sum {
                    Some(s) if s == checksum(json) => {
                        serde_json::from_slice::<T>(json).map_err(|e| format!("not readable: {e}"))
                    }
                    Some(_) | None => Err("damaged (its checksum does not match)".to_owned()),
                }
            }
            Some(_) | None => Err("damaged (no checksum)".to_owned()),
        };
        if record.is_ok() {
            self.rest = &self.rest[end + 1..];
        }
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde_json::json;

    use super::*;
    use crate::engine::trail::{EventDetail, EventType};
    use crate::engine::Timestamp;

    fn event(seq: u64) -> TrailEvent {
        TrailEvent {
            seq,
            time: Timestamp::from_millis(1_000 + seq as i64),
            name: Cow::Borrowed("Encrypt"),
            event_type: EventType::ApiCall,
            detail: EventDetail::Bare {
                request_parameters: json!({"keyId": format!("k{seq}")}),
            },
            error: Some((Cow::Borrowed("NotFoundException"), Cow::Borrowed("gone"))),
        }
    }

    fn seqs(c: &Contents) -> Vec<u64> {
        c.events.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn damage_before_whole_records_is_refused_and_the_file_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_path(&dir.path().join("state.json"));
        let mut j = Journal::create(&path, 7, &[event(0)], 10).unwrap();
        j.append(&[event(1)]).unwrap();
        j.append(&[event(2)]).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        // Flip a byte inside record 2 of 3 (the header is line 1).
        let starts: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        bytes[starts[1] + 30] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        match read(&path) {
            Err(PersistError::Corrupt(why)) => {
                assert!(why.contains("record 3 is damaged"), "{why}");
                assert!(why.contains("whole records follow it"), "{why}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert_eq!(fs::read(&path).unwrap(), bytes, "left as it is");
        // The same damage in the last record is a torn append: dropped.
        let mut torn = fs::read(&path).unwrap();
        torn.truncate(starts[2]);
        torn.extend_from_slice(b"0000000000000000 {\"half");
        fs::write(&path, &torn).unwrap();
        let c = read(&path).unwrap().unwrap();
        assert_eq!(seqs(&c), [0]);
        assert!(c.dropped > 0);
    }

    #[test]
    fn appended_records_read_back_whole_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_path(&dir.path().join("state.json"));
        assert_eq!(path, dir.path().join("state.json.trail"));
        assert!(read(&path).unwrap().is_none());
        let mut j = Journal::create(&path, 42, &[event(0)], 10).unwrap();
        j.append(&[event(1), event(2)]).unwrap();
        j.append(&[event(3)]).unwrap();
        let whole = fs::read(&path).unwrap();
        let c = read(&path).unwrap().unwrap();
        assert_eq!(c.trail_id, 42);
        assert_eq!(seqs(&c), [0, 1, 2, 3]);
        assert_eq!(c.dropped, 0);
        assert_eq!(
            serde_json::to_value(&c.events[2]).unwrap(),
            serde_json::to_value(event(2)).unwrap()
        );
        // Cut anywhere inside the last record: the three before it stay.
        let last = whole[..whole.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        for cut in [last + 1, last + 17, last + 30, whole.len() - 1] {
            fs::write(&path, &whole[..cut]).unwrap();
            let c = read(&path).unwrap().unwrap();
            assert_eq!(seqs(&c), [0, 1, 2], "cut at {cut}");
            assert_eq!(c.dropped, cut - last);
        }
        // Zeros where the last record should be, as a crash can leave.
        let mut zeroed = whole.clone();
        zeroed[last..].fill(0);
        fs::write(&path, &zeroed).unwrap();
        assert_eq!(seqs(&read(&path).unwrap().unwrap()), [0, 1, 2]);
        // A changed byte with the newline kept: the checksum catches it.
        let mut flipped = whole.clone();
        flipped[last + 40] ^= 0x01;
        fs::write(&path, &flipped).unwrap();
        assert_eq!(seqs(&read(&path).unwrap().unwrap()), [0, 1, 2]);
    }

    #[test]
    fn a_journal_without_a_readable_header_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json.trail");
        for (bytes, says) in [
            (&b""[..], "no header record"),
            (b"not a journal\n", "damaged"),
            (b"{\"format\"", "cut short"),
        ] {
            fs::write(&path, bytes).unwrap();
            let e = read(&path).unwrap_err().to_string();
            assert!(e.starts_with("not a usable hsmdrill state file"), "{e}");
            assert!(e.contains(says), "{e}");
        }
        let mut other = Vec::new();
        encode(
            &Header {
                format: FORMAT.to_owned(),
                version: 9,
                trail: 1,
            },
            &mut other,
        )
        .unwrap();
        fs::write(&path, &other).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("trail journal version 9"), "{e}");
    }

    #[test]
    fn a_journal_is_full_at_twice_the_capacity_and_knows_when_it_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.trail");
        let mut j = Journal::create(&path, 1, &[], 600).unwrap();
        assert!(!j.is_full());
        let events: Vec<TrailEvent> = (0..1199).map(event).collect();
        j.append(&events).unwrap();
        assert!(!j.is_full());
        j.append(&[event(1199)]).unwrap();
        assert!(j.is_full());
        assert_eq!(j.path(), path);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(j.is_in_place());
        fs::remove_file(&path).unwrap();
        assert!(!j.is_in_place(), "deleted");
        fs::write(&path, b"another file").unwrap();
        assert!(!j.is_in_place(), "replaced");
    }
}
