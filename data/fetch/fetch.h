/*
 * fetch.h - files from a URL, checked by SHA-256, kept in a cache: `pictor fetch` and the URL
 * forms of data.train, data.val and model.pretrained ("URL#sha256=HEX").
 *
 * ALGORITHM (fetch_file)
 *   1. The destination is --out, else <cache>/<first 16 hex of the hash>-<the URL's file name>.
 *      When it exists and its SHA-256 matches, nothing is downloaded (a cache hit).
 *   2. libcurl downloads into "<destination>.part": redirects followed, a connect timeout, a
 *      stall timeout (less than 1 byte/s for stall_timeout_s), retries with back-off (1, 2, 4 ...
 *      s, at most 30) after a network failure or a 5xx; an existing .part is resumed with an HTTP
 *      Range request (a server that answers 200 instead of 206, or 416, makes the .part go and
 *      the file start over at once, without counting as a retry). 4xx answers other than 416 are not retried. file:// URLs
 *      work the same way (a local copy, checked).
 *   3. The finished .part is hashed with OpenSSL's libcrypto (EVP SHA-256). A wrong hash is an
 *      error naming both hashes, and the .part is removed: nothing is left in the cache. A
 *      right one is fsync'ed and renamed into place (fsync of the directory after), so the
 *      destination is either absent or complete.
 *   A progress bar goes to stderr only when stderr is a terminal (progress != 0).
 *
 * The cache directory: cache_dir, else $PICTOR_CACHE, else $XDG_CACHE_HOME/pictor, else
 * $HOME/.cache/pictor (created when missing).
 */
#ifndef PICTOR_FETCH_H
#define PICTOR_FETCH_H

#include <stddef.h>

typedef struct {
    const char *url;           /* http://, https:// or file:// */
    const char *sha256;        /* 64 hex digits (either case) */
    const char *cache_dir;     /* NULL: the default (above) */
    const char *out;           /* NULL: in the cache */
    double connect_timeout_s;  /* 0: 30 */
    double stall_timeout_s;    /* 0: 60 */
    int retries;               /* after the first attempt; < 0: 4 */
    int progress;              /* 1: a bar on a terminal */
} fetch_opts;

/* Download (or find in the cache) o->url; the local path goes to path. 0, or -1 with a message
 * naming the URL and what failed (HTTP status, timeout, hash). */
int fetch_file(const fetch_opts *o, char *path, size_t pathlen, char *err, size_t errlen);

/* 1 when s is a URL fetch_resolve handles (http://, https://, file://). */
int fetch_is_url(const char *s);

/* A config value: a local path is copied as it is; "URL#sha256=HEX" is fetched into the default
 * cache and its local path returned. A URL without #sha256= is an error (what to write). */
int fetch_resolve(const char *value, char *path, size_t pathlen, char *err, size_t errlen);

/* The default cache directory (see above) into buf; buf. */
const char *fetch_cache_dir(char *buf, size_t n);

#endif
