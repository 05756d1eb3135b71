/*
 * The loopback model server of model_server.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model_server.h"
#include "sluice/function.h"

extern const sluice_function_abi sluice_afinn_sentiment;

struct model_server {
    struct MHD_Daemon *daemon;
    void *model;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    model_mode mode;
    unsigned n, requests, instances, concurrent, max_concurrent;
};

typedef struct upload {
    char *data;
    size_t len;
} upload;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* {"predictions": [...]} for the instances of body; NULL when malformed. */
static char *predict(model_server *m, const char *body, unsigned *ninst) {
    cJSON *doc = cJSON_Parse(body);
    const cJSON *inst = doc ? cJSON_GetObjectItemCaseSensitive(doc, "instances") : NULL;
    if (!cJSON_IsArray(inst)) {
        cJSON_Delete(doc);
        return NULL;
    }
    size_t n = (size_t)cJSON_GetArraySize(inst);
    sluice_value *args = calloc(n + 1, sizeof *args), *res = calloc(n + 1, sizeof *res);
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, inst) {
        const cJSON *v = o->child;
        args[i++] = cJSON_IsString(v) ? sluice_value_varchar(v->valuestring, strlen(v->valuestring)) : sluice_value_null();
    }
    char err[128];
    sluice_afinn_sentiment.call(m->model, n, 1, args, res, err, sizeof err);
    cJSON *out = cJSON_CreateObject();
    cJSON *preds = cJSON_AddArrayToObject(out, "predictions");
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(preds, res[i].type == SLUICE_TYPE_DOUBLE ? cJSON_CreateNumber(res[i].u.d) : cJSON_CreateNull());
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    cJSON_Delete(doc);
    free(args);
    free(res);
    *ninst = (unsigned)n;
    return text;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *data_size, void **con_cls) {
    (void)url, (void)version;
    model_server *m = cls;
    upload *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof(upload));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*data_size) {
        char *p = realloc(u->data, u->len + *data_size + 1);
        if (!p) return MHD_NO;
        memcpy(p + u->len, data, *data_size);
        u->data = p;
        u->len += *data_size;
        p[u->len] = '\0';
        *data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0) return reply(c, 405, strdup("{\"error\":\"POST only\"}"));
    pthread_mutex_lock(&m->mu);
    unsigned nth = ++m->requests;
    if (++m->concurrent > m->max_concurrent) m->max_concurrent = m->concurrent;
    model_mode mode = m->mode;
    unsigned n = m->n;
    while (mode == MODEL_HANG && !m->stopping) pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
    enum MHD_Result ret;
    unsigned ninst = 0;
    if (mode == MODEL_HANG || (mode == MODEL_DIE_AFTER && nth > n)) {
        ret = MHD_NO; /* close the connection without an answer */
    } else if (mode == MODEL_FAIL_FIRST && nth <= n) {
        ret = reply(c, 500, strdup("{\"error\":\"overloaded\"}"));
    } else {
        char *body = predict(m, u->data ? u->data : "", &ninst);
        ret = body ? reply(c, 200, body) : reply(c, 400, strdup("{\"error\":\"expected {\\\"instances\\\": [...]}\"}"));
    }
    pthread_mutex_lock(&m->mu);
    m->concurrent--;
    m->instances += ninst;
    pthread_mutex_unlock(&m->mu);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls, (void)c, (void)toe;
    upload *u = *con_cls;
    if (u) free(u->data);
    free(u);
    *con_cls = NULL;
}

model_server *model_server_start(const char *lexicon) {
    model_server *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    const char *opts[] = {"lexicon", lexicon, NULL};
    char err[256];
    if (sluice_afinn_sentiment.init(&m->model, opts, err, sizeof err) != 0) {
        fprintf(stderr, "model server: %s\n", err);
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                                 handle, m, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, completed, m,
                                 MHD_OPTION_END);
    if (!m->daemon) {
        sluice_afinn_sentiment.close(m->model);
        free(m);
        return NULL;
    }
    return m;
}

int model_server_port(const model_server *m) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : -1;
}

void model_server_set_mode(model_server *m, model_mode mode, unsigned n) {
    pthread_mutex_lock(&m->mu);
    m->mode = mode;
    m->n = n;
    m->requests = m->instances = m->max_concurrent = 0;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

#define COUNTER(name, field)                     \
    unsigned name(model_server *m) {             \
        pthread_mutex_lock(&m->mu);              \
        unsigned v = m->field;                   \
        pthread_mutex_unlock(&m->mu);            \
        return v;                                \
    }
COUNTER(model_server_requests, requests)
COUNTER(model_server_instances, instances)
COUNTER(model_server_max_concurrent, max_concurrent)

void model_server_stop(model_server *m) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->stopping = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    MHD_stop_daemon(m->daemon);
    sluice_afinn_sentiment.close(m->model);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
