//! Stopping a run: requests not yet sent are abandoned at once.

use std::sync::Arc;

use tokio::sync::watch;

/// Stops a bulk run: no new line is taken, requests in flight finish, and
/// lines waiting (for a rate limit, a retry) are dropped at once, left for the
/// next run with the journal. Cheap to clone; every clone stops the same run.
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<watch::Sender<bool>>);

impl Default for StopHandle {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }
}

impl StopHandle {
    /// Stops the run.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Whether the run was stopped.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until the run is stopped.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}
