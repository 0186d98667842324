//! The docs against the code's own registries: every reason code of [`crate::wire::reason::ALL`] is in
//! docs/http.md's error table and every code there is one; the routes docs/http.md lists are
//! [`crate::wire::routes::ROUTES`]; every field of the configuration schema (the `Raw*` types of
//! `config`, through their derived JSON Schema) is in docs/configuration.md and every field
//! documented there exists. Also: no code-shaped string literal outside the registry.
//!
//! How docs/configuration.md marks a field: under `## Schema`, a heading names an object by its
//! path in backticks (`` ### `trusted_issuers[]` ``; `Top level` is the document itself), and
//! each row of a table whose header starts with `option` documents the fields named in backticks
//! in its first cell (`` `aws` \| `gcp` \| `azure` `` is three). Paths: `a.b` for a field of an
//! object, `a[]` for the items of a list, `a.{name}` for the values of a map.
use crate::wire::reason::{ALL, NAMESPACES};
use crate::wire::routes::ROUTES;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The lines of the `## <title>` section (up to the next `## ` heading), outside code fences.
fn section<'a>(doc: &'a str, title: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let (mut inside, mut fence) = (false, false);
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            inside = h.trim() == title;
            continue;
        }
        if inside {
            out.push(line);
        }
    }
    assert!(!out.is_empty(), "no `## {title}` section");
    out
}

/// The contents of the code spans of a piece of Markdown.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The cells of a table row, split on `|` but not `\|`.
fn cells(row: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = row.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => out.last_mut().unwrap().push(chars.next().unwrap()),
            '|' => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    out.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()
}

fn is_reason_code(s: &str) -> bool {
    s.split_once('.').is_some_and(|(ns, rest)| {
        NAMESPACES.contains(&ns)
            && !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
    })
}

fn diff(what: &str, code: &BTreeSet<String>, docs: &BTreeSet<String>, doc: &str) -> Vec<String> {
    let mut problems: Vec<String> = code.difference(docs).map(|x| format!("{what} `{x}` is missing from {doc}")).collect();
    problems.extend(docs.difference(code).map(|x| format!("{doc} documents {what} `{x}`, which the code does not have")));
    problems
}

#[test]
fn every_reason_code_is_in_the_error_table_and_every_code_there_exists() {
    let http = read("docs/http.md");
    let errors = section(&http, "Errors").join("\n");
    let documented: BTreeSet<String> = code_spans(&errors).into_iter().filter(|s| is_reason_code(s)).map(String::from).collect();
    let code: BTreeSet<String> = ALL.iter().map(|s| s.to_string()).collect();
    let problems = diff("reason code", &code, &documented, "docs/http.md's `## Errors`");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every Rust file of the core and the adapter, except the registry and test-only files, read
/// up to its first `#[cfg(test)]` line.
fn production_sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("core/src"), &mut files);
    walk(&repo().join("src"), &mut files);
    let test_only = ["reason.rs", "docs_tests.rs", "tests.rs", "vectors.rs"];
    files
        .into_iter()
        .filter(|p| !test_only.contains(&p.file_name().unwrap().to_str().unwrap()))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, without_test_modules(&text))
        })
        .collect()
}

/// `text` without its inline test modules: a `#[cfg(..test..)]` line followed by `mod <name> {`
/// starts one, and it runs to the end of the file (the crate keeps test modules last). Other
/// `#[cfg(test)]` items (`mod tests;`, helpers) are kept: their own files are scanned on their own.
fn without_test_modules(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            let (attr, next) = (lines[i].trim(), lines.get(i + 1).map_or("", |l| l.trim()));
            attr.starts_with("#[cfg(")
                && attr.contains("test")
                && (next.starts_with("mod ") || next.starts_with("pub(crate) mod "))
                && next.ends_with('{')
        })
        .unwrap_or(lines.len());
    lines[..end].join("\n")
}

/// The string literals of `code` shaped like a reason code (`"claims.type"`), with their line.
fn code_shaped_literals(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (i, _) in line.match_indices('"') {
            let rest = &line[i + 1..];
            let Some(end) = rest.find('"') else { continue };
            if is_reason_code(&rest[..end]) {
                out.push((n + 1, rest[..end].to_owned()));
            }
        }
    }
    out
}

#[test]
fn reason_codes_come_only_from_the_registry() {
    assert_eq!(
        without_test_modules("a\n#[cfg(test)]\nmod x;\nb\n#[cfg(all(test, feature = \"f\"))]\nmod tests {\nc\n}"),
        "a\n#[cfg(test)]\nmod x;\nb"
    );
    assert_eq!(code_shaped_literals(r#"x => "claims.new_code", y => "not a code", "limits.x""#), [(1, "claims.new_code".to_owned())]);
    let sources = production_sources();
    assert!(sources.len() > 40, "the scan reads the core and the adapter ({} files)", sources.len());
    let mut problems = Vec::new();
    for (path, code) in &sources {
        for (line, lit) in code_shaped_literals(code) {
            problems.push(format!("{}:{line}: \"{lit}\": declare it in core/src/wire/reason.rs and use the constant", path.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_routes_http_md_lists_are_the_route_table() {
    let http = read("docs/http.md");
    // The summary table before the first `## ` heading: `METHOD /path` spans in its first column.
    let mut documented = BTreeSet::new();
    for line in http.lines().take_while(|l| !l.starts_with("## ")).filter(|l| l.starts_with('|')) {
        let Some(first) = cells(line).into_iter().next() else { continue };
        for span in code_spans(&first) {
            if let Some((m, p)) = span.split_once(' ') {
                if m.bytes().all(|b| b.is_ascii_uppercase()) && p.starts_with('/') {
                    documented.insert(format!("{m} {p}"));
                }
            }
        }
    }
    #[allow(unused_mut)]
    let mut code: BTreeSet<String> = ROUTES.iter().map(|r| format!("{} {}", r.methods[0], r.path)).collect();
    // The docs describe the default build; without the `clouds` feature it lacks the `/gcp/*`
    // routes, and only those.
    #[cfg(not(feature = "clouds"))]
    code.extend(["GET /gcp/external-account", "GET /gcp/subject-token"].map(String::from));
    let problems = diff("route", &code, &documented, "docs/http.md's route table");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every field path of the configuration schema (see the module comment for the notation).
fn schema_fields(schema: &Value) -> BTreeSet<String> {
    fn resolve<'a>(root: &'a Value, mut s: &'a Value) -> &'a Value {
        loop {
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                let name = r.strip_prefix("#/$defs/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
                s = &root["$defs"][name];
            } else if let Some(alts) = s.get("anyOf").or_else(|| s.get("oneOf")).and_then(Value::as_array) {
                // `Option<T>`: T or null.
                let non_null: Vec<&Value> = alts.iter().filter(|a| a.get("type") != Some(&Value::from("null"))).collect();
                assert_eq!(non_null.len(), 1, "unexpected union {s}");
                s = non_null[0];
            } else {
                return s;
            }
        }
    }
    fn walk(root: &Value, s: &Value, path: &str, out: &mut BTreeSet<String>) {
        let s = resolve(root, s);
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (k, sub) in props {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                out.insert(p.clone());
                walk(root, sub, &p, out);
            }
        } else if let Some(items) = s.get("items") {
            walk(root, items, &format!("{path}[]"), out);
        } else if let Some(values) = s.get("additionalProperties").filter(|v| v.is_object()) {
            walk(root, values, &format!("{path}.{{name}}"), out);
        }
    }
    let mut out = BTreeSet::new();
    walk(schema, schema, "", &mut out);
    out
}

/// Every field docs/configuration.md documents (see the module comment for how).
fn documented_fields(doc: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut object: Option<String> = None;
    let mut table: Option<bool> = None; // Some(is a field table) while inside a table
    let lines = section(doc, "Schema");
    for (i, line) in lines.iter().enumerate() {
        if let Some(h) = line.strip_prefix("###") {
            let h = h.trim_start_matches('#').trim();
            object = if h == "Top level" {
                Some(String::new())
            } else {
                match code_spans(h).as_slice() {
                    [p] if h == format!("`{p}`") => Some(p.to_string()),
                    _ => None,
                }
            };
            continue;
        }
        if !line.starts_with('|') {
            table = None;
            continue;
        }
        if table.is_none() {
            let is_fields = cells(line).first().is_some_and(|c| c == "option");
            let next = lines.get(i + 1).copied().unwrap_or("");
            assert!(next.starts_with("|---"), "docs/configuration.md: table header without a separator: {line}");
            if is_fields {
                assert!(object.is_some(), "docs/configuration.md: a field table under a heading that names no object: {line}");
            }
            table = Some(is_fields);
            continue;
        }
        if line.starts_with("|---") || table != Some(true) {
            continue;
        }
        let object = object.as_deref().unwrap();
        let first = cells(line).into_iter().next().unwrap_or_default();
        let names = code_spans(&first);
        assert!(!names.is_empty(), "docs/configuration.md: a field row without a field name in backticks: {line}");
        for name in names {
            out.insert(if object.is_empty() { name.to_owned() } else { format!("{object}.{name}") });
        }
    }
    out
}

#[test]
fn every_config_field_is_documented_and_every_documented_field_exists() {
    let schema = serde_json::to_value(crate::config::raw_schema()).unwrap();
    let code = schema_fields(&schema);
    for must in ["issuer", "limits.max_body_bytes", "trusted_issuers[].audiences", "targets.{name}.aws", "clients[].client"] {
        assert!(code.contains(must), "the schema walk finds `{must}`: {code:?}");
    }
    #[cfg(feature = "clouds")]
    assert!(code.contains("targets.{name}.aws.role_arn"), "the schema walk finds the fields of a cloud block");
    let documented = documented_fields(&read("docs/configuration.md"));
    // The docs describe the default build; without the `clouds` feature the schema has the cloud
    // blocks (the loader refuses them by name) but none of their fields.
    #[cfg(not(feature = "clouds"))]
    let documented: BTreeSet<String> = documented
        .into_iter()
        .filter(|f| !["aws.", "gcp.", "azure."].iter().any(|b| f.starts_with(&format!("targets.{{name}}.{b}"))))
        .collect();
    let problems = diff("configuration field", &code, &documented, "docs/configuration.md");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_doc_parsers_read_what_they_should() {
    assert_eq!(cells(r"| `aws` \| `gcp` | object | x |"), ["`aws` | `gcp`", "object", "x"]);
    let doc = "## Schema\n\n### Top level\n\n| option | type |\n|---|---|\n| `mode` | string |\n\n### `a[]`\n\n| option | t |\n|---|---|\n| `b` \\| `c` | x |\n\n| field | |\n|---|---|\n| `not_a_field` | |\n\n## Next\n\n| option | |\n|---|---|\n| `outside` | |\n";
    let got: Vec<String> = documented_fields(doc).into_iter().collect();
    assert_eq!(got, ["a[].b", "a[].c", "mode"]);
}

/// The lines of the `## <title>` section of docs/clouds.md, code blocks included.
#[cfg(feature = "clouds")]
fn raw_section<'a>(doc: &'a str, title: &str) -> &'a str {
    let start = doc.find(&format!("\n## {title}\n")).unwrap_or_else(|| panic!("no `## {title}`"));
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The text after `prefix` up to the first character in `stop`.
#[cfg(feature = "clouds")]
fn after<'a>(text: &'a str, prefix: &str, stop: &[char]) -> Vec<&'a str> {
    text.match_indices(prefix).map(|(i, _)| &text[i + prefix.len()..]).map(|r| &r[..r.find(stop).unwrap_or(r.len())]).collect()
}

/// docs/clouds.md's Google trust (attribute mapping and condition, the `principal://` and
/// `principalSet://` members) is what the core mints for the page's own example: its Google
/// target, its issuer's `subject_prefix` and its calling client, loaded by `config::load` and
/// minted by `mint::claims`. A member or condition that leaves out the prefix refuses every
/// caller; this compares them with the minted claims.
#[cfg(feature = "clouds")]
#[test]
fn the_google_trust_in_clouds_md_accepts_the_assertion_the_core_mints() {
    use crate::issuer::claims::Caller;
    use crate::wire::request::TargetRef;
    let doc = read("docs/clouds.md");
    // The page's running example: "`"subject_prefix": "kc-prod:"`, and the calling client `orders-service`".
    let throughout = doc.lines().skip_while(|l| !l.starts_with("Throughout, the examples use")).take(3).collect::<Vec<_>>().join(" ");
    let prefix = after(&throughout, "\"subject_prefix\": \"", &['"'])[0].to_owned();
    let client = after(&throughout, "the calling client `", &['`'])[0].to_owned();
    let keycloak = after(&throughout, "Keycloak at `", &['`'])[0].to_owned();
    let issuer = after(&throughout, "edge-sts at `", &['`'])[0].to_owned();
    assert_eq!((prefix.as_str(), client.as_str()), ("kc-prod:", "orders-service"), "the example's prefix and client");

    let google = raw_section(&doc, "Google Cloud");
    // The Google target of `### edge-sts target`, loaded as the Worker loads it.
    let target_block = google.split("### edge-sts target").nth(1).unwrap().split("```json").nth(1).unwrap().split("```").next().unwrap();
    let targets: Value = serde_json::from_str(&format!("{{{target_block}}}")).expect("the Google target block is JSON");
    let (name, _) = targets["targets"].as_object().unwrap().iter().next().unwrap();
    let cfg = crate::config::load(
        &serde_json::json!({
            "issuer": issuer,
            "trusted_issuers": [{"issuer": keycloak, "audiences": ["edge-sts"], "subject_prefix": prefix}],
            "signing_keys": [{"secret": "K", "status": "active"}],
            "targets": targets["targets"],
            "clients": [{"client": client, "targets": [name]}]
        })
        .to_string(),
    )
    .unwrap_or_else(|e| panic!("the page's Google example does not load: {e}"));
    let caller = Caller { client_id: client.clone(), issuer: keycloak.clone(), exp: 2_000.0 };
    let grant = cfg.policy.authorize(&caller, &[TargetRef::Name(name.clone())], None).unwrap();
    let trusted = cfg.trusted_issuer(&keycloak).unwrap();
    let minted =
        crate::policy::mint::claims(&cfg.issuer, &trusted.subject_prefix, &caller, &grant, &serde_json::Map::new(), 1_000, 300, "j")
            .unwrap();

    // The provider's attribute mapping, applied to the minted claims.
    let mapping = after(google, "--attribute-mapping '", &['\''])[0];
    let mut attributes = std::collections::BTreeMap::new();
    for pair in mapping.split(',') {
        let (attr, expr) = pair.split_once('=').unwrap();
        let claim = expr.strip_prefix("assertion.").unwrap_or_else(|| panic!("mapping `{pair}`: only `assertion.<claim>` is read here"));
        attributes.insert(attr.to_owned(), minted[claim].as_str().unwrap().to_owned());
    }
    assert!(attributes.contains_key("google.subject"), "{mapping}");

    // The attribute condition: `assertion.<claim> in ['a', ...]`.
    let condition = after(google, "--attribute-condition \"", &['"']);
    assert_eq!(condition.len(), 1, "one attribute condition");
    let (lhs, list) = condition[0].split_once(" in ").unwrap_or_else(|| panic!("condition `{}`", condition[0]));
    let claim = lhs.trim().strip_prefix("assertion.").unwrap();
    let allowed: Vec<&str> =
        list.trim().trim_start_matches('[').trim_end_matches(']').split(',').map(|s| s.trim().trim_matches('\'')).collect();
    let value = minted[claim].as_str().unwrap();
    assert!(allowed.contains(&value), "the condition {} refuses the minted {claim} `{value}`", condition[0]);

    // Every member the section names: `principal://…/subject/<google.subject>`,
    // `principalSet://…/attribute.<name>/<value>` (placeholders in angle brackets skipped).
    let stop = &[' ', '`', '"', '\'', '\n', ')'];
    let subjects: Vec<&str> = after(google, "/subject/", stop).into_iter().filter(|s| !s.contains('<') && !s.is_empty()).collect();
    assert!(!subjects.is_empty(), "the section binds a principal by subject");
    for s in subjects {
        assert_eq!(s, attributes["google.subject"], "principal://…/subject/{s} is not the minted subject");
    }
    let sets: Vec<&str> = after(google, "principalSet://", stop);
    assert!(!sets.is_empty(), "the section names a principalSet");
    for set in sets {
        let (_, attr) = set.rsplit_once("/attribute.").unwrap_or_else(|| panic!("principalSet://{set}"));
        let (attr, value) = attr.split_once('/').unwrap();
        let mapped = attributes.get(&format!("attribute.{attr}")).unwrap_or_else(|| panic!("attribute.{attr} is not mapped"));
        assert_eq!(value, mapped, "principalSet://{set} does not name the minted attribute.{attr}");
    }
}
