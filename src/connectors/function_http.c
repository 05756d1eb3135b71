/*
 * `connector = http`: a function served by a model server, called with the
 * REST convention of TensorFlow Serving, MLflow and KServe v1:
 *
 *   POST url   {"instances": [{"review": "..."}, ...]}      one object per row,
 *                                                          arguments by name
 *   200        {"predictions": [0.7, ...]}                 one result per row
 *
 * One request per `batch_size` rows; up to `max_in_flight` requests of a
 * batch are in flight at once (libcurl multi interface).  A request that
 * fails — no connection, no answer within `timeout`, a status other than
 * 200, or a body that is not such an object with one prediction per
 * instance — is sent again up to `retries` times, then its rows count as
 * failed (the profile's on_error).  Waits are sliced at SLUICE_STOP_SLICE_MS
 * and give up on a stop request (src/base/stop.h).
 *
 * JSON numbers are doubles: a BIGINT argument or result beyond 2^53 loses
 * precision.  TIMESTAMP arguments are sent as epoch milliseconds.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "connectors/function.h"
#include "base/config.h"
#include "base/option_spec.h"
#include "base/stop.h"

typedef struct http_fn {
    char *url;
    long timeout_ms;
    int retries;
    size_t max_in_flight;
    size_t batch_size;
    const sluice_function_plan *f;
    CURLM *multi;
    struct curl_slist *headers;
    cJSON **docs; /* the answers of the last call: their strings are its VARCHAR results */
    size_t ndocs;
} http_fn;

typedef struct request {
    size_t r0, n;
    int attempts;
    CURL *easy;
    char *body;
    char *resp;
    size_t resp_len;
    int active;
} request;


/* The keys of [function NAME] with connector = http, as an option table
 * (sluice/module.h); connector, batch_size and on_error are read by the
 * pipeline, the rest here.  In this order the names are the list the
 * unknown-key message gives. */
static const sluice_option_spec http_specs[] = {
    {"connector", SLUICE_OPT_STRING, NULL, "`http`", NULL, 0, 0, SLUICE_OPT_REQUIRED},
    {"url", SLUICE_OPT_STRING, NULL, "the model's predict endpoint, `http://HOST:PORT/PATH` (or https)", NULL, 0, 0,
     SLUICE_OPT_REQUIRED},
    {"batch_size", SLUICE_OPT_INT, "512", "rows per request, at most", NULL, 1, 1000000, 0},
    {"timeout", SLUICE_OPT_DURATION, "30s", "a request without an answer after this long fails (at most 1h)", NULL,
     0, 0, 0},
    {"retries", SLUICE_OPT_INT, "2", "attempts of a failed request after the first", NULL, 0, 100, 0},
    {"max_in_flight", SLUICE_OPT_INT, "4", "requests of one batch in flight at once", NULL, 1, 256, 0},
    {"on_error", SLUICE_OPT_ENUM, "dead_letter",
     "a row whose request failed goes to the dead letter, gets NULL, or stops the pipeline", "dead_letter|null|fail",
     0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

typedef struct http_settings {
    const char *url;
    int64_t timeout_ms, retries, max_in_flight;
} http_settings;

static sluice_err_t settings(const sluice_function_plan *f, const sluice_option *opts, size_t n, http_settings *s,
                             char *errstr, size_t errstr_size) {
    s->url = NULL;
    s->timeout_ms = 30000;
    s->retries = 2;
    s->max_in_flight = 4;
    for (size_t i = 0; i < n; i++) {
        if (sluice_option_spec_find(http_specs, opts[i].key)) continue;
        char names[300];
        sluice_option_spec_names(http_specs, names, sizeof names);
        return sluice_function_option_error(errstr, errstr_size, &opts[i], "unknown key '%s' in [function %s] for connector 'http' (expected "
                    "one of: %s)", opts[i].key, f->name, names);
    }
    const sluice_option *o = sluice_function_option(opts, n, "url");
    if (!o || (strncmp(o->value, "http://", 7) != 0 && strncmp(o->value, "https://", 8) != 0))
        return sluice_function_option_error(errstr, errstr_size, o ? o : sluice_function_option(opts, n, "connector"),
                    "[function %s]: connector = http needs url = http://HOST:PORT/PATH (the model's predict "
                    "endpoint)",
                    f->name);
    s->url = o->value;
    if ((o = sluice_function_option(opts, n, "timeout")) && (sluice_parse_duration_ms(o->value, &s->timeout_ms) != 0 ||
                                           s->timeout_ms <= 0 || s->timeout_ms > 3600000))
        return sluice_function_option_error(errstr, errstr_size, o, "timeout = '%s' in [function %s]: expected a duration such as 30s",
                    o->value, f->name);
    if ((o = sluice_function_option(opts, n, "retries"))) {
        char *end;
        long v = strtol(o->value, &end, 10);
        if (*end || end == o->value || v < 0 || v > 100)
            return sluice_function_option_error(errstr, errstr_size, o, "retries = '%s' in [function %s]: expected 0 to 100", o->value,
                        f->name);
        s->retries = v;
    }
    if ((o = sluice_function_option(opts, n, "max_in_flight")) &&
        (sluice_parse_positive(o->value, &s->max_in_flight) != 0 || s->max_in_flight > 256))
        return sluice_function_option_error(errstr, errstr_size, o, "max_in_flight = '%s' in [function %s]: expected 1 to 256", o->value,
                    f->name);
    return SLUICE_OK;
}

static sluice_err_t http_validate(const sluice_function_plan *f, const sluice_option *opts, size_t n, char *errstr,
                                  size_t errstr_size) {
    http_settings s;
    return settings(f, opts, n, &s, errstr, errstr_size);
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx) {
    request *rq = ctx;
    size_t len = size * nmemb;
    char *p = realloc(rq->resp, rq->resp_len + len + 1);
    if (!p) return 0;
    memcpy(p + rq->resp_len, data, len);
    rq->resp = p;
    rq->resp_len += len;
    p[rq->resp_len] = '\0';
    return len;
}

static cJSON *arg_json(const sluice_value *v) {
    switch (v->type) {
    case SLUICE_TYPE_NULL: return cJSON_CreateNull();
    case SLUICE_TYPE_BOOLEAN: return cJSON_CreateBool((int)v->u.i);
    case SLUICE_TYPE_DOUBLE: return cJSON_CreateNumber(v->u.d);
    case SLUICE_TYPE_VARCHAR: {
        char *s = strndup(v->u.s, v->len);
        if (!s) return NULL;
        cJSON *j = cJSON_CreateString(s);
        free(s);
        return j;
    }
    default: return cJSON_CreateNumber((double)v->u.i);
    }
}

/* {"instances": [{arg: value, ...}, ...]} for rows r0 .. r0+n. */
static char *request_body(const http_fn *h, size_t r0, size_t n, size_t nargs, const sluice_value *args) {
    cJSON *root = cJSON_CreateObject();
    cJSON *inst = cJSON_AddArrayToObject(root, "instances");
    for (size_t r = r0; inst && r < r0 + n; r++) {
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cJSON_AddItemToArray(inst, o);
        for (size_t i = 0; i < nargs; i++) {
            cJSON *v = arg_json(&args[r * nargs + i]);
            if (v) cJSON_AddItemToObject(o, h->f->arg_names[i], v);
        }
    }
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return body;
}

static int start(http_fn *h, request *rq) {
    if (!rq->easy) {
        if (!(rq->easy = curl_easy_init())) return -1;
        curl_easy_setopt(rq->easy, CURLOPT_URL, h->url);
        curl_easy_setopt(rq->easy, CURLOPT_HTTPHEADER, h->headers);
        curl_easy_setopt(rq->easy, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(rq->easy, CURLOPT_TIMEOUT_MS, h->timeout_ms);
        curl_easy_setopt(rq->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(rq->easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(rq->easy, CURLOPT_WRITEDATA, rq);
        curl_easy_setopt(rq->easy, CURLOPT_PRIVATE, rq);
    }
    free(rq->resp);
    rq->resp = NULL;
    rq->resp_len = 0;
    rq->attempts++;
    rq->active = 1;
    return curl_multi_add_handle(h->multi, rq->easy) == CURLM_OK ? 0 : -1;
}

/* A prediction as a value of the declared type; -1 when it is not one. */
static int prediction(const cJSON *p, sluice_type_t want, sluice_value *out) {
    if (cJSON_IsNull(p)) {
        *out = sluice_value_null();
        return 0;
    }
    switch (want) {
    case SLUICE_TYPE_DOUBLE:
        if (!cJSON_IsNumber(p)) return -1;
        *out = sluice_value_double(p->valuedouble);
        return 0;
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_TIMESTAMP:
        if (!cJSON_IsNumber(p) || p->valuedouble != (double)(int64_t)p->valuedouble) return -1;
        *out = sluice_value_bigint((int64_t)p->valuedouble);
        out->type = (uint8_t)want;
        return 0;
    case SLUICE_TYPE_BOOLEAN:
        if (!cJSON_IsBool(p)) return -1;
        *out = sluice_value_bool(cJSON_IsTrue(p));
        return 0;
    case SLUICE_TYPE_VARCHAR:
        if (!cJSON_IsString(p)) return -1;
        *out = sluice_value_varchar(p->valuestring, strlen(p->valuestring));
        return 0;
    default: return -1;
    }
}

/* Read one finished request's answer into results; 0, or -1 with why. */
static int take_answer(http_fn *h, request *rq, CURLcode code, sluice_value *results, char *why, size_t why_size) {
    if (code != CURLE_OK) {
        snprintf(why, why_size, "%s: %s", h->url, curl_easy_strerror(code));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(why, why_size, "%s: HTTP status %ld", h->url, status);
        return -1;
    }
    cJSON *doc = rq->resp ? cJSON_Parse(rq->resp) : NULL;
    const cJSON *preds = doc ? cJSON_GetObjectItemCaseSensitive(doc, "predictions") : NULL;
    if (!cJSON_IsArray(preds) || (size_t)cJSON_GetArraySize(preds) != rq->n) {
        snprintf(why, why_size, "%s: the answer is not {\"predictions\": [...]} with %zu prediction(s)", h->url,
                 rq->n);
        cJSON_Delete(doc);
        return -1;
    }
    size_t i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, preds) {
        if (prediction(p, h->f->returns, &results[rq->r0 + i]) != 0) {
            snprintf(why, why_size, "%s: prediction %zu is not a %s", h->url, i, sluice_type_name(h->f->returns));
            cJSON_Delete(doc);
            return -1;
        }
        i++;
    }
    cJSON **d = realloc(h->docs, (h->ndocs + 1) * sizeof *d);
    if (!d) {
        cJSON_Delete(doc);
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    h->docs = d;
    h->docs[h->ndocs++] = doc;
    return 0;
}

static void free_docs(http_fn *h) {
    for (size_t i = 0; i < h->ndocs; i++) cJSON_Delete(h->docs[i]);
    h->ndocs = 0;
}

static int http_call(void *ctx, size_t nrows, size_t nargs, const sluice_value *args, sluice_value *results,
                     unsigned char *failed, char *err, size_t err_size) {
    http_fn *h = ctx;
    free_docs(h);
    size_t nreq = (nrows + h->batch_size - 1) / h->batch_size;
    request *rqs = calloc(nreq ? nreq : 1, sizeof *rqs);
    if (!rqs) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t k = 0; k < nreq; k++) {
        rqs[k].r0 = k * h->batch_size;
        rqs[k].n = nrows - rqs[k].r0 < h->batch_size ? nrows - rqs[k].r0 : h->batch_size;
        if (!(rqs[k].body = request_body(h, rqs[k].r0, rqs[k].n, nargs, args))) {
            snprintf(err, err_size, "out of memory");
            rc = -1;
            goto done;
        }
    }
    size_t next = 0, in_flight = 0, finished = 0;
    char why[300] = "";
    while (finished < nreq) {
        while (in_flight < h->max_in_flight && next < nreq) {
            if (start(h, &rqs[next]) != 0) {
                snprintf(err, err_size, "cannot start a request to %s", h->url);
                rc = -1;
                goto done;
            }
            next++;
            in_flight++;
        }
        int running;
        curl_multi_perform(h->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(h->multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            request *rq;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&rq);
            CURLcode code = msg->data.result;
            curl_multi_remove_handle(h->multi, rq->easy);
            rq->active = 0;
            if (take_answer(h, rq, code, results, why, sizeof why) == 0) {
                finished++;
                in_flight--;
                continue;
            }
            if (rq->attempts <= h->retries) {
                if (start(h, rq) != 0) {
                    snprintf(err, err_size, "cannot start a request to %s", h->url);
                    rc = -1;
                    goto done;
                }
                continue;
            }
            /* out of retries: these rows fail (on_error decides) */
            memset(failed + rq->r0, 1, rq->n);
            snprintf(err, err_size, "%s (after %d attempt%s)", why, rq->attempts, rq->attempts == 1 ? "" : "s");
            rc = -1;
            finished++;
            in_flight--;
        }
        if (finished == nreq) break;
        if (sluice_stop_requested()) {
            rc = SLUICE_ERR_STOPPED;
            goto done;
        }
        curl_multi_poll(h->multi, NULL, 0, SLUICE_STOP_SLICE_MS, NULL);
    }
done:
    for (size_t k = 0; k < nreq; k++) {
        if (rqs[k].easy) {
            if (rqs[k].active) curl_multi_remove_handle(h->multi, rqs[k].easy);
            curl_easy_cleanup(rqs[k].easy);
        }
        free(rqs[k].body);
        free(rqs[k].resp);
    }
    free(rqs);
    return rc;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void http_close(sluice_udf_binding *b) {
    http_fn *h = b->ctx;
    if (!h) return;
    free_docs(h);
    free(h->docs);
    if (h->multi) curl_multi_cleanup(h->multi);
    curl_slist_free_all(h->headers);
    free(h->url);
    free(h);
    b->ctx = NULL;
}

static sluice_err_t http_open(const sluice_function_plan *f, const sluice_option *opts, size_t n,
                              const char *const *kv, sluice_udf_binding *b, char *errstr, size_t errstr_size) {
    (void)kv;
    http_settings s;
    sluice_err_t err = settings(f, opts, n, &s, errstr, errstr_size);
    if (err) return err;
    pthread_once(&curl_once, curl_init);
    http_fn *h = calloc(1, sizeof *h);
    if (!h) return SLUICE_ERR_NOMEM;
    b->ctx = h;
    b->call = http_call;
    b->call_rows = 0; /* the whole batch: requests are split and pipelined here */
    h->f = f;
    h->batch_size = b->batch_size;
    h->timeout_ms = (long)s.timeout_ms;
    h->retries = (int)s.retries;
    h->max_in_flight = (size_t)s.max_in_flight;
    if (!(h->url = strdup(s.url)) || !(h->multi = curl_multi_init()) ||
        !(h->headers = curl_slist_append(NULL, "Content-Type: application/json")))
        return SLUICE_ERR_NOMEM;
    return SLUICE_OK;
}

const sluice_function_connector sluice_function_http = {
    .name = "http",
    .validate = http_validate,
    .open = http_open,
    .close = http_close,
};
