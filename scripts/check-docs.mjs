#!/usr/bin/env node
// Keeps the Markdown true to the repository: every relative link resolves to a file inside the
// repository, and every `#anchor` names a heading of its target (GitHub's slugs). Links that
// leave the repository (`../shared/...`) fail. External URLs (`https:`, `mailto:`) are not fetched.
//
//   node scripts/check-docs.mjs              self-test, then check the repository
//   node scripts/check-docs.mjs --self-test  self-test only
//
// Exits 1 and lists `file:line: problem` for every failure. No dependencies beyond Node.
//
// Also: README.md, ARCHITECTURE.md and docs/performance.md stay within their word caps (`wc -w`'s
// count).
//
// The checks against the code's own registries (every reason code in docs/http.md's error table,
// every configuration field in docs/configuration.md, the routes docs/http.md lists) are Rust
// tests beside the registries, `core/src/docs_tests.rs`, run by `cargo test -p edge-sts-core`.
import { readFileSync, readdirSync, statSync, existsSync, mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// Directories never searched: dependencies, build output, local state.
const SKIP_NAMES = new Set(["node_modules", "target", ".git", ".venv-moto", ".wrangler"]);
const SKIP_PATHS = new Set(["build", "build-test", "build-profile", "build-downstream", "www/dist", "www/pkg", "bench/out", "tests/artifacts", "fuzz/corpus", "fuzz/artifacts"]);

/** Every `*.md` file under `root`, as paths relative to it (forward slashes), sorted. */
export function markdownFiles(root) {
  const out = [];
  const walk = (rel) => {
    for (const ent of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) {
        if (!SKIP_NAMES.has(ent.name) && !SKIP_PATHS.has(r)) walk(r);
      } else if (ent.isFile() && ent.name.endsWith(".md")) {
        out.push(r);
      }
    }
  };
  walk("");
  return out.sort();
}

/** GitHub's heading slug: lowercase, drop punctuation except `-` and `_`, spaces to `-`. */
export function slug(text) {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The text a heading renders to: code spans, links, emphasis and inline HTML reduced to text. */
function headingText(raw) {
  return raw
    .replace(/<[^>]+>/g, "")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/(`+)(.*?)\1/g, "$2")
    .replace(/(\*\*|__|\*)(.+?)\1/g, "$2")
    .trim();
}

/**
 * Splits a Markdown file into what the checks need: headings (with GitHub slugs, duplicates
 * numbered as GitHub does), explicit HTML anchors, and links with their line numbers. Fenced
 * code, indented code blocks and code spans are not read for links.
 */
export function parseMarkdown(text) {
  const lines = text.split("\n");
  const headings = [];
  const anchors = new Set();
  const links = [];
  const counts = new Map();
  const addHeading = (raw, line) => {
    const t = headingText(raw);
    let s = slug(t);
    const n = counts.get(s) ?? 0;
    counts.set(s, n + 1);
    if (n > 0) s = `${s}-${n}`;
    headings.push({ text: t, slug: s, line });
    anchors.add(s);
  };

  // Blocks of prose (consecutive non-blank lines outside fences), with their first line number.
  const blocks = [];
  let fence = null;
  let block = null;
  let prevBlank = true;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (f && f[1][0] === fence[0] && f[1].length >= fence.length && /^ {0,3}[`~]+\s*$/.test(line)) fence = null;
      prevBlank = false;
      continue;
    }
    if (f) {
      fence = f[1];
      block = null;
      continue;
    }
    if (/^\s*$/.test(line)) {
      block = null;
      prevBlank = true;
      continue;
    }
    const atx = /^ {0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$/.exec(line);
    if (atx) {
      addHeading(atx[2] ?? "", i + 1);
      block = null;
      prevBlank = false;
      continue;
    }
    if (block && /^ {0,3}(=+|-+)\s*$/.test(line) && block.lines.length === 1 && !/^\s*([-*+]|\d+[.)])\s/.test(block.lines[0])) {
      addHeading(block.lines[0], block.start);
      blocks.pop();
      block = null;
      continue;
    }
    if (!block) {
      // An indented code block starts after a blank line with 4+ spaces and is not a list item.
      const code = prevBlank && /^( {4,}|\t)/.test(line) && !/^\s*([-*+]|\d+[.)])\s/.test(line);
      block = { start: i + 1, lines: [], code };
      blocks.push(block);
    }
    block.lines.push(line);
    prevBlank = false;
  }

  for (const b of blocks) {
    if (b.code) continue;
    // Remove code spans, keeping line breaks so line numbers stay right.
    const prose = b.lines.join("\n").replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (m) => m.replace(/[^\n]/g, " "));
    const lineOf = (idx) => b.start + prose.slice(0, idx).split("\n").length - 1;
    for (const m of prose.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
    // Inline links and images: [text](dest "title"), with one level of brackets in the text.
    for (const m of prose.matchAll(/!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s)]*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      links.push({ dest: m[1].replace(/^<|>$/g, ""), line: lineOf(m.index) });
    }
    // Reference definitions: [label]: dest
    for (const m of prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm)) {
      links.push({ dest: m[1].replace(/^<|>$/g, ""), line: lineOf(m.index) });
    }
    // Raw HTML links.
    for (const m of prose.matchAll(/<(?:a|img)\s[^>]*\b(?:href|src)="([^"]*)"/g)) {
      links.push({ dest: m[1], line: lineOf(m.index) });
    }
  }
  return { headings, anchors, links };
}

/** Loads and parses every Markdown file under `root`. */
export function loadDocs(root) {
  const docs = new Map();
  for (const rel of markdownFiles(root)) docs.set(rel, parseMarkdown(readFileSync(path.join(root, rel), "utf8")));
  return { root, docs };
}

/** Every relative link resolves inside the repository; every anchor names a heading. */
export function checkLinks({ root, docs }) {
  const problems = [];
  const anchorsOf = (rel) => {
    if (docs.has(rel)) return docs.get(rel).anchors;
    return parseMarkdown(readFileSync(path.join(root, rel), "utf8")).anchors;
  };
  for (const [file, doc] of docs) {
    for (const { dest, line } of doc.links) {
      const at = `${file}:${line}`;
      if (dest === "") {
        problems.push(`${at}: empty link`);
        continue;
      }
      if (/^[a-z][a-z0-9+.-]*:/i.test(dest) || dest.startsWith("//")) continue; // external URL
      const hash = dest.indexOf("#");
      const rawPath = hash < 0 ? dest : dest.slice(0, hash);
      const anchor = hash < 0 ? null : dest.slice(hash + 1);
      let relPath;
      try {
        relPath = decodeURIComponent(rawPath.split("?")[0]);
      } catch {
        problems.push(`${at}: bad percent-encoding in ${dest}`);
        continue;
      }
      let target = file;
      if (relPath !== "") {
        const abs = relPath.startsWith("/") ? path.join(root, relPath) : path.resolve(root, path.dirname(file), relPath);
        target = path.relative(root, abs).split(path.sep).join("/");
        if (target.startsWith("..") || path.isAbsolute(target)) {
          problems.push(`${at}: ${dest} points outside the repository`);
          continue;
        }
        if (!existsSync(abs)) {
          problems.push(`${at}: ${dest}: no such file`);
          continue;
        }
        if (anchor !== null && statSync(abs).isDirectory()) {
          problems.push(`${at}: ${dest}: an anchor on a directory`);
          continue;
        }
      }
      if (anchor === null || anchor === "") continue;
      if (!target.endsWith(".md")) {
        if (!/^L\d+(-L\d+)?$/.test(anchor)) problems.push(`${at}: ${dest}: #${anchor} is not a line anchor of a non-Markdown file`);
        continue;
      }
      let a;
      try {
        a = decodeURIComponent(anchor);
      } catch {
        a = anchor;
      }
      if (!anchorsOf(target).has(a)) problems.push(`${at}: ${dest}: no heading #${a} in ${target}`);
    }
  }
  return problems;
}

// ---- word caps ------------------------------------------------------------------------------------

/** The most words each file may have (whitespace-separated, as `wc -w` counts). */
export const WORD_CAPS = { "README.md": 3000, "ARCHITECTURE.md": 5000, "docs/performance.md": 2000 };

export function wordCount(text) {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The capped files stay short: a fact that needs more words has another home. */
export function checkWordCaps({ root }, caps = WORD_CAPS) {
  const problems = [];
  for (const [file, cap] of Object.entries(caps)) {
    const abs = path.join(root, file);
    if (!existsSync(abs)) {
      problems.push(`${file}: missing`);
      continue;
    }
    const n = wordCount(readFileSync(abs, "utf8"));
    if (n > cap) problems.push(`${file}: ${n} words, over its cap of ${cap}`);
  }
  return problems;
}

export const DOC_CHECKS = [checkLinks, checkWordCaps];

export function checkRepository(root) {
  const ctx = loadDocs(root);
  return { files: ctx.docs.size, problems: DOC_CHECKS.flatMap((check) => check(ctx)) };
}

// ---- self-test: a tiny fixture with known breakage that the checks must find -------------------

export function selfTest() {
  const dir = mkdtempSync(path.join(tmpdir(), "check-docs-"));
  const repo = path.join(dir, "repo");
  try {
    mkdirSync(path.join(repo, "docs"), { recursive: true });
    mkdirSync(path.join(repo, "node_modules/x"), { recursive: true });
    mkdirSync(path.join(dir, "shared"), { recursive: true });
    writeFileSync(path.join(dir, "shared/CONTRACT.md"), "# Contract\n");
    writeFileSync(path.join(repo, "node_modules/x/README.md"), "[broken](nowhere.md)\n");
    writeFileSync(path.join(repo, "src.rs"), "fn main() {}\n");
    writeFileSync(
      path.join(repo, "README.md"),
      [
        "# Title",
        "",
        "See [the guide](docs/guide.md#getting-started), [its table](docs/guide.md#targetsnameaws--gcp--azure),",
        "[the second one](docs/guide.md#errors-1), [here](#title), [code](src.rs#L1) and [mail](mailto:a@b.c).",
        "",
        "Broken: [gone](docs/gone.md) and [bad anchor](docs/guide.md#no-such-heading).",
        "Outside: [contract](../shared/CONTRACT.md).",
        "",
        "```",
        "[in a fence](fenced.md)",
        "```",
        "",
        "    [indented code](indented.md)",
        "",
        "Inline `[code span](span.md)` is not a link.",
        "",
        "[ref]: docs/missing.md",
        "",
      ].join("\n"),
    );
    writeFileSync(
      path.join(repo, "docs/guide.md"),
      [
        "# Guide",
        "",
        "## Getting started",
        "",
        "#### `targets.{name}.aws | gcp | azure`",
        "",
        "## Errors",
        "",
        "## Errors",
        "",
        "Back to the [top](../README.md#title) and [a self link](#getting-started).",
        "",
      ].join("\n"),
    );
    const { files, problems } = checkRepository(repo);
    const expected = [
      "README.md:6: docs/gone.md: no such file",
      "README.md:6: docs/guide.md#no-such-heading: no heading #no-such-heading in docs/guide.md",
      "README.md:7: ../shared/CONTRACT.md points outside the repository",
      "README.md:17: docs/missing.md: no such file",
      "ARCHITECTURE.md: missing",
      "docs/performance.md: missing",
    ];
    const fail = [];
    if (files !== 2) fail.push(`expected 2 Markdown files (node_modules skipped), found ${files}`);
    if (JSON.stringify(problems) !== JSON.stringify(expected)) {
      fail.push(`expected:\n  ${expected.join("\n  ")}\nfound:\n  ${problems.join("\n  ")}`);
    }
    if (wordCount(" one\ttwo\n three  ") !== 3) fail.push("wordCount miscounts");
    const capped = checkWordCaps({ root: repo }, { "README.md": 10, "docs/guide.md": 1000 });
    if (!(capped.length === 1 && /^README\.md: \d+ words, over its cap of 10$/.test(capped[0]))) {
      fail.push(`word caps: expected README.md over its cap of 10, found ${JSON.stringify(capped)}`);
    }
    const slugCases = [
      ["What `scripts/test.sh` runs", "what-scriptstestsh-runs"],
      ["`targets.{name}.aws | gcp | azure`", "targetsnameaws--gcp--azure"],
      ["Bird's-eye view", "birds-eye-view"],
      ["`POST /token`, start to end", "post-token-start-to-end"],
      ["max_body_bytes", "max_body_bytes"],
    ];
    for (const [h, want] of slugCases) {
      const got = slug(headingText(h));
      if (got !== want) fail.push(`slug(${JSON.stringify(h)}) = ${got}, expected ${want}`);
    }
    return fail;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const selfFail = selfTest();
  if (selfFail.length) {
    console.error(`check-docs self-test failed:\n${selfFail.join("\n")}`);
    process.exit(1);
  }
  console.log("check-docs: self-test ok");
  if (!process.argv.includes("--self-test")) {
    const { files, problems } = checkRepository(ROOT);
    if (problems.length) {
      console.error(`check-docs: ${problems.length} problem(s) in ${files} Markdown files:\n${problems.join("\n")}`);
      process.exit(1);
    }
    console.log(`check-docs: ${files} Markdown files, every relative link and anchor resolves; every capped file within its word cap`);
  }
}
