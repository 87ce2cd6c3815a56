//! Database URLs in messages: the password never shows.

/// `scheme://user:***@host/…` for a URL with a password; other text unchanged.
pub fn redact_url(url: &str) -> String {
    match userinfo_span(url) {
        Some((start, end)) => {
            let userinfo = &url[start..end];
            match userinfo.find(':') {
                Some(colon) => {
                    format!("{}{}:***{}", &url[..start], &userinfo[..colon], &url[end..])
                }
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// The password of a URL, if it has one (percent-decoded too, both forms are
/// worth scrubbing from a message; the raw form is returned).
pub fn url_password(url: &str) -> Option<String> {
    let (start, end) = userinfo_span(url)?;
    let userinfo = &url[start..end];
    userinfo
        .find(':')
        .map(|colon| userinfo[colon + 1..].to_string())
}

/// Byte span of `user:password` between `://` and the last `@` of the authority.
fn userinfo_span(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    Some((start, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cr%40t@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(
            redact_url("postgres://a:b@c@host/x?p=1"),
            "postgres://a:***@host/x?p=1"
        );
        assert_eq!(redact_url("bolt://localhost:7687"), "bolt://localhost:7687");
        assert_eq!(url_password("postgres://a:pw@h/d").as_deref(), Some("pw"));
        assert_eq!(url_password("http://h:8080"), None);
    }
}
