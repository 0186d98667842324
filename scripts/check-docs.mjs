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
// Also: README.md, ARCHITECTURE.md, CONTRIBUTING.md and docs/performance.md stay within their word caps (`wc -w`'s
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

// Directories never searched: dependencies, build output, local state (and any `.venv-*`).
const SKIP_NAMES = new Set(["node_modules", "target", ".git", ".wrangler"]);
const SKIP_PATHS = new Set(["build", "build-test", "build-profile", "build-downstream", "www/dist", "www/pkg", "bench/out", "tests/artifacts", "fuzz/corpus", "fuzz/artifacts", "fuzz/target"]);
const skipDir = (name, rel) => SKIP_NAMES.has(name) || name.startsWith(".venv") || SKIP_PATHS.has(rel);

/** Every file under `root` whose relative path passes `keep`, relative to it (forward slashes), sorted. */
export function repoFiles(root, keep) {
  const out = [];
  const walk = (rel) => {
    for (const ent of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) {
        if (!skipDir(ent.name, r)) walk(r);
      } else if (ent.isFile() && keep(r)) {
        out.push(r);
      }
    }
  };
  walk("");
  return out.sort();
}

/** Every `*.md` file under `root`, as paths relative to it (forward slashes), sorted. */
export function markdownFiles(root) {
  return repoFiles(root, (r) => r.endsWith(".md"));
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
export const WORD_CAPS = { "README.md": 2000, "ARCHITECTURE.md": 2500, "CONTRIBUTING.md": 2500, "docs/performance.md": 2000 };

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

// ---- raw Markdown helpers ------------------------------------------------------------------------

const readIf = (root, rel) => (existsSync(path.join(root, rel)) ? readFileSync(path.join(root, rel), "utf8") : null);

/** The lines of a Markdown text outside fenced code blocks, with their 1-based numbers. */
function proseLines(text) {
  const out = [];
  let fence = null;
  text.split("\n").forEach((line, i) => {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (f && f[1][0] === fence[0] && f[1].length >= fence.length) fence = null;
    } else if (f) {
      fence = f[1];
    } else {
      out.push({ line, n: i + 1 });
    }
  });
  return out;
}

/** Code spans (single backticks) of a line. */
const codeSpans = (line) => [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

// ---- the code map: ARCHITECTURE.md names files that exist, and every module -----------------------

/** Folders whose every top-level module (file or folder; `mod.rs` aside) the code map must name. */
export const CODE_MAP_DIRS = ["core/src", "src"];

/**
 * Under ARCHITECTURE.md's `## Code map`, every code span shaped like a repository path (a `/`
 * inside, no spaces or wildcards, not a route such as `/__test/*`) must exist, and every entry of
 * `CODE_MAP_DIRS` must be named, itself or by a path inside it.
 */
export function checkCodeMap({ root }, dirs = CODE_MAP_DIRS) {
  const text = readIf(root, "ARCHITECTURE.md");
  if (text === null) return []; // the word caps report it missing
  const problems = [];
  const named = new Set();
  let inMap = false;
  for (const { line, n } of proseLines(text)) {
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h && h[1].length === 2) inMap = /^Code map\s*$/.test(h[2]);
    if (!inMap || h) continue;
    for (const span of codeSpans(line)) {
      // A path starts with a top-level entry of the repository (`RS256/384` and `sts/` are not paths);
      // build output (`www/dist/`) may be named before it is built.
      if (!/^[\w.-]+\/[\w./-]*$/.test(span) || !existsSync(path.join(root, span.split("/")[0]))) continue;
      const rel = span.replace(/\/$/, "");
      named.add(rel);
      const built = [...SKIP_PATHS].some((s) => rel === s || rel.startsWith(`${s}/`));
      if (!built && !existsSync(path.join(root, rel))) problems.push(`ARCHITECTURE.md:${n}: the code map names ${span}, which does not exist`);
    }
  }
  if (!/^## Code map\s*$/m.test(text)) return ["ARCHITECTURE.md: no `## Code map` section"];
  for (const dir of dirs) {
    if (!existsSync(path.join(root, dir))) continue;
    for (const ent of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (ent.name === "mod.rs" || (dir !== "src" && ent.name === "lib.rs")) continue;
      const rel = `${dir}/${ent.name}`;
      if (![...named].some((p) => p === rel || p.startsWith(`${rel}/`))) {
        problems.push(`ARCHITECTURE.md: the code map does not name ${rel}`);
      }
    }
  }
  return problems;
}

// ---- the suites: CONTRIBUTING.md lists every test file, and only files that exist -----------------

/** Where the test suites live: a folder and the file names in it that are suites. */
export const SUITE_DIRS = [
  ["tests/e2e", /\.test\.mjs$/],
  ["tests/www", /\.test\.mjs$/],
  ["tests/support", /\.test\.mjs$/],
  ["core/tests", /\.rs$/],
  ["cli/tests", /\.rs$/],
];

/**
 * Every suite file on disk is listed in CONTRIBUTING.md, and every listed one exists. A file is
 * listed by its full path in a code span, or by its name in a code span of a section whose
 * heading names its folder in a code span (`### End to end (`tests/e2e/`)`).
 */
export function checkSuites({ root }, suiteDirs = SUITE_DIRS) {
  const text = readIf(root, "CONTRIBUTING.md");
  if (text === null) return [];
  const problems = [];
  const listed = new Map(); // path -> line
  let headingDirs = [];
  for (const { line, n } of proseLines(text)) {
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      headingDirs = codeSpans(h[1]).map((s) => s.replace(/\/$/, ""));
      continue;
    }
    for (const span of codeSpans(line)) {
      for (const [dir, re] of suiteDirs) {
        const name = span.startsWith(`${dir}/`) ? span.slice(dir.length + 1) : span;
        if (!/^[\w.-]+$/.test(name) || !re.test(name)) continue;
        const full = name !== span;
        const byName = !full && headingDirs.includes(dir);
        if (full || byName) {
          const rel = full ? span : `${dir}/${span}`;
          if (!listed.has(rel)) listed.set(rel, n);
        }
      }
    }
  }
  for (const [rel, n] of listed) {
    if (!existsSync(path.join(root, rel))) problems.push(`CONTRIBUTING.md:${n}: lists the suite ${rel}, which does not exist`);
  }
  for (const [dir, re] of suiteDirs) {
    if (!existsSync(path.join(root, dir))) continue;
    for (const ent of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${ent.name}`;
      if (ent.isFile() && re.test(ent.name) && !listed.has(rel)) problems.push(`CONTRIBUTING.md: the suite ${rel} is not listed`);
    }
  }
  return problems;
}

// ---- the set-up: what scripts/setup.sh installs is what the docs say it installs -----------------

/** The files that describe the set-up. */
export const SETUP_DOCS = ["CONTRIBUTING.md", "README.md"];

/** What scripts/setup.sh installs: its Python venvs, `cargo install`s and rustup targets. */
export function setupInstalls(script) {
  const names = new Set();
  for (const m of script.matchAll(/^[^#\n]*?\bpython3 -m venv\s+([\w.-]+)/gm)) names.add(m[1]);
  for (const m of script.matchAll(/^[^#\n]*?\bcargo install\s+([\w-]+)/gm)) names.add(m[1]);
  for (const m of script.matchAll(/^[^#\n]*?\brustup target add\s+([\w-]+)/gm)) names.add(m[1]);
  return [...names];
}

export function checkSetup({ root }, docs = SETUP_DOCS) {
  const script = readIf(root, "scripts/setup.sh");
  if (script === null) return [];
  const problems = [];
  for (const doc of docs) {
    const text = readIf(root, doc);
    if (text === null) continue;
    for (const name of setupInstalls(script)) {
      if (!text.includes(`\`${name}\``)) problems.push(`${doc}: does not name \`${name}\`, which scripts/setup.sh installs`);
    }
  }
  return problems;
}

// ---- no history: no issue numbers, no diary in docs, code, test names or scripts -----------------

/**
 * Phrases that point at history a reader of the repository cannot resolve: issue numbers and the
 * diary of how the code got here. Precise on purpose: `PKCS#8`, `RFC 6749 §5.2`, CSS colours and
 * "the key used to sign" do not match.
 */
export const HISTORY_PATTERNS = [
  [/\bissues?[\s-]*#?\d+/i, "an issue number"],
  [/\(issue\b[:)]|\bthe issue's\b/i, "an issue reference"],
  [/\b(?:PR|pull request|fix(?:es|ed)?|close[sd]?|see|refs?)\s+#\d+\b/i, "an issue number (#N)"],
  [/\b(?:this|that|the previous|the last|an earlier) stop(?:'s)?\b/i, "a work-session reference"],
  [/\b(?:this|that|the previous|an earlier) session(?:'s)?\b(?!\s+(?:name|token|tags?|policy|policies|credentials?|duration))/i, "a work-session reference"],
  [/\bbefore this (?:change|commit|fix|stop|session|issue|branch|patch)\b/i, "history (before this ...)"],
  [/\b(?:we|it|edge-sts|this|that|they) used to\b/i, "history (used to)"],
  [/\bcommit [0-9a-f]{7,40}\b/i, "a commit hash"],
  [/\bformerly\b|\b(?:it|they|this|that) replaced\b/i, "history (formerly, replaced)"],
];

/** Files the no-history rule fails for (path prefixes); the rest are reported. `[""]` enforces it everywhere. */
export const HISTORY_ENFORCED = [""];

/** Text files the rule reads: docs, code, tests, scripts (not lock files or data). */
const HISTORY_TEXT = /(\.(md|rs|mjs|cjs|js|sh|toml|html|css|py|ya?ml)|\/run|^LICENSE[\w.-]*)$/;
const HISTORY_SKIP = /(^|\/)(package-lock\.json|Cargo\.lock)$|^fuzz\/seeds\//;

/** Every history phrase in the repository's text files: `{ file, line, what, text }`. */
export function historyHits(root) {
  const hits = [];
  for (const rel of repoFiles(root, (r) => HISTORY_TEXT.test(r) && !HISTORY_SKIP.test(r))) {
    if (rel === "scripts/check-docs.mjs") continue; // the patterns and their self-test fixtures
    readFileSync(path.join(root, rel), "utf8").split("\n").forEach((text, i) => {
      for (const [re, what] of HISTORY_PATTERNS) {
        if (re.test(text)) {
          hits.push({ file: rel, line: i + 1, what, text: text.trim().slice(0, 120) });
          break;
        }
      }
    });
  }
  return hits;
}

const enforced = (file, prefixes) => prefixes.some((p) => file === p || ((p === "" || p.endsWith("/")) && file.startsWith(p)));

/** Hits in enforced files are problems; the others are added to `ctx.reported`, to be shown only. */
export function checkHistory(ctx, prefixes = HISTORY_ENFORCED) {
  const problems = [];
  for (const h of historyHits(ctx.root)) {
    const s = `${h.file}:${h.line}: ${h.what}: ${h.text}`;
    if (enforced(h.file, prefixes)) problems.push(s);
    else ctx.reported?.push(s);
  }
  return problems;
}

export const DOC_CHECKS = [checkLinks, checkWordCaps, checkCodeMap, checkSuites, checkSetup, checkHistory];

export function checkRepository(root) {
  const ctx = { ...loadDocs(root), reported: [] };
  const problems = DOC_CHECKS.flatMap((check) => check(ctx));
  return { files: ctx.docs.size, problems, reported: ctx.reported };
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
      "CONTRIBUTING.md: missing",
      "docs/performance.md: missing",
    ];
    const fail = [];
    if (files !== 2) fail.push(`expected 2 Markdown files (node_modules skipped), found ${files}`);
    if (JSON.stringify(problems) !== JSON.stringify(expected)) {
      fail.push(`expected:\n  ${expected.join("\n  ")}\nfound:\n  ${problems.join("\n  ")}`);
    }
    if (wordCount(" one\ttwo\n three  ") !== 3) fail.push("wordCount miscounts");
    fail.push(...selfTestRepositoryRules(path.join(dir, "rules")));
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

/** The code map, suite, set-up and history checks on a fixture with known breakage. */
function selfTestRepositoryRules(repo) {
  const files = {
    "ARCHITECTURE.md": [
      "# Architecture",
      "",
      "Outside the map: `core/src/outside.rs`.",
      "",
      "## Code map",
      "",
      "- `core/src/a.rs`: named and present; `core/src/gone.rs`: named, missing.",
      "- `core/src/dir/`: a folder. Not paths: `/__test/*`, `RS256/384`, `sts/`. Built later: `build/x.js`.",
      "",
      "```",
      "`core/src/fenced.rs`",
      "```",
      "",
      "## Caches",
      "",
      "`core/src/later.rs` is after the map.",
      "",
    ],
    "core/src/a.rs": [],
    "core/src/b.rs": [],
    "core/src/lib.rs": [],
    "core/src/dir/x.rs": [],
    "CONTRIBUTING.md": [
      "# Contributing",
      "",
      "Set-up: `scripts/setup.sh` makes `.venv-a` and installs `tool-x`.",
      "",
      "### End to end (`tests/e2e/`)",
      "",
      "| `a.test.mjs` | present | `gone.test.mjs` | missing | `tests/e2e/*.test.mjs` | a glob |",
      "",
      "### Native",
      "",
      "`core/tests/x.rs` by its path; `c.test.mjs` by name in a section that does not name its folder.",
      "",
    ],
    "tests/e2e/a.test.mjs": [],
    "tests/e2e/b.test.mjs": [],
    "tests/e2e/c.test.mjs": [],
    "core/tests/x.rs": [],
    "scripts/setup.sh": ["python3 -m venv .venv-a", "cargo install tool-x --version 1", "# python3 -m venv .venv-commented"],
    "README.md": [
      "# Readme",
      "",
      "`scripts/setup.sh` makes `.venv-a`. See issue 12 §3.",
      "",
    ],
    "src/y.rs": [
      "// Issue 10 §1: a rule named by its issue.",
      "// PKCS#8 keys, RFC 6749 §5.2, the key used to sign, an AWS session name, color: #333.",
      "// The scan it replaced.",
    ],
    "tests/e2e/d.mjs": ['test("issue-7: refused", () => {});'],
    ".venv-a/lib/m.py": ["# issue 3"],
    "node_modules/x/index.js": ["// issue 4"],
    "target/x.rs": ["// issue 5"],
    "fuzz/corpus/token/x.rs": ["// issue 6"],
  };
  for (const [rel, lines] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
    writeFileSync(path.join(repo, rel), lines.join("\n"));
  }
  const fail = [];
  const expect = (name, got, want) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) fail.push(`${name}: expected:\n  ${want.join("\n  ")}\nfound:\n  ${got.join("\n  ")}`);
  };
  const ctx = { root: repo, reported: [] };
  expect("code map", checkCodeMap(ctx, ["core/src"]), [
    "ARCHITECTURE.md:7: the code map names core/src/gone.rs, which does not exist",
    "ARCHITECTURE.md: the code map does not name core/src/b.rs",
  ]);
  expect("suites", checkSuites(ctx, [["tests/e2e", /\.test\.mjs$/], ["core/tests", /\.rs$/]]), [
    "CONTRIBUTING.md:7: lists the suite tests/e2e/gone.test.mjs, which does not exist",
    "CONTRIBUTING.md: the suite tests/e2e/b.test.mjs is not listed",
    "CONTRIBUTING.md: the suite tests/e2e/c.test.mjs is not listed",
  ]);
  expect("set-up", checkSetup(ctx), ["README.md: does not name `tool-x`, which scripts/setup.sh installs"]);
  expect("history (enforced)", checkHistory(ctx, ["README.md"]), ["README.md:3: an issue number: `scripts/setup.sh` makes `.venv-a`. See issue 12 §3."]);
  expect("history (reported)", ctx.reported, [
    "src/y.rs:1: an issue number: // Issue 10 §1: a rule named by its issue.",
    "src/y.rs:3: history (formerly, replaced): // The scan it replaced.",
    'tests/e2e/d.mjs:1: an issue number: test("issue-7: refused", () => {});',
  ]);
  const all = { root: repo, reported: [] };
  if (checkHistory(all, [""]).length !== 4 || all.reported.length !== 0) fail.push('history: [""] should enforce the rule everywhere');
  return fail;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const selfFail = selfTest();
  if (selfFail.length) {
    console.error(`check-docs self-test failed:\n${selfFail.join("\n")}`);
    process.exit(1);
  }
  console.log("check-docs: self-test ok");
  if (!process.argv.includes("--self-test")) {
    const { files, problems, reported } = checkRepository(ROOT);
    if (reported.length) {
      console.log(`check-docs: ${reported.length} history phrase(s) outside HISTORY_ENFORCED (reported, not failing):\n  ${reported.join("\n  ")}`);
    }
    if (problems.length) {
      console.error(`check-docs: ${problems.length} problem(s) in ${files} Markdown files and the repository:\n${problems.join("\n")}`);
      process.exit(1);
    }
    console.log(`check-docs: ${files} Markdown files; links, anchors, word caps, code map, suites, set-up and history (enforced files) hold`);
  }
}
