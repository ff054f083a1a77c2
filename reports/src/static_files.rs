//! For `rafty serve`: mapping a request target to a file under the served root (refusing
//! anything that would leave it), content types, and directory listings.

use std::fmt::Write;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::escape;

/// What a request target resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A regular file under the root.
    File(PathBuf),
    /// A directory under the root with no `index.html`: serve a listing of it.
    Directory(PathBuf),
    /// A directory requested without its trailing slash: redirect to this target.
    Redirect(String),
    /// Nothing there.
    NotFound,
    /// The target would leave the root (`..`, an absolute path, a symbolic link out), or is
    /// malformed.
    Forbidden,
}

/// Resolves a request target (`/kv/20261126T070000-7/timeline.html?x#y`) under `root`.
///
/// The path is percent-decoded; `..` segments, backslashes, NUL bytes and symbolic links that
/// lead outside `root` are refused. A directory is served by its `index.html` when it has one.
pub fn resolve(root: &Path, target: &str) -> Resolved {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return Resolved::Forbidden;
    }
    let Some(decoded) = percent_decode(path) else {
        return Resolved::Forbidden;
    };
    let mut relative = PathBuf::new();
    for segment in decoded.split('/') {
        if segment.is_empty() || segment == "." {
            continue;
        }
        if segment == ".." || segment.contains(['\\', '\0']) {
            return Resolved::Forbidden;
        }
        let piece = Path::new(segment);
        if piece
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Resolved::Forbidden;
        }
        relative.push(piece);
    }
    let Ok(root) = root.canonicalize() else {
        return Resolved::NotFound;
    };
    let Ok(full) = root.join(&relative).canonicalize() else {
        return Resolved::NotFound;
    };
    if !full.starts_with(&root) {
        return Resolved::Forbidden;
    }
    if full.is_file() {
        return Resolved::File(full);
    }
    if !full.is_dir() {
        return Resolved::NotFound;
    }
    if !path.ends_with('/') {
        return Resolved::Redirect(format!("{path}/"));
    }
    let index = full.join("index.html");
    if index.is_file() {
        Resolved::File(index)
    } else {
        Resolved::Directory(full)
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            // from_str_radix alone would take a sign: `%+1` is not an escape.
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes a path segment for a URL (everything but unreserved characters escaped).
pub fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The content type of a file, by extension.
pub fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "jsonl" | "ndjson" => "application/x-ndjson",
        "xml" => "application/xml",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "png" => "image/png",
        "txt" | "log" | "edn" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// An HTML listing of `dir`, whose request target is `target` (ending in `/`).
pub fn listing(dir: &Path, target: &str) -> io::Result<String> {
    let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let is_dir = entry.file_type().ok()?.is_dir();
            Some((name, is_dir))
        })
        .collect();
    names.sort();
    let title = escape::xml(target);
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body><h1>{title}</h1><ul>\n<li><a href=\"../\">../</a></li>\n"
    );
    for (name, is_dir) in names {
        let slash = if is_dir { "/" } else { "" };
        let _ = writeln!(
            html,
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>",
            percent_encode(&name),
            escape::xml(&name)
        );
    }
    html.push_str("</ul></body></html>\n");
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("kv/run 1")).unwrap();
        std::fs::write(dir.path().join("index.html"), "index").unwrap();
        std::fs::write(dir.path().join("kv/run 1/timeline.html"), "t").unwrap();
        dir
    }

    #[test]
    fn files_resolve_under_the_root() {
        let dir = store();
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(
            resolve(dir.path(), "/kv/run%201/timeline.html?x=1"),
            Resolved::File(root.join("kv/run 1/timeline.html"))
        );
        assert_eq!(
            resolve(dir.path(), "/"),
            Resolved::File(root.join("index.html"))
        );
        assert_eq!(
            resolve(dir.path(), "/kv"),
            Resolved::Redirect("/kv/".into())
        );
        assert_eq!(
            resolve(dir.path(), "/kv/"),
            Resolved::Directory(root.join("kv"))
        );
        assert_eq!(resolve(dir.path(), "/missing.html"), Resolved::NotFound);
    }

    #[test]
    fn traversal_is_refused() {
        let dir = store();
        for target in [
            "/../etc/passwd",
            "/kv/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/kv/%2E%2E/%2E%2E/x",
            "/a\\..\\b",
            "/%00",
            "/%zz",
            "/%+1",
            "etc/passwd",
            "http://example.com/",
        ] {
            assert_eq!(resolve(dir.path(), target), Resolved::Forbidden, "{target}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_out_of_the_root_are_refused() {
        let dir = store();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        assert_eq!(resolve(dir.path(), "/out/secret"), Resolved::Forbidden);
    }

    #[test]
    fn content_types_follow_extensions() {
        assert_eq!(
            content_type(Path::new("a/timeline.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("rate.svg")), "image/svg+xml");
        assert_eq!(content_type(Path::new("results.json")), "application/json");
        assert_eq!(
            content_type(Path::new("n1.log")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("blob")), "application/octet-stream");
    }

    #[test]
    fn listings_link_every_entry() {
        let dir = store();
        let html = listing(&dir.path().join("kv"), "/kv/").unwrap();
        assert!(html.contains("<a href=\"run%201/\">run 1/</a>"), "{html}");
    }
}
