/*
 * plain-store - the irpkit catalog bug "plain-store" in a C driver: the queue sample
 * (drivers/queue/queue.c) with IRPKIT_BUG_PLAIN_STORE defined, nothing else changed.
 *
 * The dispatch routine stores the cancel routine with Irp->CancelRoutine = ... instead of
 * IoSetCancelRoutine's interlocked exchange. Expected rule: cancel-routine-plain-store.
 */
#define IRPKIT_BUG_PLAIN_STORE 1
#include "../queue/queue.c"
