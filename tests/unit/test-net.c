/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-net.c - network namespaces, bridges, veth pairs, addresses, routes
 * and outbound NAT against the real kernel.
 *
 * main() first moves this test process into a network and mount namespace
 * of its own (unshare, mounts made private), so every link, address, netns
 * bind mount and nftables rule made here lives and dies with the process
 * and the machine's own network is never touched.  Without the privilege
 * to do that, the kernel tests are skipped.  What happens inside a
 * container's netns is checked from a thread that setns()es into it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "base/util.h"
#include "net/net.h"

struct fixture {
	char dir[64];
	char ns[96];
};

static bool isolated;

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static int setup(void **state)
{
	struct fixture *f = sk_new0(struct fixture, 1);

	snprintf(f->dir, sizeof(f->dir), "/tmp/sk-test-net-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->ns, sizeof(f->ns), "%s/ns1", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	(void)sk_netns_delete(f->ns, NULL);
	(void)sk_rm_rf(f->dir);
	free(f);
	return 0;
}

/* ---- running checks inside a netns ---- */

struct ns_call {
	const char *path;
	void (*fn)(void *arg);
	void *arg;
	int r;
};

static void *ns_thread(void *p)
{
	struct ns_call *c = p;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		c->r = -errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	c->fn(c->arg);
	return NULL;
}

/* Runs fn(arg) on a thread inside the netns at `path`; no cmocka asserts in fn. */
static void in_netns(const char *path, void (*fn)(void *), void *arg)
{
	struct ns_call c = { .path = path, .fn = fn, .arg = arg };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, ns_thread, &c), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.r, 0);
}

struct link_view {
	const char *ifname;
	bool exists, up, lo_up;
	int mtu;
	char addr[INET_ADDRSTRLEN];
	int prefix;
	bool default_route;
	/* for listen_cb */
	struct in_addr listen;
	int listen_fd;
};

static int if_flags(int s, const char *name, int *ret_mtu)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	if (ret_mtu) {
		int flags = ifr.ifr_flags;
		if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
			return -1;
		*ret_mtu = ifr.ifr_mtu;
		return flags;
	}
	return ifr.ifr_flags;
}

static void view_cb(void *arg)
{
	struct link_view *v = arg;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifaddrs *ifa = NULL;
	_cleanup_free_ char *routes = NULL;
	int flags;

	flags = if_flags(s, v->ifname, &v->mtu);
	v->exists = flags >= 0;
	v->up = flags >= 0 && (flags & IFF_UP);
	flags = if_flags(s, "lo", NULL);
	v->lo_up = flags >= 0 && (flags & IFF_UP);
	close(s);
	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
			    strcmp(i->ifa_name, v->ifname) != 0)
				continue;
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, v->addr,
				  sizeof(v->addr));
			v->prefix = __builtin_popcount(
			    ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
		}
		freeifaddrs(ifa);
	}
	/* thread-self: /proc/self/net would show the main thread's netns. */
	if (sk_read_file("/proc/thread-self/net/route", &routes, NULL) == 0) {
		char pat[64];
		snprintf(pat, sizeof(pat), "%s\t00000000\t", v->ifname);
		v->default_route = strstr(routes, pat) != NULL;
	}
}

static void listen_cb(void *arg)
{
	struct link_view *v = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(7777),
				  .sin_addr = v->listen };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	v->listen_fd = -1;
	if (s < 0)
		return;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 4) < 0) {
		close(s);
		return;
	}
	v->listen_fd = s;
}

static bool mounted(const char *path)
{
	_cleanup_free_ char *mi = NULL;
	char pat[200];

	assert_int_equal(sk_read_file("/proc/self/mountinfo", &mi, NULL), 0);
	snprintf(pat, sizeof(pat), " %s ", path);
	return strstr(mi, pat) != NULL;
}

static bool has_name(char **v, const char *name)
{
	for (; v && *v; v++)
		if (strcmp(*v, name) == 0)
			return true;
	return false;
}

/* ---- netns ---- */

static void test_netns_create_delete(void **state)
{
	struct fixture *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct stat st;

	if (!isolated)
		skip();
	assert_int_equal(sk_netns_create(f->ns, &err), 0);
	assert_true(mounted(f->ns));
	assert_int_equal(stat(f->ns, &st), 0);
	/* A second create on the same path fails and leaves the first alone. */
	assert_int_equal(sk_netns_create(f->ns, &err), -EEXIST);
	assert_non_null(strstr(err->msg, "create netns"));
	assert_true(mounted(f->ns));
	assert_int_equal(sk_netns_delete(f->ns, NULL), 0);
	assert_false(mounted(f->ns));
	assert_int_equal(stat(f->ns, &st), -1);
	assert_int_equal(sk_netns_delete(f->ns, NULL), 0);
}

static void test_netns_create_bad_dir(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;

	assert_true(sk_netns_create("/nonexistent-dir/ns", &err) < 0);
	assert_non_null(strstr(err->msg, "create netns '/nonexistent-dir/ns'"));
}

/* ---- bridge ---- */

static void test_bridge_ensure(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_strv_ char **names = NULL;
	struct link_view v = { .ifname = "sk-test1" };

	if (!isolated)
		skip();
	assert_int_equal(
	    sk_net_bridge_ensure("sk-test1", "skiff:t1:app", ip("10.99.1.1"), 24, 0, &err), 0);
	/* Twice: idempotent, and an MTU change is applied. */
	assert_int_equal(
	    sk_net_bridge_ensure("sk-test1", "skiff:t1:app", ip("10.99.1.1"), 24, 1400, &err), 0);
	assert_true(sk_net_link_exists("sk-test1"));
	view_cb(&v);
	assert_true(v.up);
	assert_int_equal(v.mtu, 1400);
	assert_string_equal(v.addr, "10.99.1.1");
	assert_int_equal(v.prefix, 24);
	assert_int_equal(sk_net_links_by_alias("skiff:t1:", &names, &err), 0);
	assert_true(has_name(names, "sk-test1"));
	sk_strv_free(TAKE_PTR(names));
	assert_int_equal(sk_net_links_by_alias("skiff:nothing:", &names, &err), 0);
	assert_non_null(names);
	assert_null(names[0]);
	assert_true(sk_net_route_overlaps(ip("10.99.1.0"), 24));
	assert_true(sk_net_route_overlaps(ip("10.99.0.0"), 16));
	assert_true(sk_net_route_overlaps(ip("10.99.1.128"), 25));
	assert_false(sk_net_route_overlaps(ip("10.99.2.0"), 24));
	assert_int_equal(sk_net_link_delete("sk-test1", &err), 0);
	assert_false(sk_net_link_exists("sk-test1"));
	assert_false(sk_net_route_overlaps(ip("10.99.1.0"), 24));
	assert_int_equal(sk_net_link_delete("sk-test1", &err), 0);
	assert_null(err);
}

static void test_bridge_not_a_bridge(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;

	if (!isolated)
		skip();
	assert_int_equal(sk_net_bridge_ensure("lo", "x", ip("10.99.3.1"), 24, 0, &err), -EEXIST);
	assert_non_null(strstr(err->msg, "create bridge 'lo'"));
	sk_error_free(TAKE_PTR(err));
	assert_int_equal(sk_net_bridge_ensure("sk-test2", "x", ip("10.99.3.1"), 0, 0, &err),
			 -EINVAL);
	assert_false(sk_net_link_exists("sk-test2"));
}

static void test_addr_add_del(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	struct link_view v = { .ifname = "sk-test3" };

	if (!isolated)
		skip();
	assert_int_equal(sk_net_bridge_ensure("sk-test3", "skiff:t3", ip("10.99.4.1"), 24, 0, &err),
			 0);
	assert_int_equal(sk_net_addr_add("sk-test3", ip("10.99.5.1"), 24, &err), 0);
	assert_int_equal(sk_net_addr_add("sk-test3", ip("10.99.5.1"), 24, &err), 0);
	assert_true(sk_net_route_overlaps(ip("10.99.5.0"), 24));
	assert_int_equal(sk_net_addr_del("sk-test3", ip("10.99.5.1"), 24, &err), 0);
	assert_int_equal(sk_net_addr_del("sk-test3", ip("10.99.5.1"), 24, &err), 0);
	assert_false(sk_net_route_overlaps(ip("10.99.5.0"), 24));
	view_cb(&v);
	assert_string_equal(v.addr, "10.99.4.1");
	assert_int_equal(sk_net_addr_add("no-such-link", ip("10.99.5.1"), 24, &err), -ENODEV);
	assert_string_equal(err->msg, "add address 10.99.5.1/24 on 'no-such-link': No such device");
	assert_int_equal(sk_net_link_delete("sk-test3", NULL), 0);
}

/* ---- veth ---- */

static struct sk_net_attach attach_of(struct fixture *f, const char *host_if)
{
	return (struct sk_net_attach){ .bridge = "sk-test4",
				       .host_if = host_if,
				       .alias = "skiff:t4:app:1",
				       .netns_path = f->ns,
				       .ifname = "eth0",
				       .addr = ip("10.99.6.2"),
				       .prefix = 24,
				       .gw = ip("10.99.6.1") };
}

static void test_veth_attach(void **state)
{
	struct fixture *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_strv_ char **names = NULL;
	struct sk_net_attach a = attach_of(f, "skvtest0001");
	struct link_view v = { .ifname = "eth0", .listen = ip("10.99.6.2") };
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(7777),
				  .sin_addr = a.addr };
	struct pollfd pfd;
	int c, s;

	if (!isolated)
		skip();
	assert_int_equal(sk_netns_create(f->ns, &err), 0);
	assert_int_equal(sk_net_bridge_ensure("sk-test4", "skiff:t4:app", a.gw, 24, 1450, &err), 0);
	assert_int_equal(sk_net_veth_attach(&a, &err), 0);
	assert_null(err);
	assert_true(sk_net_link_exists("skvtest0001"));
	assert_false(sk_net_link_exists("eth0"));
	in_netns(f->ns, view_cb, &v);
	assert_true(v.exists);
	assert_true(v.up);
	assert_true(v.lo_up);
	assert_int_equal(v.mtu, 1450); /* the bridge's */
	assert_string_equal(v.addr, "10.99.6.2");
	assert_int_equal(v.prefix, 24);
	assert_true(v.default_route);
	assert_int_equal(sk_net_links_by_alias("skiff:t4:", &names, &err), 0);
	assert_true(has_name(names, "sk-test4"));
	assert_true(has_name(names, "skvtest0001"));
	sk_strv_free(TAKE_PTR(names));
	assert_int_equal(sk_net_links_by_alias("skiff:t4:app:", &names, &err), 0);
	assert_true(has_name(names, "skvtest0001"));
	assert_false(has_name(names, "sk-test4"));

	/* A TCP connection from the host side reaches a listener in the netns. */
	in_netns(f->ns, listen_cb, &v);
	assert_true(v.listen_fd >= 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(c >= 0);
	assert_true(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS);
	pfd = (struct pollfd){ .fd = v.listen_fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	s = accept4(v.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(s >= 0);
	close(s);
	close(c);
	close(v.listen_fd);

	/* Deleting the host side takes the container side with it. */
	assert_int_equal(sk_net_link_delete("skvtest0001", &err), 0);
	assert_false(sk_net_link_exists("skvtest0001"));
	v = (struct link_view){ .ifname = "eth0" };
	in_netns(f->ns, view_cb, &v);
	assert_false(v.exists);
	assert_int_equal(sk_netns_delete(f->ns, &err), 0);
	assert_false(mounted(f->ns));
	assert_int_equal(sk_net_link_delete("sk-test4", &err), 0);
	assert_null(err);
}

static void test_veth_attach_failures(void **state)
{
	struct fixture *f = *state;
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_net_attach a = attach_of(f, "skvtest0002");
	struct sk_net_attach b = attach_of(f, "skvtest0003");
	struct sk_net_attach bad = attach_of(f, "skvtest0004");

	if (!isolated)
		skip();
	assert_int_equal(sk_netns_create(f->ns, &err), 0);
	/* No bridge yet. */
	assert_int_equal(sk_net_veth_attach(&a, &err), -ENODEV);
	assert_non_null(strstr(err->msg, "bridge 'sk-test4'"));
	assert_false(sk_net_link_exists("skvtest0002"));
	sk_error_free(TAKE_PTR(err));

	assert_int_equal(sk_net_bridge_ensure("sk-test4", "skiff:t4:app", a.gw, 24, 0, &err), 0);
	assert_int_equal(sk_net_veth_attach(&a, &err), 0);
	/* eth0 exists in the netns already: the second pair is not left behind. */
	assert_true(sk_net_veth_attach(&b, &err) < 0);
	assert_non_null(strstr(err->msg, "skvtest0003"));
	assert_false(sk_net_link_exists("skvtest0003"));
	sk_error_free(TAKE_PTR(err));
	/* The host side name is taken. */
	assert_int_equal(sk_net_veth_attach(&a, &err), -EEXIST);
	assert_true(sk_net_link_exists("skvtest0002"));
	sk_error_free(TAKE_PTR(err));

	bad.ifname = "a-name-far-too-long";
	assert_int_equal(sk_net_veth_attach(&bad, &err), -EINVAL);
	sk_error_free(TAKE_PTR(err));
	bad = attach_of(f, "skvtest0004");
	bad.netns_path = "/nonexistent";
	assert_int_equal(sk_net_veth_attach(&bad, &err), -ENOENT);
	assert_false(sk_net_link_exists("skvtest0004"));
	sk_error_free(TAKE_PTR(err));

	/* Deleting the netns removes the container side and so the pair (10 s: the
	 * kernel cleans a netns up asynchronously). */
	assert_int_equal(sk_netns_delete(f->ns, &err), 0);
	for (int i = 0; i < 1000 && sk_net_link_exists("skvtest0002"); i++)
		usleep(10000);
	assert_false(sk_net_link_exists("skvtest0002"));
	assert_int_equal(sk_net_link_delete("sk-test4", &err), 0);
}

/* ---- egress ---- */

static char *nft_list(void)
{
	_cleanup_free_ char *out = sk_malloc0(1);
	size_t len = 0;
	char chunk[1024];
	FILE *p = popen("nft list table ip skiff 2>/dev/null", "r");
	size_t n;

	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		out = sk_realloc(out, len + n + 1);
		memcpy(out + len, chunk, n);
		len += n;
		out[len] = '\0';
	}
	pclose(p);
	return TAKE_PTR(out);
}

static void test_egress(void **state)
{
	_cleanup_error_ struct sk_error *err = NULL;
	_cleanup_free_ char *fwd = NULL, *l1 = NULL, *l2 = NULL, *l3 = NULL, *l4 = NULL;

	if (!isolated)
		skip();
	if (access("/usr/sbin/nft", X_OK) != 0 && access("/sbin/nft", X_OK) != 0)
		skip();
	assert_int_equal(sk_write_file("/proc/sys/net/ipv4/ip_forward", "0", 1), 0);
	assert_int_equal(sk_net_egress_enable("t5:web", "sk-test5", ip("10.99.7.0"), 24, &err), 0);
	assert_int_equal(sk_net_egress_enable("t5:db", "sk-test6", ip("10.99.8.0"), 24, &err), 0);
	/* Enabling again replaces the rule instead of adding a second one. */
	assert_int_equal(sk_net_egress_enable("t5:web", "sk-test5", ip("10.99.7.0"), 24, &err), 0);
	assert_null(err);
	assert_int_equal(sk_read_file("/proc/sys/net/ipv4/ip_forward", &fwd, NULL), 0);
	assert_string_equal(fwd, "1\n");
	l1 = nft_list();
	assert_non_null(strstr(l1, "ip saddr 10.99.7.0/24 oifname != \"sk-test5\" masquerade "
				   "comment \"t5:web\""));
	assert_non_null(strstr(l1, "comment \"t5:db\""));
	assert_null(strstr(strstr(l1, "t5:web") + 1, "t5:web"));

	assert_int_equal(sk_net_egress_disable("t5:web", &err), 0);
	l2 = nft_list();
	assert_null(strstr(l2, "t5:web"));
	assert_non_null(strstr(l2, "t5:db"));
	assert_int_equal(sk_net_egress_disable("t5:web", &err), 0);
	assert_int_equal(sk_net_egress_disable("t5:db", &err), 0);
	l3 = nft_list();
	assert_null(strstr(l3, "table ip skiff")); /* empty: gone */
	assert_int_equal(sk_net_egress_disable("t5:db", &err), 0);
	l4 = nft_list();
	assert_string_equal(l4, "");
	assert_null(err);
}

static bool isolate(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int lo;

	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		return false;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		abort(); /* never bind-mount into the host's mount namespace */
	lo = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ioctl(lo, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		(void)ioctl(lo, SIOCSIFFLAGS, &ifr);
	}
	close(lo);
	return true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_netns_create_delete, setup, teardown),
		cmocka_unit_test(test_netns_create_bad_dir),
		cmocka_unit_test(test_bridge_ensure),
		cmocka_unit_test(test_bridge_not_a_bridge),
		cmocka_unit_test(test_addr_add_del),
		cmocka_unit_test_setup_teardown(test_veth_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_veth_attach_failures, setup, teardown),
		cmocka_unit_test(test_egress),
	};

	isolated = isolate();
	if (!isolated)
		fprintf(stderr,
			"test-net: cannot unshare a network namespace; kernel tests skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
