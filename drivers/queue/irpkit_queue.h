/*
 * irpkit_queue.h - the public interface of the irpkit queue sample (drivers/queue):
 * device names, I/O control codes and the notification record. Shared by the driver and
 * its applications (needs only devioctl.h, which wdm.h includes).
 */
#ifndef IRPKIT_QUEUE_H
#define IRPKIT_QUEUE_H

/* A vendor device type (0x8000 and above are for vendors). */
#define FILE_DEVICE_IRPKIT_QUEUE 0x8001

/*
 * IOCTL_IRPKIT_QUEUE_WAIT: pends until the next notification (the device's periodic timer
 * completes the oldest waiting request on each tick; IOCTL_IRPKIT_QUEUE_SIGNAL completes
 * it at once). Output: an IRPKIT_NOTIFICATION. A smaller output buffer fails at once with
 * STATUS_BUFFER_TOO_SMALL. Cancelled: STATUS_CANCELLED, no output.
 */
#define IOCTL_IRPKIT_QUEUE_WAIT \
    CTL_CODE(FILE_DEVICE_IRPKIT_QUEUE, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

/*
 * IOCTL_IRPKIT_QUEUE_SIGNAL: completes the oldest waiting request now (any file object's).
 * STATUS_SUCCESS if one was completed, STATUS_NOT_FOUND if none was waiting. No buffers.
 */
#define IOCTL_IRPKIT_QUEUE_SIGNAL \
    CTL_CODE(FILE_DEVICE_IRPKIT_QUEUE, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* What completed a notification request. */
#define IRPKIT_NOTIFY_TIMER  1
#define IRPKIT_NOTIFY_SIGNAL 2

typedef struct _IRPKIT_NOTIFICATION {
    unsigned int Sequence; /* 1 for the first notification the device delivered, then 2, ... */
    unsigned int Reason;   /* IRPKIT_NOTIFY_TIMER or IRPKIT_NOTIFY_SIGNAL */
} IRPKIT_NOTIFICATION, *PIRPKIT_NOTIFICATION;

#endif /* IRPKIT_QUEUE_H */
