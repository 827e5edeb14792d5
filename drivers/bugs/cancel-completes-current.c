/*
 * cancel-completes-current - the irpkit catalog bug "cancel-completes-current" in a C
 * driver: the startio sample (drivers/startio/startio.c) with
 * IRPKIT_BUG_CANCEL_COMPLETES_CURRENT defined, nothing else changed.
 *
 * The cancel routine completes CurrentIrp, which the transfer DPC completes as well.
 * Expected rule: double-completion.
 */
#define IRPKIT_BUG_CANCEL_COMPLETES_CURRENT 1
#include "../startio/startio.c"
