/*
 * random.h — cryptographically strong random bytes from the kernel
 * (getrandom(2)), for tokens, session ids and join codes.
 */
#ifndef PARLEY_UTIL_RANDOM_H
#define PARLEY_UTIL_RANDOM_H

#include <stddef.h>

#include "util/error.h"

/* Fill buf[0..len) (len <= 256). PARLEY_ERR_IO when the kernel refuses. */
enum parley_err random_bytes(void *buf, size_t len, struct parley_error *err);

#endif
