/*
 * pending-without-mark - the irpkit catalog bug "pending-without-mark" in a C driver:
 * the queue sample (drivers/queue/queue.c) with IRPKIT_BUG_PENDING_WITHOUT_MARK defined,
 * nothing else changed.
 *
 * The dispatch routine returns STATUS_PENDING without IoMarkIrpPending. Expected rule:
 * pending-mismatch.
 */
#define IRPKIT_BUG_PENDING_WITHOUT_MARK 1
#include "../queue/queue.c"
