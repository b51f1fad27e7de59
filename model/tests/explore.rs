//! The Explorer has no authentication, so its binary binds only to a
//! loopback address.

#[test]
fn the_explorer_refuses_a_public_address() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_explore"))
        .arg("0.0.0.0:3000")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}
