//! The source tree's shape, checked: imports run one way (command line → wiring → paths →
//! store/config/model), the write path and the read path never import each other, no import
//! circle among modules, and no file over 800 lines except a marked generated table.
//!
//! The reader is deliberately simple: it collects the `crate::…` and `super::…` paths a file
//! names (also inside `use …::{…}` groups), and the child modules it uses by name, leaving out
//! comments and its `#[cfg(test)] mod tests`. A reference is attributed
//! to the longest module path that is a file. Modules are compared as components: the top-level
//! modules, and each child of `ingest/` and `serve/` (a folder below that is one component).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

type ModPath = Vec<String>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src/ingest/extract/mod.rs` → `[ingest, extract]`; `src/store/apply.rs` → `[store, apply]`.
fn module_path(file: &Path) -> ModPath {
    let rel = file.strip_prefix(src_dir()).unwrap().with_extension("");
    let mut parts: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// The component a module belongs to (see the module doc).
fn component(path: &[String]) -> String {
    match path {
        [top, child, ..] if top == "ingest" || top == "serve" => format!("{top}::{child}"),
        [top, ..] => top.clone(),
        [] => String::new(),
    }
}

/// The layer of a component: an import may only point to a lower layer, or stay in its own
/// path (`ingest::*` to `ingest::*`, `serve::*` to `serve::*`).
fn layer(component: &str) -> u8 {
    match component.split("::").next().unwrap() {
        "model" | "threads" => 0,
        "config" | "store" => 1,
        "ingest" | "serve" | "cluster" => 2,
        "app" => 3,
        "cli" => 4,
        other => panic!("src/{other}: a new top-level module needs a layer in tests/it/layout.rs"),
    }
}

fn family(component: &str) -> &str {
    component.split("::").next().unwrap()
}

/// The byte ranges of inline module blocks (`mod name {` … its closing brace).
fn inline_module_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let start = Regex::new(r"(?m)^\s*(?:pub(?:\([a-z]+\))? )?mod \w+ \{").unwrap();
    let mut spans = Vec::new();
    for m in start.find_iter(text) {
        let mut depth = 0usize;
        for (i, b) in text[m.end() - 1..].bytes().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        spans.push(m.start()..m.end() + i);
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    spans
}

/// The components each component imports.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut sources: BTreeMap<ModPath, String> = BTreeMap::new();
    for f in &files {
        let path = module_path(f);
        if path == ["lib"] || path == ["main"] {
            continue;
        }
        sources.insert(path, std::fs::read_to_string(f).unwrap());
    }
    let tests_mod = Regex::new(r"#\[cfg\(test\)\]\s*mod tests").unwrap();
    let comment = Regex::new(r"//[^\n]*").unwrap();
    let crate_path = Regex::new(r"crate::((?:\w+::)*\w+)").unwrap();
    let crate_group = Regex::new(r"crate::\{([^}]*)\}").unwrap();
    let super_path = Regex::new(r"\bsuper::((?:\w+::)*\w+|\{[^}]*\})").unwrap();
    let child_use = Regex::new(r"(?m)^(?:pub(?:\([a-z]+\))? )?use (\w+)::").unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in &sources {
        let text = match tests_mod.find(text) {
            Some(m) => &text[..m.start()],
            None => text.as_str(),
        };
        let text = comment.replace_all(text, "");
        let mut refs: Vec<ModPath> = Vec::new();
        let split = |s: &str| -> ModPath {
            s.split("::")
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        };
        for c in crate_path.captures_iter(&text) {
            refs.push(split(&c[1]));
        }
        for c in crate_group.captures_iter(&text) {
            refs.extend(c[1].split(',').map(split));
        }
        // `super::` names the parent of the file's module, except inside an inline `mod x { }`
        // block, where it names the file's own module.
        let inline = inline_module_spans(&text);
        for c in super_path.captures_iter(&text) {
            let at = c.get(0).unwrap().start();
            let base = if inline.iter().any(|r| r.contains(&at)) {
                &path[..]
            } else {
                &path[..path.len() - 1]
            };
            let g = &c[1];
            let parts: Vec<&str> = match g.strip_prefix('{') {
                Some(inner) => inner.trim_end_matches('}').split(',').collect(),
                None => vec![g],
            };
            for p in parts {
                let mut full = base.to_vec();
                full.extend(split(p));
                refs.push(full);
            }
        }
        for c in child_use.captures_iter(&text) {
            let mut full = path.clone();
            full.push(c[1].to_string());
            refs.push(full);
        }
        for r in refs {
            let Some(target) = (1..=r.len())
                .rev()
                .map(|k| &r[..k])
                .find(|prefix| sources.contains_key(*prefix))
            else {
                continue;
            };
            let (from, to) = (component(path), component(target));
            if from != to {
                graph.entry(from).or_default().insert(to);
            }
        }
    }
    graph
}

#[test]
fn imports_run_one_way() {
    let graph = import_graph();
    let mut wrong = Vec::new();
    for (from, tos) in &graph {
        for to in tos {
            let same_path =
                family(from) == family(to) && matches!(family(from), "ingest" | "serve");
            if !(layer(to) < layer(from) || same_path) {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers: {wrong:?}");
    // The reader found the arrows it should: a check that cannot fail would prove nothing.
    assert!(graph["app"].contains("ingest::scheduler"), "{graph:?}");
    assert!(graph["serve::http"].contains("serve::routes"), "{graph:?}");
    assert!(graph["store"].contains("model"), "{graph:?}");
}

#[test]
fn no_import_circle() {
    let graph = import_graph();
    // Depth-first search with colours: reaching a node on the current stack closes a circle.
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        circles: &mut Vec<String>,
    ) {
        if done.contains(n) {
            return;
        }
        if let Some(i) = stack.iter().position(|s| s == n) {
            circles.push(format!("{} -> {n}", stack[i..].join(" -> ")));
            return;
        }
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            visit(m, graph, stack, done, circles);
        }
        stack.pop();
        done.insert(n.to_string());
    }
    let mut circles = Vec::new();
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        visit(n, &graph, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(circles.is_empty(), "import circles: {circles:?}");
}

#[test]
fn no_file_over_800_lines_unless_generated() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    assert!(files.len() > 20, "found {} files", files.len());
    let script = Regex::new(r"scripts/[\w.-]+").unwrap();
    let mut long = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines = text.lines().count();
        let generated = text
            .lines()
            .next()
            .is_some_and(|l| l.contains("@generated"));
        if generated {
            // A generated file names the script that makes it, and that script exists.
            let name = script
                .find(text.lines().next().unwrap())
                .unwrap_or_else(|| panic!("{}: @generated names no script", f.display()));
            let script_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name.as_str());
            assert!(script_path.exists(), "{} is missing", script_path.display());
        } else if lines > 800 {
            long.push(format!("{} ({lines} lines)", f.display()));
        }
    }
    assert!(long.is_empty(), "files over 800 lines: {long:?}");
}
