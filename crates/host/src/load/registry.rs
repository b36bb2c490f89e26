//! The loaded plugins, by provider name, and the ones refused.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::trust::{TrustedFile, open_trusted};
use super::{CredentialSource, LoadError, LoadOptions, Refused, load_plugin, plugin_files};
use crate::error::Error;
use crate::plugin::Plugin;

/// A plugin file that was not loaded, and why.
#[derive(Debug)]
pub struct Refusal {
    /// The file, or the directory that could not be read.
    pub path: PathBuf,
    /// Why.
    pub error: LoadError,
    /// The provider its manifest names, if it was read that far (a file
    /// refused before it was loaded, or built for another interface, says
    /// nothing).
    pub provider: Option<String>,
}

impl Refusal {
    /// Whether this is the refusal of a plugin for `provider`: the one its
    /// manifest names or, if it named none, the one its file is named for
    /// (`librevoker_aws_iam.so` is `aws-iam`'s).
    pub fn is_for(&self, provider: &str) -> bool {
        self.provider_name().is_some_and(|named| named == provider)
    }

    /// The provider this refusal is of: the one its manifest names or, if it
    /// named none, the one its file is named for.
    pub fn provider_name(&self) -> Option<String> {
        self.provider.clone().or_else(|| self.file_provider())
    }

    /// The provider the file's name says: `librevoker_<name>.so` (on Linux),
    /// `_` read as `-`.
    fn file_provider(&self) -> Option<String> {
        if matches!(self.error, LoadError::Directory(_)) {
            return None;
        }
        let prefix = format!("{}revoker_", std::env::consts::DLL_PREFIX);
        let name = self.path.file_name()?.to_str()?;
        let stem = name
            .strip_prefix(&prefix)?
            .strip_suffix(std::env::consts::DLL_SUFFIX)?;
        Some(stem.replace('_', "-"))
    }
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
        let mut found = Vec::new();
        for dir in dirs {
            let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            if seen_dirs.contains(&canonical) {
                continue;
            }
            seen_dirs.push(canonical);
            match plugin_files(dir) {
                Ok(files) => found.extend(files.into_iter().map(Ok)),
                Err(e) => found.push(Err((dir.clone(), e))),
            }
        }
        let files: Vec<&Path> = found
            .iter()
            .filter_map(|entry| entry.as_ref().ok())
            .map(PathBuf::as_path)
            .collect();
        // Checking and copying each file is independent of the others' (and
        // runs none of their code): done side by side, then loaded in order.
        let mut trusted = in_parallel(&files, |file| {
            open_trusted(file, options.hashes_at_load(), options.copies_at_load())
        })
        .into_iter();
        for entry in found {
            match entry {
                Ok(file) => {
                    let trusted = trusted.next().expect("one image a file");
                    registry.load_file(&file, trusted, options);
                }
                Err((dir, e)) => registry.refusals.push(Refusal {
                    path: dir,
                    error: LoadError::Directory(e),
                    provider: None,
                }),
            }
        }
        registry.refuse_shared_credentials(options);
        registry
    }

    /// Hashes every loaded plugin's image not hashed yet, side by side: for a
    /// caller about to show them all ([`Plugin::sha256`] would hash them one
    /// after the other).
    pub fn hash_all(&self) {
        in_parallel(&self.plugins, |plugin| {
            plugin.sha256();
        });
    }

    /// Refuses every plugin whose credential source another plugin shares.
    fn refuse_shared_credentials(&mut self, options: &LoadOptions) {
        // Every part of a credential is a claim: a plugin could name another's
        // secret as its own second part (a Basic password, say) as well as
        // its first. The first part's source may be the config's
        // `credential_env` or `credential_file`; any part's, its
        // `credential_parts`. A plugin with no credential claims nothing.
        let sources_of = |plugin: &Plugin| -> Vec<CredentialSource> {
            let provider = plugin.provider();
            plugin
                .auth()
                .parts
                .iter()
                .enumerate()
                .map(|(i, part)| {
                    let configured = options
                        .part_sources
                        .get(&(provider.to_owned(), part.name.to_string()))
                        .or_else(|| {
                            (i == 0)
                                .then(|| options.credential_sources.get(provider))
                                .flatten()
                        });
                    configured
                        .cloned()
                        .unwrap_or_else(|| CredentialSource::Env(part.env.to_string()))
                })
                .collect()
        };
        let mut claims: BTreeMap<CredentialSource, Vec<usize>> = BTreeMap::new();
        for (i, plugin) in self.plugins.iter().enumerate() {
            let mut sources = sources_of(plugin);
            sources.sort();
            sources.dedup();
            for source in sources {
                claims.entry(source).or_default().push(i);
            }
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
                    provider: Some(self.plugins[i].provider().to_owned()),
                });
            }
        }
        let mut refused = refused.into_iter();
        self.plugins
            .retain(|_| !refused.next().expect("one flag a plugin"));
    }

    fn load_file(
        &mut self,
        path: &Path,
        trusted: Result<TrustedFile, LoadError>,
        options: &LoadOptions,
    ) {
        let refused = match load_plugin(path, trusted, options) {
            Ok(plugin) => match self.get(plugin.provider()) {
                Some(first) => Refused {
                    error: Box::new(LoadError::DuplicateProvider {
                        provider: plugin.provider().to_owned(),
                        first: first.path().to_owned(),
                    }),
                    provider: Some(plugin.provider().to_owned()),
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
            error: *refused.error,
            provider: refused.provider,
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

    /// Why `provider` is not loaded, if no plugin provides it and a plugin
    /// file for it was refused (see [`Refusal::is_for`]): the first such.
    pub fn refusal_for(&self, provider: &str) -> Option<&Refusal> {
        if self.get(provider).is_some() {
            return None;
        }
        self.refusals
            .iter()
            .find(|refusal| refusal.is_for(provider))
    }

    /// [`Error::PluginRefused`] for `provider`, naming its plugin file and
    /// why it was refused, if [`Registry::refusal_for`] has a refusal for it.
    pub fn refused(&self, provider: &str) -> Option<Error> {
        self.refusal_for(provider)
            .map(|refusal| Error::PluginRefused {
                provider: provider.to_owned(),
                path: refusal.path.clone(),
                reason: refusal.error.to_string(),
            })
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

/// `work` done on each of `items`, on up to as many threads as there are
/// cores (this one among them); the results in the items' order.
fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let run = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let result = work(item);
            *results[i]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            // Where no thread can be started, this one does the rest.
            let _ = std::thread::Builder::new().spawn_scoped(scope, run);
        }
        run();
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .expect("every item done")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_in_parallel_keeps_the_items_order() {
        let items: Vec<u64> = (0..100).collect();
        let squares = in_parallel(&items, |n| n * n);
        assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
        assert!(in_parallel(&[] as &[u64], |n| *n).is_empty());
        assert_eq!(in_parallel(&[7], |n| n + 1), [8]);
    }

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
        // A directory is no provider's plugin, whatever its name.
        assert!(registry.refusal_for("revoker-plugins").is_none());
    }

    #[test]
    fn a_refusal_is_for_the_provider_its_manifest_named_else_its_file_is_named_for() {
        let file = |name: &str| {
            PathBuf::from(format!(
                "/plugins/{}revoker_{name}{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ))
        };
        let refusal = |path: PathBuf, provider: Option<&str>| Refusal {
            path,
            error: LoadError::NoRunner,
            provider: provider.map(str::to_owned),
        };
        let unnamed = refusal(file("aws_iam"), None);
        assert!(unnamed.is_for("aws-iam"));
        assert!(!unnamed.is_for("aws_iam") && !unnamed.is_for("aws"));
        let named = refusal(file("aws_iam"), Some("iam"));
        assert!(named.is_for("iam"));
        assert!(!named.is_for("aws-iam"));
        assert!(!refusal(PathBuf::from("/plugins/libother.so"), None).is_for("other"));

        let registry = Registry {
            plugins: Vec::new(),
            refusals: vec![unnamed, named],
        };
        let error = registry.refused("iam").unwrap().to_string();
        assert!(
            error.starts_with("provider iam is not loaded: its plugin /plugins/"),
            "{error}"
        );
        assert!(
            error.contains("revoker_aws_iam")
                && error.contains(" was refused: it is to run isolated"),
            "{error}"
        );
        assert!(registry.refused("dolfin").is_none());
    }
}
