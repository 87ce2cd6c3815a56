//! `new`: renders a template into `{YYYYMMDD}_{HHMM}_{rev}_{slug}.{ext}` with
//! the current head as its parent.

use std::collections::HashSet;
use std::hash::BuildHasher as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use dbmigrate_core::backend::Layout;
use dbmigrate_core::BackendKind;

use crate::config::Project;

/// The built-in templates, overridable by the project's `templates` folder.
/// The built-in templates, by the name a backend's descriptor gives.
const TEMPLATES: [(&str, &str); 3] = [
    ("migration.sql", include_str!("../templates/migration.sql")),
    (
        "migration.cypher",
        include_str!("../templates/migration.cypher"),
    ),
    (
        "migration.weaviate.json",
        include_str!("../templates/migration.weaviate.json"),
    ),
];

/// Everything `new` needs, resolved from the arguments and the project.
#[derive(Debug, Clone)]
pub struct NewPlan {
    /// The `Message:` header.
    pub message: String,
    /// The backend, which picks the template and the extension.
    pub backend: BackendKind,
    /// The parent revision id, `None` for the root.
    pub revises: Option<String>,
    /// Current UTC time.
    pub now: UtcTime,
}

/// A UTC wall-clock time, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// Year, month (1–12), day (1–31).
    pub date: (i64, u32, u32),
    /// Hour, minute, second.
    pub time: (u32, u32, u32),
}

impl UtcTime {
    /// The current time.
    pub fn now() -> UtcTime {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UtcTime::from_unix(seconds as i64)
    }

    /// The civil date and time of a Unix timestamp (Howard Hinnant's algorithm).
    pub fn from_unix(seconds: i64) -> UtcTime {
        let days = seconds.div_euclid(86_400);
        let in_day = seconds.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        UtcTime {
            date: (year, month, day),
            time: (in_day / 3600, in_day / 60 % 60, in_day % 60),
        }
    }

    /// `20241201_1200`, the start of a file name.
    pub fn file_stamp(&self) -> String {
        let ((y, mo, d), (h, mi, _)) = (self.date, self.time);
        format!("{y:04}{mo:02}{d:02}_{h:02}{mi:02}")
    }

    /// `2024-12-01 12:00:00Z`, the `Created:` header.
    pub fn created(&self) -> String {
        let ((y, mo, d), (h, mi, s)) = (self.date, self.time);
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
    }
}

/// The slug of a message: lowercase `[a-z0-9_]`, at most 60 characters.
pub fn slug(message: &str) -> String {
    let mut slug = String::new();
    for c in message.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
    }
    slug.truncate(60);
    let slug = slug.trim_end_matches('_');
    if slug.is_empty() {
        "migration".to_string()
    } else {
        slug.to_string()
    }
}

/// A random 6-hex-digit rev not in `taken` and above `floor`, the highest rev
/// already used in the same minute's stamp: files made within one minute
/// then list (by name) in the order they were made, as the timeline does.
/// When nothing is left above the floor, any unused rev.
pub fn random_rev(taken: &HashSet<String>, floor: Option<u32>) -> String {
    const REVS: u64 = 0x100_0000;
    let low = match floor {
        Some(floor) if u64::from(floor) + 1 < REVS => u64::from(floor) + 1,
        _ => 0,
    };
    let state = std::collections::hash_map::RandomState::new();
    (0u32..)
        .map(|attempt| {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let hash = state.hash_one((nanos, std::process::id(), attempt));
            format!("{:06x}", low + hash % (REVS - low))
        })
        .find(|rev| !taken.contains(rev))
        .expect("an unused rev")
}

/// The highest rev among `revision_ids` (`YYYYMMDD_HHMM_rev`) stamped `stamp`.
pub fn same_minute_floor<'a>(
    stamp: &str,
    revision_ids: impl IntoIterator<Item = &'a str>,
) -> Option<u32> {
    revision_ids
        .into_iter()
        .filter_map(|id| id.strip_prefix(stamp)?.strip_prefix('_'))
        .filter_map(|rev| u32::from_str_radix(rev, 16).ok())
        .max()
}

/// The template text for a backend: the project's override or the built-in one.
pub fn template(project: &Project, backend: BackendKind) -> anyhow::Result<String> {
    let name = backend.descriptor().template;
    if let Some(path) = project
        .templates_dir
        .as_ref()
        .map(|dir| dir.join(name))
        .filter(|path| path.is_file())
    {
        return std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read template", path.display()));
    }
    TEMPLATES
        .iter()
        .find(|(built_in, _)| *built_in == name)
        .map(|(_, text)| text.to_string())
        .with_context(|| format!("no built-in template `{name}` for {backend}"))
}

/// Fills `{message}`, `{revises}` and `{created}`; in JSON templates the
/// message is escaped as JSON string content.
pub fn render(template: &str, plan: &NewPlan) -> String {
    let one_line = plan
        .message
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let message = if plan.backend.descriptor().layout == Layout::Json {
        let quoted = serde_json::to_string(&one_line).expect("a string serializes");
        quoted[1..quoted.len() - 1].to_string()
    } else {
        one_line
    };
    template
        .replace("{message}", &message)
        .replace("{revises}", plan.revises.as_deref().unwrap_or("base"))
        .replace("{created}", &plan.now.created())
}

/// Writes the new migration into the project's folder and returns its path.
pub fn write(
    project: &Project,
    plan: &NewPlan,
    taken_revs: &HashSet<String>,
    floor: Option<u32>,
) -> anyhow::Result<PathBuf> {
    let text = render(&template(project, plan.backend)?, plan);
    let file_name = format!(
        "{}_{}_{}.{}",
        plan.now.file_stamp(),
        random_rev(taken_revs, floor),
        slug(&plan.message),
        plan.backend.extension()
    );
    let dir: &Path = &project.migrations_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    let path = dir.join(file_name);
    std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time() {
        let time = UtcTime::from_unix(1_733_054_400 + 3_661);
        assert_eq!(time.file_stamp(), "20241201_1301");
        assert_eq!(time.created(), "2024-12-01 13:01:01Z");
        assert_eq!(
            UtcTime::from_unix(951_782_400).created(),
            "2000-02-29 00:00:00Z"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Add guardian consent"), "add_guardian_consent");
        assert_eq!(
            slug("  new field: add (nullable)! "),
            "new_field_add_nullable"
        );
        assert_eq!(slug("ÄÖ"), "migration");
    }

    #[test]
    fn revs_are_six_hex_digits_and_unused() {
        let rev = random_rev(&HashSet::new(), None);
        assert_eq!(rev.len(), 6);
        assert!(rev
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn a_rev_in_a_used_minute_sorts_after_that_minute_s_revs() {
        let ids = [
            "20241201_1200_fffff0",
            "20241201_1200_00aa00",
            "20241201_1159_ffffff",
        ];
        let floor = same_minute_floor("20241201_1200", ids);
        assert_eq!(floor, Some(0xff_fff0));
        for _ in 0..50 {
            let rev = random_rev(&HashSet::new(), floor);
            assert!(rev.as_str() > "fffff0", "{rev}");
        }
        assert_eq!(same_minute_floor("20241201_1201", ids), None);
        // A full minute: any unused rev, still six hex digits.
        let rev = random_rev(&HashSet::new(), Some(0xff_ffff));
        assert_eq!(rev.len(), 6);
    }

    #[test]
    fn every_backend_has_a_built_in_template() {
        for descriptor in &dbmigrate_core::backend::DESCRIPTORS {
            assert!(
                TEMPLATES
                    .iter()
                    .any(|(name, _)| *name == descriptor.template),
                "{}",
                descriptor.template
            );
        }
    }

    #[test]
    fn json_message_is_escaped() {
        let plan = NewPlan {
            message: "say \"hi\"\nnow".into(),
            backend: BackendKind::Weaviate,
            revises: None,
            now: UtcTime::from_unix(0),
        };
        let text = render(TEMPLATES[2].1, &plan);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["message"], "say \"hi\" now");
        assert_eq!(value["revises"], "base");
    }
}
