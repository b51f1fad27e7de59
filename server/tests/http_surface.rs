//! The HTTP surface besides the WebSocket (spec §11.2), over raw HTTP/1.1.

mod common;

use std::time::Duration;

async fn start() -> (std::net::SocketAddr, common::Instance) {
    let instance = common::instance(common::fresh_pool().await, Duration::ZERO).await;
    (instance.addr, instance)
}

/// The status line and headers (lower-cased names) of a GET.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, Vec<(String, String)>, String) {
    send(addr, "GET", path).await
}

/// The status, headers and body of a request without a body.
async fn send(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
) -> (u16, Vec<(String, String)>, String) {
    common::http_request(addr, method, path, &[]).await
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_no_cookie() {
    // STD1-SRV-12, STD1-SRV-14
    let (addr, _stop) = start().await;
    for path in ["/", "/healthz", "/x", "/missing"] {
        let (_, headers, _) = get(addr, path).await;
        let csp = header(&headers, "content-security-policy").unwrap_or_default();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "object-src",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            if directive == "object-src" {
                // default-src 'none' covers objects.
                continue;
            }
            assert!(
                csp.contains(directive),
                "{path}: CSP lacks {directive}: {csp}"
            );
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "referrer-policy"),
            Some("no-referrer"),
            "{path}"
        );
        assert_eq!(header(&headers, "x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            header(&headers, "cross-origin-opener-policy"),
            Some("same-origin"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-store"),
            "{path}"
        );
        assert!(
            header(&headers, "set-cookie").is_none(),
            "{path}: STD1-SRV-14"
        );
    }
}

#[tokio::test]
async fn hsts_is_sent_on_every_response_only_when_configured() {
    // STD1-SRV-15: the TLS itself is the reverse proxy's; the header is ours.
    let (plain, _stop) = start().await;
    let (_, headers, _) = get(plain, "/").await;
    assert_eq!(header(&headers, "strict-transport-security"), None);

    let instance = common::instance_with(common::fresh_pool().await, Duration::ZERO, |s| {
        s.hsts = Some(stelgano_server::app::hsts_header(31_536_000));
    })
    .await;
    for path in ["/", "/healthz", "/x", "/missing"] {
        let (_, headers, _) = get(instance.addr, path).await;
        assert_eq!(
            header(&headers, "strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_embedded_client_is_served_file_by_file() {
    // STD1-SRV-11, STD1-SRV-12: the static client, HTML never cached.
    use stelgano_server::web_assets;
    let (addr, _stop) = start().await;
    let paths: Vec<&str> = web_assets::paths().collect();
    assert!(paths.contains(&"/index.html"), "{paths:?}");
    for path in paths.iter().copied().chain(["/"]) {
        let (status, headers, body) = get(addr, path).await;
        assert_eq!(status, 200, "{path}");
        let expected = web_assets::lookup(path).expect("embedded");
        assert_eq!(body.as_bytes(), expected, "{path}");
        let media_type = header(&headers, "content-type").unwrap_or_default();
        assert_eq!(
            media_type,
            web_assets::content_type(if path == "/" { "/index.html" } else { path }),
            "{path}"
        );
        let cache = header(&headers, "cache-control");
        if media_type.starts_with("text/html") {
            assert_eq!(cache, Some("no-store"), "{path}");
        } else {
            assert_eq!(cache, Some("no-cache"), "{path}");
        }
    }
    assert_eq!(get(addr, "/missing.js").await.0, 404);
    assert_eq!(get(addr, "/../server/Cargo.toml").await.0, 404);
    assert_eq!(send(addr, "POST", "/").await.0, 405);
    assert_eq!(send(addr, "HEAD", "/").await.0, 200);
}

#[tokio::test]
async fn panic_route_and_health() {
    // STD1-SRV-13, STD1-SRV-11
    let (addr, _stop) = start().await;
    let (status, headers, _) = get(addr, "/x").await;
    assert_eq!(status, 302);
    assert_eq!(header(&headers, "location"), Some("/?p=1"));
    assert_eq!(
        header(&headers, "clear-site-data"),
        Some("\"cache\", \"storage\"")
    );
    let (status, _, body) = get(addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, _, _) = get(addr, "/ws").await;
    assert_eq!(
        status, 426,
        "STD1-WIRE-1: a plain GET of the WebSocket path"
    );
}
