/* exec_run.c — see exec_run.h. */
#include "engines/exec_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/timeutil.h"

#define EXEC_ARGS_MAX 16
#define ERR_TAIL 400

struct exec_run_params exec_run_default_params(void)
{
	struct exec_run_params p;
	memset(&p, 0, sizeof(p));
	p.timeout = 120;
	p.max_output = 16u << 20;
	p.what = "exec";
	return p;
}

static void child(const struct exec_run_params *p, int in, int out, int errfd)
{
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(127);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	for (size_t i = 0; p->env && p->env[i]; i++)
		putenv((char *)p->env[i]);
	char script[8192];
	snprintf(script, sizeof(script), p->nargs ? "%s \"$@\"" : "%s", p->command);
	const char *argv[EXEC_ARGS_MAX + 5];
	size_t a = 0;
	argv[a++] = "/bin/sh";
	argv[a++] = "-c";
	argv[a++] = script;
	argv[a++] = "parley-engine";
	for (size_t i = 0; i < p->nargs && i < EXEC_ARGS_MAX; i++)
		argv[a++] = p->args[i];
	argv[a] = NULL;
	execv("/bin/sh", (char *const *)argv);
	_exit(127);
}

/* The last non-empty line of buf into out. */
static void last_line(const char *buf, size_t len, char *out, size_t size)
{
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	size_t b = len;
	while (b > 0 && buf[b - 1] != '\n')
		b--;
	size_t n = len - b < size - 1 ? len - b : size - 1;
	memcpy(out, buf + b, n);
	out[n] = '\0';
}

enum parley_err exec_run(const struct exec_run_params *p, char **out, size_t *len,
			 struct parley_error *err)
{
	*out = NULL;
	*len = 0;
	const char *what = p->what ? p->what : "exec";
	if (!p->command || !*p->command || strlen(p->command) > 4000 || p->nargs > EXEC_ARGS_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: no command, or too long", what);
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	enum parley_err rc = PARLEY_OK;
	char *buf = NULL;
	size_t blen = 0, bcap = 0;
	char etail[ERR_TAIL * 2];
	size_t elen = 0;
	pid_t pid = -1;
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "%s: pipe: %s", what, strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = parley_error_set(err, PARLEY_ERR_ENGINE, "%s: fork: %s", what, strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(p, pin[0], pout[1], perr[1]);
	setpgid(pid, pid);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	size_t sent = 0;
	if (!p->stdin_data || !p->stdin_len) {
		close(pin[1]);
		pin[1] = -1;
	}
	double deadline = time_mono() + (p->timeout > 0 ? p->timeout : 120);
	size_t maxo = p->max_output ? p->max_output : (16u << 20);
	while (pout[0] >= 0 || perr[0] >= 0) {
		if (time_mono() > deadline) {
			rc = parley_error_set(err, PARLEY_ERR_ENGINE, "%s: no answer within %.0f s",
					      what, p->timeout);
			goto kill;
		}
		if (p->abort && p->abort(p->user_data)) {
			rc = parley_error_set(err, PARLEY_ERR_ABORTED, "%s: stopped on request", what);
			goto kill;
		}
		struct pollfd fds[3];
		int nf = 0, io = -1, ie = -1, ii = -1;
		if (pout[0] >= 0) {
			io = nf;
			fds[nf++] = (struct pollfd){pout[0], POLLIN, 0};
		}
		if (perr[0] >= 0) {
			ie = nf;
			fds[nf++] = (struct pollfd){perr[0], POLLIN, 0};
		}
		if (pin[1] >= 0) {
			ii = nf;
			fds[nf++] = (struct pollfd){pin[1], POLLOUT, 0};
		}
		if (poll(fds, (nfds_t)nf, 100) < 0 && errno != EINTR) {
			rc = parley_error_set(err, PARLEY_ERR_IO, "%s: poll: %s", what, strerror(errno));
			goto kill;
		}
		if (ii >= 0 && fds[ii].revents) {
			/* a command that stops reading must not SIGPIPE the worker */
			sigset_t pipe_set, old;
			sigemptyset(&pipe_set);
			sigaddset(&pipe_set, SIGPIPE);
			pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
			ssize_t w = write(pin[1], p->stdin_data + sent, p->stdin_len - sent);
			if (w < 0 && errno == EPIPE) {
				struct timespec zero = {0, 0};
				sigtimedwait(&pipe_set, NULL, &zero);
				errno = EPIPE;
			}
			int saved = errno;
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			errno = saved;
			if (w > 0)
				sent += (size_t)w;
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				sent = p->stdin_len; /* the command stopped reading */
			if (sent >= p->stdin_len) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
		if (io >= 0 && fds[io].revents) {
			if (blen + 65536 + 1 > bcap) {
				size_t cap = bcap ? bcap * 2 : 131072;
				char *nb = realloc(buf, cap);
				if (!nb) {
					rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", what);
					goto kill;
				}
				buf = nb;
				bcap = cap;
			}
			ssize_t r = read(pout[0], buf + blen, 65536);
			if (r > 0) {
				blen += (size_t)r;
				if (blen > maxo) {
					rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
							      "%s: printed more than %zu bytes", what, maxo);
					goto kill;
				}
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(pout[0]);
				pout[0] = -1;
			}
		}
		if (ie >= 0 && fds[ie].revents) {
			char tmp[4096];
			ssize_t r = read(perr[0], tmp, sizeof(tmp));
			if (r > 0) {
				/* keep the last ERR_TAIL bytes */
				size_t n = (size_t)r;
				if (n >= ERR_TAIL) {
					memcpy(etail, tmp + n - ERR_TAIL, ERR_TAIL);
					elen = ERR_TAIL;
				} else {
					if (elen + n > sizeof(etail)) {
						size_t drop = elen + n - ERR_TAIL;
						memmove(etail, etail + drop, elen - drop);
						elen -= drop;
					}
					memcpy(etail + elen, tmp, n);
					elen += n;
				}
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(perr[0]);
				perr[0] = -1;
			}
		}
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	char tail[ERR_TAIL + 1];
	last_line(etail, elen, tail, sizeof(tail));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (!buf && !(buf = malloc(1))) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "%s: out of memory", what);
			goto out;
		}
		buf[blen] = '\0';
		*out = buf;
		*len = blen;
		buf = NULL;
		goto out;
	}
	if (WIFEXITED(status))
		rc = parley_error_set(err, WEXITSTATUS(status) == 65 ? PARLEY_ERR_REJECTED
								      : PARLEY_ERR_ENGINE,
				      "%s: exit status %d%s%s", what, WEXITSTATUS(status),
				      tail[0] ? ": " : "", tail);
	else
		rc = parley_error_set(err, PARLEY_ERR_ENGINE, "%s: killed by signal %d%s%s", what,
				      WTERMSIG(status), tail[0] ? ": " : "", tail);
	goto out;
kill:
	kill(-pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	pid = -1;
out:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	free(buf);
	return rc;
}
