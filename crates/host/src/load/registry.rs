//! The loaded plugins, by provider name, and the ones refused.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{LoadOptions, load_plugin, plugin_files};
use crate::plugin::Plugin;

/// A plugin file that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The file, or the directory that could not be read.
    pub path: PathBuf,
    /// Why, in one line.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing plugin {}: {}",
            self.path.display(),
            self.reason
        )
    }
}

/// The plugins loaded from a list of directories.
#[derive(Debug, Default)]
pub struct Registry {
    plugins: Vec<Arc<Plugin>>,
    refusals: Vec<Refusal>,
}

impl Registry {
    /// Loads every plugin file in `dirs`, in order. A directory that appears twice
    /// is read once. One bad plugin never stops the others: it is recorded as a
    /// [`Refusal`]. A plugin whose provider name an earlier one already took is
    /// refused too.
    pub fn load(dirs: &[PathBuf], options: &LoadOptions) -> Self {
        let mut registry = Self::default();
        let mut seen_dirs = Vec::new();
        for dir in dirs {
            let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            if seen_dirs.contains(&canonical) {
                continue;
            }
            seen_dirs.push(canonical);
            match plugin_files(dir) {
                Ok(files) => files
                    .iter()
                    .for_each(|file| registry.load_file(file, options)),
                Err(e) => registry.refusals.push(Refusal {
                    path: dir.clone(),
                    reason: format!("cannot read plugin directory: {e}"),
                }),
            }
        }
        registry
    }

    fn load_file(&mut self, path: &Path, options: &LoadOptions) {
        let refusal = match load_plugin(path, options) {
            Ok(plugin) => match self.get(plugin.provider()) {
                Some(first) => format!(
                    "provider {:?} is already provided by {}",
                    plugin.provider(),
                    first.path().display()
                ),
                None => {
                    tracing::debug!(
                        provider = plugin.provider(),
                        version = %plugin.manifest().version,
                        path = %path.display(),
                        "loaded plugin"
                    );
                    self.plugins.push(Arc::new(plugin));
                    return;
                }
            },
            Err(reason) => reason,
        };
        self.refusals.push(Refusal {
            path: path.to_owned(),
            reason: refusal,
        });
    }

    /// The plugin for `provider`.
    pub fn get(&self, provider: &str) -> Option<&Arc<Plugin>> {
        self.plugins.iter().find(|p| p.provider() == provider)
    }

    /// The loaded plugins, in load order.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// The plugins that were refused, in the order met.
    pub fn refusals(&self) -> &[Refusal] {
        &self.refusals
    }

    /// The loaded providers' names, comma-separated, or `none`.
    pub fn provider_names(&self) -> String {
        if self.plugins.is_empty() {
            return "none".to_owned();
        }
        self.plugins
            .iter()
            .map(|p| p.provider())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_directory_is_a_refusal_not_a_failure() {
        let registry = Registry::load(
            &[PathBuf::from("/nonexistent/revoker-plugins")],
            &LoadOptions::default(),
        );
        assert!(registry.plugins().is_empty());
        assert_eq!(registry.refusals().len(), 1);
        assert!(registry.refusals()[0].to_string().starts_with(
            "refusing plugin /nonexistent/revoker-plugins: cannot read plugin directory"
        ));
        assert_eq!(registry.provider_names(), "none");
    }
}
