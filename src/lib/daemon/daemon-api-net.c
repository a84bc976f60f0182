/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon-api-net.c - the API of skiff's traffic layer: faults injected at
 * runtime (`skiff fault`) and the app's network (`skiff inspect`).
 *
 *   GET    /v1/apps/{app}/faults                    faults in force, per service
 *   PUT    /v1/apps/{app}/services/{service}/fault  body: a fault object
 *   DELETE /v1/apps/{app}/services/{service}/fault  no fault any more
 *   GET    /v1/apps/{app}/network                   subnet, bridge, addresses
 *
 * A runtime fault overrides the service's x-skiff.fault, is kept in the
 * store (it survives a skiffd restart) and is in the proxy's table before
 * the answer is sent.  DELETE records "no fault" (it also silences the
 * file's x-skiff.fault until the next `skiff fault`).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "daemon/daemon-internal.h"

static bool fault_active(const struct sk_app_fault *f)
{
	return (f->delay_ns > 0 && f->delay_percent > 0) ||
	       (f->abort_status > 0 && f->abort_percent > 0);
}

static json_t *fault_entry(const struct sk_dservice *s)
{
	const struct sk_app_fault *f = sk_routes_fault(s);

	return json_pack("{s:s, s:o, s:s, s:b}", "service", s->name, "fault", sk_app_fault_json(f),
			 "source", s->fault_set ? "runtime" : "file", "active", fault_active(f));
}

static void faults_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_dapp *a = sk_daemon_api_app(userdata, req, resp);
	json_t *arr;

	if (!a)
		return;
	arr = json_array();
	for (size_t i = 0; i < a->n_s; i++)
		if (!a->s[i]->removed)
			json_array_append_new(arr, fault_entry(a->s[i]));
	sk_api_respond_json(resp, 200, json_pack("{s:o}", "faults", arr));
}

static void fault_set(struct sk_daemon *d, struct sk_dservice *s, const struct sk_app_fault *f,
		      struct sk_api_response *resp)
{
	struct sk_dapp *a = s->app;
	json_t *j = sk_app_fault_json(f);
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	struct sk_error *err = NULL;

	json_decref(j);
	if (sk_store_fault_put(d->store, a->name, s->name, text, &err) < 0) {
		sk_api_respond_error(resp, 500, "%s", err->msg);
		sk_error_free(err);
		return;
	}
	s->fault = *f;
	s->fault_set = true;
	sk_routes_publish_now(d);
	sk_daemon_event(d, a->name, s->name, 0, SK_STORE_EV_UPDATE,
			json_pack("{s:o}", "fault", sk_app_fault_json(f)), "fault %s: %s",
			fault_active(f) ? "injected" : "cleared", text);
	sk_api_respond_json(resp, 200, fault_entry(s));
}

static struct sk_dservice *service_find(struct sk_dapp *a, struct sk_api_request *req,
					struct sk_api_response *resp)
{
	const char *name = sk_api_request_param(req, "service");
	struct sk_dservice *s = sk_dservice_find(a, name);

	if (!s || s->removed) {
		sk_api_respond_error(resp, 404, "no such service '%s'", name);
		return NULL;
	}
	return s;
}

static void fault_put_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_dapp *a = sk_daemon_api_app(d, req, resp);
	struct sk_dservice *s = a ? service_find(a, req, resp) : NULL;
	struct sk_app_fault f = { 0 };
	struct sk_error *err = NULL;
	json_t *body = NULL;

	if (!s)
		return;
	if (sk_api_request_json(req, &body, &err) < 0 ||
	    sk_app_fault_parse_json(body, &f, &err) < 0) {
		sk_api_respond_error(resp, 400, "%s", err->msg);
		sk_error_free(err);
		return;
	}
	fault_set(d, s, &f, resp);
}

static void fault_delete_cb(struct sk_api_request *req, struct sk_api_response *resp,
			    void *userdata)
{
	struct sk_daemon *d = userdata;
	struct sk_dapp *a = sk_daemon_api_app(d, req, resp);
	struct sk_dservice *s = a ? service_find(a, req, resp) : NULL;

	if (s)
		fault_set(d, s, &(struct sk_app_fault){ 0 }, resp);
}

static json_t *addr_json(struct in_addr a)
{
	char buf[INET_ADDRSTRLEN];

	return json_string(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
}

static void network_cb(struct sk_api_request *req, struct sk_api_response *resp, void *userdata)
{
	struct sk_dapp *a = sk_daemon_api_app(userdata, req, resp);
	json_t *svcs, *o;

	if (!a)
		return;
	if (!a->net) {
		sk_api_respond_json(resp, 200, json_pack("{s:n}", "network"));
		return;
	}
	svcs = json_object();
	for (size_t i = 0; i < a->n_s; i++) {
		struct sk_dservice *s = a->s[i];
		json_t *reps = json_array();
		for (size_t j = 0; j < s->n_r; j++)
			if (s->r[j]->has_addr)
				json_array_append_new(
				    reps, json_pack("{s:s, s:o, s:b}", "name", s->r[j]->id,
						    "address", addr_json(s->r[j]->addr), "ready",
						    sk_routes_ready(s->r[j])));
		json_object_set_new(svcs, s->name,
				    json_pack("{s:o, s:o}", "virtual_address",
					      s->has_vip ? addr_json(s->vip) : json_null(),
					      "replicas", reps));
	}
	o = json_pack("{s:s, s:s, s:o, s:b, s:o}", "subnet", a->net->subnet, "bridge",
		      a->net->bridge, "gateway", addr_json(a->net->gw), "egress", a->net->egress,
		      "services", svcs);
	sk_api_respond_json(resp, 200, json_pack("{s:o}", "network", o));
}

void sk_daemon_api_net_routes(struct sk_daemon *d)
{
	struct sk_api_server *s = d->api;

	sk_api_server_route(s, "GET", "/v1/apps/{app}/faults", 0, faults_cb, d);
	sk_api_server_route(s, "PUT", "/v1/apps/{app}/services/{service}/fault", 0, fault_put_cb,
			    d);
	sk_api_server_route(s, "DELETE", "/v1/apps/{app}/services/{service}/fault", 0,
			    fault_delete_cb, d);
	sk_api_server_route(s, "GET", "/v1/apps/{app}/network", 0, network_cb, d);
}
