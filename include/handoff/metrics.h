/*
 * Prometheus metrics (SPEC §9, metrics.listen): an HTTP endpoint serving
 * GET /metrics in the text exposition format 0.0.4, run by libmicrohttpd on
 * a thread of its own so that a slow or stuck scraper never holds up the
 * loop.
 *
 * The loop thread keeps its figures in a metrics_fig_t of its own, with no
 * lock, and hands a copy over with metrics_publish() once per batch (and
 * once a second): the HTTP thread copies that under the same mutex and
 * formats the copy. So a scrape costs the loop one short critical section,
 * and no event takes a lock.
 */
#ifndef HANDOFF_METRICS_H
#define HANDOFF_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "handoff/batch.h"
#include "handoff/codec.h"
#include "handoff/event.h"
#include "handoff/util.h"

/* How an inbound message ended (the outcome label). */
typedef enum {
	METRICS_ACCEPTED = 0,
	METRICS_DUPLICATE,
	METRICS_REJECTED,
	METRICS__OUTCOMES
} metrics_outcome_t;

/* The type index of a rejected message whose topic is no inbound type. */
#define METRICS_EV_UNKNOWN EV__COUNT
/* The type index of a published message of a type this build lacks. */
#define METRICS_OUT_OTHER OUT__COUNT

/* Upper bounds of a histogram's buckets; +Inf is implied. */
#define METRICS_HIST_MAX 16

typedef struct {
	uint64_t n[METRICS_HIST_MAX + 1]; /* per bucket, not cumulative */
	uint64_t count;
	double sum;
} metrics_hist_t;

/*
 * The loop's figures. Counters only grow; the gauges are set by the loop
 * before each metrics_publish().
 */
typedef struct {
	uint64_t events[EV__COUNT + 1][METRICS__OUTCOMES];
	uint64_t published[OUT__COUNT + 1];
	metrics_hist_t batch_events;   /* messages per committed batch */
	metrics_hist_t commit_seconds; /* a batch's transaction */
	metrics_hist_t event_latency;  /* an event's receipt to its commit */
	uint64_t db_reconnects;
	bool db_up;
	int64_t last_seq;       /* last seq committed, as far as we know */
	int64_t last_published; /* last seq this process published */
	int64_t buffered;       /* messages read but not yet committed */
} metrics_fig_t;

typedef struct metrics metrics_t;

/*
 * Parses "A.B.C.D:PORT" or "[IPv6]:PORT" (numeric addresses only, port
 * 0-65535) into *ss and *len; either may be NULL to only validate.
 * Returns 0, or -1 when s is not such an address.
 */
int metrics_listen_parse(const char *s, struct sockaddr_storage *ss,
    socklen_t *len) MUSTCHECK;

/*
 * Binds listen (as metrics_listen_parse reads it) and starts serving.
 * Returns NULL after logging why (the address in use, say).
 */
metrics_t *metrics_new(const char *listen);
/* Stops the HTTP thread and frees everything; accepts NULL. */
void metrics_destroy(metrics_t **m);
/* The address actually bound, "127.0.0.1:9464" (port 0 shows the port). */
const char *metrics_address(const metrics_t *m);

/* Loop side, no lock: counting into the loop's own figures. */
void metrics_count_event(metrics_fig_t *f, int type, metrics_outcome_t o);
/* A rejected message, by its topic frame (NULL when unreadable). */
void metrics_count_rejected(metrics_fig_t *f, const char *topic);
/* A published message, by its topic. */
void metrics_count_published(metrics_fig_t *f, const char *type);
/*
 * A batch that was just committed: its items by type and outcome, its size,
 * the seconds its transaction took, and each event's receipt-to-commit
 * delay, now_mono being the monotonic microseconds at the commit.
 */
void metrics_count_batch(metrics_fig_t *f, const batch_t *b,
    double commit_s, int64_t now_mono);

/* Hands a copy of f to the HTTP thread. m may be NULL (no endpoint). */
void metrics_publish(metrics_t *m, const metrics_fig_t *f);
/* The open SLA cycles of each clock (copied). m may be NULL. */
void metrics_set_open_cycles(metrics_t *m, const char *const *clocks,
    const int64_t *counts, size_t n);

#endif
