//! Embedding a whole bulk job: a JSONL file in, a journal and a report out, the
//! same guarantees as `revoker bulk` (input read once, one writer per journal,
//! a re-run sends again only what has not succeeded). Run it twice on the same
//! journal to resume.
//!
//! ```sh
//! REVOKER_DOLFIN_BASE_URL=http://127.0.0.1:4010 DOLFIN_API_KEY=… \
//!     cargo run -p revoker-host --example bulk_journal -- keys.jsonl keys.journal
//! ```

use std::process::ExitCode;

use futures_util::StreamExt as _;
use revoker_host::Host;
use revoker_host::bulk::{BulkJob, InputSource, JobEvent, JobSpec};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(journal)) = (args.next(), args.next()) else {
        eprintln!("usage: bulk_journal KEYS.jsonl JOURNAL");
        return ExitCode::from(2);
    };
    // target/<profile>/examples/bulk_journal: the bundled plugins are in target/<profile>.
    let built = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_owned()));
    let mut builder = Host::builder().with_env();
    if let Some(dir) = built {
        builder = builder.fallback_plugin_dir(dir);
    }
    let run = async {
        let host = builder.build()?;
        let mut spec = JobSpec::new(InputSource::File(input.into()));
        spec.journal = Some(journal.clone().into());
        spec.report = Some(format!("{journal}.report.jsonl").into());
        let job = BulkJob::prepare(&host, spec)?;
        let mut events = std::pin::pin!(job.run());
        while let Some(event) = events.next().await {
            match event {
                JobEvent::Finished { line, result, .. } => {
                    println!("line {line}: {}", result.outcome)
                }
                JobEvent::Fatal(error) => return Err(error),
                JobEvent::Done(summary) => return Ok(summary.all_succeeded()),
                _ => {}
            }
        }
        Ok(false)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match runtime.block_on(run) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(3)
        }
    }
}
