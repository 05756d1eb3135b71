/*
 * sluice-model-server LEXICON [PORT] — the loopback model server of the
 * tests (test/support/model_server.c) as a program, for udf_bench.sh:
 * prints its port on stdout, serves until stdin closes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model_server.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: sluice-model-server LEXICON\n");
        return 2;
    }
    model_server *m = model_server_start(argv[1]);
    if (!m) return 1;
    printf("%d\n", model_server_port(m));
    fflush(stdout);
    while (getchar() != EOF) {
    }
    fprintf(stderr, "sluice-model-server: %u requests, %u instances\n", model_server_requests(m),
            model_server_instances(m));
    model_server_stop(m);
    return 0;
}
