//! The core's modules are grouped into layer folders, listed in [`LAYERS`] bottom to top. Every
//! `crate::<path>` (or a re-export of lib.rs, such as `crate::Error`) in a module's code is an
//! edge. Two rules hold:
//!
//! - a module imports only from its own layer and the layers below it;
//! - the modules form a graph without cycles. A cycle means two modules can only be understood,
//!   tested and changed together; cut it by moving the shared item into a module of its own.
//!
//! A module is `layer::module` in a layer folder that holds several (`jose::jwk`), or the folder
//! itself where a layer is one module (`config`, `clouds`).
//! Test code is not part of the graph: `#[cfg(test)] mod x;` lines are skipped and a file is
//! read up to its first other `#[cfg(test)]` item.
//! Comments and string literals are skipped, so a doc link is not a dependency.
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One `crate::` reference: where it is, for the failure message.
#[derive(Debug, Clone)]
struct Site {
    file: String,
    line: usize,
}

type Graph = BTreeMap<String, BTreeMap<String, Vec<Site>>>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The file's code up to its first `#[cfg(test)]` line, with comments and the contents of
/// string and char literals blanked out (newlines kept, so line numbers stay right).
fn code_of(text: &str) -> String {
    // `#[cfg(test)] mod x;` (a test module in its own file) is skipped; any other
    // `#[cfg(test)]` item (an inline test module, by convention at the end) ends the code.
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = String::with_capacity(text.len());
    let mut n = 0;
    while n < lines.len() {
        if lines[n].trim() == "#[cfg(test)]" {
            let next = lines.get(n + 1).map(|l| l.trim()).unwrap_or("");
            let declared = next
                .strip_prefix("mod ")
                .and_then(|r| r.strip_suffix(';'))
                .is_some_and(|m| m.chars().all(|c| c.is_alphanumeric() || c == '_'));
            if !declared {
                break;
            }
            kept.push_str("\n\n");
            n += 2;
            continue;
        }
        kept.push_str(lines[n]);
        kept.push('\n');
        n += 1;
    }
    let src: Vec<char> = kept.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < src.len() {
        let c = src[i];
        let next = src.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < src.len() && src[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < src.len() {
                if src[i] == '/' && src.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if src[i] == '*' && src.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, src[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !src.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // Raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while src.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if src.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match src.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|k| src.get(j + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some(&ch) => {
                        blank(&mut out, ch);
                        j += 1;
                    }
                }
            }
            i = j;
        } else if c == '"' {
            i += 1;
            while i < src.len() && src[i] != '"' {
                if src[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = src.get(i) {
                    blank(&mut out, ch);
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && (next == Some('\\') || src.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\u{..}'); otherwise a lifetime.
            i += 1;
            while i < src.len() && src[i] != '\'' {
                if src[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The layers, bottom to top: the folders of `core/src`.
const LAYERS: [&str; 8] = ["io", "wire", "jose", "issuer", "clouds", "policy", "config", "flow"];
/// Layers that are one module each (their files are that module's submodules).
const SINGLE: [&str; 2] = ["clouds", "config"];

/// `crate::<path>` occurrences: (line, the path's first two segments). `crate::{a::b, c}` and
/// `crate::a::{b, c::d}` give one path per item.
fn crate_refs(code: &str) -> Vec<(usize, Vec<String>)> {
    fn ident(s: &str) -> String {
        s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
    }
    /// The items of a `{...}` group at depth one (nested groups kept whole).
    fn items(group: &str) -> Vec<String> {
        let (mut out, mut depth, mut cur) = (Vec::new(), 0, String::new());
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        out.push(cur);
        out.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
    }
    /// First two segments of `a::b...` or `a::{b, c}` (one path per item).
    fn paths(rest: &str) -> Vec<Vec<String>> {
        let first = ident(rest);
        if first.is_empty() {
            return Vec::new();
        }
        let after = &rest[first.len()..];
        let Some(tail) = after.strip_prefix("::") else { return vec![vec![first]] };
        if let Some(group) = tail.strip_prefix('{') {
            let seconds: Vec<String> = items(group).iter().map(|i| ident(i)).filter(|i| !i.is_empty() && i != "self").collect();
            if seconds.is_empty() {
                return vec![vec![first]];
            }
            return seconds.into_iter().map(|sec| vec![first.clone(), sec]).collect();
        }
        let second = ident(tail);
        if second.is_empty() {
            vec![vec![first]]
        } else {
            vec![vec![first, second]]
        }
    }
    let mut refs = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `edge_sts_crate::`, not ours
            }
            if let Some(group) = rest.strip_prefix('{') {
                for item in items(group) {
                    for p in paths(&item) {
                        refs.push((n + 1, p));
                    }
                }
            } else {
                for p in paths(rest) {
                    refs.push((n + 1, p));
                }
            }
        }
    }
    refs
}

/// Names lib.rs re-exports (`pub use a::b::{X, Y};`), each with the path it comes from.
fn reexports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for line in code_of(lib).lines().map(str::trim) {
        let Some(u) = line.strip_prefix("pub use ").and_then(|u| u.strip_suffix(';')) else { continue };
        let (path, names) = match u.split_once("::{") {
            Some((path, names)) => (path, names.trim_end_matches('}')),
            None => u.rsplit_once("::").unwrap(),
        };
        let path: Vec<String> = path.split("::").take(2).map(str::to_owned).collect();
        for name in names.split(',') {
            let name = name.split(" as ").last().unwrap_or(name).trim();
            if !name.is_empty() {
                out.insert(name.to_owned(), path.clone());
            }
        }
    }
    out
}

/// The module a path names: `layer::module`, or the layer for a single-module layer.
fn node_of(path: &[String]) -> Option<String> {
    let layer = path.first()?;
    if !LAYERS.contains(&layer.as_str()) {
        return None;
    }
    if SINGLE.contains(&layer.as_str()) {
        return Some(layer.clone());
    }
    Some(format!("{layer}::{}", path.get(1)?))
}

fn layer_of(node: &str) -> usize {
    let layer = node.split("::").next().unwrap();
    LAYERS.iter().position(|l| *l == layer).unwrap()
}

fn build_graph() -> Graph {
    let src = src_dir();
    let lib = fs::read_to_string(src.join("lib.rs")).expect("core/src/lib.rs");
    let reexports = reexports(&lib);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut graph: Graph = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
        // lib.rs itself, and a test-only module lib.rs declares after its first `#[cfg(test)]`.
        if parts.len() == 1 && (parts[0] == "lib" || lib.contains(&format!("#[cfg(test)]\nmod {};", parts[0]))) {
            continue;
        }
        assert!(parts.len() > 1, "core/src/{} is outside every layer folder ({LAYERS:?})", rel.display());
        // A layer's own mod.rs declares its modules; it is part of the layer, not a module.
        if parts.len() == 2 && parts[1] == "mod" && !SINGLE.contains(&parts[0].as_str()) {
            continue;
        }
        let from = node_of(&parts).unwrap_or_else(|| panic!("core/src/{} is in no layer of {LAYERS:?}", rel.display()));
        graph.entry(from.clone()).or_default();
        let text = fs::read_to_string(&path).unwrap();
        for (line, p) in crate_refs(&code_of(&text)) {
            let target = match node_of(&p) {
                Some(n) => n,
                None => match reexports.get(&p[0]).and_then(|r| node_of(r)) {
                    Some(n) => n,
                    None => panic!(
                        "core/src/{}:{line}: `crate::{}` is neither a module of a layer nor a lib.rs re-export",
                        rel.display(),
                        p.join("::")
                    ),
                },
            };
            if target != from {
                let site = Site { file: format!("core/src/{}", rel.display()), line };
                graph.get_mut(&from).unwrap().entry(target.clone()).or_default().push(site);
                graph.entry(target).or_default();
            }
        }
    }
    graph
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct T<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(t: &mut T<'g>, v: &'g str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on_stack.insert(v);
        for w in t.graph[v].keys() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on_stack.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on_stack.remove(w);
                scc.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on_stack: BTreeSet::new(), out: Vec::new() };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out.sort();
    t.out
}

/// The edges inside one cycle, each with where it comes from.
fn describe(graph: &Graph, scc: &[String]) -> String {
    let mut s = format!("cycle among {{{}}}:\n", scc.join(", "));
    for from in scc {
        for (to, sites) in &graph[from] {
            if scc.contains(to) {
                let at: Vec<String> = sites.iter().map(|x| format!("{}:{}", x.file, x.line)).collect();
                s.push_str(&format!("  {from} -> {to}  ({})\n", at.join(", ")));
            }
        }
    }
    s
}

#[test]
fn core_modules_have_no_import_cycle() {
    let graph = build_graph();
    assert!(graph.len() > 20 && graph.contains_key("flow::exchange") && graph.contains_key("clouds"), "modules: {:?}", graph.keys());
    let found = cycles(&graph);
    let report: Vec<String> = found.iter().map(|scc| describe(&graph, scc)).collect();
    assert!(found.is_empty(), "the core's modules import each other in a cycle:\n{}", report.join("\n"));
}

#[test]
fn no_layer_imports_a_layer_above_it() {
    let graph = build_graph();
    let mut wrong = Vec::new();
    for (from, edges) in &graph {
        for (to, sites) in edges {
            if layer_of(to) > layer_of(from) {
                let at: Vec<String> = sites.iter().map(|x| format!("{}:{}", x.file, x.line)).collect();
                wrong.push(format!("  {from} -> {to}  ({})", at.join(", ")));
            }
        }
    }
    assert!(wrong.is_empty(), "a layer imports from a layer above it (bottom to top: {LAYERS:?}):\n{}", wrong.join("\n"));
}

#[test]
fn core_src_holds_the_layers_and_nothing_else() {
    let mut entries: Vec<String> =
        fs::read_dir(src_dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    entries.sort();
    let mut expected: Vec<String> = LAYERS.iter().map(|l| l.to_string()).chain(["lib.rs".into(), "docs_tests.rs".into()]).collect();
    expected.sort();
    assert_eq!(entries, expected, "core/src holds the layer folders, lib.rs and the docs tests");
    let lib = fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let declared: Vec<&str> = LAYERS.iter().copied().filter(|l| lib.contains(&format!("pub mod {l};"))).collect();
    assert_eq!(declared, LAYERS, "lib.rs declares every layer");
}

#[test]
fn the_reader_sees_references_and_skips_comments_strings_and_tests() {
    let text = "use crate::a::X;\n// crate::b in a comment\nlet s = \"crate::c\"; let r = r#\"crate::d\"#;\n\
                /* crate::e */ fn f<'a>(x: &'a crate::f::T) -> char { '\"' }\nuse crate::{g, h::I};\n\
                let q = crate::Error::Config;\nuse crate::j::{k::L, m, self};\n#[cfg(test)]\nuse crate::z;\n";
    let paths: Vec<String> = crate_refs(&code_of(text)).into_iter().map(|(_, p)| p.join("::")).collect();
    assert_eq!(paths, ["a::X", "f::T", "g", "h::I", "Error::Config", "j::k", "j::m"]);
    let refs = crate_refs(&code_of(text));
    assert_eq!(refs[1].0, 4, "line numbers survive blanking");
}

#[test]
fn a_module_is_its_layer_and_name() {
    let p = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(node_of(&p("jose::jwk::Jwk")).as_deref(), Some("jose::jwk"));
    assert_eq!(node_of(&p("config::issuers")).as_deref(), Some("config"));
    assert_eq!(node_of(&p("jose")), None, "a layer folder alone names no module");
    assert_eq!(node_of(&p("Error")), None);
    assert!(layer_of("flow::exchange") > layer_of("policy::mint") && layer_of("io::fetch") == 0);
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g: Graph = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")] {
        g.entry(a.into()).or_default().insert(b.into(), vec![Site { file: "x".into(), line: 1 }]);
        g.entry(b.into()).or_default();
    }
    assert_eq!(cycles(&g), vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]);
    g.get_mut("e").unwrap().insert("d".into(), vec![]);
    assert_eq!(cycles(&g).len(), 2);
    assert!(describe(&g, &cycles(&g)[0]).contains("a -> b  (x:1)"));
}
