// The core, compiled to wasm (www/src/lib.rs through wasm-bindgen). The paths are the bundle's,
// www/dist/app.js beside www/dist/pkg/: scripts/build-www.sh keeps `./pkg/*` out of the bundle,
// so the browser fetches the glue and its wasm as files of their own.
export { default as init, inspect, vectorVerdicts, discoveryUrl, urlAllowed, jwksUriFrom, jsonError } from "./pkg/edge_sts_playground.js";

/** The configuration reader: a second build of the checker, with `config::load`
 *  (`inspectWithConfig`). A dynamic import, so it is fetched only when called. */
export const importConfigReader = () => import("./pkg/edge_sts_playground_config.js");
