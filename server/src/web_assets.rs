//! The static client of `web/`, embedded at build time (see `build.rs`),
//! so one binary is the whole deployment and no file on disk can be
//! swapped under a running server.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// Every file of `web/`: URL path and bytes, sorted by path.
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_files.rs"));

/// The file a URL path names, `/` meaning `/index.html`.
pub fn lookup(path: &str) -> Option<&'static [u8]> {
    let path = if path == "/" { "/index.html" } else { path };
    FILES
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .map(|i| FILES[i].1)
}

/// The URL paths of every embedded file.
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _)| *p)
}

/// The media type of a file, from its extension. Anything unknown is
/// served as bytes, which `nosniff` keeps from being run (STD1-SRV-12).
pub fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, e)| e);
    match extension {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        "vcf" => "text/vcard; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves an embedded file, or 404. HTML is `no-store` (STD1-SRV-12, and
/// nothing of a page may outlive it on the device); other files are
/// revalidated on every load so a panic (`/x`) or an update takes effect
/// at once.
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path();
    let Some(bytes) = lookup(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let media_type = content_type(if path == "/" { "/index.html" } else { path });
    let cache = if media_type.starts_with("text/html") {
        "no-store"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_holds_the_entry_page() {
        // STD1-SRV-12: the client is served by the server itself.
        assert!(FILES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            lookup("/").is_some_and(
                |b| b.starts_with(b"<!doctype html") || b.starts_with(b"<!DOCTYPE html")
            )
        );
        assert_eq!(lookup("/"), lookup("/index.html"));
        assert!(lookup("/../Cargo.toml").is_none());
        assert_eq!(content_type("/app.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("/x.unknown"), "application/octet-stream");
    }
}
