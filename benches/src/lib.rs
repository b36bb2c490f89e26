//! What the benches and `compare.sh` run against: a minimal, fast HTTP/1.1
//! server on 127.0.0.1 that answers every bundled operation with its documented
//! success, and where the built plugin files are.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The documented success for the request's endpoint.
fn answer(request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    let (status, body): (StatusCode, &'static str) = if path.starts_with("/v3/gateways/") {
        if request.method() == hyper::Method::POST {
            (
                StatusCode::OK,
                r#"{"data":{"id":"e8fe078b-38e8-4472-94e7-9023205232d2","value":"bench-key","createdAt":"2024-07-12T15:34:59Z"}}"#,
            )
        } else {
            (StatusCode::OK, r#"{"data":null}"#)
        }
    } else if path == "/users/revokeApiKey" {
        (StatusCode::OK, r#""Revoked""#)
    } else if path.starts_with("/api/gateway/") {
        (StatusCode::OK, r#"{"virtual_key":{"status":"revoked"}}"#)
    } else {
        (StatusCode::NO_CONTENT, "")
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Serves on `listener` until the runtime stops.
pub async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|request: Request<Incoming>| async move {
                Ok::<_, Infallible>(answer(&request))
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A server running on its own thread and single-threaded runtime, for as long
/// as the process: the benches' in-process server.
pub fn spawn_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("local addr");
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async {
                serve(TcpListener::from_std(listener).expect("listener")).await;
            });
        })
        .expect("spawn the server thread");
    addr
}

/// The directory the workspace's built binaries and plugins are in
/// (`target/release` for `cargo bench`, `target/debug` for `cargo test --benches`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("bench binary path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("bench binary is in target/<profile>/deps")
        .to_owned()
}

/// A bundled plugin's file, which must be built (`cargo build --workspace`).
pub fn plugin_file(provider: &str) -> PathBuf {
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let path = target_dir().join(format!("{prefix}revoker_{provider}{suffix}"));
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`, with --release for `cargo bench`)",
        path.display()
    );
    path
}
