//! Serves stateright's Explorer on the room model, on the loopback
//! interface only:
//!
//! ```text
//! cargo run -p stelgano-model --release --bin explore [-- 127.0.0.1:3000]
//! ```

#![forbid(unsafe_code)]

fn main() {
    use stateright::Model;
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    if !address.starts_with("127.")
        && !address.starts_with("[::1]")
        && !address.starts_with("localhost")
    {
        eprintln!("the Explorer has no authentication; bind it to a loopback address");
        std::process::exit(2);
    }
    println!("Explorer on http://{address}/");
    stelgano_model::RoomModel::standard()
        .checker()
        .serve(address.as_str());
}
