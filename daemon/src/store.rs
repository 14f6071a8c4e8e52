//! The daemons' embedded database (SQLite through rusqlite, bundled): what a role must not lose
//! across a crash or a restart.
//!
//! - **updates**: every client update held (uploaded to the aggregator, or fetched by a
//!   challenger), as its wire bytes, with the committed root it was checked against;
//! - **rounds**: how far the daemon got with each round (its own phase names), so a restart
//!   resumes instead of starting over, and finished rounds are not watched again;
//! - **games**: the games the daemon plays and how each ended;
//! - **cursors**: named counters (the next round id to look at).
//!
//! Everything else (the game positions, who moves, what was posted) is read back from the
//! chain, which is the source of truth; traces are recomputed from the stored updates.
//! Writes are single statements in WAL mode: a SIGKILL leaves the last committed state. The
//! store is bound at creation to the chain, registry, role and account it serves, and refuses
//! to open for another.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use step_vm::{Digest, Update};
use tracing::warn;

use crate::{DaemonError, Result, wire};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS updates (
    round INTEGER NOT NULL,
    client INTEGER NOT NULL,
    root BLOB NOT NULL,
    data BLOB NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (round, client)
);
CREATE TABLE IF NOT EXISTS rounds (round INTEGER PRIMARY KEY, phase TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS games (
    game INTEGER PRIMARY KEY,
    round INTEGER NOT NULL,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    hash BLOB PRIMARY KEY,
    entry TEXT NOT NULL,
    state TEXT NOT NULL,
    block INTEGER
);
";

/// What a store serves: written at creation, checked at every open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The role (`aggregator`, `challenger`).
    pub role: String,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The registry contract.
    pub registry: alloy::primitives::Address,
    /// The account the role acts from.
    pub account: alloy::primitives::Address,
}

impl std::fmt::Display for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} on chain {} (registry {})",
            self.role, self.account, self.chain_id, self.registry
        )
    }
}

/// The database of one daemon.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: String,
}

impl Store {
    /// Opens (creating if needed) the store at `path`, bound to `binding`.
    ///
    /// # Errors
    /// SQLite failures, or a store created for another binding.
    pub fn open(path: &Path, binding: &Binding) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DaemonError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let name = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| DaemonError::Store {
            path: name.clone(),
            source: Box::new(source),
        })?;
        Self::init(conn, name, binding)
    }

    /// A store in memory (tests, the one-process devnet without `--data-dir`).
    ///
    /// # Errors
    /// SQLite failures.
    pub fn in_memory(binding: &Binding) -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|source| DaemonError::Store {
            path: ":memory:".into(),
            source: Box::new(source),
        })?;
        Self::init(conn, ":memory:".into(), binding)
    }

    fn init(conn: Connection, path: String, binding: &Binding) -> Result<Self> {
        let store = Self {
            conn: Mutex::new(conn),
            path,
        };
        store.with(|c| c.execute_batch(SCHEMA))?;
        let expected = binding.to_string();
        let stored: Option<String> = store.with(|c| {
            c.query_row("SELECT value FROM meta WHERE key = 'binding'", [], |r| {
                r.get(0)
            })
            .optional()
        })?;
        match stored {
            None => store.with(|c| {
                c.execute(
                    "INSERT INTO meta (key, value) VALUES ('binding', ?1)",
                    params![expected],
                )
            })?,
            Some(s) if s == expected => 0,
            Some(stored) => {
                return Err(DaemonError::StoreBinding {
                    path: store.path,
                    stored,
                    expected,
                });
            }
        };
        Ok(store)
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&conn).map_err(|source| DaemonError::Store {
            path: self.path.clone(),
            source: Box::new(source),
        })
    }

    /// Keeps `update` of `client` in `round`, checked by the caller against the committed
    /// `root`. Returns `false` if an update was already held for that client (it is kept: a
    /// committed root has one opening).
    ///
    /// # Errors
    /// SQLite failures.
    pub fn put_update(
        &self,
        round: u64,
        client: u32,
        root: &Digest,
        update: &Update,
        source: &str,
    ) -> Result<bool> {
        self.put_update_bytes(round, client, root, &wire::encode(update), source)
    }

    /// As [`Self::put_update`], with the update's wire bytes (what an upload carries).
    ///
    /// # Errors
    /// SQLite failures.
    pub fn put_update_bytes(
        &self,
        round: u64,
        client: u32,
        root: &Digest,
        data: &[u8],
        source: &str,
    ) -> Result<bool> {
        let n = self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO updates (round, client, root, data, source) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![round_key(round), client, root.as_slice(), data, source],
            )
        })?;
        Ok(n == 1)
    }

    /// The update held for `client` in `round`, with the root it was checked against.
    ///
    /// # Errors
    /// SQLite failures, or a stored row that is not an update (a corrupted database).
    pub fn update(&self, round: u64, client: u32) -> Result<Option<(Update, Digest)>> {
        let row: Option<(Vec<u8>, Vec<u8>)> = self.with(|c| {
            c.query_row(
                "SELECT data, root FROM updates WHERE round = ?1 AND client = ?2",
                params![round_key(round), client],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })?;
        let Some((data, root)) = row else {
            return Ok(None);
        };
        let what = format!("{} (round {round}, client {client})", self.path);
        let root: Digest = root.try_into().map_err(|_| DaemonError::Wire {
            what: what.clone(),
            message: "stored root is not 32 bytes".into(),
        })?;
        let update = wire::decode(&data, data.len() / 4, &what)?;
        Ok(Some((update, root)))
    }

    /// The clients whose updates are held for `round`, with their roots.
    ///
    /// # Errors
    /// SQLite failures.
    pub fn held(&self, round: u64) -> Result<Vec<(u32, Digest)>> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT client, root FROM updates WHERE round = ?1 ORDER BY client")?;
            let rows = stmt.query_map(params![round_key(round)], |r| {
                let root: Vec<u8> = r.get(1)?;
                let mut d = [0u8; 32];
                if root.len() == 32 {
                    d.copy_from_slice(&root);
                }
                Ok((r.get::<_, u32>(0)?, d))
            })?;
            rows.collect()
        })
    }

    /// The phase this daemon recorded for `round`, if any.
    ///
    /// # Errors
    /// SQLite failures.
    pub fn phase(&self, round: u64) -> Result<Option<String>> {
        self.with(|c| {
            c.query_row(
                "SELECT phase FROM rounds WHERE round = ?1",
                params![round_key(round)],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Records `phase` for `round`.
    ///
    /// # Errors
    /// SQLite failures.
    pub fn set_phase(&self, round: u64, phase: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO rounds (round, phase) VALUES (?1, ?2) ON CONFLICT(round) DO UPDATE SET phase = excluded.phase",
                params![round_key(round), phase],
            )
        })
        .map(drop)
    }

    /// Rounds recorded with a phase other than `done`, oldest first.
    ///
    /// # Errors
    /// SQLite failures.
    pub fn active_rounds(&self) -> Result<Vec<(u64, String)>> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT round, phase FROM rounds WHERE phase != 'done' ORDER BY round")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?.cast_unsigned(), r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Records a game this daemon plays on `round` (idempotent).
    ///
    /// # Errors
    /// SQLite failures.
    pub fn add_game(&self, game: u64, round: u64) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO games (game, round) VALUES (?1, ?2)",
                params![round_key(game), round_key(round)],
            )
        })
        .map(drop)
    }

    /// Records how a game ended (`won`, `lost`, `claimed`).
    ///
    /// # Errors
    /// SQLite failures.
    pub fn set_game_outcome(&self, game: u64, outcome: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE games SET outcome = ?2 WHERE game = ?1",
                params![round_key(game), outcome],
            )
        })
        .map(drop)
    }

    /// How a recorded game ended, if it has (`None` for an unknown or running game).
    ///
    /// # Errors
    /// SQLite failures.
    pub fn game_outcome(&self, game: u64) -> Result<Option<String>> {
        self.with(|c| {
            c.query_row(
                "SELECT outcome FROM games WHERE game = ?1",
                params![round_key(game)],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
        })
        .map(Option::flatten)
    }

    /// The games recorded on `round`, with their outcomes so far.
    ///
    /// # Errors
    /// SQLite failures.
    pub fn games(&self, round: u64) -> Result<Vec<(u64, Option<String>)>> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT game, outcome FROM games WHERE round = ?1 ORDER BY game")?;
            let rows = stmt.query_map(params![round_key(round)], |r| {
                Ok((r.get::<_, i64>(0)?.cast_unsigned(), r.get(1)?))
            })?;
            rows.collect()
        })
    }

    /// A named cursor (0 if never set).
    ///
    /// # Errors
    /// SQLite failures.
    pub fn cursor(&self, name: &str) -> Result<u64> {
        self.with(|c| {
            c.query_row(
                "SELECT value FROM cursors WHERE name = ?1",
                params![name],
                |r| r.get::<_, i64>(0),
            )
            .optional()
        })
        .map(|v| v.map_or(0, i64::cast_unsigned))
    }

    /// Sets a named cursor.
    ///
    /// # Errors
    /// SQLite failures.
    pub fn set_cursor(&self, name: &str, value: u64) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO cursors (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                params![name, round_key(value)],
            )
        })
        .map(drop)
    }
}

/// The transaction manager's journal: every transaction submitted and not yet known mined or
/// dropped survives a kill, so a restarted daemon waits for it (or rebroadcasts it) instead
/// of sending the same move twice.
impl contracts::TxJournal for Store {
    fn record_submitted(&self, entry: &contracts::JournalEntry) -> contracts::Result<()> {
        let json = serde_json::to_string(entry).map_err(|e| journal("record_submitted", e))?;
        self.with(|c| {
            c.execute(
                "INSERT INTO txs (hash, entry, state) VALUES (?1, ?2, 'in_flight') ON CONFLICT(hash) DO UPDATE SET state = 'in_flight'",
                params![entry.hash.as_slice(), json],
            )
        })
        .map(drop)
        .map_err(|e| journal("record_submitted", e))
    }

    fn record_mined(
        &self,
        hash: alloy::primitives::B256,
        block_number: u64,
    ) -> contracts::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE txs SET state = 'mined', block = ?2 WHERE hash = ?1",
                params![hash.as_slice(), round_key(block_number)],
            )
        })
        .map(drop)
        .map_err(|e| journal("record_mined", e))
    }

    fn record_dropped(&self, hash: alloy::primitives::B256) -> contracts::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE txs SET state = 'dropped' WHERE hash = ?1",
                params![hash.as_slice()],
            )
        })
        .map(drop)
        .map_err(|e| journal("record_dropped", e))
    }

    fn in_flight(&self) -> contracts::Result<Vec<contracts::JournalEntry>> {
        let rows: Vec<String> = self
            .with(|c| {
                let mut stmt = c.prepare("SELECT entry FROM txs WHERE state = 'in_flight'")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                rows.collect()
            })
            .map_err(|e| journal("in_flight", e))?;
        rows.iter()
            .map(|j| serde_json::from_str(j).map_err(|e| journal("in_flight", e)))
            .collect()
    }
}

fn journal(
    operation: &'static str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> contracts::ChainError {
    contracts::ChainError::Journal {
        operation,
        source: Box::new(e),
    }
}

/// SQLite integers are signed; ids are far below 2^63.
fn round_key(id: u64) -> i64 {
    id.cast_signed()
}

impl protocol::UpdateSource for Store {
    fn fetch(&self, round: u64, client_index: u32) -> Option<Update> {
        match self.update(round, client_index) {
            Ok(u) => u.map(|(u, _)| u),
            Err(e) => {
                warn!(round, client = client_index, error = %e, "stored update unreadable");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;

    fn binding(role: &str) -> Binding {
        Binding {
            role: role.into(),
            chain_id: 31_337,
            registry: Address::repeat_byte(1),
            account: Address::repeat_byte(2),
        }
    }

    #[test]
    fn what_is_written_survives_reopening_and_a_foreign_binding_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db").join("aggregator.sqlite");
        let u = Update::from_fixed(vec![1, -2, 3]);
        {
            let s = Store::open(&path, &binding("aggregator")).unwrap();
            assert!(s.put_update(7, 2, &u.root(), &u, "upload").unwrap());
            assert!(!s.put_update(7, 2, &u.root(), &u, "upload").unwrap());
            s.set_phase(7, "posted").unwrap();
            s.set_phase(8, "done").unwrap();
            s.add_game(3, 7).unwrap();
            s.set_game_outcome(3, "won").unwrap();
            s.set_cursor("next_round", 9).unwrap();
        }
        let s = Store::open(&path, &binding("aggregator")).unwrap();
        assert_eq!(s.update(7, 2).unwrap(), Some((u.clone(), u.root())));
        assert_eq!(s.update(7, 3).unwrap(), None);
        assert_eq!(s.held(7).unwrap(), vec![(2, u.root())]);
        assert_eq!(s.active_rounds().unwrap(), vec![(7, "posted".to_owned())]);
        assert_eq!(s.games(7).unwrap(), vec![(3, Some("won".to_owned()))]);
        assert_eq!(s.cursor("next_round").unwrap(), 9);
        assert_eq!(s.cursor("other").unwrap(), 0);
        let e = Store::open(&path, &binding("challenger"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("was created for aggregator"), "{e}");
    }
}
