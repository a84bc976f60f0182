/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mountopt.c - the table of mount options the runtime understands and the
 * parser that turns a config.json options list into mount(2) arguments.
 */
#include "runtime/mountopt.h"

#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>

#include "base/util.h"

enum opt_kind { OPT_FLAG, OPT_CLEAR, OPT_PROPAGATION, OPT_ATTR_SET, OPT_ATTR_CLR, OPT_SPECIAL };

struct opt {
	const char *name;
	enum opt_kind kind;
	uint64_t value;
};

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

static const struct opt opts[] = {
	{ "defaults", OPT_FLAG, 0 },
	{ "ro", OPT_FLAG, MS_RDONLY },
	{ "rw", OPT_CLEAR, MS_RDONLY },
	{ "nosuid", OPT_FLAG, MS_NOSUID },
	{ "suid", OPT_CLEAR, MS_NOSUID },
	{ "nodev", OPT_FLAG, MS_NODEV },
	{ "dev", OPT_CLEAR, MS_NODEV },
	{ "noexec", OPT_FLAG, MS_NOEXEC },
	{ "exec", OPT_CLEAR, MS_NOEXEC },
	{ "sync", OPT_FLAG, MS_SYNCHRONOUS },
	{ "async", OPT_CLEAR, MS_SYNCHRONOUS },
	{ "dirsync", OPT_FLAG, MS_DIRSYNC },
	{ "remount", OPT_FLAG, MS_REMOUNT },
	{ "mand", OPT_FLAG, MS_MANDLOCK },
	{ "nomand", OPT_CLEAR, MS_MANDLOCK },
	{ "atime", OPT_CLEAR, MS_NOATIME },
	{ "noatime", OPT_FLAG, MS_NOATIME },
	{ "diratime", OPT_CLEAR, MS_NODIRATIME },
	{ "nodiratime", OPT_FLAG, MS_NODIRATIME },
	{ "relatime", OPT_FLAG, MS_RELATIME },
	{ "norelatime", OPT_CLEAR, MS_RELATIME },
	{ "strictatime", OPT_FLAG, MS_STRICTATIME },
	{ "nostrictatime", OPT_CLEAR, MS_STRICTATIME },
	{ "lazytime", OPT_FLAG, MS_LAZYTIME },
	{ "nolazytime", OPT_CLEAR, MS_LAZYTIME },
	{ "iversion", OPT_FLAG, MS_I_VERSION },
	{ "noiversion", OPT_CLEAR, MS_I_VERSION },
	{ "nosymfollow", OPT_FLAG, MS_NOSYMFOLLOW },
	{ "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW },
	{ "silent", OPT_FLAG, MS_SILENT },
	{ "loud", OPT_CLEAR, MS_SILENT },
	{ "bind", OPT_FLAG, MS_BIND },
	{ "rbind", OPT_FLAG, MS_BIND | MS_REC },
	{ "private", OPT_PROPAGATION, MS_PRIVATE },
	{ "rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC },
	{ "shared", OPT_PROPAGATION, MS_SHARED },
	{ "rshared", OPT_PROPAGATION, MS_SHARED | MS_REC },
	{ "slave", OPT_PROPAGATION, MS_SLAVE },
	{ "rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC },
	{ "unbindable", OPT_PROPAGATION, MS_UNBINDABLE },
	{ "runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC },
	{ "rro", OPT_ATTR_SET, MOUNT_ATTR_RDONLY },
	{ "rrw", OPT_ATTR_CLR, MOUNT_ATTR_RDONLY },
	{ "rnosuid", OPT_ATTR_SET, MOUNT_ATTR_NOSUID },
	{ "rsuid", OPT_ATTR_CLR, MOUNT_ATTR_NOSUID },
	{ "rnodev", OPT_ATTR_SET, MOUNT_ATTR_NODEV },
	{ "rdev", OPT_ATTR_CLR, MOUNT_ATTR_NODEV },
	{ "rnoexec", OPT_ATTR_SET, MOUNT_ATTR_NOEXEC },
	{ "rexec", OPT_ATTR_CLR, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", OPT_ATTR_SET, MOUNT_ATTR_NODIRATIME },
	{ "rdiratime", OPT_ATTR_CLR, MOUNT_ATTR_NODIRATIME },
	{ "rrelatime", OPT_ATTR_SET, MOUNT_ATTR_RELATIME },
	{ "rnorelatime", OPT_ATTR_CLR, MOUNT_ATTR_RELATIME },
	{ "rnoatime", OPT_ATTR_SET, MOUNT_ATTR_NOATIME },
	{ "ratime", OPT_ATTR_CLR, MOUNT_ATTR_NOATIME },
	{ "rstrictatime", OPT_ATTR_SET, MOUNT_ATTR_STRICTATIME },
	{ "rnostrictatime", OPT_ATTR_CLR, MOUNT_ATTR_STRICTATIME },
	{ "rnosymfollow", OPT_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW },
	{ "rsymfollow", OPT_ATTR_CLR, MOUNT_ATTR_NOSYMFOLLOW },
	{ "tmpcopyup", OPT_SPECIAL, 1 },
	{ "idmap", OPT_SPECIAL, 2 },
	{ "ridmap", OPT_SPECIAL, 3 },
};

static const struct opt *lookup(const char *name)
{
	for (size_t i = 0; i < SK_ELEMENTSOF(opts); i++)
		if (!strcmp(opts[i].name, name))
			return &opts[i];
	return NULL;
}

int sk_mountopt_propagation(const char *name, unsigned long *ret)
{
	const struct opt *o = lookup(name);

	if (!o || o->kind != OPT_PROPAGATION)
		return -EINVAL;
	*ret = (unsigned long)o->value;
	return 0;
}

static void data_append(char **data, const char *s)
{
	if (!*data) {
		*data = sk_strdup(s);
		return;
	}
	char *n = sk_asprintf("%s,%s", *data, s);
	free(*data);
	*data = n;
}

int sk_mountopt_parse(char *const *options, struct sk_mountopt *ret, struct sk_error **err)
{
	struct sk_mountopt o = { 0 };

	for (size_t i = 0; options && options[i]; i++) {
		const struct opt *d = lookup(options[i]);

		if (!d) {
			data_append(&o.data, options[i]);
			continue;
		}
		switch (d->kind) {
		case OPT_FLAG:
			o.flags |= d->value;
			o.clear &= ~d->value;
			break;
		case OPT_CLEAR:
			o.flags &= ~d->value;
			o.clear |= d->value;
			break;
		case OPT_PROPAGATION:
			o.propagation = d->value;
			break;
		case OPT_ATTR_SET:
			o.attr_set |= d->value;
			o.attr_clr &= ~d->value;
			break;
		case OPT_ATTR_CLR:
			o.attr_clr |= d->value;
			o.attr_set &= ~d->value;
			break;
		case OPT_SPECIAL:
			if (d->value == 1)
				o.tmpcopyup = true;
			else if (d->value == 2)
				o.idmap = true;
			else
				o.ridmap = true;
			break;
		}
	}
	*ret = o;
	return 0;
}

void sk_mountopt_release(struct sk_mountopt *o)
{
	free(o->data);
	o->data = NULL;
}

size_t sk_mountopt_count(void)
{
	return SK_ELEMENTSOF(opts);
}

const char *sk_mountopt_name(size_t i)
{
	return i < SK_ELEMENTSOF(opts) ? opts[i].name : NULL;
}
