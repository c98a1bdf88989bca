//! The layer rule of the crate docs, checked: every source file under
//! `src/` is read as Rust (with `syn`, so comments, doc tests and strings
//! do not count) and every path it names that reaches another top-level
//! module (`crate::x`, `super::…::x` climbing out of its own module,
//! `hsmdrill::x` in the binary) is held against [`LAYERS`]. A module may
//! use its own layer's modules only where [`SIDEWAYS`] says so, and never a
//! layer above its own.

use std::path::{Path, PathBuf};

use syn::visit::{self, Visit};

/// Every top-level module, and the binary (`main`), with its layer: the
/// table in the crate docs (`src/lib.rs`, `# Layers`).
const LAYERS: &[(&str, u8)] = &[
    ("engine", 1),
    ("scenario", 2),
    ("dsl", 3),
    ("gherkin", 3),
    ("remote", 3),
    ("suite", 4),
    ("server", 4),
    ("shell", 5),
    ("main", 5),
];

/// The imports within one layer that are allowed: (importer, imported).
/// Gherkin phrases build the DSL's typed AST, so `gherkin` uses `dsl`; the
/// binary starts the CloudHSM CLI shell.
const SIDEWAYS: &[(&str, &str)] = &[("gherkin", "dsl"), ("main", "shell")];

/// Files that belong to no layer: the crate root (it only declares the
/// modules) and this test.
const OUTSIDE: &[&str] = &["lib.rs", "layers.rs"];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The module path of a file under `src/`: `scenario/runner/mod.rs` is
/// `["scenario", "runner"]`, `shell.rs` is `["shell"]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.strip_suffix(".rs").unwrap_or(&last).to_owned();
        if stem != "mod" {
            parts.push(stem);
        }
    }
    parts
}

/// Finds the top-level modules a file's paths reach.
struct Reach {
    /// The module being read (grows inside inline `mod x { … }`).
    module: Vec<String>,
    /// Whether `crate::` names this library (not so in the binary, where
    /// the library is `hsmdrill::`).
    in_library: bool,
    /// (top-level module, the path as written).
    found: Vec<(String, String)>,
}

impl Reach {
    fn path(&mut self, segments: &[String]) {
        let top = match segments.first().map(String::as_str) {
            Some("crate") if self.in_library => segments.get(1).cloned(),
            Some("hsmdrill") if !self.in_library => segments.get(1).cloned(),
            Some("super") => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                match self.module.len().checked_sub(ups) {
                    Some(0) => segments.get(ups).cloned(),
                    Some(_) => self.module.first().cloned(),
                    None => None,
                }
            }
            _ => None,
        };
        if let Some(top) = top {
            self.found.push((top, segments.join("::")));
        }
    }
}

/// Every path a `use` tree names, whole.
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut whole = prefix.clone();
            whole.push(n.ident.to_string());
            out.push(whole);
        }
        syn::UseTree::Rename(r) => {
            let mut whole = prefix.clone();
            whole.push(r.ident.to_string());
            out.push(whole);
        }
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Reach {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        use_paths(&item.tree, &mut Vec::new(), &mut paths);
        for p in paths {
            self.path(&p);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.path(&segments);
        visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.module.push(item.ident.to_string());
        visit::visit_item_mod(self, item);
        self.module.pop();
    }

    /// A macro's arguments are tokens, not syntax: `crate::x` and
    /// `hsmdrill::x` are found in them as tokens (printed `crate :: x`).
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let text = mac.tokens.to_string();
        let words: Vec<&str> = text.split_whitespace().collect();
        for w in words.windows(3) {
            if w[1] == "::" && (w[0] == "crate" || w[0] == "hsmdrill") {
                self.path(&[w[0].to_owned(), w[2].to_owned()]);
            }
        }
        visit::visit_macro(self, mac);
    }
}

/// The layer rule's breaches in one file (its path under `src/`, its
/// text), each as one line naming the file, the path and both layers.
fn violations(relative: &Path, source: &str) -> Vec<String> {
    let module = module_path(relative);
    let Some(own) = module.first().cloned() else {
        return vec![format!("{}: not inside a module", relative.display())];
    };
    let Some(own_layer) = layer(&own) else {
        return vec![format!(
            "{}: module `{own}` is not in the layer table (src/layers.rs, src/lib.rs)",
            relative.display()
        )];
    };
    let file = match syn::parse_file(source) {
        Ok(f) => f,
        Err(e) => return vec![format!("{}: does not parse: {e}", relative.display())],
    };
    let mut reach = Reach {
        module,
        in_library: own != "main",
        found: Vec::new(),
    };
    reach.visit_file(&file);
    let mut out = Vec::new();
    for (top, path) in reach.found {
        if top == own {
            continue;
        }
        let breach = match layer(&top) {
            None => format!("`{top}` is not in the layer table"),
            Some(l) if l > own_layer => {
                format!("`{own}` (layer {own_layer}) imports `{top}` (layer {l}), a layer above")
            }
            Some(l) if l == own_layer && !SIDEWAYS.contains(&(own.as_str(), top.as_str())) => {
                format!(
                    "`{own}` imports `{top}` of its own layer {l}, which SIDEWAYS does not allow"
                )
            }
            Some(_) => continue,
        };
        out.push(format!("{}: `{path}`: {breach}", relative.display()));
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files).unwrap();
    files.sort();
    let mut breaches = Vec::new();
    let mut modules = std::collections::BTreeSet::new();
    for f in &files {
        let relative = f.strip_prefix(&src).unwrap();
        if OUTSIDE.iter().any(|o| relative == Path::new(o)) {
            continue;
        }
        modules.extend(module_path(relative).first().cloned());
        let text = std::fs::read_to_string(f).unwrap();
        breaches.extend(violations(relative, &text));
    }
    assert!(breaches.is_empty(), "{}", breaches.join("\n"));
    // Every layer is read, and the table names no module that is gone.
    let table: std::collections::BTreeSet<String> =
        LAYERS.iter().map(|(m, _)| (*m).to_owned()).collect();
    assert_eq!(modules, table);
    assert!(files.len() > 60, "only {} files read", files.len());
}

#[test]
fn a_planted_import_from_above_is_caught() {
    let at = |file: &str, src: &str| violations(Path::new(file), src);
    assert_eq!(
        at("scenario/runner/mod.rs", "use crate::suite::report;\n"),
        vec!["scenario/runner/mod.rs: `crate::suite::report`: `scenario` (layer 2) imports `suite` (layer 4), a layer above"]
    );
    // Grouped, renamed and glob imports, expression paths, `super` climbing
    // out of the module, inline modules and macro arguments.
    let planted = r#"
        use crate::{engine::Engine, dsl as front};
        use crate::remote::*;
        fn f() { let _ = crate::server::MAX_BODY; }
        mod tests {
            use super::super::super::super::gherkin::translate;
            #[test]
            fn t() { assert!(crate::suite::is_feature(x)); }
        }
    "#;
    let found = at("scenario/runner/expect.rs", planted);
    let named: Vec<&str> = found.iter().filter_map(|l| l.split('`').nth(1)).collect();
    assert_eq!(
        named,
        [
            "crate::dsl",
            "crate::remote",
            "crate::server::MAX_BODY",
            "super::super::super::super::gherkin::translate",
            "crate::suite",
        ],
        "{found:#?}"
    );
    // The same layer: only what SIDEWAYS allows.
    assert!(at("gherkin/lower.rs", "use crate::dsl;").is_empty());
    assert_eq!(at("dsl/lower.rs", "use crate::gherkin;").len(), 1);
    assert_eq!(at("suite/run.rs", "use crate::server::serve;").len(), 1);
    // The binary names the library `hsmdrill`.
    assert!(at("main.rs", "use hsmdrill::suite::report;").is_empty());
    assert_eq!(
        at(
            "engine/mod.rs",
            "fn f() { hsmdrill_like::x(); crate::scenario::ir::Span::default(); }"
        )
        .len(),
        1
    );
    // Comments, doc tests and strings are not imports; `super` inside the
    // module is not a way out.
    let quiet = r#"
        //! See [`crate::suite`].
        /// ```
        /// use hsmdrill::suite;
        /// ```
        fn f() -> &'static str { "crate::suite::report" }
        use super::ir::Span;
    "#;
    assert!(at("scenario/runner/mod.rs", quiet).is_empty());
    // A module the table does not know fails.
    assert_eq!(at("newthing/mod.rs", "").len(), 1);
}
