//! The commit log: a commit is durable once its version's LevelDB batch is appended here and
//! fsynced. Writing the batch into LevelDB (memtable, level-0 flushes, compactions) happens after
//! the commit has answered, without a sync; a checkpoint (every few commits) syncs LevelDB and
//! empties the log. Opening the store replays the versions the log holds beyond LevelDB's latest
//! version, so a crash at any point loses nothing that a commit reported durable.
//!
//! Record: payload length (4, LE) || first 8 bytes of SHA-256(payload) || payload, where payload =
//! version (8, BE) || LevelDB `WriteBatch` encoding. A torn or damaged record ends the log: its
//! commit never returned (the fsync had not completed), and everything after it is cut off.
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{StoreError, Version};

/// The log's file name in the store directory (LevelDB ignores names it does not number).
pub const FILE_NAME: &str = "commits.wal";

const HEADER_LEN: usize = 4 + 8;

/// One logged version: its number and its LevelDB batch (`WriteBatch` encoding).
pub(crate) struct LoggedCommit {
    pub version: Version,
    pub batch: Vec<u8>,
}

pub(crate) struct CommitLog {
    file: File,
    path: PathBuf,
    /// Records appended since the log was last emptied, and their bytes.
    pub records: usize,
    pub bytes: u64,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Db(format!("{what} {}: {e}", path.display()))
}

fn checksum(payload: &[&[u8]]) -> [u8; 8] {
    let mut hasher = Sha256::new();
    for part in payload {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// The intact records at the start of `bytes`, and how many bytes they span.
pub(crate) fn parse(bytes: &[u8]) -> (Vec<LoggedCommit>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER_LEN) {
        let mut len = [0u8; 4];
        len.copy_from_slice(&header[..4]);
        let len = u32::from_le_bytes(len) as usize;
        let Some(payload) = bytes.get(at + HEADER_LEN..at + HEADER_LEN + len) else {
            break;
        };
        if len < 8 || checksum(&[payload]) != header[4..] {
            break;
        }
        let mut version = [0u8; 8];
        version.copy_from_slice(&payload[..8]);
        records.push(LoggedCommit {
            version: Version::from_be_bytes(version),
            batch: payload[8..].to_vec(),
        });
        at += HEADER_LEN + len;
    }
    (records, at)
}

impl CommitLog {
    /// Opens (or creates) the log in `dir` and returns its intact records; a damaged tail is cut off
    /// so that new records follow the last intact one.
    pub fn open(dir: &Path) -> Result<(Self, Vec<LoggedCommit>), StoreError> {
        let path = dir.join(FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_err("open", &path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io_err("read", &path, e))?;
        let (records, intact) = parse(&bytes);
        if intact < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                cut = bytes.len() - intact,
                "commit log ends in an incomplete record (a commit interrupted before it returned); cutting it off"
            );
            file.set_len(intact as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| io_err("truncate", &path, e))?;
        }
        let log = Self {
            file,
            path,
            records: records.len(),
            bytes: intact as u64,
        };
        Ok((log, records))
    }

    /// Appends `version`'s batch and fsyncs: from here on the version survives any crash.
    pub fn append(&mut self, version: Version, batch: &[u8]) -> Result<(), StoreError> {
        let version = version.to_be_bytes();
        let len = u32::try_from(version.len() + batch.len()).map_err(|_| {
            StoreError::Db(format!("a commit of {} bytes is too large", batch.len()))
        })?;
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(&len.to_le_bytes());
        header[4..].copy_from_slice(&checksum(&[&version, batch]));
        self.file
            .write_all(&header)
            .and_then(|()| self.file.write_all(&version))
            .and_then(|()| self.file.write_all(batch))
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_err("append to", &self.path, e))?;
        self.records += 1;
        self.bytes += (HEADER_LEN + version.len() + batch.len()) as u64;
        Ok(())
    }

    /// Empties the log; call only once everything it holds is durable in LevelDB.
    pub fn clear(&mut self) -> Result<(), StoreError> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| io_err("truncate", &self.path, e))?;
        self.records = 0;
        self.bytes = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_damaged_tail_ends_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut log, records) = CommitLog::open(dir.path()).expect("open");
            assert!(records.is_empty());
            log.append(7, b"first batch").expect("append");
            log.append(8, b"").expect("append empty batch");
            log.append(9, b"third").expect("append");
        }
        let path = dir.path().join(FILE_NAME);
        let full = std::fs::read(&path).expect("read");
        let (records, intact) = parse(&full);
        assert_eq!(intact, full.len());
        let seen: Vec<(Version, &[u8])> = records
            .iter()
            .map(|r| (r.version, r.batch.as_slice()))
            .collect();
        assert_eq!(
            seen,
            vec![(7, &b"first batch"[..]), (8, &b""[..]), (9, &b"third"[..])]
        );

        // Every cut inside the last record leaves the first two.
        let third_starts = full.len() - (HEADER_LEN + 8 + 5);
        for cut in third_starts..full.len() {
            let (records, intact) = parse(&full[..cut]);
            assert_eq!(records.len(), 2, "cut at {cut}");
            assert_eq!(intact, third_starts);
        }
        // A flipped byte in the second record's payload ends the log after the first.
        let mut damaged = full.clone();
        damaged[HEADER_LEN + 8 + 11 + HEADER_LEN + 2] ^= 1;
        assert_eq!(parse(&damaged).0.len(), 1);

        // Reopening a log with a torn tail cuts it, and new records follow the intact ones.
        std::fs::write(&path, &full[..full.len() - 3]).expect("tear");
        {
            let (mut log, records) = CommitLog::open(dir.path()).expect("reopen");
            assert_eq!(records.len(), 2);
            log.append(9, b"again").expect("append");
        }
        let (records, _) = parse(&std::fs::read(&path).expect("read"));
        assert_eq!(
            records.iter().map(|r| r.version).collect::<Vec<_>>(),
            vec![7, 8, 9]
        );
        assert_eq!(records[2].batch, b"again");
    }
}
