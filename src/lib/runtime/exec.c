/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec.c - PATH lookup of the container process's args[0] in its own env,
 * and the final execve().
 *
 * Lookup and messages follow Go's exec.LookPath and runc's system.Exec so
 * that clients matching runc's errors keep working.  Nothing here changes
 * process state before the execve.
 */
#include "runtime/exec.h"

#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/*
 * Sets *err to the message as given (no ": strerror" suffix, as runc
 * words it) while keeping `code` as its errno.  Returns -code.
 */
_printf_(3, 4) static int set_plain(struct sk_error **err, int code, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	if (err && !*err) {
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) < 0)
			abort();
		va_end(ap);
		sk_error_set(err, 0, "%s", msg);
		(*err)->code = code;
	}
	return -code;
}

/* strerror() the way Go prints an errno: "permission denied". */
static const char *go_strerror(int code, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(code));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* Go's findExecutable(): 0 or a positive errno; *stat_failed on stat errors. */
static int find_executable(const char *file, bool *stat_failed)
{
	struct stat st;

	*stat_failed = false;
	if (stat(file, &st) < 0) {
		*stat_failed = true;
		return errno;
	}
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (faccessat(AT_FDCWD, file, X_OK, AT_EACCESS) == 0)
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return errno;
	return (st.st_mode & 0111) ? 0 : EACCES;
}

static const char *env_path(char *const *env)
{
	for (char *const *e = env; e && *e; e++)
		if (sk_str_has_prefix(*e, "PATH="))
			return *e + 5;
	return SK_EXEC_DEFAULT_PATH;
}

static int search_path(const char *name, const char *path, char **ret_path)
{
	_cleanup_free_ char *copy = sk_strdup(path);
	char *dir;
	bool stat_failed;

	/* strsep keeps empty elements, which mean the current directory. */
	for (char *rest = copy; (dir = strsep(&rest, ":"));) {
		_cleanup_free_ char *full = sk_asprintf("%s/%s", *dir ? dir : ".", name);

		if (find_executable(full, &stat_failed) == 0) {
			*ret_path = TAKE_PTR(full);
			return 0;
		}
	}
	return -ENOENT;
}

int sk_exec_resolve(const struct sk_process *p, char **ret_path, struct sk_error **err)
{
	const char *name = p->args ? p->args[0] : NULL;
	char buf[128];
	bool stat_failed;
	int r;

	if (!name || !*name)
		return set_plain(err, EINVAL, "exec: no command: process.args is empty");
	if (!strchr(name, '/')) {
		if (search_path(name, env_path(p->env), ret_path) < 0)
			return set_plain(err, ENOENT,
					 "exec: \"%s\": executable file not found in $PATH", name);
		return 0;
	}
	r = find_executable(name, &stat_failed);
	if (r && stat_failed)
		return set_plain(err, r, "exec: \"%s\": stat %s: %s", name, name,
				 go_strerror(r, buf, sizeof(buf)));
	if (r)
		return set_plain(err, r, "exec: \"%s\": %s", name,
				 go_strerror(r, buf, sizeof(buf)));
	*ret_path = sk_strdup(name);
	return 0;
}

int sk_exec_process(const struct sk_process *p, struct sk_error **err)
{
	static char *const empty_env[] = { NULL };
	_cleanup_free_ char *path = NULL;
	char buf[128];
	int r;

	r = sk_exec_resolve(p, &path, err);
	if (r < 0)
		return r;
	/* run and exec block every signal before their process may run */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, p->args, p->env ? p->env : empty_env);
	r = errno;
	return set_plain(err, r, "exec %s: %s", path, go_strerror(r, buf, sizeof(buf)));
}
