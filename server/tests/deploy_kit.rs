//! The deployment kit (`deploy/`) stays in step with the server: every
//! setting of `.env.example` is an option the server reads and its value
//! parses; the systemd unit starts the server with that file; the proxy
//! forwards to the address the settings listen on. And the self-hosting
//! guide says what a backup holds (STD1-SRV-9). A kit that drifts from
//! the server makes self-hosting (STD1-SEC-12) fail on the day it is tried.

use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use stelgano_server::config::Config;

fn repo_file(path: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// `KEY=VALUE` lines of an environment file.
fn settings(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (key, value) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=VALUE: {l}"));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// The settings as command-line arguments, through each option's
/// environment name.
fn as_arguments(settings: &[(String, String)]) -> Vec<String> {
    let command = Config::command();
    let mut args = vec!["stelgano-server".to_owned()];
    for (key, value) in settings {
        let option = command
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == key.as_str()))
            .unwrap_or_else(|| panic!("{key} is not a setting of stelgano-server"));
        let long = option
            .get_long()
            .unwrap_or_else(|| panic!("{key} has no flag"));
        // Comma-separated lists in the environment are repeated flags here.
        for part in value.split(',') {
            args.push(format!("--{long}={part}"));
        }
    }
    args
}

#[test]
fn every_example_setting_is_an_option_whose_value_parses() {
    // STD1-SEC-12
    let example = settings(&repo_file("deploy/.env.example"));
    assert!(example.len() >= 10, "{example:?}");
    let config = Config::try_parse_from(as_arguments(&example))
        .unwrap_or_else(|e| panic!("deploy/.env.example does not parse: {e}"));
    // The example is a production configuration: no start-up warnings.
    assert!(!config.floor_below_production());
    assert!(config.lockout().conforming());
    assert!(config.hsts_max_age.is_some_and(|age| age >= 31_536_000));
    assert!(
        config.listen.ip().is_loopback(),
        "behind the proxy, loopback only"
    );
    // STD1-SRV-21: behind the proxy, the client is named by the proxy, and
    // only the proxy (on loopback) is trusted to name it.
    let source = config.client_address_source();
    assert!(source.header.is_some());
    assert!(!source.trusted.is_empty());
    assert!(source.trusted.iter().all(|net| net.addr().is_loopback()));
    // STD1-SRV-23: metrics never on the public listener.
    assert!(config.metrics_listen.is_none_or(|a| a.ip().is_loopback()));
    // STD1-SRV-18: a public deployment limits.
    assert_ne!(
        config.rate_settings(),
        stelgano_server::rate_limit::RateSettings::OFF
    );
}

#[test]
fn a_misspelt_setting_would_be_caught() {
    // The check above can fail: an unknown name panics.
    let wrong = vec![("STELGANO_LISTN".to_owned(), "127.0.0.1:1".to_owned())];
    assert!(std::panic::catch_unwind(|| as_arguments(&wrong)).is_err());
}

#[test]
fn the_unit_starts_the_server_with_the_settings_file() {
    let unit = repo_file("deploy/stelgano.service");
    let line = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("the unit has no {key}="))
            .to_owned()
    };
    assert_eq!(line("ExecStart"), "/usr/local/bin/stelgano-server");
    assert_eq!(line("EnvironmentFile"), "/etc/stelgano/stelgano.env");
    assert_eq!(
        line("KillSignal"),
        "SIGTERM",
        "SIGTERM closes sessions with 1001"
    );
    assert_eq!(line("User"), "stelgano", "never as root");
    // STD1-SRV-26, STD1-SRV-27: the pepper comes from a file outside the
    // database, handed over as a credential, under the server's option.
    assert_eq!(line("LoadCredential"), "pepper:/etc/stelgano/pepper");
    let pepper_file = line("Environment");
    let (name, value) = pepper_file.split_once('=').expect("NAME=value");
    assert_eq!((name, value), ("STELGANO_PEPPER_FILE", "%d/pepper"));
    let file = "/run/credentials/stelgano.service/pepper";
    let config = Config::try_parse_from(as_arguments(&[(name.to_owned(), file.to_owned())]))
        .unwrap_or_else(|e| panic!("the unit's pepper setting does not parse: {e}"));
    assert_eq!(
        config.pepper_file.as_deref(),
        Some(std::path::Path::new(file))
    );
}

#[test]
fn the_proxy_forwards_to_the_address_the_server_listens_on() {
    let example = settings(&repo_file("deploy/.env.example"));
    let listen = example
        .iter()
        .find(|(k, _)| k == "STELGANO_LISTEN")
        .map(|(_, v)| v.clone())
        .expect("STELGANO_LISTEN");
    let caddy = repo_file("deploy/Caddyfile");
    assert!(
        caddy.contains(&format!("reverse_proxy {listen}")),
        "{caddy}"
    );
    // No access log of visitors' addresses (STD1-SRV-16).
    assert!(
        !caddy.lines().any(|l| l.trim_start().starts_with("log")),
        "the proxy must not log visitors"
    );
}

#[test]
fn the_self_hosting_guide_says_what_a_backup_holds() {
    // STD1-SRV-9: a backup holds every live room's data, current messages
    // included.
    let readme = repo_file("README.md");
    let guide = readme
        .split("## Self-hosting")
        .nth(1)
        .expect("a Self-hosting section in README.md");
    for needle in ["backup", "current message", "salt"] {
        assert!(
            guide.to_lowercase().contains(needle),
            "the guide does not mention {needle}"
        );
    }
}
