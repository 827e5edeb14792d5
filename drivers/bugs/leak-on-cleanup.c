/*
 * leak-on-cleanup - the irpkit catalog bug "leak-on-cleanup" in a C driver: the queue
 * sample (drivers/queue/queue.c) with IRPKIT_BUG_LEAK_ON_CLEANUP defined, nothing else
 * changed.
 *
 * IRP_MJ_CLEANUP takes the file object's waiting requests out of the queue but completes
 * only the first. Expected rule: irp-leaked.
 */
#define IRPKIT_BUG_LEAK_ON_CLEANUP 1
#include "../queue/queue.c"
