//! Sample drivers for irpkit, written against its safe API.
//!
//! - [`pending_read`]: a device whose reads wait in the driver's own queue, cancelable
//!   with a cancel routine, until the "hardware" finishes them.
//! - [`serial`]: a StartIo device with the device queue, a timer + DPC "hardware", and
//!   the seed page's cancel routine; its keyed variant is an elevator-ordered disk.

pub mod pending_read;
pub mod serial;
