/*
 * no-cancel-recheck - the irpkit catalog bug "no-cancel-recheck" in a C driver: the
 * queue sample (drivers/queue/queue.c) with IRPKIT_BUG_NO_CANCEL_RECHECK defined,
 * nothing else changed.
 *
 * The dispatch routine sets the cancel routine and does not re-check Irp->Cancel: a
 * request cancelled before its routine was set stays queued with a routine nobody will
 * call. Expected rule: cancel-flag-not-checked.
 */
#define IRPKIT_BUG_NO_CANCEL_RECHECK 1
#include "../queue/queue.c"
