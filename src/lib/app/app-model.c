/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app-model.c - lifecycle of the app model: releasing services, volumes and
 * networks, sorting and finding services.
 */
#include "app/app-internal.h"

#include <string.h>

void sk_app_service_release(struct sk_app_service *s)
{
	free(s->name);
	free(s->image);
	sk_strv_free(s->command);
	sk_strv_free(s->entrypoint);
	sk_app_kvs_release(&s->environment);
	sk_strv_free(s->env_files);
	free(s->working_dir);
	free(s->user);
	free(s->hostname);
	free(s->domainname);
	for (size_t i = 0; i < s->n_ports; i++)
		sk_app_port_release(&s->ports[i]);
	free(s->ports);
	sk_strv_free(s->expose);
	for (size_t i = 0; i < s->n_volumes; i++)
		sk_app_mount_release(&s->volumes[i]);
	free(s->volumes);
	for (size_t i = 0; i < s->n_tmpfs; i++)
		sk_app_mount_release(&s->tmpfs[i]);
	free(s->tmpfs);
	for (size_t i = 0; i < s->n_depends_on; i++)
		free(s->depends_on[i].service);
	free(s->depends_on);
	sk_strv_free(s->healthcheck.test);
	sk_strv_free(s->cap_add);
	sk_strv_free(s->cap_drop);
	free(s->stop_signal);
	sk_app_security_release(&s->security);
	for (size_t i = 0; i < s->n_secrets; i++)
		sk_app_secret_ref_release(&s->secrets[i]);
	free(s->secrets);
	for (size_t i = 0; i < s->n_ulimits; i++)
		free(s->ulimits[i].name);
	free(s->ulimits);
	sk_app_kvs_release(&s->sysctls);
	sk_app_kvs_release(&s->labels);
	free(s->cpuset);
	sk_strv_free(s->profiles);
	free(s->network_mode_ref);
	for (size_t i = 0; i < s->n_networks; i++) {
		free(s->networks[i].network);
		sk_strv_free(s->networks[i].aliases);
		free(s->networks[i].ipv4_address);
		free(s->networks[i].ipv6_address);
	}
	free(s->networks);
	free(s->x_skiff.probe.path);
	free(s->x_skiff.fallback);
	free(s->extensions);
	*s = (struct sk_app_service){ 0 };
}

static void volume_release(struct sk_app_volume *v)
{
	free(v->name);
	free(v->ext_name);
	free(v->driver);
	sk_app_kvs_release(&v->driver_opts);
	sk_app_kvs_release(&v->labels);
}

static void network_release(struct sk_app_network *n)
{
	free(n->name);
	free(n->ext_name);
	free(n->driver);
	sk_strv_free(n->subnets);
	sk_app_kvs_release(&n->driver_opts);
	sk_app_kvs_release(&n->labels);
}

void sk_app_free(struct sk_app *app)
{
	if (!app)
		return;
	for (size_t i = 0; i < app->n_services; i++)
		sk_app_service_release(&app->services[i]);
	free(app->services);
	for (size_t i = 0; i < app->n_volumes; i++)
		volume_release(&app->volumes[i]);
	free(app->volumes);
	for (size_t i = 0; i < app->n_networks; i++)
		network_release(&app->networks[i]);
	free(app->networks);
	for (size_t i = 0; i < app->n_secrets; i++)
		sk_app_secret_release(&app->secrets[i]);
	free(app->secrets);
	free(app->name);
	free(app->file);
	free(app->dir);
	free(app->x_skiff.subnet);
	free(app->extensions);
	free(app);
}

static int service_cmp(const void *a, const void *b)
{
	const struct sk_app_service *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void sk_app_sort_services(struct sk_app *app)
{
	if (app->n_services > 1)
		qsort(app->services, app->n_services, sizeof(*app->services), service_cmp);
}

const struct sk_app_service *sk_app_service_find(const struct sk_app *app, const char *name)
{
	for (size_t i = 0; i < app->n_services; i++)
		if (!strcmp(app->services[i].name, name))
			return &app->services[i];
	return NULL;
}
