//! `edge-sts`: the operator CLI of edge-sts, built from the same core as the Worker.
//!
//! Exit codes: 0 success (valid, allowed); 1 a negative verdict (invalid token or
//! configuration, denied); 2 a usage or I/O problem; 141 when stdout was closed by its reader.
#![forbid(unsafe_code)]

mod agent;
mod backend;
mod check;
mod client;
mod creds;
mod decode;
mod explain;
mod files;
mod http;
mod keys;
mod keysrc;
mod mint;
mod util;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "edge-sts",
    version,
    about = "edge-sts CLI: signing keys, configuration check, token tools, policy dry-run, and the client-side credential helper"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Generate or rotate edge-sts's own signing keys
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Validate a configuration exactly as the Worker does, lint it, print the effective policy
    Check(check::CheckArgs),
    /// Print a token's header and payload (verifies nothing)
    Decode(decode::DecodeArgs),
    /// Verify a token with the Worker's rules: prints `ok` or `invalid: <reason>: <message>`
    Verify(verify::VerifyArgs),
    /// Sign a test token with a private JWK
    Mint(mint::MintArgs),
    /// Policy dry-run: would this token be exchanged for this target and scope, and why?
    Explain(explain::ExplainArgs),
    /// Client side: a target's bearer token (Keycloak client_credentials, then edge-sts)
    Token(creds::TokenArgs),
    /// Client side: cloud credentials in the shape each cloud's SDK reads
    #[command(subcommand)]
    Credentials(creds::CredentialsCmd),
    /// Client side: a local credential server for brokered targets (AWS container endpoint, Google metadata server, Azure managed identity)
    Agent(agent::AgentArgs),
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Keys(c) => keys::run(c),
        Cmd::Check(a) => check::run(a),
        Cmd::Decode(a) => decode::run(a),
        Cmd::Verify(a) => verify::run(a),
        Cmd::Mint(a) => mint::run(a),
        Cmd::Explain(a) => explain::run(a),
        Cmd::Token(a) => creds::run_token(a),
        Cmd::Credentials(c) => creds::run(c),
        Cmd::Agent(a) => agent::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `edge-sts check … | head`: once the reader has gone, `println!` fails with a broken pipe and
/// panics. Exit quietly with the status a shell gives a process killed by SIGPIPE (128 + 13)
/// instead of printing a panic; every other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied()).unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info)
    }));
}
