//! Password hashes run in a `convene hash-worker` child of the server: in a scheduling group of
//! its own, replaced without losing a login when it dies, and gone when the server goes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{hash_worker_program, TestApp};

/// `/proc/<pid>/stat` after the command name: state, parent, process group, session, ...
fn stat(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

/// The live `hash-worker` children of `parent`.
fn hash_workers_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let alive_child =
                stat(pid).is_some_and(|fields| fields[1] == parent.to_string() && fields[0] != "Z");
            alive_child && String::from_utf8_lossy(&cmdline).contains("hash-worker")
        })
        .collect()
}

/// These tests look at this process's children and kill them: under `cargo test` every test
/// shares one process (and one hash worker), so they run under nextest only, one per process.
fn in_a_process_of_its_own() -> bool {
    let alone = std::env::var_os("NEXTEST_RUN_ID").is_some();
    if !alone {
        eprintln!("skipped: needs a process of its own (cargo nextest)");
    }
    alone
}

/// CPU time `pid` has used so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    stat(pid).map_or(0, |fields| {
        fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0)
    })
}

async fn the_hash_worker() -> u32 {
    for _ in 0..100 {
        if let [pid] = hash_workers_of(std::process::id())[..] {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected exactly one hash worker, found {:?}",
        hash_workers_of(std::process::id())
    );
}

#[tokio::test]
async fn logins_survive_the_hash_worker_being_killed_in_the_middle_of_a_storm() {
    if !in_a_process_of_its_own() {
        return;
    }
    let app = TestApp::spawn().await;
    let member = app.user("member").await;
    let worker = the_hash_worker().await;

    // Its own session, hence its own autogroup, at the lowest weight.
    let fields = stat(worker).expect("the hash worker's stat");
    assert_eq!(
        fields[3],
        worker.to_string(),
        "the hash worker leads its session"
    );
    let our_session = stat(std::process::id()).expect("our stat")[3].clone();
    assert_ne!(fields[3], our_session);
    if let Ok(autogroup) = std::fs::read_to_string(format!("/proc/{worker}/autogroup")) {
        assert!(autogroup.contains("nice 19"), "autogroup: {autogroup}");
    }

    let idle = cpu_ticks(worker);
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/auth/login", app.address);
            let body = json!({"email": member.email, "password": "correct horse battery staple"});
            tokio::spawn(async move { client.post(url).json(&body).send().await })
        })
        .collect();
    // Killed once it is hashing these logins.
    for _ in 0..500 {
        if cpu_ticks(worker) > idle + 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let killed = Command::new("kill")
        .args(["-KILL", &worker.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    for login in logins {
        let res = login.await.expect("task").expect("response");
        assert_eq!(res.status(), StatusCode::OK);
    }

    let replacement = the_hash_worker().await;
    assert_ne!(replacement, worker);
    assert_a_wrong_password_is_refused(&app, &member.email).await;
}

async fn assert_a_wrong_password_is_refused(app: &TestApp, email: &str) {
    let res = app
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": "not the password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// A worker that stops answering (here: stopped by a signal) is replaced, and the login it
/// held is answered by the next one.
#[tokio::test]
async fn a_stuck_hash_worker_is_replaced_and_its_login_answered() {
    if !in_a_process_of_its_own() {
        return;
    }
    let app = TestApp::spawn_with(|settings| settings.auth.hash_worker_deadline_ms = 2_000).await;
    let member = app.user("member").await;
    let stuck = the_hash_worker().await;
    let stopped = Command::new("kill")
        .args(["-STOP", &stuck.to_string()])
        .status()
        .expect("kill");
    assert!(stopped.success());

    let token = app
        .login(&member.email, "correct horse battery staple")
        .await;
    assert_ne!(token, member.token);
    let replacement = the_hash_worker().await;
    assert_ne!(replacement, stuck);
    assert!(
        stat(stuck).is_none(),
        "the stuck worker was killed and reaped"
    );
}

/// Sends one request line and reads one answer line.
fn ask(stdin: &mut impl Write, answers: &mut impl BufRead, id: u64, work: Value) -> Value {
    writeln!(stdin, "{}", json!({"id": id, "work": work})).expect("write a request");
    stdin.flush().expect("flush");
    let mut line = String::new();
    answers.read_line(&mut line).expect("read an answer");
    let answer: Value = serde_json::from_str(&line).expect("an answer is JSON");
    assert_eq!(answer["id"], id, "{answer}");
    answer["outcome"].clone()
}

async fn exit_status(mut child: std::process::Child) -> std::process::ExitStatus {
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    panic!("the hash worker did not exit");
}

/// `convene hash-worker` as the server starts it, with its stderr to read too.
fn start_hash_worker() -> std::process::Child {
    Command::new(hash_worker_program())
        .arg(convene::auth::hash_worker::SUBCOMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start convene hash-worker")
}

#[tokio::test]
async fn the_hash_worker_answers_over_its_pipe_and_leaves_when_the_pipe_closes() {
    let mut child = start_hash_worker();
    let mut stdin = child.stdin.take().expect("stdin");
    let mut answers = BufReader::new(child.stdout.take().expect("stdout"));

    let hashed = ask(
        &mut stdin,
        &mut answers,
        1,
        json!({"hash": {"password": "Nihon \"Kokusai\" 2022 ✓"}}),
    );
    let phc = hashed["hashed"].as_str().expect("a hash").to_owned();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let verify = |candidate: &str, stored: Value| json!({"verify": {"stored": stored, "candidate": candidate}});
    let right = verify("Nihon \"Kokusai\" 2022 ✓", json!(phc));
    assert_eq!(
        ask(&mut stdin, &mut answers, 2, right),
        json!({"verified": true})
    );
    let wrong = verify("Nihon Kokusai 2022", json!(phc));
    assert_eq!(
        ask(&mut stdin, &mut answers, 3, wrong),
        json!({"verified": false})
    );
    // No account: the dummy hash is checked, and the answer is no.
    let nobody = verify("Nihon \"Kokusai\" 2022 ✓", Value::Null);
    assert_eq!(
        ask(&mut stdin, &mut answers, 4, nobody),
        json!({"verified": false})
    );

    // The server going away closes the pipe, even in the middle of a hash.
    writeln!(
        stdin,
        "{}",
        json!({"id": 5, "work": {"hash": {"password": "abandoned!"}}})
    )
    .expect("write");
    drop(stdin);
    assert!(exit_status(child).await.success());

    let mut child = start_hash_worker();
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "not a request").expect("write");
    let mut stderr = child.stderr.take().expect("stderr");
    let status = exit_status(child).await;
    assert_eq!(status.code(), Some(2));
    let mut said = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut said).expect("stderr");
    assert!(said.contains("unreadable request"), "{said}");
}

/// A worker that cannot run must not cost a login: after three children that die without
/// answering, the server hashes on its own threads.
#[tokio::test]
async fn logins_work_when_the_hash_worker_cannot_run() {
    if !in_a_process_of_its_own() {
        return;
    }
    let app = TestApp::spawn_with(|settings| {
        settings.auth.hash_worker_program = Some("/bin/false".into());
    })
    .await;
    let member = app.user("member").await;
    let again = app
        .login(&member.email, "correct horse battery staple")
        .await;
    assert_ne!(again, member.token);
    assert!(hash_workers_of(std::process::id()).is_empty());
}

#[tokio::test]
async fn logins_work_when_the_hash_worker_program_is_missing() {
    if !in_a_process_of_its_own() {
        return;
    }
    let app = TestApp::spawn_with(|settings| {
        settings.auth.hash_worker_program = Some("/nonexistent/convene".into());
    })
    .await;
    let member = app.user("member").await;
    assert_a_wrong_password_is_refused(&app, &member.email).await;
}
