//! The binary's command line documents every option (issue: configuration by
//! flags and environment variables, `--help` documents each), including the
//! test-deployment settings of STD1-SRV-20.

#[test]
fn help_names_every_option_and_its_environment_variable() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stelgano-server"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for (flag, env) in [
        ("--listen", "STELGANO_LISTEN"),
        ("--database-url", "DATABASE_URL"),
        ("--data-dir", "STELGANO_DATA_DIR"),
        ("--allowed-origin", "STELGANO_ALLOWED_ORIGINS"),
        ("--join-time-floor-ms", "STELGANO_JOIN_TIME_FLOOR_MS"),
        ("--room-ttl-seconds", "STELGANO_ROOM_TTL_SECONDS"),
        ("--sweep-seconds", "STELGANO_SWEEP_SECONDS"),
        ("--log-format", "STELGANO_LOG_FORMAT"),
    ] {
        assert!(
            help.contains(flag) && help.contains(env),
            "{flag} / {env} missing from --help:\n{help}"
        );
    }
}

#[test]
fn a_lifetime_beyond_a_year_is_refused() {
    // STD1-LIFE-1: at most 365 days.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stelgano-server"))
        .args(["--room-ttl-seconds", "31536001"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("room-ttl-seconds"));
}
