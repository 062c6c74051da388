//! The connection: `--dsn` (a libpq key/value string or URL), else the usual libpq
//! variables `PGHOST` (a host or a socket directory), `PGPORT`, `PGUSER`, `PGDATABASE`,
//! `PGPASSWORD`; then the caller's context, `metadata.tenant_id` and `metadata.user_id`
//! (set with parameters, never spliced into SQL).

use postgres::{Client, Config, NoTls};
use std::env;

/// Who the commands act as.
pub struct Target<'a> {
    pub dsn: Option<&'a str>,
    pub tenant: Option<&'a str>,
    pub user: Option<&'a str>,
}

/// Connects and sets the tenant and user of the session. `on_notice` receives every
/// NOTICE the server sends (import's progress).
pub fn connect(
    target: &Target<'_>,
    on_notice: impl Fn(&str) + Send + Sync + 'static,
) -> Result<Client, Box<dyn std::error::Error>> {
    let mut config: Config = match target.dsn {
        Some(dsn) => dsn.parse()?,
        None => from_environment(),
    };
    config.application_name("metadata-cli");
    config.notice_callback(move |notice| on_notice(notice.message()));
    let mut client = config.connect(NoTls)?;
    client.execute(
        "SELECT pg_catalog.set_config('metadata.tenant_id', $1, false), \
                pg_catalog.set_config('metadata.user_id', $2, false)",
        &[&target.tenant.unwrap_or(""), &target.user.unwrap_or("")],
    )?;
    Ok(client)
}

fn from_environment() -> Config {
    let mut config = Config::new();
    let var = |name: &str| env::var(name).ok().filter(|v| !v.is_empty());
    config.host(&var("PGHOST").unwrap_or_else(|| "/var/run/postgresql".to_owned()));
    if let Some(port) = var("PGPORT").and_then(|p| p.parse().ok()) {
        config.port(port);
    }
    let user = var("PGUSER")
        .or_else(|| var("USER"))
        .unwrap_or_else(|| "postgres".to_owned());
    config.dbname(&var("PGDATABASE").unwrap_or_else(|| user.clone()));
    config.user(&user);
    if let Some(password) = var("PGPASSWORD") {
        config.password(password);
    }
    config
}
