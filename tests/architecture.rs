//! The code map of `ARCHITECTURE.md` as a test: each rule there that a machine can check is
//! checked here, on the source text, the way rust-analyzer's tidy test keeps its own
//! architecture document honest. A rule broken by a change fails this test with the file, the
//! line and the rule it broke; a rule changed on purpose changes here and in `ARCHITECTURE.md`
//! in the same commit.

use std::path::{Path, PathBuf};

/// Folders (and files) of `src/` that do no IO: domain types and pure computations. They read
/// no files, open no database, start no runtime, call no other process and know nothing of the
/// layers above them.
const PURE: &[&str] = &[
    "src/hotspots",
    "src/boundaries",
    "src/auth",
    "src/index",
    "src/grid",
    "src/review",
    "src/evidence",
    "src/analytics",
    "src/reports",
];

/// Where each rule allows a name; everything else in `src/` is forbidden it.
struct Rule {
    name: &'static str,
    /// Substrings of a code line (comments left out) that the rule is about.
    needles: &'static [&'static str],
    /// Path prefixes where they are allowed (`None`: the rule lists where they are forbidden).
    allowed_in: Option<&'static [&'static str]>,
    /// Path prefixes where they are forbidden (used when `allowed_in` is `None`).
    forbidden_in: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        name: "GDAL is linked only by ingest (reading and writing files) and tiling (reading blocks)",
        needles: &["gdal::", "gdal_sys", "use gdal"],
        allowed_in: Some(&["src/ingest/", "src/tiling/"]),
        forbidden_in: &[],
    },
    Rule {
        name: "HTTP (axum, tower, hyper) lives only in api",
        needles: &["axum::", "use axum", "tower::", "tower_http", "hyper::"],
        allowed_in: Some(&["src/api/"]),
        forbidden_in: &[],
    },
    Rule {
        name: "the API and the command line reach the store only through the service",
        needles: &["crate::store", "vigil::store", "rusqlite"],
        allowed_in: None,
        forbidden_in: &["src/api/", "src/cli/", "src/main.rs"],
    },
    Rule {
        name: "the service does not know the API or the command line",
        needles: &["crate::api", "crate::cli"],
        allowed_in: None,
        forbidden_in: &["src/service/", "src/store/", "src/ingest/", "src/tiling/"],
    },
    Rule {
        name: "the pure folders do no IO and know no layer above them",
        needles: &[
            "std::fs",
            "fs::read",
            "fs::write",
            "File::",
            "rusqlite",
            "gdal",
            "tokio",
            "std::net",
            "std::process",
            "crate::store",
            "crate::service",
            "crate::api",
            "crate::ingest",
            "crate::tiling",
        ],
        allowed_in: None,
        forbidden_in: PURE,
    },
];

/// One broken rule.
#[derive(Debug, PartialEq)]
struct Violation {
    file: String,
    line: usize,
    rule: &'static str,
    text: String,
}

/// Checks one file's text against every rule.
fn check(path: &str, text: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let in_any = |prefixes: &[&str]| prefixes.iter().any(|p| path.starts_with(p));
    for rule in RULES {
        let applies = match rule.allowed_in {
            Some(allowed) => !in_any(allowed),
            None => in_any(rule.forbidden_in),
        };
        if !applies {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if rule.needles.iter().any(|n| code.contains(n)) {
                out.push(Violation {
                    file: path.to_string(),
                    line: i + 1,
                    rule: rule.name,
                    text: line.trim().to_string(),
                });
            }
        }
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = root();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).expect("source file");
            (rel, text)
        })
        .collect()
}

#[test]
fn the_code_map_holds() {
    let violations: Vec<Violation> = sources()
        .iter()
        .flat_map(|(path, text)| check(path, text))
        .collect();
    assert!(
        violations.is_empty(),
        "{} line(s) break the code map of ARCHITECTURE.md:\n{}",
        violations.len(),
        violations
            .iter()
            .map(|v| format!("  {}:{}: {}\n      {}", v.file, v.line, v.rule, v.text))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_service_is_a_folder_and_the_command_line_is_thin() {
    let root = root();
    let flat: Vec<String> = std::fs::read_dir(root.join("src"))
        .expect("src")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("service") && n.ends_with(".rs"))
        .collect();
    assert!(
        flat.is_empty(),
        "service code belongs in src/service/, not {flat:?} at the top of src/"
    );
    let main = std::fs::read_to_string(root.join("src/main.rs")).expect("main.rs");
    let lines = main.lines().count();
    assert!(
        lines < 300,
        "src/main.rs has {lines} lines: it holds the commands' arguments and dispatch only; \
         a command's work goes in src/cli/"
    );
}

/// Every top-level module of the library and every folder the code map names agree, so
/// `ARCHITECTURE.md` cannot fall behind the code.
#[test]
fn every_module_is_on_the_code_map() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("lib.rs");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    assert!(modules.len() > 10, "read the modules of src/lib.rs");
    let missing: Vec<&&str> = modules
        .iter()
        .filter(|m| !doc.contains(&format!("`{m}`")) && !doc.contains(&format!("`{m}/`")))
        .collect();
    assert!(
        missing.is_empty(),
        "modules missing from ARCHITECTURE.md's code map: {missing:?}"
    );
    for pure in PURE {
        let name = pure.trim_start_matches("src/");
        assert!(
            root.join(pure).exists(),
            "{pure} is listed as pure here but does not exist"
        );
        assert!(
            doc.contains(&format!("`{name}`")) || doc.contains(&format!("`{name}/`")),
            "{name} is pure here but not on the code map"
        );
    }
}

/// The checker itself catches what it is meant to (so the rules above cannot pass vacuously).
#[test]
fn the_checker_catches_each_kind_of_break() {
    let cases = [
        ("src/api/flags.rs", "use crate::store::flags::FlagRow;", 2),
        (
            "src/cli/ingest.rs",
            "let s = vigil::store::Store::open(p);",
            2,
        ),
        ("src/service/flags.rs", "use axum::response::Response;", 1),
        (
            "src/classify/reader.rs",
            "let ds = gdal::Dataset::open(p)?;",
            1,
        ),
        (
            "src/analytics/kde.rs",
            "let t = std::fs::read_to_string(p)?;",
            1,
        ),
        ("src/review/mod.rs", "use crate::service::Vigil;", 1),
        ("src/service/mod.rs", "use crate::api::AppState;", 1),
    ];
    for (path, line, _) in cases {
        let v = check(path, line);
        assert!(!v.is_empty(), "{path}: `{line}` should break a rule");
    }
    // Allowed uses and comments are not breaks.
    for (path, line) in [
        ("src/ingest/raster.rs", "use gdal::Dataset;"),
        ("src/api/tiles.rs", "use axum::extract::State;"),
        ("src/service/flags.rs", "use crate::store::flags;"),
        (
            "src/api/flags.rs",
            "// the store (crate::store) is not used here",
        ),
        (
            "src/analytics/kde.rs",
            "let x = a.max(b); // fs::read would be IO",
        ),
    ] {
        assert_eq!(check(path, line), vec![], "{path}: `{line}` is allowed");
    }
}
