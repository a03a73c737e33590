//! Connecting to Postgres from a `DATABASE_URL`: bounded in time, with passwords kept out of
//! every message.

use std::sync::mpsc;
use std::time::Duration;

use postgres::config::Host;

use crate::conninfo::ConnInfo;
use crate::{Error, Result};

/// How long a connection may take when neither the URL's `connect_timeout` nor
/// `PGCONNECT_TIMEOUT` says, per host tried.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Returns the database URL from `--database-url`, else `DATABASE_URL`.
pub fn database_url(flag: Option<&str>) -> Result<String> {
    if let Some(url) = flag {
        return Ok(url.to_string());
    }
    std::env::var("DATABASE_URL")
        .map_err(|_| Error::Invalid("no database: set DATABASE_URL or pass --database-url".to_string()))
}

/// Returns `url` with any password replaced by `***`, for messages and logs: in the URL's user
/// info or its query, in key=value form (quoted or not), and whatever part cannot be read.
pub fn redact(url: &str) -> String {
    crate::conninfo::redact(url)
}

/// Opens a connection; a failure names the redacted URL and never the password.
///
/// The whole connection, start-up and authentication included, is bounded by the URL's
/// `connect_timeout` (else `PGCONNECT_TIMEOUT`, else [`DEFAULT_CONNECT_TIMEOUT`]) for each host
/// it may try; `connect_timeout=0` waits as long as it takes, as in libpq. The driver bounds only
/// the TCP connect, so a server that accepts and never answers would otherwise hang forever.
pub fn connect(url: &str) -> Result<postgres::Client> {
    let failed = |message: String| Error::Connect { url: redact(url), message: scrub(&message, url) };
    let mut config: postgres::Config = url.parse().map_err(|e| failed(report(&e)))?;
    let timeout = connect_timeout(url, std::env::var("PGCONNECT_TIMEOUT").ok());
    if let Some(timeout) = timeout {
        config.connect_timeout(timeout);
    }
    let (sender, receiver) = mpsc::channel();
    let attempt = config.clone();
    std::thread::Builder::new()
        .name("postgres connect".into())
        .spawn(move || {
            // Nobody listens any more when the caller gave up waiting.
            let _ = sender.send(attempt.connect(postgres::NoTls));
        })
        .map_err(|e| failed(format!("cannot start a thread to connect: {e}")))?;
    let outcome = match timeout {
        Some(timeout) => receiver.recv_timeout(timeout * hosts(&config).len().max(1) as u32).ok(),
        None => receiver.recv().ok(),
    };
    match outcome {
        Some(Ok(client)) => Ok(client),
        Some(Err(e)) => Err(failed(report(&e))),
        None => {
            let seconds = timeout.unwrap_or_default().as_secs();
            Err(failed(format!(
                "{} did not answer within {seconds} s (connect_timeout={seconds}{}): check that a Postgres \
                 server is up there and reachable, or set a longer connect_timeout in the URL",
                hosts(&config).join(", "),
                if ConnInfo::parse(url).values("connect_timeout").next().is_some() { "" } else { ", the default" }
            )))
        }
    }
}

/// Returns the time limit of one connection attempt (from the URL, else `env`, the value of
/// `PGCONNECT_TIMEOUT`), or `None` to wait as long as it takes.
fn connect_timeout(url: &str, env: Option<String>) -> Option<Duration> {
    let written = ConnInfo::parse(url).values("connect_timeout").last().map(str::to_string);
    match written.or(env).and_then(|s| s.trim().parse::<i64>().ok()) {
        // libpq: zero or less waits indefinitely; it rounds a limit below 2 s up to 2 s.
        Some(seconds) if seconds <= 0 => None,
        Some(seconds) => Some(Duration::from_secs(seconds.max(2) as u64)),
        None => Some(DEFAULT_CONNECT_TIMEOUT),
    }
}

/// Returns the addresses the driver tries, as `host:port` (a socket folder for Unix sockets).
fn hosts(config: &postgres::Config) -> Vec<String> {
    let port = |i: usize| config.get_ports().get(i).or(config.get_ports().first()).copied().unwrap_or(5432);
    let count = config.get_hosts().len().max(config.get_hostaddrs().len());
    (0..count)
        .map(|i| match (config.get_hostaddrs().get(i), config.get_hosts().get(i)) {
            (Some(addr), _) => format!("{addr}:{}", port(i)),
            (None, Some(Host::Tcp(name))) => format!("{name}:{}", port(i)),
            (None, Some(Host::Unix(path))) => format!("the socket in {}", path.display()),
            (None, None) => "no host".to_string(),
        })
        .collect()
}

/// Returns Postgres's full report of `error` (severity, SQLSTATE, message, detail, hint, context),
/// or for an error that did not come from the server, its message and causes.
///
/// `postgres::Error` itself says only `db error`; the report is what is worth showing.
pub fn report(error: &postgres::Error) -> String {
    let Some(db) = error.as_db_error() else { return with_sources(error) };
    let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    if let Some(detail) = db.detail() {
        text.push_str(&format!("\nDETAIL: {detail}"));
    }
    if let Some(hint) = db.hint() {
        text.push_str(&format!("\nHINT: {hint}"));
    }
    if let Some(context) = db.where_() {
        text.push_str(&format!("\nCONTEXT: {context}"));
    }
    text
}

/// Returns an error's message followed by its causes (`postgres::Error` hides the useful part there).
pub fn with_sources(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Removes every form of the URL's password (as written, decoded, as the driver reads it) from
/// `message`.
pub fn scrub(message: &str, url: &str) -> String {
    let mut secrets = ConnInfo::parse(url).secrets();
    let driver: Option<postgres::Config> = url.parse().ok();
    if let Some(password) = driver.as_ref().and_then(|c| c.get_password()) {
        secrets.push(String::from_utf8_lossy(password).into_owned());
    }
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.iter().fold(message.to_string(), |text, secret| text.replace(secret.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_every_form_of_the_password() {
        assert_eq!(scrub("auth failed for s3cret", "postgres://bob:s3cret@h/db"), "auth failed for ***");
        assert_eq!(scrub("got 'a b' and a%20b", "postgres://bob:a%20b@h/db"), "got '***' and ***");
        assert_eq!(scrub("it's x", "host=h password='it\\'s'"), "*** x");
    }

    #[test]
    fn reports_a_client_side_error_with_its_causes() {
        let error = "port=not-a-number".parse::<postgres::Config>().unwrap_err();
        assert_eq!(report(&error), "invalid connection string: invalid value for option `port`");
    }

    #[test]
    fn the_connect_timeout_comes_from_the_url_else_the_default() {
        let seconds = |n| Some(Duration::from_secs(n));
        assert_eq!(connect_timeout("host=h connect_timeout=7", None), seconds(7));
        assert_eq!(connect_timeout("postgres://h/db?connect_timeout=1", None), seconds(2));
        assert_eq!(connect_timeout("host=h connect_timeout=0", Some("9".into())), None);
        assert_eq!(connect_timeout("host=h", Some("9".into())), seconds(9));
        assert_eq!(connect_timeout("host=h", None), Some(DEFAULT_CONNECT_TIMEOUT));
    }
}
