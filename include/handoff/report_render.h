/*
 * Rendering of the weekly scorecard (the control command `report`'s JSON
 * object, report.h) for people: aligned tables for a terminal, and one
 * self-contained HTML page with inline CSS and inline SVG charts (funnel,
 * SLA compliance by team, speed-to-lead trend) that fetches nothing.
 *
 * Pure functions: a parsed document in, text out. Every string that comes
 * from the data is escaped for where it goes: HTML-escaped in the page,
 * and stripped of control characters (which could move a terminal's cursor
 * or change its colours) in the text.
 */
#ifndef HANDOFF_REPORT_RENDER_H
#define HANDOFF_REPORT_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "handoff/jdoc.h"
#include "handoff/util.h"

/* Text is 0: a zeroed setting means the terminal's format. */
typedef enum {
	REPORT_FORMAT_TEXT = 0,
	REPORT_FORMAT_JSON,
	REPORT_FORMAT_HTML
} report_format_t;

/* "json", "text" or "html". Returns 0, or -1 when name is none of them. */
int report_render_format(const char *name, report_format_t *f) MUSTCHECK;

/*
 * Parses json[0..len) (the daemon's reply) and renders it in format f onto
 * out: the JSON itself on one line, the text tables, or the HTML page.
 * Returns 0, or -1 with *err (malloc'd) naming what is wrong with the
 * document, e.g. "report: funnel.entered.mql: missing".
 */
int report_render(const char *json, size_t len, report_format_t f,
    sbuf_t *out, char **err) MUSTCHECK;

/* The two renderers, on an already parsed document. */
int report_render_text(const jdoc_node_t *report, sbuf_t *out, char **err)
    MUSTCHECK;
int report_render_html(const jdoc_node_t *report, sbuf_t *out, char **err)
    MUSTCHECK;

/*
 * How figures are written, in both formats:
 *   count     12345 -> "12,345"
 *   amount    a decimal literal, thousands grouped: "62000.50" ->
 *             "62,000.50" (anything that is not a plain decimal is
 *             written as it is)
 *   percent   a ratio: 0.625 -> "62.5%", 1 -> "100%", 0.88889 -> "88.9%"
 *   duration  seconds: 45 -> "45s", 300 -> "5m", 19800 -> "5h 30m",
 *             14400 -> "4h", 342000 -> "3d 23h" (to the minute below a
 *             day, to the hour above)
 */
void report_render_count(sbuf_t *out, int64_t n);
void report_render_amount(sbuf_t *out, const char *num, size_t len);
void report_render_percent(sbuf_t *out, double ratio);
void report_render_duration(sbuf_t *out, double seconds);

/* s[0..len) with & < > " ' as character references. */
void report_render_html_escape(sbuf_t *out, const char *s, size_t len);
/* s[0..len) with every control character (C0, DEL, C1) as '?'. */
void report_render_text_clean(sbuf_t *out, const char *s, size_t len);

#endif
