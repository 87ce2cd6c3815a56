//! Recognises time literals frozen into a definition at creation
//! (`'now'::timestamp`, `'today'::date` in a view, a default or a check are
//! folded into the current time when the statement runs) and masks them, so
//! that re-creating the object an hour later is not a difference.
//!
//! Only literals dated within a day of the run are masked: a hard-coded
//! `'2020-01-01'` is the user's and still compares.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MASK: &str = "'<time of the run>'";
const DAY: u64 = 24 * 60 * 60;

/// `text` with every quoted literal that starts with a date between the day
/// before `started` and the day after now replaced by a fixed mask.
pub(crate) fn mask(text: &str, started: SystemTime) -> String {
    let earliest = civil_date(
        started
            .checked_sub(Duration::from_secs(DAY))
            .unwrap_or(started),
    );
    let latest = civil_date(SystemTime::now() + Duration::from_secs(DAY));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('\'') {
        out.push_str(&rest[..start]);
        let literal_end = rest[start + 1..].find('\'').map(|end| start + end + 2);
        let Some(end) = literal_end else {
            rest = &rest[start..];
            break;
        };
        let literal = &rest[start..end];
        let frozen =
            leading_date(&literal[1..]).is_some_and(|date| earliest <= date && date <= latest);
        out.push_str(if frozen { MASK } else { literal });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `(year, month, day)` when `text` starts with `YYYY-MM-DD`.
fn leading_date(text: &str) -> Option<(u32, u32, u32)> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    Some((digits(0..4)?, digits(5..7)?, digits(8..10)?))
}

/// The UTC calendar date of `time` (days-from-civil inverse, proleptic Gregorian).
fn civil_date(time: SystemTime) -> (u32, u32, u32) {
    let days = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / DAY) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_civil_date_of_known_instants() {
        assert_eq!(civil_date(UNIX_EPOCH), (1970, 1, 1));
        let leap_day = UNIX_EPOCH + Duration::from_secs(11_016 * DAY);
        assert_eq!(civil_date(leap_day), (2000, 2, 29));
    }

    #[test]
    fn only_literals_dated_around_the_run_are_masked() {
        let (y, m, d) = civil_date(SystemTime::now());
        let today = format!("'{y:04}-{m:02}-{d:02} 10:11:12.5+00'::timestamp with time zone");
        let text = format!("WHERE at > {today} AND since > '2020-01-01'::date AND name = 'x'");
        assert_eq!(
            mask(&text, SystemTime::now()),
            "WHERE at > '<time of the run>'::timestamp with time zone AND since > '2020-01-01'::date AND name = 'x'"
        );
    }

    #[test]
    fn an_unclosed_quote_is_kept() {
        assert_eq!(mask("a 'b", SystemTime::now()), "a 'b");
    }
}
