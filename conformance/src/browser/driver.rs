//! Headless Chromium through chromedriver: the driver process, started on
//! a free port for the run, and one WebDriver session per browser.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Why the browser could not be driven.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{0} was not found; install Debian's chromium and chromium-driver, or set {1}")]
    Missing(&'static str, &'static str),
    #[error("starting chromedriver: {0}")]
    Spawn(std::io::Error),
    #[error("chromedriver did not answer within {0:?}")]
    NotReady(Duration),
    #[error("opening a browser session: {0}")]
    Session(String),
}

/// The browser binaries a run uses.
#[derive(Debug, Clone)]
pub struct Browsers {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

impl Browsers {
    /// `STELGANO_CHROMEDRIVER` and `STELGANO_CHROMIUM`, or the usual names
    /// on `PATH`.
    pub fn find() -> Result<Self, DriverError> {
        let chromedriver = from_env_or_path("STELGANO_CHROMEDRIVER", &["chromedriver"]).ok_or(
            DriverError::Missing("chromedriver", "STELGANO_CHROMEDRIVER"),
        )?;
        let chromium = from_env_or_path(
            "STELGANO_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        )
        .ok_or(DriverError::Missing("chromium", "STELGANO_CHROMIUM"))?;
        Ok(Self {
            chromedriver,
            chromium,
        })
    }
}

fn from_env_or_path(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// A running chromedriver, stopped when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    chromium: PathBuf,
    /// Browser profiles, removed with the driver.
    profiles: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it answers.
    pub async fn start(browsers: &Browsers) -> Result<Self, DriverError> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(DriverError::Spawn)?
            .port();
        let child = Command::new(&browsers.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(DriverError::Spawn)?;
        let profiles =
            std::env::temp_dir().join(format!("stelgano-browser-{}-{port}", std::process::id()));
        let driver = Self {
            child,
            port,
            chromium: browsers.chromium.clone(),
            profiles,
        };
        let within = Duration::from_secs(30);
        let deadline = tokio::time::Instant::now() + within;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if tokio::time::Instant::now() >= deadline {
                return Err(DriverError::NotReady(within));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(driver)
    }

    /// A new headless browser with a profile of its own, sized like a
    /// phone (390×844 CSS pixels), in the light theme and English.
    pub async fn session(&self, name: &str) -> Result<Client, DriverError> {
        self.session_as(name, &Look::default()).await
    }

    /// A new headless browser for looking at a page the way a desktop
    /// screenshot shows it: without scrollbars, which a headless window
    /// otherwise paints into the picture. The caller sizes the window.
    pub async fn desktop_session(&self, name: &str) -> Result<Client, DriverError> {
        self.session_as(
            name,
            &Look {
                desktop: true,
                ..Look::default()
            },
        )
        .await
    }

    /// A new headless browser as `look` describes it: the colour scheme
    /// it prefers, the language it asks for, a desktop window, or no
    /// JavaScript at all.
    pub async fn session_as(&self, name: &str, look: &Look) -> Result<Client, DriverError> {
        let profile = self.profiles.join(name);
        std::fs::create_dir_all(&profile).map_err(DriverError::Spawn)?;
        let mut args = chromium_args(&profile);
        let mut prefs = serde_json::Map::new();
        if look.desktop {
            args.retain(|a| !a.starts_with("--window-size="));
            args.push("--window-size=1280,800".into());
            args.push("--hide-scrollbars".into());
        }
        if look.dark {
            // prefers-color-scheme: dark for the page (STD1-CLI-32).
            args.push("--force-dark-mode".into());
        }
        if let Some(language) = look.language {
            args.push(format!("--lang={language}"));
            args.push(format!("--accept-lang={language}"));
            prefs.insert("intl.accept_languages".into(), json!(language));
        }
        if !look.javascript {
            prefs.insert(
                "profile.managed_default_content_settings.javascript".into(),
                json!(2),
            );
        }
        let mut options = json!({
            "binary": self.chromium,
            "args": args,
            "prefs": prefs,
        });
        if !look.desktop {
            // A phone's viewport exactly: a window cannot be narrower than
            // about 500 px, so the page is given a 390×844 touch screen.
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 2.0, "touch": true, "mobile": true },
            });
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            return Err(DriverError::Session("capabilities".into()));
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .map_err(|e| DriverError::Session(e.to_string()))
    }
}

/// How a browser session looks at the client: a phone in the light theme
/// and English, unless changed.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    pub dark: bool,
    pub language: Option<&'static str>,
    /// A 1280×800 window instead of a phone's 390×844.
    pub desktop: bool,
    pub javascript: bool,
}

impl Default for Look {
    fn default() -> Self {
        Self {
            dark: false,
            language: None,
            desktop: false,
            javascript: true,
        }
    }
}

/// Headless, as root in a container, and quiet: without the background
/// networking flags Chromium tries to reach Google's hosts, which a closed
/// network refuses.
fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--window-size=390,844",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profiles);
    }
}
