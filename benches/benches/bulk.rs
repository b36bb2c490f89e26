//! Bulk throughput against an in-process HTTP server on 127.0.0.1.
//!
//! - `bulk-10k/revoker`: 10,000 Dolfin revocations through the host library's
//!   bulk API at concurrency 64, with the journal and the report written to a
//!   temp dir, as `revoker bulk --journal --report` does;
//! - `bulk-10k/reqwest-loop`: the same 10,000 requests from a hand-written
//!   tokio + reqwest client (`buffer_unordered(64)`), against the same server,
//!   in the same run: the baseline;
//! - `dry-run-100k/revoker`: parse, plan and report 100,000 lines, sending
//!   nothing.
//!
//! Both clients run on a current-thread runtime; the server has its own thread.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use bench_support::{plugin_file, spawn_server};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt as _;
use revoker_host::bulk::{Bulk, BulkEvent, BulkOptions, InputFormat, InputReader, Recorder};
use revoker_host::{Host, SecretString};

const KEYS: u64 = 10_000;
const DRY_RUN_LINES: u64 = 100_000;
const CONCURRENCY: usize = 64;
const CREDENTIAL: &str = "bench-made-up-key";

fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn input(lines: u64) -> Vec<u8> {
    let mut text = String::new();
    for n in 0..lines {
        text.push_str(&format!(
            "{{\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{{\"id\":\"{}\"}}}}\n",
            uuid(n)
        ));
    }
    text.into_bytes()
}

fn host(server: SocketAddr) -> Host {
    let plugins = plugin_file("dolfin")
        .parent()
        .expect("the plugin is in a directory")
        .to_owned();
    Host::builder()
        .plugin_dir(plugins)
        .base_url("dolfin", &format!("http://{server}"))
        .credential("dolfin", SecretString::from(CREDENTIAL))
        .build()
        .expect("the host builds")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `input` through the bulk engine, recording each line in the report
/// and journal as the CLI does; returns how many lines succeeded (or were
/// planned).
async fn run_bulk(host: &Host, input: &[u8], options: BulkOptions, recorder: &Recorder) -> u64 {
    let items =
        InputReader::new(input, Some(InputFormat::Jsonl)).map(|item| item.expect("in memory"));
    let bulk = Bulk::new(host, options).journal_to(recorder);
    let mut events = std::pin::pin!(bulk.run(futures_util::stream::iter(items)));
    let mut succeeded = 0;
    while let Some(event) = events.next().await {
        match event {
            BulkEvent::Finished {
                line,
                digest,
                create,
                result,
            } => {
                succeeded += u64::from(result.is_success());
                recorder
                    .finished(line, digest, &result, create)
                    .await
                    .unwrap();
            }
            BulkEvent::Planned { line, planned, .. } => {
                succeeded += 1;
                recorder.planned(line, &planned, None).unwrap();
            }
            BulkEvent::Aborted { error, .. } => panic!("{error}"),
        }
    }
    succeeded
}

async fn reqwest_loop(client: &reqwest::Client, server: SocketAddr) -> u64 {
    futures_util::stream::iter(0..KEYS)
        .map(|n| {
            client
                .post(format!("http://{server}/api-keys/{}/revoke", uuid(n)))
                .header("x-dolfin-api-key", CREDENTIAL)
                .send()
        })
        .buffer_unordered(CONCURRENCY)
        .fold(0, |ok, response| async move {
            match response {
                Ok(response) if response.status() == 204 => {
                    let _ = response.bytes().await;
                    ok + 1
                }
                _ => ok,
            }
        })
        .await
}

fn bulk(c: &mut Criterion) {
    let server = spawn_server();
    let host = host(server);
    let rt = runtime();
    let keys = input(KEYS);
    let mut group = c.benchmark_group("bulk-10k");
    group.throughput(Throughput::Elements(KEYS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("revoker", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().unwrap();
            let recorder = Recorder::start(
                Some(std::fs::File::create(dir.path().join("report.jsonl")).unwrap()),
                Some(std::fs::File::create(dir.path().join("journal")).unwrap()),
            );
            let options = BulkOptions {
                concurrency: CONCURRENCY,
                ..BulkOptions::default()
            };
            let succeeded = rt.block_on(run_bulk(&host, &keys, options, &recorder));
            recorder.finish().unwrap();
            assert_eq!(succeeded, KEYS);
        });
    });
    let client = reqwest::Client::new();
    group.bench_function("reqwest-loop", |b| {
        b.iter(|| {
            let succeeded = rt.block_on(reqwest_loop(&client, server));
            assert_eq!(succeeded, KEYS);
        });
    });
    group.finish();
}

fn dry_run(c: &mut Criterion) {
    // No request is sent: the server is only there to build the host.
    let host = host(spawn_server());
    let rt = runtime();
    let lines = input(DRY_RUN_LINES);
    let mut group = c.benchmark_group("dry-run-100k");
    group.throughput(Throughput::Elements(DRY_RUN_LINES));
    group.sample_size(10);
    group.bench_function("revoker", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().unwrap();
            let recorder = Recorder::start(
                Some(std::fs::File::create(dir.path().join("report.jsonl")).unwrap()),
                None,
            );
            let options = BulkOptions {
                dry_run: true,
                ..BulkOptions::default()
            };
            let planned = rt.block_on(run_bulk(&host, black_box(&lines), options, &recorder));
            recorder.finish().unwrap();
            assert_eq!(planned, DRY_RUN_LINES);
        });
    });
    group.finish();
}

criterion_group!(benches, bulk, dry_run);
criterion_main!(benches);
