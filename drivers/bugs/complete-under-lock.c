/*
 * complete-under-lock - the irpkit catalog bug "complete-under-lock" in a C driver: the
 * queue sample (drivers/queue/queue.c) with IRPKIT_BUG_COMPLETE_UNDER_LOCK defined,
 * nothing else changed.
 *
 * The cancel routine completes the request while it still holds the queue's spin lock.
 * Expected rule: complete-under-spin-lock.
 */
#define IRPKIT_BUG_COMPLETE_UNDER_LOCK 1
#include "../queue/queue.c"
