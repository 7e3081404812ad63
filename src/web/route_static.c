/* route_static.c — the pages: / is index.html (the recorder), /dashboard
 * dashboard.html (with web/static/dash/…), /static/PATH the compiled-in file
 * web/static/PATH (src/web/assets.h). Never touches the file system. */
#include "web/routes.h"

#include <string.h>

#include "web/assets.h"

static void send_asset(struct web_req *q, struct web_resp *r, const char *path)
{
	const struct web_asset *a = web_asset_find(path);
	if (!a) {
		web_resp_fail(r, 404, "not_found", "no file %s", path);
		return;
	}
	web_resp_header(r, "ETag", "%s", a->etag);
	web_resp_header(r, "Cache-Control", "no-cache");
	const char *inm = web_req_header(q, "If-None-Match");
	if (inm && strcmp(inm, a->etag) == 0) {
		r->status = 304;
		return;
	}
	r->status = 200;
	r->content_type = a->content_type;
	r->static_body = a->data;
	r->len = a->size;
}

void route_index(struct web_req *q, struct web_resp *r)
{
	send_asset(q, r, "index.html");
}

void route_dashboard(struct web_req *q, struct web_resp *r)
{
	send_asset(q, r, "dashboard.html");
}

void route_static(struct web_req *q, struct web_resp *r)
{
	send_asset(q, r, q->params.rest);
}
