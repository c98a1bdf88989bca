//! The state file of `hsmdrill serve --state FILE`: an SQLite database
//! (WAL mode, `synchronous=FULL`) holding every partition's rows
//! (`engine::persist`) and the CloudTrail trail.
//!
//! SQLite rather than a key-value store: a user can open the file with the
//! `sqlite3` shell during or after a drill (`SELECT id, value FROM keys`,
//! `SELECT time, name FROM trail ORDER BY seq DESC LIMIT 20`), and the
//! trail's lookups are indexed queries. The schema ([`SCHEMA`]) is
//! documented in docs/server.md:
//!
//! - `meta(name, value)`: `format` = `hsmdrill-state`, `schema` = 4, `now`
//!   (the clock when last written, ms since the epoch), `virtual_clock`,
//!   `access_keys` (JSON);
//! - `partitions`: one row per account and Region: its config (JSON), the
//!   id generator's position, its trail's id, seed and next number;
//! - `subnets`, `clusters`, `backups`, `key_stores`, `keys`, `aliases`,
//!   `deleted_keys`: one row per entity, `(account, region, id, value)`
//!   with the entity as JSON; `materials`: one row per key of a cluster's
//!   material, `(account, region, cluster, reference, value)`;
//! - `trail`: one row per event, `(account, region, seq, time, name,
//!   event_type, error_code, event_id, read_only, resources, value)`,
//!   indexed by each column a `LookupAttributes` key comes down to (name,
//!   event id, read-only, event type) and by time; `trail_resources`: one
//!   row per `ResourceName` (key ARN) of an event. Events older than
//!   [`TRAIL_RETENTION_MILLIS`] of the clock (90 days, as CloudTrail's
//!   event history) are deleted as the clock passes them;
//!   [`Reader::lookup`] answers LookupEvents from these tables
//!   ([`TrailQuery`]: the engine's [`Query`], brought down to one column
//!   by [`Query::criterion`], and where the previous page ended).
//!
//! The file also says what it is in its header: `PRAGMA application_id` is
//! `0x48534D44` ("HSMD") and `PRAGMA user_version` the schema version, so a
//! file that is not this build's (another SQLite database, a JSON state
//! file of an earlier build, a version this build does not read, garbage)
//! is refused before anything is written to it. Key material and passwords
//! are in it: the file is created with mode 0600, and SQLite gives its
//! `-wal` and `-shm` files the same mode.
//!
//! [`Store::write`] is one transaction: what changed in each partition (or
//! every row, for a new file, a reset or after a failed write) and the
//! trail events not yet written. With `synchronous=FULL` the commit is
//! `fsync`ed to the write-ahead log before it returns, and a crash at any
//! moment leaves the file as of the last commit.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::engine::cloud::{Cloud, Partition};
use crate::engine::config::EngineConfig;
use crate::engine::ids::event_uuid;
use crate::engine::persist::{Delta, Kind, RowChange, Rows, SavedClock};
use crate::engine::trail::{self, Criterion, EventType, Query, SavedTrail, TrailEvent};
use crate::engine::{Clock, Timestamp};

/// `PRAGMA application_id` of a state file: "HSMD".
const APPLICATION_ID: i64 = 0x4853_4D44;

/// The schema version this build writes and reads (versions 1 to 3 were
/// JSON files).
pub(super) const SCHEMA_VERSION: i64 = 4;

/// The `format` row of `meta`.
const FORMAT: &str = "hsmdrill-state";

/// The first bytes of every SQLite database.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Every table and index of a new state file.
pub(super) const SCHEMA: &str = "
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE partitions (
  account TEXT NOT NULL, region TEXT NOT NULL, is_default INTEGER NOT NULL,
  config TEXT NOT NULL, ids TEXT NOT NULL,
  trail_id INTEGER NOT NULL, trail_seed INTEGER NOT NULL, trail_next INTEGER NOT NULL,
  PRIMARY KEY (account, region)) WITHOUT ROWID;
CREATE TABLE subnets (account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (account, region, id)) WITHOUT ROWID;
CREATE TABLE clusters (account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (account, region, id)) WITHOUT ROWID;
CREATE TABLE backups (account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (account, region, id)) WITHOUT ROWID;
CREATE TABLE key_stores (account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (account, region, id)) WITHOUT ROWID;
CREATE TABLE keys (account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (account, region, id)) WITHOUT ROWID;
CREATE TABLE aliases (account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (account, region, id)) WITHOUT ROWID;
CREATE TABLE deleted_keys (account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (account, region, id)) WITHOUT ROWID;
CREATE TABLE materials (account TEXT NOT NULL, region TEXT NOT NULL, cluster TEXT NOT NULL,
  reference INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (account, region, cluster, reference)) WITHOUT ROWID;
CREATE TABLE trail (account TEXT NOT NULL, region TEXT NOT NULL, seq INTEGER NOT NULL,
  time INTEGER NOT NULL, name TEXT NOT NULL, event_type TEXT NOT NULL, error_code TEXT,
  event_id TEXT NOT NULL, read_only INTEGER NOT NULL, resources INTEGER NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (account, region, seq)) WITHOUT ROWID;
CREATE INDEX trail_by_name ON trail (account, region, name, seq);
CREATE INDEX trail_by_time ON trail (account, region, time);
CREATE INDEX trail_by_event_id ON trail (account, region, event_id);
CREATE INDEX trail_by_read_only ON trail (account, region, read_only, seq);
CREATE INDEX trail_by_type ON trail (account, region, event_type, seq);
CREATE TABLE trail_resources (account TEXT NOT NULL, region TEXT NOT NULL,
  name TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (account, region, name, seq)) WITHOUT ROWID;
";

/// How long the trail keeps an event, in the clock's time: CloudTrail's
/// event history holds the last 90 days.
pub(super) const TRAIL_RETENTION_MILLIS: i64 = 90 * 86_400 * 1000;

/// What one partition contributes to a write.
pub(super) struct PartitionWrite<'a> {
    /// Which partition.
    pub partition: Partition,
    /// Whether it is the world's own (the default) partition.
    pub is_default: bool,
    /// Its engine's config (written with a whole delta).
    pub config: &'a EngineConfig,
    /// Its trail's id and seed (written with a whole delta) and next number.
    pub trail: (u64, u64, u64),
    /// What changed in its state, if it was drained.
    pub delta: Option<Delta>,
    /// Its trail events not written yet.
    pub events: Vec<TrailEvent>,
}

/// One transaction's worth.
pub(super) struct Write<'a> {
    /// Whether the file's rows are all dropped first (a world reset, or a
    /// file of another world).
    pub reset: bool,
    /// The partitions that have something to write.
    pub partitions: Vec<PartitionWrite<'a>>,
    /// The clock now.
    pub now: Timestamp,
    /// Whether the clock is virtual.
    pub virtual_clock: bool,
    /// The access key → account map, when it is to be written.
    pub access_keys: Option<&'a BTreeMap<String, String>>,
    /// Delete the trail's events older than this (the retention).
    pub prune_before: Option<Timestamp>,
}

/// An open state file.
#[derive(Debug)]
pub(super) struct Store {
    conn: Connection,
    path: PathBuf,
    /// The file's device and inode when opened: a file deleted or replaced
    /// behind the server's back is not where a restart would look.
    identity: Option<(u64, u64)>,
}

fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    let m = fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        Some((0, u64::from(m.is_file())))
    }
}

/// What is at `path`: nothing (or an empty file), a state file this build
/// reads, or something else (the error says what).
fn check(path: &Path) -> Result<bool, String> {
    let mut head = Vec::with_capacity(SQLITE_HEADER.len());
    match fs::File::open(path) {
        Ok(f) => {
            f.take(4096)
                .read_to_end(&mut head)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    }
    if head.is_empty() {
        return Ok(false);
    }
    if head.starts_with(SQLITE_HEADER) {
        return Ok(true);
    }
    // A JSON state file of an earlier build says its version up front.
    let version = std::str::from_utf8(&head).ok().and_then(|text| {
        let (_, after) = text.split_once("\"version\"")?;
        let digits: String = after
            .trim_start_matches([' ', ':'])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u32>().ok()
    });
    Err(match version {
        Some(v) if head.starts_with(b"{") => format!(
            "hsmdrill state file version {v} is a JSON file of an earlier build; this build keeps its state in SQLite (version {SCHEMA_VERSION}) and does not read it: start a new --state file, or serve it with the build that wrote it"
        ),
        Some(_) | None => {
            "not a usable hsmdrill state file: it is not an SQLite database".to_owned()
        }
    })
}

/// Whether the open database is a state file this build reads (`Ok(false)`
/// for a database with nothing in it yet).
fn check_open(conn: &Connection, path: &Path) -> Result<bool, String> {
    let err = sql_error(path);
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| format!("not a usable hsmdrill state file: {}", err(e)))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(&err)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(&err)?;
    if app == 0 && version == 0 && tables == 0 {
        return Ok(false);
    }
    if app != APPLICATION_ID {
        return Err(
            "not a usable hsmdrill state file: an SQLite database of another application"
                .to_owned(),
        );
    }
    if version != SCHEMA_VERSION {
        return Err(format!(
            "hsmdrill state file version {version}, but this build reads version {SCHEMA_VERSION}"
        ));
    }
    let format: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE name = 'format'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| format!("not a usable hsmdrill state file: {}", err(e)))?;
    if format.as_deref() != Some(FORMAT) {
        return Err(format!(
            "not a usable hsmdrill state file: its format is {format:?}, not {FORMAT:?}"
        ));
    }
    Ok(true)
}

fn configure(conn: &Connection, path: &Path) -> Result<(), String> {
    conn.pragma_update(None, "journal_mode", "WAL")
        .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
        .and_then(|()| conn.busy_timeout(std::time::Duration::from_secs(10)))
        .map_err(sql_error(path))
}

impl Store {
    /// Opens the state file at `path` for writing, creating it (mode 0600,
    /// with the schema) if there is none. A file that is not a state file
    /// this build reads is an error, and is left as it is.
    pub(super) fn open(path: &Path) -> Result<Store, String> {
        check(path)?;
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut conn = Connection::open(path).map_err(sql_error(path))?;
        if !check_open(&conn, path)? {
            configure(&conn, path)?;
            let tx = conn.transaction().map_err(sql_error(path))?;
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};{SCHEMA}"
            ))
            .and_then(|()| {
                tx.execute(
                    "INSERT INTO meta (name, value) VALUES ('format', ?1), ('schema', ?2)",
                    params![FORMAT, SCHEMA_VERSION.to_string()],
                )
            })
            .map_err(sql_error(path))?;
            tx.commit().map_err(sql_error(path))?;
        } else {
            configure(&conn, path)?;
        }
        Ok(Store {
            identity: identity(path),
            conn,
            path: path.to_owned(),
        })
    }

    /// Whether its path still names the file it writes to.
    pub(super) fn is_in_place(&self) -> bool {
        self.identity.is_some() && identity(&self.path) == self.identity
    }

    /// Each partition's trail id, as the file holds it.
    pub(super) fn trail_ids(&self) -> Result<BTreeMap<Partition, u64>, String> {
        let mut stmt = self
            .conn
            .prepare("SELECT account, region, trail_id FROM partitions")
            .map_err(sql_error(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    Partition::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    r.get::<_, i64>(2)? as u64,
                ))
            })
            .and_then(Iterator::collect)
            .map_err(sql_error(&self.path))?;
        Ok(rows)
    }

    /// Writes `w` in one transaction, `fsync`ed when this returns `Ok`.
    pub(super) fn write(&mut self, w: &Write<'_>) -> Result<(), String> {
        let path = self.path.clone();
        let err = sql_error(&path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        if w.reset {
            let mut sql =
                String::from("DELETE FROM partitions; DELETE FROM materials; DELETE FROM trail; DELETE FROM trail_resources;");
            for kind in Kind::ALL {
                sql.push_str(&format!("DELETE FROM {};", kind.table()));
            }
            tx.execute_batch(&sql).map_err(&err)?;
        }
        for p in &w.partitions {
            write_partition(&tx, p).map_err(&err)?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('now', ?1), ('virtual_clock', ?2)",
            params![w.now.as_millis().to_string(), w.virtual_clock.to_string()],
        )
        .map_err(&err)?;
        if let Some(before) = w.prune_before {
            tx.execute(
                "DELETE FROM trail_resources WHERE (account, region, seq) IN (SELECT account, region, seq FROM trail WHERE time < ?1)",
                params![before.as_millis()],
            )
            .and_then(|_| {
                tx.execute(
                    "DELETE FROM trail WHERE time < ?1",
                    params![before.as_millis()],
                )
            })
            .map_err(&err)?;
        }
        if let Some(keys) = w.access_keys {
            let json = serde_json::to_string(keys).map_err(|e| e.to_string())?;
            tx.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('access_keys', ?1)",
                params![json],
            )
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }
}

fn write_partition(tx: &rusqlite::Transaction<'_>, p: &PartitionWrite<'_>) -> rusqlite::Result<()> {
    let (account, region) = (&p.partition.account, &p.partition.region);
    let (trail_id, trail_seed, trail_next) = p.trail;
    if let Some(d) = &p.delta {
        if d.whole {
            for kind in Kind::ALL {
                tx.prepare_cached(&format!(
                    "DELETE FROM {} WHERE account = ?1 AND region = ?2",
                    kind.table()
                ))?
                .execute(params![account, region])?;
            }
            tx.prepare_cached("DELETE FROM materials WHERE account = ?1 AND region = ?2")?
                .execute(params![account, region])?;
            let config = serde_json::to_string(p.config)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            tx.prepare_cached(
                "INSERT OR REPLACE INTO partitions (account, region, is_default, config, ids, trail_id, trail_seed, trail_next) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                account,
                region,
                p.is_default,
                config,
                d.ids,
                trail_id as i64,
                trail_seed as i64,
                trail_next as i64
            ])?;
        } else {
            tx.prepare_cached(
                "UPDATE partitions SET ids = ?3, trail_next = ?4 WHERE account = ?1 AND region = ?2",
            )?
            .execute(params![account, region, d.ids, trail_next as i64])?;
        }
        for change in &d.changes {
            write_change(tx, account, region, change)?;
        }
    } else {
        tx.prepare_cached(
            "UPDATE partitions SET trail_next = ?3 WHERE account = ?1 AND region = ?2",
        )?
        .execute(params![account, region, trail_next as i64])?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO trail (account, region, seq, time, name, event_type, error_code, event_id, read_only, resources, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut resource = tx.prepare_cached(
        "INSERT OR IGNORE INTO trail_resources (account, region, name, seq) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for e in &p.events {
        let resources = trail::resources(e);
        for name in &resources {
            resource.execute(params![account, region, name, e.seq as i64])?;
        }
        let json = serde_json::to_string(e)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        insert.execute(params![
            account,
            region,
            e.seq as i64,
            e.time.as_millis(),
            &*e.name,
            event_type_column(e.event_type),
            e.error.as_deref().map(|(code, _)| code.to_string()),
            event_uuid(trail_seed, e.seq),
            trail::is_read_only(&e.name),
            resources.len() as i64,
            json
        ])?;
    }
    Ok(())
}

/// The `event_type` column of an event of this type.
fn event_type_column(t: EventType) -> &'static str {
    match t {
        EventType::ApiCall => "ApiCall",
        EventType::ServiceEvent => "ServiceEvent",
    }
}

fn write_change(
    tx: &rusqlite::Transaction<'_>,
    account: &str,
    region: &str,
    change: &RowChange,
) -> rusqlite::Result<()> {
    match change {
        RowChange::Put { kind, id, json } => tx
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO {} (account, region, id, value) VALUES (?1, ?2, ?3, ?4)",
                kind.table()
            ))?
            .execute(params![account, region, id, json]),
        RowChange::Delete { kind, id } => tx
            .prepare_cached(&format!(
                "DELETE FROM {} WHERE account = ?1 AND region = ?2 AND id = ?3",
                kind.table()
            ))?
            .execute(params![account, region, id]),
        RowChange::PutMaterial {
            cluster,
            reference,
            json,
        } => tx
            .prepare_cached(
                "INSERT OR REPLACE INTO materials (account, region, cluster, reference, value) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![account, region, cluster, *reference as i64, json]),
        RowChange::DeleteMaterial { cluster, reference } => tx
            .prepare_cached(
                "DELETE FROM materials WHERE account = ?1 AND region = ?2 AND cluster = ?3 AND reference = ?4",
            )?
            .execute(params![account, region, cluster, *reference as i64]),
        RowChange::DeleteMaterialsOf { cluster } => tx
            .prepare_cached(
                "DELETE FROM materials WHERE account = ?1 AND region = ?2 AND cluster = ?3",
            )?
            .execute(params![account, region, cluster]),
    }
    .map(|_| ())
}

/// Reads the cloud saved in the state file at `path`: `Ok(None)` if there
/// is none (or it holds nothing yet). The clock `clock` makes of how it
/// stood continues from there (usually [`SavedClock::resume`]). A file this
/// build does not read is an error, and is left as it is.
pub fn read_cloud(
    path: &Path,
    clock: impl FnOnce(SavedClock) -> Clock,
) -> Result<Option<Cloud>, String> {
    if !check(path)? {
        return Ok(None);
    }
    let conn = Connection::open(path).map_err(sql_error(path))?;
    if !check_open(&conn, path)? {
        return Ok(None);
    }
    let corrupt = |e: rusqlite::Error| format!("not a usable hsmdrill state file: {e}");
    let meta = |name: &str| -> Result<Option<String>, String> {
        conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .map_err(corrupt)
    };
    let Some(now) = meta("now")? else {
        // Created, never written: nothing to restore.
        return Ok(None);
    };
    let now: i64 = now
        .parse()
        .map_err(|_| format!("not a usable hsmdrill state file: the clock is {now:?}"))?;
    let saved = SavedClock {
        now: Timestamp::from_millis(now),
        is_virtual: meta("virtual_clock")?.as_deref() == Some("true"),
    };
    let access_keys: BTreeMap<String, String> = match meta("access_keys")? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| format!("not a usable hsmdrill state file: access_keys: {e}"))?,
        None => BTreeMap::new(),
    };
    let partitions: Vec<PartitionRow> = conn
        .prepare("SELECT account, region, is_default, config, ids, trail_id, trail_seed, trail_next FROM partitions ORDER BY account, region")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(PartitionRow {
                    account: r.get(0)?,
                    region: r.get(1)?,
                    is_default: r.get(2)?,
                    config: r.get(3)?,
                    ids: r.get(4)?,
                    trail: (
                        r.get::<_, i64>(5)? as u64,
                        r.get::<_, i64>(6)? as u64,
                        r.get::<_, i64>(7)? as u64,
                    ),
                })
            })
            .and_then(Iterator::collect)
        })
        .map_err(corrupt)?;
    let mut default = None;
    let mut others = Vec::new();
    for p in partitions {
        let is_default = p.is_default;
        let rows = read_rows(&conn, p)?;
        if is_default {
            default = Some(rows);
        } else {
            others.push(rows);
        }
    }
    let Some(default) = default else {
        return Err("not a usable hsmdrill state file: it has no default partition".to_owned());
    };
    Cloud::from_rows(default, others, access_keys, saved, clock)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// A row of `partitions`.
struct PartitionRow {
    account: String,
    region: String,
    is_default: bool,
    config: String,
    ids: String,
    /// The trail's id, seed and next number.
    trail: (u64, u64, u64),
}

/// One partition's rows, with its newest `config.trail_capacity` events.
fn read_rows(conn: &Connection, p: PartitionRow) -> Result<Rows, String> {
    let corrupt = |e: rusqlite::Error| format!("not a usable hsmdrill state file: {e}");
    let (account, region) = (p.account.as_str(), p.region.as_str());
    let config: EngineConfig = serde_json::from_str(&p.config).map_err(|e| {
        format!("not a usable hsmdrill state file: the config of {account} {region}: {e}")
    })?;
    let (trail_id, trail_seed, trail_next) = p.trail;
    let ids = p.ids;
    let mut entities = Vec::new();
    for kind in Kind::ALL {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT id, value FROM {} WHERE account = ?1 AND region = ?2",
                kind.table()
            ))
            .map_err(corrupt)?;
        let rows = stmt
            .query_map(params![account, region], |r| {
                Ok((kind, r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(corrupt)?;
        for row in rows {
            entities.push(row.map_err(corrupt)?);
        }
    }
    let materials: Vec<(String, String)> = conn
        .prepare("SELECT cluster, value FROM materials WHERE account = ?1 AND region = ?2")
        .and_then(|mut s| {
            s.query_map(params![account, region], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(Iterator::collect)
        })
        .map_err(corrupt)?;
    let capacity = i64::try_from(config.trail_capacity).unwrap_or(i64::MAX);
    let values: Vec<String> = conn
        .prepare(
            "SELECT value FROM trail WHERE account = ?1 AND region = ?2 ORDER BY seq DESC LIMIT ?3",
        )
        .and_then(|mut s| {
            s.query_map(params![account, region, capacity], |r| r.get(0))
                .and_then(Iterator::collect)
        })
        .map_err(corrupt)?;
    let mut events = Vec::with_capacity(values.len());
    for json in values.iter().rev() {
        events.push(
            serde_json::from_str::<TrailEvent>(json)
                .map_err(|e| format!("not a usable hsmdrill state file: a trail event: {e}"))?,
        );
    }
    Ok(Rows {
        config,
        ids,
        entities,
        materials,
        trail: SavedTrail {
            id: trail_id,
            seed: trail_seed,
            next: trail_next,
            events,
        },
    })
}

/// What LookupEvents asks of the trail table: newest first, `skip` passed
/// over, at most `take`, the events that match `query`. Each attribute is
/// an equality on an index of its own (the time range is checked on the
/// rows the index gives), so a page costs about the same with a thousand
/// events or millions; `skip` is walked, so a client paging through starts
/// each page where the last ended (`before_seq`) instead.
#[derive(Clone, Debug, Default)]
pub(super) struct TrailQuery<'a> {
    /// The attribute and time range.
    pub query: Query<'a>,
    /// Only events numbered below this: where the previous page ended,
    /// so that the next one starts there without walking `skip` events.
    pub before_seq: Option<u64>,
    /// Events passed over, newest first (after `before_seq`).
    pub skip: usize,
    /// Most events returned.
    pub take: usize,
}

/// A read-only connection to a state file, for LookupEvents: in WAL mode it
/// reads the last commit while the writer writes the next.
#[derive(Debug)]
pub(super) struct Reader {
    conn: Connection,
    path: PathBuf,
    identity: Option<(u64, u64)>,
}

impl Reader {
    /// Opens the state file at `path` for reading.
    pub(super) fn open(path: &Path) -> Result<Reader, String> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_error(path))?;
        Ok(Reader {
            conn,
            path: path.to_owned(),
            identity: identity(path),
        })
    }

    /// Whether its path still names the file it reads.
    pub(super) fn is_in_place(&self) -> bool {
        self.identity.is_some() && identity(&self.path) == self.identity
    }

    /// One page of `partition`'s events that match `q`, newest first, and
    /// whether more follow it.
    pub(super) fn lookup(
        &self,
        partition: &Partition,
        q: &TrailQuery<'_>,
    ) -> rusqlite::Result<(Vec<TrailEvent>, bool)> {
        let (start, end) = q.query.millis();
        let limit = i64::try_from(q.take.saturating_add(1)).unwrap_or(i64::MAX);
        let offset = i64::try_from(q.skip).unwrap_or(i64::MAX);
        let before = q
            .before_seq
            .and_then(|b| i64::try_from(b).ok())
            .unwrap_or(i64::MAX);
        // ?3 is the criterion's value; each form walks the one index that
        // fits, named (SQLite's planner would rather walk the trail in `seq`
        // order and filter, which costs the whole trail for a rare match).
        const PAGE: &str =
            "AND time BETWEEN ?4 AND ?5 AND seq < ?8 ORDER BY seq DESC LIMIT ?6 OFFSET ?7";
        let (sql, value): (String, rusqlite::types::Value) = match q.query.criterion() {
            Criterion::Nothing => return Ok((Vec::new(), false)),
            Criterion::Every => (
                format!("SELECT value FROM trail WHERE account = ?1 AND region = ?2 {PAGE}"),
                rusqlite::types::Value::Null,
            ),
            Criterion::AnyResource => (
                format!("SELECT value FROM trail WHERE account = ?1 AND region = ?2 AND resources > 0 {PAGE}"),
                rusqlite::types::Value::Null,
            ),
            Criterion::EventName(name) => (
                format!("SELECT value FROM trail INDEXED BY trail_by_name WHERE account = ?1 AND region = ?2 AND name = ?3 {PAGE}"),
                name.to_owned().into(),
            ),
            Criterion::EventId(id) => (
                format!("SELECT value FROM trail INDEXED BY trail_by_event_id WHERE account = ?1 AND region = ?2 AND event_id = ?3 {PAGE}"),
                id.to_owned().into(),
            ),
            Criterion::ReadOnly(read_only) => (
                format!("SELECT value FROM trail INDEXED BY trail_by_read_only WHERE account = ?1 AND region = ?2 AND read_only = ?3 {PAGE}"),
                i64::from(read_only).into(),
            ),
            Criterion::EventType(t) => (
                format!("SELECT value FROM trail INDEXED BY trail_by_type WHERE account = ?1 AND region = ?2 AND event_type = ?3 {PAGE}"),
                event_type_column(t).to_owned().into(),
            ),
            Criterion::ResourceName(name) => (
                "SELECT t.value FROM trail_resources r JOIN trail t \
                 ON t.account = r.account AND t.region = r.region AND t.seq = r.seq \
                 WHERE r.account = ?1 AND r.region = ?2 AND r.name = ?3 \
                 AND t.time BETWEEN ?4 AND ?5 AND r.seq < ?8 ORDER BY r.seq DESC LIMIT ?6 OFFSET ?7"
                    .to_owned(),
                name.to_owned().into(),
            ),
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let values: Vec<String> = stmt
            .query_map(
                params![
                    partition.account,
                    partition.region,
                    value,
                    start,
                    end,
                    limit,
                    offset,
                    before
                ],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?;
        let more = values.len() > q.take;
        let mut events = Vec::with_capacity(values.len().min(q.take));
        for json in values.iter().take(q.take) {
            events.push(
                serde_json::from_str::<TrailEvent>(json)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            );
        }
        Ok((events, more))
    }
}
