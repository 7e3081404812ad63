/*
 * assets.h — the web page (web/static/) compiled into the binary.
 *
 *   const struct web_asset *a = web_asset_find("app.js");
 *   if (a) send(a->data, a->size, a->content_type);
 *
 * The rows are generated at build time by scripts/gen-web-assets.py into
 * $(BUILD)/gen/web_assets.c, one per file under web/static/, with the path
 * relative to web/static ("index.html", "img/logo.svg"), a content type by
 * extension and an ETag. The data is static and never freed. Thread-safe.
 */
#ifndef PARLEY_WEB_ASSETS_H
#define PARLEY_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *path;         /* relative to web/static, no leading slash */
	const char *content_type; /* "text/html; charset=utf-8" */
	const unsigned char *data;
	size_t size;
	const char *etag;         /* quoted, for ETag / If-None-Match */
};

/* The generated table, ended by a row with path NULL. */
extern const struct web_asset web_assets[];

/* The asset at path (relative, exact match), or NULL. */
const struct web_asset *web_asset_find(const char *path);

#endif
