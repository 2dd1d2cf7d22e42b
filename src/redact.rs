//! Messages people read name files, never the server's paths: `user_message` replaces known paths
//! and anything else that looks like an absolute path by its file name. The full text goes to the
//! log; the redacted one to API bodies and stored error fields.

use std::path::Path;

/// `text` with each of `known` and every other absolute path (`/a/b/c.tif`) cut to its file name.
///
/// ```
/// use std::path::Path;
/// let m = vigil::redact::user_message(
///     "/srv/vigil/uploads/ab/up1.bin: not a TIFF; see /var/lib/x/tiles/sv1.part/22/1.png",
///     &[Path::new("/srv/vigil/uploads/ab/up1.bin")],
/// );
/// assert_eq!(m, "up1.bin: not a TIFF; see 1.png");
/// ```
pub fn user_message(text: &str, known: &[&Path]) -> String {
    let mut s = text.to_string();
    for p in known {
        let full = p.display().to_string();
        if full.len() > 1 {
            let name = p.file_name().map_or_else(
                || "the file".to_string(),
                |n| n.to_string_lossy().to_string(),
            );
            s = s.replace(&full, &name);
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find('/') {
        let before = &rest[..i];
        let starts_token = before
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "\"'`(=[:,".contains(c));
        let token_len = rest[i..]
            .find(|c: char| c.is_whitespace() || "\"'`),;]".contains(c))
            .unwrap_or(rest.len() - i);
        let token = &rest[i..i + token_len];
        out.push_str(before);
        if starts_token && token.matches('/').count() >= 2 {
            let token = token.trim_end_matches(':');
            let name = token.rsplit('/').find(|seg| !seg.is_empty()).unwrap_or("");
            out.push_str(name);
            // Keep a trailing colon that ended the path ("…/x.tif: bad").
            if rest[i..i + token_len].ends_with(':') {
                out.push(':');
            }
        } else {
            out.push_str(token);
        }
        rest = &rest[i + token_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_file_names_and_other_slashes_stay() {
        assert_eq!(
            user_message(
                "reading /tmp/d/tiles/sv1.part/22/3/4.png: No such file",
                &[]
            ),
            "reading 4.png: No such file"
        );
        assert_eq!(
            user_message("a 1/2 chance, and/or", &[]),
            "a 1/2 chance, and/or"
        );
        assert_eq!(
            user_message("cannot open (/a/b/c.tif)", &[]),
            "cannot open (c.tif)"
        );
    }
}
