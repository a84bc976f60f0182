/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-spec.c - the OCI runtime-spec parser (src/lib/oci/spec*.c, names.c):
 * a full config.json into structs, the default and features documents,
 * the name tables, and one exact error message per kind of invalid field.
 *
 * JSON in this file is written with single quotes for readability; q()
 * turns them into double quotes (and backquotes into single quotes) before
 * parsing or comparing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "oci/spec.h"

/* A copy of s with every ' turned into " and every ` into '. */
static char *q(const char *s)
{
	char *c = sk_strdup(s);

	for (char *p = c; *p; p++) {
		if (*p == '\'')
			*p = '"';
		else if (*p == '`')
			*p = '\'';
	}
	return c;
}

static struct sk_spec *parse_ok(const char *json_sq)
{
	_cleanup_free_ char *json = q(json_sq);
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_spec *s = NULL;
	int r = sk_spec_parse(json, strlen(json), "config.json", &s, &err);

	if (r < 0)
		fail_msg("unexpected error: %s\nfor: %s", err ? err->msg : "(none)", json);
	assert_non_null(s);
	return s;
}

enum doc_kind { DOC_SPEC, DOC_PROCESS, DOC_RESOURCES };

/* Parses json and returns 1 unless it fails with exactly the message `want`. */
static int check_error(enum doc_kind kind, const char *json_sq, const char *want_sq)
{
	_cleanup_free_ char *json = q(json_sq), *want = q(want_sq);
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_spec *s = NULL;
	struct sk_process *p = NULL;
	struct sk_resources *res = NULL;
	int r;

	if (kind == DOC_SPEC)
		r = sk_spec_parse(json, strlen(json), "config.json", &s, &err);
	else if (kind == DOC_PROCESS)
		r = sk_spec_parse_process(json, strlen(json), "process.json", &p, &err);
	else
		r = sk_spec_parse_resources(json, strlen(json), "resources.json", &res, &err);
	if (r < 0 && err && strcmp(err->msg, want) == 0 && !s && !p && !res)
		return 0;
	print_error("input: %s\n  got: %s (r=%d)\n want: %s\n", json, err ? err->msg : "(no error)",
		    r, want);
	sk_spec_free(s);
	sk_process_free(p);
	sk_resources_free(res);
	return 1;
}

struct error_case {
	const char *json, *msg;
};

static void run_cases(enum doc_kind kind, const struct error_case *c, size_t n)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++)
		failed += check_error(kind, c[i].json, c[i].msg);
	assert_int_equal(failed, 0);
}

/* A minimal valid document with `frag` (which starts with a comma) added. */
#define DOC(frag) "{'ociVersion':'1.2.0','root':{'path':'rootfs'}" frag "}"
#define PROC(frag) DOC(",'process':{'args':['sh'],'cwd':'/'" frag "}")
#define LINUX(frag) DOC(",'linux':{" frag "}")
#define RES(frag) LINUX("'resources':{" frag "}")

static const char full_config[] =
    "{'ociVersion':'1.1.0','root':{'path':'/var/lib/x/rootfs','readonly':true},"
    "'hostname':'web','domainname':'example.org',"
    "'process':{'terminal':true,'consoleSize':{'height':24,'width':80},"
    " 'user':{'uid':1000,'gid':100,'umask':18,'additionalGids':[5,6],'username':'u'},"
    " 'args':['/bin/app','--flag'],'env':['A=1','B=2'],'cwd':'/srv',"
    " 'capabilities':{'bounding':['CAP_KILL','CAP_SYS_ADMIN'],'effective':['CAP_KILL'],"
    "  'permitted':[],'ambient':['CAP_CHECKPOINT_RESTORE']},"
    " 'rlimits':[{'type':'RLIMIT_NOFILE','soft':1024,'hard':4096},"
    "  {'type':'RLIMIT_CORE','soft':0,'hard':0}],"
    " 'noNewPrivileges':true,'apparmorProfile':'prof','selinuxLabel':'lbl',"
    " 'oomScoreAdj':-500,'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':4},"
    " 'scheduler':{'policy':'SCHED_DEADLINE','nice':-5,'priority':3,"
    "  'flags':['SCHED_FLAG_RESET_ON_FORK'],'runtime':100,'deadline':200,'period':300},"
    " 'execCPUAffinity':{'initial':'0-3','final':'1'},'unknownField':{'x':[1,2]}},"
    "'mounts':[{'destination':'/proc','type':'proc','source':'proc'},"
    " {'destination':'/data','source':'/host/data','options':['rbind','ro','idmap'],"
    "  'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
    "  'gidMappings':[{'containerID':0,'hostID':200000,'size':1}]}],"
    "'hooks':{'prestart':[{'path':'/bin/pre'}],"
    " 'createRuntime':[{'path':'/bin/cr','args':['cr','x'],'env':['E=1'],'timeout':5}],"
    " 'poststop':[{'path':'/bin/a'},{'path':'/bin/b'}]},"
    "'annotations':{'org.example.a':'1','b':''},"
    "'linux':{'namespaces':[{'type':'pid'},{'type':'network','path':'/run/netns/x'},"
    "  {'type':'mount'},{'type':'user'},{'type':'time'},{'type':'cgroup','path':''}],"
    " 'uidMappings':[{'containerID':0,'hostID':1000,'size':1}],"
    " 'gidMappings':[{'containerID':0,'hostID':1000,'size':1},"
    "  {'containerID':1,'hostID':100000,'size':65536}],"
    " 'timeOffsets':{'monotonic':{'secs':-3,'nanosecs':500},'boottime':{'secs':7}},"
    " 'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,'fileMode':438,"
    "  'uid':0,'gid':0},{'path':'/dev/fifo','type':'p'}],"
    " 'cgroupsPath':'/skiff/web',"
    " 'resources':{'devices':[{'allow':false,'access':'rwm'},"
    "   {'allow':true,'type':'c','major':10,'minor':229,'access':'mr'},"
    "   {'allow':true,'type':'b','major':8}],"
    "  'memory':{'limit':536870912,'reservation':-1,'swap':-1,'swappiness':10,"
    "   'disableOOMKiller':false,'checkBeforeUpdate':true},"
    "  'cpu':{'shares':512,'quota':-1,'period':100000,'burst':1000,'cpus':'0-1','mems':'0',"
    "   'idle':1,'realtimeRuntime':-1},"
    "  'pids':{'limit':64},"
    "  'blockIO':{'weight':500,'weightDevice':[{'major':8,'minor':0,'weight':100}],"
    "   'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':1048576}],"
    "   'throttleWriteIOPSDevice':[{'major':8,'minor':16,'rate':100}]},"
    "  'hugepageLimits':[{'pageSize':'2MB','limit':0}],"
    "  'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':1}]},"
    "  'rdma':{'mlx5_1':{'hcaHandles':3}},"
    "  'unified':{'memory.high':'1G','io.weight':'default 100'}},"
    " 'rootfsPropagation':'rslave',"
    " 'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
    "  'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86'],'flags':['SECCOMP_FILTER_FLAG_LOG'],"
    "  'listenerPath':'/run/seccomp.sock','listenerMetadata':'m',"
    "  'syscalls':[{'names':['read','write'],'action':'SCMP_ACT_ALLOW'},"
    "   {'names':['personality'],'action':'SCMP_ACT_ALLOW','args':["
    "    {'index':0,'value':8,'op':'SCMP_CMP_EQ'},"
    "    {'index':1,'value':255,'valueTwo':4,'op':'SCMP_CMP_MASKED_EQ'}]},"
    "   {'names':['mkdir'],'action':'SCMP_ACT_ERRNO','errnoRet':38},"
    "   {'names':['mount'],'action':'SCMP_ACT_NOTIFY'}]},"
    " 'sysctl':{'net.ipv4.ip_forward':'1'},"
    " 'maskedPaths':['/proc/kcore'],'readonlyPaths':['/proc/sys','/proc/bus'],"
    " 'mountLabel':'ml','personality':{'domain':'LINUX32','flags':[]},"
    " 'intelRdt':{'closID':'x'},'netDevices':{'eth0':{}}}}";

static void check_full_process(const struct sk_process *p)
{
	assert_true(p->terminal);
	assert_true(p->has_console_size);
	assert_int_equal(p->console_height, 24);
	assert_int_equal(p->console_width, 80);
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 100);
	assert_true(p->user.has_umask);
	assert_int_equal(p->user.umask, 022);
	assert_int_equal(p->user.n_additional_gids, 2);
	assert_int_equal(p->user.additional_gids[1], 6);
	assert_string_equal(p->user.username, "u");
	assert_string_equal(p->args[0], "/bin/app");
	assert_string_equal(p->args[1], "--flag");
	assert_null(p->args[2]);
	assert_string_equal(p->env[1], "B=2");
	assert_string_equal(p->cwd, "/srv");
	assert_true(p->has_caps);
	assert_true(p->caps.has_bounding && p->caps.has_effective && p->caps.has_permitted);
	assert_false(p->caps.has_inheritable);
	assert_true(p->caps.bounding == ((1ull << 5) | (1ull << 21)));
	assert_true(p->caps.effective == (1ull << 5));
	assert_true(p->caps.permitted == 0);
	assert_true(p->caps.ambient == (1ull << 40));
	assert_int_equal(p->n_rlimits, 2);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(p->rlimits[0].soft, 1024);
	assert_int_equal(p->rlimits[0].hard, 4096);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
	assert_true(p->no_new_privileges);
	assert_string_equal(p->apparmor_profile, "prof");
	assert_string_equal(p->selinux_label, "lbl");
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, -500);
	assert_true(p->has_io_priority);
	assert_int_equal(p->io_priority_class, IOPRIO_CLASS_BE);
	assert_int_equal(p->io_priority, 4);
	assert_true(p->has_scheduler);
	assert_string_equal(p->sched_policy, "SCHED_DEADLINE");
	assert_int_equal(p->sched_nice, -5);
	assert_int_equal(p->sched_priority, 3);
	assert_string_equal(p->sched_flags[0], "SCHED_FLAG_RESET_ON_FORK");
	assert_int_equal(p->sched_runtime, 100);
	assert_int_equal(p->sched_deadline, 200);
	assert_int_equal(p->sched_period, 300);
	assert_string_equal(p->exec_cpu_affinity_initial, "0-3");
	assert_string_equal(p->exec_cpu_affinity_final, "1");
}

static void check_full_top(const struct sk_spec *s)
{
	assert_string_equal(s->oci_version, "1.1.0");
	assert_string_equal(s->root_path, "/var/lib/x/rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "web");
	assert_string_equal(s->domainname, "example.org");
	assert_int_equal(s->n_mounts, 2);
	assert_string_equal(s->mounts[0].destination, "/proc");
	assert_string_equal(s->mounts[0].type, "proc");
	assert_null(s->mounts[0].options);
	assert_null(s->mounts[1].type);
	assert_string_equal(s->mounts[1].source, "/host/data");
	assert_string_equal(s->mounts[1].options[2], "idmap");
	assert_int_equal(s->mounts[1].n_uid_mappings, 1);
	assert_int_equal(s->mounts[1].uid_mappings[0].host_id, 100000);
	assert_int_equal(s->mounts[1].uid_mappings[0].size, 65536);
	assert_int_equal(s->mounts[1].gid_mappings[0].host_id, 200000);
	assert_int_equal(s->n_hooks[SK_HOOK_PRESTART], 1);
	assert_false(s->hooks[SK_HOOK_PRESTART][0].has_timeout);
	assert_int_equal(s->n_hooks[SK_HOOK_CREATE_RUNTIME], 1);
	assert_string_equal(s->hooks[SK_HOOK_CREATE_RUNTIME][0].args[1], "x");
	assert_string_equal(s->hooks[SK_HOOK_CREATE_RUNTIME][0].env[0], "E=1");
	assert_true(s->hooks[SK_HOOK_CREATE_RUNTIME][0].has_timeout);
	assert_int_equal(s->hooks[SK_HOOK_CREATE_RUNTIME][0].timeout, 5);
	assert_int_equal(s->n_hooks[SK_HOOK_CREATE_CONTAINER], 0);
	assert_int_equal(s->n_hooks[SK_HOOK_POSTSTOP], 2);
	assert_string_equal(s->hooks[SK_HOOK_POSTSTOP][1].path, "/bin/b");
	assert_int_equal(s->n_annotations, 2);
	assert_string_equal(s->annotations[0].key, "org.example.a");
	assert_string_equal(s->annotations[1].value, "");
}

static void check_full_linux(const struct sk_linux *l)
{
	assert_int_equal(l->n_namespaces, 6);
	assert_int_equal(l->namespaces[1].type, SK_NS_NET);
	assert_string_equal(l->namespaces[1].path, "/run/netns/x");
	assert_int_equal(l->namespaces[4].type, SK_NS_TIME);
	assert_null(l->namespaces[5].path); /* "" means a new namespace */
	assert_int_equal(l->n_uid_mappings, 1);
	assert_int_equal(l->n_gid_mappings, 2);
	assert_int_equal(l->gid_mappings[1].container_id, 1);
	assert_int_equal(l->n_time_offsets, 2);
	assert_string_equal(l->time_offsets[0].key, "monotonic");
	assert_string_equal(l->time_offsets[0].value, "-3 500");
	assert_string_equal(l->time_offsets[1].value, "7 0");
	assert_int_equal(l->n_devices, 2);
	assert_int_equal(l->devices[0].type, 'c');
	assert_int_equal(l->devices[0].major, 10);
	assert_int_equal(l->devices[0].minor, 229);
	assert_true(l->devices[0].has_file_mode);
	assert_int_equal(l->devices[0].file_mode, 0666);
	assert_int_equal(l->devices[1].type, 'p');
	assert_false(l->devices[1].has_uid);
	assert_string_equal(l->cgroups_path, "/skiff/web");
	assert_string_equal(l->rootfs_propagation, "rslave");
	assert_int_equal(l->n_sysctl, 1);
	assert_string_equal(l->sysctl[0].key, "net.ipv4.ip_forward");
	assert_string_equal(l->masked_paths[0], "/proc/kcore");
	assert_string_equal(l->readonly_paths[1], "/proc/bus");
	assert_string_equal(l->mount_label, "ml");
	assert_string_equal(l->personality->domain, "LINUX32");
	assert_null(l->personality->flags[0]);
}

static void check_full_resources(const struct sk_resources *r)
{
	assert_int_equal(r->n_devices, 3);
	assert_false(r->devices[0].allow);
	assert_int_equal(r->devices[0].type, 'a');
	assert_int_equal(r->devices[0].major, -1);
	assert_int_equal(r->devices[0].minor, -1);
	assert_string_equal(r->devices[0].access, "rwm");
	assert_string_equal(r->devices[1].access, "rm");
	assert_int_equal(r->devices[2].type, 'b');
	assert_int_equal(r->devices[2].major, 8);
	assert_int_equal(r->devices[2].minor, -1);
	assert_string_equal(r->devices[2].access, "rwm");
	assert_true(r->memory.has_limit);
	assert_int_equal(r->memory.limit, 536870912);
	assert_int_equal(r->memory.reservation, -1);
	assert_int_equal(r->memory.swap, -1);
	assert_false(r->memory.has_kernel);
	assert_int_equal(r->memory.swappiness, 10);
	assert_true(r->memory.has_disable_oom_killer);
	assert_true(r->memory.check_before_update);
	assert_int_equal(r->cpu.shares, 512);
	assert_int_equal(r->cpu.quota, -1);
	assert_int_equal(r->cpu.period, 100000);
	assert_int_equal(r->cpu.burst, 1000);
	assert_string_equal(r->cpu.cpus, "0-1");
	assert_int_equal(r->cpu.idle, 1);
	assert_int_equal(r->cpu.realtime_runtime, -1);
	assert_false(r->cpu.has_realtime_period);
	assert_int_equal(r->pids.limit, 64);
	assert_int_equal(r->blkio.weight, 500);
	assert_false(r->blkio.has_leaf_weight);
	assert_int_equal(r->blkio.weight_devices[0].weight, 100);
	assert_int_equal(r->blkio.n_read_bps, 1);
	assert_int_equal(r->blkio.read_bps[0].rate, 1048576);
	assert_int_equal(r->blkio.n_write_iops, 1);
	assert_int_equal(r->blkio.write_iops[0].minor, 16);
	assert_int_equal(r->n_hugepage_limits, 1);
	assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
	assert_int_equal(r->network.class_id, 1048577);
	assert_int_equal(r->n_unified, 2);
	assert_string_equal(r->unified[1].value, "default 100");
}

static void check_full_seccomp(const struct sk_seccomp *sc)
{
	assert_string_equal(sc->default_action, "SCMP_ACT_ERRNO");
	assert_true(sc->has_default_errno_ret);
	assert_int_equal(sc->default_errno_ret, 1);
	assert_string_equal(sc->architectures[1], "SCMP_ARCH_X86");
	assert_string_equal(sc->flags[0], "SECCOMP_FILTER_FLAG_LOG");
	assert_string_equal(sc->listener_path, "/run/seccomp.sock");
	assert_string_equal(sc->listener_metadata, "m");
	assert_int_equal(sc->n_syscalls, 4);
	assert_string_equal(sc->syscalls[0].names[1], "write");
	assert_int_equal(sc->syscalls[1].n_args, 2);
	assert_int_equal(sc->syscalls[1].args[1].index, 1);
	assert_int_equal(sc->syscalls[1].args[1].value, 255);
	assert_int_equal(sc->syscalls[1].args[1].value_two, 4);
	assert_string_equal(sc->syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");
	assert_true(sc->syscalls[2].has_errno_ret);
	assert_int_equal(sc->syscalls[2].errno_ret, 38);
	assert_false(sc->syscalls[0].has_errno_ret);
}

static void test_parse_full(void **state)
{
	_cleanup_(sk_spec_freep) struct sk_spec *s = parse_ok(full_config);

	check_full_top(s);
	assert_non_null(s->process);
	check_full_process(s->process);
	assert_non_null(s->linux_);
	check_full_linux(s->linux_);
	assert_true(s->linux_->has_resources);
	check_full_resources(&s->linux_->resources);
	assert_non_null(s->linux_->seccomp);
	check_full_seccomp(s->linux_->seccomp);
	assert_ptr_equal(sk_spec_namespace(s, SK_NS_USER), &s->linux_->namespaces[3]);
	assert_null(sk_spec_namespace(s, SK_NS_IPC));
}

static void test_parse_minimal(void **state)
{
	_cleanup_(sk_spec_freep) struct sk_spec *s = parse_ok(DOC(""));

	assert_string_equal(s->root_path, "rootfs");
	assert_false(s->root_readonly);
	assert_null(s->process);
	assert_null(s->linux_);
	assert_null(s->hostname);
	assert_int_equal(s->n_mounts, 0);
	assert_null(sk_spec_namespace(s, SK_NS_PID));
}

static void test_parse_nulls_are_unset(void **state)
{
	_cleanup_(sk_spec_freep) struct sk_spec *s = parse_ok(
	    DOC(",'hostname':null,'mounts':null,'process':{'args':['sh'],'cwd':'/',"
		"'env':null,'user':{'uid':null,'umask':null},'capabilities':null},"
		"'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','architectures':null},"
		"'resources':{'memory':{'limit':null}},'rootfsPropagation':''}"));

	assert_null(s->hostname);
	assert_null(s->process->env);
	assert_false(s->process->user.has_umask);
	assert_false(s->process->has_caps);
	assert_null(s->linux_->seccomp->architectures);
	assert_false(s->linux_->resources.memory.has_limit);
	assert_null(s->linux_->rootfs_propagation);
}

static void test_versions(void **state)
{
	static const char *const good[] = { "1.0.0", "1.0.2", "1.0.2-dev", "1.1.0-rc.1", "1.1.0",
					    "1.2.0", "1.2.1", "1.2.0+dev", "1.0.0-rc5" };
	static const char *const bad[] = { "2.0.0", "0.5.0",  "1.3.0", "1.0",  "1.0.0x",
					   "",	    "v1.0.0", "1..0",  "1.2.", "11.0.0" };

	for (size_t i = 0; i < SK_ELEMENTSOF(good); i++) {
		_cleanup_free_ char *doc =
		    sk_asprintf("{'ociVersion':'%s','root':{'path':'r'}}", good[i]);
		_cleanup_(sk_spec_freep) struct sk_spec *s = parse_ok(doc);

		assert_string_equal(s->oci_version, good[i]);
	}
	for (size_t i = 0; i < SK_ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *doc =
		    sk_asprintf("{'ociVersion':'%s','root':{'path':'r'}}", bad[i]);
		_cleanup_free_ char *msg =
		    sk_asprintf("config.json: ociVersion: unsupported version '%s'", bad[i]);

		assert_int_equal(check_error(DOC_SPEC, doc, msg), 0);
	}
}

static const struct error_case top_cases[] = {
	{ "", "config.json: line 1 column 0: `[` or `{` expected near end of file" },
	{ "[1]", "config.json: expected a JSON object, got array" },
	{ "{'root':{'path':'r'}}", "config.json: ociVersion: required field is missing" },
	{ "{'ociVersion':1,'root':{'path':'r'}}",
	  "config.json: ociVersion: expected string, got integer" },
	{ "{'ociVersion':'2.0.0'}", "config.json: ociVersion: unsupported version '2.0.0'" },
	{ "{'ociVersion':'1.0.0'}", "config.json: root: required field is missing" },
	{ "{'ociVersion':'1.0.0','root':[]}", "config.json: root: expected object, got array" },
	{ "{'ociVersion':'1.0.0','root':{}}", "config.json: root.path: required field is missing" },
	{ "{'ociVersion':'1.0.0','root':{'path':''}}",
	  "config.json: root.path: must not be empty" },
	{ DOC(",'root':{'path':'r','readonly':'yes'}"),
	  "config.json: root.readonly: expected boolean, got string" },
	{ DOC(",'hostname':5"), "config.json: hostname: expected string, got integer" },
	{ DOC(",'process':[]"), "config.json: process: expected object, got array" },
	{ DOC(",'linux':true"), "config.json: linux: expected object, got boolean" },
	{ DOC(",'annotations':{'a':1}"),
	  "config.json: annotations.a: expected string, got integer" },
	{ DOC(",'annotations':{'':'x'}"), "config.json: annotations: empty key" },
	{ DOC(",'annotations':[]"), "config.json: annotations: expected object, got array" },
	{ DOC(",'mounts':{}"), "config.json: mounts: expected array, got object" },
	{ DOC(",'mounts':[{'destination':'/a'},5]"),
	  "config.json: mounts[1]: expected object, got integer" },
	{ DOC(",'mounts':[{'type':'tmpfs'}]"),
	  "config.json: mounts[0].destination: required field is missing" },
	{ DOC(",'mounts':[{'destination':'tmp'}]"),
	  "config.json: mounts[0].destination: 'tmp' is not an absolute path" },
	{ DOC(",'mounts':[{'destination':'/a','options':['ro',1]}]"),
	  "config.json: mounts[0].options[1]: expected string, got integer" },
	{ DOC(",'mounts':[{'destination':'/"
	      "a','uidMappings':[{'containerID':0,'hostID':-1,'size':1}]}]"),
	  "config.json: mounts[0].uidMappings[0].hostID: must not be negative (got -1)" },
	{ DOC(",'mounts':[{'destination':'/a','gidMappings':[{'containerID':0,'hostID':1}]}]"),
	  "config.json: mounts[0].gidMappings[0].size: required field is missing" },
	{ DOC(",'hooks':{'prestart':[{'args':['x']}]}"),
	  "config.json: hooks.prestart[0].path: required field is missing" },
	{ DOC(",'hooks':{'poststart':[{'path':'hook'}]}"),
	  "config.json: hooks.poststart[0].path: 'hook' is not an absolute path" },
	{ DOC(",'hooks':{'createContainer':[{'path':'/h','timeout':0}]}"),
	  "config.json: hooks.createContainer[0].timeout: must be greater than zero (got 0)" },
	{ DOC(",'hooks':{'startContainer':[{'path':'/h','timeout':-3}]}"),
	  "config.json: hooks.startContainer[0].timeout: must be greater than zero (got -3)" },
	{ DOC(",'hooks':{'poststop':[{'path':'/h','timeout':1.5}]}"),
	  "config.json: hooks.poststop[0].timeout: expected integer, got number" },
	{ DOC(",'hooks':{'createRuntime':{}}"),
	  "config.json: hooks.createRuntime: expected array, got object" },
};

static void test_errors_top(void **state)
{
	run_cases(DOC_SPEC, top_cases, SK_ELEMENTSOF(top_cases));
}

static const struct error_case process_cases[] = {
	{ DOC(",'process':{'cwd':'/'}"), "config.json: process.args: required field is missing" },
	{ DOC(",'process':{'args':[],'cwd':'/'}"), "config.json: process.args: must not be empty" },
	{ DOC(",'process':{'args':'sh','cwd':'/'}"),
	  "config.json: process.args: expected array, got string" },
	{ DOC(",'process':{'args':['sh',null],'cwd':'/'}"),
	  "config.json: process.args[1]: expected string, got null" },
	{ DOC(",'process':{'args':['sh']}"),
	  "config.json: process.cwd: required field is missing" },
	{ PROC(",'cwd':'srv'"), "config.json: process.cwd: 'srv' is not an absolute path" },
	{ PROC(",'terminal':1"), "config.json: process.terminal: expected boolean, got integer" },
	{ PROC(",'env':['A=1',2]"), "config.json: process.env[1]: expected string, got integer" },
	{ PROC(",'user':{'uid':-1}"),
	  "config.json: process.user.uid: must not be negative (got -1)" },
	{ PROC(",'user':{'gid':1.0}"),
	  "config.json: process.user.gid: expected integer, got number" },
	{ PROC(",'user':{'uid':4294967296}"),
	  "config.json: process.user.uid: 4294967296 is out of range [0, 4294967295]" },
	{ PROC(",'user':{'umask':4095}"),
	  "config.json: process.user.umask: 07777 is not a valid umask" },
	{ PROC(",'user':{'additionalGids':[1,'2']}"),
	  "config.json: process.user.additionalGids[1]: expected integer, got string" },
	{ PROC(",'user':{'additionalGids':[1,-2]}"),
	  "config.json: process.user.additionalGids[1]: must not be negative (got -2)" },
	{ PROC(",'capabilities':{'bounding':['CAP_KILL','CAP_CHOWN','CAP_FOO']}"),
	  "config.json: process.capabilities.bounding[2]: unknown capability 'CAP_FOO'" },
	{ PROC(",'capabilities':{'ambient':['kill']}"),
	  "config.json: process.capabilities.ambient[0]: unknown capability 'kill'" },
	{ PROC(",'capabilities':{'effective':'CAP_KILL'}"),
	  "config.json: process.capabilities.effective: expected array, got string" },
	{ PROC(",'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]"),
	  "config.json: process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'" },
	{ PROC(",'rlimits':[{'type':'RLIMIT_NOFILE','soft':10,'hard':5}]"),
	  "config.json: process.rlimits[0]: soft limit 10 is greater than hard limit 5" },
	{ PROC(",'rlimits':[{'type':'RLIMIT_NOFILE','hard':5}]"),
	  "config.json: process.rlimits[0].soft: required field is missing" },
	{ PROC(",'rlimits':[{'type':'RLIMIT_CORE','soft':-1,'hard':5}]"),
	  "config.json: process.rlimits[0].soft: must not be negative (got -1)" },
	{ PROC(",'rlimits':[{'type':'RLIMIT_CORE','soft':1,'hard':5},{'type':'RLIMIT_CORE','soft':"
	       "1,'hard':5}]"),
	  "config.json: process.rlimits[1].type: duplicate rlimit 'RLIMIT_CORE'" },
	{ PROC(",'oomScoreAdj':1001"),
	  "config.json: process.oomScoreAdj: 1001 is out of range [-1000, 1000]" },
	{ PROC(",'ioPriority':{'class':'IOPRIO_CLASS_FOO'}"),
	  "config.json: process.ioPriority.class: unknown I/O priority class 'IOPRIO_CLASS_FOO'" },
	{ PROC(",'ioPriority':{'priority':1}"),
	  "config.json: process.ioPriority.class: required field is missing" },
	{ PROC(",'ioPriority':{'class':'IOPRIO_CLASS_RT','priority':8}"),
	  "config.json: process.ioPriority.priority: 8 is out of range [0, 7]" },
	{ PROC(",'scheduler':{'policy':'SCHED_FOO'}"),
	  "config.json: process.scheduler.policy: unknown scheduler policy 'SCHED_FOO'" },
	{ PROC(",'scheduler':{'nice':1}"),
	  "config.json: process.scheduler.policy: required field is missing" },
	{ PROC(",'scheduler':{'policy':'SCHED_OTHER','nice':20}"),
	  "config.json: process.scheduler.nice: 20 is out of range [-20, 19]" },
	{ PROC(",'scheduler':{'policy':'SCHED_OTHER','flags':['SCHED_FLAG_X']}"),
	  "config.json: process.scheduler.flags[0]: unknown scheduler flag 'SCHED_FLAG_X'" },
	{ PROC(",'scheduler':{'policy':'SCHED_DEADLINE','runtime':-5}"),
	  "config.json: process.scheduler.runtime: must not be negative (got -5)" },
	{ PROC(",'consoleSize':{'height':24}"),
	  "config.json: process.consoleSize.width: required field is missing" },
	{ PROC(",'execCPUAffinity':{'initial':3}"),
	  "config.json: process.execCPUAffinity.initial: expected string, got integer" },
};

static void test_errors_process(void **state)
{
	run_cases(DOC_SPEC, process_cases, SK_ELEMENTSOF(process_cases));
}

static const struct error_case linux_cases[] = {
	{ LINUX("'namespaces':[{'type':'pid'},{'type':'foo'}]"),
	  "config.json: linux.namespaces[1].type: unknown namespace type 'foo'" },
	{ LINUX("'namespaces':[{'type':'pid'},{'type':'ipc'},{'type':'pid','path':'/proc/1/ns/"
		"pid'}]"),
	  "config.json: linux.namespaces[2].type: duplicate namespace type 'pid'" },
	{ LINUX("'namespaces':[{'path':'/x'}]"),
	  "config.json: linux.namespaces[0].type: required field is missing" },
	{ LINUX("'namespaces':['pid']"),
	  "config.json: linux.namespaces[0]: expected object, got string" },
	{ LINUX("'uidMappings':[{'containerID':0,'hostID':1000,'size':0}]"),
	  "config.json: linux.uidMappings[0].size: must not be zero" },
	{ LINUX("'gidMappings':[{'containerID':'0','hostID':1000,'size':1}]"),
	  "config.json: linux.gidMappings[0].containerID: expected integer, got string" },
	{ LINUX("'timeOffsets':{'realtime':{'secs':1}}"),
	  "config.json: linux.timeOffsets: unknown clock 'realtime'" },
	{ LINUX("'timeOffsets':{'monotonic':{'secs':1,'nanosecs':-1}}"),
	  "config.json: linux.timeOffsets.monotonic.nanosecs: must not be negative (got -1)" },
	{ LINUX("'timeOffsets':{'boottime':5}"),
	  "config.json: linux.timeOffsets.boottime: expected object, got integer" },
	{ LINUX("'devices':[{'path':'/dev/x','type':'c','major':1}]"),
	  "config.json: linux.devices[0].minor: required field is missing" },
	{ LINUX("'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]"),
	  "config.json: linux.devices[0].type: unknown device type 'x'" },
	{ LINUX("'devices':[{'path':'dev/x','type':'c','major':1,'minor':1}]"),
	  "config.json: linux.devices[0].path: 'dev/x' is not an absolute path" },
	{ LINUX("'devices':[{'path':'/dev/x','type':'c','major':1,'minor':1,'fileMode':-1}]"),
	  "config.json: linux.devices[0].fileMode: must not be negative (got -1)" },
	{ LINUX("'cgroupsPath':7"),
	  "config.json: linux.cgroupsPath: expected string, got integer" },
	{ LINUX("'rootfsPropagation':'bogus'"),
	  "config.json: linux.rootfsPropagation: unknown propagation 'bogus'" },
	{ LINUX("'sysctl':{'net.x':1}"),
	  "config.json: linux.sysctl.net.x: expected string, got integer" },
	{ LINUX("'maskedPaths':'/proc'"),
	  "config.json: linux.maskedPaths: expected array, got string" },
	{ LINUX("'personality':{'domain':'LINUX64'}"),
	  "config.json: linux.personality.domain: unknown personality domain 'LINUX64'" },
	{ LINUX("'resources':[]"), "config.json: linux.resources: expected object, got array" },
};

static void test_errors_linux(void **state)
{
	run_cases(DOC_SPEC, linux_cases, SK_ELEMENTSOF(linux_cases));
}

static const struct error_case seccomp_cases[] = {
	{ LINUX("'seccomp':{}"),
	  "config.json: linux.seccomp.defaultAction: required field is missing" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_FOO'}"),
	  "config.json: linux.seccomp.defaultAction: unknown seccomp action 'SCMP_ACT_FOO'" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/s'}"),
	  "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
	  "action" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_Z80']}"),
	  "config.json: linux.seccomp.architectures[0]: unknown seccomp architecture "
	  "'SCMP_ARCH_Z80'" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_LOG','X'"
		"]}"),
	  "config.json: linux.seccomp.flags[1]: unknown seccomp flag 'X'" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':-1}"),
	  "config.json: linux.seccomp.defaultErrnoRet: must not be negative (got -1)" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'action':'SCMP_ACT_KILL'}"
		"]}"),
	  "config.json: linux.seccomp.syscalls[0].names: required field is missing" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':'"
		"SCMP_ACT_KILL'}]}"),
	  "config.json: linux.seccomp.syscalls[0].names: must not be empty" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'"
		"KILL'}]}"),
	  "config.json: linux.seccomp.syscalls[0].action: unknown seccomp action 'KILL'" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],'action':'"
		"SCMP_ACT_NOTIFY'}]}"),
	  "config.json: linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY requires "
	  "linux.seccomp.listenerPath" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],"
		"'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':1,'op':'SCMP_CMP_XX'}]}]}"),
	  "config.json: linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "
	  "'SCMP_CMP_XX'" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],"
		"'action':'SCMP_ACT_ERRNO','args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}"),
	  "config.json: linux.seccomp.syscalls[0].args[0].index: 6 is out of range [0, 5]" },
	{ LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a'],"
		"'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':-1,'op':'SCMP_CMP_EQ'}]}]}"),
	  "config.json: linux.seccomp.syscalls[0].args[0].value: must not be negative (got -1)" },
};

static void test_errors_seccomp(void **state)
{
	run_cases(DOC_SPEC, seccomp_cases, SK_ELEMENTSOF(seccomp_cases));
}

static const struct error_case resources_cases[] = {
	{ RES("'devices':[{'access':'rwm'}]"),
	  "config.json: linux.resources.devices[0].allow: required field is missing" },
	{ RES("'devices':[{'allow':true,'type':'x'}]"),
	  "config.json: linux.resources.devices[0].type: unknown device type 'x'" },
	{ RES("'devices':[{'allow':true,'access':'rwx'}]"),
	  "config.json: linux.resources.devices[0].access: invalid device access 'rwx'" },
	{ RES("'devices':[{'allow':true,'major':-2}]"),
	  "config.json: linux.resources.devices[0].major: -2 is out of range [-1, "
	  "9223372036854775807]" },
	{ RES("'memory':{'limit':-2}"), "config.json: linux.resources.memory.limit: -2 is out of "
					"range [-1, 9223372036854775807]" },
	{ RES("'memory':{'limit':'1G'}"),
	  "config.json: linux.resources.memory.limit: expected integer, got string" },
	{ RES("'memory':{'swappiness':101}"),
	  "config.json: linux.resources.memory.swappiness: 101 is out of range [0, 100]" },
	{ RES("'memory':{'swappiness':-1}"),
	  "config.json: linux.resources.memory.swappiness: must not be negative (got -1)" },
	{ RES("'memory':{'disableOOMKiller':'no'}"),
	  "config.json: linux.resources.memory.disableOOMKiller: expected boolean, got string" },
	{ RES("'cpu':{'shares':-1}"),
	  "config.json: linux.resources.cpu.shares: must not be negative (got -1)" },
	{ RES("'cpu':{'quota':1.5}"),
	  "config.json: linux.resources.cpu.quota: expected integer, got number" },
	{ RES("'cpu':{'cpus':[0]}"),
	  "config.json: linux.resources.cpu.cpus: expected string, got array" },
	{ RES("'pids':{'limit':'max'}"),
	  "config.json: linux.resources.pids.limit: expected integer, got string" },
	{ RES("'blockIO':{'weight':70000}"),
	  "config.json: linux.resources.blockIO.weight: 70000 is out of range [0, 65535]" },
	{ RES("'blockIO':{'throttleReadBpsDevice':[{'major':8,'minor':0}]}"),
	  "config.json: linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field is "
	  "missing" },
	{ RES("'blockIO':{'weightDevice':[{'minor':0}]}"),
	  "config.json: linux.resources.blockIO.weightDevice[0].major: required field is missing" },
	{ RES("'hugepageLimits':[{'limit':1}]"),
	  "config.json: linux.resources.hugepageLimits[0].pageSize: required field is missing" },
	{ RES("'network':{'classID':-1}"),
	  "config.json: linux.resources.network.classID: must not be negative (got -1)" },
	{ RES("'unified':{'memory.max':1}"),
	  "config.json: linux.resources.unified.memory.max: expected string, got integer" },
};

static void test_errors_resources(void **state)
{
	run_cases(DOC_SPEC, resources_cases, SK_ELEMENTSOF(resources_cases));
}

static void test_parse_process_alone(void **state)
{
	static const struct error_case cases[] = {
		{ "{'args':['sh']}", "process.json: cwd: required field is missing" },
		{ "{'args':['sh'],'cwd':'/','capabilities':{'permitted':['CAP_NOPE']}}",
		  "process.json: capabilities.permitted[0]: unknown capability 'CAP_NOPE'" },
		{ "{'args':['sh'],'cwd':'/','rlimits':[5]}",
		  "process.json: rlimits[0]: expected object, got integer" },
		{ "'sh'", "process.json: line 1 column 4: `[` or `{` expected near `'sh'`" },
	};
	_cleanup_free_ char *json =
	    q("{'args':['ls','-l'],'cwd':'/tmp','env':['X=1'],'user':{'uid':5},'terminal':false}");
	_cleanup_(sk_process_freep) struct sk_process *p = NULL;
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_spec_parse_process(json, strlen(json), "process.json", &p, &err), 0);
	assert_null(err);
	assert_string_equal(p->args[1], "-l");
	assert_string_equal(p->cwd, "/tmp");
	assert_int_equal(p->user.uid, 5);
	assert_false(p->has_caps);
	run_cases(DOC_PROCESS, cases, SK_ELEMENTSOF(cases));
}

static void test_parse_resources_alone(void **state)
{
	static const struct error_case cases[] = {
		{ "{'memory':{'limit':-5}}",
		  "resources.json: memory.limit: -5 is out of range [-1, 9223372036854775807]" },
		{ "{'pids':[]}", "resources.json: pids: expected object, got array" },
		{ "{'memory':{'limit':1",
		  "resources.json: line 1 column 20: `}` expected near end of file" },
	};
	_cleanup_free_ char *json = q("{'memory':{'limit':-1,'swap':-1},'pids':{'limit':0},"
				      "'cpu':{'quota':50000,'period':100000}}");
	_cleanup_(sk_resources_freep) struct sk_resources *r = NULL;
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_spec_parse_resources(json, strlen(json), "resources.json", &r, &err),
			 0);
	assert_true(r->memory.has_limit);
	assert_int_equal(r->memory.limit, -1);
	assert_int_equal(r->memory.swap, -1);
	assert_true(r->pids.has_limit);
	assert_int_equal(r->pids.limit, 0);
	assert_int_equal(r->cpu.quota, 50000);
	assert_false(r->cpu.has_shares);
	run_cases(DOC_RESOURCES, cases, SK_ELEMENTSOF(cases));
}

static void test_cap_names(void **state)
{
	assert_int_equal(sk_cap_from_name("CAP_CHOWN"), 0);
	assert_int_equal(sk_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(sk_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(sk_cap_from_name("CAP_FOO"), -1);
	assert_int_equal(sk_cap_from_name("cap_chown"), -1);
	assert_int_equal(sk_cap_from_name(NULL), -1);
	assert_string_equal(sk_cap_to_name(38), "CAP_PERFMON");
	assert_null(sk_cap_to_name(41));
	assert_null(sk_cap_to_name(-1));
	assert_int_equal(sk_cap_last_cap(), 40);
	for (int c = 0; c <= sk_cap_last_cap(); c++)
		assert_int_equal(sk_cap_from_name(sk_cap_to_name(c)), c);
}

static void test_rlimit_and_ns_names(void **state)
{
	assert_int_equal(sk_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	assert_int_equal(sk_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	assert_int_equal(sk_rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
	assert_int_equal(sk_rlimit_from_name("NOFILE"), -1);
	assert_int_equal(sk_rlimit_from_name(NULL), -1);
	assert_string_equal(sk_ns_type_name(SK_NS_NET), "network");
	assert_string_equal(sk_ns_type_name(SK_NS_MNT), "mount");
	assert_string_equal(sk_ns_type_name(SK_NS_TIME), "time");
	assert_null(sk_ns_type_name(SK_NS__COUNT));
	assert_int_equal(sk_ns_type_clone_flag(SK_NS_PID), CLONE_NEWPID);
	assert_int_equal(sk_ns_type_clone_flag(SK_NS_MNT), CLONE_NEWNS);
	assert_int_equal(sk_ns_type_clone_flag(SK_NS_USER), CLONE_NEWUSER);
	assert_int_equal(sk_ns_type_clone_flag(SK_NS_CGROUP), CLONE_NEWCGROUP);
	assert_int_equal(sk_ns_type_clone_flag(SK_NS_TIME), CLONE_NEWTIME);
}

/* True when mount `dest` of s has option `opt`. */
static bool mount_has(const struct sk_spec *s, const char *dest, const char *opt)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (strcmp(s->mounts[i].destination, dest) == 0)
			for (char **o = s->mounts[i].options; o && *o; o++)
				if (strcmp(*o, opt) == 0)
					return true;
	return false;
}

static void test_default_json(void **state)
{
	_cleanup_free_ char *json = sk_spec_default_json(false);
	_cleanup_(sk_spec_freep) struct sk_spec *s = NULL;
	_cleanup_error_ struct sk_error *err = NULL;

	assert_non_null(strstr(json, "\n  \"process\": {\n    \"terminal\": true,"));
	assert_int_equal(sk_spec_parse(json, strlen(json), "config.json", &s, &err), 0);
	assert_string_equal(s->oci_version, SK_OCI_VERSION);
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "skiff");
	assert_true(s->process->terminal);
	assert_string_equal(s->process->args[0], "sh");
	assert_null(s->process->args[1]);
	assert_string_equal(s->process->env[1], "TERM=xterm");
	assert_string_equal(s->process->cwd, "/");
	assert_true(s->process->no_new_privileges);
	assert_true(s->process->caps.bounding == ((1ull << 29) | (1ull << 5) | (1ull << 10)));
	assert_true(s->process->caps.effective == s->process->caps.bounding);
	assert_true(s->process->caps.permitted == s->process->caps.bounding);
	assert_false(s->process->caps.has_inheritable);
	assert_int_equal(s->process->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s->process->rlimits[0].hard, 1024);
	assert_int_equal(s->n_mounts, 7);
	assert_true(mount_has(s, "/dev/pts", "gid=5"));
	assert_string_equal(s->mounts[5].type, "sysfs");
	assert_string_equal(s->mounts[6].destination, "/sys/fs/cgroup");
	assert_int_equal(s->linux_->n_namespaces, 6);
	assert_non_null(sk_spec_namespace(s, SK_NS_NET));
	assert_non_null(sk_spec_namespace(s, SK_NS_CGROUP));
	assert_null(sk_spec_namespace(s, SK_NS_USER));
	assert_int_equal(s->linux_->resources.n_devices, 1);
	assert_false(s->linux_->resources.devices[0].allow);
	assert_string_equal(s->linux_->masked_paths[0], "/proc/acpi");
	assert_string_equal(s->linux_->readonly_paths[4], "/proc/sysrq-trigger");
}

static void test_default_json_rootless(void **state)
{
	_cleanup_free_ char *json = sk_spec_default_json(true);
	_cleanup_(sk_spec_freep) struct sk_spec *s = NULL;
	_cleanup_error_ struct sk_error *err = NULL;

	assert_int_equal(sk_spec_parse(json, strlen(json), "config.json", &s, &err), 0);
	assert_non_null(sk_spec_namespace(s, SK_NS_USER));
	assert_null(sk_spec_namespace(s, SK_NS_NET));
	assert_int_equal(s->linux_->n_uid_mappings, 1);
	assert_int_equal(s->linux_->uid_mappings[0].container_id, 0);
	assert_int_equal(s->linux_->uid_mappings[0].host_id, geteuid());
	assert_int_equal(s->linux_->uid_mappings[0].size, 1);
	assert_int_equal(s->linux_->gid_mappings[0].host_id, getegid());
	assert_false(mount_has(s, "/dev/pts", "gid=5"));
	assert_true(mount_has(s, "/dev/pts", "newinstance"));
	assert_true(mount_has(s, "/sys", "rbind"));
	assert_string_equal(s->mounts[5].source, "/sys");
	assert_false(s->linux_->has_resources);
}

static void test_features_json(void **state)
{
	static const char *const opts[] = { "ro", "rbind", "tmpcopyup", NULL };
	_cleanup_free_ char *text = sk_spec_features_json(opts);
	json_t *doc = json_loads(text, 0, NULL), *linux_, *caps, *seccomp;

	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "ociVersionMin")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(doc, "ociVersionMax")), "1.2.0");
	assert_int_equal(json_array_size(json_object_get(doc, "hooks")), SK_HOOK__COUNT);
	assert_int_equal(json_array_size(json_object_get(doc, "mountOptions")), 3);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(doc, "mountOptions"), 2)),
	    "tmpcopyup");
	linux_ = json_object_get(doc, "linux");
	assert_int_equal(json_array_size(json_object_get(linux_, "namespaces")), SK_NS__COUNT);
	caps = json_object_get(linux_, "capabilities");
	assert_int_equal(json_array_size(caps), 41);
	assert_string_equal(json_string_value(json_array_get(caps, 40)), "CAP_CHECKPOINT_RESTORE");
	assert_true(json_is_true(json_object_get(json_object_get(linux_, "cgroup"), "v2")));
	assert_true(json_is_false(json_object_get(json_object_get(linux_, "cgroup"), "systemd")));
	seccomp = json_object_get(linux_, "seccomp");
	assert_true(json_is_true(json_object_get(seccomp, "enabled")));
	assert_int_equal(json_array_size(json_object_get(seccomp, "actions")), 9);
	assert_int_equal(json_array_size(json_object_get(seccomp, "operators")), 7);
	assert_int_equal(json_array_size(json_object_get(seccomp, "knownFlags")), 4);
	assert_true(json_is_false(json_object_get(
	    json_object_get(json_object_get(linux_, "mountExtensions"), "idmap"), "enabled")));
	assert_non_null(
	    json_object_get(json_object_get(doc, "annotations"), "io.skiff.runtime.version"));
	json_decref(doc);
}

static void test_load(void **state)
{
	char dir[] = "/tmp/test-spec-XXXXXX";
	_cleanup_free_ char *cfg = NULL, *other = NULL, *good = q(DOC("")),
			    *bad = q(DOC(",'hostname':1"));
	_cleanup_error_ struct sk_error *err = NULL, *err2 = NULL, *err3 = NULL;
	_cleanup_(sk_spec_freep) struct sk_spec *s = NULL;
	struct sk_spec *none = NULL;
	_cleanup_free_ char *want = NULL, *missing = NULL;

	assert_non_null(mkdtemp(dir));
	cfg = sk_path_join(dir, "config.json");
	other = sk_path_join(dir, "alt.json");
	assert_int_equal(sk_write_file_atomic(cfg, good, strlen(good), 0644, false), 0);
	assert_int_equal(sk_write_file_atomic(other, bad, strlen(bad), 0644, false), 0);
	assert_int_equal(sk_spec_load(cfg, &s, &err), 0);
	assert_string_equal(s->root_path, "rootfs");

	assert_true(sk_spec_load(other, &none, &err2) < 0);
	want = sk_asprintf("%s: hostname: expected string, got integer", other);
	assert_string_equal(err2->msg, want);

	missing = sk_path_join(dir, "nope.json");
	assert_int_equal(sk_spec_load(missing, &none, &err3), -ENOENT);
	assert_non_null(strstr(err3->msg, "nope.json"));
	assert_null(none);

	/* and a config.json that fails is named by its base name */
	sk_error_free(TAKE_PTR(err));
	assert_int_equal(sk_write_file_atomic(cfg, bad, strlen(bad), 0644, false), 0);
	assert_true(sk_spec_load(cfg, &none, &err) < 0);
	assert_string_equal(err->msg, "config.json: hostname: expected string, got integer");
	assert_int_equal(sk_rm_rf(dir), 0);
}

/* Go tools write RLIM_INFINITY as 2^64-1, beyond what jansson holds as an integer. */
static void test_big_integers(void **state)
{
	static const struct error_case cases[] = {
		{ PROC(
		      ",'rlimits':[{'type':'RLIMIT_CORE','soft':1.5,'hard':18446744073709551615}]"),
		  "config.json: process.rlimits[0].soft: expected integer, got number" },
		{ RES("'memory':{'limit':18446744073709551615}"),
		  "config.json: linux.resources.memory.limit: 18446744073709551616 is out of range "
		  "[-1, 9223372036854775807]" },
		{ PROC(",'user':{'uid':9999999999999999999}"),
		  "config.json: process.user.uid: 10000000000000000000 is out of range [0, "
		  "4294967295]" },
		{ RES("'memory':{'limit':1e9}"),
		  "config.json: linux.resources.memory.limit: expected integer, got number" },
	};
	_cleanup_(sk_spec_freep) struct sk_spec *s =
	    parse_ok(PROC(",'rlimits':[{'type':'RLIMIT_MEMLOCK','soft':18446744073709551615,"
			  "'hard':18446744073709551615},{'type':'RLIMIT_NOFILE','soft':1024,'hard':"
			  "9223372036854775808}],"
			  "'user':{'uid':1000}"));

	assert_true(s->process->rlimits[0].soft == UINT64_MAX);
	assert_true(s->process->rlimits[0].hard == UINT64_MAX);
	assert_int_equal(s->process->rlimits[1].soft, 1024);
	assert_true(s->process->rlimits[1].hard == 9223372036854775808ull);
	assert_int_equal(s->process->user.uid, 1000);
	run_cases(DOC_SPEC, cases, SK_ELEMENTSOF(cases));
}

static void test_free_null(void **state)
{
	sk_spec_free(NULL);
	sk_process_free(NULL);
	sk_resources_free(NULL);
	assert_null(sk_spec_namespace(NULL, SK_NS_PID));
}

static void test_null_err_and_embedded_nul(void **state)
{
	static const char doc[] = "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"a\\u0000b\"}}";
	struct sk_spec *s = NULL;

	/* a NULL err still returns the error code */
	assert_int_equal(sk_spec_parse("{}", 2, "config.json", &s, NULL), -EINVAL);
	/* jansson refuses NUL inside strings, so C strings cannot be cut short */
	assert_int_equal(sk_spec_parse(doc, strlen(doc), NULL, &s, NULL), -EINVAL);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_minimal),
		cmocka_unit_test(test_parse_nulls_are_unset),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_errors_top),
		cmocka_unit_test(test_errors_process),
		cmocka_unit_test(test_errors_linux),
		cmocka_unit_test(test_errors_seccomp),
		cmocka_unit_test(test_errors_resources),
		cmocka_unit_test(test_parse_process_alone),
		cmocka_unit_test(test_parse_resources_alone),
		cmocka_unit_test(test_cap_names),
		cmocka_unit_test(test_rlimit_and_ns_names),
		cmocka_unit_test(test_default_json),
		cmocka_unit_test(test_default_json_rootless),
		cmocka_unit_test(test_features_json),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_big_integers),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_null_err_and_embedded_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
