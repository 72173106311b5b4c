/*
 * The Prometheus endpoint (SPEC §9). libmicrohttpd serves it from one
 * internal thread with a small connection limit and an idle timeout, so a
 * slow or hostile client costs that thread, never the loop. We bind the
 * listening socket ourselves and hand it over: that way a port in use is
 * reported with the address and errno, an IPv6 address binds IPv6 only
 * (exactly what was configured), and port 0 gets a port we can name.
 *
 * The two threads share one metrics_fig_t and the open-cycle list under a
 * mutex. The loop copies its own figures in once per batch; the handler
 * copies them out and formats the copy after unlocking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "handoff/log.h"
#include "handoff/metrics.h"

#define CONN_LIMIT 8       /* concurrent connections; a scraper needs one */
#define CONN_TIMEOUT_S 10  /* idle seconds before a connection is closed */
#define LISTEN_BACKLOG 16

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";
static const char not_found[] = "not found: the metrics are at /metrics\n";
static const char not_allowed[] = "method not allowed: use GET\n";

struct metrics {
	struct MHD_Daemon *mhd;
	char *address;
	double start_time; /* Unix time, seconds */
	pthread_mutex_t mu;
	/* Under mu. */
	metrics_fig_t fig;
	char **oc_clock;
	int64_t *oc_count;
	size_t noc;
};

/* Bucket upper bounds; each histogram also has +Inf. */
typedef struct {
	const double *le;
	size_t n;
} hist_def_t;

static const double batch_le[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000,
	2000, 5000, 10000 };
static const double commit_le[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
static const double latency_le[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };

static const hist_def_t batch_def = { batch_le, ARRAY_LEN(batch_le) };
static const hist_def_t commit_def = { commit_le, ARRAY_LEN(commit_le) };
static const hist_def_t latency_def = { latency_le, ARRAY_LEN(latency_le) };

_Static_assert(ARRAY_LEN(batch_le) <= METRICS_HIST_MAX, "buckets");
_Static_assert(ARRAY_LEN(commit_le) <= METRICS_HIST_MAX, "buckets");
_Static_assert(ARRAY_LEN(latency_le) <= METRICS_HIST_MAX, "buckets");

static const char *const outcome_names[METRICS__OUTCOMES] = {
	"accepted", "duplicate", "rejected"
};

/* ---- the listen address ---- */

int
metrics_listen_parse(const char *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	const char *colon = strrchr(s, ':'), *p;
	struct sockaddr_storage tmp;
	char host[INET6_ADDRSTRLEN];
	size_t hlen;
	long port = 0;

	if (colon == NULL || colon == s || colon[1] == '\0' ||
	    strlen(colon + 1) > 5)
		return -1;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		port = port * 10 + (*p - '0');
	}
	if (port > 65535)
		return -1;
	if (ss == NULL)
		ss = &tmp;
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (colon[-1] != ']')
			return -1;
		hlen = (size_t)(colon - s) - 2;
		if (hlen == 0 || hlen >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (len != NULL)
			*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -1;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (len != NULL)
			*len = sizeof(*a);
	}
	return 0;
}

/* "127.0.0.1:9464" or "[::1]:9464" for a bound socket's address. */
static char *
format_address(const struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		return xasprintf("[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		return xasprintf("%s:%u", host, (unsigned)ntohs(a->sin_port));
	}
}

/* Binds and listens on listen; returns the socket or -1 (logged). */
static int
open_listener(const char *listen_addr, struct sockaddr_storage *bound)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (metrics_listen_parse(listen_addr, &ss, &len) == -1) {
		log_error("metrics.listen \"%s\": not a numeric address:port",
		    listen_addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		log_warn("metrics.listen %s: socket", listen_addr);
		return -1;
	}
	/*
	 * SO_REUSEADDR lets a restart bind while old connections linger in
	 * TIME_WAIT; on Linux it does not let two listeners share the port.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)) {
		log_warn("metrics.listen %s: setsockopt", listen_addr);
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		log_warn("metrics.listen %s: cannot bind", listen_addr);
		close(fd);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		log_warn("metrics.listen %s: listen", listen_addr);
		close(fd);
		return -1;
	}
	len = sizeof(*bound);
	if (getsockname(fd, (struct sockaddr *)bound, &len) == -1) {
		log_warn("metrics.listen %s: getsockname", listen_addr);
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- rendering ---- */

/* Appends v as a label value: backslash, quote and newline escaped. */
static void
add_label_value(sbuf_t *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			sbuf_adds(b, "\\\\");
		else if (*v == '"')
			sbuf_adds(b, "\\\"");
		else if (*v == '\n')
			sbuf_adds(b, "\\n");
		else
			sbuf_addc(b, *v);
	}
}

static void
header(sbuf_t *b, const char *name, const char *type, const char *help)
{
	sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
hist(sbuf_t *b, const char *name, const char *help, const hist_def_t *d,
    const metrics_hist_t *h)
{
	uint64_t cum = 0;

	header(b, name, "histogram", help);
	for (size_t i = 0; i < d->n; i++) {
		cum += h->n[i];
		sbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, d->le[i],
		    (unsigned long long)cum);
	}
	cum += h->n[d->n];
	sbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)cum);
	sbuf_printf(b, "%s_sum %.15g\n", name, h->sum);
	sbuf_printf(b, "%s_count %llu\n", name, (unsigned long long)h->count);
}

static char *
render(metrics_t *m, size_t *len)
{
	metrics_fig_t f;
	sbuf_t b, oc;
	int64_t lag;

	/* Copy under the lock, format after it. */
	sbuf_init(&oc);
	pthread_mutex_lock(&m->mu);
	f = m->fig;
	for (size_t i = 0; i < m->noc; i++) {
		sbuf_adds(&oc, "handoff_sla_open_cycles{clock=\"");
		add_label_value(&oc, m->oc_clock[i]);
		sbuf_printf(&oc, "\"} %lld\n", (long long)m->oc_count[i]);
	}
	pthread_mutex_unlock(&m->mu);

	sbuf_init(&b);
	header(&b, "handoff_up", "gauge", "1 while the daemon serves metrics.");
	sbuf_adds(&b, "handoff_up 1\n");
	header(&b, "handoff_build_info", "gauge",
	    "Always 1; the version is in the label.");
	sbuf_adds(&b, "handoff_build_info{version=\"");
	add_label_value(&b, HANDOFF_VERSION);
	sbuf_adds(&b, "\"} 1\n");
	header(&b, "handoff_start_time_seconds", "gauge",
	    "When the daemon started, in seconds since the Unix epoch.");
	sbuf_printf(&b, "handoff_start_time_seconds %.3f\n", m->start_time);

	header(&b, "handoff_events_total", "counter",
	    "Inbound messages by type and outcome (accepted, duplicate, "
	    "rejected); rejected ones whose topic is no inbound type count "
	    "as type \"unknown\".");
	for (int t = 0; t < EV__COUNT; t++)
		for (int o = 0; o < METRICS__OUTCOMES; o++)
			sbuf_printf(&b, "handoff_events_total{type=\"%s\","
			    "outcome=\"%s\"} %llu\n", ev_type_name((ev_type_t)t),
			    outcome_names[o],
			    (unsigned long long)f.events[t][o]);
	sbuf_printf(&b, "handoff_events_total{type=\"unknown\","
	    "outcome=\"rejected\"} %llu\n", (unsigned long long)
	    f.events[METRICS_EV_UNKNOWN][METRICS_REJECTED]);
	hist(&b, "handoff_batch_events",
	    "Inbound messages (events and rejections) per committed batch.",
	    &batch_def, &f.batch_events);
	hist(&b, "handoff_commit_seconds",
	    "Duration of a batch's database transaction, in seconds.",
	    &commit_def, &f.commit_seconds);
	hist(&b, "handoff_event_latency_seconds",
	    "From an event's receipt to the commit of its batch, in seconds.",
	    &latency_def, &f.event_latency);
	header(&b, "handoff_buffered_events", "gauge",
	    "Inbound messages read but not yet committed.");
	sbuf_printf(&b, "handoff_buffered_events %lld\n",
	    (long long)f.buffered);

	header(&b, "handoff_published_total", "counter",
	    "Outbound messages published on the bus by type (sla.* are the "
	    "alerts; bus.heartbeat included).");
	for (int t = 0; t < OUT__COUNT; t++)
		sbuf_printf(&b, "handoff_published_total{type=\"%s\"} %llu\n",
		    out_type_name((out_type_t)t),
		    (unsigned long long)f.published[t]);
	if (f.published[METRICS_OUT_OTHER] > 0)
		sbuf_printf(&b, "handoff_published_total{type=\"other\"} "
		    "%llu\n", (unsigned long long)
		    f.published[METRICS_OUT_OTHER]);
	header(&b, "handoff_last_seq", "gauge",
	    "The last outbound seq committed, as far as this daemon knows.");
	sbuf_printf(&b, "handoff_last_seq %lld\n", (long long)f.last_seq);
	header(&b, "handoff_last_published_seq", "gauge",
	    "The last outbound seq this daemon published.");
	sbuf_printf(&b, "handoff_last_published_seq %lld\n",
	    (long long)f.last_published);
	header(&b, "handoff_outbox_lag", "gauge",
	    "Outbound messages committed but not yet published "
	    "(last_seq minus last_published_seq).");
	lag = f.last_seq - f.last_published;
	sbuf_printf(&b, "handoff_outbox_lag %lld\n", (long long)(lag > 0 ?
	    lag : 0));

	header(&b, "handoff_sla_open_cycles", "gauge",
	    "SLA clock cycles still open (running, paused or breached), by "
	    "clock.");
	sbuf_add(&b, oc.s, oc.len);
	sbuf_free(&oc);

	header(&b, "handoff_db_up", "gauge",
	    "1 while the database connection is up.");
	sbuf_printf(&b, "handoff_db_up %d\n", f.db_up ? 1 : 0);
	header(&b, "handoff_db_reconnects_total", "counter",
	    "Database connections made again after one was lost.");
	sbuf_printf(&b, "handoff_db_reconnects_total %llu\n",
	    (unsigned long long)f.db_reconnects);

	*len = b.len;
	return sbuf_take(&b);
}

/* ---- HTTP ---- */

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text),
	    (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	metrics_t *m = cls;
	struct MHD_Response *r;
	enum MHD_Result rc;
	size_t len;
	char *body;

	/*
	 * Answered on the first call, with the headers: a request body (which
	 * only a method we refuse would bring) is never read, and MHD closes
	 * such a connection after the reply.
	 */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed);
	if (strcmp(url, "/metrics") != 0)
		return respond(c, MHD_HTTP_NOT_FOUND, not_found);
	body = render(m, &len);
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* libmicrohttpd's own messages (a failed accept, say) go to our log. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	metrics_t *m = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warnx("metrics endpoint %s: %s", m->address, msg);
}

/* ---- life cycle ---- */

metrics_t *
metrics_new(const char *listen_addr)
{
	struct sockaddr_storage bound;
	struct timespec now;
	metrics_t *m;
	unsigned int flags;
	int fd = open_listener(listen_addr, &bound);

	if (fd == -1)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->address = format_address(&bound);
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	pthread_mutex_init(&m->mu, NULL);
	/*
	 * One internal polling thread (epoll where there is one), never a
	 * thread per connection: at most CONN_LIMIT clients, each dropped
	 * after CONN_TIMEOUT_S idle seconds.
	 */
	flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (bound.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, m,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT_S,
	    MHD_OPTION_END);
	if (m->mhd == NULL) {
		log_error("metrics endpoint %s: libmicrohttpd could not start",
		    m->address);
		/*
		 * fd is not closed here: depending on where it failed,
		 * libmicrohttpd may have closed it already, and closing a
		 * number that ZeroMQ's threads may have reused since would be
		 * worse than leaving one socket to the exit that follows.
		 */
		pthread_mutex_destroy(&m->mu);
		free(m->address);
		free(m);
		return NULL;
	}
	return m;
}

static void
free_open_cycles(metrics_t *m)
{
	for (size_t i = 0; i < m->noc; i++)
		free(m->oc_clock[i]);
	free(m->oc_clock);
	free(m->oc_count);
	m->oc_clock = NULL;
	m->oc_count = NULL;
	m->noc = 0;
}

void
metrics_destroy(metrics_t **mp)
{
	metrics_t *m;

	if (mp == NULL || *mp == NULL)
		return;
	m = *mp;
	/* Joins the HTTP thread and closes the listening socket. */
	MHD_stop_daemon(m->mhd);
	free_open_cycles(m);
	pthread_mutex_destroy(&m->mu);
	free(m->address);
	free(m);
	*mp = NULL;
}

const char *
metrics_address(const metrics_t *m)
{
	return m->address;
}

/* ---- the loop's side ---- */

static void
observe(metrics_hist_t *h, const hist_def_t *d, double v)
{
	size_t i = 0;

	while (i < d->n && v > d->le[i])
		i++;
	h->n[i]++;
	h->count++;
	h->sum += v;
}

void
metrics_count_event(metrics_fig_t *f, int type, metrics_outcome_t o)
{
	if (type < 0 || type > METRICS_EV_UNKNOWN)
		type = METRICS_EV_UNKNOWN;
	f->events[type][o]++;
}

void
metrics_count_rejected(metrics_fig_t *f, const char *topic)
{
	int t = topic != NULL ? ev_type_from_name(topic, strlen(topic)) : -1;

	metrics_count_event(f, t < 0 ? METRICS_EV_UNKNOWN : t,
	    METRICS_REJECTED);
}

void
metrics_count_published(metrics_fig_t *f, const char *type)
{
	for (int t = 0; t < OUT__COUNT; t++)
		if (strcmp(type, out_type_name((out_type_t)t)) == 0) {
			f->published[t]++;
			return;
		}
	/* A type from a newer daemon sharing the database. */
	f->published[METRICS_OUT_OTHER]++;
}

void
metrics_count_batch(metrics_fig_t *f, const batch_t *b, double commit_s,
    int64_t now_mono)
{
	for (size_t i = 0; i < b->n; i++) {
		const batch_item_t *it = &b->items[i];
		int64_t d = now_mono - it->recv_mono;

		metrics_count_event(f, (int)it->ev.type,
		    it->state == ITEM_ACCEPTED ? METRICS_ACCEPTED :
		    METRICS_DUPLICATE);
		observe(&f->event_latency, &latency_def,
		    (double)(d < 0 ? 0 : d) / 1e6);
	}
	/* The empty transactions that only run due SLA work are no batch. */
	if (batch_size(b) == 0)
		return;
	observe(&f->batch_events, &batch_def, (double)batch_size(b));
	observe(&f->commit_seconds, &commit_def, commit_s);
}

void
metrics_publish(metrics_t *m, const metrics_fig_t *f)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	m->fig = *f;
	pthread_mutex_unlock(&m->mu);
}

void
metrics_set_open_cycles(metrics_t *m, const char *const *clocks,
    const int64_t *counts, size_t n)
{
	char **names;
	int64_t *cnt;

	if (m == NULL)
		return;
	/* Allocate outside the lock; swap inside. */
	names = xcalloc(n + 1, sizeof(char *));
	cnt = xcalloc(n + 1, sizeof(int64_t));
	for (size_t i = 0; i < n; i++) {
		names[i] = xstrdup(clocks[i]);
		cnt[i] = counts[i];
	}
	pthread_mutex_lock(&m->mu);
	{
		char **old = m->oc_clock;
		int64_t *oldc = m->oc_count;
		size_t oldn = m->noc;

		m->oc_clock = names;
		m->oc_count = cnt;
		m->noc = n;
		names = old;
		cnt = oldc;
		n = oldn;
	}
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(cnt);
}
