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
    let resolved = crate::conninfo::service::resolve(url, |key| std::env::var_os(key))
        .map_err(|message| Error::Connect { url: redact(url), message })?;
    // The service file's password is as secret as the URL's.
    let failed = |message: String| Error::Connect {
        url: redact(url),
        message: scrub(&scrub(&message, url), &resolved.conninfo),
    };
    let mut config: postgres::Config = resolved.conninfo.parse().map_err(|e| failed(report(&e)))?;
    if config.get_password().is_none()
        && let Some(password) = libpq_password(&config, resolved.passfile.clone(), |key| std::env::var_os(key))
    {
        config.password(password);
    }
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
        Some(Err(e)) if config.get_password().is_none() && report(&e).contains("password missing") => {
            Err(failed(format!(
            "{}: the server asks for a password and none was found (in the URL, PGPASSWORD, passfile=, PGPASSFILE, \
             ~/.pgpass, or a service file)",
            report(&e)
        )))
        }
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

/// Returns the password libpq would use where the connection string gives none (the driver
/// reads neither): `PGPASSWORD`, else the first line of the password file (`passfile=`, else
/// `PGPASSFILE`, else `~/.pgpass`) that matches `hostname:port:database:username`, with `*`
/// matching anything. As libpq does, a password file others may read is ignored.
fn libpq_password(
    config: &postgres::Config,
    passfile: Option<std::path::PathBuf>,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Option<String> {
    if let Some(password) = env("PGPASSWORD").and_then(|p| p.into_string().ok()).filter(|p| !p.is_empty()) {
        return Some(password);
    }
    let path = passfile
        .or_else(|| env("PGPASSFILE").map(std::path::PathBuf::from))
        .or_else(|| env("HOME").map(|home| std::path::Path::new(&home).join(".pgpass")))?;
    let text = std::fs::read_to_string(&path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(&path).ok()?.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "warning: password file {} has group or world access and is ignored; permissions should be u=rw (0600) \
                 or less",
                path.display()
            );
            return None;
        }
    }
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    // libpq matches a Unix socket as `localhost`.
    let hosts: Vec<String> = match config.get_hosts() {
        [] => vec!["localhost".to_string()],
        hosts => hosts
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(_) => "localhost".to_string(),
            })
            .collect(),
    };
    text.lines().filter(|line| !line.trim_start().starts_with('#')).find_map(|line| {
        let fields = passfile_fields(line);
        let [host, port_field, db, name, password] = fields.as_slice() else { return None };
        let matches = |field: &str, value: &str| field == "*" || field == value;
        (hosts.iter().any(|h| matches(host, h))
            && matches(port_field, &port)
            && matches(db, database)
            && matches(name, user))
        .then(|| password.clone())
    })
}

/// Splits a password file line at unescaped `:`, undoing `\:` and `\\`.
fn passfile_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
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
    fn finds_the_password_where_libpq_does() {
        use std::os::unix::fs::PermissionsExt;
        let config: postgres::Config = "host=db.example.com port=6432 user=ann dbname=sdm".parse().unwrap();
        let no_env = |_: &str| None;
        let from_env = |key: &str| (key == "PGPASSWORD").then(|| "from env".into());
        assert_eq!(libpq_password(&config, None, from_env).as_deref(), Some("from env"));
        let dir = std::env::temp_dir().join(format!("sdm-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:*:*:ann:no\ndb.example.com:6432:sdm:bob:no\n*:6432:sdm:ann:it\\:s\\\\x\n*:*:*:*:last\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(libpq_password(&config, Some(file.clone()), no_env).as_deref(), Some("it:s\\x"));
        let pgpassfile = |key: &str| (key == "PGPASSFILE").then(|| file.clone().into_os_string());
        assert_eq!(libpq_password(&config, None, pgpassfile).as_deref(), Some("it:s\\x"));
        let home = |key: &str| (key == "HOME").then(|| dir.clone().into_os_string());
        std::fs::rename(&file, dir.join(".pgpass")).unwrap();
        assert_eq!(libpq_password(&config, None, home).as_deref(), Some("it:s\\x"));
        std::fs::set_permissions(dir.join(".pgpass"), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(libpq_password(&config, None, home), None, "a file others may read is ignored");
        std::fs::remove_dir_all(&dir).unwrap();
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
