/*
 * cancel-keeps-lock - the irpkit catalog bug "cancel-keeps-lock" in a C driver: the
 * queue sample (drivers/queue/queue.c) with IRPKIT_BUG_CANCEL_KEEPS_LOCK defined,
 * nothing else changed.
 *
 * The cancel routine returns without releasing the cancel spin lock when the request is
 * the oldest one. Expected rule: returned-holding-cancel-lock.
 */
#define IRPKIT_BUG_CANCEL_KEEPS_LOCK 1
#include "../queue/queue.c"
