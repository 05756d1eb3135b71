/*
 * Planning CREATE SOURCE: the declared columns and their types, METADATA
 * FROM columns, TIMESTAMP formats and the WATERMARK (docs/sql.md).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/format.h"
#include "sql/planner_int.h"


sluice_err_t sluice_planner_source(bind_ctx *c, const sluice_ast_source *s, sluice_source_plan *sp) {
    memset(sp, 0, sizeof *sp);
    sp->name = s->name;
    size_t n = s->ncolumns;
    if (n == 0) return sluice_planner_err(c, s->line, s->col, "source %s has no columns", s->name), SLUICE_ERR_SQL;
    sp->columns = sluice_arena_alloc(c->arena, n * sizeof *sp->columns);
    sp->metadata = sluice_arena_alloc(c->arena, n * sizeof *sp->metadata);
    sp->ts_formats = sluice_arena_alloc(c->arena, n * sizeof *sp->ts_formats);
    sp->used = sluice_arena_alloc(c->arena, n * sizeof *sp->used);
    if (!sp->columns || !sp->metadata || !sp->ts_formats || !sp->used) return SLUICE_ERR_NOMEM;
    memset(sp->ts_formats, 0, n * sizeof *sp->ts_formats);
    memset(sp->used, 0, n * sizeof *sp->used);
    sp->defs = s->columns;
    sp->schema.ncolumns = n;
    sp->schema.columns = sp->columns;
    for (size_t i = 0; i < n; i++) {
        const sluice_ast_column_def *d = &s->columns[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->columns[j].name, d->name) == 0)
                return sluice_planner_err(c, d->line, d->col, "duplicate column '%s' in source %s", d->name, s->name),
                       SLUICE_ERR_SQL;
        sp->columns[i].name = d->name;
        sp->columns[i].type = d->type;
        sp->metadata[i] = SLUICE_META_NONE;
        if (d->format) {
            if (d->type != SLUICE_TYPE_TIMESTAMP)
                return sluice_planner_err(c, d->line, d->col, "FORMAT applies to TIMESTAMP columns only ('%s' is %s)", d->name,
                                sluice_type_name(d->type)),
                       SLUICE_ERR_SQL;
            char e[256];
            if (sluice_ts_format_compile(d->format, &sp->ts_formats[i], e, sizeof e) != SLUICE_OK)
                return sluice_planner_err(c, d->line, d->col, "column '%s': %s", d->name, e), SLUICE_ERR_SQL;
        }
        if (d->metadata) {
            static const struct { const char *name; sluice_metadata m; sluice_type_t t; } metas[] = {
                {"timestamp", SLUICE_META_TIMESTAMP, SLUICE_TYPE_TIMESTAMP},
                {"key", SLUICE_META_KEY, SLUICE_TYPE_VARCHAR},
                {"topic", SLUICE_META_TOPIC, SLUICE_TYPE_VARCHAR},
                {"partition", SLUICE_META_PARTITION, SLUICE_TYPE_BIGINT},
                {"offset", SLUICE_META_OFFSET, SLUICE_TYPE_BIGINT}};
            size_t k;
            for (k = 0; k < 5; k++)
                if (strcmp(metas[k].name, d->metadata) == 0) break;
            if (k == 5)
                return sluice_planner_err(c, d->line, d->col,
                                "unknown METADATA field '%s' (expected 'timestamp', 'key', 'topic', 'partition' or 'offset')",
                                d->metadata),
                       SLUICE_ERR_SQL;
            if (d->type != metas[k].t)
                return sluice_planner_err(c, d->line, d->col, "METADATA FROM '%s' is %s, but column '%s' is declared %s",
                                d->metadata, sluice_type_name(metas[k].t), d->name, sluice_type_name(d->type)),
                       SLUICE_ERR_SQL;
            if (d->path)
                return sluice_planner_err(c, d->line, d->col, "column '%s' cannot have both PATH and METADATA", d->name),
                       SLUICE_ERR_SQL;
            sp->metadata[i] = metas[k].m;
        }
        if (d->path && strncmp(d->path, "$.", 2) != 0 && strcmp(d->path, "$") != 0 && strncmp(d->path, "$[", 2) != 0)
            return sluice_planner_err(c, d->line, d->col, "PATH '%s' must start with '$.' (e.g. '$.properties.mag')", d->path),
                   SLUICE_ERR_SQL;
    }
    if (s->has_watermark) {
        long wi = sluice_planner_find_column(sp, s->watermark_column);
        if (wi < 0)
            return sluice_planner_err(c, s->watermark_line, s->watermark_col, "WATERMARK FOR unknown column '%s'",
                            s->watermark_column),
                   SLUICE_ERR_SQL;
        if (sp->columns[wi].type != SLUICE_TYPE_TIMESTAMP)
            return sluice_planner_err(c, s->watermark_line, s->watermark_col,
                            "WATERMARK column '%s' must be a TIMESTAMP, not %s", s->watermark_column,
                            sluice_type_name(sp->columns[wi].type)),
                   SLUICE_ERR_SQL;
        const sluice_ast *w = s->watermark_expr;
        int64_t delay = -1;
        if (w->kind == SLUICE_AST_COLUMN && strcmp(w->name, s->watermark_column) == 0)
            delay = 0;
        else if (w->kind == SLUICE_AST_BINARY && w->op == SLUICE_OP_SUB && w->args[0]->kind == SLUICE_AST_COLUMN &&
                 strcmp(w->args[0]->name, s->watermark_column) == 0 && w->args[1]->kind == SLUICE_AST_INTERVAL &&
                 w->args[1]->lit.u.i >= 0)
            delay = w->args[1]->lit.u.i;
        if (delay < 0)
            return sluice_planner_err(c, w->line, w->col, "WATERMARK expression must be '%s - INTERVAL ...' or '%s'",
                            s->watermark_column, s->watermark_column),
                   SLUICE_ERR_SQL;
        if (delay > MAX_TIME_INTERVAL_MS)
            return sluice_planner_err(c, w->args[1]->line, w->args[1]->col,
                            "a WATERMARK delay must be at most INTERVAL '%lld' DAY (10,000 years)",
                            MAX_TIME_INTERVAL_MS / 86400000LL),
                   SLUICE_ERR_SQL;
        sp->has_watermark = 1;
        sp->watermark_column = (size_t)wi;
        sp->watermark_delay_ms = delay;
        sp->used[wi] = 1;
    }
    return SLUICE_OK;
}

