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
        ("--pg-bin-dir", "STELGANO_PG_BIN_DIR"),
        ("--allowed-origin", "STELGANO_ALLOWED_ORIGINS"),
        ("--join-time-floor-ms", "STELGANO_JOIN_TIME_FLOOR_MS"),
        ("--room-ttl-seconds", "STELGANO_ROOM_TTL_SECONDS"),
        ("--sweep-seconds", "STELGANO_SWEEP_SECONDS"),
        ("--lockout-attempts", "STELGANO_LOCKOUT_ATTEMPTS"),
        ("--lockout-seconds", "STELGANO_LOCKOUT_SECONDS"),
        ("--hsts-max-age", "STELGANO_HSTS_MAX_AGE"),
        ("--db-pool-size", "STELGANO_DB_POOL_SIZE"),
        ("--log-format", "STELGANO_LOG_FORMAT"),
        (
            "--rate-upgrades-per-minute",
            "STELGANO_RATE_UPGRADES_PER_MINUTE",
        ),
        ("--rate-joins-per-minute", "STELGANO_RATE_JOINS_PER_MINUTE"),
        (
            "--rate-creates-per-minute",
            "STELGANO_RATE_CREATES_PER_MINUTE",
        ),
        (
            "--rate-claims-per-minute",
            "STELGANO_RATE_CLAIMS_PER_MINUTE",
        ),
        ("--rate-admin-per-minute", "STELGANO_RATE_ADMIN_PER_MINUTE"),
        (
            "--rate-frames-per-second",
            "STELGANO_RATE_FRAMES_PER_SECOND",
        ),
        ("--no-rate-limits", "STELGANO_NO_RATE_LIMITS"),
        ("--client-ip-header", "STELGANO_CLIENT_IP_HEADER"),
        ("--trusted-proxy", "STELGANO_TRUSTED_PROXIES"),
        ("--telemetry", "STELGANO_TELEMETRY"),
        (
            "--telemetry-flush-seconds",
            "STELGANO_TELEMETRY_FLUSH_SECONDS",
        ),
        ("--metrics-listen", "STELGANO_METRICS_LISTEN"),
        ("--admin-user", "STELGANO_ADMIN_USER"),
        ("--admin-password", "STELGANO_ADMIN_PASSWORD"),
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

#[test]
fn more_than_ten_attempts_before_a_lock_is_refused() {
    // STD1-JOIN-18: `L` is never above 10.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stelgano-server"))
        .args(["--lockout-attempts", "11"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("lockout-attempts"));
}

#[test]
fn settings_outside_production_are_warned_about_at_start_up() {
    // STD1-JOIN-18 (lockout), STD1-JOIN-21 (time floor), STD1-SRV-15 (HSTS
    // max-age), a weak administration password and a proxy header without
    // trusted proxies. The warnings come before the database is touched, so an
    // unusable DATABASE_URL ends the run right after them.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stelgano-server"))
        .args([
            "--lockout-seconds",
            "60",
            "--join-time-floor-ms",
            "50",
            "--hsts-max-age",
            "60",
            "--admin-password",
            "short",
            "--client-ip-header",
            "x-forwarded-for",
        ])
        .env("DATABASE_URL", "not-a-url")
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for warning in [
        "lock duration shorter",
        "join time floor below",
        "HSTS max-age",
        // STD1-SRV-24, STD1-SRV-21
        "administration password is short",
        "--client-ip-header and --trusted-proxy work only together",
    ] {
        assert!(stderr.contains(warning), "{warning}:\n{stderr}");
    }
    assert!(
        stderr.contains("DATABASE_URL is not a PostgreSQL URL"),
        "{stderr}"
    );

    // The defaults draw no warning.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stelgano-server"))
        .env("DATABASE_URL", "not-a-url")
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("WARN"));
}
