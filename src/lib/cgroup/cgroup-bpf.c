/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup-bpf.c - the cgroup v2 device controller: an eBPF program per cgroup.
 *
 * cgroup v2 has no devices.allow; the kernel asks a BPF_PROG_TYPE_CGROUP_DEVICE
 * program instead.  This file assembles that program by hand from the OCI
 * device rules (no compiler, no libbpf), loads it with bpf(BPF_PROG_LOAD) and
 * attaches it with BPF_F_ALLOW_MULTI.  Semantics are those of v1 and of
 * runc/crun's device filter: default deny, and for each access bit (r, w, m)
 * the last rule in list order that matches the device decides.
 *
 * Replacing on update: every program skiff loads is named "skiff_devices".
 * Before attaching a new one we list the programs attached directly to the
 * cgroup (BPF_PROG_QUERY), attach the new one, then detach the old ones with
 * our name.  Between the two steps both run and both must allow, so the
 * cgroup is never without a filter.  Programs others attached are left alone.
 */
#include "cgroup-internal.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>

#include "base/util.h"

#define SK_BPF_PROG_NAME "skiff_devices"
#define SK_BPF_MAX_ATTACHED 64

struct prog {
	struct bpf_insn *insn;
	size_t n;
};

static void emit(struct prog *p, struct bpf_insn i)
{
	p->insn = sk_realloc(p->insn, sizeof(*p->insn) * (p->n + 1));
	p->insn[p->n++] = i;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
}

#define LDX_W(dst, src, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU_K(op, dst, imm) insn(BPF_ALU64 | (op) | BPF_K, dst, 0, 0, imm)
#define MOV_X(dst, src) insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define JMP_K(op, dst, imm, off) insn(BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers after the prologue: R2 device type, R3 access bits not yet decided,
 * R4 major, R5 minor.  R1 is scratch. */
static void emit_prologue(struct prog *p)
{
	emit(p, LDX_W(BPF_REG_2, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type)));
	emit(p, ALU_K(BPF_AND, BPF_REG_2, 0xffff));
	emit(p, LDX_W(BPF_REG_3, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type)));
	emit(p, ALU_K(BPF_RSH, BPF_REG_3, 16));
	emit(p, LDX_W(BPF_REG_4, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, major)));
	emit(p, LDX_W(BPF_REG_5, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, minor)));
}

static int32_t access_bits(const char *access)
{
	int32_t a = 0;

	if (!*access)
		access = "rwm";
	for (; *access; access++)
		a |= *access == 'r'   ? BPF_DEVCG_ACC_READ
		     : *access == 'w' ? BPF_DEVCG_ACC_WRITE
		     : *access == 'm' ? BPF_DEVCG_ACC_MKNOD
				      : 0;
	return a;
}

/*
 * One rule, visited last-to-first.  Jumps marked off = -1 go to the next
 * rule and are patched once the block's length is known.
 */
static void emit_rule(struct prog *p, const struct sk_device_rule *d)
{
	size_t start = p->n;
	int32_t acc = access_bits(d->access);

	if (d->type == 'b' || d->type == 'c')
		emit(p, JMP_K(BPF_JNE, BPF_REG_2,
			      d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, -1));
	if (d->type != 'a' && d->major >= 0)
		emit(p, JMP_K(BPF_JNE, BPF_REG_4, (int32_t)d->major, -1));
	if (d->type != 'a' && d->minor >= 0)
		emit(p, JMP_K(BPF_JNE, BPF_REG_5, (int32_t)d->minor, -1));
	emit(p, MOV_X(BPF_REG_1, BPF_REG_3));
	emit(p, ALU_K(BPF_AND, BPF_REG_1, acc));
	emit(p, JMP_K(BPF_JEQ, BPF_REG_1, 0, -1)); /* no undecided bit here */
	if (!d->allow) {
		/* an undecided bit is denied by the last rule that names it */
		emit(p, ALU_K(BPF_MOV, BPF_REG_0, 0));
		emit(p, EXIT());
	} else {
		emit(p, ALU_K(BPF_AND, BPF_REG_3, ~acc));
		emit(p, JMP_K(BPF_JNE, BPF_REG_3, 0, 2));
		emit(p, ALU_K(BPF_MOV, BPF_REG_0, 1));
		emit(p, EXIT());
	}
	for (size_t i = start; i < p->n; i++)
		if (BPF_CLASS(p->insn[i].code) == BPF_JMP && p->insn[i].off == -1)
			p->insn[i].off = (int16_t)(p->n - i - 1);
}

/* The whole program: prologue, rules last-to-first, default deny. */
static void assemble(struct prog *p, const struct sk_device_rule *rules, size_t n)
{
	emit_prologue(p);
	for (size_t i = n; i-- > 0;)
		emit_rule(p, &rules[i]);
	emit(p, ALU_K(BPF_MOV, BPF_REG_0, 0));
	emit(p, EXIT());
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct prog *p, struct sk_error **err)
{
	_cleanup_free_ char *log = NULL;
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)p->insn;
	a.insn_cnt = (uint32_t)p->n;
	a.license = (uint64_t)(uintptr_t) "Apache-2.0";
	memcpy(a.prog_name, SK_BPF_PROG_NAME, sizeof(SK_BPF_PROG_NAME));
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0 || errno != EINVAL)
		return fd >= 0 ? fd : sk_error_errno(err, "load device program");
	/* Rejected: load again with the verifier log so the error says why. */
	log = sk_malloc0(4096);
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = 4096;
	a.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	return sk_error_errno(err, "load device program (%.200s)", log);
}

/* Ids of the programs attached directly to the cgroup that skiff loaded. */
static int ours_attached(int cgfd, uint32_t *ids, uint32_t *n, struct sk_error **err)
{
	uint32_t all[SK_BPF_MAX_ATTACHED], w = 0;
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)cgfd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uint64_t)(uintptr_t)all;
	a.query.prog_cnt = SK_BPF_MAX_ATTACHED;
	if (sys_bpf(BPF_PROG_QUERY, &a) < 0)
		return sk_error_errno(err, "query device programs");
	for (uint32_t i = 0; i < a.query.prog_cnt && i < SK_BPF_MAX_ATTACHED; i++) {
		struct bpf_prog_info info;
		union bpf_attr g;
		memset(&g, 0, sizeof(g));
		g.prog_id = all[i];
		_cleanup_close_ int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
		if (fd < 0)
			continue; /* detached meanwhile */
		memset(&info, 0, sizeof(info));
		memset(&g, 0, sizeof(g));
		g.info.bpf_fd = (uint32_t)fd;
		g.info.info_len = sizeof(info);
		g.info.info = (uint64_t)(uintptr_t)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &g) == 0 &&
		    !strcmp(info.name, SK_BPF_PROG_NAME))
			ids[w++] = all[i];
	}
	*n = w;
	return 0;
}

static int prog_attach(int cgfd, int progfd, int cmd)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)progfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = cmd == BPF_PROG_ATTACH ? BPF_F_ALLOW_MULTI : 0;
	return sys_bpf(cmd, &a);
}

static int detach_ids(int cgfd, const uint32_t *ids, uint32_t n, struct sk_error **err)
{
	for (uint32_t i = 0; i < n; i++) {
		union bpf_attr g;
		memset(&g, 0, sizeof(g));
		g.prog_id = ids[i];
		_cleanup_close_ int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
		if (fd < 0)
			continue;
		if (prog_attach(cgfd, fd, BPF_PROG_DETACH) < 0 && errno != ENOENT)
			return sk_error_errno(err, "detach old device program %u", ids[i]);
	}
	return 0;
}

int sk_cgroup_bpf_devices(const char *dir, const struct sk_device_rule *rules, size_t n,
			  struct sk_error **err)
{
	_cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int progfd = -1;
	_cleanup_free_ struct bpf_insn *insns = NULL;
	uint32_t old[SK_BPF_MAX_ATTACHED], n_old = 0;
	struct prog p = { 0 };
	int r;

	if (cgfd < 0)
		return sk_error_errno(err, "open '%s'", dir);
	assemble(&p, rules, n);
	insns = p.insn;
	progfd = prog_load(&p, err);
	if (progfd < 0)
		return progfd;
	r = ours_attached(cgfd, old, &n_old, err);
	if (r < 0)
		return r;
	if (prog_attach(cgfd, progfd, BPF_PROG_ATTACH) < 0)
		return sk_error_errno(err, "attach device program to '%s'", dir);
	/* The attached program lives as long as the cgroup; our fd can close. */
	return detach_ids(cgfd, old, n_old, err);
}
