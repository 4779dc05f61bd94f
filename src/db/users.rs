//! Accounts.

use diesel::prelude::*;

use super::DbConn;
use super::models::{NewUser, User};
use super::schema::users;

pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table.filter(users::email.eq(email)).select(User::as_select()).get_result(conn).optional()
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
    users::table.find(id).select(User::as_select()).get_result(conn).optional()
}

pub fn insert(conn: &mut DbConn, user: &NewUser<'_>) -> QueryResult<()> {
    diesel::insert_into(users::table).values(user).execute(conn).map(|_| ())
}

pub fn any_operator(conn: &mut DbConn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(users::table.filter(users::is_operator.eq(true)))).get_result(conn)
}

pub fn set_password(conn: &mut DbConn, id: &str, password_hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id)).set(users::password_hash.eq(password_hash)).execute(conn)
}

pub fn make_operator(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id)).set(users::is_operator.eq(true)).execute(conn)
}

/// The language the account with this e-mail address reads (`en`, `zh-CN`), if known.
pub fn locale_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<String>> {
    let email = email.trim().to_lowercase();
    let found: Option<Option<String>> =
        users::table.filter(users::email.eq(email)).select(users::locale).get_result(conn).optional()?;
    Ok(found.flatten())
}

/// Remembers the language a user reads (for the e-mails written to them). Returns the
/// one it replaces.
pub fn set_locale(conn: &mut DbConn, id: &str, locale: &str) -> QueryResult<Option<String>> {
    let before: Option<String> = users::table.find(id).select(users::locale).get_result(conn)?;
    diesel::update(users::table.find(id)).set(users::locale.eq(locale)).execute(conn)?;
    Ok(before)
}
