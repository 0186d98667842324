//! The core's top-level modules form a graph without cycles: every `crate::<module>` (or a
//! re-export of lib.rs, such as `crate::Error`) in a module's code is an edge. A cycle means two
//! modules can only be understood, tested and changed together; cut it by moving the shared
//! item into a module of its own.
//!
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

/// `crate::<ident>` occurrences: (line, ident).
fn crate_refs(code: &str) -> Vec<(usize, String)> {
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
                // `crate::{a, b::c}`: each first segment.
                let inner = group.split('}').next().unwrap_or("");
                for part in inner.split(',') {
                    let id: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !id.is_empty() {
                        refs.push((n + 1, id));
                    }
                }
            } else {
                let id: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !id.is_empty() {
                    refs.push((n + 1, id));
                }
            }
        }
    }
    refs
}

/// Top-level modules declared in lib.rs, and names lib.rs re-exports (`pub use m::{A, B};`).
fn modules_and_reexports(lib: &str) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let mut modules = BTreeSet::new();
    let mut reexports = BTreeMap::new();
    for line in code_of(lib).lines().map(str::trim) {
        let line = line.strip_prefix("pub ").unwrap_or(line);
        if let Some(m) = line.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) {
            modules.insert(m.trim().to_owned());
        } else if let Some(u) = line.strip_prefix("use ").and_then(|u| u.strip_suffix(';')) {
            let u = u.trim_start_matches("crate::");
            if let Some((module, names)) = u.split_once("::") {
                for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
                    let name = name.split(" as ").last().unwrap_or(name).trim();
                    if !name.is_empty() {
                        reexports.insert(name.to_owned(), module.to_owned());
                    }
                }
            }
        }
    }
    (modules, reexports)
}

fn build_graph() -> Graph {
    let src = src_dir();
    let lib = fs::read_to_string(src.join("lib.rs")).expect("core/src/lib.rs");
    let (modules, reexports) = modules_and_reexports(&lib);
    assert!(modules.len() > 10 && modules.contains("exchange") && modules.contains("sts"), "lib.rs modules: {modules:?}");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut graph: Graph = modules.iter().map(|m| (m.clone(), BTreeMap::new())).collect();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        let from = first.trim_end_matches(".rs").to_owned();
        // lib.rs itself, and a test-only module lib.rs declares after its first `#[cfg(test)]`.
        if from == "lib" || lib.contains(&format!("#[cfg(test)]\nmod {from};")) {
            continue;
        }
        assert!(modules.contains(&from), "{} belongs to no module declared in lib.rs", rel.display());
        let text = fs::read_to_string(&path).unwrap();
        for (line, id) in crate_refs(&code_of(&text)) {
            let to = if modules.contains(&id) {
                id
            } else if let Some(m) = reexports.get(&id) {
                m.clone()
            } else {
                panic!("core/src/{}:{line}: `crate::{id}` is neither a module nor a lib.rs re-export", rel.display());
            };
            if to != from {
                let site = Site { file: format!("core/src/{}", rel.display()), line };
                graph.get_mut(&from).unwrap().entry(to).or_default().push(site);
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
    let found = cycles(&graph);
    let report: Vec<String> = found.iter().map(|scc| describe(&graph, scc)).collect();
    assert!(found.is_empty(), "the core's modules import each other in a cycle:\n{}", report.join("\n"));
}

#[test]
fn the_reader_sees_references_and_skips_comments_strings_and_tests() {
    let text = "use crate::a::X;\n// crate::b in a comment\nlet s = \"crate::c\"; let r = r#\"crate::d\"#;\n\
                /* crate::e */ fn f<'a>(x: &'a crate::f::T) -> char { '\"' }\nuse crate::{g, h::I};\n\
                let q = crate::Error::Config;\n#[cfg(test)]\nuse crate::z;\n";
    let ids: Vec<String> = crate_refs(&code_of(text)).into_iter().map(|(_, id)| id).collect();
    assert_eq!(ids, ["a", "f", "g", "h", "Error"]);
    let refs = crate_refs(&code_of(text));
    assert_eq!(refs[1].0, 4, "line numbers survive blanking");
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
