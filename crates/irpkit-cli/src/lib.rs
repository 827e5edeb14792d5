//! The library behind the `irpkit` command: scenario files (parse, check, run).

pub mod scenario;
pub mod timeline;
