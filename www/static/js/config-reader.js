// The configuration reader: a second module (the checker plus `config::load`), fetched the first
// time the user chooses "from its configuration", so the first download stays small.
import { run } from "./checker.js";
import { importConfigReader } from "./wasm.js";

export const configReader = { module: null, loading: null, error: null };

export function loadConfigReader() {
  configReader.loading ??= importConfigReader()
    .then(async (m) => {
      await m.default();
      configReader.module = m;
    })
    .catch((e) => {
      configReader.error = e;
    })
    .finally(() => run());
  return configReader.loading;
}
