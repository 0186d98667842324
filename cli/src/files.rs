//! Who may own and change the files the client side reads: the secret files it is given, and the
//! files it keeps itself (the AWS cache and its lock, Google's output file).
//!
//! Given secrets (`--client-secret-file`, `--private-key-jwt`) are read through links, because
//! platforms deliver them that way: a Kubernetes secret volume's `name` is a link to
//! `..data/name`, `..data` a link to a timestamped directory (kubelet's atomic writer), all in a
//! root-owned tmpfs; Docker puts root-owned 0444 files in `/run/secrets`. The rule is about the
//! file finally opened, checked on the open descriptor (no race between check and read): it
//! belongs to the user or to root, and neither its group nor others can write it. A file the user
//! owns and can still write (one made by hand) must also be private (0600), as ssh asks of keys;
//! a read-only one (0400, 0440, 0444) or one root owns (defaultMode 0644) may be readable by
//! others, as the platform mounted it. Directories on the way are not checked: someone who can
//! swap the file can only put in a file they own (refused) or a link to a file the user or root
//! owns, which is sent, if anywhere, to the Keycloak the user named.
//!
//! The helper's own files are never reached through a link: they are opened with `O_NOFOLLOW` in
//! a directory the user owns and neither group nor others can write (sticky or not: in a shared
//! directory another user could take the entry's or the lock's name first), and must belong to
//! the user with mode 0600. So no other user can plant credentials for the helper to print, read
//! the ones it keeps, or hold the lock that every run waits for.
use crate::util::{fail, CliError, Result};
use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

#[cfg(unix)]
mod unix {
    pub use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

    pub fn euid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// Never block on a FIFO planted where a file is expected.
    pub const NONBLOCK: i32 = rustix::fs::OFlags::NONBLOCK.bits() as i32;
    pub const NOFOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
}

/// A secret file given on the command line, read once its final target passes the rule above.
#[cfg(unix)]
pub fn read_secret_file(path: &str, what: &str) -> Result<String> {
    use unix::*;
    let cannot = |e: std::io::Error| CliError(format!("cannot read {what} {path}: {e}"));
    let mut f = fs::OpenOptions::new().read(true).custom_flags(NONBLOCK).open(path).map_err(cannot)?;
    let m = f.metadata().map_err(cannot)?;
    if !m.is_file() {
        return fail(format!("{what} {path} is not a regular file"));
    }
    let (uid, mode, me) = (m.uid(), m.mode() & 0o7777, euid());
    if uid != me && uid != 0 {
        return fail(format!(
            "{what} {path} belongs to uid {uid}, neither to you (uid {me}) nor to root, so another user can change it: make it yours or root's (chown)"
        ));
    }
    if mode & 0o022 != 0 {
        let fix = if uid == me { format!("run chmod 600 {path}") } else { format!("have root run chmod go-w {path}") };
        return fail(format!("{what} {path} can be written by group or others (mode {mode:04o}): {fix}"));
    }
    if uid == me && me != 0 && mode & 0o200 != 0 && mode & 0o044 != 0 {
        return fail(format!(
            "{what} {path} is readable by group or others (mode {mode:04o}): run chmod 600 {path} (only a read-only file, 0400/0440/0444 as Docker and Kubernetes mount secrets, or one root owns may be readable)"
        ));
    }
    let mut s = String::new();
    f.read_to_string(&mut s).map_err(cannot)?;
    Ok(s)
}

#[cfg(not(unix))]
pub fn read_secret_file(path: &str, what: &str) -> Result<String> {
    fs::read_to_string(path).map_err(|e| CliError(format!("cannot read {what} {path}: {e}")))
}

/// A directory the helper keeps its own files in: the user's, and not writable by group or others.
/// Links to it are followed (a linked `~/.cache` is common); the directory reached is checked.
#[cfg(unix)]
pub fn check_own_dir(dir: &Path, what: &str) -> Result<()> {
    use unix::*;
    let shown = dir.display();
    let m = fs::metadata(dir).map_err(|e| CliError(format!("cannot use {what} {shown}: {e}")))?;
    if !m.is_dir() {
        return fail(format!("{what} {shown} is not a directory"));
    }
    let (uid, mode, me) = (m.uid(), m.mode() & 0o7777, euid());
    if uid != me {
        return fail(format!("{what} {shown} belongs to uid {uid}, not to you (uid {me}): use a directory of your own"));
    }
    if mode & 0o022 != 0 {
        return fail(format!(
            "{what} {shown} can be written by group or others (mode {mode:04o}): run chmod 700 {shown}, or use a directory of your own"
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn check_own_dir(_dir: &Path, _what: &str) -> Result<()> {
    Ok(())
}

/// One of the helper's own files as found: absent, or open and the user's, with its mode.
pub enum Own {
    Missing,
    Found(File, u32),
}

/// Opens one of the helper's own files without following a link (created 0600 when `create`),
/// and refuses it unless it is a regular file the user owns.
#[cfg(unix)]
pub fn open_own(path: &Path, what: &str, create: bool) -> Result<Own> {
    use unix::*;
    let shown = path.display();
    let mut opts = fs::OpenOptions::new();
    opts.custom_flags(NOFOLLOW | NONBLOCK).mode(0o600);
    if create {
        opts.create(true).truncate(false).write(true);
    } else {
        opts.read(true);
    }
    let f = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => return Ok(Own::Missing),
        Err(e) => {
            if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                return fail(format!("{what} {shown} is a symbolic link, which the helper never follows: remove it (rm {shown})"));
            }
            return fail(format!("cannot open {what} {shown}: {e}"));
        }
    };
    let m = f.metadata().map_err(|e| CliError(format!("cannot open {what} {shown}: {e}")))?;
    if !m.is_file() {
        return fail(format!("{what} {shown} is not a regular file: remove it"));
    }
    let (uid, me) = (m.uid(), euid());
    if uid != me {
        return fail(format!("{what} {shown} belongs to uid {uid}, not to you (uid {me}): remove it (rm {shown})"));
    }
    Ok(Own::Found(f, m.mode() & 0o7777))
}

#[cfg(not(unix))]
pub fn open_own(path: &Path, what: &str, create: bool) -> Result<Own> {
    let mut opts = fs::OpenOptions::new();
    if create {
        opts.create(true).truncate(false).write(true);
    } else {
        opts.read(true);
    }
    match opts.open(path) {
        Ok(f) => Ok(Own::Found(f, 0o600)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Ok(Own::Missing),
        Err(e) => fail(format!("cannot open {what} {}: {e}", path.display())),
    }
}

/// The contents of one of the helper's own files, if it exists and is private (0600 or
/// stricter). A file of the user's with a looser mode is not trusted (`None`): the caller
/// fetches again and replaces it. Anything else wrong (a link, another owner) is refused.
pub fn read_own(path: &Path, what: &str) -> Result<Option<Vec<u8>>> {
    match open_own(path, what, false)? {
        Own::Missing => Ok(None),
        Own::Found(_, mode) if mode & 0o077 != 0 => Ok(None),
        Own::Found(mut f, _) => {
            let mut v = Vec::new();
            f.read_to_end(&mut v).map_err(|e| CliError(format!("cannot read {what} {}: {e}", path.display())))?;
            Ok(Some(v))
        }
    }
}

/// The lock file beside a cache entry: the user's, 0600, so that no other user can open it,
/// let alone hold the lock.
pub fn open_lock(path: &Path) -> Result<File> {
    match open_own(path, "cache lock file", true)? {
        Own::Found(_, mode) if mode & 0o077 != 0 => {
            let shown = path.display();
            fail(format!("cache lock file {shown} is accessible by group or others (mode {mode:04o}): run chmod 600 {shown}"))
        }
        Own::Found(f, _) => Ok(f),
        Own::Missing => fail(format!("cannot create cache lock file {}", path.display())),
    }
}
