//! Creating accounts: the public signup, which answers alike for every address (a new one gets
//! a verification link, a known one the "account exists" email), the trusted creation of the
//! command line and the tests, and joining an account to its person once its address is proved.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use uuid::Uuid;

use crate::auth::model::{Account, NewAccount, Role};
use crate::auth::password::{hash_password, Password};
use crate::auth::password_reset::{issue_reset_if_allowed, reset_action};
use crate::auth::verification::send_verification_email;
use crate::context::{Context, Links};
use crate::db::schema::{accounts, people};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::mail::EmailKind;
use crate::mail::{enqueue, EmailBody, MailQuota, OutgoingEmail};
use crate::people::model::Person;
use crate::people::service::parse_name;
use crate::people::EmailAddress;

pub struct NewAccountInput {
    pub email: EmailAddress,
    pub name: String,
    pub password: Password,
    pub role: Role,
}

impl NewAccountInput {
    pub fn parse_signup(email: &str, name: &str, password: SecretString) -> AppResult<Self> {
        let mut v = Validator::new();
        let email = v.check("email", EmailAddress::parse(email));
        let name = v.check("name", parse_name(name));
        let password = v.check("password", Password::parse(password));
        v.finish()?;
        match (email, name, password) {
            (Some(email), Some(name), Some(password)) => Ok(NewAccountInput {
                email,
                name,
                password,
                role: Role::Member,
            }),
            _ => Err(AppError::internal("validator passed with missing fields")),
        }
    }
}

/// Creates an account whose address is trusted (an admin on the command line, the tests):
/// verified and joined to its person at once. A taken address is a 409 `account_exists`.
pub async fn create_account(
    state: &Context,
    input: NewAccountInput,
) -> AppResult<(Account, Person)> {
    let password_hash = hash_password(input.password).await?;
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let inserted =
                insert_account(conn, &input.email, &input.name, password_hash, input.role)
                    .await?
                    .ok_or_else(|| {
                        AppError::conflict(
                            Code::AccountExists,
                            "an account with this email already exists",
                        )
                    })?;
            join_person(conn, inserted.id).await
        }
        .scope_boxed()
    })
    .await
}

/// Inserts an unverified account without a person; `None` when the address has an account.
async fn insert_account(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
    name: &str,
    password_hash: String,
    role: Role,
) -> AppResult<Option<Account>> {
    Ok(diesel::insert_into(accounts::table)
        .values(NewAccount {
            id: Uuid::now_v7(),
            person_id: None,
            email: email.as_str(),
            name,
            password_hash,
            role,
            email_verified_at: None,
        })
        .on_conflict(accounts::email)
        .do_nothing()
        .returning(Account::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Public signup. The answer is the same whether or not the address has an account or a
/// person, and costs the same (one Argon2 run, one insert attempt, one email): a new address
/// gets an unverified account without a person and a link to verify it; an address with an
/// account is told so ("log in or reset your password") and nothing changes. No person is
/// found, created or claimed here: verification does that ([`join_person`]).
pub async fn signup(state: &Context, input: NewAccountInput, quota: &MailQuota) -> AppResult<()> {
    let password_hash = hash_password(input.password).await?;
    let links = state.links.clone();
    let mut conn = state.pool.get().await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            let may_email = quota
                .permit(conn, Some(input.email.as_str()))
                .await?
                .granted();
            let inserted =
                insert_account(conn, &input.email, &input.name, password_hash, input.role).await?;
            if !may_email {
                return Ok(());
            }
            match inserted {
                Some(account) => send_verification_email(conn, &account, &links).await,
                None => {
                    let existing: Account = accounts::table
                        .filter(accounts::email.eq(input.email.as_str()))
                        .select(Account::as_select())
                        .first(conn)
                        .await?;
                    send_account_exists_email(conn, &existing, &links).await
                }
            }
        }
        .scope_boxed()
    })
    .await
}

/// Tells the owner of an address that already has an account what to do instead of signing
/// up, with a password reset link while the account may have one (enabled, and not too many
/// reset emails lately): choosing a new password also proves the address.
async fn send_account_exists_email(
    conn: &mut AsyncPgConnection,
    account: &Account,
    links: &Links,
) -> AppResult<()> {
    let reset = issue_reset_if_allowed(conn, &account.email)
        .await?
        .map(|(token, _)| token);
    let mut paragraphs = vec![
        "Someone, hopefully you, asked to create a Convene account with this email address. You already have an account, so nothing was created and nothing has changed.".to_owned(),
        "Log in with your password. If you have forgotten it, choose a new one with the link below (valid for one hour, it works once; until you use it, your current password keeps working).".to_owned(),
    ];
    if account.email_verified_at.is_none() {
        paragraphs.push(
            "Your address is not confirmed yet: choosing a new password with this link confirms it."
                .to_owned(),
        );
    }
    if account.disabled_at.is_some() {
        paragraphs = vec![
            "Someone, hopefully you, asked to create a Convene account with this email address. You already have an account, but it has been disabled; contact the secretariat to use it again.".to_owned(),
        ];
    }
    let body = EmailBody {
        subject: "You already have a Convene account".to_owned(),
        // The name of an account that never proved its address may be anyone's invention.
        greeting: match account.email_verified_at {
            Some(_) => format!("Dear {},", account.name),
            None => "Dear colleague,".to_owned(),
        },
        paragraphs,
        action: reset.map(|token| reset_action(links, &token)),
        footer: vec![
            "If you did not ask for this, ignore this message: your account stays as it is."
                .to_owned(),
        ],
        ..Default::default()
    };
    enqueue(
        conn,
        OutgoingEmail::new(
            EmailKind::AccountExists,
            &account.email,
            Some(&account.name),
            body,
        ),
    )
    .await?;
    Ok(())
}

/// Marks the account's address verified and joins it to its person: the one with this address,
/// created (with the account's name) when the partnership does not know it yet. A known
/// person's name is kept, and becomes the account's. The account row is locked, so concurrent
/// proofs join once. Must run inside a transaction.
pub(super) async fn join_person(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> AppResult<(Account, Person)> {
    let account: Account = accounts::table
        .find(account_id)
        .select(Account::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("account"))?;
    let person = match account.person_id {
        Some(id) => {
            people::table
                .find(id)
                .select(Person::as_select())
                .first(conn)
                .await?
        }
        None => {
            let email = EmailAddress::from_trusted(account.email.clone());
            crate::people::service::find_or_create_by_email(conn, &email, &account.name).await?
        }
    };
    let account: Account = diesel::update(accounts::table.find(account_id))
        .set((
            accounts::person_id.eq(Some(person.id)),
            accounts::name.eq(&person.name),
            accounts::email_verified_at
                .eq(Some(account.email_verified_at.unwrap_or_else(Utc::now))),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Account::as_returning())
        .get_result(conn)
        .await?;
    Ok((account, person))
}
