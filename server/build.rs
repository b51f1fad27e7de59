//! Embeds the static client of `web/` in the binary: writes a table of
//! every file (path, bytes through `include_bytes!`) to `OUT_DIR`, so that
//! adding a file to `web/` needs no change here.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let web = manifest.join("..").join("web");
    println!("cargo:rerun-if-changed={}", web.display());
    // `sqlx::migrate!` embeds migrations/ but cannot tell cargo to rebuild
    // when a migration is added; a rerun of this script does.
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("..").join("migrations").display()
    );
    let mut files = Vec::new();
    collect(&web, &web, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for (url_path, file) in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        table.push_str(&format!(
            "    ({url_path:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    table.push_str("]\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("web_files.rs"), table).expect("write the web file table");
}

/// Every regular file under `dir`, with its URL path from `root`. Names
/// starting with a dot are skipped, and so is the client's documentation
/// (Markdown files and the `screens/` folder of screenshots the README
/// shows), which is for readers of the repository, not for browsers. So is
/// `web/tools/`: the node tooling that generates and tests
/// `js/phone-data.js`, with its `node_modules/`, must never be served.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = path.is_dir();
        if name.starts_with('.')
            || name.ends_with(".md")
            || (is_dir && name == "screens")
            || (is_dir && name == "tools" && dir == root)
        {
            continue;
        }
        // Directories are walked again on change through rerun-if-changed.
        println!("cargo:rerun-if-changed={}", path.display());
        if is_dir {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let url_path = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((format!("/{url_path}"), path));
        }
    }
}
