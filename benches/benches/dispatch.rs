//! Dispatch: what the plugin boundary costs.
//!
//! - `plan+interpret/<provider>/<operation>/abi`: one key's `plan` and
//!   `interpret` through the plugin's `.so`, loaded by the host's loader and
//!   called through `abi_stable`, as the host does for every key;
//! - `.../abi-in-process`: the same `extern "C"` functions of the root module,
//!   from the rlib linked into this binary (no `dlopen`): the ABI's wrapping
//!   without the shared object;
//! - `.../direct`: the same plugin crate linked as an rlib and called as plain
//!   Rust;
//! - `noop/abi` against `noop/dyn`: an empty call through an `abi_stable` prefix
//!   module's `extern "C"` function against a `dyn Trait` method call.

use std::hint::black_box;

use abi_stable::StableAbi;
use abi_stable::prefix_type::PrefixTypeTrait as _;
use bench_support::plugin_file;
use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;

use revoker_host::{LoadOptions, Plugin, Registry};
use revoker_plugin_api::abi_stable::std_types::RStr;
use revoker_plugin_api::{
    HttpRequest, HttpResponse, Outcome, Params, PluginError, Provider, ProviderModuleRef,
};

type Plan = fn(&str, &Params) -> Result<HttpRequest, PluginError>;
type Interpret = fn(&str, &Params, &HttpResponse) -> Result<Outcome, PluginError>;

struct Case {
    provider: &'static str,
    operation: &'static str,
    params: Params,
    response: HttpResponse,
    plan: Plan,
    interpret: Interpret,
    module: ProviderModuleRef,
}

fn case<P: Provider>(
    module: ProviderModuleRef,
    provider: &'static str,
    operation: &'static str,
    params: &[(&str, &str)],
    status: u16,
    body: &str,
) -> Case {
    Case {
        provider,
        operation,
        params: Params::from_pairs(params.iter().copied()),
        response: HttpResponse::new(status, body)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("X-Request-Id", "bef4599a5d0de8322fff20dda15c82f9"),
        plan: P::plan,
        interpret: P::interpret,
        module,
    }
}

fn cases() -> Vec<Case> {
    use revoker_dolfin::Dolfin;
    use revoker_langwatch::LangWatch;
    use revoker_pinata::Pinata;
    const GATEWAY: &str = "5eb8b151-77b3-4e46-8243-5b6282131a9e";
    const KEY: &str = "5cfe30af-1de5-409e-be09-f261445a2df6";
    vec![
        case::<Pinata>(
            revoker_pinata::revoker_root_module(),
            "pinata",
            "revoke-gateway-key",
            &[("gateway-id", GATEWAY), ("key-id", KEY)],
            200,
            r#"{"data":null}"#,
        ),
        case::<Pinata>(
            revoker_pinata::revoker_root_module(),
            "pinata",
            "create-gateway-key",
            &[("gateway-id", GATEWAY)],
            200,
            r#"{"data":{"id":"e8fe078b-38e8-4472-94e7-9023205232d2","value":"key","createdAt":"2024-07-12T15:34:59.786198063Z"}}"#,
        ),
        case::<Pinata>(
            revoker_pinata::revoker_root_module(),
            "pinata",
            "revoke-api-key",
            &[("api-key", "a1b2c3d4e5f6a7b8c9d0")],
            200,
            r#""Revoked""#,
        ),
        case::<LangWatch>(
            revoker_langwatch::revoker_root_module(),
            "langwatch",
            "revoke-virtual-key",
            &[("id", "vk_01HXTESTKEY")],
            200,
            r#"{"virtual_key":{"id":"vk_01HXTESTKEY","display_prefix":"lw_vk_live_01HX","name":"ci","description":null,"environment":"live","status":"revoked","principal_user_id":null,"provider_credential_ids":["pc_1"],"revision":"7","last_used_at":null,"created_at":"2026-01-01T00:00:00Z"}}"#,
        ),
        case::<Dolfin>(
            revoker_dolfin::revoker_root_module(),
            "dolfin",
            "revoke-api-key",
            &[("id", GATEWAY)],
            204,
            "",
        ),
    ]
}

fn plan_and_interpret(c: &mut Criterion) {
    let dir = plugin_file("pinata")
        .parent()
        .expect("in a directory")
        .to_owned();
    let registry = Registry::load(&[dir], &LoadOptions::default());
    let plugins: Vec<Arc<Plugin>> = ["pinata", "langwatch", "dolfin"]
        .into_iter()
        .map(|provider| Arc::clone(registry.get(provider).expect("the plugin loads")))
        .collect();
    let mut group = c.benchmark_group("plan+interpret");
    for case in cases() {
        let plugin = plugins
            .iter()
            .find(|p| p.provider() == case.provider)
            .expect("loaded");
        let name = format!("{}/{}", case.provider, case.operation);
        group.bench_function(format!("{name}/abi"), |b| {
            b.iter(|| {
                let request = plugin
                    .plan(case.operation, black_box(&case.params))
                    .unwrap();
                let outcome = plugin
                    .interpret(case.operation, &case.params, black_box(&case.response))
                    .unwrap();
                black_box((request, outcome))
            });
        });
        group.bench_function(format!("{name}/abi-in-process"), |b| {
            let operation = RStr::from(case.operation);
            b.iter(|| {
                let request = (case.module.plan())(operation, black_box(&case.params)).unwrap();
                let outcome =
                    (case.module.interpret())(operation, &case.params, black_box(&case.response))
                        .unwrap();
                black_box((request, outcome))
            });
        });
        group.bench_function(format!("{name}/direct"), |b| {
            b.iter(|| {
                let request = (case.plan)(case.operation, black_box(&case.params)).unwrap();
                let outcome =
                    (case.interpret)(case.operation, &case.params, black_box(&case.response))
                        .unwrap();
                black_box((request, outcome))
            });
        });
    }
    group.finish();
}

/// A module of one empty function, built like a plugin's root module.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = NoopModuleRef)))]
struct NoopModule {
    #[sabi(last_prefix_field)]
    noop: extern "C" fn(u64) -> u64,
}

extern "C" fn noop(x: u64) -> u64 {
    x
}

trait Noop {
    fn noop(&self, x: u64) -> u64;
}

struct Plain;

impl Noop for Plain {
    fn noop(&self, x: u64) -> u64 {
        x
    }
}

fn noop_call(c: &mut Criterion) {
    let module: NoopModuleRef = NoopModule { noop }.leak_into_prefix();
    let module = black_box(module);
    let plain: Box<dyn Noop> = black_box(Box::new(Plain));
    let mut group = c.benchmark_group("noop");
    group.bench_function("abi", |b| b.iter(|| (module.noop())(black_box(7))));
    group.bench_function("dyn", |b| b.iter(|| plain.noop(black_box(7))));
    group.finish();
}

criterion_group!(benches, plan_and_interpret, noop_call);
criterion_main!(benches);
