/*
 * mongo_driver.h - the MongoDB C driver's headers, included once here:
 * libbson's inline atomics cast away const, which our -Wcast-qual -Werror
 * refuses, so the warning is off for the driver's headers only.
 */
#ifndef GB_MONGO_DRIVER_H
#define GB_MONGO_DRIVER_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <mongoc/mongoc.h>
#pragma GCC diagnostic pop

#endif
