//! Where a future's code lives in the wasm.

/// A future kept out of its caller: boxed behind a vtable by a function LLVM may not inline, so
/// its `poll` stays a wasm function of its own instead of being inlined into the caller's. V8
/// compiles a wasm function whole on its first call: an isolate's first request then compiles
/// the code of the paths it runs (a route, a cloud exchange), not of every path.
#[inline(never)]
pub fn outlined<'a, T>(f: impl std::future::Future<Output = T> + 'a) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>> {
    Box::pin(f)
}
