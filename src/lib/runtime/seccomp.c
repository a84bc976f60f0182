/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp.c - builds and loads a seccomp filter from struct sk_seccomp with
 * libseccomp, and hands a notify listener fd to its supervisor.
 *
 * It does not decide when to load (finalize.c does) and does not set
 * no_new_privs.  Names follow the runtime-spec: actions "SCMP_ACT_*",
 * operators "SCMP_CMP_*", architectures "SCMP_ARCH_*", flags
 * "SECCOMP_FILTER_FLAG_*".
 */
#include "runtime/seccomp.h"

#include <ctype.h>
#include <jansson.h>
#include <seccomp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "base/log.h"
#include "base/util.h"

#define LIBSECCOMP_AT_LEAST(maj, min)                                                              \
	(SCMP_VER_MAJOR > (maj) || (SCMP_VER_MAJOR == (maj) && SCMP_VER_MINOR >= (min)))

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

void sk_seccomp_ctx_free(void *ctx)
{
	if (ctx)
		seccomp_release(ctx);
}

static bool is_action(const char *a, const char *name)
{
	return a && strcmp(a, name) == 0;
}

bool sk_seccomp_uses_notify(const struct sk_seccomp *s)
{
	if (is_action(s->default_action, "SCMP_ACT_NOTIFY"))
		return true;
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (is_action(s->syscalls[i].action, "SCMP_ACT_NOTIFY"))
			return true;
	return false;
}

/*
 * Maps an action name and its errnoRet to a libseccomp action.  ERRNO and
 * TRACE take errnoRet (EPERM when absent), as in runc; other actions ignore
 * it.  Returns 0, -EINVAL (unknown name) or -ERANGE (errno above 0xffff).
 */
static int parse_action(const char *name, bool has_ret, unsigned ret, uint32_t *ret_action)
{
	unsigned code = has_ret ? ret : EPERM;

	if (!name)
		return -EINVAL;
	bool is_errno = strcmp(name, "SCMP_ACT_ERRNO") == 0;

	if (is_errno || strcmp(name, "SCMP_ACT_TRACE") == 0) {
		if (code > 0xffff)
			return -ERANGE;
		*ret_action = is_errno ? SCMP_ACT_ERRNO(code) : SCMP_ACT_TRACE(code);
		return 0;
	}
	static const struct {
		const char *name;
		uint32_t action;
	} table[] = {
		{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
		{ "SCMP_ACT_KILL", SCMP_ACT_KILL },
		{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
		{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
		{ "SCMP_ACT_LOG", SCMP_ACT_LOG },
		{ "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY },
	};
	for (size_t i = 0; i < SK_ELEMENTSOF(table); i++)
		if (strcmp(name, table[i].name) == 0) {
			*ret_action = table[i].action;
			return 0;
		}
	return -EINVAL;
}

static int parse_op(const char *name, enum scmp_compare *ret)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} table[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE },
		{ "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE },
		{ "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; name && i < SK_ELEMENTSOF(table); i++)
		if (strcmp(name, table[i].name) == 0) {
			*ret = table[i].op;
			return 0;
		}
	return -EINVAL;
}

static int add_arch(scmp_filter_ctx ctx, const char *name, struct sk_error **err)
{
	char lower[64];
	const char *p = sk_str_has_prefix(name, "SCMP_ARCH_") ? name + 10 : name;
	size_t i;
	uint32_t arch;
	int r;

	for (i = 0; p[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)p[i]);
	lower[i] = '\0';
	arch = seccomp_arch_resolve_name(lower);
	if (arch == 0)
		return sk_error_set(err, 0, "seccomp: unknown architecture '%s'", name);
	r = seccomp_arch_add(ctx, arch);
	if (r < 0 && r != -EEXIST)
		return sk_error_set(err, -r, "seccomp: add architecture '%s'", name);
	return 0;
}

static int set_flag(scmp_filter_ctx ctx, const char *flag, struct sk_error **err)
{
	enum scmp_filter_attr attr;
	int r;

	if (strcmp(flag, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
		attr = SCMP_FLTATR_CTL_TSYNC;
	else if (strcmp(flag, "SECCOMP_FILTER_FLAG_LOG") == 0)
		attr = SCMP_FLTATR_CTL_LOG;
	else if (strcmp(flag, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
		attr = SCMP_FLTATR_CTL_SSB;
#if LIBSECCOMP_AT_LEAST(2, 6)
	else if (strcmp(flag, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
		attr = SCMP_FLTATR_CTL_WAITKILL;
#endif
	else
		return sk_error_set(err, 0,
				    "seccomp: flag '%s' is not supported (libseccomp %d.%d.%d)",
				    flag, SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO);
	r = seccomp_attr_set(ctx, attr, 1);
	if (r < 0)
		return sk_error_set(err, -r, "seccomp: set flag '%s'", flag);
	return 0;
}

/* Whether two conditions name the same argument (runc then adds one rule each). */
static bool args_repeat(const struct sk_seccomp_syscall *sc)
{
	for (size_t i = 0; i < sc->n_args; i++)
		for (size_t j = i + 1; j < sc->n_args; j++)
			if (sc->args[i].index == sc->args[j].index)
				return true;
	return false;
}

static int make_conds(const struct sk_seccomp_syscall *sc, struct scmp_arg_cmp *conds,
		      struct sk_error **err)
{
	for (size_t i = 0; i < sc->n_args; i++) {
		const struct sk_seccomp_arg *a = &sc->args[i];
		enum scmp_compare op;

		if (a->index > 5)
			return sk_error_set(err, 0, "seccomp: argument index %u out of range",
					    a->index);
		if (parse_op(a->op, &op) < 0)
			return sk_error_set(err, 0, "seccomp: unknown operator '%s'",
					    a->op ? a->op : "(null)");
		conds[i] = (struct scmp_arg_cmp){
			.arg = a->index, .op = op, .datum_a = a->value, .datum_b = a->value_two
		};
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const char *name, uint32_t action,
		    const struct sk_seccomp_syscall *sc, struct sk_error **err)
{
	_cleanup_free_ struct scmp_arg_cmp *conds = sk_new0(struct scmp_arg_cmp, sc->n_args + 1);
	int nr = seccomp_syscall_resolve_name(name);
	int r;

	if (nr == __NR_SCMP_ERROR) {
		sk_debug("seccomp: skipping syscall '%s' unknown to libseccomp", name);
		return 0;
	}
	r = make_conds(sc, conds, err);
	if (r < 0)
		return r;
	if (!args_repeat(sc)) {
		r = seccomp_rule_add_array(ctx, action, nr, (unsigned)sc->n_args, conds);
	} else {
		for (size_t i = 0; i < sc->n_args && r >= 0; i++)
			r = seccomp_rule_add_array(ctx, action, nr, 1, &conds[i]);
	}
	if (r < 0)
		return sk_error_set(err, -r, "seccomp: add rule for syscall '%s'", name);
	return 0;
}

static int add_syscall(scmp_filter_ctx ctx, uint32_t def, const struct sk_seccomp_syscall *sc,
		       struct sk_error **err)
{
	const char *first = sc->names && sc->names[0] ? sc->names[0] : "(none)";
	uint32_t action;
	int r;

	r = parse_action(sc->action, sc->has_errno_ret, sc->errno_ret, &action);
	if (r < 0)
		return sk_error_set(err, 0, "seccomp: syscall '%s': bad action '%s'%s", first,
				    sc->action ? sc->action : "(null)",
				    r == -ERANGE ? " (errnoRet above 65535)" : "");
	if (action == def) {
		sk_debug("seccomp: syscall '%s': action equals the default, skipped", first);
		return 0;
	}
	for (char **n = sc->names; n && *n; n++) {
		r = add_rule(ctx, *n, action, sc, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int sk_seccomp_build(const struct sk_seccomp *s, void **ret_ctx, struct sk_error **err)
{
	_cleanup_(ctx_releasep) scmp_filter_ctx ctx = NULL;
	uint32_t def;
	int r;

	r = parse_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret, &def);
	if (r < 0)
		return sk_error_set(err, 0, "seccomp: bad defaultAction '%s'%s",
				    s->default_action ? s->default_action : "(null)",
				    r == -ERANGE ? " (defaultErrnoRet above 65535)" : "");
	ctx = seccomp_init(def);
	if (!ctx)
		return sk_error_set(err, 0, "seccomp: cannot initialize the filter");
	/* no_new_privs is finalize.c's decision, not a side effect of loading. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return sk_error_set(err, -r, "seccomp: clear the no_new_privs attribute");
	for (char **a = s->architectures; a && *a; a++) {
		r = add_arch(ctx, *a, err);
		if (r < 0)
			return r;
	}
	for (char **f = s->flags; f && *f; f++) {
		r = set_flag(ctx, *f, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < s->n_syscalls; i++) {
		r = add_syscall(ctx, def, &s->syscalls[i], err);
		if (r < 0)
			return r;
	}
	*ret_ctx = TAKE_PTR(ctx);
	return 0;
}

int sk_seccomp_load_notify(const struct sk_seccomp *s, int *ret_notify_fd, struct sk_error **err)
{
	_cleanup_(ctx_releasep) scmp_filter_ctx ctx = NULL;
	bool notify = sk_seccomp_uses_notify(s);
	int r;

	if (notify && !s->listener_path)
		return sk_error_set(err, 0, "seccomp: SCMP_ACT_NOTIFY needs a listenerPath");
	r = sk_seccomp_build(s, &ctx, err);
	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	if (r < 0)
		return sk_error_set(err, -r, "seccomp: load the filter");
	*ret_notify_fd = -1;
	if (notify) {
		/* The fd lives in libseccomp's process state, never closed by release. */
		r = seccomp_notify_fd(ctx);
		if (r < 0)
			return sk_error_set(err, -r, "seccomp: get the notify listener fd");
		*ret_notify_fd = r;
	}
	return 0;
}

int sk_seccomp_load(const struct sk_seccomp *s, struct sk_error **err)
{
	int fd = -1;

	if (sk_seccomp_uses_notify(s)) {
		sk_error_set(err, 0,
			     "seccomp: listenerPath '%s' is not supported here "
			     "(SCMP_ACT_NOTIFY needs sk_seccomp_load_notify)",
			     s->listener_path ? s->listener_path : "");
		return -EOPNOTSUPP;
	}
	return sk_seccomp_load_notify(s, &fd, err);
}

/* The runtime-spec "container process state" for a seccomp agent. */
static char *process_state_json(const struct sk_seccomp *s, pid_t pid, const char *state_json,
				struct sk_error **err)
{
	json_t *root, *state = NULL;
	json_error_t jerr;
	char *out;

	if (state_json) {
		state = json_loads(state_json, 0, &jerr);
		if (!state) {
			sk_error_set(err, 0, "seccomp: bad state JSON: %s", jerr.text);
			return NULL;
		}
	}
	root = json_pack("{s:s, s:[s], s:I, s:s, s:o}", "ociVersion", SK_OCI_VERSION, "fds",
			 "seccompFd", "pid", (json_int_t)pid, "metadata",
			 s->listener_metadata ? s->listener_metadata : "", "state",
			 state ? state : json_object());
	if (!root)
		abort();
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!out)
		abort();
	return out;
}

static int send_with_fd(int sock, const char *msg, int fd)
{
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl,
			     .msg_controllen = sizeof(ctrl) };
	struct cmsghdr *c;
	ssize_t w;

	memset(ctrl, 0, sizeof(ctrl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		w = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return (size_t)w == iov.iov_len ? 0 : -EMSGSIZE;
}

int sk_seccomp_notify_send(const struct sk_seccomp *s, int notify_fd, pid_t pid,
			   const char *state_json, struct sk_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int sock = -1;
	_cleanup_free_ char *msg = NULL;
	int r;

	if (!s->listener_path || strlen(s->listener_path) >= sizeof(sa.sun_path))
		return sk_error_set(err, 0, "seccomp: bad listenerPath '%s'",
				    s->listener_path ? s->listener_path : "");
	msg = process_state_json(s, pid, state_json, err);
	if (!msg)
		return -EINVAL;
	strcpy(sa.sun_path, s->listener_path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return sk_error_errno(err, "seccomp: socket");
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return sk_error_errno(err, "seccomp: connect to listenerPath '%s'",
				      s->listener_path);
	r = send_with_fd(sock, msg, notify_fd);
	if (r < 0)
		return sk_error_set(err, -r, "seccomp: send the notify fd to '%s'",
				    s->listener_path);
	return 0;
}
