//! Where the pepper comes from (STD1-SRV-26): the operator's environment
//! variable or file, or, by default, a file beside the private database
//! that the server generates on its first start.
//!
//! The default file lives in the data directory, next to (not inside) the
//! PostgreSQL cluster, so a `pg_dump` or a copy of the cluster alone never
//! holds it; an operator who backs up the whole data directory must keep
//! that file apart (README, *Self-hosting*).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::store::keyed::{MalformedPepper, Pepper};

/// The default pepper file's name in the data directory.
pub const DEFAULT_FILE: &str = "pepper";

/// Where this instance's pepper came from, for the start-up log (the
/// pepper itself is never logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PepperSource {
    Environment,
    File(PathBuf),
    Generated(PathBuf),
}

/// A pepper that could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PepperError {
    #[error("reading the pepper file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("the pepper file {0}: {1}")]
    Malformed(PathBuf, MalformedPepper),
    #[error("writing a new pepper to {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("no randomness for a new pepper: {0}")]
    Random(getrandom::Error),
}

/// The pepper: `configured` (from `STELGANO_PEPPER`) if given, else the
/// file `file` if given, else `<data_dir>/pepper`, generated if absent.
pub fn load(
    configured: Option<&Pepper>,
    file: Option<&Path>,
    data_dir: &Path,
) -> Result<(Pepper, PepperSource), PepperError> {
    if let Some(pepper) = configured {
        return Ok((pepper.clone(), PepperSource::Environment));
    }
    if let Some(path) = file {
        return Ok((read(path)?, PepperSource::File(path.to_path_buf())));
    }
    let path = data_dir.join(DEFAULT_FILE);
    match std::fs::metadata(&path) {
        Ok(_) => Ok((read(&path)?, PepperSource::File(path))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let pepper = generate(data_dir, &path)?;
            Ok((pepper, PepperSource::Generated(path)))
        }
        Err(e) => Err(PepperError::Read(path, e)),
    }
}

fn read(path: &Path) -> Result<Pepper, PepperError> {
    let text = std::fs::read_to_string(path).map_err(|e| PepperError::Read(path.into(), e))?;
    Pepper::from_hex(&text).map_err(|e| PepperError::Malformed(path.into(), e))
}

/// Writes a new pepper readable by this user only. `create_new` keeps a
/// second instance racing on the same directory from overwriting the first
/// one's pepper; it reads that one instead.
fn generate(data_dir: &Path, path: &Path) -> Result<Pepper, PepperError> {
    let write_err = |e| PepperError::Write(path.into(), e);
    std::fs::create_dir_all(data_dir).map_err(write_err)?;
    let pepper = Pepper::generate().map_err(PepperError::Random)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        // Another instance on this directory won the race: use its pepper.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return read(path),
        Err(e) => return Err(write_err(e)),
    };
    writeln!(file, "{}", pepper.to_hex()).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    Ok(pepper)
}

/// Whether a pepper file can be read by others than its owner.
#[cfg(unix)]
pub fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "stelgano-pepper-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_default_is_generated_once_and_read_back() {
        // STD1-SRV-26
        let dir = scratch("default");
        let (first, source) = load(None, None, &dir).expect("generated");
        assert_eq!(source, PepperSource::Generated(dir.join(DEFAULT_FILE)));
        #[cfg(unix)]
        assert!(!readable_by_others(&dir.join(DEFAULT_FILE)));
        let (again, source) = load(None, None, &dir).expect("read");
        assert_eq!(again, first);
        assert_eq!(source, PepperSource::File(dir.join(DEFAULT_FILE)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn configured_peppers_come_first_and_bad_files_are_refused() {
        let dir = scratch("configured");
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("mine");
        let pepper = Pepper::generate().expect("randomness");
        std::fs::write(&file, format!("{}\n", pepper.to_hex())).expect("write");
        let other = Pepper::generate().expect("randomness");
        assert_eq!(load(Some(&other), Some(&file), &dir).expect("env").0, other);
        assert_eq!(load(None, Some(&file), &dir).expect("file").0, pepper);
        // Nothing was generated in the data directory.
        assert!(!dir.join(DEFAULT_FILE).exists());
        std::fs::write(&file, "not a pepper").expect("write");
        assert!(matches!(
            load(None, Some(&file), &dir),
            Err(PepperError::Malformed(..))
        ));
        assert!(matches!(
            load(None, Some(&dir.join("missing")), &dir),
            Err(PepperError::Read(..))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
