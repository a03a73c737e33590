//! What a run did, in the words every command that migrates prints: the squashes followed, each
//! migration applied, and one summary line (applied N, followed squash K, nothing to do).

use super::runner::MigrationRun;

impl MigrationRun {
    /// Returns the lines that say what the run did to `database` (a name, or a redacted URL):
    /// each squash followed, each migration applied with its time, then [`MigrationRun::summary`].
    pub fn describe(&self, database: &str) -> Vec<String> {
        let mut lines: Vec<String> = self.adopted.iter().map(|a| a.describe()).collect();
        lines.extend(self.followed.iter().flat_map(|f| f.describe()));
        lines.extend(self.applied.iter().map(|m| format!("Applied V{}__{} ({:.1} ms)", m.version, m.name, m.millis)));
        lines.push(self.summary(database));
        lines
    }

    /// Returns one line: `<database>: applied 2 migration(s)`, `<database>: followed squash 1,
    /// applied 0 migration(s)`, or `<database>: nothing to do, every migration is applied`.
    pub fn summary(&self, database: &str) -> String {
        let followed: Vec<String> = self.followed.iter().map(|f| f.squash.to_string()).collect();
        match (followed.is_empty(), self.applied.len()) {
            (true, n) if self.adopted.is_some() => {
                let adopted = self.adopted.as_ref().map_or(0, |a| a.migrations);
                format!("{database}: adopted {adopted} migration(s), applied {n} migration(s)")
            }
            (true, 0) => format!("{database}: nothing to do, every migration is applied"),
            (true, n) => format!("{database}: applied {n} migration(s)"),
            (false, n) => format!("{database}: followed squash {}, applied {n} migration(s)", followed.join(" and ")),
        }
    }

    /// Whether the run changed the database.
    pub fn changed_anything(&self) -> bool {
        !self.followed.is_empty() || !self.applied.is_empty() || self.adopted.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::AppliedMigration;
    use super::*;

    #[test]
    fn the_summary_says_applied_followed_or_nothing() {
        let none = MigrationRun::default();
        assert_eq!(none.describe("sdm"), ["sdm: nothing to do, every migration is applied"]);
        assert!(!none.changed_anything());
        let two = MigrationRun {
            applied: vec![
                AppliedMigration { version: 3, name: "a".into(), millis: 1.5 },
                AppliedMigration { version: 4, name: "b".into(), millis: 2.0 },
            ],
            ..MigrationRun::default()
        };
        assert_eq!(
            two.describe("sdm"),
            ["Applied V3__a (1.5 ms)", "Applied V4__b (2.0 ms)", "sdm: applied 2 migration(s)"]
        );
        assert!(two.changed_anything());
    }
}
