//! Embedding the host: revoke one Dolfin key and print the result as JSON.
//!
//! ```sh
//! cargo build --workspace
//! REVOKER_DOLFIN_BASE_URL=http://127.0.0.1:4010 DOLFIN_API_KEY=… \
//!     cargo run -p revoker-host --example embed -- 5eb8b151-77b3-4e46-8243-5b6282131a9e
//! ```
//!
//! Plugins come from `REVOKER_PLUGIN_PATH`, else from the build's own directory.

use std::process::ExitCode;

use revoker_host::{Host, Params, Request};

fn main() -> ExitCode {
    let Some(id) = std::env::args().nth(1) else {
        eprintln!("usage: embed <dolfin-key-uuid>");
        return ExitCode::from(2);
    };
    // target/<profile>/examples/embed: the bundled plugins are in target/<profile>.
    let built = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_owned()));
    let mut builder = Host::builder().with_env();
    if let Some(dir) = built {
        builder = builder.fallback_plugin_dir(dir);
    }
    let run = async {
        let host = builder.build()?;
        let request = Request::new("dolfin", "revoke-api-key", Params::from_pairs([("id", id)]));
        host.execute(&request).await
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match runtime.block_on(run) {
        Ok(result) => {
            println!(
                "{}",
                serde_json::to_string(&result).expect("results serialize")
            );
            if result.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("embed: {error}");
            ExitCode::from(2)
        }
    }
}
