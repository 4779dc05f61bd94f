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
