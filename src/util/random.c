/* random.c — see random.h. */
#include "util/random.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

enum parley_err random_bytes(void *buf, size_t len, struct parley_error *err)
{
	if (len > 256)
		return parley_error_set(err, PARLEY_ERR_INVALID, "random_bytes: %zu bytes asked, at most 256",
					len);
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom((char *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return parley_error_set(err, PARLEY_ERR_IO, "cannot get random bytes (getrandom: %s)",
						n < 0 ? strerror(errno) : "no data");
		got += (size_t)n;
	}
	return PARLEY_OK;
}
