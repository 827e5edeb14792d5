/*
 * ignores-remove-entry - the irpkit catalog bug "ignores-remove-entry" in a C driver:
 * the startio sample (drivers/startio/startio.c) with IRPKIT_BUG_IGNORES_REMOVE_ENTRY
 * defined, nothing else changed.
 *
 * The cancel routine ignores KeRemoveEntryDeviceQueue's FALSE and completes an IRP that
 * has left the device queue for the hardware (the DPC owns it). Expected rule:
 * double-completion.
 */
#define IRPKIT_BUG_IGNORES_REMOVE_ENTRY 1
#include "../startio/startio.c"
