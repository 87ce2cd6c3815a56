//! Migration file names: `{YYYYMMDD}_{HHMM}_{rev}_{slug}.{ext}`, and the
//! revision ids they define.

use crate::error::ParseErrorKind;
use crate::migration::BackendKind;

/// The parts of a valid migration file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileName {
    /// `20241201_1200_abc123`.
    pub revision_id: String,
    /// `abc123`.
    pub rev: String,
    /// `add_guardian_consent`.
    pub slug: String,
    /// From the extension.
    pub backend: BackendKind,
}

/// The last path component of `path` (either separator).
pub(crate) fn file_name_of(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Splits and validates a migration file name.
pub(crate) fn parse_file_name(file_name: &str) -> Result<FileName, ParseErrorKind> {
    let Some(backend) = BackendKind::from_file_name(file_name) else {
        return Err(ParseErrorKind::UnknownExtension {
            extension: extension_of(file_name),
        });
    };
    let stem = &file_name[..file_name.len() - backend.extension().len() - 1];
    let (revision_id, rev, slug) =
        split_stem(stem).map_err(|reason| ParseErrorKind::BadFileName { reason })?;
    Ok(FileName {
        revision_id: revision_id.to_string(),
        rev: rev.to_string(),
        slug: slug.to_string(),
        backend,
    })
}

/// The extension shown in messages: everything after the first dot (empty when none).
fn extension_of(file_name: &str) -> String {
    file_name
        .split_once('.')
        .map(|(_, extension)| extension.to_string())
        .unwrap_or_default()
}

/// Splits `20241201_1200_abc123_add_x` into revision id, rev and slug.
fn split_stem(stem: &str) -> Result<(&str, &str, &str), String> {
    let mut parts = stem.splitn(4, '_');
    let date = parts.next().unwrap_or_default();
    let time = parts.next().unwrap_or_default();
    let rev = parts.next().unwrap_or_default();
    let slug = parts.next().unwrap_or_default();
    check_date(date)?;
    check_time(time)?;
    check_rev(rev)?;
    check_slug(slug)?;
    let revision_id = &stem[..date.len() + time.len() + rev.len() + 2];
    Ok((revision_id, rev, slug))
}

/// `Ok(())` when `text` is a revision id `{YYYYMMDD}_{HHMM}_{rev}`; otherwise why not.
pub(crate) fn check_revision_id(text: &str) -> Result<(), String> {
    let mut parts = text.splitn(3, '_');
    let date = parts.next().unwrap_or_default();
    let time = parts.next().unwrap_or_default();
    let rev = parts.next().unwrap_or_default();
    check_date(date)?;
    check_time(time)?;
    if let Some((short, _slug)) = rev.split_once('_') {
        if check_rev(short).is_ok() {
            return Err(format!(
                "write the revision id `{date}_{time}_{short}` without the slug"
            ));
        }
    }
    check_rev(rev)
}

/// True when `file_name` starts like a migration (`YYYYMMDD_HHMM_`), whatever its extension.
pub(crate) fn looks_like_migration(file_name: &str) -> bool {
    let bytes = file_name.as_bytes();
    bytes.len() > 14
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'_'
        && bytes[9..13].iter().all(u8::is_ascii_digit)
        && bytes[13] == b'_'
}

fn all_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn check_date(date: &str) -> Result<(), String> {
    if !all_digits(date, 8) {
        return Err(format!(
            "`{date}` is not a date: start with `YYYYMMDD_HHMM_`"
        ));
    }
    let year: u32 = date[..4].parse().unwrap_or(0);
    let month: u32 = date[4..6].parse().unwrap_or(0);
    let day: u32 = date[6..].parse().unwrap_or(0);
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    if year == 0 || day == 0 || day > days {
        return Err(format!("`{date}` is not a real date (YYYYMMDD)"));
    }
    Ok(())
}

fn check_time(time: &str) -> Result<(), String> {
    if !all_digits(time, 4) {
        return Err(format!(
            "`{time}` is not a time: the date is followed by `_HHMM_`"
        ));
    }
    let hours: u32 = time[..2].parse().unwrap_or(99);
    let minutes: u32 = time[2..].parse().unwrap_or(99);
    if hours > 23 || minutes > 59 {
        return Err(format!("`{time}` is not a real time (HHMM)"));
    }
    Ok(())
}

fn check_rev(rev: &str) -> Result<(), String> {
    let hex = rev
        .bytes()
        .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    if rev.is_empty() || !hex || !(6..=12).contains(&rev.len()) {
        return Err(format!("rev `{rev}` must be 6 to 12 lowercase hex digits"));
    }
    Ok(())
}

fn check_slug(slug: &str) -> Result<(), String> {
    if slug.is_empty() {
        return Err("missing slug after the rev (`_add_guardian_consent`)".into());
    }
    if !slug
        .bytes()
        .all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'_'))
    {
        return Err(format!(
            "slug `{slug}` may only hold lowercase letters, digits and `_`"
        ));
    }
    Ok(())
}
