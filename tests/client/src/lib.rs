//! Helpers for the client tests: connections to the test database named by the
//! environment variable `METADATA_TEST_DSN` (a libpq connection string; scripts/test.sh
//! sets it to a throwaway cluster).

use postgres::{Client, NoTls};

/// A new connection to the test database; panics with a clear message when
/// `METADATA_TEST_DSN` is not set (these tests need a server with the extension installed).
pub fn connect() -> Client {
    let dsn = std::env::var("METADATA_TEST_DSN")
        .expect("METADATA_TEST_DSN must name the test database (scripts/test.sh sets it)");
    Client::connect(&dsn, NoTls).expect("connecting to the test database")
}

/// A new connection as `role` with the given tenant and user settings (libpq `options`).
pub fn connect_as(role: &str, tenant: &str, user: &str) -> Client {
    let dsn = std::env::var("METADATA_TEST_DSN")
        .expect("METADATA_TEST_DSN must name the test database (scripts/test.sh sets it)");
    let dsn = format!(
        "{dsn} user={role} options='-c metadata.tenant_id={tenant} -c metadata.user_id={user}'"
    );
    Client::connect(&dsn, NoTls).unwrap_or_else(|e| panic!("connecting as {role}: {e}"))
}

/// Recreates the extension in the test database, with validation off for `object` (the
/// tests are about events and concurrency, not schemas).
pub fn fresh_extension(client: &mut Client) {
    client
        .batch_execute(
            "DROP EXTENSION IF EXISTS metadata CASCADE; CREATE EXTENSION metadata; \
             SELECT metadata.register_type('object', validation_mode => 'off');",
        )
        .expect("recreating the extension");
}

/// The SQLSTATE of a failed statement, if it was a database error.
pub fn sqlstate(err: &postgres::Error) -> Option<String> {
    err.code().map(|c| c.code().to_owned())
}
