fn main() -> std::process::ExitCode {
    seqpoold::cli::run()
}
