//! Sample drivers for irpkit, written against its safe API.
//!
//! - [`pending_read`]: a device whose reads wait in the driver's own queue, cancelable
//!   with a cancel routine, until the "hardware" finishes them.

pub mod pending_read;
