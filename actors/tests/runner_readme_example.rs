//! README's "Writing a scenario" code is `examples/custom_runner.rs`, exactly: the example is
//! compiled by `cargo test`, the README block by the doc tests (`rust,no_run`), and this test
//! keeps the two the same, so what the README prints is what compiles and runs.

const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
const EXAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/custom_runner.rs"
));

/// The first ```rust block after `heading`.
fn block_after(markdown: &str, heading: &str) -> Option<String> {
    let section = &markdown[markdown.find(heading)?..];
    let start = section.find("```rust")?;
    let body = &section[start..];
    let body = &body[body.find('\n')? + 1..];
    Some(body[..body.find("\n```")? + 1].to_owned())
}

#[test]
fn readme_scenario_code_is_the_custom_runner_example() {
    let block = block_after(README, "## Writing a scenario").expect("a rust block");
    assert!(
        block == EXAMPLE,
        "README's block and examples/custom_runner.rs differ; copy the example into README"
    );
    assert!(
        !block.lines().any(|l| l.trim_start().starts_with("# ")),
        "no hidden lines"
    );
    assert!(README.contains("```rust,no_run\n//! Your own load-test program"));
}
