//! The dispatch bench links all three plugin crates as rlibs, to call them
//! directly beside their loaded `.so`. Each exports abi_stable's root-module
//! symbol (that is what makes its `.so` a plugin), so the bench binaries would
//! define it three times; no bench uses it, so let the linker keep the first.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-benches=-Wl,--allow-multiple-definition");
    }
}
