/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skiff-up.c - `skiff up`: load and interpolate the compose file here, send
 * the resolved model to skiffd (PUT /v1/apps/{app}) and print what changed
 * per service.  With --wait it polls the replicas until every one that
 * should run is running and healthy; without -d it follows the app's logs
 * like `docker compose up` until SIGINT or SIGTERM, then stops the app.
 *
 * The log follower runs in a child process so that the blocking stream
 * read and the signals stay apart: the parent only waits on a signalfd.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "base/util.h"
#include "cmd/skiff-cli.h"

#define WAIT_POLL_NS (75 * 1000 * 1000)

struct up_args {
	struct sk_app_load_opts lo;
	char **profiles;
	bool detach, wait;
	int64_t wait_timeout_ns;
	bool color;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: skiff up [-f FILE] [-p NAME] [--env-file FILE] [--profile NAME]...\n"
		   "                [-d] [--wait] [--wait-timeout SECONDS] [--no-color]\n");
}

static int parse_args(int argc, char **argv, struct up_args *a)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "profile", required_argument, NULL, 'P' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "detach", no_argument, NULL, 'd' },
		{ "wait", no_argument, NULL, 'w' },
		{ "wait-timeout", required_argument, NULL, 'T' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int64_t secs;
	int c;

	while ((c = getopt_long(argc, argv, "f:p:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a->lo.file = optarg;
			break;
		case 'p':
			a->lo.project_name = optarg;
			break;
		case 'P':
			sk_strv_push(&a->profiles, optarg);
			break;
		case 'e':
			a->lo.env_file = optarg;
			break;
		case 'd':
			a->detach = true;
			break;
		case 'w':
			a->wait = true;
			break;
		case 'T':
			if (sk_parse_int64(optarg, &secs) < 0 || secs <= 0 || secs > 86400) {
				fprintf(stderr, "skiff: up: --wait-timeout: invalid value '%s'\n",
					optarg);
				return 2;
			}
			a->wait_timeout_ns = secs * 1000000000;
			break;
		case 'C':
			a->color = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	a->lo.profiles = a->profiles;
	return -1;
}

/* Loads the app, printing every diagnostic; returns 0, or 1 after printing. */
static int load_app(const struct up_args *a, struct sk_app **ret)
{
	struct sk_app_diags diags = { 0 };
	struct sk_error *err = NULL;
	int r;

	r = sk_app_load(&a->lo, ret, &diags, &err);
	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "%s\n", diags.v[i].msg);
	if (r < 0 && diags.n_errors == 0) {
		sk_app_diags_release(&diags);
		return skiff_fail(err);
	}
	sk_error_free(err);
	sk_app_diags_release(&diags);
	return r < 0 ? 1 : 0;
}

static int put_app(struct sk_api_client *c, const struct sk_app *app)
{
	_cleanup_free_ char *model = sk_app_to_json(app, false),
			    *path = skiff_app_path(app->name, NULL);
	struct sk_error *err = NULL;
	json_t *body, *ans = NULL, *v;
	const char *name;
	int r;

	body = json_pack("{s:o}", "model", json_loads(model, 0, NULL));
	if (!body) {
		sk_error_set(&err, EINVAL, "up: the app model is not valid JSON");
		return skiff_fail(err);
	}
	r = skiff_call(c, "PUT", path, body, &ans, &err);
	json_decref(body);
	if (r < 0)
		return skiff_fail(err);
	json_object_foreach(json_object_get(ans, "services"), name, v)
	    printf("%s: %s\n", name, json_string_value(v) ?: "?");
	fflush(stdout);
	json_decref(ans);
	return 0;
}

/* ---- --wait --------------------------------------------------------- */

static bool never_restarts(const struct sk_app_service *svc)
{
	if (svc->restart_policy.set)
		return svc->restart_policy.condition == SK_APP_RP_NONE;
	return svc->restart == SK_APP_RESTART_NO;
}

static void append(char **list, const char *fmt_name, const char *why)
{
	char *n = sk_asprintf("%s%s%s (%s)", *list ? *list : "", *list ? ", " : "", fmt_name, why);
	free(*list);
	*list = n;
}

/*
 * Appends to *bad every replica that should run and is not running and
 * healthy (or without a health check), and every service with no replica
 * yet.  Sets *fatal when one stopped for good (exited, restart "no").
 */
static void check_replicas(json_t *reps, const struct sk_app *app, char **bad, bool *fatal)
{
	for (size_t s = 0; s < app->n_services; s++) {
		const struct sk_app_service *svc = &app->services[s];
		size_t i, seen = 0;
		json_t *rep;

		json_array_foreach(reps, i, rep)
		{
			const char *rs = json_string_value(json_object_get(rep, "service")) ?: "";
			const char *name = json_string_value(json_object_get(rep, "name")) ?: "?";
			const char *state = json_string_value(json_object_get(rep, "state")) ?: "";
			const char *health =
			    json_string_value(json_object_get(rep, "health")) ?: "";
			const char *desired = json_string_value(json_object_get(rep, "desired"));

			if (strcmp(rs, svc->name) || (desired && strcmp(desired, "running")))
				continue;
			seen++;
			if (!strcmp(state, "running") &&
			    (!*health || !strcmp(health, "none") || !strcmp(health, "healthy")))
				continue;
			if ((!strcmp(state, "exited") || !strcmp(state, "backoff")) &&
			    never_restarts(svc)) {
				json_t *code = json_object_get(rep, "exit_code");
				_cleanup_free_ char *why =
				    json_is_integer(code)
					? sk_asprintf("exited with code %" JSON_INTEGER_FORMAT
						      ", restart \"no\"",
						      json_integer_value(code))
					: sk_strdup("exited, restart \"no\"");
				append(bad, name, why);
				*fatal = true;
			} else {
				append(bad, name, !strcmp(state, "running") ? health : state);
			}
		}
		if (svc->replicas > 0 && seen == 0)
			append(bad, svc->name, "no replica yet");
	}
}

static int wait_ready(struct sk_api_client *c, const struct sk_app *app, int64_t timeout_ns)
{
	uint64_t deadline = sk_now_ns() + (uint64_t)timeout_ns;

	/* a hung daemon must not hold --wait past its timeout for long */
	sk_api_client_set_timeout(c, 10000);

	for (;;) {
		_cleanup_free_ char *bad = NULL;
		bool fatal = false;
		json_t *reps = skiff_get_replicas(c, app->name);

		if (!reps)
			return 1;
		check_replicas(reps, app, &bad, &fatal);
		json_decref(reps);
		if (!bad) {
			printf("%s: every replica is running\n", app->name);
			return 0;
		}
		if (fatal) {
			fprintf(stderr, "skiff: up: replicas failed: %s\n", bad);
			return 1;
		}
		if (sk_now_ns() >= deadline) {
			fprintf(stderr, "skiff: up: timed out after %" PRId64 "s waiting for: %s\n",
				timeout_ns / 1000000000, bad);
			return 1;
		}
		struct timespec ts = { 0, WAIT_POLL_NS };
		(void)nanosleep(&ts, NULL);
	}
}

/* ---- attached: follow the logs until a signal ----------------------- */

static int log_width(const struct sk_app *app)
{
	int w = 0;

	for (size_t i = 0; i < app->n_services; i++) {
		char digits[24];
		int n = snprintf(digits, sizeof(digits), "%" PRId64,
				 app->services[i].replicas > 0 ? app->services[i].replicas : 1);
		if ((int)strlen(app->services[i].name) + 1 + n > w)
			w = (int)strlen(app->services[i].name) + 1 + n;
	}
	return w + 1;
}

static _Noreturn void follower(const struct skiff_opts *o, const char *app,
			       const struct skiff_logs_opts *lo, pid_t parent, const sigset_t *old)
{
	struct sk_api_client *c = NULL;
	struct sk_error *err = NULL;

	/* ^C goes to the whole process group: only the parent acts on it */
	signal(SIGINT, SIG_IGN);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	sigprocmask(SIG_SETMASK, old, NULL);
	if (skiff_connect(o, &c) != 0)
		_exit(1);
	if (skiff_logs_stream(c, app, lo, &err) < 0)
		_exit(skiff_fail(err));
	_exit(0);
}

/* Returns the follower's exit code when it ended by itself, or -1 after SIGINT/SIGTERM. */
static int follow_until_signal(const struct skiff_opts *o, const char *app,
			       const struct skiff_logs_opts *lo)
{
	sigset_t mask, old;
	_cleanup_close_ int sfd = -1;
	int status = 0, ret = -1;
	pid_t pid, parent = getpid();

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	fflush(stdout);
	fflush(stderr);
	if (sfd < 0 || (pid = fork()) < 0) {
		perror("skiff: up: follow logs");
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	if (pid == 0)
		follower(o, app, lo, parent, &old);
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si) || si.ssi_signo != SIGCHLD) {
			kill(pid, SIGTERM);
			(void)waitpid(pid, &status, 0);
			break;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
			break;
		}
	}
	/* a second ^C while stopping ends the CLI; skiffd goes on stopping */
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static int stop_app(struct sk_api_client *c, const char *app)
{
	_cleanup_free_ char *path = skiff_app_path(app, "/stop");
	struct sk_error *err = NULL;
	json_t *body = json_pack("{s:[]}", "services"), *ans = NULL;
	int r;

	fprintf(stderr, "stopping %s (press Ctrl+C again to leave it stopping)\n", app);
	r = skiff_call(c, "POST", path, body, &ans, &err);
	json_decref(body);
	if (r < 0)
		return skiff_fail(err);
	printf("stopped: %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(ans, "stopped")));
	json_decref(ans);
	return 0;
}

int skiff_cmd_up(const struct skiff_opts *o, int argc, char **argv)
{
	struct up_args a = { .wait_timeout_ns = 60 * (int64_t)1000000000,
			     .color = isatty(STDOUT_FILENO) };
	_cleanup_(sk_api_client_freep) struct sk_api_client *c = NULL;
	_cleanup_(sk_app_freep) struct sk_app *app = NULL;
	_cleanup_strv_ char **profiles = NULL;
	int64_t since;
	int r;

	a.lo.file = o->file;
	a.lo.project_name = o->project;
	r = parse_args(argc, argv, &a);
	profiles = a.profiles;
	if (r >= 0)
		return r;
	if ((r = load_app(&a, &app)) != 0 || (r = skiff_connect(o, &c)) != 0)
		return r;
	since = skiff_now_ns();
	if ((r = put_app(c, app)) != 0)
		return r;
	if (a.wait)
		return wait_ready(c, app, a.wait_timeout_ns);
	if (a.detach)
		return 0;

	struct skiff_logs_opts lo = { .follow = true,
				      .color = a.color,
				      .tail = -1,
				      .since_ns = since,
				      .width = log_width(app) };
	r = follow_until_signal(o, app->name, &lo);
	if (r >= 0)
		return r;
	return stop_app(c, app->name);
}
