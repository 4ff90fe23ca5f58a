//! The `amoc` command line: a [`Runner`](amoc_actors::Runner) of the built-in scenarios.

/// mimalloc rather than the system allocator: users, events and requests are many small
/// short-lived allocations across arbiters, where it is markedly faster than glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    amoc_actors::Runner::new()
        .about("amoc-rs: run load-test scenarios with many simulated users (try `amoc demo`)")
        .scenario(amoc_actors::scenarios::HttpScenario)
        .http_demo()
        .main()
}
