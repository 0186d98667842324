// What wasm-bindgen's output carries that the Worker never uses, taken out between wasm-bindgen
// and the final module (called by scripts/worker-bundle.sh; every step checks what it assumes
// and fails the build if the glue is not shaped as expected):
//
//   node scripts/wasm-trim.mjs graph DIR
//     Classes no code can create: a class a dependency exports (the `worker` crate's stream, R2,
//     container and minify classes) that has no constructor (JS cannot make one) and no
//     `__wrap` (the wasm never hands one to JS). Their methods are wasm exports, so wasm-opt
//     keeps them and all they reach. This writes DIR/graph.json for wasm-metadce (every export
//     but those), and removes the classes from DIR/index.js.
//   node scripts/wasm-trim.mjs rename DIR NAMES
//     The wasm's import, export and module names are minified by wasm-opt
//     (--minify-imports-and-exports-and-modules, whose mapping is NAMES): the glue's import
//     object and its `wasm.NAME` accesses are renamed to match. Names such as
//     `__wbg_arrayBuffer_39a766224696fd9d` otherwise sit in both files, their hashes beyond gzip.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sections } from "./wasm-sections.mjs";

const [mode, dir, namesFile] = process.argv.slice(2);
const gluePath = path.join(dir, "index.js");
let glue = readFileSync(gluePath, "utf8");
const fail = (msg) => { console.error(`wasm-trim: ${msg}`); process.exit(1); };

/** The wasm's imports and exports, from its import (2) and export (7) sections. */
function interfaceOf(file) {
  const imports = [], exports = [];
  for (const { id, at } of sections(readFileSync(file))) {
    if (id === 7) for (let n = at.leb(); n > 0; n--) { exports.push(at.str()); at.byte(); at.leb(); }
    if (id === 2) for (let n = at.leb(); n > 0; n--) {
      const module = at.str(), name = at.str(), kind = at.byte();
      imports.push({ module, name });
      // Skip the import's description: a type index, a table, a memory, a global or a tag.
      const limits = () => { const max = at.byte() & 1; at.leb(); if (max) at.leb(); };
      if (kind === 0) at.leb();
      else if (kind === 1) { at.byte(); limits(); }
      else if (kind === 2) limits();
      else if (kind === 3) at.p += 2;
      else if (kind === 4) { at.byte(); at.leb(); }
      else fail(`${file}: import kind ${kind} unknown`);
    }
  }
  return { imports, exports };
}

const wasmRefs = (text) => new Set([...text.matchAll(/\bwasm\.(\w+)/g)].map((m) => m[1]));

if (mode === "graph") {
  const { exports } = interfaceOf(path.join(dir, "index_bg.wasm"));
  const inClasses = new Set(), classes = [];
  for (const m of glue.matchAll(/^(?:\/\*\*\n(?: \*.*\n)* \*\/\n)?(?:export )?class (\w+) \{\n[\s\S]*?\n\}\n(?:if \(Symbol\.dispose\) \1\.prototype\[Symbol\.dispose\] = \1\.prototype\.free;\n)?/gm)) {
    const [text, name] = m;
    if (/\bconstructor\(/.test(text) || /\bstatic __wrap\(/.test(text)) continue;
    classes.push({ name, text });
    for (const e of wasmRefs(text)) inClasses.add(e);
  }
  for (const { name, text } of classes) {
    glue = glue.replace(text, () => "");
    const fin = new RegExp(`^const ${name}Finalization = \\(typeof FinalizationRegistry === 'undefined'\\)\\n[\\s\\S]*?\\n\\}\\);\\n`, "m");
    if (!fin.test(glue)) fail(`${name}: its FinalizationRegistry is not where expected`);
    glue = glue.replace(fin, "");
    glue = glue.replace(new RegExp(`^export \\{ ${name} \\};?\\n`, "m"), "");
    if (new RegExp(`\\b${name}\\b`).test(glue)) fail(`${name} is still referenced after its removal`);
  }
  // What only those classes used (their methods, getters, setters and `free`); what the rest of
  // the glue uses too (the allocator) stays.
  const rest = wasmRefs(glue);
  const dropped = new Set([...inClasses].filter((e) => !rest.has(e)));
  for (const e of dropped) if (!exports.includes(e)) fail(`${e}: not an export of the wasm`);
  const kept = exports.filter((e) => !dropped.has(e));
  const graph = [{ name: "glue", root: true, reaches: kept.map((e) => `export:${e}`) }, ...exports.map((e) => ({ name: `export:${e}`, export: e }))];
  writeFileSync(path.join(dir, "graph.json"), JSON.stringify(graph));
  writeFileSync(gluePath, glue);
  console.log(`wasm-trim: ${classes.map((c) => c.name).join(", ") || "no classes"} removed; ${dropped.size} of the ${exports.length} wasm exports with them`);
} else if (mode === "rename") {
  const names = JSON.parse(readFileSync(namesFile, "utf8"));
  const final = interfaceOf(path.join(dir, "final.wasm"));
  const modules = new Set(final.imports.map((i) => i.module));
  if (modules.size > 1) fail(`the minified imports come from ${modules.size} modules`);
  const [module] = modules;
  if (!/^[A-Za-z_$][\w$]*$/.test(module ?? "")) fail(`module name ${module}`);
  const esc = (t) => t.replace(/[$]/g, "\\$");
  const ident = (s) => /^[A-Za-z_$][\w$]*$/.test(s) || fail(`${s}: not a JavaScript identifier`);
  // The import object: `const import0 = { __proto__: null, NAME: ..., }` for ./index_bg.js, and
  // one namespace import per snippet module; the minified wasm has one module with all of them.
  const ret = /^ {4}return \{\n {8}__proto__: null,\n((?: {8}"[^"]+": import\d+,\n)+) {4}\};\n/m.exec(glue);
  if (!ret) fail("the import object's return is not where expected");
  const sources = Object.fromEntries([...ret[1].matchAll(/"([^"]+)": (import\d+)/g)].map((m) => [m[1], m[2]]));
  if (sources["./index_bg.js"] !== "import0") fail("./index_bg.js is not import0");
  const extra = [];
  for (const [mod, base, short] of names.imports) {
    ident(short);
    if (!sources[mod]) fail(`${mod}: not in the import object`);
    if (mod === "./index_bg.js") {
      const key = new RegExp(`^( {8})${esc(base)}(: )`, "gm");
      const hits = glue.match(key)?.length ?? 0;
      if (hits !== 1) fail(`${base}: ${hits} keys in the import object`);
      glue = glue.replace(key, (_, indent, colon) => `${indent}${short}${colon}`); // a function: `$` is a name
    } else {
      ident(base);
      extra.push(`        ${short}: ${sources[mod]}.${base},\n`);
    }
  }
  const end = /^( {8}[\w$]+: .*\n)( {4}\};\n {4}return \{\n)/m;
  if (!end.test(glue)) fail("import0's end is not where expected");
  glue = glue.replace(end, (_, last, close) => `${last}${extra.join("")}${close}`);
  glue = glue.replace(ret[0], () => `    return { __proto__: null, ${module}: import0 };\n`);
  const exportNames = new Map(names.exports);
  for (const e of wasmRefs(glue)) if (!exportNames.has(e)) fail(`wasm.${e}: no export of that name`);
  glue = glue.replace(/\bwasm\.(\w+)/g, (_, e) => { const short = exportNames.get(e); ident(short); return `wasm.${short}`; });
  // Every import of the final wasm is one key of the import object, under its new name.
  for (const { name } of final.imports) {
    const n = glue.match(new RegExp(`^ {8}${esc(name)}: `, "gm"))?.length ?? 0;
    if (n !== 1) fail(`import ${name}: ${n} keys in the renamed import object`);
  }
  const wanted = new Set(final.imports.map((i) => i.name));
  for (const [, , short] of names.imports) if (!wanted.delete(short)) fail(`${short}: not imported by the wasm`);
  if (wanted.size) fail(`imports without a mapping: ${[...wanted].join(", ")}`);
  writeFileSync(gluePath, glue);
} else {
  fail("usage: wasm-trim.mjs graph DIR | rename DIR NAMES");
}
