/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.c - the per-container state directory and the derived status.
 */
#include "runtime/state.h"

#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "cgroup/cgroup.h"
#include "oci/spec.h"

const char *sk_status_name(enum sk_status s)
{
	static const char *const names[] = { "creating", "created", "running", "paused",
					     "stopped" };
	return names[s];
}

int sk_state_check_id(const char *id, struct sk_error **err)
{
	size_t n = strlen(id);

	if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return sk_error_set(err, 0, "invalid container id '%s'", id);
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_+-.", *p)))
			return sk_error_set(err, 0, "invalid container id '%s'", id);
	return 0;
}

int sk_state_remove(const struct sk_state *st, struct sk_error **err)
{
	static const char *const files[] = { "state.json", "config.json", "exec.fifo" };
	_cleanup_close_ int dfd = open(st->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (dfd < 0)
		return errno == ENOENT ? 0 : sk_error_errno(err, "open '%s'", st->dir);
	for (size_t i = 0; i < SK_ELEMENTSOF(files); i++)
		(void)unlinkat(dfd, files[i], 0);
	if (rmdir(st->dir) == 0 || errno == ENOENT)
		return 0;
	if ((r = sk_rm_rf(st->dir)) < 0)
		return sk_error_set(err, -r, "remove state directory '%s'", st->dir);
	return 0;
}

char *sk_state_file(const struct sk_state *st, const char *name)
{
	return sk_path_join(st->dir, name);
}

int sk_state_save(const struct sk_state *st, struct sk_error **err)
{
	json_t *o = json_object();
	json_t *created = json_array();
	int r;

	for (size_t i = 0; st->cgroup_created && st->cgroup_created[i]; i++)
		json_array_append_new(created, json_string(st->cgroup_created[i]));
	json_object_set_new(o, "id", json_string(st->id));
	json_object_set_new(o, "pid", json_integer(st->pid));
	json_object_set_new(o, "pid_start", json_integer((json_int_t)st->pid_start));
	json_object_set_new(o, "bundle", json_string(st->bundle));
	json_object_set_new(o, "rootfs", json_string(st->rootfs));
	json_object_set_new(o, "created", json_string(st->created));
	json_object_set_new(o, "cgroup_path", json_string(st->cgroup_path));
	json_object_set_new(o, "cgroup_created", created);
	json_object_set_new(o, "systemd_cgroup", json_boolean(st->systemd_cgroup));
	json_object_set_new(o, "new_pidns", json_boolean(st->new_pidns));
	if (st->annotations_json)
		json_object_set_new(o, "annotations", json_loads(st->annotations_json, 0, NULL));
	_cleanup_free_ char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	_cleanup_free_ char *path = sk_state_file(st, "state.json");
	r = sk_write_file_atomic(path, text, strlen(text), 0600, false);
	if (r < 0)
		return sk_error_set(err, -r, "write '%s'", path);
	return 0;
}

static char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? sk_strdup(s) : NULL;
}

int sk_state_load(const char *root, const char *id, struct sk_state **ret, struct sk_error **err)
{
	_cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
	json_error_t jerr;
	int r;

	if ((r = sk_state_check_id(id, err)) < 0)
		return r;
	dir = sk_path_join(root, id);
	path = sk_path_join(dir, "state.json");
	r = sk_read_file(path, &text, NULL);
	if (r == -ENOENT) {
		sk_error_set(err, 0, "container \"%s\" does not exist", id);
		return -ENOENT;
	}
	if (r < 0)
		return sk_error_set(err, -r, "read '%s'", path);
	json_t *o = json_loads(text, 0, &jerr);
	if (!o)
		return sk_error_set(err, EBADMSG, "parse '%s': %s", path, jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return sk_error_set(err, EBADMSG, "parse '%s': not a JSON object", path);
	}
	struct sk_state *st = sk_new0(struct sk_state, 1);
	st->id = sk_strdup(id);
	st->dir = TAKE_PTR(dir);
	st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	st->pid_start = (uint64_t)json_integer_value(json_object_get(o, "pid_start"));
	st->bundle = jstr(o, "bundle");
	st->rootfs = jstr(o, "rootfs");
	st->created = jstr(o, "created");
	st->cgroup_path = jstr(o, "cgroup_path");
	st->systemd_cgroup = json_is_true(json_object_get(o, "systemd_cgroup"));
	st->new_pidns = json_is_true(json_object_get(o, "new_pidns"));
	json_t *arr = json_object_get(o, "cgroup_created"), *v;
	size_t i;
	st->cgroup_created = sk_new0(char *, json_array_size(arr) + 1);
	json_array_foreach(arr, i, v) st->cgroup_created[i] = sk_strdup(json_string_value(v));
	json_t *ann = json_object_get(o, "annotations");
	if (ann)
		st->annotations_json = json_dumps(ann, JSON_COMPACT);
	json_decref(o);
	*ret = st;
	return 0;
}

void sk_state_free(struct sk_state *st)
{
	if (!st)
		return;
	free(st->id);
	free(st->dir);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->cgroup_path);
	sk_strv_free(st->cgroup_created);
	free(st->annotations_json);
	free(st);
}

/* Field 22 of /proc/<pid>/stat (after the parenthesised comm), and the state letter. */
static uint64_t proc_stat(pid_t pid, char *ret_state)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = sk_read_all(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	char state = 0;
	unsigned long long start = 0;
	/* ) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime stime cutime cstime priority nice threads itrealvalue starttime */
	if (sscanf(
		p + 2,
		"%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		&state, &start) != 2)
		return 0;
	if (ret_state)
		*ret_state = state;
	return start;
}

uint64_t sk_proc_start_time(pid_t pid)
{
	return proc_stat(pid, NULL);
}

bool sk_state_pid_alive(const struct sk_state *st)
{
	char state = 0;

	if (st->pid <= 0)
		return false;
	uint64_t start = proc_stat(st->pid, &state);
	return start != 0 && start == st->pid_start && state != 'Z' && state != 'X';
}

enum sk_status sk_state_status(const struct sk_state *st)
{
	if (!sk_state_pid_alive(st))
		return SK_STATUS_STOPPED;
	_cleanup_free_ char *fifo = sk_state_file(st, "exec.fifo");
	struct stat sb;
	if (stat(fifo, &sb) == 0)
		return SK_STATUS_CREATED;
	_cleanup_(sk_cgroup_freep) struct sk_cgroup *cg = NULL;
	bool frozen = false;
	if (st->cgroup_path &&
	    sk_cgroup_open(st->cgroup_path, st->cgroup_created, &cg, NULL) == 0 &&
	    sk_cgroup_is_frozen(cg, &frozen, NULL) == 0 && frozen)
		return SK_STATUS_PAUSED;
	return SK_STATUS_RUNNING;
}

char *sk_state_json(const struct sk_state *st, enum sk_status status, bool pretty)
{
	json_t *o = json_object();

	json_object_set_new(o, "ociVersion", json_string(SK_OCI_VERSION));
	json_object_set_new(o, "id", json_string(st->id));
	json_object_set_new(o, "pid", json_integer(status == SK_STATUS_STOPPED ? 0 : st->pid));
	json_object_set_new(o, "status", json_string(sk_status_name(status)));
	json_object_set_new(o, "bundle", json_string(st->bundle));
	json_object_set_new(o, "rootfs", json_string(st->rootfs));
	json_object_set_new(o, "created", json_string(st->created));
	json_object_set_new(o, "owner", json_string(""));
	if (st->annotations_json)
		json_object_set_new(o, "annotations", json_loads(st->annotations_json, 0, NULL));
	char *s = json_dumps(o, pretty ? JSON_INDENT(2) : JSON_COMPACT);
	json_decref(o);
	return s;
}
