/* Unit tests of the redirect rules (core/http_redirect.c), without a
 * server: what an origin is, which hops carry the manifest's headers, the
 * targets refused (https to http, not http(s), a loop, an 11th hop), and the
 * remembered target (kept, started from, left once on 404/403). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http_redirect.h"

static void test_same_origin(void **state) {
    (void)state;
    assert_true(irpa_http_same_origin("http://Hub.example/a?x=1", "HTTP://hub.example:80/b"));
    assert_true(irpa_http_same_origin("https://hub.example/a", "https://hub.example:443/"));
    assert_false(irpa_http_same_origin("https://hub.example/a", "http://hub.example/a"));
    assert_false(irpa_http_same_origin("http://hub.example/a", "http://hub.example:8080/a"));
    assert_false(irpa_http_same_origin("http://127.0.0.1:5000/a", "http://localhost:5000/a"));
    assert_false(irpa_http_same_origin("http://hub.example/a", "http://cdn.hub.example/a"));
    assert_false(irpa_http_same_origin("http://hub.example/a", "not a url"));
}

/* The key the mount's per-server limit goes by: no user, password, path
 * or query; the default port written out; names in lower case. */
static void test_origin_key(void **state) {
    (void)state;
    char key[IRPA_HTTP_ORIGIN_SIZE];
    assert_int_equal(irpa_http_origin_key("HTTPS://u:pw@Hub.Example/a/b?token=x", key, sizeof key),
                     0);
    assert_string_equal(key, "https://hub.example:443");
    assert_int_equal(irpa_http_origin_key("http://127.0.0.1:8080/m", key, sizeof key), 0);
    assert_string_equal(key, "http://127.0.0.1:8080");
    assert_int_equal(irpa_http_origin_key("not a url", key, sizeof key), -1);
    assert_int_equal(irpa_http_origin_key("http://hub.example/", key, 8), -1);  /* too long */
}

/* A chain started at `url` (no remembered target). */
static irpa_redirect_chain chain_at(irpa_redirect_memo *memo, const char *url) {
    irpa_redirect_chain chain = {0};
    assert_int_equal(irpa_redirect_memo_start(memo, &chain, url), 0);
    return chain;
}

static void test_headers_only_within_the_origin(void **state) {
    (void)state;
    const char *manifest = "https://hub.example/m.gguf?token=SECRET";
    irpa_redirect_memo memo;
    irpa_redirect_memo_init(&memo);
    irpa_redirect_chain chain = chain_at(&memo, manifest);
    irpa_http_error error = {0};
    assert_true(chain.send_headers);
    assert_false(chain.from_memo);
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", "https://hub.example/2", 302,
                                          &error), 0);
    assert_true(chain.send_headers);
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub",
                                          "https://cdn.example/x?X-Amz-Signature=SIG", 302,
                                          &error), 0);
    assert_false(chain.send_headers);
    assert_string_equal(chain.url, "https://cdn.example/x?X-Amz-Signature=SIG");
    /* back on the manifest's origin: its headers again (as curl does) */
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", "https://hub.example/3", 307,
                                          &error), 0);
    assert_true(chain.send_headers);
    assert_int_equal(chain.hops, 3);
    /* a failure names where it came from, redacted, when not the manifest's URL */
    irpa_http_fail(&error, IRPA_HTTP_NOT_FOUND, 404, "hub: HTTP 404 Not Found");
    irpa_redirect_name_target(&chain, manifest, &error);
    assert_string_equal(error.message,
                        "hub: HTTP 404 Not Found (redirected to https://hub.example/3)");
    irpa_redirect_chain_free(&chain);
    chain = chain_at(&memo, manifest);
    irpa_redirect_name_target(&chain, manifest, &error);
    assert_string_equal(error.message,
                        "hub: HTTP 404 Not Found (redirected to https://hub.example/3)");
    irpa_redirect_chain_free(&chain);
    irpa_redirect_memo_destroy(&memo);
}

static void test_refused_targets(void **state) {
    (void)state;
    const char *manifest = "https://hub.example/m.gguf";
    irpa_redirect_memo memo;
    irpa_redirect_memo_init(&memo);
    irpa_redirect_chain chain = chain_at(&memo, manifest);
    irpa_http_error error = {0};
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", "http://hub.example/m.gguf?s=Q",
                                          301, &error), -1);
    assert_int_equal(error.fault, IRPA_HTTP_BAD_REQUEST);
    assert_int_equal(error.status, 301);
    assert_non_null(strstr(error.message, "hub: HTTP 301 redirect to http://hub.example/m.gguf?... "
                                          "not followed: an https URL is never followed to http"));
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", "ftp://hub.example/m", 302,
                                          &error), -1);
    assert_int_equal(error.fault, IRPA_HTTP_BAD_REQUEST);
    assert_string_equal(chain.url, manifest); /* unchanged */
    assert_int_equal(chain.hops, 0);
    /* an http manifest URL may go to https and back */
    irpa_redirect_chain plain = chain_at(&memo, "http://hub.example/m");
    assert_int_equal(irpa_redirect_follow(&plain, "http://hub.example/m", "hub",
                                          "https://cdn.example/m", 302, &error), 0);
    assert_int_equal(irpa_redirect_follow(&plain, "http://hub.example/m", "hub",
                                          "http://cdn2.example/m", 302, &error), 0);
    irpa_redirect_chain_free(&plain);
    irpa_redirect_chain_free(&chain);
    irpa_redirect_memo_destroy(&memo);
}

static void test_loop_and_too_many(void **state) {
    (void)state;
    const char *manifest = "http://hub.example/0";
    irpa_redirect_memo memo;
    irpa_redirect_memo_init(&memo);
    irpa_redirect_chain chain = chain_at(&memo, manifest);
    irpa_http_error error = {0};
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", "http://hub.example/1", 302,
                                          &error), 0);
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", manifest, 302, &error), -1);
    assert_int_equal(error.fault, IRPA_HTTP_OTHER);
    assert_string_equal(error.message, "hub: redirect loop: HTTP 302 back to http://hub.example/0");
    char target[64];
    for (int i = 2; i <= IRPA_HTTP_MAX_REDIRECTS; i++) {
        snprintf(target, sizeof target, "http://hub.example/%d", i);
        assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", target, 302, &error), 0);
    }
    assert_int_equal(chain.hops, IRPA_HTTP_MAX_REDIRECTS);
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", "http://hub.example/x?q", 302,
                                          &error), -1);
    assert_string_equal(error.message,
                        "hub: more than 10 redirects (the last to http://hub.example/x?...)");
    irpa_redirect_chain_free(&chain);
    irpa_redirect_memo_destroy(&memo);
}

static void test_remembered_target(void **state) {
    (void)state;
    const irpa_http_error status_503 = {IRPA_HTTP_STATUS, 503, ""},
                          not_found = {IRPA_HTTP_NOT_FOUND, 404, ""},
                          forbidden = {IRPA_HTTP_FORBIDDEN, 403, ""};
    const char *manifest = "https://hub.example/m.gguf";
    irpa_redirect_memo memo;
    irpa_redirect_memo_init(&memo);
    irpa_http_error error = {0};
    irpa_redirect_chain chain = chain_at(&memo, manifest);
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", "https://cdn.example/x", 302,
                                          &error), 0);
    irpa_redirect_memo_keep(&memo, &chain);
    irpa_redirect_chain_free(&chain);
    /* later chains start at the target, without the manifest's headers */
    chain = chain_at(&memo, manifest);
    assert_string_equal(chain.url, "https://cdn.example/x");
    assert_true(chain.from_memo);
    assert_false(chain.send_headers);
    /* a 5xx does not leave it; a 404 does, once */
    assert_false(irpa_redirect_memo_fall_back(&memo, &chain, manifest, &status_503));
    assert_true(irpa_redirect_memo_fall_back(&memo, &chain, manifest, &not_found));
    assert_string_equal(chain.url, manifest);
    assert_true(chain.send_headers);
    assert_false(irpa_redirect_memo_fall_back(&memo, &chain, manifest, &forbidden));
    irpa_redirect_chain_free(&chain);
    chain = chain_at(&memo, manifest);
    assert_false(chain.from_memo); /* forgotten */
    /* an expired GCS signed URL answers 400 */
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", "https://gcs.example/y", 302,
                                          &error), 0);
    irpa_redirect_memo_keep(&memo, &chain);
    irpa_redirect_chain_free(&chain);
    chain = chain_at(&memo, manifest);
    const irpa_http_error expired = {IRPA_HTTP_STATUS, 400, ""};
    assert_true(irpa_redirect_memo_fall_back(&memo, &chain, manifest, &expired));
    /* a chain from the manifest URL that was redirected again is remembered */
    assert_int_equal(irpa_redirect_follow(&chain, manifest, "hub", "https://hub.example/2", 302,
                                          &error), 0);
    irpa_redirect_memo_keep(&memo, &chain);
    irpa_redirect_chain_free(&chain);
    chain = chain_at(&memo, manifest);
    assert_true(chain.from_memo);
    assert_string_equal(chain.url, "https://hub.example/2");
    assert_true(chain.send_headers); /* same origin */
    irpa_redirect_chain_free(&chain);
    /* one from the manifest URL that was not redirected clears it */
    irpa_redirect_memo none;
    irpa_redirect_memo_init(&none);
    chain = chain_at(&none, manifest);
    irpa_redirect_memo_keep(&memo, &chain);
    irpa_redirect_chain_free(&chain);
    chain = chain_at(&memo, manifest);
    assert_false(chain.from_memo);
    irpa_redirect_chain_free(&chain);
    irpa_redirect_memo_destroy(&none);
    irpa_redirect_memo_destroy(&memo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_origin),
        cmocka_unit_test(test_origin_key),
        cmocka_unit_test(test_headers_only_within_the_origin),
        cmocka_unit_test(test_refused_targets),
        cmocka_unit_test(test_loop_and_too_many),
        cmocka_unit_test(test_remembered_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
