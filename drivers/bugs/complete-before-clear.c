/*
 * complete-before-clear - the irpkit catalog bug "complete-before-clear" in a C driver:
 * the queue sample (drivers/queue/queue.c) with IRPKIT_BUG_COMPLETE_BEFORE_CLEAR
 * defined, nothing else changed.
 *
 * The timer DPC takes the oldest request and completes it without clearing its cancel
 * routine (IoSetCancelRoutine(Irp, NULL)). Expected rules: complete-with-cancel-routine,
 * or double-completion when the cancel routine got there too.
 */
#define IRPKIT_BUG_COMPLETE_BEFORE_CLEAR 1
#include "../queue/queue.c"
