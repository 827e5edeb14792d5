//! NTSTATUS values and the `NT_SUCCESS` family of tests.

/// An NT status code (`NTSTATUS`): bits 31–30 are the severity (0 success,
/// 1 informational, 2 warning, 3 error).
pub type NtStatus = i32;

macro_rules! statuses {
    ($( $(#[$doc:meta])* $name:ident = $value:expr; )*) => {
        $( $(#[$doc])* pub const $name: NtStatus = $value as u32 as i32; )*

        /// The symbolic name of a status code this crate knows, e.g. `"STATUS_CANCELLED"`.
        pub fn status_name(status: NtStatus) -> Option<&'static str> {
            match status {
                $( $name => Some(stringify!($name)), )*
                _ => None,
            }
        }
    };
}

statuses! {
    /// The operation completed successfully.
    STATUS_SUCCESS = 0x0000_0000u32;
    /// An alertable wait returned because user APCs ran.
    STATUS_USER_APC = 0x0000_00C0u32;
    /// A wait timed out (a success code).
    STATUS_TIMEOUT = 0x0000_0102u32;
    /// The operation is in progress; the result is delivered when the IRP completes.
    STATUS_PENDING = 0x0000_0103u32;
    /// A warning: the data was too large for the buffer.
    STATUS_BUFFER_OVERFLOW = 0x8000_0005u32;
    /// Unsuccessful, no more specific reason.
    STATUS_UNSUCCESSFUL = 0xC000_0001u32;
    /// The request is not implemented.
    STATUS_NOT_IMPLEMENTED = 0xC000_0002u32;
    /// An invalid access to memory (used for a bad result pointer).
    STATUS_ACCESS_VIOLATION = 0xC000_0005u32;
    /// The handle is not valid.
    STATUS_INVALID_HANDLE = 0xC000_0008u32;
    /// A parameter is not valid.
    STATUS_INVALID_PARAMETER = 0xC000_000Du32;
    /// The device does not exist.
    STATUS_NO_SUCH_DEVICE = 0xC000_000Eu32;
    /// The device does not support this request.
    STATUS_INVALID_DEVICE_REQUEST = 0xC000_0010u32;
    /// Returned by a completion routine to stop the completion walk; the routine's owner
    /// completes the IRP again later.
    STATUS_MORE_PROCESSING_REQUIRED = 0xC000_0016u32;
    /// Access was denied.
    STATUS_ACCESS_DENIED = 0xC000_0022u32;
    /// The object is being deleted.
    STATUS_DELETE_PENDING = 0xC000_0056u32;
    /// Not enough resources (memory) to complete the request.
    STATUS_INSUFFICIENT_RESOURCES = 0xC000_009Au32;
    /// The I/O request was cancelled (`ERROR_OPERATION_ABORTED` to a Win32 caller).
    STATUS_CANCELLED = 0xC000_0120u32;
    /// The device is not ready / is being removed.
    STATUS_DEVICE_NOT_READY = 0xC000_00A3u32;
    /// Nothing matched (for example CancelIoEx found no request).
    STATUS_NOT_FOUND = 0xC000_0225u32;
    /// A wait was ended by an alert.
    STATUS_ALERTED = 0x0000_0101u32;
    /// The object type does not match (ObReferenceObjectByHandle).
    STATUS_OBJECT_TYPE_MISMATCH = 0xC000_0024u32;
    /// The object name is not found.
    STATUS_OBJECT_NAME_NOT_FOUND = 0xC000_0034u32;
    /// The object name already exists.
    STATUS_OBJECT_NAME_COLLISION = 0xC000_0035u32;
    /// The buffer is too small for the data.
    STATUS_BUFFER_TOO_SMALL = 0xC000_0023u32;
    /// The request is not supported.
    STATUS_NOT_SUPPORTED = 0xC000_00BBu32;
    /// The device is in a state where it cannot do this.
    STATUS_INVALID_DEVICE_STATE = 0xC000_0184u32;
    /// The device is busy.
    STATUS_DEVICE_BUSY = 0x8000_0011u32;
}

/// `NT_SUCCESS`: severity success or informational (the status is not negative).
pub const fn nt_success(status: NtStatus) -> bool {
    status >= 0
}

/// `NT_INFORMATION`: severity 1.
pub const fn nt_information(status: NtStatus) -> bool {
    (status as u32) >> 30 == 1
}

/// `NT_WARNING`: severity 2.
pub const fn nt_warning(status: NtStatus) -> bool {
    (status as u32) >> 30 == 2
}

/// `NT_ERROR`: severity 3.
pub const fn nt_error(status: NtStatus) -> bool {
    (status as u32) >> 30 == 3
}

/// A status as a person reads it: `STATUS_CANCELLED (0xC0000120)`.
pub fn describe_status(status: NtStatus) -> String {
    match status_name(status) {
        Some(name) => format!("{name} (0x{:08X})", status as u32),
        None => format!("0x{:08X}", status as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities() {
        assert!(nt_success(STATUS_SUCCESS) && nt_success(STATUS_PENDING));
        assert!(!nt_success(STATUS_BUFFER_OVERFLOW) && nt_warning(STATUS_BUFFER_OVERFLOW));
        assert!(nt_error(STATUS_CANCELLED) && !nt_success(STATUS_CANCELLED));
        assert!(!nt_error(STATUS_BUFFER_OVERFLOW));
        assert_eq!(status_name(STATUS_CANCELLED), Some("STATUS_CANCELLED"));
        assert_eq!(describe_status(STATUS_NOT_FOUND), "STATUS_NOT_FOUND (0xC0000225)");
        assert_eq!(describe_status(0x1234), "0x00001234");
    }
}
