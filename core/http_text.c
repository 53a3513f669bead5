/* http_text.c: the text of requests, without libcurl (http.h): header
 * lines and ${VAR} in their values, URLs as messages show them, errors as
 * values. */
#include "http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void irpa_http_redact(const char *url, char *out, size_t out_size) {
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    size_t host_span = strcspn(host, "/?#");
    const char *at = memchr(host, '@', host_span);
    size_t query = strcspn(url, "?#");
    size_t prefix = (size_t)(host - url);
    const char *after_user = at ? at + 1 : host;
    size_t rest = query - (size_t)(after_user - url);
    snprintf(out, out_size, "%.*s%.*s%s", (int)prefix, url, (int)rest, after_user,
             url[query] ? "?..." : "");
}

int irpa_http_fail(irpa_http_error *error, irpa_http_fault fault, long status,
                   const char *format, ...) {
    error->fault = fault;
    error->status = status;
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
    return -1;
}

const char *irpa_http_status_text(long status) {
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

irpa_http_fault irpa_http_status_fault(long status) {
    if (status == 404 || status == 410) return IRPA_HTTP_NOT_FOUND;
    if (status == 401 || status == 403) return IRPA_HTTP_FORBIDDEN;
    if (status == 416) return IRPA_HTTP_RANGE;
    if (status == 412) return IRPA_HTTP_REPLACED;
    return IRPA_HTTP_STATUS;
}

static bool is_variable_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

int irpa_http_expand(const char *header, const char *text, bool environment, char **out,
                     irpa_http_error *error) {
    size_t capacity = strlen(text) + 1, used = 0;
    char *result = malloc(capacity);
    if (!result) return irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
    for (const char *p = text; *p;) {
        const char *piece = p;
        size_t piece_length = 1;
        char name[256];
        if (p[0] == '$' && p[1] == '{' && !environment) {
            free(result);
            return irpa_http_fail(error, IRPA_HTTP_BAD_REQUEST, 0,
                             "header '%s': ${...} is taken from the environment only in a "
                             "manifest owned by the server's own user", header);
        }
        if (p[0] == '$' && p[1] == '{') {
            const char *end = p + 2;
            while (is_variable_char(*end)) end++;
            size_t name_length = (size_t)(end - (p + 2));
            if (*end != '}' || name_length == 0 || name_length >= sizeof name) {
                free(result);
                return irpa_http_fail(error, IRPA_HTTP_BAD_REQUEST, 0,
                                 "header '%s': '${' must be followed by a variable name and '}'",
                                 header);
            }
            memcpy(name, p + 2, name_length);
            name[name_length] = '\0';
            piece = getenv(name);
            if (!piece) {
                free(result);
                return irpa_http_fail(error, IRPA_HTTP_BAD_REQUEST, 0,
                                 "header '%s': environment variable %s is not set", header, name);
            }
            piece_length = strlen(piece);
            if (strpbrk(piece, "\r\n")) {
                free(result);
                return irpa_http_fail(error, IRPA_HTTP_BAD_REQUEST, 0,
                                 "header '%s': environment variable %s holds a line break",
                                 header, name);
            }
            p = end + 1;
        } else {
            p++;
        }
        if (used + piece_length + 1 > capacity) {
            capacity = (used + piece_length + 1) * 2;
            char *bigger = realloc(result, capacity);
            if (!bigger) {
                free(result);
                return irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
            }
            result = bigger;
        }
        memcpy(result + used, piece, piece_length);
        used += piece_length;
    }
    result[used] = '\0';
    *out = result;
    return 0;
}

/* Whether `name` (`length` bytes) is an HTTP header name: a token (RFC 9110). */
static bool is_token(const char *name, size_t length) {
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("!#$%&'*+-.^_`|~", name[i])) return false;
    return length > 0;
}

int irpa_http_header_line(const char *header, bool environment, char **line,
                          irpa_http_error *error) {
    char name[128];
    size_t name_length = strcspn(header, ":");
    snprintf(name, sizeof name, "%.*s", (int)name_length, header);
    if (!header[name_length] || !is_token(header, name_length))
        return irpa_http_fail(error, IRPA_HTTP_BAD_REQUEST, 0,
                              "header '%s' is not of the form 'Name: value'", name);
    const char *value = header + name_length + 1;
    value += strspn(value, " \t");
    if (strpbrk(value, "\r\n"))
        return irpa_http_fail(error, IRPA_HTTP_BAD_REQUEST, 0,
                              "the value of header '%s' has a line break", name);
    char *expanded = NULL;
    if (irpa_http_expand(name, value, environment, &expanded, error) != 0) return -1;
    int length = asprintf(line, "%.*s: %s", (int)name_length, header, expanded);
    free(expanded);
    if (length < 0) {
        *line = NULL;
        return irpa_http_fail(error, IRPA_HTTP_OTHER, 0, "out of memory");
    }
    return 0;
}
