//! The loaded plugins, by provider name, and the ones refused.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{CredentialSource, LoadError, LoadOptions, load_plugin, plugin_files};
use crate::plugin::Plugin;

/// A plugin file that was not loaded, and why.
#[derive(Debug)]
pub struct Refusal {
    /// The file, or the directory that could not be read.
    pub path: PathBuf,
    /// Why.
    pub error: LoadError,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refusing plugin {}: {}", self.path.display(), self.error)
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
    /// refused too, and so is every plugin whose credential source (its
    /// manifest's variable, or the config's `credential_env` or
    /// `credential_file` for it) another loaded plugin's is too: which of them
    /// loads first is a file name's choice, so none gets it.
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
                    error: LoadError::Directory(e),
                }),
            }
        }
        registry.refuse_shared_credentials(options);
        registry
    }

    /// Refuses every plugin whose credential source another plugin shares.
    fn refuse_shared_credentials(&mut self, options: &LoadOptions) {
        let source_of = |plugin: &Plugin| {
            options
                .credential_sources
                .get(plugin.provider())
                .cloned()
                .unwrap_or_else(|| {
                    CredentialSource::Env(plugin.manifest().credential_env.to_string())
                })
        };
        let mut claims: BTreeMap<CredentialSource, Vec<usize>> = BTreeMap::new();
        for (i, plugin) in self.plugins.iter().enumerate() {
            claims.entry(source_of(plugin)).or_default().push(i);
        }
        let mut refused = vec![false; self.plugins.len()];
        for (source, claimants) in claims.into_iter().filter(|(_, c)| c.len() > 1) {
            for &i in &claimants {
                refused[i] = true;
                let others = claimants
                    .iter()
                    .filter(|&&j| j != i)
                    .map(|&j| {
                        let other = &self.plugins[j];
                        format!("provider {} ({})", other.provider(), other.path().display())
                    })
                    .collect();
                self.refusals.push(Refusal {
                    path: self.plugins[i].path().to_owned(),
                    error: LoadError::CredentialClaimed {
                        claimed: source.clone(),
                        others,
                    },
                });
            }
        }
        let mut refused = refused.into_iter();
        self.plugins
            .retain(|_| !refused.next().expect("one flag a plugin"));
    }

    fn load_file(&mut self, path: &Path, options: &LoadOptions) {
        let refusal = match load_plugin(path, options) {
            Ok(plugin) => match self.get(plugin.provider()) {
                Some(first) => LoadError::DuplicateProvider {
                    provider: plugin.provider().to_owned(),
                    first: first.path().to_owned(),
                },
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
            Err(error) => error,
        };
        self.refusals.push(Refusal {
            path: path.to_owned(),
            error: refusal,
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
