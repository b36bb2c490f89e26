//! A fast local HTTP/1.1 server for `benches/compare.sh`: answers every bundled
//! operation with its documented success. `revoker-bench-server [PORT] [THREADS]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .map_or(4010, |p| p.parse().expect("PORT is a number"));
    let threads: usize = args
        .next()
        .map_or(1, |t| t.parse().expect("THREADS is a number"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind 127.0.0.1");
        eprintln!(
            "revoker-bench-server listening on http://{}",
            listener.local_addr().unwrap()
        );
        bench_support::serve(listener).await;
    });
}
