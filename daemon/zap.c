/*
 * The ZAP handler (ZeroMQ RFC 27) and CurveZMQ server options for the
 * daemon's sockets. See zap.h for what it allows and how it logs.
 *
 * Threads: the handler thread owns the REP socket, its end of a PAIR pipe,
 * the monitor sockets and the set of client keys it checks. The main
 * thread never touches them: it queues new monitors and key sets under a
 * mutex and wakes the thread with one frame on the pipe ("W" for work,
 * "S" for stop). A socket created by the main thread changes hands under
 * that mutex, which gives the memory barrier ZeroMQ asks for when a socket
 * moves between threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "handoff/log.h"
#include "handoff/zap.h"

/* A draft option of libzmq 4.3; the library Debian ships understands it. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define MAX_FRAMES 8
#define FRAME_MAX 256           /* longer frames are cut (only logged) */
#define SEEN_SLOTS 256          /* distinct refusals remembered */
#define SEEN_TTL_MS (3600 * 1000)
#define BURST_LINES 20          /* refusal lines a minute, at most */
#define SUMMARY_MS (600 * 1000) /* how often the unlogged ones are counted */
#define MONITOR_EVENTS (ZMQ_EVENT_LISTENING | ZMQ_EVENT_CONNECTED | \
	ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)

/* A secured socket as the thread knows it. */
struct watch {
	char *domain;
	char *what;
	char *endpoint; /* learned from the monitor; NULL until then */
	void *mon;      /* PAIR connected to the socket's monitor */
	struct watch *next;
};

/* The log's memory and budget (thread only). */
struct limiter {
	uint64_t hash[SEEN_SLOTS];
	int64_t at[SEEN_SLOTS];
	size_t next;
	int64_t minute_start;
	int lines;
	uint64_t unlogged;
	int64_t unlogged_since;
};

/* What only the handler thread touches once it runs. */
struct zstate {
	void *rep;
	void *pipe;
	curve_clients_t *clients;
	char *clients_dir;
	struct watch *watches;
	size_t nwatches;
	struct limiter lim;
	struct zap *z;
};

struct zap {
	void *zctx;
	void *pipe;          /* the main thread's end */
	pthread_t thread;
	curve_server_t *server; /* secret key and paths; clients moved out */
	int nmonitors;

	pthread_mutex_t mu;  /* guards what follows */
	struct watch *pending_watches;
	curve_clients_t *pending_clients;
	bool has_pending_clients;
	zap_stats_t stats;

	struct zstate *st;   /* handed to the thread */
};

static int64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t
fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	/* A separator, so that ("ab", "c") and ("a", "bc") differ. */
	h ^= 0xff;
	h *= 1099511628211ULL;
	return h;
}

/*
 * Whether to log a refusal with this hash now: not when the same one was
 * logged within the hour, nor beyond the budget of the minute. What is
 * not logged is counted for the summary.
 */
static bool
limiter_allow(struct limiter *l, uint64_t hash, int64_t now)
{
	size_t slot = l->next;

	for (size_t i = 0; i < SEEN_SLOTS; i++)
		if (l->at[i] != 0 && l->hash[i] == hash) {
			if (now - l->at[i] < SEEN_TTL_MS)
				goto unlogged;
			slot = i;
			break;
		}
	if (now - l->minute_start >= 60000) {
		l->minute_start = now;
		l->lines = 0;
	}
	if (l->lines >= BURST_LINES)
		goto unlogged;
	l->lines++;
	l->hash[slot] = hash;
	l->at[slot] = now;
	if (slot == l->next)
		l->next = (l->next + 1) % SEEN_SLOTS;
	return true;
unlogged:
	if (l->unlogged++ == 0)
		l->unlogged_since = now;
	return false;
}

static void
limiter_summary(struct limiter *l, int64_t now, bool force)
{
	if (l->unlogged == 0 || (!force &&
	    now - l->unlogged_since < SUMMARY_MS))
		return;
	log_warnx("curve: %llu more refused handshake(s) in the last %lld "
	    "s were not logged (repeats of refusals logged before, or more "
	    "than %d a minute)", (unsigned long long)l->unlogged,
	    (long long)((now - l->unlogged_since) / 1000), BURST_LINES);
	l->unlogged = 0;
}

/* Milliseconds until the summary is due; -1 when none is pending. */
static long
limiter_timeout(const struct limiter *l, int64_t now)
{
	int64_t left;

	if (l->unlogged == 0)
		return -1;
	left = l->unlogged_since + SUMMARY_MS - now;
	return left > 0 ? (long)left : 0;
}

static void
count(struct zap *z, bool allowed)
{
	pthread_mutex_lock(&z->mu);
	if (allowed)
		z->stats.allowed++;
	else
		z->stats.refused++;
	pthread_mutex_unlock(&z->mu);
}

/* A copy of a frame fit for a log line: printable ASCII, bounded. */
static void
printable(char *out, size_t cap, const char *data, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)data[i];

		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
}

static struct watch *
find_watch(struct zstate *st, const char *domain)
{
	for (struct watch *w = st->watches; w != NULL; w = w->next)
		if (strcmp(w->domain, domain) == 0)
			return w;
	return NULL;
}

/* "ingest router tcp://127.0.0.1:5557", or the domain when unknown. */
static void
socket_name(struct zstate *st, const char *domain, char *out, size_t cap)
{
	struct watch *w = find_watch(st, domain);

	if (w == NULL)
		snprintf(out, cap, "ZAP domain \"%s\"", domain);
	else if (w->endpoint == NULL)
		snprintf(out, cap, "%s", w->what);
	else
		snprintf(out, cap, "%s %s", w->what, w->endpoint);
}

typedef struct {
	char data[MAX_FRAMES][FRAME_MAX];
	size_t len[MAX_FRAMES]; /* as received, possibly over FRAME_MAX */
	size_t n;               /* frames kept */
	size_t total;           /* frames received */
} frames_t;

/* Receives every frame of one message; -1 on a socket error. */
static int
recv_frames(void *s, frames_t *f)
{
	int more;

	f->n = f->total = 0;
	do {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, f->total == 0 ? ZMQ_DONTWAIT : 0) ==
		    -1) {
			zmq_msg_close(&m);
			return -1;
		}
		if (f->n < MAX_FRAMES) {
			size_t l = zmq_msg_size(&m);

			memcpy(f->data[f->n], zmq_msg_data(&m),
			    l < FRAME_MAX ? l : FRAME_MAX);
			f->len[f->n] = l;
			f->n++;
		}
		f->total++;
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
	} while (more);
	return 0;
}

/* The RFC 27 reply: version, request id, status, text, user id, metadata. */
static void
zap_reply(void *rep, const frames_t *req, const char *status,
    const char *text, const char *user)
{
	const char *id = req->n >= 2 ? req->data[1] : "";
	size_t idlen = req->n >= 2 ? (req->len[1] < FRAME_MAX ? req->len[1] :
	    FRAME_MAX) : 0;

	if (zmq_send(rep, "1.0", 3, ZMQ_SNDMORE) == -1 ||
	    zmq_send(rep, id, idlen, ZMQ_SNDMORE) == -1 ||
	    zmq_send(rep, status, strlen(status), ZMQ_SNDMORE) == -1 ||
	    zmq_send(rep, text, strlen(text), ZMQ_SNDMORE) == -1 ||
	    zmq_send(rep, user, strlen(user), ZMQ_SNDMORE) == -1 ||
	    zmq_send(rep, "", 0, 0) == -1)
		log_error("curve: ZAP reply: %s", zmq_strerror(errno));
}

static bool
frame_is(const frames_t *f, size_t i, const char *s)
{
	return i < f->n && f->len[i] == strlen(s) &&
	    memcmp(f->data[i], s, f->len[i]) == 0;
}

static void
refuse(struct zstate *st, const frames_t *req, const char *domain,
    const char *address, const char *mech, const char *why,
    const char *status_text)
{
	uint64_t h = 14695981039346656037ULL;
	char name[512];

	zap_reply(st->rep, req, "400", status_text, "");
	count(st->z, false);
	h = fnv1a(h, domain, strlen(domain));
	h = fnv1a(h, address, strlen(address));
	h = fnv1a(h, mech, strlen(mech));
	h = fnv1a(h, why, strlen(why));
	if (!limiter_allow(&st->lim, h, mono_ms()))
		return;
	socket_name(st, domain, name, sizeof(name));
	log_warnx("curve: %s: refused %s: %s", name, address, why);
}

static void
handle_request(struct zstate *st)
{
	frames_t *req = xmalloc(sizeof(*req));
	char domain[FRAME_MAX + 1], address[FRAME_MAX + 1];
	char mech[FRAME_MAX + 1], why[FRAME_MAX + 256], name[512];

	if (recv_frames(st->rep, req) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_error("curve: ZAP request: %s", zmq_strerror(errno));
		free(req);
		return;
	}
	/* libzmq sends well-formed requests; anything else is a bug. */
	if (req->total < 6 || req->n < 6 || !frame_is(req, 0, "1.0")) {
		log_error("curve: malformed ZAP request (%zu frames)",
		    req->total);
		zap_reply(st->rep, req, "500", "malformed request", "");
		free(req);
		return;
	}
	printable(domain, sizeof(domain), req->data[2], req->len[2]);
	printable(address, sizeof(address), req->data[3], req->len[3]);
	printable(mech, sizeof(mech), req->data[5], req->len[5]);
	if (!frame_is(req, 5, "CURVE")) {
		snprintf(why, sizeof(why), "mechanism %s is not allowed, only "
		    "CURVE", mech);
		refuse(st, req, domain, address, mech, why,
		    "mechanism not allowed");
	} else if (req->total != 7 || req->len[6] != CURVE_KEY_BIN) {
		refuse(st, req, domain, address, mech,
		    "malformed CURVE credentials", "malformed credentials");
	} else {
		const uint8_t *key = (const uint8_t *)req->data[6];
		const char *client = curve_clients_find(st->clients, key);
		char z85[CURVE_KEY_Z85 + 1];

		if (client != NULL) {
			zap_reply(st->rep, req, "200", "OK", client);
			count(st->z, true);
			if (log_get_level() >= LOG_LVL_DEBUG) {
				socket_name(st, domain, name, sizeof(name));
				log_debug("curve: %s: allowed client %s (%s)",
				    name, client, address);
			}
		} else {
			zmq_z85_encode(z85, key, CURVE_KEY_BIN);
			snprintf(why, sizeof(why), "public key %s is not in %s",
			    z85, st->clients_dir);
			refuse(st, req, domain, address, mech, why,
			    "unknown public key");
		}
	}
	free(req);
}

static const char *
protocol_error(uint32_t v)
{
	switch (v) {
	case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
		return "the peer does not use CURVE (a plain client, or "
		    "PLAIN)";
	case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
		return "the CURVE handshake failed (a client with the wrong "
		    "server public key?)";
	default:
		return NULL;
	}
}

/* One event from the monitor of w. */
static void
handle_monitor(struct zstate *st, struct watch *w)
{
	frames_t *f = xmalloc(sizeof(*f));
	uint16_t ev;
	uint32_t val;
	char ep[FRAME_MAX + 1], why[128];
	const char *text;
	uint64_t h = 14695981039346656037ULL;

	if (recv_frames(w->mon, f) == -1) {
		free(f);
		return;
	}
	if (f->n < 2 || f->len[0] < 6) {
		free(f);
		return;
	}
	memcpy(&ev, f->data[0], sizeof(ev));
	memcpy(&val, f->data[0] + 2, sizeof(val));
	printable(ep, sizeof(ep), f->data[1], f->len[1]);
	free(f);
	if (ev == ZMQ_EVENT_LISTENING || ev == ZMQ_EVENT_CONNECTED) {
		if (w->endpoint == NULL || strcmp(w->endpoint, ep) != 0) {
			free(w->endpoint);
			w->endpoint = xstrdup(ep);
		}
		return;
	}
	/*
	 * A connection closed during the handshake is not a refusal: a port
	 * probe or a health check does that.
	 */
	if (ev != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
		log_debug("curve: %s %s: a connection closed during the "
		    "handshake (%s)", w->what, w->endpoint != NULL ?
		    w->endpoint : ep, zmq_strerror((int)val));
		return;
	}
	/* A handshake that failed before the ZAP request. */
	count(st->z, false);
	if ((text = protocol_error(val)) != NULL)
		snprintf(why, sizeof(why), "%s", text);
	else
		snprintf(why, sizeof(why), "protocol error 0x%08x in the "
		    "handshake", val);
	h = fnv1a(h, w->domain, strlen(w->domain));
	h = fnv1a(h, why, strlen(why));
	if (!limiter_allow(&st->lim, h, mono_ms()))
		return;
	/* libzmq does not tell the peer's address for these. */
	log_warnx("curve: %s %s: refused a connection: %s", w->what,
	    w->endpoint != NULL ? w->endpoint : ep, why);
}

/* Takes the watches and key set the main thread queued. */
static void
take_work(struct zstate *st)
{
	struct zap *z = st->z;
	struct watch *w;

	pthread_mutex_lock(&z->mu);
	w = z->pending_watches;
	z->pending_watches = NULL;
	if (z->has_pending_clients) {
		curve_clients_destroy(&st->clients);
		st->clients = z->pending_clients;
		z->pending_clients = NULL;
		z->has_pending_clients = false;
		z->stats.clients = curve_clients_count(st->clients);
	}
	pthread_mutex_unlock(&z->mu);
	while (w != NULL) {
		struct watch *next = w->next;

		w->next = st->watches;
		st->watches = w;
		st->nwatches++;
		w = next;
	}
}

static void
free_watches(struct watch *w)
{
	while (w != NULL) {
		struct watch *next = w->next;

		if (w->mon != NULL)
			zmq_close(w->mon);
		free(w->domain);
		free(w->what);
		free(w->endpoint);
		free(w);
		w = next;
	}
}

static void *
zap_thread(void *arg)
{
	struct zstate *st = arg;
	zmq_pollitem_t *items = NULL;
	struct watch **byitem = NULL;
	size_t cap = 0;
	bool stop = false;

	while (!stop) {
		size_t n = 0;
		int rc;

		if (cap < st->nwatches + 2) {
			cap = st->nwatches + 8;
			items = xreallocarray(items, cap, sizeof(*items));
			byitem = xreallocarray(byitem, cap, sizeof(*byitem));
		}
		items[n++] = (zmq_pollitem_t){ st->pipe, 0, ZMQ_POLLIN, 0 };
		items[n++] = (zmq_pollitem_t){ st->rep, 0, ZMQ_POLLIN, 0 };
		for (struct watch *w = st->watches; w != NULL; w = w->next) {
			byitem[n] = w;
			items[n++] = (zmq_pollitem_t){ w->mon, 0, ZMQ_POLLIN, 0 };
		}
		rc = zmq_poll(items, (int)n, limiter_timeout(&st->lim,
		    mono_ms()));
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1) {
			/*
			 * With the handler gone every CURVE handshake fails
			 * (ZMQ_ZAP_ENFORCE_DOMAIN): closed, not open.
			 */
			log_error("curve: ZAP handler stopped: zmq_poll: %s; "
			    "every CURVE handshake fails from now on",
			    zmq_strerror(errno));
			break;
		}
		if (items[0].revents & ZMQ_POLLIN) {
			char cmd[8];

			while (zmq_recv(st->pipe, cmd, sizeof(cmd),
			    ZMQ_DONTWAIT) >= 1)
				if (cmd[0] == 'S')
					stop = true;
			take_work(st);
			/* New monitors are polled from the next round. */
			continue;
		}
		if (items[1].revents & ZMQ_POLLIN)
			handle_request(st);
		for (size_t i = 2; i < n; i++)
			if (items[i].revents & ZMQ_POLLIN)
				handle_monitor(st, byitem[i]);
		limiter_summary(&st->lim, mono_ms(), false);
	}
	limiter_summary(&st->lim, mono_ms(), true);
	free(items);
	free(byitem);
	return NULL;
}

static void
wake(zap_t *z, const char *cmd)
{
	/* The thread drains the pipe; a full one already has a wake-up. */
	if (zmq_send(z->pipe, cmd, 1, ZMQ_DONTWAIT) == -1 && errno != EAGAIN)
		log_error("curve: waking the ZAP handler: %s",
		    zmq_strerror(errno));
}

static void *
socket_linger0(void *zctx, int type)
{
	void *s = zmq_socket(zctx, type);
	int zero = 0;

	if (s != NULL)
		zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	return s;
}

zap_t *
zap_new(void *zctx, curve_server_t **server, char **err)
{
	zap_t *z = xcalloc(1, sizeof(*z));
	struct zstate *st = xcalloc(1, sizeof(*st));
	char pipe_ep[64];
	int rc;

	z->zctx = zctx;
	st->z = z;
	pthread_mutex_init(&z->mu, NULL);
	st->rep = socket_linger0(zctx, ZMQ_REP);
	if (st->rep == NULL) {
		*err = xasprintf("ZAP handler: zmq_socket: %s",
		    zmq_strerror(errno));
		goto fail;
	}
	if (zmq_bind(st->rep, ZAP_ENDPOINT) == -1) {
		*err = xasprintf("ZAP handler: cannot bind %s: %s%s",
		    ZAP_ENDPOINT, zmq_strerror(errno), errno == EADDRINUSE ?
		    " (another ZAP handler runs in this process)" : "");
		goto fail;
	}
	snprintf(pipe_ep, sizeof(pipe_ep), "inproc://handoff-zap-pipe-%p",
	    (void *)z);
	z->pipe = socket_linger0(zctx, ZMQ_PAIR);
	st->pipe = socket_linger0(zctx, ZMQ_PAIR);
	if (z->pipe == NULL || st->pipe == NULL ||
	    zmq_bind(z->pipe, pipe_ep) == -1 ||
	    zmq_connect(st->pipe, pipe_ep) == -1) {
		*err = xasprintf("ZAP handler: %s: %s", pipe_ep,
		    zmq_strerror(errno));
		goto fail;
	}
	z->server = *server;
	st->clients = z->server->clients;
	st->clients_dir = z->server->clients_dir;
	z->server->clients = NULL;
	z->stats.clients = curve_clients_count(st->clients);
	z->st = st;
	/* pthread_create is a full memory barrier: the sockets move safely. */
	rc = pthread_create(&z->thread, NULL, zap_thread, st);
	if (rc != 0) {
		*err = xasprintf("ZAP handler: cannot start its thread: %s",
		    strerror(rc));
		z->server->clients = st->clients;
		z->server = NULL;
		z->st = NULL;
		goto fail;
	}
	*server = NULL;
	return z;
fail:
	if (st->rep != NULL)
		zmq_close(st->rep);
	if (st->pipe != NULL)
		zmq_close(st->pipe);
	if (z->pipe != NULL)
		zmq_close(z->pipe);
	pthread_mutex_destroy(&z->mu);
	free(st);
	free(z);
	return NULL;
}

void
zap_destroy(zap_t **zp)
{
	zap_t *z;
	struct zstate *st;

	if (zp == NULL || *zp == NULL)
		return;
	z = *zp;
	st = z->st;
	wake(z, "S");
	pthread_join(z->thread, NULL);
	/* The thread has ended: its state is ours to free. */
	zmq_close(st->rep);
	zmq_close(st->pipe);
	free_watches(st->watches);
	curve_clients_destroy(&st->clients);
	free(st);
	zmq_close(z->pipe);
	free_watches(z->pending_watches);
	curve_clients_destroy(&z->pending_clients);
	curve_server_destroy(&z->server);
	pthread_mutex_destroy(&z->mu);
	free(z);
	*zp = NULL;
}

int
zap_secure(zap_t *z, void *sock, const char *domain, const char *what,
    char **err)
{
	int one = 1;
	char mon_ep[64];
	struct watch *w;
	void *mon;

	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) == -1 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, z->server->secret.z85,
	    CURVE_KEY_Z85) == -1 ||
	    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) ==
	    -1) {
		*err = xasprintf("CurveZMQ options: %s", zmq_strerror(errno));
		return -1;
	}
	/* Closed, not open, should the handler ever be missing. */
	if (zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one,
	    sizeof(one)) == -1)
		log_debug("%s: ZMQ_ZAP_ENFORCE_DOMAIN: %s", what,
		    zmq_strerror(errno));
	snprintf(mon_ep, sizeof(mon_ep), "inproc://handoff-zap-monitor-%d",
	    z->nmonitors++);
	if (zmq_socket_monitor(sock, mon_ep, MONITOR_EVENTS) == -1) {
		*err = xasprintf("socket monitor: %s", zmq_strerror(errno));
		return -1;
	}
	/* Connected here, before the bind, so that no event is lost. */
	mon = socket_linger0(z->zctx, ZMQ_PAIR);
	if (mon == NULL || zmq_connect(mon, mon_ep) == -1) {
		*err = xasprintf("socket monitor %s: %s", mon_ep,
		    zmq_strerror(errno));
		if (mon != NULL)
			zmq_close(mon);
		zmq_socket_monitor(sock, NULL, 0);
		return -1;
	}
	w = xcalloc(1, sizeof(*w));
	w->domain = xstrdup(domain);
	w->what = xstrdup(what);
	w->mon = mon;
	pthread_mutex_lock(&z->mu);
	w->next = z->pending_watches;
	z->pending_watches = w;
	pthread_mutex_unlock(&z->mu);
	wake(z, "W");
	return 0;
}

const char *
zap_public_key(const zap_t *z)
{
	return z->server->pub.z85;
}

const char *
zap_clients_dir(const zap_t *z)
{
	return z->server->clients_dir;
}

static void
log_warn_cb(void *arg, const char *msg)
{
	(void)arg;
	log_warnx("curve: %s", msg);
}

int
zap_load_clients(const zap_t *z, curve_clients_t **out, char **err)
{
	return curve_clients_load(z->server->clients_dir, log_warn_cb, NULL,
	    out, err);
}

void
zap_set_clients(zap_t *z, curve_clients_t **clients)
{
	pthread_mutex_lock(&z->mu);
	curve_clients_destroy(&z->pending_clients);
	z->pending_clients = *clients;
	z->has_pending_clients = true;
	pthread_mutex_unlock(&z->mu);
	*clients = NULL;
	wake(z, "W");
}

void
zap_stats(const zap_t *z, zap_stats_t *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&z->mu);
	*out = z->stats;
	pthread_mutex_unlock((pthread_mutex_t *)&z->mu);
}
