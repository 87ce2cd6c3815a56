//! `RUST_LOG` output on stderr: colour only on a terminal (and never with
//! `NO_COLOR`), and every field redacted by structure, because drivers log
//! what they were given (sqlx: `ignoring unrecognized connect parameter
//! key=sslpassword value=…`).

use std::fmt::{self, Write as _};

use dbmigrate_core::backend::{is_secret_key, redact_urls_in};
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;

/// Installs the `RUST_LOG` subscriber (once; later calls do nothing).
/// Without `RUST_LOG`, `verbose` (`-v` count) logs the library and the CLI
/// at info, debug or trace.
pub fn init(verbose: u8) {
    let filter = match (std::env::var_os("RUST_LOG"), verbose) {
        (None, 1) => "dbmigrate_core=info,cargo_dbmigrate=info".into(),
        (None, 2) => "dbmigrate_core=debug,cargo_dbmigrate=debug".into(),
        (None, 3..) => "dbmigrate_core=trace,cargo_dbmigrate=trace".into(),
        _ => tracing_subscriber::EnvFilter::from_default_env(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(crate::color::stderr_allows_color())
        .fmt_fields(RedactingFields)
        .try_init();
}

/// Formats an event's or span's fields as `message name=value …` with
/// secret-named fields (and a `value` whose `key` is secret-named) hidden
/// and URL-like words redacted.
struct RedactingFields;

impl<'writer> FormatFields<'writer> for RedactingFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut collected = Collected::default();
        fields.record(&mut collected);
        let line = redact_fields(&collected.0);
        writer.write_str(&line)
    }
}

#[derive(Default)]
struct Collected(Vec<(&'static str, String)>);

impl Visit for Collected {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }
}

/// The fields as one line, secrets hidden.
fn redact_fields(fields: &[(&str, String)]) -> String {
    let mut line = String::new();
    let mut previous_key_is_secret = false;
    for (name, value) in fields {
        let hidden =
            (*name != "key" && is_secret_key(name)) || (*name == "value" && previous_key_is_secret);
        previous_key_is_secret = *name == "key" && is_secret_key(value);
        let value = if hidden {
            "***".to_string()
        } else {
            redact_urls_in(value)
        };
        if !line.is_empty() {
            line.push(' ');
        }
        if *name == "message" {
            line.push_str(&value);
        } else {
            let _ = write!(line, "{name}={value}");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_and_urls_are_hidden() {
        let fields = [
            (
                "message",
                "ignoring unrecognized connect parameter".to_string(),
            ),
            ("key", "sslpassword".to_string()),
            ("value", "p#w".to_string()),
            ("password", "a".to_string()),
            ("url", "postgres://u:a@h/d".to_string()),
            ("user", "postgres".to_string()),
        ];
        assert_eq!(
            redact_fields(&fields),
            "ignoring unrecognized connect parameter key=sslpassword value=*** password=*** url=postgres://u:***@h/d user=postgres"
        );
    }
}
