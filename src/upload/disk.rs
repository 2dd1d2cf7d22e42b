//! The upload files on disk: a sparse part file per open session, `DATA_DIR/uploads/<id>.part`,
//! written at each chunk's offset, and committed files in `DATA_DIR/uploads/complete/<id>-<name>`.
//! Everything here blocks; callers run it on the blocking pool.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// Read buffer for hashing (1 MiB): big enough for sequential speed, small enough for memory.
const HASH_BUF: usize = 1 << 20;

/// Where upload files live.
#[derive(Debug, Clone)]
pub struct Dirs {
    root: PathBuf,
}

impl Dirs {
    /// `DATA_DIR/uploads`.
    pub fn new(data_dir: &Path) -> Dirs {
        Dirs {
            root: data_dir.join("uploads"),
        }
    }

    pub fn part(&self, id: &str) -> PathBuf {
        self.root.join(format!("{id}.part"))
    }

    pub fn complete_dir(&self) -> PathBuf {
        self.root.join("complete")
    }

    pub fn complete(&self, id: &str, filename: &str) -> PathBuf {
        self.complete_dir().join(format!("{id}-{filename}"))
    }

    /// Creates the part file at its final length without writing data (sparse where supported).
    pub fn create_part(&self, id: &str, size: u64) -> io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.part(id))?;
        f.set_len(size)?;
        f.sync_all()?;
        fsync_dir(&self.root)
    }

    /// Makes sure an open session's part file exists with length `size` (recreating it after a
    /// crash or a hand-deleted file). Returns `false` when it had to be created afresh.
    pub fn ensure_part(&self, id: &str, size: u64) -> io::Result<bool> {
        std::fs::create_dir_all(&self.root)?;
        let path = self.part(id);
        let existed = path.exists();
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        if f.metadata()?.len() != size {
            f.set_len(size)?;
            f.sync_all()?;
        }
        Ok(existed)
    }

    /// Opens the part file for writing chunks.
    pub fn open_part(&self, id: &str) -> io::Result<File> {
        OpenOptions::new().write(true).open(self.part(id))
    }

    /// Removes the part file; a missing file is not an error.
    pub fn remove_part(&self, id: &str) -> io::Result<()> {
        match std::fs::remove_file(self.part(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Moves the verified part file to its committed name (one atomic rename on one file system)
    /// and makes the rename durable.
    pub fn commit(&self, id: &str, filename: &str) -> io::Result<PathBuf> {
        let dest_dir = self.complete_dir();
        std::fs::create_dir_all(&dest_dir)?;
        let dest = self.complete(id, filename);
        std::fs::rename(self.part(id), &dest)?;
        fsync_dir(&dest_dir)?;
        fsync_dir(&self.root)?;
        Ok(dest)
    }
}

/// Makes a directory's entries (creations, renames) durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Receives one chunk's bytes from `rx`, hashing them and, when `file` is given, writing them at
/// `offset`; then fsyncs. Returns the SHA-256 (hex) and the number of bytes seen. With no file it
/// only hashes (a retry of a chunk already on disk, compared with the recorded hash).
pub fn write_chunk(
    file: Option<File>,
    offset: u64,
    mut rx: tokio::sync::mpsc::Receiver<Bytes>,
) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut at = offset;
    while let Some(b) = rx.blocking_recv() {
        hasher.update(&b);
        if let Some(f) = &file {
            f.write_all_at(&b, at)?;
        }
        at += b.len() as u64;
    }
    if let Some(f) = &file {
        f.sync_data()?;
    }
    Ok((hex::encode(hasher.finalize()), at - offset))
}

/// SHA-256 (hex) of `len` bytes of `path` from `offset`; `None` when the file is shorter.
pub fn hash_range(path: &Path, offset: u64, len: u64) -> io::Result<Option<String>> {
    let f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUF.min(len as usize).max(1)];
    let mut at = offset;
    let end = offset + len;
    while at < end {
        let want = buf.len().min((end - at) as usize);
        let n = f.read_at(&mut buf[..want], at)?;
        if n == 0 {
            return Ok(None);
        }
        hasher.update(&buf[..n]);
        at += n as u64;
    }
    Ok(Some(hex::encode(hasher.finalize())))
}

/// `len` bytes of `path` from `offset` (a chunk, to share it through object storage).
pub fn read_range(path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    File::open(path)?.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

/// Writes `bytes` into the part file of `id` at `offset` and fsyncs (a chunk another node
/// received, fetched from object storage).
pub fn write_range(dirs: &Dirs, id: &str, offset: u64, bytes: &[u8]) -> io::Result<()> {
    let f = dirs.open_part(id)?;
    f.write_all_at(bytes, offset)?;
    f.sync_data()
}

/// SHA-256 (hex) of bytes in memory.
pub fn hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 (hex) and length of a whole file, read sequentially.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUF];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    #[test]
    fn chunks_land_at_their_offsets_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = Dirs::new(dir.path());
        d.create_part("a", 10).unwrap();
        for (off, bytes) in [(5u64, &b"fghij"[..]), (0, &b"abcde"[..])] {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tx.try_send(Bytes::copy_from_slice(&bytes[..2])).unwrap();
            tx.try_send(Bytes::copy_from_slice(&bytes[2..])).unwrap();
            drop(tx);
            let (h, n) = write_chunk(Some(d.open_part("a").unwrap()), off, rx).unwrap();
            assert_eq!((h, n), (sha(bytes), 5));
        }
        assert_eq!(std::fs::read(d.part("a")).unwrap(), b"abcdefghij");
        assert_eq!(hash_range(&d.part("a"), 5, 5).unwrap(), Some(sha(b"fghij")));
        assert_eq!(hash_range(&d.part("a"), 8, 5).unwrap(), None);
        assert_eq!(hash_file(&d.part("a")).unwrap(), (sha(b"abcdefghij"), 10));
        let dest = d.commit("a", "x.tif").unwrap();
        assert!(!d.part("a").exists());
        assert_eq!(std::fs::read(dest).unwrap(), b"abcdefghij");
    }

    #[test]
    fn ensure_part_recreates_and_fixes_length() {
        let dir = tempfile::tempdir().unwrap();
        let d = Dirs::new(dir.path());
        assert!(!d.ensure_part("b", 7).unwrap());
        assert!(d.ensure_part("b", 7).unwrap());
        std::fs::write(d.part("b"), b"abc").unwrap();
        assert!(d.ensure_part("b", 7).unwrap());
        assert_eq!(std::fs::metadata(d.part("b")).unwrap().len(), 7);
        d.remove_part("b").unwrap();
        d.remove_part("b").unwrap();
    }
}
