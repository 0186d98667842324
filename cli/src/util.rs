//! Small helpers shared by the commands: errors, input, time formatting, a trivial executor.
use std::fmt;
use std::future::Future;
use std::io::Read;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

/// A usage or I/O problem (exit code 2), as opposed to a verdict (exit code 1).
#[derive(Debug)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, CliError>;

pub fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(CliError(msg.into()))
}

pub fn read_file(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| CliError(format!("cannot read {path}: {e}")))
}

/// A token argument: the token itself, or `-` for standard input. Surrounding whitespace
/// (a trailing newline from `echo`/`curl`) is dropped.
pub fn token_arg(arg: &str) -> Result<String> {
    let raw = if arg == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| CliError(format!("cannot read standard input: {e}")))?;
        s
    } else {
        arg.to_owned()
    };
    let t = raw.trim();
    if t.is_empty() {
        return fail("no token given");
    }
    Ok(t.to_owned())
}

/// `--now` or the system clock, in seconds since the epoch.
pub fn now_or(now: Option<f64>) -> f64 {
    now.unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0))
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// ISO 8601 UTC, e.g. `2027-01-15T08:00:00Z` (milliseconds only when the value has them).
pub fn iso8601(t: f64) -> String {
    let secs = t.floor() as i64;
    let millis = ((t - t.floor()) * 1000.0).round() as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let base = format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if millis == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{millis:03}Z")
    }
}

/// Year-month-day of a time, for default secret names.
pub fn ymd(t: f64) -> (i64, u32, u32) {
    civil_from_days((t.floor() as i64).div_euclid(86_400))
}

/// A duration in its two largest units: `4m 50s`, `2h 3m`, `3d 4h`.
pub fn duration(secs: f64) -> String {
    let s = secs.abs().round() as u64;
    let units = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = s;
    for (size, name) in units {
        if rest >= size || (parts.is_empty() && size == 1) {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            parts.push(format!("0{name}"));
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.len() == 2 && parts[1].starts_with('0') {
        parts.pop();
    }
    parts.join(" ")
}

/// `in 4m 50s`, `10s ago` or `now`, relative to `now`.
pub fn relative(t: f64, now: f64) -> String {
    let delta = t - now;
    if delta.abs() < 0.5 {
        "now".into()
    } else if delta > 0.0 {
        format!("in {}", duration(delta))
    } else {
        format!("{} ago", duration(delta))
    }
}

struct NoopWake;
impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Runs a future that never waits on anything external. The core's async seams are async for
/// the Worker's sake; every native implementation here completes on the first poll.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_800_000_000.0), "2027-01-15T08:00:00Z");
        assert_eq!(iso8601(951_782_400.5), "2000-02-29T00:00:00.500Z");
        assert_eq!(duration(290.0), "4m 50s");
        assert_eq!(duration(3600.0), "1h");
        assert_eq!(duration(3661.0), "1h 1m");
        assert_eq!(duration(90_000.0), "1d 1h");
        assert_eq!(duration(0.0), "0s");
        assert_eq!(relative(100.0, 110.0), "10s ago");
        assert_eq!(relative(110.0, 110.0), "now");
        assert_eq!(relative(410.0, 110.0), "in 5m");
    }
}
