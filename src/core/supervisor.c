/* supervisor.c — see supervisor.h. */
#include "core/supervisor.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/log.h"
#include "util/timeutil.h"

/* Set by the signal handler; each forked worker has its own copy. */
static volatile sig_atomic_t supervisor_stop;

static void on_signal(int sig)
{
	(void)sig;
	supervisor_stop = 1;
}

struct supervisor_params supervisor_default_params(void)
{
	struct supervisor_params p;
	memset(&p, 0, sizeof(p));
	p.jobs = 1;
	return p;
}

static pid_t spawn_worker(const struct worker_params *wp, int index)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* child */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct worker_params p = *wp;
	char host[64];
	worker_host(host, sizeof(host));
	snprintf(p.owner, sizeof(p.owner), "%s:%ld", host, (long)getpid());
	p.stop = &supervisor_stop;
	struct worker_stats stats;
	struct parley_error err = {0};
	enum parley_err rc = worker_run(&p, &stats, &err);
	if (rc != PARLEY_OK)
		fprintf(stderr, "parley: worker %d: %s\n", index, err.msg);
	fflush(NULL);
	_exit(rc == PARLEY_OK ? 0 : 1);
}

static void report(const struct supervisor_params *p)
{
	struct store_progress sp;
	struct parley_error err = {0};
	if (p->on_progress && p->batch_id &&
	    store_progress_get(p->store, p->batch_id, &sp, &err) == PARLEY_OK)
		p->on_progress(&sp, p->user_data);
}

bool supervisor_run(const struct supervisor_params *p)
{
	pid_t *pids = calloc((size_t)p->jobs, sizeof(pid_t));
	if (!pids) {
		log_error("out of memory starting %d workers", p->jobs);
		return false;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	char host[64];
	worker_host(host, sizeof(host));
	struct parley_error err = {0};
	int running = 0, restarts = 0, reclaimed = 0;
	for (int i = 0; i < p->jobs; i++) {
		pids[i] = spawn_worker(p->worker, i);
		if (pids[i] > 0)
			running++;
	}
	bool forwarded = false;
	while (running > 0) {
		time_sleep(0.2);
		if (supervisor_stop && !forwarded) {
			for (int i = 0; i < p->jobs; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
			forwarded = true;
		}
		report(p);
		int wstatus;
		pid_t pid;
		while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
			for (int i = 0; i < p->jobs; i++) {
				if (pids[i] != pid)
					continue;
				pids[i] = 0;
				running--;
				bool crashed = WIFSIGNALED(wstatus) || WEXITSTATUS(wstatus) != 0;
				if (!crashed || supervisor_stop)
					break;
				log_warn("worker %d (pid %ld) %s %d; its recording goes back to the queue", i,
					 (long)pid, WIFSIGNALED(wstatus) ? "was killed by signal" : "exited with status",
					 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
				store_lease_reclaim_dead(p->store, host, &reclaimed, &err);
				if (restarts++ < 4 * p->jobs) {
					pids[i] = spawn_worker(p->worker, i);
					if (pids[i] > 0)
						running++;
				}
				break;
			}
		}
	}
	report(p);
	free(pids);
	return supervisor_stop != 0;
}
