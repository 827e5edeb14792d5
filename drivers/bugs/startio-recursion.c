/*
 * startio-recursion - the irpkit catalog bug "startio-recursion" in a C driver: the
 * startio sample (drivers/startio/startio.c) with IRPKIT_BUG_STARTIO_RECURSION defined,
 * nothing else changed.
 *
 * No IoSetStartIoAttributes(DeferredStartIo): StartIo's IoStartNextPacket for an IRP
 * cancelled before it started re-enters StartIo. Expected rule: start-io-recursion.
 */
#define IRPKIT_BUG_STARTIO_RECURSION 1
#include "../startio/startio.c"
