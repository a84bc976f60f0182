/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-compose-errors.c - every compose error skiff reports, with its exact
 * "file:line:col: path: problem" text, and that all errors of a file are
 * listed in position order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "base/util.h"

static char *env[] = { "SET=1", NULL };

static const struct {
	const char *yaml;
	const char *error;
} cases[] = {
	{ "services:\n  web:\n    image: a\n    command: [x\n",
	  "compose.yaml:5:1: flow sequence without a closing bracket" },
	{ "services:\n  web: {image: a}\n  web: {image: b}\n",
	  "compose.yaml:3:3: duplicate key \"web\"" },
	{ "services:\n  web: *nope\n", "compose.yaml:2:8: unknown anchor \"nope\"" },
	{ "services:\n  web:\n    image: a\n    imgae: a\n",
	  "compose.yaml:4:5: services.web.imgae: unknown field" },
	{ "services:\n  web:\n    user: x\n", "compose.yaml:2:3: services.web: no image given" },
	{ "services:\n  web:\n    build: .\n", "compose.yaml:3:12: services.web: has build: but no "
					       "image (skiff does not build images)" },
	{ "services:\n  web:\n    image: a\n    depends_on: [db]\n",
	  "compose.yaml:4:18: services.web.depends_on: unknown service \"db\"" },
	{ "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
	  "compose.yaml:3:30: services.b.depends_on: dependency cycle: a -> b -> a" },
	{ "services:\n  a: {image: x, depends_on: [a]}\n",
	  "compose.yaml:2:30: services.a.depends_on: dependency cycle: a -> a" },
	{ "services:\n  a: {image: x, network_mode: \"service:b\"}\n  b: {image: x, depends_on: "
	  "[a]}\n",
	  "compose.yaml:3:30: services.b.depends_on: dependency cycle: a -> b -> a" },
	{ "services:\n  web:\n    image: a\n    depends_on: {db: {condition: service_ready}}\n  "
	  "db: {image: b}\n",
	  "compose.yaml:4:34: services.web.depends_on.db.condition: invalid condition "
	  "\"service_ready\" "
	  "(service_started, service_healthy, service_completed_successfully)" },
	{ "services:\n  web:\n    image: a\n    healthcheck:\n      interval: 10x\n",
	  "compose.yaml:5:17: services.web.healthcheck.interval: invalid duration \"10x\"" },
	{ "services:\n  web:\n    image: a\n    stop_grace_period: soon\n",
	  "compose.yaml:4:24: services.web.stop_grace_period: invalid duration \"soon\"" },
	{ "services:\n  web:\n    image: a\n    mem_limit: 64q\n",
	  "compose.yaml:4:16: services.web.mem_limit: invalid byte size \"64q\"" },
	{ "services:\n  web:\n    image: a\n    deploy: {resources: {limits: {memory: 1x}}}\n",
	  "compose.yaml:4:43: services.web.deploy.resources.limits.memory: invalid byte size "
	  "\"1x\"" },
	{ "services:\n  web:\n    image: a\n    deploy: {resources: {limits: {cpus: lots}}}\n",
	  "compose.yaml:4:41: services.web.deploy.resources.limits.cpus: invalid cpus \"lots\"" },
	{ "services:\n  web:\n    image: a\n    restart: sometimes\n",
	  "compose.yaml:4:14: services.web.restart: invalid restart policy \"sometimes\" (no, "
	  "always, "
	  "on-failure[:N], unless-stopped)" },
	{ "services:\n  web:\n    image: a\n    restart: always:3\n",
	  "compose.yaml:4:14: services.web.restart: invalid restart policy \"always:3\" (no, "
	  "always, "
	  "on-failure[:N], unless-stopped)" },
	{ "services:\n  web:\n    image: a\n    deploy: {replicas: -1}\n",
	  "compose.yaml:4:24: services.web.deploy.replicas: -1 is out of range (0..100000)" },
	{ "services:\n  web:\n    image: a\n    deploy: {replicas: many}\n",
	  "compose.yaml:4:24: services.web.deploy.replicas: invalid integer \"many\"" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80:80:80:80\"]\n",
	  "compose.yaml:4:13: services.web.ports[0]: invalid port \"80:80:80:80\" "
	  "([IP:][HOST:]CONTAINER[/PROTO])" },
	{ "services:\n  web:\n    image: a\n    ports: [\"70000\"]\n",
	  "compose.yaml:4:13: services.web.ports[0]: invalid port \"70000\" "
	  "([IP:][HOST:]CONTAINER[/PROTO])" },
	{ "services:\n  web:\n    image: a\n    ports: [\"8000-8002:80-81\"]\n",
	  "compose.yaml:4:13: services.web.ports[0]: invalid port \"8000-8002:80-81\" "
	  "([IP:][HOST:]CONTAINER[/PROTO])" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80/icmp\"]\n",
	  "compose.yaml:4:13: services.web.ports[0]: invalid port \"80/icmp\" "
	  "([IP:][HOST:]CONTAINER[/PROTO])" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\", \"80\"]\n",
	  "compose.yaml:4:19: services.web.ports[1]: duplicate container port 80/tcp" },
	{ "services:\n  a: {image: x, ports: [\"8080:80\"]}\n  b: {image: x, ports: "
	  "[\"8080:81\"]}\n",
	  "compose.yaml:3:25: services.b.ports: host port 8080 is also published by service "
	  "\"a\"" },
	{ "services:\n  web:\n    image: a\n    ports: [{published: 80}]\n",
	  "compose.yaml:4:13: services.web.ports[0]: target is required" },
	{ "services:\n  web:\n    image: \"${MISSING:?set MISSING to the tag}\"\n",
	  "compose.yaml:3:12: services.web.image: required variable MISSING is missing a value: "
	  "set MISSING to the "
	  "tag" },
	{ "services:\n  web:\n    image: ${SET\n",
	  "compose.yaml:3:12: services.web.image: invalid interpolation format \"${SET\" (a "
	  "literal $ is written $$)" },
	{ "services:\n  web:\n    image: a\n    read_only: maybe\n",
	  "compose.yaml:4:16: services.web.read_only: invalid boolean \"maybe\"" },
	{ "services:\n  web:\n    image: a\n    volumes: [\"data:/data\"]\n",
	  "compose.yaml:4:15: services.web.volumes[0]: volume \"data\" is not declared under the "
	  "top-level "
	  "volumes:" },
	{ "services:\n  web:\n    image: a\n    volumes: [\"./x:data\"]\n",
	  "compose.yaml:4:15: services.web.volumes[0]: target \"data\" must be an absolute path" },
	{ "services:\n  web:\n    image: a\n    volumes: [\"./x:/x:rx\"]\n",
	  "compose.yaml:4:15: services.web.volumes[0]: invalid volume mode \"rx\"" },
	{ "services:\n  web:\n    image: a\n    volumes: [{type: npipe, target: /x}]\n",
	  "compose.yaml:4:22: services.web.volumes[0].type: unsupported volume type \"npipe\" "
	  "(bind, volume, tmpfs)" },
	{ "services:\n  web:\n    image: a\n    tmpfs: [\"run\"]\n",
	  "compose.yaml:4:13: services.web.tmpfs[0]: invalid tmpfs \"run\" "
	  "(/PATH[:size=N,mode=OCTAL,...])" },
	{ "services:\n  web:\n    image: a\n    networks: [back]\n",
	  "compose.yaml:4:15: services.web.networks: network \"back\" is not declared under the "
	  "top-level networks:" },
	{ "services:\n  web:\n    image: a\n    network_mode: bridged\n",
	  "compose.yaml:4:19: services.web.network_mode: invalid network_mode \"bridged\" (host, "
	  "none, service:NAME)" },
	{ "services:\n  web:\n    image: a\n    network_mode: \"service:db\"\n",
	  "compose.yaml:4:19: services.web.network_mode: unknown service \"db\"" },
	{ "services:\n  web:\n    image: a\n    mem_limit: 1g\n    deploy: {resources: {limits: "
	  "{memory: 2g}}}\n",
	  "compose.yaml:4:16: services.web.mem_limit: conflicts with "
	  "deploy.resources.limits.memory" },
	{ "services:\n  web:\n    image: a\n    healthcheck: {test: [\"CMD\"]}\n",
	  "compose.yaml:4:25: services.web.healthcheck.test: must start with CMD (and a command), "
	  "CMD-SHELL (and "
	  "one command line) or NONE" },
	{ "services:\n  web:\n    image: a\n    healthcheck: {retries: x}\n",
	  "compose.yaml:4:28: services.web.healthcheck.retries: invalid integer \"x\"" },
	{ "services:\n  web:\n    image: a\n    x-skiff: {health: {http: {path: /}}}\n",
	  "compose.yaml:4:30: services.web.x-skiff.health.http: port is required" },
	{ "services:\n  web:\n    image: a\n    x-skiff: {health: {http: {port: 80, status: "
	  "600}}}\n",
	  "compose.yaml:4:49: services.web.x-skiff.health.http.status: invalid status \"600\" "
	  "(like 200 or 200-399)" },
	{ "services:\n  web:\n    image: a\n    x-skiff: {health: {http: {port: 80}, tcp: {port: "
	  "81}}}\n",
	  "compose.yaml:4:47: services.web.x-skiff.health.tcp: only one of http and tcp may be "
	  "given" },
	/* x-skiff proxy, fault, fallback; app-level egress and subnet */
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff:\n      proxy:\n      "
	  "  retries: {on: [reset, 503, foo]}\n",
	  "compose.yaml:7:36: services.web.x-skiff.proxy.retries.on[2]: unknown retry condition "
	  "\"foo\" (connect-failure, reset, timeout, or a status 500-599)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {retries: "
	  "{attempts: 11}}}\n",
	  "compose.yaml:5:43: services.web.x-skiff.proxy.retries.attempts: 11 is out of range "
	  "(0..10)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {mode: "
	  "udp}}\n",
	  "compose.yaml:5:29: services.web.x-skiff.proxy.mode: invalid proxy mode \"udp\" (http, "
	  "tcp)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {balance: "
	  "random}}\n",
	  "compose.yaml:5:32: services.web.x-skiff.proxy.balance: invalid balance \"random\" "
	  "(round_robin, least_request)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {retries: "
	  "{on: [500, 501, 502, 503, 504, 505, 506, 507, 508]}}}\n",
	  "compose.yaml:5:78: services.web.x-skiff.proxy.retries.on[8]: at most 8 retry statuses "
	  "may be given" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {retries: "
	  "{budget: lots}}}\n",
	  "compose.yaml:5:41: services.web.x-skiff.proxy.retries.budget: invalid percentage "
	  "\"lots\" (like 20 or 20%)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {retries: "
	  "{budget: 150%}}}\n",
	  "compose.yaml:5:41: services.web.x-skiff.proxy.retries.budget: 150% is out of range "
	  "(0..100)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {retry: "
	  "3}}\n",
	  "compose.yaml:5:23: services.web.x-skiff.proxy.retry: unknown field" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {outlier: "
	  "{max_ejection_percent: 101}}}\n",
	  "compose.yaml:5:55: services.web.x-skiff.proxy.outlier.max_ejection_percent: 101 is out "
	  "of range (0..100)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {retries: "
	  "{backoff: 1s, max_backoff: 100ms}}}\n",
	  "compose.yaml:5:59: services.web.x-skiff.proxy.retries.max_backoff: must not be shorter "
	  "than backoff" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: "
	  "{connect_timeout: soon}}\n",
	  "compose.yaml:5:40: services.web.x-skiff.proxy.connect_timeout: invalid duration "
	  "\"soon\"" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: {internal: "
	  "maybe}}\n",
	  "compose.yaml:5:33: services.web.x-skiff.proxy.internal: invalid boolean \"maybe\"" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: "
	  "{max_concurrent: -1}}\n",
	  "compose.yaml:5:39: services.web.x-skiff.proxy.max_concurrent: -1 is out of range "
	  "(0..1000000)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {proxy: "
	  "{drain: 6m}}\n",
	  "compose.yaml:5:30: services.web.x-skiff.proxy.drain: at most 5m" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {fault: {delay: "
	  "{percent: 50}}}\n",
	  "compose.yaml:5:30: services.web.x-skiff.fault.delay: fixed is required" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {fault: {delay: "
	  "{fixed: 10ms, jitter: 20ms}}}\n",
	  "compose.yaml:5:52: services.web.x-skiff.fault.delay.jitter: must not be longer than "
	  "fixed" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {fault: {abort: "
	  "{status: 700}}}\n",
	  "compose.yaml:5:39: services.web.x-skiff.fault.abort.status: 700 is out of range "
	  "(200..599)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {fault: {abort: "
	  "{percent: 10}}}\n",
	  "compose.yaml:5:30: services.web.x-skiff.fault.abort: status is required" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {fault: {abort: "
	  "{status: 503, percent: 101}}}\n",
	  "compose.yaml:5:53: services.web.x-skiff.fault.abort.percent: 101 is out of range "
	  "(0..100)" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {fault: {delay: "
	  "{fixed: 1s}, drop: {percent: 1}}}\n",
	  "compose.yaml:5:43: services.web.x-skiff.fault.drop: unknown field" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {fallback: nope}\n",
	  "compose.yaml:5:25: services.web.x-skiff.fallback: unknown service \"nope\"" },
	{ "services:\n  web:\n    image: a\n    ports: [\"80\"]\n    x-skiff: {fallback: web}\n",
	  "compose.yaml:5:25: services.web.x-skiff.fallback: must name another service, not the "
	  "service itself" },
	{ "services:\n  a: {image: x, x-skiff: {fallback: b}}\n  b: {image: x, x-skiff: {fallback: "
	  "c}}\n  c: {image: x, x-skiff: {fallback: a}}\n",
	  "compose.yaml:4:37: services.c.x-skiff.fallback: fallback cycle: a -> b -> c -> a" },
	{ "services: {web: {image: a}}\nx-skiff: {subnet: 10.89.7.0/8}\n",
	  "compose.yaml:2:19: x-skiff.subnet: invalid subnet \"10.89.7.0/8\" (a.b.c.d/n, n "
	  "16..28)" },
	{ "services: {web: {image: a}}\nx-skiff: {subnet: 10.89.7.1/24}\n",
	  "compose.yaml:2:19: x-skiff.subnet: subnet \"10.89.7.1/24\" has host bits set (did you "
	  "mean 10.89.7.0/24?)" },
	{ "services: {web: {image: a}}\nx-skiff: {subnet: banana}\n",
	  "compose.yaml:2:19: x-skiff.subnet: invalid subnet \"banana\" (a.b.c.d/n, n 16..28)" },
	{ "services: {web: {image: a}}\nx-skiff: {egress: sometimes}\n",
	  "compose.yaml:2:19: x-skiff.egress: invalid boolean \"sometimes\"" },
	{ "services:\n  Web_1:\n    image: a\n",
	  "compose.yaml:2:3: services: invalid service name \"Web_1\" (use [a-z0-9][a-z0-9_-]*)" },
	{ "services:\n  web:\n    image: a\n    env_file: nope.env\n",
	  "compose.yaml:4:15: services.web.env_file: env file '/nope.env': No such file or "
	  "directory" },
	{ "services:\n  web:\n    image: a\n    command: echo 'open\n",
	  "compose.yaml:4:14: services.web.command: unterminated quote in \"echo 'open\"" },
	{ "services:\n  web:\n    image: a\n    stop_signal: SIGNOPE\n",
	  "compose.yaml:4:18: services.web.stop_signal: unknown signal \"SIGNOPE\"" },
	{ "services:\n  web:\n    image: a\n    oom_score_adj: 2000\n",
	  "compose.yaml:4:20: services.web.oom_score_adj: 2000 is out of range (-1000..1000)" },
	{ "services:\n  web:\n    image: a\n    working_dir: srv\n",
	  "compose.yaml:4:18: services.web.working_dir: must be an absolute path, not \"srv\"" },
	{ "services:\n  web:\n    image: a\n    environment: 5\n",
	  "compose.yaml:4:18: services.web.environment: must be a mapping, not a scalar" },
	{ "services:\n  web:\n    image: [a]\n",
	  "compose.yaml:3:12: services.web.image: must be a scalar, not a list" },
	{ "services:\n  web:\n    image:\n",
	  "compose.yaml:3:5: services.web.image: must be a string, not empty" },
	{ "services: []\n", "compose.yaml:1:11: services: must be a mapping, not a list" },
	{ "name: x\n", "compose.yaml: no services defined" },
	{ "", "compose.yaml: empty compose file" },
	{ "services: {web: {image: a}}\nfoo: 1\n",
	  "compose.yaml:2:1: foo: unknown top-level field" },
	{ "services:\n  web:\n    image: a\n    security_opt: [bogus]\n",
	  "compose.yaml:4:20: services.web.security_opt[0]: unknown security option \"bogus\" "
	  "(seccomp=unconfined|PATH, no-new-privileges[:true|false], apparmor=, label=, "
	  "systempaths=unconfined)" },
	{ "services:\n  web:\n    image: a\n    security_opt: [systempaths=on]\n",
	  "compose.yaml:4:20: services.web.security_opt[0]: unknown security option "
	  "\"systempaths=on\" (seccomp=unconfined|PATH, no-new-privileges[:true|false], "
	  "apparmor=, label=, systempaths=unconfined)" },
	{ "services:\n  web:\n    image: a\n    security_opt: [seccomp=nope.json]\n",
	  "compose.yaml:4:20: services.web.security_opt[0]: seccomp profile 'nope.json': No such "
	  "file or directory" },
	{ "services:\n  web:\n    image: a\n    security_opt: [\"seccomp=\"]\n",
	  "compose.yaml:4:20: services.web.security_opt[0]: \"seccomp=\": seccomp needs "
	  "unconfined or a profile file" },
	{ "services:\n  web:\n    image: a\n    security_opt:\n      - no-new-privileges:maybe\n",
	  "compose.yaml:5:9: services.web.security_opt[0]: \"no-new-privileges:maybe\": "
	  "no-new-privileges takes true or false" },
	{ "services:\n  web:\n    image: a\n    security_opt: seccomp=unconfined\n",
	  "compose.yaml:4:19: services.web.security_opt: must be a list, not a scalar" },
	{ "services:\n  web:\n    image: a\n    secrets: [nope]\n",
	  "compose.yaml:4:15: services.web.secrets[0]: secret \"nope\" is not declared under the "
	  "top-level secrets:" },
	{ "services:\n  web:\n    image: a\n    secrets: [{source: nope, target: x}]\n",
	  "compose.yaml:4:24: services.web.secrets[0]: secret \"nope\" is not declared under the "
	  "top-level secrets:" },
	{ "services: {web: {image: a}}\nsecrets:\n  s: {external: true}\n",
	  "compose.yaml:3:17: secrets.s.external: external secrets are not supported by skiff" },
	{ "services: {web: {image: a}}\nsecrets:\n  s: {name: x}\n",
	  "compose.yaml:3:6: secrets.s: needs either file or environment" },
	{ "services: {web: {image: a}}\nsecrets:\n  s: {file: a, environment: B}\n",
	  "compose.yaml:3:6: secrets.s: needs either file or environment" },
	{ "services: {web: {image: a}}\nsecrets:\n  s: {file: a, mode: 1}\n",
	  "compose.yaml:3:16: secrets.s.mode: unknown field" },
	{ "services:\n  web:\n    image: a\n    secrets: [s]\nsecrets:\n  s: {environment: "
	  "NOPE_UNSET}\n",
	  "compose.yaml:4:15: services.web.secrets[0]: secret \"s\": environment variable "
	  "\"NOPE_UNSET\" is not set" },
	{ "services:\n  web:\n    image: a\n    secrets: [s]\nsecrets:\n  s: {file: "
	  "/nonexistent}\n",
	  "compose.yaml:4:15: services.web.secrets[0]: secret \"s\": file '/nonexistent': No such "
	  "file or directory" },
	{ "services:\n  web:\n    image: a\n    secrets: [{source: s, mode: 999}]\nsecrets:\n  "
	  "s: {environment: SET}\n",
	  "compose.yaml:4:33: services.web.secrets[0].mode: invalid mode \"999\" (octal, like "
	  "0440)" },
	{ "services:\n  web:\n    image: a\n    secrets: [{source: s, target: ../etc/passwd}]\n"
	  "secrets:\n  s: {environment: SET}\n",
	  "compose.yaml:4:35: services.web.secrets[0].target: invalid target \"../etc/passwd\" "
	  "(no . or ..)" },
	{ "services:\n  web:\n    image: a\n    secrets: [s, {source: s, target: /run/secrets/s}]"
	  "\nsecrets:\n  s: {environment: SET}\n",
	  "compose.yaml:4:18: services.web.secrets[1]: target \"/run/secrets/s\" is used twice" },
	{ "services:\n  web:\n    image: a\n    secrets: [{target: x}]\n",
	  "compose.yaml:4:15: services.web.secrets[0]: source is required" },
	{ "services:\n  web:\n    image: a\n    secrets: [{source: s, uid: -1}]\nsecrets:\n  "
	  "s: {environment: SET}\n",
	  "compose.yaml:4:32: services.web.secrets[0].uid: -1 is out of range (0..4294967294)" },
	{ "services:\n  web:\n    image: a\n    pid: container:x\n",
	  "compose.yaml:4:10: services.web.pid: invalid pid \"container:x\" (only host is "
	  "supported)" },
	{ "services:\n  web:\n    image: a\n    shm_size: 64q\n",
	  "compose.yaml:4:15: services.web.shm_size: invalid byte size \"64q\"" },
	{ "services:\n  web:\n    image: a\n    shm_size: 0\n",
	  "compose.yaml:4:15: services.web.shm_size: must be more than 0 bytes" },
	{ "services:\n  web:\n    image: a\n    mem_swappiness: 101\n",
	  "compose.yaml:4:21: services.web.mem_swappiness: 101 is out of range (0..100)" },
	{ "services:\n  web:\n    image: a\n    memswap_limit: 1g\n",
	  "compose.yaml:4:20: services.web.memswap_limit: needs a memory limit (mem_limit)" },
	{ "services:\n  web:\n    image: a\n    mem_limit: 64m\n    memswap_limit: 32m\n",
	  "compose.yaml:5:20: services.web.memswap_limit: 32m is less than the memory limit (it is "
	  "memory plus swap)" },
	{ "services:\n  web:\n    image: a\n    mem_limit: 64m\n    memswap_limit: lots\n",
	  "compose.yaml:5:20: services.web.memswap_limit: invalid byte size \"lots\" (or -1 for "
	  "unlimited)" },
	{ "services:\n  web:\n    image: a\n    oom_kill_disable: maybe\n",
	  "compose.yaml:4:23: services.web.oom_kill_disable: invalid boolean \"maybe\"" },
	{ "x: &a {k: v}\nservices: {web: {<<: 5, image: a}}\n",
	  "compose.yaml:2:22: merge key (<<) needs a mapping or a list of mappings" },
};

static void test_error_texts(void **state)
{
	int failed = 0;

	for (size_t i = 0; i < SK_ELEMENTSOF(cases); i++) {
		struct sk_app_load_opts o = { .environ = env, .project_name = "t" };
		struct sk_app_diags d = { 0 };
		_cleanup_error_ struct sk_error *err = NULL;
		struct sk_app *app = NULL;
		const char *y = cases[i].yaml;
		int r = sk_app_parse(y, strlen(y), "compose.yaml", &o, &app, &d, &err);

		if (r != -EINVAL || strcmp(err->msg, cases[i].error)) {
			print_error("case %zu: got %d \"%s\"\n         want \"%s\"\n", i, r,
				    err ? err->msg : "(none)", cases[i].error);
			failed++;
		}
		assert_null(app);
		assert_true(d.n_errors >= 1);
		sk_app_diags_release(&d);
	}
	assert_int_equal(failed, 0);
}

static void test_all_errors_listed(void **state)
{
	const char *y = "services:\n"
			"  web:\n"
			"    image: a\n"
			"    stop_grace_period: 5x\n"
			"    build: .\n"
			"    depends_on: [nope]\n"
			"    deploy: {replicas: -2}\n";
	struct sk_app_load_opts o = { .environ = env, .project_name = "t" };
	struct sk_app_diags d = { 0 };
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_app *app = NULL;

	assert_int_equal(sk_app_parse(y, strlen(y), "compose.yaml", &o, &app, &d, &err), -EINVAL);
	assert_int_equal(d.n, 4);
	assert_int_equal(d.n_errors, 3);
	assert_string_equal(
	    d.v[0].msg,
	    "compose.yaml:4:24: services.web.stop_grace_period: invalid duration \"5x\"");
	assert_string_equal(
	    d.v[1].msg,
	    "compose.yaml:5:5: warning: services.web.build is not supported by skiff, ignored");
	assert_string_equal(d.v[2].msg,
			    "compose.yaml:6:18: services.web.depends_on: unknown service \"nope\"");
	assert_string_equal(
	    d.v[3].msg,
	    "compose.yaml:7:24: services.web.deploy.replicas: -2 is out of range (0..100000)");
	assert_string_equal(err->msg, d.v[0].msg);
	sk_app_diags_release(&d);
}

static void test_missing_file(void **state)
{
	struct sk_app_load_opts o = { .file = "/nonexistent-dir/compose.yaml" };
	_cleanup_error_ struct sk_error *err = NULL;
	struct sk_app *app = NULL;
	char *path = NULL;

	assert_int_equal(sk_app_load(&o, &app, NULL, &err), -ENOENT);
	assert_string_equal(err->msg,
			    "read /nonexistent-dir/compose.yaml: No such file or directory");
	sk_error_free(err);
	err = NULL;
	assert_int_equal(sk_app_find_file("/nonexistent-dir", &path, &err), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_texts),
		cmocka_unit_test(test_all_errors_listed),
		cmocka_unit_test(test_missing_file),
	};

	/* relative paths in messages resolve against "/" */
	if (chdir("/") < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
