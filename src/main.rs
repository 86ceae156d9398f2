use std::io::IsTerminal;

use clap::{Parser, Subcommand};
use secrecy::SecretString;

use convene::auth::model::Role;
use convene::auth::signup::{create_account, NewAccountInput};
use convene::config::Settings;
use convene::people::service::parse_name;
use convene::people::EmailAddress;

#[derive(Parser)]
#[command(
    name = "convene",
    version,
    about = "Dialogues, registrations and invitations of the Asia-Pacific Partnership for Atrocity Prevention"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create and migrate the database, then serve HTTP and deliver email (the default).
    Serve,
    /// Create the database if missing and apply pending migrations.
    Migrate,
    /// Deliver queued email only (run any number beside `serve`).
    Worker,
    /// Manage accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Load the Japan 2022 dialogue and an upcoming edition as demo data (idempotent).
    Demo,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account; the password comes from CONVENE_ADMIN_PASSWORD or a prompt.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("convene: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    convene::telemetry::init(settings.is_production());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("convene: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("convene: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => convene::runtime::serve(settings).await,
        Command::Migrate => {
            convene::runtime::prepare_database(&settings).await?;
            println!("database is migrated");
            Ok(())
        }
        Command::Worker => convene::runtime::run_worker(settings).await,
        Command::Admin {
            command: AdminCommand::Create { email, name },
        } => create_admin(settings, &email, &name).await,
        Command::Demo => {
            let pool = convene::runtime::prepare_database(&settings).await?;
            convene::demo::load(&pool).await
        }
    }
}

async fn create_admin(settings: Settings, email: &str, name: &str) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let name = parse_name(name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
    let password = match std::env::var("CONVENE_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Password for the new admin (8–128 characters): ")?
        }
        Err(_) => anyhow::bail!(
            "set CONVENE_ADMIN_PASSWORD or run on a terminal to be asked for the password"
        ),
    };
    let password = convene::auth::password::Password::parse(SecretString::from(password))
        .map_err(|e| anyhow::anyhow!("password {e}"))?;
    let pool = convene::runtime::prepare_database(&settings).await?;
    let state = convene::context::Context::new(pool, std::sync::Arc::new(settings));
    let (account, person) = create_account(
        &state,
        NewAccountInput {
            email,
            name,
            password,
            role: Role::Admin,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.to_problem().detail))?;
    println!(
        "created admin {} <{}> (account {})",
        person.name, person.email, account.id
    );
    Ok(())
}
