//! `bench/run`: the release server against a fresh database and an SMTP sink, driven from this
//! process over loopback, with pgbench doing the same database work by hand in the same run.
//! Prints a table and writes docs/PERFORMANCE.md. Targets are in the table, never in tests.

#[path = "../tests/support/smtp.rs"]
mod smtp;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

const PORT: u16 = 18080;
const ADMIN_EMAIL: &str = "bench-admin@example.org";
const ADMIN_PASSWORD: &str = "bench admin password";

struct Figures {
    rows: Vec<[String; 4]>,
    notes: Vec<String>,
}

impl Figures {
    fn row(&mut self, scenario: &str, figure: &str, value: String, target: &str) {
        println!("{scenario:<28} {figure:<44} {value:<34} {target}");
        self.rows
            .push([scenario.into(), figure.into(), value, target.into()]);
    }
}

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn admin_url(db: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432".into());
    format!("{}/{db}", base.trim_end_matches('/'))
}

fn psql(db: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            &admin_url(db),
            "-c",
            sql,
        ])
        .output()
        .context("psql")?;
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn server_env(cmd: &mut Command, db: &str, smtp_url: &str) {
    cmd.current_dir(repo())
        .env("CONVENE__DATABASE__URL", admin_url(db))
        .env("CONVENE__SERVER__PORT", PORT.to_string())
        .env("CONVENE__EMAIL__TRANSPORT", "smtp")
        .env("CONVENE__EMAIL__SMTP_URL", smtp_url)
        .env(
            "CONVENE__APP__PUBLIC_URL",
            format!("http://127.0.0.1:{PORT}"),
        )
        // A rush of anonymous registrants comes from one address here.
        .env("CONVENE__AUTH__MAX_FAILED_LOGINS_PER_CLIENT", "1000000")
        .env("CONVENE__LIMITS__ANONYMOUS_EMAILS_PER_CLIENT_PER_HOUR", "0")
        .env("CONVENE__LIMITS__EMAILS_PER_RECIPIENT_PER_HOUR", "0")
        .env("RUST_LOG", "warn");
}

fn start_server(bin: &str, db: &str, smtp_url: &str) -> Result<Child> {
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    server_env(&mut cmd, db, smtp_url);
    cmd.spawn().context("starting convene serve")
}

/// A memory figure of the server's /proc status (`VmHWM` is the peak, `VmRSS` the current), MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn peak_rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmHWM:")
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let idx = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms[idx]
}

struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// The slowest request: a stall that p99 hides (a few requests waiting seconds) shows here.
    max_ms: f64,
    errors: u64,
    /// wrk's own lines about them ("Non-2xx or 3xx responses: 1", "Socket errors: ..."), to
    /// tell a timeout from an error answer.
    error_lines: Vec<String>,
}

fn parse_ms(text: &str) -> f64 {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| c.is_alphabetic()).unwrap_or(t.len()));
    let n: f64 = num.parse().unwrap_or(0.0);
    match unit {
        "us" => n / 1000.0,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => n,
    }
}

fn wrk(url: &str, connections: u32, secs: u32) -> Result<Wrk> {
    wrk_with(url, connections, secs, &[])
}

/// `headers` are `Name: value` lines added to every request.
fn wrk_with(url: &str, connections: u32, secs: u32, headers: &[String]) -> Result<Wrk> {
    let out = Command::new("wrk")
        .args(headers.iter().flat_map(|h| ["-H".to_owned(), h.clone()]))
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--latency",
            url,
        ])
        .output()
        .context("wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let find = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.trim_start()[prefix.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    let rps = find("Requests/sec:").parse().unwrap_or(0.0);
    let p50_ms = parse_ms(&find("50%"));
    let p99_ms = parse_ms(&find("99%"));
    // "Latency   0.86ms    1.68ms  61.18ms   95.75%": average, stdev, max, share within a stdev.
    let max_ms = parse_ms(
        find("Latency")
            .split_whitespace()
            .nth(2)
            .unwrap_or_default(),
    );
    let error_lines: Vec<String> = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(|l| l.trim().to_owned())
        .collect();
    // "Non-2xx or 3xx responses: 1" and "Socket errors: connect 0, read 0, write 0, timeout 2":
    // the numbers after the colon (not the 2 and 3 of "2xx or 3xx").
    let errors = error_lines
        .iter()
        .flat_map(|l| {
            l.split_once(':')
                .map_or("", |(_, counts)| counts)
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
        })
        .sum();
    Ok(Wrk {
        rps,
        p50_ms,
        p99_ms,
        max_ms,
        errors,
        error_lines,
    })
}

fn pgbench(db: &str, script: &str, clients: u32, secs: u32) -> Result<f64> {
    let path = std::env::temp_dir().join(format!("convene-bench-{}.sql", std::process::id()));
    std::fs::write(&path, script)?;
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &secs.to_string(),
        ])
        .arg("-f")
        .arg(&path)
        .arg(admin_url(db))
        .output()
        .context("pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l[6..].split_whitespace().next()?.parse().ok())
        .context("pgbench printed no tps")
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let mut req = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value> {
        let (status, value) = self.call(method.clone(), path, token, body).await?;
        if status >= 300 {
            bail!("{method} {path} answered {status}: {value}");
        }
        Ok(value)
    }
}

async fn timed_posts(
    api: &Arc<Api>,
    path_body: Vec<(String, Value)>,
    concurrency: usize,
) -> (Vec<f64>, usize, f64) {
    let started = Instant::now();
    let results: Vec<(f64, u16)> = stream::iter(path_body)
        .map(|(path, body)| {
            let api = api.clone();
            async move {
                let t = Instant::now();
                let status = api
                    .call(reqwest::Method::POST, &path, None, Some(body))
                    .await
                    .map(|(s, _)| s)
                    .unwrap_or(599);
                (t.elapsed().as_secs_f64() * 1000.0, status)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let errors = results.iter().filter(|(_, s)| *s >= 500).count();
    let mut latencies: Vec<f64> = results.into_iter().map(|(l, _)| l).collect();
    latencies.sort_by(f64::total_cmp);
    (latencies, errors, elapsed)
}

/// The reader is another client browsing (200 reads/s), not a second load generator: a closed
/// loop would take a core of its own away from the load it is measured beside. It has a thread,
/// a runtime and a connection of its own, so what it measures is the server, not how busy the
/// load generator's own runtime is.
const READER_PACE: Duration = Duration::from_millis(5);

/// A paced reader of `url` running until `stop`.
struct Reader {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Result<Vec<f64>>>,
}

impl Reader {
    fn start(url: String) -> Reader {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let client = reqwest::Client::new();
                let mut latencies = Vec::new();
                while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = Instant::now();
                    let _ = client
                        .get(&url)
                        .send()
                        .await
                        .and_then(|r| r.error_for_status());
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    tokio::time::sleep(READER_PACE).await;
                }
                Ok(latencies)
            })
        });
        Reader { stop, thread }
    }

    /// The sorted latencies in ms.
    fn stop(self) -> Result<Vec<f64>> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut latencies = self
            .thread
            .join()
            .map_err(|_| anyhow::anyhow!("the reader panicked"))??;
        latencies.sort_by(f64::total_cmp);
        Ok(latencies)
    }

    /// Reads `url` alone for `secs`: the sorted latencies in ms.
    async fn unloaded(url: &str, secs: u64) -> Result<Vec<f64>> {
        let reader = Reader::start(url.to_owned());
        tokio::time::sleep(Duration::from_secs(secs)).await;
        reader.stop()
    }
}

/// One Argon2id hash with the server's parameters, as the server runs it (its working memory
/// allocated once and reused): the median of 30, so that neither the first run's page faults
/// nor a moment of noise sets the login storm's target.
fn argon2_hash_secs() -> f64 {
    let params = argon2::Params::new(19_456, 2, 1, None).expect("params");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut memory = vec![argon2::Block::default(); argon.params().block_count()];
    let mut out = [0u8; 32];
    let mut runs: Vec<f64> = (0..30)
        .map(|i: u32| {
            let started = Instant::now();
            let salt = format!("benchmark-salt-{i}");
            let _ = argon.hash_password_into_with_memory(
                b"benchmark password",
                salt.as_bytes(),
                &mut out,
                &mut memory,
            );
            started.elapsed().as_secs_f64()
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

#[tokio::main]
async fn main() -> Result<()> {
    let bin = std::env::args()
        .nth(1)
        .context("usage: bench <path to release convene>")?;
    let db = "convene_bench";
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )?;
    let sink = smtp::SmtpServer::start().await;
    let mut figures = Figures {
        rows: Vec::new(),
        notes: Vec::new(),
    };

    let mut admin = Command::new(&bin);
    admin
        .args([
            "admin",
            "create",
            "--email",
            ADMIN_EMAIL,
            "--name",
            "Bench Admin",
        ])
        .env("CONVENE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null());
    server_env(&mut admin, db, &sink.url());
    anyhow::ensure!(admin.status()?.success(), "admin create failed");

    let mut server = start_server(&bin, db, &sink.url())?;
    let pid = server.id();
    let api = Arc::new(Api {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?,
        base: format!("http://127.0.0.1:{PORT}"),
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !api
        .client
        .get(format!("{}/health/ready", api.base))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(Instant::now() < deadline, "server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = run_scenarios(&api, db, &sink, pid, &mut figures).await;
    let _ = server.kill();
    let _ = server.wait();
    result?;
    // A partial run (BENCH_SCENARIOS=fanout, say, while profiling one scenario) only prints.
    if std::env::var("BENCH_SCENARIOS").is_ok_and(|only| !only.is_empty()) {
        println!("\nBENCH_SCENARIOS is set: docs/PERFORMANCE.md left as it was");
    } else {
        write_report(&figures)?;
    }
    Ok(())
}

async fn run_scenarios(
    api: &Arc<Api>,
    db: &str,
    sink: &smtp::SmtpServer,
    pid: u32,
    figures: &mut Figures,
) -> Result<()> {
    use reqwest::Method;
    let login = api
        .expect(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await?;
    let token = login["token"].as_str().context("token")?.to_owned();
    let t = Some(token.as_str());

    // The Japan dialogue's shape: partners, two closed sessions, a public seminar, speakers.
    let mut partners = Vec::new();
    for (name, short, role) in [
        (
            "Asia Pacific Centre for the Responsibility to Protect",
            "APR2P",
            "organizer",
        ),
        (
            "Sophia Institute of International Relations",
            "SIIR",
            "co_organizer",
        ),
        (
            "Australian Department of Foreign Affairs and Trade",
            "DFAT",
            "funder",
        ),
    ] {
        let org = api.expect(Method::POST, "/organizations", t, Some(json!({"name": name, "short_name": short, "kind": "academia", "country": "AU", "website": "https://example.org"}))).await?;
        partners.push(json!({"organization_id": org["id"], "role": role}));
    }
    let start = chrono::Utc::now() + chrono::Duration::days(30);
    let event = api
        .expect(
            Method::POST,
            "/events",
            t,
            Some(json!({
        "title": "Japan National Dialogue on R2P and Atrocities Prevention (benchmark)",
        "summary": "Benchmark edition", "country": "JP", "timezone": "Asia/Tokyo",
        "format": "online", "online_url": "https://example.org/meeting"})),
        )
        .await?;
    let event_id = event["id"].as_str().context("event id")?.to_owned();
    let slug = event["slug"].as_str().context("slug")?.to_owned();
    api.expect(
        Method::PUT,
        &format!("/events/{event_id}/partners"),
        t,
        Some(Value::Array(partners)),
    )
    .await?;
    let mut session_ids = Vec::new();
    for (i, (title, access, capacity)) in [
        ("Closed session 1: R2P and Human Security", "closed", 30),
        ("Closed session 2: Japanese praxis", "closed", 30),
        ("Public seminar", "public", 100),
    ]
    .into_iter()
    .enumerate()
    {
        let s = start + chrono::Duration::hours(i as i64 * 3);
        let session = api.expect(Method::POST, &format!("/events/{event_id}/sessions"), t, Some(json!({
            "title": title, "description": "Benchmark session", "access": access,
            "starts_at": s, "ends_at": s + chrono::Duration::hours(2), "capacity": capacity, "waitlist": true}))).await?;
        let sid = session["id"].as_str().context("session id")?.to_owned();
        for (n, role) in [
            ("Prof. Hoshino", "opening_remarks"),
            ("Dr Morada", "presenter"),
        ] {
            api.expect(
                Method::POST,
                &format!("/sessions/{sid}/speakers"),
                t,
                Some(json!({"name": n, "organization": "APR2P", "role": role})),
            )
            .await?;
        }
        session_ids.push(sid);
    }
    let rush_start = start + chrono::Duration::hours(12);
    let rush = api
        .expect(
            Method::POST,
            &format!("/events/{event_id}/sessions"),
            t,
            Some(json!({
        "title": "Public seminar (rush)", "access": "public", "starts_at": rush_start,
        "ends_at": rush_start + chrono::Duration::hours(2), "capacity": 100, "waitlist": true})),
        )
        .await?;
    let rush_id = rush["id"].as_str().context("rush id")?.to_owned();
    api.expect(
        Method::POST,
        &format!("/events/{event_id}/publish"),
        t,
        None,
    )
    .await?;

    let url = format!("{}/api/v1/events/{slug}", api.base);
    let only = std::env::var("BENCH_SCENARIOS").unwrap_or_default();
    let wants = |name: &str| only.is_empty() || only.split(',').any(|n| n.trim() == name);
    if wants("read") {
        // 1. Public event read.
        let _ = wrk(&url, 32, 3)?; // warm-up
        let read32 = wrk(&url, 32, 10)?;
        let read64 = wrk(&url, 64, 10)?;
        // The event's HTML page as a visitor without a session cookie reads it: the kept page.
        let page_url = format!("{}/events/{slug}", api.base);
        let _ = wrk(&page_url, 32, 3)?; // warm-up
        let page32 = wrk(&page_url, 32, 10)?;
        // A signed-in member who neither runs the event nor holds a seat: one query for that,
        // then the cached public view.
        let member_email = "bench-member@example.org";
        api.expect(
        Method::POST,
        "/auth/signup",
        None,
        Some(json!({"email": member_email, "password": "bench member password", "name": "Member"})),
    )
    .await?;
        let member = api
            .expect(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"email": member_email, "password": "bench member password"})),
            )
            .await?;
        let member_header = format!(
            "Authorization: Bearer {}",
            member["token"].as_str().context("member token")?
        );
        let member32 = wrk_with(&url, 32, 10, std::slice::from_ref(&member_header))?;
        let member64 = wrk_with(&url, 64, 10, std::slice::from_ref(&member_header))?;
        // Staff (here the admin) are never served from the cache: this is the database path.
        let staff_header = format!("Authorization: Bearer {token}");
        let uncached32 = wrk_with(&url, 32, 10, std::slice::from_ref(&staff_header))?;
        let uncached64 = wrk_with(&url, 64, 10, std::slice::from_ref(&staff_header))?;
        let (event_row, sessions_in) = (
            format!("'{slug}'"),
            session_ids
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(","),
        );
        let read_sql = format!(
        "SELECT * FROM events WHERE slug = {event_row};\n\
         SELECT * FROM sessions WHERE event_id = '{event_id}' ORDER BY starts_at;\n\
         SELECT * FROM speakers WHERE session_id IN ({sessions_in}) ORDER BY sort_order;\n\
         SELECT p.role, o.id, o.name FROM event_partners p JOIN organizations o ON o.id = p.organization_id WHERE p.event_id = '{event_id}';\n\
         SELECT session_id, count(*) FROM registrations WHERE session_id IN ({sessions_in}) AND status = 'confirmed' GROUP BY session_id;\n");
        let pg_read = pgbench(db, &read_sql, 32, 10)?;
        figures.row(
            "public event read",
            "requests/s at 32 / 64 connections",
            format!("{:.0} / {:.0}", read32.rps, read64.rps),
            "",
        );
        figures.row(
            "public event read",
            "pgbench, same rows (tps, 32 clients)",
            format!("{pg_read:.0}"),
            "",
        );
        figures.row(
            "public event read",
            "ratio to pgbench (32 conns)",
            format!("{:.0}%", read32.rps / pg_read * 100.0),
            ">= 50%",
        );
        figures.row(
            "public event read",
            "p50 / p99 / max at 32 conns (ms)",
            format!(
                "{:.2} / {:.2} / {:.1}",
                read32.p50_ms, read32.p99_ms, read32.max_ms
            ),
            "p99 <= 20 ms",
        );
        figures.row(
            "public event read",
            "p50 / p99 / max at 64 conns (ms)",
            format!(
                "{:.2} / {:.2} / {:.1}",
                read64.p50_ms, read64.p99_ms, read64.max_ms
            ),
            "",
        );
        figures.row(
            "public event page (HTML)",
            "requests/s at 32 connections",
            format!("{:.0}", page32.rps),
            "",
        );
        figures.row(
            "public event page (HTML)",
            "ratio to the JSON read (32 conns)",
            format!("{:.0}%", page32.rps / read32.rps * 100.0),
            ">= 50%",
        );
        figures.row(
            "public event page (HTML)",
            "p50 / p99 / max at 32 conns (ms)",
            format!(
                "{:.2} / {:.2} / {:.1}",
                page32.p50_ms, page32.p99_ms, page32.max_ms
            ),
            "",
        );
        figures.row(
            "public event read",
            "signed-in member (no seat, not staff) requests/s at 32 / 64",
            format!("{:.0} / {:.0}", member32.rps, member64.rps),
            "",
        );
        figures.row(
            "public event read",
            "signed-in member p50 / p99 at 32 / 64 conns (ms)",
            format!(
                "{:.2} / {:.2}, {:.2} / {:.2}",
                member32.p50_ms, member32.p99_ms, member64.p50_ms, member64.p99_ms
            ),
            "p99 <= 20 ms (the read's target)",
        );
        figures.row(
            "public event read",
            "uncached (event staff) requests/s at 32 / 64",
            format!("{:.0} / {:.0}", uncached32.rps, uncached64.rps),
            "",
        );
        figures.row(
            "public event read",
            "uncached ratio to pgbench (32 conns)",
            format!("{:.0}%", uncached32.rps / pg_read * 100.0),
            ">= 50%",
        );
        figures.row(
            "public event read",
            "uncached p50 / p99 at 32 / 64 conns (ms)",
            format!(
                "{:.2} / {:.2}, {:.2} / {:.2}",
                uncached32.p50_ms, uncached32.p99_ms, uncached64.p50_ms, uncached64.p99_ms
            ),
            "none (our own row; see the analysis)",
        );
        figures.row(
            "public event read",
            "errors (non-2xx, socket)",
            {
                let runs = [
                    ("public 32", &read32),
                    ("public 64", &read64),
                    ("page 32", &page32),
                    ("member 32", &member32),
                    ("member 64", &member64),
                    ("uncached 32", &uncached32),
                    ("uncached 64", &uncached64),
                ];
                let total: u64 = runs.iter().map(|(_, w)| w.errors).sum();
                let which: Vec<String> = runs
                    .iter()
                    .filter(|(_, w)| w.errors > 0)
                    .map(|(name, w)| format!("{name}: {}", w.error_lines.join("; ")))
                    .collect();
                if which.is_empty() {
                    total.to_string()
                } else {
                    format!("{total} ({})", which.join(" / "))
                }
            },
            "0",
        );
    }
    if wants("rush") {
        // 2. Registration rush: 10,000 register, then 10,000 confirm (each confirmation takes a seat).
        let registrants = 10_000;
        // A visitor reading the event page all through the rush: the rush must not empty the
        // public cache nor starve its readers.
        let unloaded_read = Reader::unloaded(&url, 5).await?;
        let reader = Reader::start(url.clone());
        let before = sink.messages().len();
        let bodies: Vec<(String, Value)> = (0..registrants)
        .map(|i| {
            (
                format!("/sessions/{rush_id}/registrations"),
                json!({"email": format!("rush{i}@example.org"), "name": format!("Registrant {i}")}),
            )
        })
        .collect();
        let (reg_lat, reg_errors, reg_secs) = timed_posts(api, bodies, 64).await;
        let mails = sink
            .wait_for(before + registrants, Duration::from_secs(900))
            .await;
        let tokens: Vec<String> = mails[before..]
            .iter()
            .filter_map(|m| m.first_link("http://127.0.0.1:18080/registrations/confirm?token="))
            .filter_map(|l| l.split("token=").nth(1).map(str::to_owned))
            .collect();
        anyhow::ensure!(
            tokens.len() == registrants,
            "expected {registrants} confirmation links, got {}",
            tokens.len()
        );
        let bodies: Vec<(String, Value)> = tokens
            .into_iter()
            .map(|tok| ("/registrations/confirm".to_owned(), json!({"token": tok})))
            .collect();
        let (conf_lat, conf_errors, conf_secs) = timed_posts(api, bodies, 64).await;
        let read_during_rush = reader.stop()?;
        // Every confirmation emails its registrant. pgbench below measures the database alone,
        // so it runs once those have gone out: a worker still sending would slow it, and
        // flatter the ratio.
        sink.wait_for(before + 2 * registrants, Duration::from_secs(900))
            .await;
        let counts = psql(db, &format!("SELECT status || '=' || count(*) FROM registrations WHERE session_id = '{rush_id}' GROUP BY status ORDER BY status"))?.replace('\n', ", ");
        let in_order = psql(db, &format!(
        "SELECT (SELECT max(confirmed_at) FROM registrations WHERE session_id = '{rush_id}' AND status = 'confirmed') \
         <= (SELECT min(updated_at) FROM registrations WHERE session_id = '{rush_id}' AND status = 'waitlisted') \
         AND (SELECT count(DISTINCT waitlist_seq) FROM registrations WHERE session_id = '{rush_id}' AND status = 'waitlisted') = \
             (SELECT count(*) FROM registrations WHERE session_id = '{rush_id}' AND status = 'waitlisted')"))?;
        let rush_sql = format!(
        "\\set n random(1, 2000000000)\n\
         BEGIN;\n\
         SELECT id, capacity, waitlist FROM sessions WHERE id = '{pg_sid}' FOR UPDATE;\n\
         SELECT count(*) FROM registrations WHERE session_id = '{pg_sid}' AND status = 'confirmed';\n\
         WITH p AS (INSERT INTO people (id, email, name) VALUES (gen_random_uuid(), 'pgbench-' || :n || '-' || md5(random()::text) || '@example.org', 'P') RETURNING id) \
         INSERT INTO registrations (id, session_id, person_id, status, source, waitlist_seq) SELECT gen_random_uuid(), '{pg_sid}', p.id, 'waitlisted', 'public_form', nextval('registration_waitlist_seq') FROM p;\n\
         INSERT INTO emails (id, kind, to_address, subject, text_body, html_body, status) VALUES (gen_random_uuid(), 'bench', 'pgbench@example.org', 'subject', 'text', 'html', 'cancelled');\n\
         COMMIT;\n", pg_sid = session_ids[2]);
        let pg_rush = pgbench(db, &rush_sql, 64, 10)?;
        // An anonymous sign-up as `registrations::service::register` makes it: the session and
        // its event read, the person found or created, no live registration found, a
        // `pending_confirmation` registration holding the link's token, its outbox row (as long
        // as the confirmation requests the rush queued, and cancelled so no worker sends it).
        let (text_len, html_len) = psql(db, "SELECT avg(length(text_body))::int || ' ' || avg(length(html_body))::int FROM emails WHERE kind = 'registration_confirm_request'")?
            .split_once(' ')
            .map(|(t, h)| (t.to_owned(), h.to_owned()))
            .context("the rush's confirmation requests")?;
        let signup_sql = format!(
        "\\set n random(1, 9000000000000000000)\n\
         BEGIN;\n\
         SELECT * FROM sessions s JOIN events e ON e.id = s.event_id WHERE s.id = '{pg_sid}';\n\
         INSERT INTO people (id, email, name) VALUES (gen_random_uuid(), 'signup' || :n || '@example.org', 'Registrant') ON CONFLICT (email) DO NOTHING;\n\
         SELECT * FROM people WHERE email = 'signup' || :n || '@example.org';\n\
         SELECT r.id FROM registrations r JOIN people p ON p.id = r.person_id WHERE r.session_id = '{pg_sid}' AND p.email = 'signup' || :n || '@example.org' AND r.status <> 'cancelled';\n\
         INSERT INTO registrations (id, session_id, person_id, status, source, confirm_token_hash, confirm_token_expires_at) \
         SELECT gen_random_uuid(), '{pg_sid}', p.id, 'pending_confirmation', 'public_form', sha256(:n::text::bytea), now() + interval '48 hours' FROM people p WHERE p.email = 'signup' || :n || '@example.org' RETURNING *;\n\
         INSERT INTO emails (id, dedupe_key, kind, event_id, to_address, subject, text_body, html_body, status) \
         VALUES (gen_random_uuid(), 'pgbench-signup:' || :n, 'registration_confirm_request', '{event_id}', 'signup' || :n || '@example.org', 'Confirm your registration', repeat('t', {text_len}), repeat('h', {html_len}), 'cancelled') ON CONFLICT (dedupe_key) DO NOTHING;\n\
         COMMIT;\n", pg_sid = session_ids[2]);
        let pg_signup = pgbench(db, &signup_sql, 64, 10)?;
        let register_rps = registrants as f64 / reg_secs;
        let confirm_rps = registrants as f64 / conf_secs;
        figures.row(
            "registration rush",
            "anonymous sign-ups/s (pending_confirmation + its email, 64 conc.)",
            format!("{register_rps:.0}"),
            "",
        );
        figures.row(
            "registration rush",
            "pgbench, same writes (tps, 64 clients)",
            format!("{pg_signup:.0}"),
            "",
        );
        figures.row(
            "registration rush",
            "sign-up ratio to pgbench",
            format!("{:.0}%", register_rps / pg_signup * 100.0),
            ">= 60%",
        );
        figures.row(
            "registration rush",
            "register p99 (ms)",
            format!("{:.1}", percentile(&reg_lat, 0.99)),
            "",
        );
        figures.row(
            "registration rush",
            "seat-taking confirmations/s (64 conc.)",
            format!("{confirm_rps:.0}"),
            "",
        );
        figures.row(
            "registration rush",
            "pgbench, same transaction (tps, 64 clients)",
            format!("{pg_rush:.0}"),
            "",
        );
        figures.row(
            "registration rush",
            "seat-taking ratio to pgbench",
            format!("{:.0}%", confirm_rps / pg_rush * 100.0),
            ">= 60%",
        );
        figures.row(
            "registration rush",
            "confirmation p50 / p99 (ms)",
            format!(
                "{:.1} / {:.1}",
                percentile(&conf_lat, 0.5),
                percentile(&conf_lat, 0.99)
            ),
            "",
        );
        figures.row(
            "registration rush",
            "public event read p50 / p99 unloaded, during the rush (ms)",
            format!(
                "{:.2} / {:.2}, {:.2} / {:.2}",
                percentile(&unloaded_read, 0.5),
                percentile(&unloaded_read, 0.99),
                percentile(&read_during_rush, 0.5),
                percentile(&read_during_rush, 0.99)
            ),
            "p99 <= 20 ms (the read's target)",
        );
        figures.row(
            "registration rush",
            "final counts",
            counts,
            "confirmed=100, waitlisted=9900",
        );
        figures.row(
            "registration rush",
            "waitlist in order, distinct places",
            in_order.replace('t', "yes").replace('f', "NO"),
            "yes",
        );
        figures.row(
            "registration rush",
            "5xx errors",
            format!("{}", reg_errors + conf_errors),
            "0",
        );
        figures.row(
            "memory",
            "peak RSS of the server after the rush (MiB)",
            format!("{:.1}", peak_rss_mib(pid)),
            "<= 64 MiB",
        );
    }
    if wants("fanout") {
        // 3. Invitation fan-out: one POST inviting 1,000 people to a closed session, timed from
        // an empty queue (the rush's 20,000 emails delivered first).
        let drained_by = Instant::now() + Duration::from_secs(600);
        while psql(db, "SELECT count(*) FROM emails WHERE status IN ('queued', 'sending') AND next_attempt_at <= now()")? != "0" {
            anyhow::ensure!(Instant::now() < drained_by, "the outbox did not drain");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // As pgbench does before its runs: autovacuum's pass over the rush's rows would
        // otherwise land in the middle of this one.
        psql(db, "VACUUM ANALYZE")?;
        let before = sink.messages().len();
        let invitees: Vec<Value> = (0..1000)
        .map(
            |i| json!({"email": format!("invitee{i}@example.org"), "name": format!("Invitee {i}")}),
        )
        .collect();
        let started = Instant::now();
        let created = api
            .expect(
                Method::POST,
                &format!("/events/{event_id}/invitations"),
                t,
                Some(json!({"session_ids": [session_ids[0]], "invitees": invitees})),
            )
            .await?;
        let accept_secs = started.elapsed().as_secs_f64();
        sink.wait_for(before + 1000, Duration::from_secs(600)).await;
        let delivered_secs = started.elapsed().as_secs_f64();
        figures.row(
            "invitation fan-out",
            "time to accept the 1,000-invitee POST (s)",
            format!("{accept_secs:.3} (created {})", created["created"]),
            "<= 1 s",
        );
        figures.row(
            "invitation fan-out",
            "1,000 invitations created and delivered to the sink, from the POST's start (s)",
            format!("{delivered_secs:.2}"),
            "<= 10 s",
        );
        figures.row(
            "memory",
            "peak RSS of the server after the fan-out (MiB)",
            format!("{:.1}", peak_rss_mib(pid)),
            "<= 64 MiB",
        );
    }
    if wants("login") {
        // 4. Login storm: 64 concurrent logins while another client reads. The reference hash
        // is timed just before and just after the storm, and the target set by their mean: this
        // machine's speed drifts by 10-20% within a minute, which one timing beforehand leaves
        // in the ratio.
        let hash_before = argon2_hash_secs();
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as f64;
        let mut accounts = Vec::new();
        for i in 0..64 {
            let email = format!("storm{i}@example.org");
            api.expect(
                Method::POST,
                "/auth/signup",
                None,
                Some(json!({"email": email, "password": "storm password 123", "name": "Storm"})),
            )
            .await?;
            accounts.push(email);
        }
        // Read alone for as long as the storm lasts: a p99 of 5 s of reads (~800) against one
        // of 10 s (~1,700) moved the ratio by half its value from run to run.
        let storm_secs = 10.0;
        let storm = || {
            let storm_until = Instant::now() + Duration::from_secs_f64(storm_secs);
            futures_util::future::join_all(accounts.iter().map(|email| {
                let api = api.clone();
                async move {
                    let mut n = 0;
                    while Instant::now() < storm_until {
                        if let Ok((200, _)) = api
                            .call(
                                Method::POST,
                                "/auth/login",
                                None,
                                Some(json!({"email": email, "password": "storm password 123"})),
                            )
                            .await
                        {
                            n += 1;
                        }
                    }
                    n
                }
            }))
        };
        let unloaded = Reader::unloaded(&url, storm_secs as u64).await?;
        let reader = Reader::start(url.clone());
        let logins: Vec<usize> = storm().await;
        let loaded = reader.stop()?;
        let hash_after = argon2_hash_secs();
        // A second storm, with a reader of a route that needs the database (readiness: one
        // query on a pooled connection): the hashes must leave PostgreSQL its share of the
        // cores.
        let ready_url = format!("{}/health/ready", api.base);
        let ready_unloaded = Reader::unloaded(&ready_url, storm_secs as u64).await?;
        let ready_reader = Reader::start(ready_url);
        storm().await;
        let ready_loaded = ready_reader.stop()?;
        let hash = (hash_before + hash_after) / 2.0;
        let logins_per_sec = logins.iter().sum::<usize>() as f64 / storm_secs;
        figures.row(
            "login storm",
            "one Argon2id hash before / after the storm (ms), cores",
            format!(
                "{:.1} / {:.1}, {cores}",
                hash_before * 1000.0,
                hash_after * 1000.0
            ),
            "",
        );
        figures.row(
            "login storm",
            "logins/s (64 concurrent)",
            format!("{logins_per_sec:.1}"),
            &format!(
                ">= {:.1} (45% of cores / mean hash; {:.0}% here)",
                0.45 * cores / hash,
                100.0 * logins_per_sec * hash / cores
            ),
        );
        figures.row(
            "login storm",
            "reader p99 unloaded / during storm (ms)",
            format!(
                "{:.2} / {:.2}",
                percentile(&unloaded, 0.99),
                percentile(&loaded, 0.99)
            ),
            "none (issue 17 holds the database reader below)",
        );
        figures.row(
            "login storm",
            "database reader (GET /health/ready) p99 / max unloaded, during a second storm (ms)",
            format!(
                "{:.2} / {:.1}, {:.2} / {:.1}",
                percentile(&ready_unloaded, 0.99),
                ready_unloaded.last().copied().unwrap_or_default(),
                percentile(&ready_loaded, 0.99),
                ready_loaded.last().copied().unwrap_or_default()
            ),
            "p99 <= 20 ms",
        );
        figures.row(
            "memory",
            "peak RSS of the server at the end (MiB)",
            format!("{:.1}", status_mib(pid, "VmHWM:")),
            "<= 64",
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        figures.row(
            "memory",
            "RSS of the server 3 s after the storm (MiB)",
            format!("{:.1}", status_mib(pid, "VmRSS:")),
            "none",
        );
    }
    figures.notes.push(format!(
        "wrk 2 threads; pgbench -j 2; server `convene serve` release build, pool {} connections",
        convene::db::pool_size(0)
    ));
    Ok(())
}

fn write_report(figures: &Figures) -> Result<()> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let pg = psql("postgres", "SHOW server_version").unwrap_or_default();
    let mut md = String::from("# Performance\n\nWritten by `bench/run` (see the README). Every figure below comes from one run on the machine described, with the server, PostgreSQL, the SMTP sink and the load generators sharing it.\n\n");
    md.push_str(&format!("* Machine: {cores} cores ({cpu}), PostgreSQL {pg}\n* Date: {}\n* Commands: `bench/run` = `cargo build --release` then `cargo run --release --example bench -- target/release/convene`; reads with `wrk -t2 -cN -d10s --latency`; database ceilings with `pgbench -n -cN -j2 -T10 -f <script>` doing the same SQL by hand\n\n", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")));
    md.push_str("| scenario | figure | measured | target |\n| --- | --- | --- | --- |\n");
    for [a, b, c, d] in &figures.rows {
        md.push_str(&format!("| {a} | {b} | {c} | {d} |\n"));
    }
    for note in &figures.notes {
        md.push_str(&format!("\n{note}\n"));
    }
    let path = repo().join("docs/PERFORMANCE.md");
    std::fs::create_dir_all(path.parent().context("docs dir")?)?;
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    // Keep the hand-written analysis below the generated table.
    let analysis = existing
        .split("<!-- analysis -->")
        .nth(1)
        .map(|s| format!("\n<!-- analysis -->{s}"))
        .unwrap_or_default();
    std::fs::write(&path, format!("{md}{analysis}"))?;
    println!("\nwrote {}", path.display());
    Ok(())
}
