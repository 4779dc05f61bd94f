use std::io::Read;

use clap::{Parser, Subcommand};
use minihost::{config::Settings, startup, telemetry};

/// mimalloc instead of the system allocator: a page allocates many small strings
/// (translations, rendered HTML), and the bench (`scripts/bench-page.sh`) measured the
/// system allocator's share of the Mini Program tab's CPU at about a tenth.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Load demo tenants (each with a bound dedicated mini program) for trying and measuring pages.
    DemoData {
        /// How many tenants to create.
        #[arg(long)]
        tenants: usize,
        /// The password of every demo admin (admin-00001@demo.example, …).
        #[arg(long, default_value = minihost::demo::DEFAULT_PASSWORD)]
        password: String,
        /// Make each mini program an authorized account of the sandbox (with its refresh
        /// token), so requirement checks and other WeChat calls reach it.
        #[arg(long)]
        sandbox: bool,
        /// With --sandbox: the mini programs already meet the default template
        /// requirements (plugin, categories, domains, location API and privacy guide
        /// approved), so a version can be submitted for review at once.
        #[arg(long)]
        ready: bool,
    },
    /// Copy the SQLite database to PATH, consistently, while the server runs (PostgreSQL:
    /// see the README's "Backups"). PATH must not exist yet.
    Backup { path: std::path::PathBuf },
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
    if let Err(e) = telemetry::init() {
        eprintln!("minihost: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Migrate => {
            Settings::from_env().and_then(|s| startup::prepare_database(&s.database_url, s.sandbox)).map(|_| {
                tracing::info!("migrations are up to date");
            })
        }
        Command::DemoData { tenants, password, sandbox, ready } => demo_data(tenants, &password, sandbox, ready),
        Command::Backup { path } => backup(&path),
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
    // The job worker and the sandbox's pusher run on this runtime: its blocking threads
    // are bounded as the HTTP workers' are (`db::BLOCKING_THREADS`).
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(minihost::db::BLOCKING_THREADS)
            .build()
    };
    actix_web::rt::System::with_tokio_rt(move || runtime().expect("a tokio runtime")).block_on(async move {
        let app = startup::Application::build(settings).await?;
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn backup(path: &std::path::Path) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let bytes = minihost::db::backup::backup(&settings.database_url, path)?;
    println!("backed up the database to {} ({bytes} bytes)", path.display());
    println!(
        "keep the secret key with it (MINIHOST_SECRET_KEY or {}): without it the sealed secrets in the copy cannot be opened",
        settings.data_dir.join("secret.key").display()
    );
    Ok(())
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

fn demo_data(tenants: usize, password: &str, in_sandbox: bool, ready: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        !ready || in_sandbox,
        "--ready needs --sandbox: only sandbox mini programs can be made ready for review"
    );
    let settings = Settings::from_env()?;
    let pool = startup::prepare_database(&settings.database_url, settings.sandbox)?;
    let mut conn = pool.get()?;
    let started = std::time::Instant::now();
    let loaded = if in_sandbox {
        anyhow::ensure!(settings.sandbox, "--sandbox needs sandbox mode on (MINIHOST_SANDBOX)");
        let sealer = minihost::secrets::Sealer::new(&settings.load_secret_key()?);
        load_in_sandbox(&mut conn, tenants, password, &sealer, ready)?
    } else {
        minihost::demo::load(&mut conn, tenants, password)?
    };
    match loaded {
        minihost::demo::Loaded::AlreadyThere => {
            println!("demo data is already there (log in as {})", minihost::demo::email(1));
        }
        minihost::demo::Loaded::Created { tenants, first_email } => println!(
            "created {tenants} demo tenants{} in {:.2} s; first login: {first_email}",
            match (in_sandbox, ready) {
                (true, true) => " with sandbox mini programs ready for review",
                (true, false) => " with sandbox mini programs",
                _ => "",
            },
            started.elapsed().as_secs_f64()
        ),
    }
    Ok(())
}

#[cfg(feature = "sandbox")]
fn load_in_sandbox(
    conn: &mut minihost::db::DbConn,
    tenants: usize,
    password: &str,
    sealer: &minihost::secrets::Sealer,
    ready: bool,
) -> anyhow::Result<minihost::demo::Loaded> {
    use minihost::sandbox::demo::{DemoAccount, create_account};
    let create = |c: &mut minihost::db::DbConn, mp: &minihost::demo::DemoMp| {
        let account = DemoAccount {
            appid: mp.appid,
            nick_name: mp.nick_name,
            user_name: mp.user_name,
            principal_name: mp.principal_name,
            position: 1000 + i32::try_from(mp.index).unwrap_or(i32::MAX - 1000),
            ready,
        };
        create_account(c, &account, minihost::now())
    };
    minihost::demo::load_with(conn, tenants, password, &minihost::demo::Accounts::Sandbox { sealer, create: &create })
}

#[cfg(not(feature = "sandbox"))]
fn load_in_sandbox(
    _conn: &mut minihost::db::DbConn,
    _tenants: usize,
    _password: &str,
    _sealer: &minihost::secrets::Sealer,
    _ready: bool,
) -> anyhow::Result<minihost::demo::Loaded> {
    anyhow::bail!("this build has no sandbox (cargo feature `sandbox`)")
}
