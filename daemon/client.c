/*
 * The client side of the wire protocol (SPEC §2): control requests, replay,
 * at-least-once sending through the acknowledged endpoint and a gap-filling
 * subscriber. handoffctl is a thin command line over this file, and the
 * tests drive it against real ZeroMQ peers.
 *
 * JSON is read with yajl's tree parser: nothing here is on the daemon's hot
 * path, and a tree keeps the field look-ups short. Every document is first
 * checked for nesting depth, because freeing a yajl tree recurses once per
 * level and a hostile line of brackets would otherwise exhaust the stack.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>
#include <zmq.h>

#include "handoff/client.h"
#include "handoff/ts.h"

#define JSON_MAX_DEPTH 64
#define HEARTBEAT_TOPIC "bus.heartbeat"
/* The longest a tail waits in one poll, so that a signal that lands just
 * before the poll delays the exit by this much at most. */
#define TAIL_POLL_MS 500

/* SPEC §2.1: source is [a-z0-9._-]{1,64}, id 1 to 128 printable chars. */
#define SOURCE_MAX 64
#define ID_MAX 128

/* The CurveZMQ identity of this process (client_set_curve). */
static curve_key_t curve_server, curve_pub, curve_sec;
static bool curve_on;

void
client_set_curve(const curve_key_t *server, const curve_key_t *pub,
    const curve_key_t *secret)
{
	curve_on = server != NULL;
	if (!curve_on) {
		explicit_bzero(&curve_sec, sizeof(curve_sec));
		return;
	}
	curve_server = *server;
	curve_pub = *pub;
	curve_sec = *secret;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Seconds for messages: 5000 -> "5", 1500 -> "1.5". */
static char *
secs(int ms)
{
	return xasprintf("%g", ms / 1000.0);
}

static char *
timeout_error(const char *endpoint, int ms)
{
	char *s = secs(ms);
	char *e = xasprintf("no reply from %s within %s s", endpoint, s);

	free(s);
	return e;
}

static void
warnf(client_warn_fn fn, void *arg, const char *fmt, ...) PRINTFLIKE(3, 4);

static void
warnf(client_warn_fn fn, void *arg, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(arg, msg);
}

/* JSON */

static bool
depth_ok(const char *s, size_t len)
{
	bool in_str = false, esc = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > JSON_MAX_DEPTH)
				return false;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return true;
}

/*
 * Parses s[0..len) as one JSON value. On failure returns NULL and a one-line
 * reason in why.
 */
static yajl_val
json_parse(const char *s, size_t len, char *why, size_t whylen)
{
	char errbuf[512];
	yajl_val v;
	char *copy;

	if (memchr(s, '\0', len) != NULL) {
		snprintf(why, whylen, "contains a NUL byte");
		return NULL;
	}
	if (!depth_ok(s, len)) {
		snprintf(why, whylen, "nested deeper than %d", JSON_MAX_DEPTH);
		return NULL;
	}
	copy = xstrndup(s, len);
	errbuf[0] = '\0';
	v = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
	free(copy);
	if (v == NULL) {
		/* yajl adds the text and a caret on further lines. */
		errbuf[strcspn(errbuf, "\n")] = '\0';
		snprintf(why, whylen, "not JSON: %s", errbuf);
	}
	return v;
}

static yajl_val
field(yajl_val obj, const char *name)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], name) == 0)
			return obj->u.object.values[i];
	return NULL;
}

static const char *
field_str(yajl_val obj, const char *name)
{
	yajl_val v = field(obj, name);

	return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

static bool
field_u64(yajl_val obj, const char *name, uint64_t *out)
{
	yajl_val v = field(obj, name);

	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0)
		return false;
	*out = (uint64_t)YAJL_GET_INTEGER(v);
	return true;
}

static bool
is_end_frame(const char *s, size_t len, uint64_t *last_seq)
{
	char why[128];
	yajl_val v = json_parse(s, len, why, sizeof(why));
	bool end;

	end = YAJL_IS_TRUE(field(v, "end")) &&
	    field_u64(v, "last_seq", last_seq);
	yajl_tree_free(v);
	return end;
}

char *
client_reply_error(const char *frame, size_t len)
{
	char why[128];
	yajl_val v = json_parse(frame, len, why, sizeof(why));
	yajl_val e = field(v, "error");
	char *msg = NULL;

	if (YAJL_IS_STRING(e))
		msg = xstrdup(YAJL_GET_STRING(e));
	else if (e != NULL)
		msg = xstrdup("error (no message)");
	yajl_tree_free(v);
	return msg;
}

/* Builds a JSON object of string members from NULL-terminated pairs. */
static char *
json_strings(const char *const *kv)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	char *out = NULL;
	size_t len;
	bool ok;

	/* yajl fails to allocate only when memory is exhausted. */
	if (g == NULL)
		abort();
	ok = yajl_gen_config(g, yajl_gen_validate_utf8, 1) != 0 &&
	    yajl_gen_map_open(g) == yajl_gen_status_ok;
	for (size_t i = 0; ok && kv[i] != NULL; i += 2)
		ok = yajl_gen_string(g, (const unsigned char *)kv[i],
		    strlen(kv[i])) == yajl_gen_status_ok &&
		    yajl_gen_string(g, (const unsigned char *)kv[i + 1],
		    strlen(kv[i + 1])) == yajl_gen_status_ok;
	if (ok)
		ok = yajl_gen_map_close(g) == yajl_gen_status_ok;
	if (ok && yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		out = xstrndup((const char *)buf, len);
	yajl_gen_free(g);
	return out;
}

char *
client_lead_args(const char *key_or_email)
{
	const char *kv[] = {
		strchr(key_or_email, '@') != NULL ? "email" : "lead_key",
		key_or_email, NULL
	};

	return json_strings(kv);
}

char *
client_lead_args_source(const char *source, const char *id)
{
	const char *kv[] = { "source", source, "id", id, NULL };

	return json_strings(kv);
}

/* Endpoints and sockets */

char *
client_connect_endpoint(const char *bound)
{
	static const char tcp[] = "tcp://";
	const char *host, *colon;
	size_t hlen;

	if (strncmp(bound, tcp, sizeof(tcp) - 1) != 0)
		return xstrdup(bound);
	host = bound + sizeof(tcp) - 1;
	colon = strrchr(host, ':');
	if (colon == NULL)
		return xstrdup(bound);
	hlen = (size_t)(colon - host);
	if ((hlen == 1 && host[0] == '*') ||
	    (hlen == 7 && strncmp(host, "0.0.0.0", 7) == 0))
		return xasprintf("tcp://127.0.0.1%s", colon);
	if (hlen == 4 && strncmp(host, "[::]", 4) == 0)
		return xasprintf("tcp://[::1]%s", colon);
	return xstrdup(bound);
}

static int
setopt_int(void *sock, int opt, int value)
{
	return zmq_setsockopt(sock, opt, &value, sizeof(value));
}

/* A socket of type connected to endpoint, or NULL and *err. */
static void *
open_socket(void *ctx, int type, const char *endpoint, char **err)
{
	void *sock = zmq_socket(ctx, type);

	if (sock == NULL) {
		*err = xasprintf("%s: cannot create a socket: %s", endpoint,
		    zmq_strerror(zmq_errno()));
		return NULL;
	}
	/* Nothing queued for a peer that never came is worth waiting for
	 * at exit: the caller resends or has given up. */
	if (setopt_int(sock, ZMQ_LINGER, 0) == -1 ||
	    (strncmp(endpoint, "tcp://[", 7) == 0 &&
	    setopt_int(sock, ZMQ_IPV6, 1) == -1)) {
		*err = xasprintf("%s: cannot set socket options: %s", endpoint,
		    zmq_strerror(zmq_errno()));
		zmq_close(sock);
		return NULL;
	}
	/* Local endpoints stay plain, as the daemon keeps them. */
	if (curve_on && curve_endpoint_secured(endpoint) &&
	    (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, curve_server.z85,
	    CURVE_KEY_Z85) == -1 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, curve_pub.z85,
	    CURVE_KEY_Z85) == -1 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, curve_sec.z85,
	    CURVE_KEY_Z85) == -1)) {
		*err = xasprintf("%s: cannot set the CurveZMQ keys: %s",
		    endpoint, zmq_strerror(zmq_errno()));
		zmq_close(sock);
		return NULL;
	}
	if (zmq_connect(sock, endpoint) == -1) {
		*err = xasprintf("cannot connect to %s: %s", endpoint,
		    zmq_strerror(zmq_errno()));
		zmq_close(sock);
		return NULL;
	}
	return sock;
}

static void *
new_context(char **err)
{
	void *ctx = zmq_ctx_new();

	if (ctx == NULL)
		*err = xasprintf("cannot create a ZeroMQ context: %s",
		    zmq_strerror(zmq_errno()));
	return ctx;
}

static void
reply_add(client_reply_t *r, const void *data, size_t len)
{
	r->frame = xreallocarray(r->frame, r->nframes + 1, sizeof(*r->frame));
	r->len = xreallocarray(r->len, r->nframes + 1, sizeof(*r->len));
	r->frame[r->nframes] = xstrndup(data, len);
	r->len[r->nframes] = len;
	r->nframes++;
}

void
client_reply_free(client_reply_t *r)
{
	for (size_t i = 0; i < r->nframes; i++)
		free(r->frame[i]);
	free(r->frame);
	free(r->len);
	memset(r, 0, sizeof(*r));
}

/*
 * Receives one whole multipart message into r (appending). flags apply to
 * the first frame: the others of a message arrive with it. Returns -1 with
 * errno set when there was none (EAGAIN) or on error.
 */
static int
recv_message(void *sock, int flags, client_reply_t *r)
{
	zmq_msg_t m;
	int more;

	do {
		if (zmq_msg_init(&m) == -1)
			return -1;
		if (zmq_msg_recv(&m, sock, flags) == -1) {
			int saved = zmq_errno();

			zmq_msg_close(&m);
			errno = saved;
			return -1;
		}
		reply_add(r, zmq_msg_data(&m), zmq_msg_size(&m));
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
		flags = 0;
	} while (more);
	return 0;
}

/*
 * Drops the empty delimiter frame of the REQ envelope from the front of a
 * reply, when the peer sent one. No JSON frame is ever empty, so the test
 * is unambiguous.
 */
static void
strip_delimiter(client_reply_t *r)
{
	if (r->nframes == 0 || r->len[0] != 0)
		return;
	free(r->frame[0]);
	memmove(r->frame, r->frame + 1, (r->nframes - 1) * sizeof(*r->frame));
	memmove(r->len, r->len + 1, (r->nframes - 1) * sizeof(*r->len));
	r->nframes--;
}

/* Control requests */

/*
 * One request to the control endpoint. With until_end, frames are collected
 * (from one message or several) until an end frame or an error frame.
 */
static int
control_exchange(void *ctx, const char *endpoint, const char *command,
    const char *args, int timeout_ms, bool until_end,
    volatile sig_atomic_t *stop, client_reply_t *reply, char **err)
{
	client_reply_t msg = { 0 };
	int64_t deadline;
	void *sock;
	int rc = -1;

	memset(reply, 0, sizeof(*reply));
	if ((sock = open_socket(ctx, ZMQ_DEALER, endpoint, err)) == NULL)
		return -1;
	if (setopt_int(sock, ZMQ_SNDTIMEO, timeout_ms) == -1) {
		*err = xasprintf("%s: cannot set socket options: %s", endpoint,
		    zmq_strerror(zmq_errno()));
		goto out;
	}
	/* The empty frame first: to the daemon this is a REQ request. */
	if (zmq_send(sock, "", 0, ZMQ_SNDMORE) == -1 ||
	    zmq_send(sock, command, strlen(command),
	    args != NULL ? ZMQ_SNDMORE : 0) == -1 ||
	    (args != NULL && zmq_send(sock, args, strlen(args), 0) == -1)) {
		if (zmq_errno() == EAGAIN)
			*err = timeout_error(endpoint, timeout_ms);
		else
			*err = xasprintf("cannot send to %s: %s", endpoint,
			    zmq_strerror(zmq_errno()));
		goto out;
	}
	deadline = now_ms() + timeout_ms;
	for (;;) {
		zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
		int64_t left = deadline - now_ms();
		int n;

		if (stop != NULL && *stop) {
			*err = xasprintf("%s: %s: interrupted", endpoint,
			    command);
			goto out;
		}
		if (left <= 0) {
			*err = timeout_error(endpoint, timeout_ms);
			goto out;
		}
		n = zmq_poll(&item, 1, (long)left);
		if (n == -1 && zmq_errno() == EINTR)
			continue;
		if (n == -1) {
			*err = xasprintf("%s: poll: %s", endpoint,
			    zmq_strerror(zmq_errno()));
			goto out;
		}
		if (n == 0)
			continue;
		if (recv_message(sock, ZMQ_DONTWAIT, &msg) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			*err = xasprintf("cannot receive from %s: %s",
			    endpoint, zmq_strerror(errno));
			goto out;
		}
		strip_delimiter(&msg);
		for (size_t i = 0; i < msg.nframes; i++)
			reply_add(reply, msg.frame[i], msg.len[i]);
		client_reply_free(&msg);
		if (reply->nframes == 0) {
			*err = xasprintf("empty reply from %s to %s", endpoint,
			    command);
			goto out;
		}
		if (!until_end)
			break;
		{
			size_t last = reply->nframes - 1;
			uint64_t seq;
			char *e;
			bool is_error;

			if (is_end_frame(reply->frame[last], reply->len[last],
			    &seq))
				break;
			e = client_reply_error(reply->frame[last],
			    reply->len[last]);
			is_error = e != NULL;
			free(e);
			if (is_error)
				break;
		}
	}
	rc = 0;
out:
	zmq_close(sock);
	if (rc == -1)
		client_reply_free(reply);
	return rc;
}

int
client_control(const char *endpoint, const char *command, const char *args,
    int timeout_ms, client_reply_t *reply, char **err)
{
	void *ctx = new_context(err);
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (ctx == NULL)
		return -1;
	rc = control_exchange(ctx, endpoint, command, args, timeout_ms, false,
	    NULL, reply, err);
	zmq_ctx_term(ctx);
	return rc;
}

/* Replay */

/* Returns nonzero to stop the replay early. */
typedef int (*replay_fn)(void *arg, const char *topic, const char *body,
    size_t len, uint64_t seq);

static int
replay_run(void *ctx, const char *endpoint, uint64_t since, uint64_t limit,
    int timeout_ms, volatile sig_atomic_t *stop, replay_fn fn, void *arg,
    client_replay_end_t *end, char **err)
{
	uint64_t cursor = since;

	end->count = 0;
	end->last_seq = 0;
	for (;;) {
		uint64_t ask = CLIENT_REPLAY_PAGE, got = 0;
		client_reply_t r;
		bool stopped = false;
		char *args, *e;
		size_t last;

		if (limit != 0 && limit - end->count < ask)
			ask = limit - end->count;
		args = xasprintf("{\"since\": %" PRIu64 ", \"limit\": %" PRIu64
		    "}", cursor, ask);
		if (control_exchange(ctx, endpoint, "replay", args, timeout_ms,
		    true, stop, &r, err) == -1) {
			free(args);
			return -1;
		}
		free(args);
		last = r.nframes - 1;
		if ((e = client_reply_error(r.frame[last], r.len[last])) !=
		    NULL) {
			*err = xasprintf("%s: replay: %s", endpoint, e);
			free(e);
			client_reply_free(&r);
			return -1;
		}
		/* The limit holds even against a daemon that sends more. */
		for (size_t i = 0; i < last && !stopped &&
		    (limit == 0 || end->count < limit); i++) {
			char why[256];
			yajl_val v = json_parse(r.frame[i], r.len[i], why,
			    sizeof(why));
			const char *type = field_str(v, "type");
			uint64_t seq;

			if (v == NULL || !YAJL_IS_OBJECT(v) || type == NULL ||
			    !field_u64(v, "seq", &seq) || seq <= cursor) {
				*err = xasprintf("%s: replay since %" PRIu64
				    ": frame %zu is not a message with a seq "
				    "after %" PRIu64 "%s%s", endpoint, since,
				    i + 1, cursor, v == NULL ? ": " : "",
				    v == NULL ? why : "");
				yajl_tree_free(v);
				client_reply_free(&r);
				return -1;
			}
			cursor = seq;
			end->count++;
			got++;
			stopped = fn(arg, type, r.frame[i], r.len[i], seq) != 0;
			yajl_tree_free(v);
		}
		/* control_exchange returned on an end frame or an error
		 * frame, and an error frame was handled above. */
		if (!is_end_frame(r.frame[last], r.len[last], &end->last_seq))
			abort();
		client_reply_free(&r);
		if (stopped || got == 0 || cursor >= end->last_seq ||
		    (limit != 0 && end->count >= limit))
			return 0;
	}
}

struct replay_adapter {
	client_msg_fn fn;
	void *arg;
};

static int
replay_adapt(void *arg, const char *topic, const char *body, size_t len,
    uint64_t seq)
{
	struct replay_adapter *a = arg;

	a->fn(a->arg, topic, body, len, seq);
	return 0;
}

int
client_replay(const char *endpoint, uint64_t since, uint64_t limit,
    int timeout_ms, client_msg_fn fn, void *arg, client_replay_end_t *end,
    char **err)
{
	struct replay_adapter a = { fn, arg };
	void *ctx = new_context(err);
	int rc;

	end->count = 0;
	end->last_seq = 0;
	if (ctx == NULL)
		return -1;
	rc = replay_run(ctx, endpoint, since, limit, timeout_ms, NULL,
	    replay_adapt, &a, end, err);
	zmq_ctx_term(ctx);
	return rc;
}

/* Sending a file */

void
client_send_opts_init(client_send_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = CLIENT_SEND_TIMEOUT_MS;
	o->window = CLIENT_SEND_WINDOW;
	o->reopen_after = CLIENT_SEND_REOPEN_AFTER;
}

/* One event read from the file and not answered yet. */
struct flight {
	uint64_t line;
	char *key;          /* source, NUL, id */
	size_t keylen;
	char *topic;
	char *body;
	size_t len;
	int tries;
	int64_t sent_ms;
	bool unsent;        /* the socket's queue was full: not sent yet */
	struct flight *prev, *next; /* the resend queue, oldest send first */
	struct flight *hnext;       /* hash chain */
};

struct sender {
	const client_send_opts_t *o;
	client_send_result_t *res;
	const char *endpoint;
	const client_lines_t *src;
	uint64_t lineno;
	bool eof;
	int64_t wait_until; /* the source has nothing before then; 0: ready */
	void *ctx, *sock;
	struct flight **bucket;
	size_t nbucket;
	struct flight *head, *tail;
	size_t ninflight;
	struct flight *held; /* read, but its key is still in flight */
	size_t nunsent;      /* flights with unsent set */
	size_t pcap;
	int64_t last_progress;
};

static uint64_t
key_hash(const char *k, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)k[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static struct flight **
key_slot(struct sender *s, const char *k, size_t len)
{
	struct flight **p = &s->bucket[key_hash(k, len) & (s->nbucket - 1)];

	while (*p != NULL && ((*p)->keylen != len ||
	    memcmp((*p)->key, k, len) != 0))
		p = &(*p)->hnext;
	return p;
}

static void
queue_unlink(struct sender *s, struct flight *f)
{
	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		s->head = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	else
		s->tail = f->prev;
	f->prev = f->next = NULL;
}

static void
queue_append(struct sender *s, struct flight *f)
{
	f->prev = s->tail;
	f->next = NULL;
	if (s->tail != NULL)
		s->tail->next = f;
	else
		s->head = f;
	s->tail = f;
}

static void
flight_free(struct flight *f)
{
	if (f == NULL)
		return;
	free(f->key);
	free(f->topic);
	free(f->body);
	free(f);
}

static void
add_problem(struct sender *s, uint64_t line, const char *source,
    const char *id, bool invalid, const char *error)
{
	client_send_result_t *r = s->res;
	client_problem_t *p;

	if (r->nproblems == s->pcap) {
		s->pcap = s->pcap ? s->pcap * 2 : 16;
		r->problems = xreallocarray(r->problems, s->pcap,
		    sizeof(*r->problems));
	}
	p = &r->problems[r->nproblems++];
	p->line = line;
	p->source = source != NULL ? xstrdup(source) : NULL;
	p->id = id != NULL ? xstrdup(id) : NULL;
	p->error = xstrdup(error);
	p->invalid = invalid;
	if (invalid)
		r->invalid++;
}

static bool
source_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SOURCE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* 1 to ID_MAX characters, none of them a control character. yajl has
 * already checked that the string is UTF-8. */
static bool
id_ok(const char *s)
{
	size_t chars = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if ((*p & 0xc0) != 0x80)
			chars++;
	}
	return chars >= 1 && chars <= ID_MAX;
}

/*
 * Turns one line into a flight, or records why it is invalid and returns
 * NULL (as for a blank line, which is not recorded).
 */
static struct flight *
classify(struct sender *s, char *line, size_t len)
{
	const char *type, *source, *id;
	char why[600];
	struct flight *f;
	yajl_val v;
	size_t i;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\f' &&
		    line[i] != '\v' && line[i] != '\r')
			break;
	if (i == len)
		return NULL;
	if (s->o->max_message_bytes > 0 &&
	    (int64_t)len > s->o->max_message_bytes) {
		snprintf(why, sizeof(why), "%zu bytes, over the limit of "
		    "%" PRId64 " (bus.max_message_bytes)", len,
		    s->o->max_message_bytes);
		add_problem(s, s->lineno, NULL, NULL, true, why);
		return NULL;
	}
	if ((v = json_parse(line, len, why, sizeof(why))) == NULL) {
		add_problem(s, s->lineno, NULL, NULL, true, why);
		return NULL;
	}
	type = field_str(v, "type");
	source = field_str(v, "source");
	id = field_str(v, "id");
	if (!YAJL_IS_OBJECT(v))
		snprintf(why, sizeof(why), "not a JSON object");
	else if (type == NULL || type[0] == '\0')
		snprintf(why, sizeof(why), "no \"type\" string");
	else if (source == NULL)
		snprintf(why, sizeof(why), "no \"source\" string");
	else if (!source_ok(source))
		snprintf(why, sizeof(why), "\"source\" must match "
		    "[a-z0-9._-]{1,%d}", SOURCE_MAX);
	else if (id == NULL)
		snprintf(why, sizeof(why), "no \"id\" string");
	else if (!id_ok(id))
		snprintf(why, sizeof(why), "\"id\" must be 1 to %d printable "
		    "characters", ID_MAX);
	else
		why[0] = '\0';
	if (why[0] != '\0') {
		add_problem(s, s->lineno, NULL, NULL, true, why);
		yajl_tree_free(v);
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->line = s->lineno;
	f->keylen = strlen(source) + 1 + strlen(id);
	f->key = xmalloc(f->keylen + 1);
	memcpy(f->key, source, strlen(source) + 1);
	memcpy(f->key + strlen(source) + 1, id, strlen(id) + 1);
	f->topic = xstrdup(type);
	f->body = xstrndup(line, len);
	f->len = len;
	yajl_tree_free(v);
	return f;
}

/*
 * The next event of the source: 1 and *out, 0 at the end or when the
 * source has nothing yet (s->wait_until set), -1 on error.
 */
static int
next_event(struct sender *s, struct flight **out, char **err)
{
	while (!s->eof) {
		char *line = NULL;
		size_t len = 0;
		int wait_ms = 0, rc;

		if (s->wait_until != 0 && now_ms() < s->wait_until)
			return 0;
		s->wait_until = 0;
		rc = s->src->next(s->src->arg, &line, &len, &wait_ms, err);
		if (rc == -1)
			return -1;
		if (rc == 0) {
			s->eof = true;
			break;
		}
		if (rc == CLIENT_LINE_LATER) {
			s->wait_until = now_ms() + (wait_ms > 0 ? wait_ms : 1);
			return 0;
		}
		s->lineno++;
		*out = classify(s, line, len);
		free(line);
		if (*out != NULL)
			return 1;
	}
	return 0;
}

/*
 * Sends flight f. again: it goes because its reply timed out or the socket
 * was reopened (a resend, counted as one even if no earlier send left the
 * queue), or because an earlier send had left (tries counts the sends
 * that did).
 */
static int
transmit(struct sender *s, struct flight *f, bool again, char **err)
{
	again = again || f->tries > 0;
	f->tries++;
	if (again)
		s->res->resent++;
	f->sent_ms = now_ms();
	queue_unlink(s, f);
	queue_append(s, f);
	/*
	 * The request is tagged with its line number in an envelope frame
	 * ([tag] [empty] topic body), which the daemon's router echoes on the
	 * reply. That matches every reply to its line, even a rejection of a
	 * body so broken that the reply cannot name its source and id.
	 * A full queue is not an error: the message stays in flight, marked
	 * unsent, and goes as soon as the socket takes messages again
	 * (send_loop polls for that). It spends no try: waiting for its
	 * timeout instead stalled the whole send for it whenever the daemon
	 * fell behind.
	 */
	if (zmq_send(s->sock, &f->line, sizeof(f->line),
	    ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
		if (zmq_errno() == EAGAIN) {
			if (again)
				s->res->resent--;
			f->tries--;
			if (!f->unsent) {
				f->unsent = true;
				s->nunsent++;
			}
			return 0;
		}
		*err = xasprintf("cannot send to %s: %s", s->endpoint,
		    zmq_strerror(zmq_errno()));
		return -1;
	}
	if (zmq_send(s->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1 ||
	    zmq_send(s->sock, f->topic, strlen(f->topic),
	    ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
		*err = xasprintf("cannot send to %s: %s", s->endpoint,
		    zmq_strerror(zmq_errno()));
		return -1;
	}
	if (zmq_send(s->sock, f->body, f->len, ZMQ_DONTWAIT) == -1) {
		*err = xasprintf("cannot send to %s: %s", s->endpoint,
		    zmq_strerror(zmq_errno()));
		return -1;
	}
	if (f->unsent) {
		f->unsent = false;
		s->nunsent--;
	}
	return 0;
}

/* Sends the flights the full queue held back, oldest first, until the
 * queue is full again. */
static int
send_unsent(struct sender *s, char **err)
{
	struct flight *f = s->head, *next;

	/* transmit moves each flight it sends to the tail: n bounds the
	 * walk to the flights there were. */
	for (size_t n = s->ninflight; f != NULL && n > 0 && s->nunsent > 0;
	    n--, f = next) {
		next = f->next;
		if (!f->unsent)
			continue;
		if (transmit(s, f, false, err) == -1)
			return -1;
		if (f->unsent)
			break;
	}
	return 0;
}

static int
check_tries(struct sender *s, struct flight *f, char **err)
{
	if (s->o->max_tries > 0 && f->tries >= s->o->max_tries) {
		*err = xasprintf("%s:%" PRIu64 ": %s/%s: no reply from %s "
		    "after %d tries", s->src->name, f->line, f->key,
		    f->key + strlen(f->key) + 1, s->endpoint, f->tries);
		return -1;
	}
	return 0;
}

/* Reads and sends lines until the window is full or the file ends. */
static int
fill_window(struct sender *s, char **err)
{
	/* Nothing new while the socket's queue is full. */
	while (s->nunsent == 0 && s->ninflight < (size_t)s->o->window) {
		struct flight *f, **slot;

		if (s->held != NULL) {
			f = s->held;
		} else {
			int rc = next_event(s, &f, err);

			if (rc <= 0)
				return rc;
		}
		slot = key_slot(s, f->key, f->keylen);
		if (*slot != NULL) {
			s->held = f;
			return 0;
		}
		s->held = NULL;
		*slot = f;
		/* Silence is measured from the first message in flight. */
		if (s->ninflight == 0)
			s->last_progress = now_ms();
		s->ninflight++;
		queue_append(s, f);
		if (transmit(s, f, false, err) == -1)
			return -1;
	}
	return 0;
}

static void
handle_reply(struct sender *s, client_reply_t *r)
{
	const char *status, *source, *id, *error;
	struct flight **slot, *f, *tagged;
	char why[256], *key;
	size_t slen, ilen;
	yajl_val v;

	tagged = NULL;
	if (r->nframes == 3 && r->len[0] == sizeof(uint64_t) && r->len[1] == 0) {
		uint64_t line;

		memcpy(&line, r->frame[0], sizeof(line));
		for (f = s->head; f != NULL; f = f->next)
			if (f->line == line) {
				tagged = f;
				break;
			}
		/* An answer to a resend of a line already answered. */
		if (tagged == NULL)
			return;
		free(r->frame[0]);
		free(r->frame[1]);
		r->frame[0] = r->frame[2];
		r->len[0] = r->len[2];
		r->nframes = 1;
	}
	strip_delimiter(r);
	if (r->nframes != 1) {
		warnf(s->o->warn, s->o->warn_arg, "%s: ignored a reply of %zu "
		    "frames", s->endpoint, r->nframes);
		return;
	}
	if ((v = json_parse(r->frame[0], r->len[0], why, sizeof(why))) ==
	    NULL) {
		warnf(s->o->warn, s->o->warn_arg, "%s: ignored a reply that "
		    "is %s", s->endpoint, why);
		return;
	}
	status = field_str(v, "status");
	source = field_str(v, "source");
	id = field_str(v, "id");
	error = field_str(v, "error");
	if (status == NULL || (tagged == NULL && (source == NULL ||
	    id == NULL))) {
		warnf(s->o->warn, s->o->warn_arg, "%s: ignored a reply without "
		    "status, source or id: %s", s->endpoint, r->frame[0]);
		yajl_tree_free(v);
		return;
	}
	if (tagged != NULL) {
		f = tagged;
		slot = key_slot(s, f->key, f->keylen);
		source = f->key;
		id = f->key + strlen(f->key) + 1;
	} else {
		slen = strlen(source);
		ilen = strlen(id);
		key = xmalloc(slen + 1 + ilen + 1);
		memcpy(key, source, slen + 1);
		memcpy(key + slen + 1, id, ilen + 1);
		slot = key_slot(s, key, slen + 1 + ilen);
		free(key);
		/* No match: the answer to a resend already answered. */
		if ((f = *slot) == NULL) {
			yajl_tree_free(v);
			return;
		}
	}
	if (strcmp(status, "accepted") == 0)
		s->res->accepted++;
	else if (strcmp(status, "duplicate") == 0)
		s->res->duplicate++;
	else if (strcmp(status, "rejected") == 0) {
		s->res->rejected++;
		add_problem(s, f->line, source, id, false,
		    error != NULL ? error : "rejected (no reason given)");
	} else {
		warnf(s->o->warn, s->o->warn_arg, "%s: ignored a reply with "
		    "status \"%s\" for %s/%s", s->endpoint, status, source, id);
		yajl_tree_free(v);
		return;
	}
	yajl_tree_free(v);
	*slot = f->hnext;
	queue_unlink(s, f);
	s->ninflight--;
	/* Answered from an earlier try while a resend waited. */
	if (f->unsent)
		s->nunsent--;
	flight_free(f);
}

static int
drain_replies(struct sender *s, char **err)
{
	for (;;) {
		client_reply_t r = { 0 };

		if (recv_message(s->sock, ZMQ_DONTWAIT, &r) == -1) {
			client_reply_free(&r);
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			*err = xasprintf("cannot receive from %s: %s",
			    s->endpoint, zmq_strerror(errno));
			return -1;
		}
		s->last_progress = now_ms();
		handle_reply(s, &r);
		client_reply_free(&r);
	}
}

/*
 * Lazy Pirate: after reopen_after timeouts without a single reply, the
 * connection is presumed dead (or the daemon restarted and forgot our
 * identity), so the socket is closed, its queue dropped, and everything in
 * flight sent again on a new one.
 */
static int
reopen(struct sender *s, char **err)
{
	size_t n = s->ninflight;

	zmq_close(s->sock);
	s->sock = NULL;
	s->res->reopened++;
	warnf(s->o->warn, s->o->warn_arg, "no reply from %s for %g s; "
	    "reconnecting", s->endpoint,
	    (double)s->o->reopen_after * s->o->timeout_ms / 1000.0);
	if ((s->sock = open_socket(s->ctx, ZMQ_DEALER, s->endpoint, err)) ==
	    NULL)
		return -1;
	s->last_progress = now_ms();
	for (size_t i = 0; i < n; i++) {
		struct flight *f = s->head;

		if (check_tries(s, f, err) == -1 ||
		    transmit(s, f, true, err) == -1)
			return -1;
	}
	return 0;
}

static int
resend_expired(struct sender *s, char **err)
{
	int64_t now = now_ms();

	if (s->head == NULL || s->head->sent_ms + s->o->timeout_ms > now)
		return 0;
	if (now - s->last_progress >=
	    (int64_t)s->o->reopen_after * s->o->timeout_ms)
		return reopen(s, err);
	while (s->head != NULL && s->head->sent_ms + s->o->timeout_ms <= now)
		if (check_tries(s, s->head, err) == -1 ||
		    transmit(s, s->head, true, err) == -1)
			return -1;
	return 0;
}

static int
problem_cmp(const void *a, const void *b)
{
	const client_problem_t *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

static int
send_loop(struct sender *s, char **err)
{
	if ((s->sock = open_socket(s->ctx, ZMQ_DEALER, s->endpoint, err)) ==
	    NULL)
		return -1;
	s->last_progress = now_ms();
	for (;;) {
		zmq_pollitem_t item;
		int64_t wait;
		int n;

		if (fill_window(s, err) == -1)
			return -1;
		if (s->ninflight == 0 && s->held == NULL && s->eof)
			return 0;
		/* Until the first resend is due, or the source has more. */
		wait = s->head != NULL ? s->head->sent_ms + s->o->timeout_ms -
		    now_ms() : INT32_MAX;
		/* (While some are unsent, fill_window reads nothing.) */
		if (s->wait_until != 0 && s->nunsent == 0 &&
		    s->ninflight < (size_t)s->o->window &&
		    s->held == NULL && s->wait_until - now_ms() < wait)
			wait = s->wait_until - now_ms();
		item = (zmq_pollitem_t){ s->sock, 0, ZMQ_POLLIN |
		    (s->nunsent > 0 ? ZMQ_POLLOUT : 0), 0 };
		n = zmq_poll(&item, 1, wait > 0 ? (long)wait : 0);
		if (n == -1 && zmq_errno() != EINTR) {
			*err = xasprintf("%s: poll: %s", s->endpoint,
			    zmq_strerror(zmq_errno()));
			return -1;
		}
		if (n > 0 && (item.revents & ZMQ_POLLIN) &&
		    drain_replies(s, err) == -1)
			return -1;
		if (n > 0 && (item.revents & ZMQ_POLLOUT) &&
		    send_unsent(s, err) == -1)
			return -1;
		if (resend_expired(s, err) == -1)
			return -1;
	}
}

int
client_send_lines(const char *endpoint, const client_lines_t *src,
    const client_send_opts_t *opts, client_send_result_t *res, char **err)
{
	struct sender s;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.o = opts;
	s.res = res;
	s.endpoint = endpoint;
	s.src = src;
	if (opts->window < 1 || opts->timeout_ms < 1 ||
	    opts->reopen_after < 1 || opts->max_tries < 0) {
		*err = xasprintf("send: window, timeout and reopen_after must "
		    "be positive");
		return -1;
	}
	for (s.nbucket = 16; s.nbucket < (size_t)opts->window * 2;)
		s.nbucket *= 2;
	s.bucket = xcalloc(s.nbucket, sizeof(*s.bucket));
	if ((s.ctx = new_context(err)) == NULL)
		rc = -1;
	else
		rc = send_loop(&s, err);

	while (s.head != NULL) {
		struct flight *f = s.head;

		queue_unlink(&s, f);
		flight_free(f);
	}
	flight_free(s.held);
	free(s.bucket);
	if (s.sock != NULL)
		zmq_close(s.sock);
	if (s.ctx != NULL)
		zmq_ctx_term(s.ctx);
	if (res->nproblems > 1)
		qsort(res->problems, res->nproblems, sizeof(*res->problems),
		    problem_cmp);
	return rc;
}

/* A JSON-lines file as a source of lines. */
struct file_lines {
	FILE *f;
	const char *name;
};

static int
file_next(void *arg, char **line, size_t *len, int *wait_ms, char **err)
{
	struct file_lines *fl = arg;
	size_t cap = 0;
	ssize_t n;

	(void)wait_ms;
	*line = NULL;
	errno = 0;
	if ((n = getline(line, &cap, fl->f)) == -1) {
		free(*line);
		*line = NULL;
		if (ferror(fl->f)) {
			*err = xasprintf("cannot read %s: %s", fl->name,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	*len = (size_t)n;
	return 1;
}

int
client_send_file(const char *endpoint, const char *path,
    const client_send_opts_t *opts, client_send_result_t *res, char **err)
{
	struct file_lines fl;
	client_lines_t src;
	int rc;

	memset(res, 0, sizeof(*res));
	if (strcmp(path, "-") == 0) {
		fl.name = "standard input";
		fl.f = stdin;
	} else {
		fl.name = path;
		if ((fl.f = fopen(path, "r")) == NULL) {
			*err = xasprintf("cannot open %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	src.next = file_next;
	src.arg = &fl;
	src.name = fl.name;
	rc = client_send_lines(endpoint, &src, opts, res, err);
	if (fl.f != stdin)
		fclose(fl.f);
	return rc;
}

void
client_send_result_free(client_send_result_t *res)
{
	for (size_t i = 0; i < res->nproblems; i++) {
		free(res->problems[i].source);
		free(res->problems[i].id);
		free(res->problems[i].error);
	}
	free(res->problems);
	memset(res, 0, sizeof(*res));
}

/* One-line summaries of published messages */

/* "Mon 23 Nov 13:00Z" for an RFC 3339 time; the text itself otherwise. */
static void
brief_time(sbuf_t *b, const char *text)
{
	static const char *const wd[7] = {
		"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
	};
	static const char *const mon[12] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec"
	};
	int64_t secs, days, sod;
	int y, m, d;
	ts_t t;

	if (text == NULL) {
		sbuf_adds(b, "-");
		return;
	}
	if (ts_parse_rfc3339(text, strlen(text), &t) == -1) {
		sbuf_adds(b, text);
		return;
	}
	secs = t >= 0 ? t / TS_USEC : -((-t + TS_USEC - 1) / TS_USEC);
	days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	sod = secs - days * 86400;
	ts_civil_from_days(days, &y, &m, &d);
	sbuf_printf(b, "%s %d %s %02d:%02dZ", wd[((days % 7) + 7 + 3) % 7], d,
	    mon[m - 1], (int)(sod / 3600), (int)(sod / 60 % 60));
}

/* Seconds as "2h05m", "45m", "30s". */
static void
brief_duration(sbuf_t *b, yajl_val v)
{
	long long s;

	if (!YAJL_IS_INTEGER(v)) {
		sbuf_adds(b, "-");
		return;
	}
	s = YAJL_GET_INTEGER(v);
	if (s < 0) {
		sbuf_addc(b, '-');
		s = -s;
	}
	if (s >= 3600)
		sbuf_printf(b, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		sbuf_printf(b, "%lldm", s / 60);
	else
		sbuf_printf(b, "%llds", s);
}

static void
brief_str(sbuf_t *b, yajl_val obj, const char *name)
{
	const char *v = field_str(obj, name);

	sbuf_adds(b, v != NULL ? v : "-");
}

/* "clock#cycle" */
static void
brief_cycle(sbuf_t *b, yajl_val v)
{
	yajl_val c = field(v, "cycle");

	brief_str(b, v, "clock");
	if (YAJL_IS_INTEGER(c))
		sbuf_printf(b, "#%lld", (long long)YAJL_GET_INTEGER(c));
}

/* "owner/team" */
static void
brief_owner(sbuf_t *b, yajl_val v, const char *owner)
{
	brief_str(b, v, owner);
	sbuf_addc(b, '/');
	brief_str(b, v, "team");
}

static void
brief_fields(sbuf_t *b, const char *type, yajl_val v)
{
	yajl_val x;

	if (strcmp(type, "handoff.assigned") == 0) {
		yajl_val lead = field(v, "lead"), due = field(v, "due");
		const char *company = field_str(lead, "company");

		brief_str(b, v, "lead_key");
		sbuf_adds(b, " ");
		if (company != NULL) {
			sbuf_adds(b, company);
		} else {
			brief_str(b, lead, "email");
		}
		sbuf_adds(b, " (");
		brief_str(b, lead, "segment");
		sbuf_adds(b, ", ");
		brief_str(b, lead, "country");
		sbuf_adds(b, ") -> ");
		brief_owner(b, v, "owner");
		sbuf_adds(b, " by rule ");
		brief_str(b, v, "rule");
		if (YAJL_IS_OBJECT(due))
			for (size_t i = 0; i < due->u.object.len; i++) {
				sbuf_printf(b, "%s %s due ", i == 0 ? "," : ";",
				    due->u.object.keys[i]);
				brief_time(b, YAJL_IS_STRING(
				    due->u.object.values[i]) ? YAJL_GET_STRING(
				    due->u.object.values[i]) : NULL);
			}
	} else if (strcmp(type, "handoff.reassigned") == 0) {
		brief_str(b, v, "lead_key");
		sbuf_adds(b, " ");
		brief_str(b, v, "from");
		sbuf_adds(b, " -> ");
		brief_owner(b, v, "to");
		sbuf_adds(b, " (");
		brief_str(b, v, "why");
		sbuf_adds(b, ")");
	} else if (strcmp(type, "handoff.recycled") == 0) {
		brief_str(b, v, "lead_key");
		sbuf_adds(b, " by ");
		brief_str(b, v, "by");
		sbuf_adds(b, ": ");
		brief_str(b, v, "reason");
	} else if (strcmp(type, "sla.warning") == 0 ||
	    strcmp(type, "sla.breached") == 0) {
		brief_str(b, v, "lead_key");
		sbuf_adds(b, " ");
		brief_cycle(b, v);
		if ((x = field(v, "fraction")) != NULL && YAJL_IS_NUMBER(x))
			sbuf_printf(b, " at %.0f%%", YAJL_GET_DOUBLE(x) * 100);
		sbuf_adds(b, " ");
		brief_owner(b, v, "owner");
		sbuf_adds(b, ", due ");
		brief_time(b, field_str(v, "due_at"));
		if ((x = field(v, "goal_s")) != NULL) {
			sbuf_adds(b, " (goal ");
			brief_duration(b, x);
			sbuf_adds(b, ")");
		}
	} else if (strcmp(type, "sla.escalated") == 0) {
		brief_str(b, v, "lead_key");
		sbuf_adds(b, " ");
		brief_cycle(b, v);
		if (YAJL_IS_INTEGER(x = field(v, "level")))
			sbuf_printf(b, " level %lld",
			    (long long)YAJL_GET_INTEGER(x));
		sbuf_adds(b, " to ");
		brief_str(b, v, "to");
		sbuf_adds(b, ", overdue ");
		brief_duration(b, field(v, "overdue_s"));
	} else if (strcmp(type, "sla.resolved") == 0 ||
	    strcmp(type, "sla.retracted") == 0) {
		brief_str(b, v, "lead_key");
		sbuf_adds(b, " ");
		brief_cycle(b, v);
		sbuf_adds(b, " stopped ");
		brief_time(b, field_str(v, "stopped_at"));
		if ((x = field(v, "overdue_s")) != NULL) {
			sbuf_adds(b, ", overdue ");
			brief_duration(b, x);
		}
	} else if (strcmp(type, "sla.target_missed") == 0) {
		yajl_val team = field(v, "team");

		brief_str(b, v, "target");
		sbuf_adds(b, ": ");
		brief_str(b, v, "metric");
		if (YAJL_IS_NUMBER(x = field(v, "actual")))
			sbuf_printf(b, " %g", YAJL_GET_DOUBLE(x));
		if (YAJL_IS_NUMBER(x = field(v, "goal")))
			sbuf_printf(b, " < goal %g", YAJL_GET_DOUBLE(x));
		sbuf_adds(b, ", ");
		brief_time(b, field_str(v, "period_start"));
		sbuf_adds(b, " to ");
		brief_time(b, field_str(v, "period_end"));
		if (YAJL_IS_STRING(team))
			sbuf_printf(b, ", team %s", YAJL_GET_STRING(team));
	} else if (strcmp(type, "reconcile.unmatched") == 0) {
		yajl_val ev = field(v, "event"), ref = field(v, "lead_ref");

		brief_str(b, ev, "source");
		sbuf_adds(b, "/");
		brief_str(b, ev, "id");
		sbuf_adds(b, " ");
		brief_str(b, ev, "type");
		if (YAJL_IS_OBJECT(ref))
			for (size_t i = 0; i < ref->u.object.len; i++)
				if (YAJL_IS_STRING(ref->u.object.values[i]))
					sbuf_printf(b, " %s %s",
					    ref->u.object.keys[i],
					    YAJL_GET_STRING(
					    ref->u.object.values[i]));
		sbuf_adds(b, ", waited ");
		brief_duration(b, field(v, "waited_s"));
	} else if (strcmp(type, "reconcile.conflict") == 0) {
		yajl_val keys = field(v, "lead_keys");

		brief_str(b, v, "kind");
		if (YAJL_IS_ARRAY(keys))
			for (size_t i = 0; i < keys->u.array.len; i++)
				if (YAJL_IS_STRING(keys->u.array.values[i]))
					sbuf_printf(b, "%s%s", i == 0 ? " " :
					    ",", YAJL_GET_STRING(
					    keys->u.array.values[i]));
		sbuf_adds(b, ": ");
		brief_str(b, v, "detail");
	}
}

char *
client_brief(const char *body, size_t len)
{
	static const char *const known[] = {
		"handoff.assigned", "handoff.reassigned", "handoff.recycled",
		"sla.warning", "sla.breached", "sla.escalated", "sla.resolved",
		"sla.retracted", "sla.target_missed", "reconcile.unmatched",
		"reconcile.conflict", "bus.heartbeat",
	};
	const char *type;
	char why[128];
	uint64_t seq;
	yajl_val v;
	sbuf_t b;
	size_t i;

	sbuf_init(&b);
	v = json_parse(body, len, why, sizeof(why));
	type = field_str(v, "type");
	if (field_u64(v, "seq", &seq))
		sbuf_printf(&b, "#%-6" PRIu64 " ", seq);
	else
		sbuf_adds(&b, "        ");
	for (i = 0; type != NULL && i < ARRAY_LEN(known); i++)
		if (strcmp(type, known[i]) == 0)
			break;
	if (type == NULL || i == ARRAY_LEN(known)) {
		/* Something newer than this program: shown as it came. */
		for (i = 0; i < len; i++)
			sbuf_addc(&b, body[i] == '\n' || body[i] == '\r' ? ' ' :
			    body[i]);
	} else {
		sbuf_printf(&b, "%-19s ", type);
		brief_fields(&b, type, v);
	}
	yajl_tree_free(v);
	while (b.len > 0 && b.s[b.len - 1] == ' ')
		b.s[--b.len] = '\0';
	return sbuf_take(&b);
}

/* Tail */

void
client_tail_opts_init(client_tail_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = CLIENT_CONTROL_TIMEOUT_MS;
}

struct tail {
	const client_tail_opts_t *o;
	client_msg_fn fn;
	void *arg;
	void *ctx;
	bool have_last;
	uint64_t last;      /* the last seq seen, delivered or filtered out */
	uint64_t delivered;
	bool done;
};

static bool
wanted(const struct tail *t, const char *topic)
{
	const char *prefix = t->o->prefix != NULL ? t->o->prefix : "";

	if (strcmp(topic, HEARTBEAT_TOPIC) == 0)
		return t->o->heartbeats;
	return strncmp(topic, prefix, strlen(prefix)) == 0;
}

static void
deliver(struct tail *t, const char *topic, const char *body, size_t len,
    uint64_t seq)
{
	if (t->done || !wanted(t, topic))
		return;
	t->fn(t->arg, topic, body, len, seq);
	t->delivered++;
	if (t->o->count != 0 && t->delivered >= t->o->count)
		t->done = true;
}

static int
tail_replayed(void *arg, const char *topic, const char *body, size_t len,
    uint64_t seq)
{
	struct tail *t = arg;

	if (!t->have_last || seq > t->last) {
		t->have_last = true;
		t->last = seq;
		deliver(t, topic, body, len, seq);
	}
	return t->done;
}

/*
 * Replays what follows t->last; `upto` is a seq known to be published
 * (the message or heartbeat that revealed the gap), so the replay must
 * reach it. What it cannot provide is reported and skipped, so that one
 * hole does not stall the tail.
 */
static void
fill_gap(struct tail *t, uint64_t upto)
{
	const client_tail_opts_t *o = t->o;
	client_replay_end_t end;
	uint64_t from = t->last;
	char *err = NULL;

	if (o->control == NULL) {
		warnf(o->warn, o->warn_arg, "missed seq %" PRIu64 " to %"
		    PRIu64 " (no control endpoint to replay from)", from + 1,
		    upto);
	} else if (replay_run(t->ctx, o->control, from, 0, o->timeout_ms,
	    o->stop, tail_replayed, t, &end, &err) == -1) {
		warnf(o->warn, o->warn_arg, "cannot replay seq %" PRIu64
		    " to %" PRIu64 ": %s", from + 1, upto, err);
		free(err);
	} else if (!t->done && t->last < upto) {
		warnf(o->warn, o->warn_arg, "seq %" PRIu64 " to %" PRIu64
		    " missing from the replay", t->last + 1, upto);
	}
	if (t->last < upto)
		t->last = upto;
}

static void
tail_message(struct tail *t, client_reply_t *m)
{
	const client_tail_opts_t *o = t->o;
	const char *topic;
	char why[256];
	uint64_t seq;
	yajl_val v;

	if (m->nframes != 2) {
		warnf(o->warn, o->warn_arg, "%s: ignored a message of %zu "
		    "frames", o->publish, m->nframes);
		return;
	}
	topic = m->frame[0];
	v = json_parse(m->frame[1], m->len[1], why, sizeof(why));
	if (v == NULL || !field_u64(v, "seq", &seq)) {
		warnf(o->warn, o->warn_arg, "%s: ignored a %s message without "
		    "a seq%s%s", o->publish, topic, v == NULL ? ": " : "",
		    v == NULL ? why : "");
		yajl_tree_free(v);
		return;
	}
	yajl_tree_free(v);

	if (strcmp(topic, HEARTBEAT_TOPIC) == 0) {
		/* A heartbeat carries the last seq published: past ours, the
		 * last message(s) were lost on the way. */
		if (!t->have_last) {
			t->have_last = true;
			t->last = seq;
		} else if (seq > t->last) {
			fill_gap(t, seq);
		}
		deliver(t, topic, m->frame[1], m->len[1], seq);
		return;
	}
	if (!t->have_last) {
		t->have_last = true;
		t->last = seq;
		deliver(t, topic, m->frame[1], m->len[1], seq);
		return;
	}
	if (seq <= t->last)
		return;
	if (seq > t->last + 1)
		fill_gap(t, seq - 1);
	if (seq > t->last && !t->done) {
		t->last = seq;
		deliver(t, topic, m->frame[1], m->len[1], seq);
	}
}

static int
tail_loop(struct tail *t, void *sub, char **err)
{
	const client_tail_opts_t *o = t->o;
	int64_t last_rx = now_ms();

	while (!t->done && (o->stop == NULL || !*o->stop)) {
		zmq_pollitem_t item = { sub, 0, ZMQ_POLLIN, 0 };
		int64_t wait = TAIL_POLL_MS;
		int n;

		if (o->idle_ms > 0) {
			int64_t left = last_rx + o->idle_ms - now_ms();

			if (left <= 0) {
				char *s = secs(o->idle_ms);

				*err = xasprintf("nothing received from %s "
				    "within %s s", o->publish, s);
				free(s);
				return -1;
			}
			if (left < wait)
				wait = left;
		}
		n = zmq_poll(&item, 1, (long)wait);
		if (n == -1 && zmq_errno() == EINTR)
			continue;
		if (n == -1) {
			*err = xasprintf("%s: poll: %s", o->publish,
			    zmq_strerror(zmq_errno()));
			return -1;
		}
		while (n > 0 && !t->done && (o->stop == NULL || !*o->stop)) {
			client_reply_t m = { 0 };

			if (recv_message(sub, ZMQ_DONTWAIT, &m) == -1) {
				client_reply_free(&m);
				if (errno == EAGAIN || errno == EINTR)
					break;
				*err = xasprintf("cannot receive from %s: %s",
				    o->publish, zmq_strerror(errno));
				return -1;
			}
			last_rx = now_ms();
			tail_message(t, &m);
			client_reply_free(&m);
		}
	}
	return 0;
}

int
client_tail(const client_tail_opts_t *o, client_msg_fn fn, void *arg,
    char **err)
{
	struct tail t;
	void *sub = NULL;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	t.o = o;
	t.fn = fn;
	t.arg = arg;
	if ((t.ctx = new_context(err)) == NULL)
		return -1;
	if ((sub = open_socket(t.ctx, ZMQ_SUB, o->publish, err)) == NULL)
		goto out;
	/* Everything, not just the prefix: seq counts every message, so a
	 * gap can only be told from a filtered-out message by seeing all. */
	if (zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) == -1) {
		*err = xasprintf("%s: cannot subscribe: %s", o->publish,
		    zmq_strerror(zmq_errno()));
		goto out;
	}
	/* The SUB socket is connected before the replay, so what is
	 * published meanwhile waits in its queue instead of being lost. */
	if (o->has_since) {
		client_replay_end_t end;

		if (o->control == NULL) {
			*err = xasprintf("replay since %" PRIu64 " needs the "
			    "control endpoint", o->since);
			goto out;
		}
		t.have_last = true;
		t.last = o->since;
		if (replay_run(t.ctx, o->control, o->since, 0, o->timeout_ms,
		    o->stop, tail_replayed, &t, &end, err) == -1)
			goto out;
	}
	rc = tail_loop(&t, sub, err);
out:
	if (sub != NULL)
		zmq_close(sub);
	zmq_ctx_term(t.ctx);
	return rc;
}
