// The page's check labels and the core's checks cannot drift apart: every id the core's
// `inspect::CheckId` enum has (read from the built wasm's `checkIds()` export, which serialises
// `CheckId::ALL`) has a label in CHECK_LABELS (www/static/js/check-labels.js, the module the page's
// bundle takes them from), and CHECK_LABELS labels no id the core does not have. No browser
// needed: the wasm and the labels' module run in node.
//
//   scripts/test-www.sh      (builds www/dist first)
import assert from "node:assert/strict";
import { test } from "node:test";
import { readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = join(ROOT, "www/dist/pkg");

/** The core's check ids, in report order, from the wasm the page loads. */
async function coreCheckIds() {
  const glue = await import(join(PKG, "edge_sts_playground.js"));
  glue.initSync({ module: await readFile(join(PKG, "edge_sts_playground_bg.wasm")) });
  return JSON.parse(glue.checkIds());
}

/** CHECK_LABELS as the page's module exports it. */
async function pageLabels() {
  const { CHECK_LABELS } = await import(pathToFileURL(join(ROOT, "www/static/js/check-labels.js")).href);
  assert.ok(CHECK_LABELS && typeof CHECK_LABELS === "object", "www/static/js/check-labels.js exports CHECK_LABELS, an object");
  return CHECK_LABELS;
}

test("every core check id has a label in the page, and the page labels no other id", async () => {
  const ids = await coreCheckIds();
  const labels = await pageLabels();
  assert.ok(ids.length >= 20, `the core reports ${ids.length} check ids`);
  assert.equal(new Set(ids).size, ids.length, "check ids are unique");
  const unlabelled = ids.filter((id) => !Object.hasOwn(labels, id));
  assert.deepEqual(unlabelled, [], "check ids the core reports but CHECK_LABELS in www/static/js/check-labels.js does not label");
  const unknown = Object.keys(labels).filter((id) => !ids.includes(id));
  assert.deepEqual(unknown, [], "ids CHECK_LABELS labels but the core's inspect::CheckId does not have");
  for (const id of ids) {
    assert.equal(typeof labels[id], "string", `label for ${id}`);
    assert.ok(labels[id].trim().length > 0 && labels[id] !== id, `label for ${id} says more than the id`);
  }
});

test("the ids are the ones a report carries", async () => {
  // A token that decodes reports every check once, in CheckId order (the core's own test holds
  // this for many tokens; here the wasm the page runs is asked).
  const glue = await import(join(PKG, "edge_sts_playground.js"));
  const ids = await coreCheckIds();
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const token = `${b64({ alg: "ES256", typ: "JWT", kid: "k1" })}.${b64({ iss: "https://kc.example", exp: 2e9 })}.${Buffer.from("sig").toString("base64url")}`;
  const report = JSON.parse(glue.inspect(token, "", "", 1.8e9));
  assert.deepEqual(report.checks.map((c) => c.id), ids);
});
