//! The baseline of `benches/compare.sh` and `benches/nginx.sh`: a hand-written
//! tokio + reqwest client that revokes N keys at a given concurrency (keep-alive,
//! `buffer_unordered`, a current-thread runtime), as a programmer would write
//! it by hand. `revoker-bench-reqwest BASE_URL N CONCURRENCY [dolfin|pinata]`;
//! prints the seconds taken. `dolfin` (the default) sends Dolfin's
//! `POST /api-keys/{id}/revoke`, `pinata` Pinata's
//! `DELETE /v3/gateways/{gateway}/access_tokens/{key}`, the requests
//! `revoker bulk` sends for the same lines. Over https the system's roots are
//! trusted, and `SSL_CERT_FILE` as well; HTTP/2 when the server offers it.

use std::time::Instant;

use futures_util::StreamExt as _;

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().expect("BASE_URL");
    let count: u64 = args.next().expect("N").parse().expect("N is a number");
    let concurrency: usize = args.next().expect("CONCURRENCY").parse().expect("a number");
    let pinata = match args.next().as_deref() {
        None | Some("dolfin") => false,
        Some("pinata") => true,
        Some(other) => panic!("unknown request kind {other}: dolfin or pinata"),
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let ok = runtime.block_on(async {
        let client = reqwest::Client::new();
        futures_util::stream::iter(0..count)
            .map(|n| {
                if pinata {
                    client
                        .delete(format!(
                            "{base}/v3/gateways/bench-gateway/access_tokens/00000000-0000-4000-8000-{n:012x}"
                        ))
                        .header("authorization", "Bearer bench-made-up-jwt")
                        .send()
                } else {
                    client
                        .post(format!(
                            "{base}/api-keys/00000000-0000-4000-8000-{n:012x}/revoke"
                        ))
                        .header("x-dolfin-api-key", "bench-made-up-key")
                        .send()
                }
            })
            .buffer_unordered(concurrency)
            .fold(0u64, |ok, response| async move {
                match response {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        ok + 1
                    }
                    _ => ok,
                }
            })
            .await
    });
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(ok, count, "every request succeeded");
    println!("{secs:.3}");
}
