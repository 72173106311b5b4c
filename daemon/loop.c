/*
 * The daemon's main loop. Everything happens on this one thread: reading
 * the bus into the current batch, committing it in one transaction,
 * acknowledging and publishing after the commit, answering the control
 * socket, reloading on SIGHUP and keeping systemd informed. Signals arrive
 * through a signalfd polled with the sockets, so no handler does any work.
 *
 * Nothing is acknowledged before it is committed: a router client's reply
 * for an accepted or duplicate event is sent only after the transaction
 * that stored it (or found it stored) returned from COMMIT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>
#include <zmq.h>

#include "handoff/batch.h"
#include "handoff/bus.h"
#include "handoff/codec.h"
#include "handoff/leadview.h"
#include "handoff/log.h"
#include "handoff/loop.h"
#include "handoff/metrics.h"
#include "handoff/migrate.h"
#include "handoff/outbox.h"
#include "handoff/recstore.h"
#include "handoff/report.h"
#include "handoff/store.h"
#include "handoff/zap.h"

#define LAT_RING 65536            /* receive-to-commit samples kept */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000
#define REPLAY_DEFAULT_LIMIT 1000
#define REPLAY_MAX_LIMIT 100000

typedef struct {
	const char *path;
	cfg_t *cfg;
	void *zctx;
	bus_t *bus;
	store_t *store;
	recstore_t *rec;
	outbox_t *outbox;
	batch_t *batch;
	codec_t *codec;
	arena_t *ctl_arena;
	const char **endpoints;

	/* Settings fixed at start (a reload cannot change them). */
	size_t batch_max;
	int64_t batch_wait_us;
	size_t buffer_max;
	size_t max_bytes;

	int sigfd;
	int stopping;         /* signals received: 1 drain, 2 exit now */
	bool ready;           /* READY=1 sent */
	bool db_ever;         /* connected and migrated at least once */
	bool outage_logged;
	int64_t reconnect_at; /* monotonic µs */
	int backoff_ms;

	int64_t start_mono;
	int64_t next_heartbeat;
	int64_t next_watchdog;
	ts_t due_tried;       /* the SLA due instant last committed for */
	uint64_t watchdog_us;

	/* Figures for status, STATUS= and the benchmarks. */
	uint64_t n_accepted, n_duplicate, n_rejected;
	uint64_t n_batches, n_batch_events;
	uint64_t n_reconnects;
	uint64_t last_rate_events;
	int64_t last_rate_mono;
	double rate;
	uint32_t *lat;        /* ring of latencies, µs */
	size_t nlat, latpos;
	int64_t open_cycles;  /* refreshed once a second */

	/* The Prometheus endpoint (NULL without metrics.listen). */
	metrics_t *metrics;
	zap_t *zap;           /* CurveZMQ's ZAP handler; NULL without bus.curve */
	metrics_fig_t fig;
} loop_t;

static int64_t
mono_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* JSON helpers for replies (yajl_gen escapes and validates strings). */
static void
gstr(yajl_gen g, const char *s)
{
	if (s == NULL)
		yajl_gen_null(g);
	else
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void
gkey(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

/* A figure with three decimals (yajl_gen_double prints 17 digits). */
static void
gnum3(yajl_gen g, double v)
{
	char buf[40];
	int n = snprintf(buf, sizeof(buf), "%.3f", v);

	yajl_gen_number(g, buf, (size_t)n);
}

static char *
gtake(yajl_gen g, size_t *len)
{
	const unsigned char *buf;
	char *out;

	yajl_gen_get_buf(g, &buf, len);
	out = xstrndup((const char *)buf, *len);
	yajl_gen_free(g);
	return out;
}

static yajl_gen
gnew(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		fatalx("yajl_gen_alloc: out of memory");
	/* Invalid UTF-8 from a peer must not make invalid JSON. */
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

static char *
error_json(const char *msg, size_t *len)
{
	yajl_gen g = gnew();

	yajl_gen_map_open(g);
	gkey(g, "error");
	gstr(g, msg);
	yajl_gen_map_close(g);
	return gtake(g, len);
}

static void
router_reply(loop_t *L, int ingest, const bus_frame_t *env, size_t nenv,
    bool delim, const char *id, const char *source, const char *status,
    const char *error)
{
	yajl_gen g = gnew();
	char *body;
	size_t len;

	yajl_gen_map_open(g);
	gkey(g, "id");
	if (id == NULL || yajl_gen_string(g, (const unsigned char *)id,
	    strlen(id)) != yajl_gen_status_ok)
		yajl_gen_null(g);
	gkey(g, "source");
	if (source == NULL || yajl_gen_string(g,
	    (const unsigned char *)source, strlen(source)) !=
	    yajl_gen_status_ok)
		yajl_gen_null(g);
	gkey(g, "status");
	gstr(g, status);
	gkey(g, "error");
	gstr(g, error);
	yajl_gen_map_close(g);
	body = gtake(g, &len);
	bus_reply(L->bus, (size_t)ingest, env, nenv, delim, body, len);
	free(body);
}

/* A copy of s[0..n) when it is valid UTF-8 without NUL, else NULL. */
static const char *
text_or_null(arena_t *a, const char *s, size_t n, size_t max)
{
	if (s == NULL || n > max || !utf8_valid(s, n) || memchr(s, 0, n))
		return NULL;
	return arena_strndup(a, s, n);
}

static void
reject(loop_t *L, const bus_msg_t *m, const event_t *ev, const char *reason)
{
	batch_rej_t *r = batch_add_rejected(L->batch);
	size_t keep = m->body_len < BATCH_RAW_MAX ? m->body_len : BATCH_RAW_MAX;

	r->ingest = m->ingest;
	r->topic = text_or_null(L->batch->arena, m->topic, m->topic_len, 256);
	r->reason = arena_strndup(L->batch->arena, reason, strlen(reason));
	r->source = ev != NULL ? ev->source : NULL;
	r->id = ev != NULL ? ev->id : NULL;
	r->raw = m->body != NULL ? m->body : "";
	r->raw_len = m->body != NULL ? keep : 0;
	r->orig_len = m->body_len;
	r->received_at = ts_now();
	L->n_rejected++;
	metrics_count_rejected(&L->fig, r->topic);
	if (L->batch->first_mono == 0)
		L->batch->first_mono = mono_us();
	log_event(LOG_LVL_DEBUG, r->source, r->id, "rejected on %s: %s",
	    L->endpoints[m->ingest], reason);
	if (bus_ingest_kind(L->bus, (size_t)m->ingest) == INGEST_ROUTER)
		router_reply(L, m->ingest, m->env, m->nenv, m->delim,
		    r->id, r->source, "rejected", reason);
}

/* Reads one waiting message of ingest socket i. Returns 1, 0 or -1. */
static int
ingest_one(loop_t *L, size_t i)
{
	bus_msg_t m;
	event_t ev;
	char err[CODEC_ERRLEN];
	batch_item_t *it;
	int rc = bus_recv(L->bus, i, L->batch->arena, &m);

	if (rc <= 0)
		return rc;
	if (m.nframes != 2) {
		snprintf(err, sizeof(err), "message: expected 2 frames, got %zu",
		    m.nframes);
		reject(L, &m, NULL, err);
		return 1;
	}
	if (codec_decode(L->codec, L->batch->arena, m.topic, m.topic_len,
	    m.body, m.body_len, L->max_bytes, &ev, err, sizeof(err)) == -1) {
		reject(L, &m, &ev, err);
		return 1;
	}
	if (ev.type == EV_CLOCK_TICK && L->cfg->clock_mode != CLOCK_EVENT) {
		reject(L, &m, &ev, "type: clock.tick is only accepted when "
		    "clock.mode is \"event\"");
		return 1;
	}
	it = batch_add(L->batch, &ev);
	it->ingest = m.ingest;
	it->env = m.env;
	it->nenv = m.nenv;
	it->delim = m.delim;
	it->recv_mono = mono_us();
	it->received_at = ts_now();
	if (L->batch->first_mono == 0)
		L->batch->first_mono = it->recv_mono;
	return 1;
}

static size_t
read_limit(const loop_t *L)
{
	return store_connected(L->store) ? L->batch_max : L->buffer_max;
}

/* Reads what is waiting on the ingest sockets, up to the batch limit. */
static void
ingest_all(loop_t *L)
{
	size_t limit = read_limit(L);
	bool more = true;

	while (more && batch_size(L->batch) < limit) {
		more = false;
		for (size_t i = 0; i < bus_ningest(L->bus); i++) {
			int rc = ingest_one(L, i);

			if (rc == 1)
				more = true;
			if (batch_size(L->batch) >= limit)
				break;
		}
	}
}

/*
 * Hands the figures to the metrics endpoint; buffered is what the batch
 * holds that is not committed yet.
 */
static void
metrics_sync(loop_t *L, size_t buffered)
{
	L->fig.db_up = store_connected(L->store);
	L->fig.db_reconnects = L->n_reconnects;
	L->fig.last_seq = L->outbox->last_seq;
	L->fig.last_published = L->outbox->last_published;
	L->fig.buffered = (int64_t)buffered;
	metrics_publish(L->metrics, &L->fig);
}

static void
publish_ready(loop_t *L)
{
	outbox_t *o = L->outbox;
	bool any = o->nready > 0;
	size_t i;

	for (i = 0; i < o->nready; i++) {
		if (bus_publish(L->bus, o->ready[i].type, o->ready[i].body,
		    o->ready[i].len) == -1)
			break;
		outbox_published(o, o->ready[i].seq);
		metrics_count_published(&L->fig, o->ready[i].type);
	}
	/* What went out before a start, once its stragglers have too. */
	if (i == o->nready && o->resume > o->last_published)
		o->last_published = o->resume;
	o->resume = 0;
	outbox_clear_ready(o);
	if (any)
		metrics_sync(L, batch_size(L->batch));
}

static void
heartbeat(loop_t *L)
{
	out_msg_t m = { .type = OUT_BUS_HEARTBEAT };
	size_t len;
	char *body = codec_encode(&m, L->outbox->last_published, ts_now(), &len);

	if (bus_publish(L->bus, "bus.heartbeat", body, len) == -1)
		log_warnx("heartbeat not published");
	else
		L->fig.published[OUT_BUS_HEARTBEAT]++;
	free(body);
}

static void
db_lost(loop_t *L, const char *what)
{
	if (!L->outage_logged) {
		log_error("database unavailable (%s): %s; retrying with "
		    "back-off, events are held in memory (at most %zu)", what,
		    store_error(L->store), L->buffer_max);
		L->outage_logged = true;
	}
	store_disconnect(L->store);
	metrics_sync(L, batch_size(L->batch));
	L->backoff_ms = L->backoff_ms == 0 ? BACKOFF_MIN_MS :
	    L->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    L->backoff_ms * 2;
	L->reconnect_at = mono_us() + (int64_t)L->backoff_ms * 1000;
}

/* Connects, migrates and loads the outbox. Returns 0 or -1. */
static int
db_connect(loop_t *L)
{
	int applied;

	if (store_connect(L->store) == -1) {
		db_lost(L, "connect");
		return -1;
	}
	if (migrate_run(store_conn(L->store), &applied) == -1) {
		db_lost(L, "migrate");
		return -1;
	}
	if (store_prepare_session(L->store) == -1) {
		db_lost(L, "session");
		return -1;
	}
	recstore_reset_connection(L->rec);
	/* Messages committed but not published (we died before) go first. */
	outbox_clear_ready(L->outbox);
	if (store_load_outbox(L->store, L->outbox) == -1) {
		db_lost(L, "outbox");
		return -1;
	}
	if (L->outbox->nready > 0)
		log_info("publishing %zu message(s) committed but not recorded "
		    "as published, seq %lld to %lld", L->outbox->nready,
		    (long long)L->outbox->ready[0].seq,
		    (long long)L->outbox->ready[L->outbox->nready - 1].seq);
	/*
	 * The outage (and its back-off) ends with the first commit that
	 * succeeds, not with the connection: a batch that keeps failing on a
	 * good connection must not be retried in a tight loop, nor logged
	 * once per try.
	 */
	if (!L->db_ever)
		log_info("database connected");
	if (L->db_ever)
		L->n_reconnects++;
	L->db_ever = true;
	metrics_sync(L, batch_size(L->batch));
	publish_ready(L);
	return 0;
}

static void
record_latency(loop_t *L, int64_t now)
{
	for (size_t i = 0; i < L->batch->n; i++) {
		int64_t d = now - L->batch->items[i].recv_mono;

		L->lat[L->latpos] = d < 0 ? 0 : d > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)d;
		L->latpos = (L->latpos + 1) % LAT_RING;
		if (L->nlat < LAT_RING)
			L->nlat++;
	}
}

/* Commits the current batch; on success acknowledges and publishes. */
static void
commit_batch(loop_t *L)
{
	batch_t *b = L->batch;
	int64_t now, start = mono_us();

	if (store_commit(L->store, b, L->outbox, ts_now()) == -1) {
		char *what = xasprintf("commit of %zu event(s); %s", b->n,
		    recstore_error(L->rec));

		/* One line per outage: db_lost logs it with the detail. */
		db_lost(L, what);
		free(what);
		return;
	}
	if (L->outage_logged)
		log_info("database reachable again: batches commit again");
	L->outage_logged = false;
	L->backoff_ms = 0;
	now = mono_us();
	/* Counted before the replies: a scrape after an ack sees its event. */
	metrics_count_batch(&L->fig, b, (double)(now - start) / 1e6, now);
	metrics_sync(L, 0);
	for (size_t i = 0; i < b->n; i++) {
		const batch_item_t *it = &b->items[i];
		bool acc = it->state == ITEM_ACCEPTED;

		if (acc)
			L->n_accepted++;
		else
			L->n_duplicate++;
		if (it->env != NULL)
			router_reply(L, it->ingest, it->env, it->nenv,
			    it->delim, it->ev.id, it->ev.source,
			    acc ? "accepted" : "duplicate", NULL);
	}
	record_latency(L, now);
	L->n_batches++;
	L->n_batch_events += b->n;
	batch_reset(b);
	publish_ready(L);
}

/*
 * The k-th smallest of v[0..n), 0 <= k < n, found in place by Hoare's
 * selection: linear on average, where sorting the 65,536 samples of the
 * ring for every status request cost the loop milliseconds each time.
 */
static uint32_t
select_kth(uint32_t *v, long n, long k)
{
	long lo = 0, hi = n - 1;

	while (lo < hi) {
		uint32_t pivot = v[lo + (hi - lo) / 2];
		long i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				uint32_t t = v[i];

				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

static void
latency_quantiles(loop_t *L, double *p50, double *p99)
{
	uint32_t *copy;
	long n = (long)L->nlat;

	*p50 = *p99 = 0;
	if (n == 0)
		return;
	copy = xmalloc((size_t)n * sizeof(uint32_t));
	memcpy(copy, L->lat, (size_t)n * sizeof(uint32_t));
	*p50 = select_kth(copy, n, (n - 1) * 50 / 100) / 1000.0;
	*p99 = select_kth(copy, n, (n - 1) * 99 / 100) / 1000.0;
	free(copy);
}

static ts_t
daemon_clock(loop_t *L)
{
	return recstore_now(L->rec);
}

/* ---- control ---- */

static void
ctl_reply1(loop_t *L, const bus_ctl_req_t *r, const char *body, size_t len)
{
	const char *f[1] = { body };
	size_t l[1] = { len };

	bus_ctl_reply(L->bus, r, f, l, 1);
}

static void
ctl_error(loop_t *L, const bus_ctl_req_t *r, const char *msg)
{
	size_t len;
	char *body = error_json(msg, &len);

	ctl_reply1(L, r, body, len);
	free(body);
}

static void
ctl_status(loop_t *L, const bus_ctl_req_t *r)
{
	yajl_gen g = gnew();
	char buf[TS_BUFLEN], *body;
	double p50, p99;
	size_t len;

	latency_quantiles(L, &p50, &p99);
	yajl_gen_map_open(g);
	gkey(g, "version");
	gstr(g, HANDOFF_VERSION);
	gkey(g, "uptime_s");
	yajl_gen_integer(g, (mono_us() - L->start_mono) / 1000000);
	gkey(g, "database");
	gstr(g, store_connected(L->store) ? "connected" : "disconnected");
	gkey(g, "events");
	yajl_gen_map_open(g);
	gkey(g, "accepted");
	yajl_gen_integer(g, (long long)L->n_accepted);
	gkey(g, "duplicate");
	yajl_gen_integer(g, (long long)L->n_duplicate);
	gkey(g, "rejected");
	yajl_gen_integer(g, (long long)L->n_rejected);
	yajl_gen_map_close(g);
	gkey(g, "open_cycles");
	yajl_gen_integer(g, (long long)L->open_cycles);
	gkey(g, "last_seq");
	yajl_gen_integer(g, (long long)L->outbox->last_seq);
	gkey(g, "last_published");
	yajl_gen_integer(g, (long long)L->outbox->last_published);
	gkey(g, "clock");
	ts_format(daemon_clock(L), buf);
	gstr(g, buf);
	gkey(g, "buffered");
	yajl_gen_integer(g, (long long)batch_size(L->batch));
	gkey(g, "batches");
	yajl_gen_integer(g, (long long)L->n_batches);
	gkey(g, "batch_avg");
	gnum3(g, L->n_batches ? (double)L->n_batch_events /
	    (double)L->n_batches : 0.0);
	gkey(g, "events_per_s");
	gnum3(g, L->rate);
	gkey(g, "commit_latency_ms");
	yajl_gen_map_open(g);
	gkey(g, "p50");
	gnum3(g, p50);
	gkey(g, "p99");
	gnum3(g, p99);
	yajl_gen_map_close(g);
	gkey(g, "db_reconnects");
	yajl_gen_integer(g, (long long)L->n_reconnects);
	/* CurveZMQ handshakes since start; null without bus.curve. */
	gkey(g, "curve");
	if (L->zap == NULL) {
		yajl_gen_null(g);
	} else {
		zap_stats_t zs;

		zap_stats(L->zap, &zs);
		yajl_gen_map_open(g);
		gkey(g, "clients");
		yajl_gen_integer(g, (long long)zs.clients);
		gkey(g, "allowed");
		yajl_gen_integer(g, (long long)zs.allowed);
		gkey(g, "refused");
		yajl_gen_integer(g, (long long)zs.refused);
		yajl_gen_map_close(g);
	}
	/* The endpoints as bound: a wildcard port shows the one chosen. */
	gkey(g, "endpoints");
	yajl_gen_map_open(g);
	gkey(g, "ingest");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < bus_ningest(L->bus); i++)
		gstr(g, bus_ingest_endpoint(L->bus, i));
	yajl_gen_array_close(g);
	gkey(g, "publish");
	gstr(g, bus_publish_endpoint(L->bus));
	gkey(g, "control");
	gstr(g, bus_control_endpoint(L->bus));
	gkey(g, "metrics");
	gstr(g, L->metrics != NULL ? metrics_address(L->metrics) : NULL);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	body = gtake(g, &len);
	ctl_reply1(L, r, body, len);
	free(body);
}

typedef struct {
	char **frames;
	size_t *lens;
	size_t n, cap;
} frames_t;

static void
collect_frame(void *arg, const char *body, size_t len)
{
	frames_t *f = arg;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->frames = xreallocarray(f->frames, f->cap, sizeof(char *));
		f->lens = xreallocarray(f->lens, f->cap, sizeof(size_t));
	}
	f->frames[f->n] = xstrndup(body, len);
	f->lens[f->n] = len;
	f->n++;
}

/* Reads an integer argument; absent leaves *v. Returns -1 when ill-typed. */
static int
arg_int(yajl_val args, const char *key, long long *v)
{
	const char *path[] = { key, NULL };
	yajl_val x = args != NULL ? yajl_tree_get(args, path, yajl_t_any) : NULL;

	if (x == NULL)
		return 0;
	if (!YAJL_IS_INTEGER(x))
		return -1;
	*v = YAJL_GET_INTEGER(x);
	return 0;
}

static void
ctl_replay(loop_t *L, const bus_ctl_req_t *r, yajl_val args)
{
	long long since = 0, limit = REPLAY_DEFAULT_LIMIT;
	frames_t f = { 0 };
	int64_t last = 0;
	yajl_gen g;
	char *end;
	size_t len;

	if (arg_int(args, "since", &since) == -1 || since < 0) {
		ctl_error(L, r, "since: must be a non-negative integer");
		return;
	}
	if (arg_int(args, "limit", &limit) == -1 || limit < 1 ||
	    limit > REPLAY_MAX_LIMIT) {
		ctl_error(L, r, "limit: must be an integer from 1 to 100000");
		return;
	}
	if (!store_connected(L->store)) {
		ctl_error(L, r, "database disconnected");
		return;
	}
	if (store_replay(L->store, since, limit, collect_frame, &f, &last) ==
	    -1) {
		for (size_t i = 0; i < f.n; i++)
			free(f.frames[i]);
		free(f.frames);
		free(f.lens);
		ctl_error(L, r, "replay failed: database error");
		db_lost(L, "replay");
		return;
	}
	g = gnew();
	yajl_gen_map_open(g);
	gkey(g, "end");
	yajl_gen_bool(g, 1);
	gkey(g, "last_seq");
	yajl_gen_integer(g, (long long)last);
	yajl_gen_map_close(g);
	end = gtake(g, &len);
	collect_frame(&f, end, len);
	free(end);
	bus_ctl_reply(L->bus, r, (const char *const *)f.frames, f.lens, f.n);
	for (size_t i = 0; i < f.n; i++)
		free(f.frames[i]);
	free(f.frames);
	free(f.lens);
}

/* A string argument; NULL when absent; *bad when present but not one. */
static const char *
arg_str(yajl_val args, const char *key, bool *bad)
{
	const char *path[] = { key, NULL };
	yajl_val x = args != NULL ? yajl_tree_get(args, path, yajl_t_any) : NULL;

	if (x == NULL)
		return NULL;
	if (!YAJL_IS_STRING(x)) {
		*bad = true;
		return NULL;
	}
	return YAJL_GET_STRING(x);
}

static void
ctl_lead(loop_t *L, const bus_ctl_req_t *r, yajl_val args)
{
	bool bad = false;
	const char *key = arg_str(args, "lead_key", &bad);
	const char *email = arg_str(args, "email", &bad);
	const char *source = arg_str(args, "source", &bad);
	const char *id = arg_str(args, "id", &bad);
	int given = (key != NULL) + (email != NULL) + (source != NULL || id !=
	    NULL);
	char *json = NULL, *err = NULL;
	int rc;

	if (bad || given != 1 || (source != NULL) != (id != NULL)) {
		ctl_error(L, r, "arguments: give one of {\"lead_key\"}, "
		    "{\"email\"} or {\"source\", \"id\"} as strings");
		return;
	}
	if (!store_connected(L->store)) {
		ctl_error(L, r, "database disconnected");
		return;
	}
	rc = leadview_json(store_conn(L->store), key, email, source, id,
	    daemon_clock(L), &json, &err);
	if (rc == 0) {
		/*
		 * The cycles need business-time arithmetic, which SQL cannot
		 * do: the view leaves "cycles" empty and they are put in here.
		 */
		static const char tail[] = "\"cycles\" : []}";
		size_t n = strlen(json), tl = sizeof(tail) - 1;
		const char *lk = key;
		char *found = NULL;
		sbuf_t b;

		if (lk == NULL) {
			found = strstr(json, "\"lead_key\" : \"");
			if (found != NULL) {
				char *e;

				found = xstrdup(found + 14);
				e = strchr(found, '"');
				if (e != NULL)
					*e = '\0';
				lk = found;
			}
		}
		sbuf_init(&b);
		if (lk != NULL && n >= tl && strcmp(json + n - tl, tail) == 0) {
			sbuf_add(&b, json, n - tl);
			sbuf_adds(&b, "\"cycles\" : ");
			if (recstore_cycles_json(L->rec, store_conn(L->store), lk,
			    &b, &err) == 0) {
				sbuf_addc(&b, '}');
				ctl_reply1(L, r, b.s, b.len);
			} else {
				ctl_error(L, r, err);
			}
		} else {
			ctl_reply1(L, r, json, n);
		}
		sbuf_free(&b);
		free(found);
	}
	else if (rc == 1)
		ctl_error(L, r, "not found");
	else
		ctl_error(L, r, err != NULL ? err : "database error");
	if (rc == -1 && PQstatus(store_conn(L->store)) != CONNECTION_OK)
		db_lost(L, "lead");
	free(json);
	free(err);
}

/*
 * The weekly scorecard (SPEC §7): {"week": "2026-W48"}, or no week for the
 * last complete one by the daemon's clock. It runs on this thread between
 * batches, bounded by report.h's statement timeout.
 */
static void
ctl_report(loop_t *L, const bus_ctl_req_t *r, yajl_val args)
{
	bool bad = false;
	const char *week = arg_str(args, "week", &bad);
	report_week_t w;
	char why[160], *json = NULL, *err = NULL;
	size_t len = 0;

	if (bad) {
		ctl_error(L, r, "week: must be a string like \"2026-W48\"");
		return;
	}
	if (week != NULL && report_parse_week(week, &w, why, sizeof(why)) ==
	    -1) {
		char msg[200];

		snprintf(msg, sizeof(msg), "week: %s", why);
		ctl_error(L, r, msg);
		return;
	}
	if (!store_connected(L->store)) {
		ctl_error(L, r, "database disconnected");
		return;
	}
	if (report_json(store_conn(L->store), L->cfg, week != NULL ? &w : NULL,
	    daemon_clock(L), &json, &len, &err) == 0) {
		ctl_reply1(L, r, json, len);
	} else {
		log_warnx("control: report: %s", err);
		ctl_error(L, r, err);
		if (PQstatus(store_conn(L->store)) != CONNECTION_OK)
			db_lost(L, "report");
	}
	free(json);
	free(err);
}

static int reload(loop_t *L, char **why);

static void
ctl_reload(loop_t *L, const bus_ctl_req_t *r)
{
	char *why = NULL;

	if (reload(L, &why) == 0) {
		const char *ok = "{\"ok\":true}";

		ctl_reply1(L, r, ok, strlen(ok));
	} else {
		ctl_error(L, r, why);
	}
	free(why);
}

static void
control(loop_t *L)
{
	bus_ctl_req_t r;
	int rc;

	for (int k = 0; k < 64; k++) {
		char cmd[32];
		yajl_val args = NULL;

		arena_reset(L->ctl_arena);
		rc = bus_ctl_recv(L->bus, L->ctl_arena, &r);
		if (rc <= 0)
			return;
		if (r.command == NULL || r.nframes > 2) {
			ctl_error(L, &r, "request: expected a command frame and "
			    "at most one argument frame");
			continue;
		}
		if (r.command_len >= sizeof(cmd)) {
			ctl_error(L, &r, "unknown command");
			continue;
		}
		memcpy(cmd, r.command, r.command_len);
		cmd[r.command_len] = '\0';
		if (r.args != NULL && r.args_len > 0) {
			char eb[128];

			args = yajl_tree_parse(r.args, eb, sizeof(eb));
			if (args == NULL || !YAJL_IS_OBJECT(args)) {
				yajl_tree_free(args);
				ctl_error(L, &r, "arguments: not a JSON object");
				continue;
			}
		}
		if (strcmp(cmd, "ping") == 0) {
			const char *ok = "{\"ok\":true}";

			ctl_reply1(L, &r, ok, strlen(ok));
		} else if (strcmp(cmd, "status") == 0) {
			ctl_status(L, &r);
		} else if (strcmp(cmd, "replay") == 0) {
			ctl_replay(L, &r, args);
		} else if (strcmp(cmd, "reload") == 0) {
			ctl_reload(L, &r);
		} else if (strcmp(cmd, "lead") == 0) {
			ctl_lead(L, &r, args);
		} else if (strcmp(cmd, "report") == 0) {
			ctl_report(L, &r, args);
		} else {
			char msg[80];

			snprintf(msg, sizeof(msg), "unknown command '%.32s'", cmd);
			ctl_error(L, &r, msg);
		}
		yajl_tree_free(args);
	}
}

/* ---- reload, signals, systemd ---- */

static void
notify_ready(loop_t *L)
{
	sd_notifyf(0, "READY=1\nSTATUS=running: %zu ingest endpoint(s), "
	    "last seq %lld", bus_ningest(L->bus),
	    (long long)L->outbox->last_seq);
}

static int
reload(loop_t *L, char **why)
{
	cfg_t *n = NULL;
	char *errors = NULL, *restart;
	curve_clients_t *clients = NULL;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld",
	    (long long)mono_us());
	if (cfg_load(L->path, &n, &errors) == -1) {
		log_error("reload refused, keeping the running configuration:\n%s",
		    errors);
		*why = xasprintf("configuration has errors: %s", errors);
		free(errors);
		notify_ready(L);
		return -1;
	}
	restart = cfg_restart_needed(L->cfg, n);
	if (restart != NULL) {
		log_warnx("reload: %s changed; that takes a restart, the "
		    "running values stay in force until then", restart);
		free(restart);
	}
	/*
	 * The allowed CurveZMQ clients are read again from the running
	 * bus.curve.clients_dir; a broken key refuses the whole reload.
	 */
	if (L->zap != NULL) {
		char *err = NULL;

		if (zap_load_clients(L->zap, &clients, &err) == -1) {
			log_error("reload refused, keeping the running "
			    "configuration and client keys: "
			    "bus.curve.clients_dir: %s", err);
			*why = xasprintf("bus.curve.clients_dir: %s", err);
			free(err);
			cfg_destroy(&n);
			notify_ready(L);
			return -1;
		}
	}
	{
		char *err = NULL;

		if (recstore_set_config(L->rec, n, &err) == -1) {
			log_error("reload refused, keeping the running "
			    "configuration: %s", err);
			*why = xasprintf("configuration refused: %s", err);
			free(err);
			cfg_destroy(&n);
			curve_clients_destroy(&clients);
			notify_ready(L);
			return -1;
		}
	}
	cfg_destroy(&L->cfg);
	L->cfg = n;
	log_set_level((log_level_t)n->log_level);
	if (clients != NULL) {
		log_info("curve: %zu client key(s) from %s",
		    curve_clients_count(clients), zap_clients_dir(L->zap));
		zap_set_clients(L->zap, &clients);
	}
	log_info("configuration reloaded from %s", L->path);
	notify_ready(L);
	return 0;
}

static int
signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	/* A subscriber that vanished must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void
signals_read(loop_t *L)
{
	struct signalfd_siginfo si;

	while (read(L->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			char *why = NULL;

			log_info("SIGHUP: reloading %s", L->path);
			if (reload(L, &why) == -1)
				free(why);
			continue;
		}
		L->stopping++;
		if (L->stopping == 1) {
			log_info("%s: committing what is in flight, then "
			    "exiting", si.ssi_signo == SIGTERM ? "SIGTERM" :
			    "SIGINT");
			sd_notify(0, "STOPPING=1");
		}
	}
}

static void
status_tick(loop_t *L, int64_t now)
{
	uint64_t total = L->n_accepted + L->n_duplicate + L->n_rejected;
	double secs = (double)(now - L->last_rate_mono) / 1e6;

	if (secs > 0)
		L->rate = (double)(total - L->last_rate_events) / secs;
	L->last_rate_events = total;
	L->last_rate_mono = now;
	if (L->ready)
		sd_notifyf(0, "STATUS=%s; %.0f events/s; batch avg %.1f; "
		    "last seq %lld; buffered %zu",
		    store_connected(L->store) ? "database connected" :
		    "DATABASE UNAVAILABLE", L->rate, L->n_batches ?
		    (double)L->n_batch_events / (double)L->n_batches : 0.0,
		    (long long)L->outbox->last_seq, batch_size(L->batch));
}

/* Collects the open SLA cycles of each clock. */
typedef struct {
	char **clock;
	int64_t *count;
	size_t n, cap;
	int64_t total;
} open_cycles_t;

static void
open_cycles_add(void *arg, const char *clock, int64_t n)
{
	open_cycles_t *oc = arg;
	size_t i;

	for (i = 0; i < oc->n; i++)
		if (strcmp(oc->clock[i], clock) == 0)
			break;
	if (i == oc->n) {
		if (oc->n == oc->cap) {
			oc->cap = oc->cap ? oc->cap * 2 : 16;
			oc->clock = xreallocarray(oc->clock, oc->cap,
			    sizeof(char *));
			oc->count = xreallocarray(oc->count, oc->cap,
			    sizeof(int64_t));
		}
		oc->clock[oc->n] = xstrdup(clock);
		oc->count[oc->n++] = 0;
	}
	oc->count[i] += n;
	oc->total += n;
}

/*
 * Once a second, on this thread (the connection is not the HTTP
 * thread's to use): the open SLA cycles for status and the metrics, every
 * configured clock listed even with none open.
 */
static void
refresh_open_cycles(loop_t *L)
{
	open_cycles_t oc = { 0 };

	for (size_t i = 0; i < L->cfg->nclocks; i++)
		open_cycles_add(&oc, L->cfg->clocks[i].name, 0);
	if (store_open_cycles(L->store, open_cycles_add, &oc) == 0) {
		L->open_cycles = oc.total;
		metrics_set_open_cycles(L->metrics,
		    (const char *const *)oc.clock, oc.count, oc.n);
	} else {
		db_lost(L, "open cycles");
	}
	for (size_t i = 0; i < oc.n; i++)
		free(oc.clock[i]);
	free(oc.clock);
	free(oc.count);
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int
run(loop_t *L)
{
	size_t ning = bus_ningest(L->bus);
	zmq_pollitem_t *items = xcalloc(ning + 2, sizeof(*items));
	int rc = 0;

	L->start_mono = L->last_rate_mono = mono_us();
	L->next_heartbeat = L->start_mono + 1000000;
	if (sd_watchdog_enabled(0, &L->watchdog_us) > 0) {
		L->watchdog_us /= 2;
		L->next_watchdog = L->start_mono;
	} else {
		L->watchdog_us = 0;
	}
	L->reconnect_at = L->start_mono;

	for (;;) {
		int64_t now = mono_us(), deadline;
		bool connected = store_connected(L->store);
		bool read_ok;
		size_t n = 0;
		long timeout;

		if (L->stopping >= 2) {
			log_warnx("second signal: exiting at once; %zu "
			    "uncommitted event(s) were not acknowledged",
			    batch_size(L->batch));
			rc = 1;
			break;
		}
		if (!connected && now >= L->reconnect_at) {
			if (db_connect(L) == 0 && !L->ready) {
				notify_ready(L);
				L->ready = true;
				log_info("ready");
			}
			connected = store_connected(L->store);
			now = mono_us();
		}
		if (connected && batch_size(L->batch) > 0 &&
		    (batch_size(L->batch) >= L->batch_max || L->stopping ||
		    now >= L->batch->first_mono + L->batch_wait_us)) {
			commit_batch(L);
			now = mono_us();
			connected = store_connected(L->store);
		}
		if (L->stopping && batch_size(L->batch) == 0)
			break;
		/*
		 * The next SLA alert's time drives a wake-up of its own (wall
		 * mode; in event mode time moves only with events).
		 */
		if (connected && batch_size(L->batch) == 0 &&
		    L->cfg->clock_mode == CLOCK_WALL &&
		    recstore_next_due(L->rec) != 0 &&
		    recstore_next_due(L->rec) != L->due_tried &&
		    ts_now() >= recstore_next_due(L->rec)) {
			/* Once per due instant: no spin if it cannot move. */
			L->due_tried = recstore_next_due(L->rec);
			commit_batch(L);
			now = mono_us();
			connected = store_connected(L->store);
		}
		if (now >= L->next_heartbeat) {
			/*
			 * Due work that no event brings (reconcile.unmatched
			 * in wall mode) runs in an empty batch once a second.
			 */
			if (connected && batch_size(L->batch) == 0 &&
			    L->cfg->clock_mode == CLOCK_WALL)
				commit_batch(L);
			heartbeat(L);
			status_tick(L, now);
			if (connected && store_mark_published(L->store,
			    L->outbox, false) == -1)
				db_lost(L, "outbox");
			if (store_connected(L->store))
				refresh_open_cycles(L);
			metrics_sync(L, batch_size(L->batch));
			L->next_heartbeat = now + 1000000;
		}
		if (L->watchdog_us && now >= L->next_watchdog) {
			sd_notify(0, "WATCHDOG=1");
			L->next_watchdog = now + (int64_t)L->watchdog_us;
		}

		/* What to wait for, and for how long. */
		read_ok = L->db_ever && !L->stopping &&
		    batch_size(L->batch) < read_limit(L);
		deadline = L->next_heartbeat;
		if (L->watchdog_us)
			deadline = min64(deadline, L->next_watchdog);
		if (!store_connected(L->store))
			deadline = min64(deadline, L->reconnect_at);
		else if (batch_size(L->batch) > 0)
			deadline = min64(deadline,
			    L->batch->first_mono + L->batch_wait_us);
		else if (L->cfg->clock_mode == CLOCK_WALL &&
		    recstore_next_due(L->rec) != 0)
			deadline = min64(deadline, now + (recstore_next_due(
			    L->rec) - ts_now()));
		timeout = (long)((deadline - now + 999) / 1000);
		if (timeout < 0)
			timeout = 0;

		items[n].socket = NULL;
		items[n].fd = L->sigfd;
		items[n].events = ZMQ_POLLIN;
		n++;
		items[n].socket = bus_control_socket(L->bus);
		items[n].events = ZMQ_POLLIN;
		n++;
		if (read_ok)
			for (size_t i = 0; i < ning; i++) {
				items[n].socket = bus_ingest_socket(L->bus, i);
				items[n].events = ZMQ_POLLIN;
				n++;
			}
		if (zmq_poll(items, (int)n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			log_error("zmq_poll: %s", zmq_strerror(errno));
			rc = 1;
			break;
		}
		if (items[0].revents & ZMQ_POLLIN)
			signals_read(L);
		if (items[1].revents & ZMQ_POLLIN)
			control(L);
		if (read_ok && !L->stopping)
			ingest_all(L);
	}
	free(items);
	if (rc == 0) {
		publish_ready(L);
		if (store_connected(L->store) &&
		    store_mark_published(L->store, L->outbox, true) == -1)
			log_warnx("could not record the last publication: %s",
			    store_error(L->store));
		log_info("stopped: %llu accepted, %llu duplicate, %llu "
		    "rejected", (unsigned long long)L->n_accepted,
		    (unsigned long long)L->n_duplicate,
		    (unsigned long long)L->n_rejected);
	}
	return rc;
}

int
loop_run(const char *config_path, cfg_t *cfg, curve_server_t *curve)
{
	loop_t L;
	int rc;

	memset(&L, 0, sizeof(L));
	L.path = config_path;
	L.cfg = cfg;
	L.batch_max = (size_t)cfg->batch_max_events;
	L.batch_wait_us = (int64_t)cfg->batch_max_wait_ms * 1000;
	L.buffer_max = (size_t)cfg->buffer_max_events;
	L.max_bytes = (size_t)cfg->max_message_bytes;
	L.sigfd = signals_open();
	if (L.sigfd == -1) {
		log_warn("signalfd");
		cfg_destroy(&L.cfg);
		curve_server_destroy(&curve);
		return 1;
	}
	L.zctx = zmq_ctx_new();
	/*
	 * The ZAP handler runs before any socket binds: libzmq would let
	 * every CURVE client in while none answers. Its thread, started after
	 * signals_open, inherits the blocked signals.
	 */
	if (curve != NULL) {
		char *err = NULL;
		zap_stats_t zs;

		L.zap = zap_new(L.zctx, &curve, &err);
		if (L.zap == NULL) {
			log_error("curve: %s; not starting without it", err);
			free(err);
			curve_server_destroy(&curve);
			rc = 1;
			goto out;
		}
		zap_stats(L.zap, &zs);
		log_info("curve: CurveZMQ on every tcp endpoint; server public "
		    "key %s; %llu client key(s) from %s", zap_public_key(L.zap),
		    (unsigned long long)zs.clients, zap_clients_dir(L.zap));
	}
	L.bus = bus_new(L.zctx, cfg, L.zap);
	if (L.bus == NULL) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < bus_ningest(L.bus); i++)
		log_info("ingest %s on %s",
		    bus_ingest_kind(L.bus, i) == INGEST_SUB ? "sub" :
		    bus_ingest_kind(L.bus, i) == INGEST_PULL ? "pull" : "router",
		    bus_ingest_endpoint(L.bus, i));
	log_info("publish on %s, control on %s", bus_publish_endpoint(L.bus),
	    bus_control_endpoint(L.bus));
	/*
	 * After the sockets, before READY=1; after signals_open too, so the
	 * HTTP thread inherits the blocked signals and never takes one.
	 */
	if (cfg->metrics_listen != NULL) {
		L.metrics = metrics_new(cfg->metrics_listen);
		if (L.metrics == NULL) {
			rc = 1;
			goto out;
		}
		log_info("metrics on http://%s/metrics",
		    metrics_address(L.metrics));
	}
	L.endpoints = xcalloc(bus_ningest(L.bus), sizeof(char *));
	for (size_t i = 0; i < bus_ningest(L.bus); i++)
		L.endpoints[i] = bus_ingest_endpoint(L.bus, i);
	L.store = store_new(cfg->db_conninfo);
	store_set_endpoints(L.store, L.endpoints);
	{
		char *err = NULL;

		L.rec = recstore_new(cfg, &err);
		if (L.rec == NULL) {
			log_error("calendars: %s", err);
			free(err);
			rc = 1;
			goto out;
		}
	}
	store_set_hook(L.store, recstore_hook, L.rec);
	store_set_session_sql(L.store, recstore_session_sql);
	L.outbox = outbox_new();
	L.batch = batch_new(L.batch_max);
	L.codec = codec_new();
	L.ctl_arena = arena_new(1 << 16);
	L.lat = xcalloc(LAT_RING, sizeof(uint32_t));
	rc = run(&L);
out:
	metrics_destroy(&L.metrics);
	store_destroy(&L.store);
	recstore_destroy(&L.rec);
	outbox_destroy(&L.outbox);
	batch_destroy(&L.batch);
	codec_destroy(&L.codec);
	arena_destroy(&L.ctl_arena);
	free(L.lat);
	free(L.endpoints);
	bus_destroy(&L.bus);
	/* Only once no secured socket is left. */
	zap_destroy(&L.zap);
	if (L.zctx != NULL)
		zmq_ctx_term(L.zctx);
	close(L.sigfd);
	cfg_destroy(&L.cfg);
	return rc;
}
