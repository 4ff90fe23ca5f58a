//! The `amoc` command line: a [`Runner`](amoc_actors::Runner) of the built-in scenarios.

/// mimalloc rather than the system allocator: users, events and requests are many small
/// short-lived allocations across arbiters, where it is markedly faster than glibc's malloc.
/// Built without transparent huge pages (the workspace enables mimalloc's `no_thp`): with them
/// each touched 2 MB of its arena is resident whole, which cost more memory than the users.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    amoc_actors::Runner::new()
        .about("amoc-rs: run load-test scenarios with many simulated users (try `amoc demo`)")
        .scenario(amoc_actors::scenarios::HttpScenario)
        .http_demo()
        .main()
}
