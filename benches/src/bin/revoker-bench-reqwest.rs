//! The baseline of `benches/compare.sh`: a hand-written tokio + reqwest client
//! that revokes N Dolfin keys at a given concurrency (HTTP/1.1 keep-alive,
//! `buffer_unordered`, a current-thread runtime), as a programmer would write
//! it by hand. `revoker-bench-reqwest BASE_URL N CONCURRENCY`; prints the
//! seconds taken.

use std::time::Instant;

use futures_util::StreamExt as _;

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().expect("BASE_URL");
    let count: u64 = args.next().expect("N").parse().expect("N is a number");
    let concurrency: usize = args.next().expect("CONCURRENCY").parse().expect("a number");
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
                client
                    .post(format!(
                        "{base}/api-keys/00000000-0000-4000-8000-{n:012x}/revoke"
                    ))
                    .header("x-dolfin-api-key", "bench-made-up-key")
                    .send()
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
