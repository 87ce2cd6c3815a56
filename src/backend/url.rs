//! Connection strings in messages: the one place that decides what of a
//! URL may be shown. Redaction works on the URL's structure (parsed by the
//! `url` crate), never on the password's text: a password such as `a` or
//! `postgres` must not turn unrelated words into `***` and so reveal itself.

use url::Url;

/// What replaces a secret.
const HIDDEN: &str = "***";

/// What is shown instead of a string that does not parse as a URL with a
/// host: a mistyped URL (`postgres//u:pw@h`, `bolt:/u:pw@h`, `u:pw@h/db`)
/// may hold a password anywhere, so none of its text is echoed.
pub const NOT_A_URL: &str = "<not a URL: expected a scheme, `://` and a host>";

/// `url` as it may be shown: the password of its user info, the values of
/// credential-like query keys (`password`, `sslpassword`, `apikey`, `token`,
/// …) and any fragment replaced by `***`; the user, host, port and path
/// kept. A string that does not parse as `scheme://host…` is described by
/// [`NOT_A_URL`] and never echoed.
pub fn redact_url(url: &str) -> String {
    let Some(mut parsed) = Url::parse(url.trim()).ok().filter(Url::has_host) else {
        return NOT_A_URL.to_string();
    };
    if parsed.password().is_some() {
        // Cannot fail: the URL has a host.
        let _ = parsed.set_password(Some(HIDDEN));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_secret_key(&key) {
                    HIDDEN.to_string()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if parsed.fragment().is_some() {
        parsed.set_fragment(Some(HIDDEN));
    }
    let shown = parsed.to_string();
    // `http://h:8080` stays as written, without the `/` the parser adds.
    match shown.strip_suffix('/') {
        Some(bare) if !url.trim().ends_with('/') && parsed.path() == "/" => bare.to_string(),
        _ => shown,
    }
}

/// The password of a URL's user info, percent-decoded, if it has one.
pub fn url_password(url: &str) -> Option<String> {
    let parsed = Url::parse(url.trim()).ok()?;
    let password = parsed.password()?;
    Some(
        percent_encoding::percent_decode_str(password)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// Every URL-like word of a message (a driver's error may quote the URL it
/// was given) replaced by its [`redact_url`] form; other words unchanged.
/// A word is URL-like when it holds `://`, or a scheme-like prefix and an `@`.
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '(' | ')' | '<' | '>' | ',') {
            out.push_str(&redact_word(&word));
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.push_str(&redact_word(&word));
    out
}

fn redact_word(word: &str) -> String {
    let trimmed = word.trim_end_matches(['.', ';', ':']);
    let Some((scheme, rest)) = trimmed.split_once(':') else {
        return word.to_string();
    };
    if is_scheme(scheme) && (rest.starts_with("//") || rest.contains('@')) {
        format!("{}{}", redact_url(trimmed), &word[trimmed.len()..])
    } else {
        word.to_string()
    }
}

fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// True for a name whose value is a credential (a URL query key, a log
/// field, a setting): `password`, `sslpassword`, `apikey`, `api_key`,
/// `api-key`, `token`, `secret`, `auth…`, `…key`.
pub fn is_secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    ["pass", "pwd", "secret", "token", "auth", "credential"]
        .iter()
        .any(|word| key.contains(word))
        || key.ends_with("key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(redact_url(input), expected, "{input}");
    }

    #[test]
    fn well_formed_urls_keep_everything_but_credentials() {
        check(
            "postgres://app:s3cr%40t@db:5432/x",
            "postgres://app:***@db:5432/x",
        );
        check("postgres://app@db/x", "postgres://app@db/x");
        check("bolt://localhost:7687", "bolt://localhost:7687");
        check(
            "postgres://u@h/d?sslmode=require&password=a&sslpassword=postgres",
            "postgres://u@h/d?sslmode=require&password=***&sslpassword=***",
        );
        check(
            "http://h:8080/?apikey=k&api-key=k&X-Api-Key=k&access_token=t",
            "http://h:8080/?apikey=***&api-key=***&X-Api-Key=***&access_token=***",
        );
        check("http://admin:a@h:8080#x", "http://admin:***@h:8080/#***");
        check("postgres://u:p%23w%2Fx%3Fy%40z@h/d", "postgres://u:***@h/d");
    }

    #[test]
    fn malformed_urls_are_described_never_echoed() {
        for input in [
            "postgresql:/u:postgres@127.0.0.1/db",
            "postgres//u:postgres@127.0.0.1/db",
            "u:postgres@127.0.0.1/db",
            "bolt:/neo4j:postgres@127.0.0.1:7687",
            "postgres://u:p#w/x?y@z@127.0.0.1/db",
            "not a url at all",
            "",
        ] {
            check(input, NOT_A_URL);
        }
        // Special schemes tolerate one slash: the structure is still clear.
        check(
            "http:/admin:a@127.0.0.1:8080",
            "http://admin:***@127.0.0.1:8080",
        );
    }

    #[test]
    fn short_or_common_passwords_touch_nothing_else() {
        let text = "postgres (postgres://postgres:postgres@h/a): password authentication failed for user a";
        assert_eq!(
            redact_urls_in(text),
            "postgres (postgres://postgres:***@h/a): password authentication failed for user a"
        );
        assert_eq!(
            redact_urls_in("cannot connect to `bolt:/neo4j:a@h`."),
            format!("cannot connect to `{NOT_A_URL}`.")
        );
        assert_eq!(redact_urls_in("at 10:30 user@host"), "at 10:30 user@host");
        assert_eq!(redact_urls_in(NOT_A_URL), NOT_A_URL);
    }

    #[test]
    fn the_password_is_found_decoded() {
        assert_eq!(
            url_password("postgres://a:p%40w@h/d").as_deref(),
            Some("p@w")
        );
        assert_eq!(url_password("http://h:8080"), None);
    }
}
