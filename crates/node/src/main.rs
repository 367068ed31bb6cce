//! The `luminex` binary.

fn main() -> std::process::ExitCode {
    luminex_node::cli::main()
}
