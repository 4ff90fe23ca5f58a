//! The `amoc` command line; see [`amoc_actors::cli`].

fn main() -> std::process::ExitCode {
    amoc_actors::cli::main()
}
