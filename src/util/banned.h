/*
 * banned.h — functions parley's code must not call, as compile errors.
 * Force-included into every C compile (the Makefile's -include), after the
 * system headers that declare them, so a use anywhere reads
 *
 *   error: 'sorry_strcpy_is_a_banned_function' undeclared
 *
 * Why each is banned (git's banned.h, plus parley's own):
 *   strcpy strcat strncpy strncat   unbounded or not NUL-terminating:
 *                                   use snprintf or memcpy with a length
 *   sprintf vsprintf                unbounded: use snprintf / vsnprintf
 *   strtok                          hidden state, not thread-safe: strcspn/strspn
 *   atoi atol atoll atof            no error reporting: strtol/strtod + checks
 *   gets tmpnam mktemp              unbounded / racy by design
 *   gmtime localtime ctime asctime  static buffers: the _r forms
 */
#ifndef PARLEY_UTIL_BANNED_H
#define PARLEY_UTIL_BANNED_H

#ifndef __cplusplus
/* Declare them first, so the macros below never rewrite a declaration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef atoll
#define atoll(x) BANNED(atoll)
#undef atof
#define atof(x) BANNED(atof)
#undef gets
#define gets(x) BANNED(gets)
#undef tmpnam
#define tmpnam(x) BANNED(tmpnam)
#undef mktemp
#define mktemp(x) BANNED(mktemp)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)
#endif

#endif
