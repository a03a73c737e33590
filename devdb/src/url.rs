//! Connection strings: which database one names, the same server's other databases, socket URLs.

use std::path::Path;

/// Returns the database named in a URL or key=value connection string (Postgres defaults it to
/// the user's name when none is given).
pub fn database_of(url: &str) -> Option<String> {
    let config: postgres::Config = url.parse().ok()?;
    config.get_dbname().map(str::to_string).or_else(|| config.get_user().map(str::to_string))
}

/// Returns `url` pointing at database `db` instead (URL or key=value form).
pub fn with_database(url: &str, db: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let query = tail.find('?').map(|i| &tail[i..]).unwrap_or("");
        return format!("{}{}/{}{}", &url[..scheme_end + 3], authority, db, query);
    }
    migrator::conninfo::with_param(url, "dbname", db)
}

/// Where a connection string connects first, and as whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// A host name, an IP address, or a Unix socket folder.
    pub host: String,
    /// The port (for a socket, the number in its file name).
    pub port: u16,
    /// The user name (the driver's default, `postgres`, when none is given).
    pub user: String,
}

/// Returns the first host, port and user of `url`, for tests that write connection strings of
/// their own to the same server.
pub fn endpoint(url: &str) -> Option<Endpoint> {
    let config: postgres::Config = url.parse().ok()?;
    let host = match (config.get_hostaddrs().first(), config.get_hosts().first()?) {
        (Some(addr), _) => addr.to_string(),
        (None, postgres::config::Host::Tcp(name)) => name.clone(),
        (None, postgres::config::Host::Unix(path)) => path.display().to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres").to_string();
    Some(Endpoint { host, port, user })
}

/// Returns the URL of database `db` as user `postgres` over the Unix socket in `socket_dir`.
pub fn socket_url(socket_dir: &Path, db: &str) -> String {
    format!("postgresql://postgres@{}/{}", migrator::conninfo::encode(&socket_dir.to_string_lossy()), db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_database_in_every_url_form() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/sdm?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(with_database("host=h dbname=sdm user=u", "x"), "host=h dbname=x user=u");
        assert_eq!(
            with_database("host=h password='a  b' user=u", "x"),
            "host=h password='a  b' user=u dbname=x",
            "quoted values keep their spaces"
        );
        assert_eq!(database_of("postgres://u@h/sdm").as_deref(), Some("sdm"));
        assert_eq!(database_of("host=h user=bob").as_deref(), Some("bob"));
    }

    #[test]
    fn finds_the_first_host_port_and_user() {
        let expected = |host: &str, port, user: &str| Some(Endpoint { host: host.into(), port, user: user.into() });
        assert_eq!(endpoint("postgresql://ann@%2Ftmp%2Fs:5433/sdm"), expected("/tmp/s", 5433, "ann"));
        assert_eq!(
            endpoint("host=db,other hostaddr=10.1.2.3,10.1.2.4 dbname=x"),
            expected("10.1.2.3", 5432, "postgres")
        );
    }

    #[test]
    fn socket_urls_are_percent_encoded() {
        assert_eq!(socket_url(Path::new("/tmp/a b"), "sdm"), "postgresql://postgres@%2Ftmp%2Fa%20b/sdm");
    }
}
