use std::io::Read;

use clap::{Parser, Subcommand};
use minihost::{config::Settings, startup, telemetry};

#[derive(Parser)]
#[command(name = "minihost", version, about = "Admin console for a WeChat Open Platform third-party platform")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the console (and the sandbox when it is on); migrations run first.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage operator accounts.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Create an operator account (or promote an existing one); the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
    },
}

fn main() -> std::process::ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Migrate => {
            Settings::from_env().and_then(|s| startup::prepare_database(&s.database_url, s.sandbox)).map(|_| {
                tracing::info!("migrations are up to date");
            })
        }
        Command::Operator { command: OperatorCommand::Create { email } } => create_operator(&email),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line, not a panic trace.
            eprintln!("minihost: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    actix_web::rt::System::new().block_on(async move {
        let app = startup::Application::build(settings).await?;
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn create_operator(email: &str) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let password = input.lines().next().unwrap_or_default().to_string();
    let pool = startup::prepare_database(&settings.database_url, settings.sandbox)?;
    let mut conn = pool.get()?;
    startup::create_operator(&mut conn, email, &password)?;
    println!("operator {email} is ready");
    Ok(())
}
