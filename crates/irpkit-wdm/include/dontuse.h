/*
 * dontuse.h - irpkit-wdm.
 *
 * In the WDK this header deprecates unsafe CRT string routines for driver code. irpkit
 * does not deprecate anything: the header exists so that drivers including it compile.
 */
#ifndef IRPKIT_DONTUSE_H
#define IRPKIT_DONTUSE_H
#endif
