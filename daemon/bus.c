/*
 * ZeroMQ sockets of the daemon. Every frame that is kept is copied into the
 * caller's arena, so a zmq_msg_t never outlives the call that received it.
 * Reads are non-blocking (the loop polls first), and the number of frames
 * is counted without trusting the peer: a message with too many frames is
 * drained and reported, never left half-read on the socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "handoff/bus.h"
#include "handoff/log.h"
#include "handoff/zap.h"

/* More frames than this are not kept (the message is rejected anyway). */
#define MAX_FRAMES 8

struct bus {
	cfg_ingest_kind_t *kinds; /* a reload may replace the cfg, not these */
	void **ingest;
	char **ingest_ep;
	size_t ningest;
	void *pub;
	char *pub_ep;
	void *ctl;
	char *ctl_ep;
};

static char *
last_endpoint(void *s)
{
	char buf[1024];
	size_t len = sizeof(buf);

	if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, buf, &len) == -1 || len == 0)
		return NULL;
	buf[sizeof(buf) - 1] = '\0';
	return xstrdup(buf);
}

/*
 * Creates a socket and binds or connects it. With zap, a socket on any
 * endpoint but ipc:// and inproc:// becomes a CURVE server first, in ZAP
 * domain `domain`, whether it binds or connects (SPEC §9: the daemon
 * authenticates every peer on the network, producers and publishers alike).
 */
static void *
open_socket(void *zctx, zap_t *zap, int type, const char *ep, bool connect,
    int64_t maxmsg, const char *domain, const char *what, char **bound)
{
	void *s = zmq_socket(zctx, type);
	int linger = 0;

	if (s == NULL) {
		log_error("%s %s: zmq_socket: %s", what, ep, zmq_strerror(errno));
		return NULL;
	}
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	if (zap != NULL && curve_endpoint_secured(ep)) {
		char *err = NULL;

		if (zap_secure(zap, s, domain, what, &err) == -1) {
			log_error("%s %s: %s", what, ep, err);
			free(err);
			zmq_close(s);
			return NULL;
		}
	}
	if (maxmsg > 0 && zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg,
	    sizeof(maxmsg)) == -1) {
		log_error("%s %s: ZMQ_MAXMSGSIZE: %s", what, ep,
		    zmq_strerror(errno));
		zmq_close(s);
		return NULL;
	}
	if (type == ZMQ_ROUTER) {
		int one = 1, hwm = 100000;

		/* A reply to a vanished peer fails loudly instead of silently. */
		zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
		/*
		 * Replies are sent without blocking, and a full pipe loses
		 * them (EAGAIN): with the default of 1000, the answers to one
		 * batch for a client with as many requests in flight (the
		 * default window of handoffctl send) overflow it, and the
		 * client resends events that were accepted.
		 */
		zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	}
	if (type == ZMQ_PUB) {
		int hwm = 100000;

		zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	}
	if ((connect ? zmq_connect(s, ep) : zmq_bind(s, ep)) == -1) {
		log_error("%s %s: cannot %s: %s", what, ep,
		    connect ? "connect" : "bind", zmq_strerror(errno));
		zmq_close(s);
		return NULL;
	}
	*bound = connect ? xstrdup(ep) : last_endpoint(s);
	if (*bound == NULL)
		*bound = xstrdup(ep);
	return s;
}

bus_t *
bus_new(void *zctx, const cfg_t *cfg, zap_t *zap)
{
	bus_t *b = xcalloc(1, sizeof(*b));

	b->ningest = cfg->ningest;
	b->kinds = xcalloc(cfg->ningest, sizeof(*b->kinds));
	for (size_t i = 0; i < cfg->ningest; i++)
		b->kinds[i] = cfg->ingest[i].kind;
	b->ingest = xcalloc(cfg->ningest, sizeof(void *));
	b->ingest_ep = xcalloc(cfg->ningest, sizeof(char *));
	for (size_t i = 0; i < cfg->ningest; i++) {
		const cfg_ingest_t *in = &cfg->ingest[i];
		static const int types[] = { [INGEST_SUB] = ZMQ_SUB,
			[INGEST_PULL] = ZMQ_PULL, [INGEST_ROUTER] = ZMQ_ROUTER };
		static const char *const names[] = { [INGEST_SUB] = "ingest sub",
			[INGEST_PULL] = "ingest pull",
			[INGEST_ROUTER] = "ingest router" };

		char domain[48];

		snprintf(domain, sizeof(domain), "bus.ingest[%zu]", i);
		b->ingest[i] = open_socket(zctx, zap, types[in->kind],
		    in->endpoint, in->connect, cfg->max_message_bytes, domain,
		    names[in->kind], &b->ingest_ep[i]);
		if (b->ingest[i] == NULL)
			goto fail;
		if (in->kind == INGEST_SUB) {
			for (size_t k = 0; k < in->nsubscribe; k++)
				zmq_setsockopt(b->ingest[i], ZMQ_SUBSCRIBE,
				    in->subscribe[k], strlen(in->subscribe[k]));
			if (in->nsubscribe == 0)
				zmq_setsockopt(b->ingest[i], ZMQ_SUBSCRIBE, "", 0);
		}
	}
	b->pub = open_socket(zctx, zap, ZMQ_PUB, cfg->publish, false, -1,
	    "bus.publish", "publish", &b->pub_ep);
	if (b->pub == NULL)
		goto fail;
	b->ctl = open_socket(zctx, zap, ZMQ_ROUTER, cfg->control, false,
	    1 << 20, "bus.control", "control", &b->ctl_ep);
	if (b->ctl == NULL)
		goto fail;
	return b;
fail:
	bus_destroy(&b);
	return NULL;
}

void
bus_destroy(bus_t **bp)
{
	bus_t *b;

	if (bp == NULL || *bp == NULL)
		return;
	b = *bp;
	for (size_t i = 0; i < b->ningest; i++) {
		if (b->ingest[i] != NULL)
			zmq_close(b->ingest[i]);
		free(b->ingest_ep[i]);
	}
	free(b->ingest);
	free(b->ingest_ep);
	free(b->kinds);
	if (b->pub != NULL)
		zmq_close(b->pub);
	if (b->ctl != NULL)
		zmq_close(b->ctl);
	free(b->pub_ep);
	free(b->ctl_ep);
	free(b);
	*bp = NULL;
}

size_t
bus_ningest(const bus_t *b)
{
	return b->ningest;
}

cfg_ingest_kind_t
bus_ingest_kind(const bus_t *b, size_t i)
{
	return b->kinds[i];
}

void *
bus_ingest_socket(const bus_t *b, size_t i)
{
	return b->ingest[i];
}

void *
bus_control_socket(const bus_t *b)
{
	return b->ctl;
}

const char *
bus_ingest_endpoint(const bus_t *b, size_t i)
{
	return b->ingest_ep[i];
}

const char *
bus_publish_endpoint(const bus_t *b)
{
	return b->pub_ep;
}

const char *
bus_control_endpoint(const bus_t *b)
{
	return b->ctl_ep;
}

/*
 * Reads every frame of one message. Keeps at most MAX_FRAMES (copied into
 * the arena, NUL-terminated), counts all of them. Returns the count, 0
 * when nothing was waiting, -1 on error.
 */
static int
read_frames(void *s, arena_t *a, bus_frame_t *f, size_t *total)
{
	zmq_msg_t msg;
	size_t n = 0;
	int more;

	*total = 0;
	do {
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, s, n == 0 ? ZMQ_DONTWAIT : 0) == -1) {
			int e = errno;

			zmq_msg_close(&msg);
			if (n == 0 && e == EAGAIN)
				return 0;
			if (e == EINTR && n == 0)
				return 0;
			log_error("zmq_msg_recv: %s", zmq_strerror(e));
			return -1;
		}
		if (n < MAX_FRAMES) {
			f[n].len = zmq_msg_size(&msg);
			f[n].data = arena_strndup(a, zmq_msg_data(&msg), f[n].len);
		}
		n++;
		more = zmq_msg_more(&msg);
		zmq_msg_close(&msg);
	} while (more);
	*total = n;
	return (int)(n < MAX_FRAMES ? n : MAX_FRAMES);
}

/*
 * Splits a router message into its envelope and payload: the envelope is
 * the identity plus, when there is an empty frame among the kept ones,
 * everything up to it. Returns the index of the first payload frame.
 */
static size_t
split_envelope(arena_t *a, const bus_frame_t *f, int kept,
    const bus_frame_t **env, size_t *nenv, bool *delim)
{
	size_t d = 0;
	bus_frame_t *copy;

	for (size_t k = 1; k + 1 < (size_t)kept; k++)
		if (f[k].len == 0) {
			d = k;
			break;
		}
	*delim = d != 0;
	*nenv = d != 0 ? d : 1;
	copy = arena_alloc(a, *nenv * sizeof(*copy));
	memcpy(copy, f, *nenv * sizeof(*copy));
	*env = copy;
	return d != 0 ? d + 1 : 1;
}

int
bus_recv(bus_t *b, size_t i, arena_t *a, bus_msg_t *m)
{
	bus_frame_t f[MAX_FRAMES];
	size_t total, first = 0;
	int kept = read_frames(b->ingest[i], a, f, &total);

	if (kept <= 0)
		return kept;
	memset(m, 0, sizeof(*m));
	m->ingest = (int)i;
	if (b->kinds[i] == INGEST_ROUTER)
		first = split_envelope(a, f, kept, &m->env, &m->nenv, &m->delim);
	m->nframes = total - first;
	if ((size_t)kept > first) {
		m->topic = f[first].data;
		m->topic_len = f[first].len;
	}
	if ((size_t)kept > first + 1) {
		m->body = f[first + 1].data;
		m->body_len = f[first + 1].len;
	}
	return 1;
}

static int
send_frame(void *s, const void *data, size_t len, int flags)
{
	return zmq_send(s, data, len, flags) == -1 ? -1 : 0;
}

/* Sends the envelope (and delimiter); -1 when the peer is gone. */
static int
send_envelope(void *s, const bus_frame_t *env, size_t nenv, bool delim)
{
	for (size_t k = 0; k < nenv; k++)
		if (send_frame(s, env[k].data, env[k].len,
		    ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
			return -1;
	if (delim && send_frame(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
		return -1;
	return 0;
}

void
bus_reply(bus_t *b, size_t i, const bus_frame_t *env, size_t nenv,
    bool delim, const char *body, size_t len)
{
	void *s = b->ingest[i];

	if (send_envelope(s, env, nenv, delim) == -1) {
		/* EHOSTUNREACH: the client went away; it will resend. */
		if (errno != EHOSTUNREACH)
			log_warnx("ingest %s: reply: %s", b->ingest_ep[i],
			    zmq_strerror(errno));
		return;
	}
	if (send_frame(s, body, len, ZMQ_DONTWAIT) == -1)
		log_warnx("ingest %s: reply: %s", b->ingest_ep[i],
		    zmq_strerror(errno));
}

int
bus_publish(bus_t *b, const char *topic, const char *body, size_t len)
{
	if (zmq_send(b->pub, topic, strlen(topic), ZMQ_SNDMORE) == -1 ||
	    zmq_send(b->pub, body, len, 0) == -1) {
		log_error("publish %s: %s", b->pub_ep, zmq_strerror(errno));
		return -1;
	}
	return 0;
}

int
bus_ctl_recv(bus_t *b, arena_t *a, bus_ctl_req_t *r)
{
	bus_frame_t f[MAX_FRAMES];
	size_t total, first;
	int kept = read_frames(b->ctl, a, f, &total);

	if (kept <= 0)
		return kept;
	memset(r, 0, sizeof(*r));
	first = split_envelope(a, f, kept, &r->env, &r->nenv, &r->delim);
	r->nframes = total - first;
	if ((size_t)kept > first) {
		r->command = f[first].data;
		r->command_len = f[first].len;
	}
	if ((size_t)kept > first + 1) {
		r->args = f[first + 1].data;
		r->args_len = f[first + 1].len;
	}
	return 1;
}

void
bus_ctl_reply(bus_t *b, const bus_ctl_req_t *r, const char *const *frames,
    const size_t *lens, size_t n)
{
	if (send_envelope(b->ctl, r->env, r->nenv, r->delim) == -1)
		return;
	for (size_t i = 0; i < n; i++)
		if (send_frame(b->ctl, frames[i], lens[i],
		    (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) == -1) {
			log_warnx("control: reply: %s", zmq_strerror(errno));
			return;
		}
}
