//! NATS credentials and TLS with real processes: a `nats-server` that requires a token, a
//! user and password, an nkey, or TLS; a master and a worker that present them join, and a
//! node with wrong or missing credentials stops at once with one line on stderr and exit 1.

mod cluster_support;

use std::path::Path;
use std::process::{Command, Stdio};

use cluster_support::{cluster_name, master_at, node_command, Nats, Proc};

/// A worker of `cluster` on `url` with the environment `env`.
fn worker_command(url: &str, cluster: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = node_command(env!("CARGO_BIN_EXE_amoc"), cluster);
    cmd.args(["worker", "--name", "w1", "--cluster", url, "--shards", "1"]);
    cmd.envs(env.iter().copied());
    cmd
}

/// Runs a worker of a fresh cluster on `url` with `env`, which must stop at once: exit 1 and
/// one line on stderr, returned.
fn refused(url: &str, env: &[(&str, &str)]) -> String {
    let out = worker_command(url, &cluster_name("refused"), env)
        .stdin(Stdio::null())
        .output()
        .expect("run a worker with bad credentials");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {stderr}");
    lines[0].to_owned()
}

/// A master and a worker presenting `good` join the server; a worker presenting `bad`
/// exits 1 with one line saying why (containing `why`).
fn joins_with(url: &str, good: &[(&str, &str)], bad: &[(&str, &str)], why: &str) {
    let line = refused(url, bad);
    assert!(
        line.starts_with("error: cannot connect to NATS at ") && line.contains(why),
        "{line}"
    );
    let cluster = cluster_name("credentials");
    let mut m = master_at(url, &cluster, good);
    let mut w = Proc::spawn(worker_command(url, &cluster, good));
    w.line("joined cluster");
    m.proc.line("node w1 connected");
}

#[test]
fn a_token_is_presented_and_a_wrong_one_refused() {
    let nats = Nats::start_with(&["--auth", "s3cret-token"]);
    let url = nats.url.clone();
    joins_with(
        &url,
        &[("AMOC_NATS_TOKEN", "s3cret-token")],
        &[("AMOC_NATS_TOKEN", "wrong")],
        "authorization violation",
    );
}

#[test]
fn a_user_and_password_are_presented_and_none_refused() {
    let nats = Nats::start_with(&["--user", "amoc", "--pass", "pa55word"]);
    let url = nats.url.clone();
    joins_with(
        &url,
        &[
            ("AMOC_NATS_USER", "amoc"),
            ("AMOC_NATS_PASSWORD", "pa55word"),
        ],
        &[],
        "authorization violation",
    );
}

#[test]
fn an_nkey_signs_the_connection_and_another_key_is_refused() {
    let user = nkeys::KeyPair::new_user();
    let stranger = nkeys::KeyPair::new_user();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conf = dir.path().join("nkey.conf");
    let text = format!(
        "authorization {{ users = [ {{ nkey: \"{}\" }} ] }}\n",
        user.public_key()
    );
    std::fs::write(&conf, text).expect("write the server configuration");
    let nats = Nats::start_with(&["-c", &conf.to_string_lossy()]);
    let url = nats.url.clone();
    let seed = user.seed().expect("a seed");
    let other = stranger.seed().expect("a seed");
    joins_with(
        &url,
        &[("AMOC_NATS_NKEY", &seed)],
        &[("AMOC_NATS_NKEY", &other)],
        "authorization violation",
    );
}

/// Writes a self-signed certificate for 127.0.0.1 and its key; returns their paths.
fn certificate(dir: &Path) -> (String, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .expect("a self-signed certificate");
    let (crt, key) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&crt, cert.cert.pem()).expect("write the certificate");
    std::fs::write(&key, cert.key_pair.serialize_pem()).expect("write the key");
    (
        crt.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}

#[test]
fn tls_with_the_servers_root_joins_and_an_untrusted_server_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (crt, key) = certificate(dir.path());
    let nats = Nats::start_with(&["--tls", "--tlscert", &crt, "--tlskey", &key]);
    let url = nats.url.replace("nats://", "tls://");
    joins_with(&url, &[("AMOC_NATS_CA", &crt)], &[], "certificate");
    let missing = dir.path().join("missing.pem");
    let line = refused(&url, &[("AMOC_NATS_CA", &missing.to_string_lossy())]);
    assert!(
        line.starts_with("error: cannot read AMOC_NATS_CA "),
        "{line}"
    );
}
