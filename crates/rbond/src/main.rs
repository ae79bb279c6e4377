use clap::Parser;

fn main() {
    let cli = rbond::cli::Cli::parse();
    match rbond::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("rbond: {e:#}");
            std::process::exit(1);
        }
    }
}
