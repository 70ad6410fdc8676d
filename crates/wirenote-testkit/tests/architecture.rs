//! The shape the code keeps: in every crate, modules depend on each other one way (no
//! import cycle), and no function outside tests is longer than 100 lines.
//!
//! Both are read from the sources as text: a module's dependencies are the `crate::…`
//! and `super::…` paths it names (in `use` lines or inline), resolved to the longest
//! module path that exists; a function's length runs from its `fn` line to the brace that
//! closes its body. Test modules (`#[cfg(test)] mod tests`) and `tests/` folders are left
//! out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a function outside tests may be.
const MAX_FUNCTION_LINES: usize = 100;

/// Every `src/` folder of the workspace's crates (and the fuzz targets').
fn source_roots() -> Vec<PathBuf> {
    let crates = wirenote_testkit::workspace().join("crates");
    let mut roots: Vec<PathBuf> = std::fs::read_dir(crates)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    roots.sort();
    roots
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `["a", "b"]`; `lib.rs`/`main.rs` → `[]`.
fn module_path(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).unwrap();
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    // A binary's other roots (src/bin/x.rs) are crates of their own; keep them apart.
    parts
}

/// The source without `#[cfg(test)]` items (the test module at the end of a file).
fn without_tests(text: &str) -> String {
    match text.find("#[cfg(test)]\nmod ") {
        Some(i) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

/// The identifier-and-`::` path starting at `rest` (`a::b::C` in `a::b::C;`).
fn path_words(rest: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            words.push(std::mem::take(&mut word));
        } else {
            break;
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The modules `module`'s source names through `crate::` and `super::` paths.
fn dependencies(
    module: &[String],
    text: &str,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let mut deps = BTreeSet::new();
    for (start, anchor) in [("crate::", None), ("super::", Some(()))] {
        let mut at = 0;
        while let Some(found) = text[at..].find(start) {
            let i = at + found;
            at = i + start.len();
            let before = text[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let words = path_words(&text[at..]);
            let mut base: Vec<String> = match anchor {
                None => Vec::new(),
                // `super` of a module is its parent (a file's own module is `module`).
                Some(()) => module[..module.len().saturating_sub(1)].to_vec(),
            };
            let mut target = base.clone();
            for word in words {
                base.push(word);
                if modules.contains(&base) {
                    target = base.clone();
                }
            }
            // A module naming its own ancestor (`crate::commands::x` from inside
            // `commands::flows`) depends on it as much as on any other module.
            if !target.is_empty() && target != module {
                deps.insert(target);
            }
        }
    }
    deps
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn find_cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|m| m.join("::")).collect();
                    cycle.push(next.join("::"));
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(node, graph, &mut state, &mut stack) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_in_a_cycle() {
    let mut cycles = Vec::new();
    for root in source_roots() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        files.retain(|f| !f.starts_with(root.join("bin")));
        let sources: Vec<(Vec<String>, String)> = files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                (module_path(&root, f), without_tests(&text))
            })
            .collect();
        let modules: BTreeSet<Vec<String>> = sources.iter().map(|(m, _)| m.clone()).collect();
        let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = sources
            .iter()
            .map(|(m, text)| (m.clone(), dependencies(m, text, &modules)))
            .collect();
        // Every level: files, and folders taken whole (`app` ↔ `record` is a cycle even
        // when no two files of them name each other). A parent uses its children (it
        // declares them), so a child naming its parent closes a cycle.
        let depth = modules.iter().map(Vec::len).max().unwrap_or(0);
        for level in (1..=depth).rev() {
            let mut collapsed: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
            for (from, tos) in &graph {
                let from = from[..from.len().min(level)].to_vec();
                for to in tos {
                    let to = to[..to.len().min(level)].to_vec();
                    let is_ancestor = |a: &Vec<String>, b: &Vec<String>| b.starts_with(a);
                    if from != to && !is_ancestor(&from, &to) {
                        collapsed.entry(from.clone()).or_default().insert(to);
                    }
                }
            }
            for module in &modules {
                let module = module[..module.len().min(level)].to_vec();
                if let Some(parent) = module.len().checked_sub(1).map(|n| module[..n].to_vec()) {
                    if !parent.is_empty() {
                        collapsed.entry(parent).or_default().insert(module.clone());
                    }
                }
            }
            if let Some(cycle) = find_cycle(&collapsed) {
                cycles.push(format!(
                    "{} (level {level}): {}",
                    root.display(),
                    cycle.join(" → ")
                ));
                break;
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

/// Lines of each function in `text`: `(name, first line, length)`. Braces inside string
/// and character literals and comments are skipped.
fn function_lengths(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(after) = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "const fn ",
        ]
        .iter()
        .find_map(|p| trimmed.strip_prefix(p)) else {
            continue;
        };
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if let Some(end) = body_end(&lines, i) {
            found.push((name, i + 1, end - i + 1));
        }
    }
    found
}

/// The line on which the body opened at or after line `start` closes (`None` for a
/// declaration without a body).
fn body_end(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut opened = false;
    for (i, line) in lines.iter().enumerate().skip(start) {
        let mut chars = line.chars().peekable();
        let mut in_string = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' if in_string => {
                    chars.next();
                }
                '"' => in_string = !in_string,
                '/' if !in_string && chars.peek() == Some(&'/') => break,
                '\'' if !in_string => {
                    // A char literal such as '{' (not a lifetime): skip to its quote.
                    let rest: String = chars.clone().take(3).collect();
                    if rest.starts_with("\\") {
                        chars.next();
                        chars.next();
                        chars.next();
                    } else if rest.chars().nth(1) == Some('\'') {
                        chars.next();
                        chars.next();
                    }
                }
                '{' if !in_string => {
                    depth += 1;
                    opened = true;
                }
                '}' if !in_string => {
                    depth -= 1;
                    if opened && depth == 0 {
                        return Some(i);
                    }
                }
                ';' if !in_string && !opened => return None,
                _ => {}
            }
        }
    }
    None
}

#[test]
fn no_function_outside_tests_is_over_100_lines() {
    let mut long = Vec::new();
    for root in source_roots() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        for file in files {
            let text = without_tests(&std::fs::read_to_string(&file).unwrap());
            for (name, line, length) in function_lengths(&text) {
                if length > MAX_FUNCTION_LINES {
                    long.push(format!("{}:{line} {name}: {length} lines", file.display()));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_check() {
    let text = "fn a() {\n    let s = \"}\";\n    let c = '{';\n}\nfn b();\n";
    assert_eq!(function_lengths(text), vec![("a".to_owned(), 1, 4)]);
    let modules: BTreeSet<Vec<String>> = [vec![], vec!["x".to_owned()], vec!["y".to_owned()]]
        .into_iter()
        .collect();
    let deps = dependencies(
        &["x".to_owned()],
        "use crate::y::Thing;\nuse super::x::z;",
        &modules,
    );
    assert_eq!(deps, [vec!["y".to_owned()]].into_iter().collect());
    let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = [
        (
            vec!["x".to_owned()],
            [vec!["y".to_owned()]].into_iter().collect(),
        ),
        (
            vec!["y".to_owned()],
            [vec!["x".to_owned()]].into_iter().collect(),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["x".into(), "y".into(), "x".into()])
    );
}
