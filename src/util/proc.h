/*
 * proc.h — is the process that owns a lease still able to act?
 *
 * Leases and webhook claims name their owner "host:pid". A worker reclaims
 * at once what an owner of its own host left behind when that owner is
 * gone; an owner elsewhere, or one that may still run, keeps its lease
 * until it expires.
 *
 *   if (proc_owner_gone("db1:4242", "db1")) ... reclaim now ...
 *
 * Gone means: no such process (kill(pid, 0) fails with ESRCH), or a zombie
 * (state Z in /proc/PID/stat): killed and not yet reaped by its parent, so
 * it can commit nothing more. A parent that reaps slowly (a container's
 * PID 1, a busy supervisor) would otherwise keep a killed worker's leases
 * held until they expire. Anything unsure (another host, an owner that is
 * not "host:pid", a pid that is alive, /proc unreadable) is not gone: the
 * lease's expiry still covers it. A reused pid reads as alive, which is the
 * safe side.
 */
#ifndef PARLEY_UTIL_PROC_H
#define PARLEY_UTIL_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* Has process pid of this host ended (no such process, or a zombie)? */
bool proc_gone(pid_t pid);

/* Does owner "host:pid" name a process of this host (host) that is gone? */
bool proc_owner_gone(const char *owner, const char *host);

#endif
