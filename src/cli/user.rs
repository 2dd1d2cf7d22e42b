//! `vigil user`: users and their tokens. A new token is always the last line printed.

use anyhow::Context;
use clap::Subcommand;
use vigil::auth::{Jurisdiction, Principal, Role};

use super::{Common, open};

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a user; prints the new API token as the last line.
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
        /// admin, analyst, reviewer, operator or viewer.
        #[arg(long)]
        role: String,
        /// Province code(s) in the user's jurisdiction (repeatable).
        #[arg(long = "province")]
        provinces: Vec<String>,
        /// Commune code(s) in the user's jurisdiction (repeatable).
        #[arg(long = "commune")]
        communes: Vec<String>,
        /// Nationwide jurisdiction.
        #[arg(long)]
        national: bool,
    },
    /// Issue another token for an existing user; prints it as the last line.
    Token {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
    },
    /// Set a user's web-map password, read from the first line of standard input.
    Passwd {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
    },
    /// Disable a user and revoke all their tokens.
    Disable {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
    },
    /// List users.
    List {
        #[command(flatten)]
        common: Common,
    },
}

pub fn run(cmd: UserCmd) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Add {
            common,
            name,
            role,
            provinces,
            communes,
            national,
        } => {
            let v = open(&common)?;
            let role = Role::from_code(&role).with_context(|| {
                format!("unknown role {role:?}; one of admin, analyst, reviewer, operator, viewer")
            })?;
            let j = Jurisdiction {
                national,
                provinces: provinces.into_iter().collect(),
                communes: communes.into_iter().collect(),
            };
            let token = v.add_user(&Principal::cli(), &name, role, j)?;
            println!("created user {name} ({})", role.code());
            println!("{token}");
            Ok(())
        }
        UserCmd::Token { common, name } => {
            let v = open(&common)?;
            let token = v.issue_token(&Principal::cli(), &name)?;
            println!("new token for {name}");
            println!("{token}");
            Ok(())
        }
        UserCmd::Passwd { common, name } => {
            let v = open(&common)?;
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            v.set_password(&Principal::cli(), &name, password)?;
            println!("password set for {name}");
            Ok(())
        }
        UserCmd::Disable { common, name } => {
            let v = open(&common)?;
            v.disable_user(&Principal::cli(), &name)?;
            let when = if v.on_postgres() {
                "every running node stops accepting them within a second"
            } else {
                "a running server stops accepting them within 30 s"
            };
            println!("disabled {name}; every token of theirs is revoked ({when})");
            Ok(())
        }
        UserCmd::List { common } => {
            let v = open(&common)?;
            for u in v.list_users(&Principal::cli())? {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.id,
                    u.name,
                    u.role.code(),
                    serde_json::to_string(&u.jurisdiction)?
                );
            }
            Ok(())
        }
    }
}
