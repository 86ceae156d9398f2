//! A headless Chromium driven through chromedriver (WebDriver) with fantoccini, for page tests.
//!
//! Each `Browser` starts its own chromedriver on a free port, in a process group of its own,
//! with a fresh Chromium profile in a temporary directory. `close()` ends the WebDriver session
//! (Chromium quits) and stops chromedriver; dropping without closing kills the process group.
//! Binaries: `CHROMEDRIVER` (default /usr/bin/chromedriver) and `CHROME_BIN` (default
//! /usr/bin/chromium); Debian's `chromium` and `chromium-driver` packages provide both.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

pub struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port for chromedriver")
}

fn binary(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

impl Browser {
    pub async fn start() -> Browser {
        let port = free_port();
        let profile = std::env::temp_dir().join(format!(
            "convene-chromium-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&profile).expect("profile dir");
        let driver_bin = binary("CHROMEDRIVER", "/usr/bin/chromedriver");
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that Chromium and its helpers can be stopped with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_bin} (install chromium-driver): {e}"));
        let mut browser = Browser {
            client: None,
            driver,
            profile,
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,1800".to_owned(),
            format!("--user-data-dir={}", browser.profile.display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": binary("CHROME_BIN", "/usr/bin/chromium"), "args": args }),
        );
        // chromedriver listens on plain HTTP on the loopback: no TLS stack is needed (and none
        // is linked, so the test binary keeps a single rustls crypto provider).
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        // chromedriver may accept connections a moment before it takes sessions.
        let client = loop {
            match builder.connect(&url).await {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot start a Chromium session: {e}"),
            }
        };
        browser.client = Some(client);
        browser
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("browser is open")
    }

    pub async fn goto(&self, url: &str) {
        self.client()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The visible text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .text()
            .await
            .expect("element text")
    }

    /// The visible texts of every element matching `css`.
    pub async fn texts_of(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self
            .client()
            .find_all(Locator::Css(css))
            .await
            .expect("find elements")
        {
            out.push(element.text().await.expect("element text"));
        }
        out
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let element = self
            .client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"));
        element.clear().await.expect("clear field");
        element.send_keys(value).await.expect("type into field");
    }

    pub async fn click(&self, css: &str) {
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    pub async fn current_url(&self) -> String {
        self.client()
            .current_url()
            .await
            .expect("current url")
            .to_string()
    }

    /// Writes a PNG of the viewport to `path` (parent folders are created) and returns its bytes.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Vec<u8> {
        let png = self.client().screenshot().await.expect("screenshot");
        let path = path.as_ref();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("screenshot folder");
        }
        std::fs::write(path, &png).expect("write screenshot");
        png
    }

    pub async fn page_source(&self) -> String {
        self.client().source().await.expect("page source")
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        // The group holds chromedriver and whatever it started; its id is our child's pid.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.driver.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.client.is_some() || self.driver.try_wait().ok().flatten().is_none() {
            self.stop_driver();
        }
    }
}
