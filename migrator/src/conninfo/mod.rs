//! Reads Postgres connection strings the way libpq and the driver read them, keeping where each
//! value is written: to mask passwords in place, and to know every host a client may connect to.
//!
//! Both forms are read: the URL (`postgres://user:password@host:port,host2/db?key=value&...`,
//! percent-encoded) and key=value pairs (`host=db password = 'it\'s secret'`, with optional
//! spaces around `=`, single quotes, and backslash escapes). Reading never fails: what cannot be
//! read is kept as [`ConnInfo::unread`] and treated as secret.

use std::ops::Range;

pub mod service;

/// The parameters whose values are secrets.
const SECRET_KEYS: &[&str] = &["password", "sslpassword", "scram_client_key", "scram_server_key"];

/// The parameters libpq knows (Postgres 18) whose values are not secrets. Any other key is
/// treated as a secret: `passwd=...` is most likely a password under a mistyped name.
const KNOWN_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "passfile",
    "require_auth",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslmode",
    "sslnegotiation",
    "requiressl",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslcertmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "min_protocol_version",
    "max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
    "oauth_issuer",
    "oauth_client_id",
    "oauth_scope",
];

/// What a connection string sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo<'a> {
    text: &'a str,
    params: Vec<Param>,
    unread: Option<usize>,
    /// Byte ranges that may hold a secret, beyond the secret parameters' values.
    masked: Vec<Range<usize>>,
}

/// One parameter of a connection string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The keyword, e.g. `host`; the URL's parts are named as libpq names them (`user`,
    /// `password`, `host`, `port`, `dbname`).
    pub key: String,
    /// The value, unquoted and decoded.
    pub value: String,
    /// Where the value is written, quotes included.
    span: Range<usize>,
}

impl<'a> ConnInfo<'a> {
    /// Reads `text`, a URL (`postgres://` or `postgresql://`) or key=value pairs.
    pub fn parse(text: &'a str) -> ConnInfo<'a> {
        let mut info = ConnInfo { text, params: Vec::new(), unread: None, masked: Vec::new() };
        match ["postgresql://", "postgres://"].iter().find(|p| text.starts_with(**p)) {
            Some(prefix) => info.read_url(prefix.len()),
            None => info.read_pairs(),
        }
        info
    }

    /// Returns the parameters, in the order they are written.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Returns the values of every parameter named `key`, in order (a URL's hosts one by one).
    pub fn values<'k>(&'k self, key: &'k str) -> impl Iterator<Item = &'k str> + 'k {
        self.params.iter().filter(move |p| p.key == key).map(|p| p.value.as_str())
    }

    /// Returns the byte where the text stops being a connection string, if it does.
    pub fn unread(&self) -> Option<usize> {
        self.unread
    }

    /// Returns the text with every secret value, and whatever could not be read, as `***`.
    pub fn redacted(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut at = 0;
        for range in self.secret_ranges() {
            out.push_str(&self.text[at..range.start]);
            out.push_str("***");
            at = range.end;
        }
        out.push_str(&self.text[at..]);
        out
    }

    /// Returns every secret as written and as decoded, and what could not be read: the texts that
    /// must never be shown.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self.secret_ranges().into_iter().map(|r| self.text[r].to_string()).collect();
        secrets.extend(self.params.iter().filter(|p| is_secret(&p.key)).map(|p| p.value.clone()));
        secrets.retain(|s| !s.trim().is_empty() && s != "''");
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        secrets
    }

    /// Returns the sorted, disjoint byte ranges to mask.
    fn secret_ranges(&self) -> Vec<Range<usize>> {
        let mut ranges: Vec<Range<usize>> =
            self.params.iter().filter(|p| is_secret(&p.key)).map(|p| p.span.clone()).collect();
        ranges.extend(self.masked.iter().cloned());
        ranges.extend(self.unread.map(|u| u..self.text.len()));
        ranges.retain(|r| !r.is_empty());
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::new();
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }

    fn push(&mut self, key: &str, value: String, span: Range<usize>) {
        self.params.push(Param { key: key.to_string(), value, span });
    }

    /// Reads key=value pairs as libpq's `conninfo_parse` does.
    fn read_pairs(&mut self) {
        let bytes = self.text.as_bytes();
        let mut i = 0;
        loop {
            i = skip_spaces(bytes, i);
            if i == bytes.len() {
                return;
            }
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' {
                i += 1;
            }
            let key = &self.text[start..i];
            i = skip_spaces(bytes, i);
            if bytes.get(i) != Some(&b'=') {
                self.unread = Some(start);
                return;
            }
            i = skip_spaces(bytes, i + 1);
            let value_start = i;
            let quoted = bytes.get(i) == Some(&b'\'');
            if quoted {
                i += 1;
            }
            let mut value = Vec::new();
            let mut closed = !quoted;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if i + 1 < bytes.len() => {
                        value.push(bytes[i + 1]);
                        i += 2;
                    }
                    b'\'' if quoted => {
                        i += 1;
                        closed = true;
                        break;
                    }
                    b if !quoted && b.is_ascii_whitespace() => break,
                    b => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
            if !closed || i == value_start {
                self.unread = Some(start);
                return;
            }
            let key = key.to_string();
            self.push(&key, String::from_utf8_lossy(&value).into_owned(), value_start..i);
        }
    }

    /// Reads a URL after its `postgres://` prefix, at byte `start`, as the driver does.
    fn read_url(&mut self, start: usize) {
        let rest = &self.text[start..];
        // A password with an `@`, `/` or `?` that was not percent-encoded is masked whole.
        if let Some(last_at) = rest.rfind('@')
            && let Some(colon) = rest[..last_at].find(':')
        {
            self.masked.push(start + colon + 1..start + last_at);
        }
        let mut at = start;
        // The driver ends the user and password at the first `@`.
        if let Some(end) = rest.find('@') {
            let credentials = &rest[..end];
            match credentials.find(':') {
                Some(colon) => {
                    self.push("user", decode(&credentials[..colon]), start..start + colon);
                    self.push("password", decode(&credentials[colon + 1..]), start + colon + 1..start + end);
                }
                None => self.push("user", decode(credentials), start..start + end),
            }
            at = start + end + 1;
        }
        let netloc_end = self.text[at..].find(['/', '?']).map_or(self.text.len(), |n| at + n);
        for entry in split_spans(self.text, at..netloc_end, b',') {
            let chunk = &self.text[entry.clone()];
            let host_end = match chunk.strip_prefix('[') {
                Some(inner) => inner.find(']').map_or(chunk.len(), |n| n + 2),
                None => chunk.find(':').unwrap_or(chunk.len()),
            };
            let host = chunk[..host_end].trim_start_matches('[').trim_end_matches(']');
            if !host.is_empty() {
                self.push("host", decode(host), entry.start..entry.start + host_end);
            }
            if let Some(port) = chunk[host_end..].strip_prefix(':') {
                self.push("port", decode(port), entry.end - port.len()..entry.end);
            }
        }
        at = netloc_end;
        if self.text[at..].starts_with('/') {
            let end = self.text[at..].find('?').map_or(self.text.len(), |n| at + n);
            if end > at + 1 {
                self.push("dbname", decode(&self.text[at + 1..end]), at + 1..end);
            }
            at = end;
        }
        if !self.text[at..].starts_with('?') {
            return;
        }
        for pair in split_spans(self.text, at + 1..self.text.len(), b'&') {
            let text = &self.text[pair.clone()];
            let Some(eq) = text.find('=') else {
                if !text.is_empty() {
                    self.unread = Some(pair.start);
                    return;
                }
                continue;
            };
            let key = decode(&text[..eq]);
            self.push(&key, decode(&text[eq + 1..]), pair.start + eq + 1..pair.end);
        }
    }
}

/// Returns the text with every password masked; see [`ConnInfo::redacted`].
pub fn redact(text: &str) -> String {
    ConnInfo::parse(text).redacted()
}

/// Returns `text` with parameter `key` set to `value`.
///
/// In key=value form the value replaces the last one written for `key` (or is appended); a URL
/// gets it as a query parameter, which the driver and libpq read after the URL's other parts.
pub fn with_param(text: &str, key: &str, value: &str) -> String {
    if ["postgresql://", "postgres://"].iter().any(|prefix| text.starts_with(prefix)) {
        let separator = if text.contains('?') { '&' } else { '?' };
        return format!("{text}{separator}{}={}", encode(key), encode(value));
    }
    let quoted = if !value.is_empty() && !value.bytes().any(|b| b.is_ascii_whitespace() || b == b'\'' || b == b'\\') {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    };
    let info = ConnInfo::parse(text);
    match info.params.iter().rev().find(|p| p.key == key) {
        Some(param) => format!("{}{quoted}{}", &text[..param.span.start], &text[param.span.end..]),
        None => format!("{} {key}={quoted}", text.trim_end()),
    }
}

fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key) || !KNOWN_KEYS.contains(&key)
}

/// Returns `text` as key=value pairs without its password, and the password: what a child
/// process (`pg_dump`, `psql`) gets on its command line and in its `PGPASSWORD`, so that no
/// password is ever on a command line, where any user of the machine can read it.
///
/// Values given more than once (a URL's hosts and ports) are joined with commas, as libpq reads
/// them in key=value form.
pub fn without_password(text: &str) -> (String, Option<String>) {
    let info = ConnInfo::parse(text);
    let mut keys: Vec<&str> = Vec::new();
    for param in &info.params {
        if !keys.contains(&param.key.as_str()) {
            keys.push(&param.key);
        }
    }
    let pairs: Vec<String> = keys
        .iter()
        .filter(|key| **key != "password")
        .map(|key| {
            let values: Vec<&str> = info.values(key).collect();
            let value = if matches!(*key, "host" | "hostaddr" | "port") {
                values.join(",")
            } else {
                values.last().copied().unwrap_or_default().to_string()
            };
            format!("{key}='{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
        })
        .collect();
    (pairs.join(" "), info.values("password").last().map(str::to_string))
}

/// Splits `range` of `text` at every `separator` byte, returning the pieces' ranges.
fn split_spans(text: &str, range: Range<usize>, separator: u8) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = range.start;
    for (i, b) in text.as_bytes()[range.clone()].iter().enumerate() {
        if *b == separator {
            spans.push(start..range.start + i);
            start = range.start + i + 1;
        }
    }
    spans.push(start..range.end);
    spans.retain(|s| !s.is_empty());
    spans
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Decodes `%XX` escapes; an invalid escape stays as written.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters, for a part of a URL.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_in_every_form_and_keeps_the_rest_as_written() {
        for (text, shown) in [
            ("postgres://bob:s3cret@db.example.com:5432/sdm", "postgres://bob:***@db.example.com:5432/sdm"),
            ("postgresql://bob@localhost/sdm", "postgresql://bob@localhost/sdm"),
            ("postgres://bob:Hunter2%20Secret@h/sdm", "postgres://bob:***@h/sdm"),
            // The driver reads `rd@h/sdm?sslmode` as a key, which no libpq key is: masked too.
            ("postgres://bob:p@ss/w?rd@h/sdm?sslmode=disable", "postgres://bob:***@h/sdm?sslmode=***"),
            ("postgres://bob:pa?ss@h/sdm", "postgres://bob:***@h/sdm"),
            (
                "postgres://h/sdm?user=bob&password=s3cret&sslmode=disable",
                "postgres://h/sdm?user=bob&password=***&sslmode=disable",
            ),
            ("postgres://h/sdm?application_name=a@b", "postgres://h/sdm?application_name=a@b"),
            ("postgres://bob:a/b+c=@h/sdm", "postgres://bob:***@h/sdm"),
            ("postgres://bob@h/sdm?application_name=a@b", "postgres://bob@h/sdm?application_name=a@b"),
            ("postgres://h/sdm?sslpassword=k3y", "postgres://h/sdm?sslpassword=***"),
            ("host=db user=bob password=s3cret dbname=sdm", "host=db user=bob password=*** dbname=sdm"),
            ("host=db password = Hunter2Secret dbname=sdm", "host=db password = *** dbname=sdm"),
            ("host=db password='Hunter2 Secret' dbname=sdm", "host=db password=*** dbname=sdm"),
            ("host=db password='it\\'s' dbname=sdm", "host=db password=*** dbname=sdm"),
            ("host=db password=it\\ s dbname=sdm", "host=db password=*** dbname=sdm"),
            ("host=db password='never closed", "host=db ***"),
            ("host=db pass word=x", "host=db ***"),
            ("host=db passwd=s3cret dbname=sdm", "host=db passwd=*** dbname=sdm"),
            ("postgres://h/sdm?pasword=s3cret&sslmode=disable", "postgres://h/sdm?pasword=***&sslmode=disable"),
        ] {
            assert_eq!(redact(text), shown, "{text}");
        }
    }

    #[test]
    fn reads_values_as_the_driver_does() {
        let info = ConnInfo::parse("host = /tmp,db.example.com  port=5432,5433 password='it\\'s \\\\ x' dbname=sdm");
        assert_eq!(info.values("host").collect::<Vec<_>>(), ["/tmp,db.example.com"]);
        assert_eq!(info.values("password").collect::<Vec<_>>(), ["it's \\ x"]);
        assert_eq!(info.unread(), None);
        let info =
            ConnInfo::parse("postgres://u:p%40ss@[::1]:5433,%2Fvar%2Frun%2Fpostgresql,db:1/sdm?hostaddr=10.0.0.5");
        assert_eq!(info.values("host").collect::<Vec<_>>(), ["::1", "/var/run/postgresql", "db"]);
        assert_eq!(info.values("port").collect::<Vec<_>>(), ["5433", "1"]);
        assert_eq!(info.values("password").collect::<Vec<_>>(), ["p@ss"]);
        assert_eq!(info.values("hostaddr").collect::<Vec<_>>(), ["10.0.0.5"]);
        assert_eq!(info.values("dbname").collect::<Vec<_>>(), ["sdm"]);
        assert_eq!(ConnInfo::parse("postgres:///sdm?host=%2Ftmp").values("host").collect::<Vec<_>>(), ["/tmp"]);
    }

    #[test]
    fn secrets_cover_the_written_and_the_decoded_form() {
        assert_eq!(ConnInfo::parse("postgres://u:a%20b@h/db").secrets(), ["a%20b", "a b"]);
        assert_eq!(ConnInfo::parse("password='x y'").secrets(), ["'x y'", "x y"]);
        assert_eq!(ConnInfo::parse("host=h password='open").secrets(), ["password='open"]);
        assert_eq!(ConnInfo::parse("postgres://u:p@ss@h/db").secrets(), ["p@ss", "p"]);
    }

    #[test]
    fn gives_a_child_the_connection_without_its_password() {
        let (conninfo, password) = without_password("postgres://bob:it%27s@db1:5432,db2:5433/sdm?sslmode=disable");
        assert_eq!(conninfo, "user='bob' host='db1,db2' port='5432,5433' dbname='sdm' sslmode='disable'");
        assert_eq!(password.as_deref(), Some("it's"));
        let (conninfo, password) = without_password("host=h password='a b' dbname='x\\'y'");
        assert_eq!(conninfo, "host='h' dbname='x\\'y'");
        assert_eq!(password.as_deref(), Some("a b"));
        let config: postgres::Config = conninfo.parse().unwrap();
        assert_eq!(config.get_dbname(), Some("x'y"));
    }

    #[test]
    fn sets_a_parameter_in_either_form() {
        let url = with_param("postgres://u@h/db", "password", "a b&c");
        assert_eq!(url, "postgres://u@h/db?password=a%20b%26c");
        assert_eq!(ConnInfo::parse(&url).values("password").collect::<Vec<_>>(), ["a b&c"]);
        let pairs = with_param("host=h", "password", "it's");
        assert_eq!(pairs, "host=h password='it\\'s'");
        assert_eq!(with_param("host=h dbname = 'a  b' user=u", "dbname", "x"), "host=h dbname = x user=u");
        let config: postgres::Config = pairs.parse().unwrap();
        assert_eq!(config.get_password(), Some("it's".as_bytes()));
    }
}
