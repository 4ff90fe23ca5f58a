//! The `amoc` command line.
fn main() {
    println!("amoc {}", env!("CARGO_PKG_VERSION"));
}
