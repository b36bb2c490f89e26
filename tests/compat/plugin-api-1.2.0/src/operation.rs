//! The operation table: one entry per operation, from which a plugin's manifest
//! lists its operations and its [`Provider::plan`](crate::Provider::plan) and
//! [`Provider::interpret`](crate::Provider::interpret) dispatch, so that the
//! two cannot disagree.
//!
//! These are Rust-side helpers: nothing here crosses the ABI.

use std::fmt;

use crate::{
    HttpRequest, HttpResponse, Manifest, OperationKind, OperationSpec, Outcome, Params, PluginError,
};

/// How an operation plans its request.
pub type PlanFn = fn(&Params) -> Result<HttpRequest, PluginError>;

/// How an operation reads the provider's response.
pub type InterpretFn = fn(&Params, &HttpResponse) -> Result<Outcome, PluginError>;

/// One operation of a plugin: its name and kind, the rest of its
/// [`OperationSpec`], and the functions that plan its request and read the
/// response.
///
/// A plugin lists its operations in [`Provider::OPERATIONS`](crate::Provider::OPERATIONS),
/// builds its manifest's operations from them with [`Manifest::operations`],
/// and gets `plan`, `interpret` and `secret_params` dispatched through them:
///
/// ```
/// use revoker_plugin_api::{
///     HttpRequest, HttpResponse, Manifest, Method, Operation, OperationKind, Outcome,
///     OutcomeKind, ParamKind, ParamSpec, Params, PluginError, Provider, path,
/// };
///
/// pub struct Acme;
///
/// impl Provider for Acme {
///     const OPERATIONS: &'static [Operation] = &[Operation::new(
///         "revoke-key",
///         OperationKind::Revoke,
///         revoke_key,
///         |_, response| {
///             Ok(match response.status {
///                 204 => Outcome::new(OutcomeKind::Revoked),
///                 status => Outcome::from_status(status).error_detail(response, None),
///             })
///         },
///     )
///     .describe(|op| {
///         op.summary("Revoke an API key by id")
///             .idempotent(true)
///             .param(ParamSpec::required("id", ParamKind::String, "the key's id"))
///     })];
///
///     fn manifest() -> Manifest {
///         Manifest::new("acme", "1.0.0", "https://api.acme.example")
///             .credential_env("ACME_TOKEN")
///             .operations(Self::OPERATIONS)
///     }
/// }
///
/// fn revoke_key(params: &Params) -> Result<HttpRequest, PluginError> {
///     let id = params.require_kind("id", ParamKind::String)?;
///     Ok(HttpRequest::new(Method::Delete, path!("/v1/keys/{}", id)))
/// }
///
/// # fn main() {
/// let request = Acme::plan("revoke-key", &Params::from_pairs([("id", "k/1")])).unwrap();
/// assert_eq!(request.path.as_str(), "/v1/keys/k%2F1");
/// let error = Acme::plan("revoke", &Params::new()).unwrap_err();
/// assert_eq!(error.message.as_str(), "unknown operation \"revoke\"");
/// # }
/// ```
#[derive(Clone, Copy)]
#[must_use]
pub struct Operation {
    name: &'static str,
    kind: OperationKind,
    describe: fn(OperationSpec) -> OperationSpec,
    plan: PlanFn,
    interpret: InterpretFn,
    secret_params: &'static [&'static str],
}

impl Operation {
    /// The operation `name` of `kind`, planned by `plan` and read by
    /// `interpret`; not idempotent, with no summary and no parameters until
    /// [`Operation::describe`] says otherwise.
    pub const fn new(
        name: &'static str,
        kind: OperationKind,
        plan: PlanFn,
        interpret: InterpretFn,
    ) -> Self {
        Self {
            name,
            kind,
            describe: no_more,
            plan,
            interpret,
            secret_params: &[],
        }
    }

    /// Completes the operation's spec: `describe` gets
    /// `OperationSpec::new(name, kind)` and adds its summary, idempotence and
    /// parameters.
    pub const fn describe(mut self, describe: fn(OperationSpec) -> OperationSpec) -> Self {
        self.describe = describe;
        self
    }

    /// Declares the parameters whose values are secrets (see
    /// [`Provider::secret_params`](crate::Provider::secret_params)).
    pub const fn secret_params(mut self, names: &'static [&'static str]) -> Self {
        self.secret_params = names;
        self
    }

    /// The operation's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether it revokes or creates.
    pub fn kind(&self) -> OperationKind {
        self.kind
    }

    /// Its full spec, as the manifest lists it.
    pub fn spec(&self) -> OperationSpec {
        (self.describe)(OperationSpec::new(self.name, self.kind))
    }

    /// The parameters whose values are secrets.
    pub fn secrets(&self) -> &'static [&'static str] {
        self.secret_params
    }

    /// Plans its request.
    ///
    /// # Errors
    ///
    /// The plan function's, e.g. an invalid parameter.
    pub fn plan(&self, params: &Params) -> Result<HttpRequest, PluginError> {
        (self.plan)(params)
    }

    /// Reads the response to its request.
    ///
    /// # Errors
    ///
    /// The interpret function's (a bug in the plugin).
    pub fn interpret(
        &self,
        params: &Params,
        response: &HttpResponse,
    ) -> Result<Outcome, PluginError> {
        (self.interpret)(params, response)
    }

    /// The operation called `name` in `table`.
    ///
    /// # Errors
    ///
    /// [`PluginError::unknown_operation`] if there is none: the one place the
    /// default [`Provider::plan`](crate::Provider::plan) and
    /// [`Provider::interpret`](crate::Provider::interpret) refuse an operation.
    pub fn find<'t>(table: &'t [Operation], name: &str) -> Result<&'t Operation, PluginError> {
        table
            .iter()
            .find(|op| op.name == name)
            .ok_or_else(|| PluginError::unknown_operation(name))
    }
}

/// The spec as [`OperationSpec::new`] makes it.
fn no_more(spec: OperationSpec) -> OperationSpec {
    spec
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("secret_params", &self.secret_params)
            .finish_non_exhaustive()
    }
}

impl Manifest {
    /// Adds the spec of each operation in `table`, in order: with
    /// [`Provider::OPERATIONS`](crate::Provider::OPERATIONS), the manifest
    /// lists exactly the operations the plugin dispatches.
    #[must_use]
    pub fn operations(mut self, table: &[Operation]) -> Self {
        for operation in table {
            self.operations.push(operation.spec());
        }
        self
    }
}

/// Checks a manifest against the plugin's operation table: if there is a
/// table, every operation the manifest lists must be in it (the default `plan`
/// would refuse any other).
///
/// [`export_provider!`](crate::export_provider) runs it on the manifest it
/// exports, so a host refuses a plugin that fails it:
///
/// ```
/// use revoker_plugin_api::*;
///
/// pub struct Mislisted;
///
/// impl Provider for Mislisted {
///     const OPERATIONS: &'static [Operation] = &[Operation::new(
///         "revoke",
///         OperationKind::Revoke,
///         |_| Ok(HttpRequest::new(Method::Delete, "/k")),
///         |_, _| Ok(Outcome::new(OutcomeKind::Revoked)),
///     )];
///
///     fn manifest() -> Manifest {
///         Manifest::new("mislisted", "0.0.0", "https://mislisted.example")
///             .operations(Self::OPERATIONS)
///             .operation(OperationSpec::new("purge", OperationKind::Revoke))
///     }
/// }
///
/// export_provider!(Mislisted);
///
/// # fn main() {
/// let err = revoker_root_module().manifest()().unwrap_err();
/// assert_eq!(err.kind, PluginErrorKind::Internal);
/// assert_eq!(
///     err.message.as_str(),
///     "the manifest lists operation \"purge\", which the plugin's operation table does not have"
/// );
/// # }
/// ```
#[doc(hidden)]
pub fn check_operation_table(manifest: &Manifest, table: &[Operation]) -> Result<(), PluginError> {
    if table.is_empty() {
        return Ok(());
    }
    for spec in manifest.operations.iter() {
        if Operation::find(table, &spec.name).is_err() {
            return Err(PluginError::internal(format_args!(
                "the manifest lists operation {:?}, which the plugin's operation table does not have",
                spec.name.as_str()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Method, OutcomeKind, ParamKind, ParamSpec, PluginErrorKind};

    fn plan_revoke(params: &Params) -> Result<HttpRequest, PluginError> {
        let id = params.require("id")?;
        Ok(HttpRequest::new(
            Method::Delete,
            crate::path!("/keys/{}", id),
        ))
    }

    const TABLE: &[Operation] = &[
        Operation::new("revoke", OperationKind::Revoke, plan_revoke, |_, _| {
            Ok(Outcome::new(OutcomeKind::Revoked))
        })
        .describe(|op| {
            op.idempotent(true)
                .param(ParamSpec::required("id", ParamKind::String, "the id"))
        }),
        Operation::new(
            "rotate",
            OperationKind::Create,
            |_| Ok(HttpRequest::new(Method::Post, "/keys")),
            |params, _| Err(PluginError::internal(params.len())),
        )
        .secret_params(&["token"]),
    ];

    #[test]
    fn the_table_gives_specs_and_dispatch() {
        let manifest = Manifest::new("t", "1", "https://t.example").operations(TABLE);
        let revoke = &manifest.operations[0];
        assert_eq!(revoke.name, "revoke");
        assert!(revoke.idempotent);
        assert_eq!(revoke.params[0].name, "id");
        assert_eq!(
            manifest.operations[1],
            OperationSpec::new("rotate", OperationKind::Create)
        );

        let op = Operation::find(TABLE, "revoke").unwrap();
        let request = op.plan(&Params::from_pairs([("id", "a b")])).unwrap();
        assert_eq!(request.path, "/keys/a%20b");
        assert_eq!(
            Operation::find(TABLE, "rotate")
                .unwrap()
                .interpret(&Params::new(), &HttpResponse::new(200, ""))
                .unwrap_err()
                .message,
            "0"
        );
        assert_eq!(
            Operation::find(TABLE, "rotate").unwrap().secrets(),
            ["token"]
        );

        let err = Operation::find(TABLE, "Revoke").unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::UnknownOperation);
        assert_eq!(err.message, "unknown operation \"Revoke\"");
    }

    #[test]
    fn a_manifest_may_list_only_operations_of_its_table() {
        let manifest = Manifest::new("t", "1", "https://t.example").operations(TABLE);
        assert_eq!(check_operation_table(&manifest, TABLE), Ok(()));
        assert_eq!(check_operation_table(&manifest, &[]), Ok(()));
        let extra = manifest.operation(OperationSpec::new("purge", OperationKind::Revoke));
        let err = check_operation_table(&extra, TABLE).unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::Internal);
        assert!(err.message.contains("\"purge\""), "{}", err.message);
    }
}
