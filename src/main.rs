fn main() -> std::process::ExitCode {
    livecredit::cli::main()
}
