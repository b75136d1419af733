/* The harness of the DAV unit tests (test-dav.h). */
#include "test-dav.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const addresses[] = { TEST_DAV_ME, "al@example.com" };

static void changed(void *ctx, int64_t collection, struct str name, struct str old_data, struct str new_data)
{
	struct test_dav *t = ctx;
	if (t->change_count >= sizeof(t->changes) / sizeof(t->changes[0]))
		return;
	struct test_dav_change *c = &t->changes[t->change_count++];
	c->collection = collection;
	snprintf(c->name, sizeof(c->name), "%.*s", (int)name.len, name.ptr);
	c->had_old = old_data.len > 0;
	c->has_new = new_data.len > 0;
}

int test_dav_setup(void **state)
{
	struct test_dav *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	memcpy(t->dir, TEST_DAV_TEMPLATE, sizeof(TEST_DAV_TEMPLATE));
	const char *error = NULL;
	if (mkdtemp(t->dir) == NULL || (t->store = dav_store_open(t->dir, &error)) == NULL) {
		free(t);
		return -1;
	}
	t->account = (struct dav_account){ 7, TEST_DAV_ME, "Alice Liddell", addresses, 2 };
	t->hooks = (struct dav_hooks){ t, changed };
	t->env = (struct dav_env){ t->store, &t->account, &t->hooks };
	dav_response_init(&t->resp);
	*state = t;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

int test_dav_teardown(void **state)
{
	struct test_dav *t = *state;
	dav_response_free(&t->resp);
	dav_store_close(&t->store);
	nftw(t->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static const struct {
	const char *name;
	enum http_method m;
} methods[] = {
	{ "GET", HTTP_M_GET }, { "HEAD", HTTP_M_HEAD }, { "POST", HTTP_M_POST }, { "PUT", HTTP_M_PUT },
	{ "DELETE", HTTP_M_DELETE }, { "OPTIONS", HTTP_M_OPTIONS }, { "PROPFIND", HTTP_M_PROPFIND },
	{ "PROPPATCH", HTTP_M_PROPPATCH }, { "MKCOL", HTTP_M_MKCOL }, { "MKCALENDAR", HTTP_M_MKCALENDAR },
	{ "COPY", HTTP_M_COPY }, { "MOVE", HTTP_M_MOVE }, { "REPORT", HTTP_M_REPORT }, { "LOCK", HTTP_M_LOCK },
	{ "UNLOCK", HTTP_M_UNLOCK },
};

int test_dav_req(struct test_dav *t, const char *method, const char *target, const char *const *headers,
		 const char *body)
{
	struct http_request *req = calloc(1, sizeof(*req));
	assert_non_null(req);
	req->method = HTTP_M_OTHER;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, method) == 0)
			req->method = methods[i].m;
	req->method_name = str_c(method);
	req->target = str_c(target);
	req->version = 11;
	req->keep_alive = true;
	req->headers[req->header_count++] = (struct http_header){ STR("Host"), STR("dav.example.com") };
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i += 2)
		req->headers[req->header_count++] = (struct http_header){ str_c(headers[i]), str_c(headers[i + 1]) };
	req->body = str_c(body);
	req->content_length = req->body.len;
	dav_handle(&t->env, req, &t->resp);
	free(req);
	return t->resp.status;
}

bool test_dav_has(const struct test_dav *t, const char *text)
{
	return t->resp.body.data != NULL && strstr(t->resp.body.data, text) != NULL;
}

bool test_dav_header(const struct test_dav *t, const char *line)
{
	return t->resp.headers.data != NULL && strstr(t->resp.headers.data, line) != NULL;
}

const char *test_dav_event(const char *uid)
{
	static char buf[512];
	snprintf(buf, sizeof(buf), "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
		 "UID:%s\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260102T100000Z\r\nDTEND:20260102T110000Z\r\n"
		 "SUMMARY:Meeting %s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", uid, uid);
	return buf;
}

int test_dav_put_event(struct test_dav *t, const char *name, const char *uid)
{
	char target[256];
	snprintf(target, sizeof(target), TEST_DAV_CAL "%s", name);
	const char *h[] = { "Content-Type", "text/calendar; charset=utf-8", NULL };
	return test_dav_req(t, "PUT", target, h, test_dav_event(uid));
}
