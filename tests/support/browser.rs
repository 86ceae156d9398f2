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

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// How long `wait_for_text` polls before failing.
const WAIT: Duration = Duration::from_secs(20);

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

    /// Chooses the file at `path` in the file input matching `css`, as a person picking it.
    pub async fn choose_file(&self, css: &str, path: &Path) {
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no file field {css}: {e}"))
            .send_keys(&path.display().to_string())
            .await
            .expect("choose a file");
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

    /// Chooses the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no select {css}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("no option {value} in {css}: {e}"));
    }

    /// Polls until the first element matching `css` contains `text` (after a click the next
    /// page may still be loading); answers that element's text. Fails after 20 seconds with
    /// what the page shows instead.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = match self.client().find(Locator::Css(css)).await {
                Ok(element) => element.text().await.ok(),
                Err(_) => None,
            };
            if let Some(found) = found.filter(|t| t.contains(text)) {
                return found;
            }
            if Instant::now() >= deadline {
                let url = self.current_url().await;
                let body = self.client().find(Locator::Css("body")).await.ok();
                let body = match body {
                    Some(b) => b.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                panic!("{css} never showed {text:?} at {url}; the page shows:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resizes the window, e.g. to a phone's 375×800.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client()
            .set_window_size(width, height)
            .await
            .expect("set the window size");
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and answers its return value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.client()
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The viewport's width in CSS pixels.
    pub async fn inner_width(&self) -> u64 {
        self.execute("return window.innerWidth;", vec![])
            .await
            .as_u64()
            .expect("a width")
    }

    /// Whether the page is wider than the viewport (a phone reader would scroll sideways).
    pub async fn scrolls_sideways(&self) -> bool {
        let fits = self
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await;
        fits != Value::Bool(true)
    }

    /// Presses Tab, as a keyboard user moving to the next control.
    pub async fn press_tab(&self) {
        self.client()
            .active_element()
            .await
            .expect("an active element")
            .send_keys(&Key::Tab.to_string())
            .await
            .expect("press Tab");
    }

    /// The focused element's tag, text, and computed outline style and width.
    pub async fn focused(&self) -> Value {
        self.execute(
            "const e = document.activeElement; const s = getComputedStyle(e);
             return {tag: e.tagName.toLowerCase(), text: e.textContent.trim(),
                     outline_style: s.outlineStyle, outline_width: s.outlineWidth,
                     box_shadow: s.boxShadow};",
            vec![],
        )
        .await
    }

    /// What an accessibility check of the rendered page finds wrong (empty when nothing):
    /// `lang="en"`, a viewport meta tag, a title, a label for every field, real submit buttons,
    /// one h1 and no skipped heading level, WCAG AA contrast for every visible text, a visible
    /// focus style, and no sideways scrolling at the current window size.
    pub async fn accessibility_problems(&self) -> Vec<String> {
        let found = self.execute(ACCESSIBILITY_AUDIT, vec![]).await;
        serde_json::from_value(found).expect("a list of problems")
    }

    /// What axe-core (Deque's accessibility engine, injected into the page) finds of serious or
    /// critical impact, one line per rule broken with the elements that break it.
    pub async fn axe_violations(&self) -> Vec<String> {
        let injected = self
            .execute(&format!("{}\nreturn typeof axe;", axe_source()), vec![])
            .await;
        assert_eq!(
            injected,
            json!("object"),
            "axe-core did not load in the page"
        );
        let found = self
            .client()
            .execute_async(AXE_RUN, vec![])
            .await
            .expect("axe-core ran");
        serde_json::from_value(found).expect("a list of violations")
    }

    /// Fails with every problem `accessibility_problems` and axe-core find on the current page.
    pub async fn assert_accessible(&self) {
        let mut problems = self.accessibility_problems().await;
        problems.extend(self.axe_violations().await);
        assert!(
            problems.is_empty(),
            "accessibility problems at {}:\n{}",
            self.current_url().await,
            problems.join("\n")
        );
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

/// axe-core's script, installed from npm by `scripts/test` into `target/axe` (or named by
/// `AXE_CORE_JS`).
fn axe_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var("AXE_CORE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("target/axe/node_modules/axe-core/axe.min.js")
            });
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read axe-core at {} ({e}): scripts/test installs it, or run \
                 `npm install --prefix target/axe axe-core@4.14.1`",
                path.display()
            )
        })
    })
}

/// Runs axe-core's WCAG 2 A and AA rules on the page and answers its serious and critical
/// violations (an async WebDriver script: the last argument is the callback).
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] })
  .then(r => done(r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => 'axe ' + v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
  .catch(e => done(['axe-core failed: ' + e]));
"#;

/// The check behind `Browser::accessibility_problems`, run in the page.
const ACCESSIBILITY_AUDIT: &str = r#"
const problems = [];
if (document.documentElement.getAttribute('lang') !== 'en') problems.push('<html> has no lang="en"');
const viewport = document.querySelector('meta[name=viewport]');
if (!viewport || !/width=device-width/.test(viewport.content)) problems.push('no viewport meta tag');
if (!document.title.trim()) problems.push('no <title>');
for (const field of document.querySelectorAll('input, select, textarea')) {
  if (field.type === 'hidden') continue;
  const byFor = field.id && document.querySelector('label[for="' + CSS.escape(field.id) + '"]');
  if (!byFor && !field.closest('label')) problems.push('field ' + (field.name || field.id) + ' has no <label>');
}
for (const button of document.querySelectorAll('button')) {
  if (button.getAttribute('type') !== 'submit') problems.push('button "' + button.textContent.trim() + '" is not type=submit');
  if (!button.textContent.trim()) problems.push('a button has no text');
}
for (const fake of document.querySelectorAll('input[type=submit], input[type=button], [role=button], [onclick]')) {
  problems.push('not a real button: ' + fake.outerHTML.slice(0, 80));
}
for (const form of document.querySelectorAll('form')) {
  if (!form.querySelector('button[type=submit]')) problems.push('a form without a submit button');
}
const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
if (document.querySelectorAll('h1').length !== 1) problems.push('the page has not exactly one <h1>');
let level = 0;
for (const h of headings) {
  const next = Number(h.tagName[1]);
  if (next > level + 1) problems.push('<' + h.tagName.toLowerCase() + '> "' + h.textContent.trim() + '" skips a level after h' + level);
  level = next;
}
const rgba = (text) => {
  const m = text.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const luminance = (c) => {
  const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const backgroundOf = (el) => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) return c;
  }
  return [255, 255, 255, 1];
};
const checked = new Set();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const node = walker.currentNode;
  const el = node.parentElement;
  if (!node.textContent.trim() || !el || checked.has(el)) continue;
  checked.add(el);
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  if (box.width === 0 || box.height === 0 || box.right < 0 || style.visibility === 'hidden') continue;
  if (el.closest('select')) continue;
  const fg = rgba(style.color), bg = backgroundOf(el);
  const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
  const large = size >= 24 || (bold && size >= 18.66);
  if (ratio < (large ? 3 : 4.5)) problems.push('contrast ' + ratio.toFixed(2) + ':1 for "' + node.textContent.trim().slice(0, 40) + '"');
}
const rules = [];
for (const sheet of document.styleSheets) { try { rules.push(...sheet.cssRules); } catch (e) {} }
// The shorthand with a var() leaves the longhands empty in the CSSOM: read the rule's text.
const focusStyle = rules.some((r) => r.selectorText && r.selectorText.includes(':focus')
  && /outline(-style)?:[^;]*(solid|dashed|dotted|double|auto)/.test(r.style.cssText));
if (!focusStyle) problems.push('no visible focus style (an outline on :focus or :focus-visible)');
if (document.documentElement.scrollWidth > window.innerWidth) {
  problems.push('scrolls sideways: ' + document.documentElement.scrollWidth + 'px wide in a ' + window.innerWidth + 'px window');
}
return problems;
"#;

impl Drop for Browser {
    fn drop(&mut self) {
        if self.client.is_some() || self.driver.try_wait().ok().flatten().is_none() {
            self.stop_driver();
        }
    }
}
