//! Connection service files, as libpq reads them: `service=name` (else `PGSERVICE`) takes the
//! parameters of section `[name]` of `PGSERVICEFILE` (else `~/.pg_service.conf`), else of
//! `PGSYSCONFDIR/pg_service.conf`; what the connection string itself sets wins.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::ConnInfo;

/// A connection string ready for the driver, which reads neither `service` nor `passfile`.
#[derive(Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The connection string the driver parses: the original when it names no service and no
    /// password file, else key=value pairs with the service's parameters merged in.
    pub conninfo: String,
    /// The password file the string (or its service) names.
    pub passfile: Option<PathBuf>,
}

/// Resolves `text`'s service and password file; `env` reads the environment. An error names the
/// service and the file (and line), never a value from it.
pub fn resolve(text: &str, env: impl Fn(&str) -> Option<OsString>) -> Result<Resolved, String> {
    let info = ConnInfo::parse(text);
    let service = match info.values("service").last() {
        Some(name) => Some(name.to_string()),
        None => env("PGSERVICE").and_then(|s| s.into_string().ok()).filter(|s| !s.is_empty()),
    };
    let from_service = match &service {
        Some(name) => find(name, &env)?,
        None => Vec::new(),
    };
    let given = |key: &str| info.values(key).next().is_some();
    if service.is_none() && !given("passfile") {
        return Ok(Resolved { conninfo: text.to_string(), passfile: None });
    }
    let (pairs, password) = super::without_password(text);
    let mut conninfo: Vec<String> = ConnInfo::parse(&pairs)
        .params()
        .iter()
        .filter(|p| p.key != "service" && p.key != "passfile")
        .map(|p| format!("{}={}", p.key, quote(&p.value)))
        .collect();
    for (key, value) in &from_service {
        if !given(key) && key != "passfile" {
            conninfo.push(format!("{key}={}", quote(value)));
        }
    }
    if let Some(password) = password {
        conninfo.push(format!("password={}", quote(&password)));
    }
    let service_passfile = from_service.iter().rev().find(|(k, _)| k == "passfile").map(|(_, v)| v.clone());
    let passfile = info.values("passfile").last().map(str::to_string).or(service_passfile).map(PathBuf::from);
    Ok(Resolved { conninfo: conninfo.join(" "), passfile })
}

fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Returns the parameters of service `name`, from the first file that defines it.
fn find(name: &str, env: &impl Fn(&str) -> Option<OsString>) -> Result<Vec<(String, String)>, String> {
    let user_file = env("PGSERVICEFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".pg_service.conf")));
    let system_file = env("PGSYSCONFDIR").map(|dir| Path::new(&dir).join("pg_service.conf"));
    let mut searched = Vec::new();
    for file in [user_file, system_file].into_iter().flatten() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            searched.push(format!("{} (not readable)", file.display()));
            continue;
        };
        if let Some(params) = section(&text, name, &file)? {
            return Ok(params);
        }
        searched.push(file.display().to_string());
    }
    Err(format!(
        "definition of service \"{name}\" not found (searched: {}; PGSERVICEFILE names a service file, PGSYSCONFDIR \
         the folder of a pg_service.conf)",
        if searched.is_empty() {
            "no service file: neither PGSERVICEFILE nor HOME is set".to_string()
        } else {
            searched.join(", ")
        }
    ))
}

/// Reads section `[name]` of a service file, if it has one: `key=value` lines, `#` comments.
fn section(text: &str, name: &str, file: &Path) -> Result<Option<Vec<(String, String)>>, String> {
    let mut params = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(group) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if params.is_some() {
                break;
            }
            if group == name {
                params = Some(Vec::new());
            }
            continue;
        }
        let Some(params) = params.as_mut() else { continue };
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("syntax error in service file \"{}\", line {}: no `=`", file.display(), number + 1));
        };
        let key = key.trim();
        if key == "service" {
            return Err(format!(
                "nested service specifications not supported in service file \"{}\", line {}",
                file.display(),
                number + 1
            ));
        }
        params.push((key.to_string(), value.trim().to_string()));
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: Vec<(&'static str, PathBuf)>) -> impl Fn(&str) -> Option<OsString> {
        move |key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone().into_os_string())
    }

    #[test]
    fn takes_the_services_keys_under_the_connection_strings_own() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let file = dir.join("services.conf");
        std::fs::write(
            &file,
            "# comment\n[other]\nhost=elsewhere\n\n[app]\nhost = db.internal\nport=5433\ndbname=app\n\
             password=Serv1ceSecret\npassfile=/tmp/pf\n",
        )
        .unwrap();
        let env = env_of(vec![("PGSERVICEFILE", file.clone())]);
        let resolved = resolve("service=app dbname=mine", &env).unwrap();
        assert_eq!(resolved.conninfo, "dbname='mine' host='db.internal' port='5433' password='Serv1ceSecret'");
        assert_eq!(resolved.passfile, Some(PathBuf::from("/tmp/pf")));
        // A URL's own password wins over the service's; PGSERVICE names the service.
        let env = env_of(vec![("PGSERVICEFILE", file.clone()), ("PGSERVICE", "app".into())]);
        let resolved = resolve("postgres://me:own@/", &env).unwrap();
        assert!(resolved.conninfo.contains("password='own'") && !resolved.conninfo.contains("Serv1ce"), "{resolved:?}");
        assert!(resolved.conninfo.contains("host='db.internal'") && resolved.conninfo.contains("user='me'"));
        // No service, no password file: the string is left as it is.
        let plain = resolve("postgres://me@h/db", env_of(vec![])).unwrap();
        assert_eq!(plain, Resolved { conninfo: "postgres://me@h/db".into(), passfile: None });
        // The system folder's file is read when the user's file lacks the service.
        std::fs::write(dir.join("pg_service.conf"), "[sys]\nhost=system\n").unwrap();
        let env = env_of(vec![("PGSERVICEFILE", file.clone()), ("PGSYSCONFDIR", dir.clone())]);
        assert_eq!(resolve("service=sys", &env).unwrap().conninfo, "host='system'");
    }

    #[test]
    fn a_missing_service_or_a_bad_line_is_named_without_its_values() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let file = dir.join("services.conf");
        std::fs::write(&file, "[app]\nhost=h\npassword Serv1ceSecret\n").unwrap();
        let env = env_of(vec![("PGSERVICEFILE", file.clone())]);
        let missing = resolve("service=nope", &env).unwrap_err();
        assert_eq!(
            missing,
            format!(
                "definition of service \"nope\" not found (searched: {}; PGSERVICEFILE names a service file, \
                 PGSYSCONFDIR the folder of a pg_service.conf)",
                file.display()
            )
        );
        let bad = resolve("service=app", &env).unwrap_err();
        assert_eq!(bad, format!("syntax error in service file \"{}\", line 3: no `=`", file.display()));
        assert!(!bad.contains("Serv1ce"));
    }
}
