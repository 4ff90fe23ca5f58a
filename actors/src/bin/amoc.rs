//! The `amoc` command line; see [`amoc_actors::cli`].

/// mimalloc rather than the system allocator: users, events and requests are many small
/// short-lived allocations across arbiters, where it is markedly faster than glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    amoc_actors::cli::main()
}
