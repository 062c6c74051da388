//! `metadata`: a PostgreSQL extension that stores, layers, validates and versions the
//! metadata documents of a low-code platform. See `DESIGN.md` of the product and the
//! README. Pure logic lives in [`core`]; the thin pgrx layer in [`pg`].

pub mod core;

::pgrx::pg_module_magic!();
