//! Connecting to Postgres from a `DATABASE_URL`, with passwords kept out of every message.

use crate::{Error, Result};

/// Returns the database URL from `--database-url`, else `DATABASE_URL`.
pub fn database_url(flag: Option<&str>) -> Result<String> {
    if let Some(url) = flag {
        return Ok(url.to_string());
    }
    std::env::var("DATABASE_URL")
        .map_err(|_| Error::Invalid("no database: set DATABASE_URL or pass --database-url".to_string()))
}

/// Returns `url` with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    // URL form: postgres://user:password@host/db
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &rest[at..]);
            }
        }
        return redact_query_password(url);
    }
    // key=value form: host=... password=...
    url.split_whitespace()
        .map(|kv| if kv.starts_with("password=") { "password=***" } else { kv })
        .collect::<Vec<_>>()
        .join(" ")
}

fn redact_query_password(url: &str) -> String {
    let Some(q) = url.find('?') else {
        return url.to_string();
    };
    let params = url[q + 1..]
        .split('&')
        .map(|p| if p.starts_with("password=") { "password=***".to_string() } else { p.to_string() })
        .collect::<Vec<_>>()
        .join("&");
    format!("{}?{}", &url[..q], params)
}

/// Opens a connection; a failure names the redacted URL and never the password.
pub fn connect(url: &str) -> Result<postgres::Client> {
    postgres::Client::connect(url, postgres::NoTls)
        .map_err(|e| Error::Connect { url: redact(url), message: scrub(&with_sources(&e), url) })
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

/// Removes any occurrence of the URL's password from `message`.
pub fn scrub(message: &str, url: &str) -> String {
    match password_of(url) {
        Some(pw) if !pw.is_empty() => message.replace(&pw, "***"),
        _ => message.to_string(),
    }
}

fn password_of(url: &str) -> Option<String> {
    url.parse::<postgres::Config>().ok()?.get_password().map(|p| String::from_utf8_lossy(p).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_every_form() {
        assert_eq!(
            redact("postgres://bob:s3cret@db.example.com:5432/sdm"),
            "postgres://bob:***@db.example.com:5432/sdm"
        );
        assert_eq!(redact("postgresql://bob@localhost/sdm"), "postgresql://bob@localhost/sdm");
        assert_eq!(redact("host=db user=bob password=s3cret dbname=sdm"), "host=db user=bob password=*** dbname=sdm");
        assert_eq!(
            redact("postgres://localhost/sdm?user=bob&password=s3cret"),
            "postgres://localhost/sdm?user=bob&password=***"
        );
        assert_eq!(scrub("auth failed for s3cret", "postgres://bob:s3cret@h/db"), "auth failed for ***");
    }
}
