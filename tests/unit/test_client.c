/*
 * Tests of the client side of the protocol (daemon/client.c) against real
 * ZeroMQ peers running in threads of this process: a ROUTER that plays the
 * acknowledged ingest endpoint (and loses replies on purpose), a ROUTER
 * that plays the control endpoint, and an XPUB that plays the publisher,
 * dropping messages on the way so the subscriber has gaps to fill.
 *
 * cmocka is not thread-safe, so the peers only record what they saw; the
 * test thread checks it after stopping them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>
#include <zmq.h>

#include "handoff/client.h"
#include "testutil.h"

/* How long a peer waits for the client before it gives up on a step. */
#define PEER_WAIT_MS 10000

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Binds a socket of type on an ephemeral loopback port; its endpoint. */
static void *
bind_peer(void *ctx, int type, char *endpoint, size_t len)
{
	void *s = zmq_socket(ctx, type);
	int zero = 0;

	assert_non_null(s);
	assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)),
	    0);
	assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
	assert_int_equal(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &len),
	    0);
	return s;
}

/* Receives one multipart message (up to max frames) without blocking. */
static int
recv_frames(void *s, zmq_msg_t *frames, int max)
{
	int n = 0, more;

	do {
		zmq_msg_t scratch, *m = n < max ? &frames[n] : &scratch;

		zmq_msg_init(m);
		if (zmq_msg_recv(m, s, n == 0 ? ZMQ_DONTWAIT : 0) == -1) {
			zmq_msg_close(m);
			return -1;
		}
		more = zmq_msg_more(m);
		if (n >= max)
			zmq_msg_close(m);
		n++;
	} while (more);
	return n;
}

static void
close_frames(zmq_msg_t *frames, int n, int max)
{
	for (int i = 0; i < n && i < max; i++)
		zmq_msg_close(&frames[i]);
}

static char *
frame_str(zmq_msg_t *m)
{
	return xstrndup(zmq_msg_data(m), zmq_msg_size(m));
}

static yajl_val
jfield(yajl_val obj, const char *name)
{
	const char *path[] = { name, NULL };

	return yajl_tree_get(obj, path, yajl_t_any);
}

static bool
wait_for(atomic_int *v, int at_least)
{
	int64_t until = mono_ms() + PEER_WAIT_MS;

	while (atomic_load(v) < at_least) {
		if (mono_ms() > until)
			return false;
		sleep_ms(5);
	}
	return true;
}

/*
 * The ingest peer. For each (source, id) it counts the sends and answers
 * the way the body asks: "drop": N loses the first N replies, "reject": R
 * rejects with reason R; otherwise the first answer for a key is
 * "accepted" and every later one "duplicate", as the daemon does.
 */
#define MAX_KEYS 256
#define MAX_IDENTITIES 16
#define MAX_ORDER 64

struct ingest_key {
	char key[160];
	int seen;
	bool accepted;
};

struct ingest_peer {
	void *ctx, *sock;
	char endpoint[256];
	pthread_t thread;
	atomic_bool stop;
	struct ingest_key keys[MAX_KEYS];
	size_t nkeys;
	char identities[MAX_IDENTITIES][256];
	size_t identity_len[MAX_IDENTITIES];
	size_t nidentities;
	char order[MAX_ORDER][64]; /* "id" or "id!" (with reject), as seen */
	size_t norder;
	int malformed; /* messages not of the two-frame form */
};

static struct ingest_key *
ingest_key(struct ingest_peer *p, const char *source, const char *id)
{
	char k[160];

	snprintf(k, sizeof(k), "%s/%s", source, id);
	for (size_t i = 0; i < p->nkeys; i++)
		if (strcmp(p->keys[i].key, k) == 0)
			return &p->keys[i];
	if (p->nkeys == MAX_KEYS)
		return NULL;
	snprintf(p->keys[p->nkeys].key, sizeof(p->keys[0].key), "%s", k);
	return &p->keys[p->nkeys++];
}

static void
note_identity(struct ingest_peer *p, zmq_msg_t *id)
{
	for (size_t i = 0; i < p->nidentities; i++)
		if (p->identity_len[i] == zmq_msg_size(id) &&
		    memcmp(p->identities[i], zmq_msg_data(id),
		    zmq_msg_size(id)) == 0)
			return;
	if (p->nidentities < MAX_IDENTITIES && zmq_msg_size(id) <= 256) {
		memcpy(p->identities[p->nidentities], zmq_msg_data(id),
		    zmq_msg_size(id));
		p->identity_len[p->nidentities++] = zmq_msg_size(id);
	}
}

/*
 * One request: f[0] is the identity; like the daemon's router, frames up to
 * an empty delimiter form the envelope that the reply echoes (handoffctl
 * tags each request with its line number that way).
 */
static void
ingest_one(struct ingest_peer *p, zmq_msg_t *f, int n)
{
	int first = n == 5 && zmq_msg_size(&f[2]) == 0 ? 3 : 1;
	char *topic = frame_str(&f[first]), *body = frame_str(&f[first + 1]);
	char err[128], reply[512];
	yajl_val v = yajl_tree_parse(body, err, sizeof(err));
	yajl_val tv = jfield(v, "type"), sv = jfield(v, "source");
	yajl_val iv = jfield(v, "id"), drop = jfield(v, "drop");
	yajl_val rv = jfield(v, "reject"), anon = jfield(v, "anonymous");
	const char *type, *source, *id, *reject, *status;
	struct ingest_key *k;

	type = YAJL_IS_STRING(tv) ? tv->u.string : NULL;
	source = YAJL_IS_STRING(sv) ? sv->u.string : NULL;
	id = YAJL_IS_STRING(iv) ? iv->u.string : NULL;
	reject = YAJL_IS_STRING(rv) ? rv->u.string : NULL;
	if (type == NULL || source == NULL || id == NULL ||
	    strcmp(type, topic) != 0 ||
	    (k = ingest_key(p, source, id)) == NULL) {
		p->malformed++;
		goto out;
	}
	k->seen++;
	if (p->norder < MAX_ORDER)
		snprintf(p->order[p->norder++], sizeof(p->order[0]), "%s%s",
		    id, reject != NULL ? "!" : "");
	if (YAJL_IS_INTEGER(drop) && k->seen <= YAJL_GET_INTEGER(drop))
		goto out;
	if (reject != NULL && YAJL_IS_TRUE(anon)) {
		/* As the daemon answers a body it could not read at all. */
		snprintf(reply, sizeof(reply), "{\"id\": null, \"source\": "
		    "null, \"status\": \"rejected\", \"error\": \"%s\"}",
		    reject);
	} else if (reject != NULL) {
		snprintf(reply, sizeof(reply), "{\"id\": \"%s\", \"source\": "
		    "\"%s\", \"status\": \"rejected\", \"error\": \"%s\"}",
		    id, source, reject);
	} else {
		status = k->accepted ? "duplicate" : "accepted";
		k->accepted = true;
		snprintf(reply, sizeof(reply), "{\"id\": \"%s\", \"source\": "
		    "\"%s\", \"status\": \"%s\", \"error\": null}",
		    id, source, status);
	}
	for (int e = 0; e < first; e++)
		zmq_send(p->sock, zmq_msg_data(&f[e]), zmq_msg_size(&f[e]),
		    ZMQ_SNDMORE);
	zmq_send(p->sock, reply, strlen(reply), 0);
out:
	yajl_tree_free(v);
	free(topic);
	free(body);
}

static void *
ingest_main(void *arg)
{
	struct ingest_peer *p = arg;

	while (!atomic_load(&p->stop)) {
		zmq_pollitem_t item = { p->sock, 0, ZMQ_POLLIN, 0 };
		zmq_msg_t f[5];
		int n;

		if (zmq_poll(&item, 1, 20) <= 0)
			continue;
		while ((n = recv_frames(p->sock, f, 5)) > 0) {
			note_identity(p, &f[0]);
			if (n == 3 || (n == 5 && zmq_msg_size(&f[2]) == 0))
				ingest_one(p, f, n);
			else
				p->malformed++;
			close_frames(f, n, 5);
		}
	}
	return NULL;
}

static struct ingest_peer *
ingest_start(void)
{
	struct ingest_peer *p = xcalloc(1, sizeof(*p));

	p->ctx = zmq_ctx_new();
	assert_non_null(p->ctx);
	p->sock = bind_peer(p->ctx, ZMQ_ROUTER, p->endpoint,
	    sizeof(p->endpoint));
	atomic_init(&p->stop, false);
	assert_int_equal(pthread_create(&p->thread, NULL, ingest_main, p), 0);
	return p;
}

static void
ingest_stop(struct ingest_peer *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	zmq_close(p->sock);
	zmq_ctx_term(p->ctx);
}

static int
ingest_seen(struct ingest_peer *p, const char *source, const char *id)
{
	char k[160];

	snprintf(k, sizeof(k), "%s/%s", source, id);
	for (size_t i = 0; i < p->nkeys; i++)
		if (strcmp(p->keys[i].key, k) == 0)
			return p->keys[i].seen;
	return 0;
}

static char *
write_temp(const char *text)
{
	const char *dir = getenv("TMPDIR");
	char *path = xasprintf("%s/handoff-test-client-XXXXXX",
	    dir != NULL && dir[0] != '\0' ? dir : "/tmp");
	int fd = mkstemp(path);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
check_problem(const client_send_result_t *r, size_t i, uint64_t line,
    bool invalid, const char *error_part)
{
	assert_true(i < r->nproblems);
	assert_int_equal(r->problems[i].line, line);
	assert_int_equal(r->problems[i].invalid, invalid);
	if (strstr(r->problems[i].error, error_part) == NULL)
		fail_msg("problem %zu: '%s' lacks '%s'", i,
		    r->problems[i].error, error_part);
}

#define EV(id, extra) "{\"v\": 1, \"type\": \"lead.upserted\", " \
	"\"source\": \"mkto\", \"id\": \"" id "\", " \
	"\"occurred_at\": \"2026-11-24T10:00:00Z\"" extra "}\n"

static void
test_send_counts_and_resends(void **state)
{
	struct ingest_peer *p = ingest_start();
	client_send_opts_t o;
	client_send_result_t r;
	char *path, *err = NULL;
	sbuf_t b;
	int drops = 0;

	(void)state;
	sbuf_init(&b);
	sbuf_adds(&b, EV("e1", ""));                          /* 1 */
	sbuf_adds(&b, "\n");                                  /* 2 */
	sbuf_adds(&b, "not json\n");                          /* 3 */
	sbuf_adds(&b, EV("e2", ", \"reject\": \"lead: missing\"")); /* 4 */
	sbuf_adds(&b, "[1, 2]\n");                            /* 5 */
	sbuf_adds(&b, "{\"type\": \"lead.upserted\", \"source\": \"mkto\"}\n");
	sbuf_adds(&b, EV("e1", ", \"again\": true"));          /* 7 */
	sbuf_adds(&b, EV("e3", ", \"drop\": 1"));             /* 8 */
	sbuf_adds(&b, EV("e4", ", \"drop\": 2, \"reject\": \"bad\"")); /* 9 */
	for (int i = 0; i < 60; i++) {                        /* 10-69 */
		bool drop = i % 3 == 0;

		sbuf_printf(&b, "{\"v\": 1, \"type\": \"sales.activity\", "
		    "\"source\": \"sfdc\", \"id\": \"a%d\"%s}\r\n", i,
		    drop ? ", \"drop\": 1" : "");
		drops += drop;
	}
	/* Answered as an unreadable body is: id and source null. */
	sbuf_adds(&b, EV("e5", ", \"reject\": \"body: not valid JSON\", "
	    "\"anonymous\": true"));                          /* 70 */
	sbuf_adds(&b, " \t \n");                              /* 71 */
	sbuf_adds(&b, "{\"type\": \"x\", \"source\": \"Bad Source\", "
	    "\"id\": \"z\"}");                                /* 72, no \n */
	path = write_temp(b.s);
	sbuf_free(&b);

	client_send_opts_init(&o);
	o.window = 8;
	o.timeout_ms = 300;
	if (client_send_file(p->endpoint, path, &o, &r, &err) != 0)
		fail_msg("send: %s", err);
	ingest_stop(p);

	assert_int_equal(r.accepted, 62);  /* e1, e3 and a0-a59 */
	assert_int_equal(r.duplicate, 1);  /* line 7 */
	assert_int_equal(r.rejected, 3);   /* e2, e4, e5 */
	assert_int_equal(r.invalid, 4);    /* lines 3, 5, 6, 72 */
	assert_int_equal(r.reopened, 0);
	assert_true(r.resent >= (uint64_t)drops + 3);
	assert_int_equal(r.nproblems, 7);
	check_problem(&r, 0, 3, true, "not JSON");
	check_problem(&r, 1, 4, false, "lead: missing");
	assert_string_equal(r.problems[1].source, "mkto");
	assert_string_equal(r.problems[1].id, "e2");
	check_problem(&r, 2, 5, true, "not a JSON object");
	check_problem(&r, 3, 6, true, "\"id\"");
	check_problem(&r, 4, 9, false, "bad");
	assert_string_equal(r.problems[4].id, "e4");
	/* The tag matched the anonymous reply to its line. */
	check_problem(&r, 5, 70, false, "body: not valid JSON");
	assert_string_equal(r.problems[5].source, "mkto");
	assert_string_equal(r.problems[5].id, "e5");
	check_problem(&r, 6, 72, true, "\"source\"");

	/* Every dropped reply cost one more send, no fewer. */
	assert_int_equal(p->malformed, 0);
	assert_true(ingest_seen(p, "mkto", "e3") >= 2);
	assert_true(ingest_seen(p, "mkto", "e4") >= 3);
	assert_true(ingest_seen(p, "mkto", "e1") >= 2);
	for (int i = 0; i < 60; i++) {
		char id[16];

		snprintf(id, sizeof(id), "a%d", i);
		assert_true(ingest_seen(p, "sfdc", id) >= (i % 3 == 0 ? 2 : 1));
	}
	client_send_result_free(&r);
	unlink(path);
	free(path);
	free(p);
}

/*
 * Two lines with one (source, id): the second waits for the answer to the
 * first, so each answer belongs to its line even when the first is resent.
 */
static void
test_send_same_key_in_order(void **state)
{
	struct ingest_peer *p = ingest_start();
	client_send_opts_t o;
	client_send_result_t r;
	char *path, *err = NULL;

	(void)state;
	path = write_temp(EV("k", ", \"reject\": \"no\", \"drop\": 1")
	    EV("k", "") EV("other", ""));
	client_send_opts_init(&o);
	o.timeout_ms = 200;
	if (client_send_file(p->endpoint, path, &o, &r, &err) != 0)
		fail_msg("send: %s", err);
	ingest_stop(p);

	assert_int_equal(r.accepted, 2);
	assert_int_equal(r.rejected, 1);
	assert_int_equal(r.nproblems, 1);
	check_problem(&r, 0, 1, false, "no");
	/* The first line twice (its first reply lost), then the second. */
	assert_true(p->norder >= 3);
	{
		size_t k = 0, seen_plain = 0;

		for (size_t i = 0; i < p->norder; i++) {
			if (strcmp(p->order[i], "other") == 0)
				continue;
			if (strcmp(p->order[i], "k") == 0)
				seen_plain++;
			else
				assert_int_equal(seen_plain, 0);
			k++;
		}
		assert_true(k >= 3);
		assert_int_equal(seen_plain, 1);
	}
	client_send_result_free(&r);
	unlink(path);
	free(path);
	free(p);
}

/* Silence for reopen_after timeouts: the socket is closed and reopened. */
static void
test_send_reopens_socket(void **state)
{
	struct ingest_peer *p = ingest_start();
	client_send_opts_t o;
	client_send_result_t r;
	char *path, *err = NULL;

	(void)state;
	path = write_temp(EV("slow", ", \"drop\": 4"));
	client_send_opts_init(&o);
	o.timeout_ms = 100;
	o.reopen_after = 2;
	if (client_send_file(p->endpoint, path, &o, &r, &err) != 0)
		fail_msg("send: %s", err);
	ingest_stop(p);

	assert_int_equal(r.accepted, 1);
	assert_true(r.reopened >= 1);
	assert_int_equal(ingest_seen(p, "mkto", "slow"), 5);
	assert_true(p->nidentities >= 2);
	client_send_result_free(&r);
	unlink(path);
	free(path);
	free(p);
}

static void
test_send_max_tries(void **state)
{
	struct ingest_peer *p = ingest_start();
	client_send_opts_t o;
	client_send_result_t r;
	char *path, *err = NULL;

	(void)state;
	path = write_temp(EV("ok", "") EV("lost", ", \"drop\": 1000"));
	client_send_opts_init(&o);
	o.timeout_ms = 100;
	o.max_tries = 3;
	assert_int_equal(client_send_file(p->endpoint, path, &o, &r, &err),
	    -1);
	ingest_stop(p);

	assert_non_null(err);
	if (strstr(err, ":2: mkto/lost: no reply from") == NULL ||
	    strstr(err, "after 3 tries") == NULL)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(ingest_seen(p, "mkto", "lost"), 3);
	free(err);
	client_send_result_free(&r);
	unlink(path);
	free(path);
	free(p);
}

static void
test_send_unreadable_file(void **state)
{
	client_send_opts_t o;
	client_send_result_t r;
	char *err = NULL;

	(void)state;
	client_send_opts_init(&o);
	assert_int_equal(client_send_file("tcp://127.0.0.1:9",
	    "/nonexistent/events.jsonl", &o, &r, &err), -1);
	assert_non_null(strstr(err, "/nonexistent/events.jsonl"));
	free(err);
	client_send_result_free(&r);
}

static void
test_send_size_limit(void **state)
{
	struct ingest_peer *p = ingest_start();
	client_send_opts_t o;
	client_send_result_t r;
	char *path, *err = NULL;

	(void)state;
	path = write_temp(EV("small", "") EV("big", ", \"pad\": \""
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""));
	client_send_opts_init(&o);
	o.max_message_bytes = 130;
	if (client_send_file(p->endpoint, path, &o, &r, &err) != 0)
		fail_msg("send: %s", err);
	ingest_stop(p);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(r.invalid, 1);
	check_problem(&r, 0, 2, true, "bus.max_message_bytes");
	assert_int_equal(ingest_seen(p, "mkto", "big"), 0);
	client_send_result_free(&r);
	unlink(path);
	free(path);
	free(p);
}

/*
 * The control peer. It serves an outbox of OUTBOX messages of which the
 * first `committed` are visible, in pages of at most `page`, and answers
 * ping and lead; "hang" gets no answer at all.
 */
#define OUTBOX 8
#define MAX_REPLAYS 32

struct control_peer {
	void *ctx, *sock;
	char endpoint[256];
	pthread_t thread;
	atomic_bool stop;
	atomic_int committed;
	atomic_int nreplays;
	int page;
	const char *types[OUTBOX + 1];
	uint64_t replay_since[MAX_REPLAYS];
	int malformed; /* requests without the REQ envelope, or bad args */
};

static const char *const types_mixed[OUTBOX + 1] = {
	"", "sla.warning", "handoff.assigned", "sla.breached",
	"handoff.reassigned", "sla.escalated", "handoff.recycled",
	"sla.resolved", "sla.retracted"
};

static char *
outbox_body(const char *const *types, int seq)
{
	return xasprintf("{\"v\": 1, \"type\": \"%s\", \"seq\": %d, "
	    "\"emitted_at\": \"2026-11-24T10:00:0%dZ\", \"lead_key\": \"L%d\"}",
	    types[seq], seq, seq % 10, seq);
}

static void
reply_frame(void *s, const char *text, bool more)
{
	zmq_send(s, text, strlen(text), more ? ZMQ_SNDMORE : 0);
}

static void
control_one(struct control_peer *p, zmq_msg_t *f, int n)
{
	char *cmd, *args = NULL, err[128];
	yajl_val v = NULL;

	/* identity, empty delimiter, command[, args] */
	if (n < 3 || n > 4 || zmq_msg_size(&f[1]) != 0) {
		p->malformed++;
		return;
	}
	cmd = frame_str(&f[2]);
	if (n == 4) {
		args = frame_str(&f[3]);
		if ((v = yajl_tree_parse(args, err, sizeof(err))) == NULL)
			p->malformed++;
	}
	if (strcmp(cmd, "hang") == 0)
		goto out;
	zmq_send(p->sock, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]),
	    ZMQ_SNDMORE);
	zmq_send(p->sock, "", 0, ZMQ_SNDMORE);
	if (strcmp(cmd, "ping") == 0 && n == 3) {
		reply_frame(p->sock, "{\"ok\": true}", false);
	} else if (strcmp(cmd, "lead") == 0 && YAJL_IS_STRING(jfield(v,
	    "email"))) {
		char *r = xasprintf("{\"lead_key\": \"L1\", \"email\": \"%s\", "
		    "\"stage\": \"mql\"}", jfield(v, "email")->u.string);

		reply_frame(p->sock, r, false);
		free(r);
	} else if (strcmp(cmd, "lead") == 0) {
		reply_frame(p->sock, "{\"error\": \"not found\"}", false);
	} else if (strcmp(cmd, "replay") == 0 &&
	    YAJL_IS_INTEGER(jfield(v, "since")) &&
	    YAJL_IS_INTEGER(jfield(v, "limit")) &&
	    YAJL_GET_INTEGER(jfield(v, "since")) <= 1000) {
		long long since = YAJL_GET_INTEGER(jfield(v, "since"));
		long long limit = YAJL_GET_INTEGER(jfield(v, "limit"));
		int committed = atomic_load(&p->committed);
		int k = atomic_load(&p->nreplays);
		char *end;

		if (k < MAX_REPLAYS)
			p->replay_since[k] = (uint64_t)since;
		if (limit > p->page)
			limit = p->page;
		for (long long s = since + 1; s <= committed &&
		    s <= since + limit; s++) {
			char *body = outbox_body(p->types, (int)s);

			reply_frame(p->sock, body, true);
			free(body);
		}
		end = xasprintf("{\"end\": true, \"last_seq\": %d}", committed);
		reply_frame(p->sock, end, false);
		free(end);
		atomic_store(&p->nreplays, k + 1);
	} else if (strcmp(cmd, "replay") == 0) {
		reply_frame(p->sock, "{\"error\": \"bad since\"}", false);
	} else {
		reply_frame(p->sock, "{\"error\": \"unknown command\"}", false);
	}
out:
	yajl_tree_free(v);
	free(cmd);
	free(args);
}

static void *
control_main(void *arg)
{
	struct control_peer *p = arg;

	while (!atomic_load(&p->stop)) {
		zmq_pollitem_t item = { p->sock, 0, ZMQ_POLLIN, 0 };
		zmq_msg_t f[4];
		int n;

		if (zmq_poll(&item, 1, 20) <= 0)
			continue;
		while ((n = recv_frames(p->sock, f, 4)) > 0) {
			control_one(p, f, n);
			close_frames(f, n, 4);
		}
	}
	return NULL;
}

static struct control_peer *
control_start(int committed, int page, const char *const *types)
{
	struct control_peer *p = xcalloc(1, sizeof(*p));

	p->ctx = zmq_ctx_new();
	assert_non_null(p->ctx);
	p->sock = bind_peer(p->ctx, ZMQ_ROUTER, p->endpoint,
	    sizeof(p->endpoint));
	atomic_init(&p->stop, false);
	atomic_init(&p->committed, committed);
	atomic_init(&p->nreplays, 0);
	p->page = page;
	memcpy(p->types, types, sizeof(p->types));
	assert_int_equal(pthread_create(&p->thread, NULL, control_main, p),
	    0);
	return p;
}

static void
control_stop(struct control_peer *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	zmq_close(p->sock);
	zmq_ctx_term(p->ctx);
	assert_int_equal(p->malformed, 0);
}

/* What a replay or a tail delivered. */
struct got {
	size_t n;
	uint64_t seq[32];
	char topic[32][32];
	char *body[32];
};

static void
collect(void *arg, const char *topic, const char *body, size_t len,
    uint64_t seq)
{
	struct got *g = arg;

	if (g->n == 32)
		fail_msg("more than 32 deliveries");
	g->seq[g->n] = seq;
	snprintf(g->topic[g->n], sizeof(g->topic[0]), "%s", topic);
	g->body[g->n] = xstrndup(body, len);
	g->n++;
}

static void
got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->body[i]);
}

static void
check_seqs(const struct got *g, const uint64_t *want, size_t n)
{
	if (g->n != n)
		fail_msg("delivered %zu messages, want %zu", g->n, n);
	for (size_t i = 0; i < n; i++)
		if (g->seq[i] != want[i])
			fail_msg("delivery %zu: seq %llu, want %llu", i,
			    (unsigned long long)g->seq[i],
			    (unsigned long long)want[i]);
}

static void
test_control_ping_and_lead(void **state)
{
	struct control_peer *p = control_start(0, 3, types_mixed);
	client_reply_t r;
	char *err = NULL, *args, *e;

	(void)state;
	if (client_control(p->endpoint, "ping", NULL, 5000, &r, &err) != 0)
		fail_msg("ping: %s", err);
	assert_int_equal(r.nframes, 1);
	assert_string_equal(r.frame[0], "{\"ok\": true}");
	assert_null(client_reply_error(r.frame[0], r.len[0]));
	client_reply_free(&r);

	args = client_lead_args("ann@example.com");
	assert_string_equal(args, "{\"email\":\"ann@example.com\"}");
	if (client_control(p->endpoint, "lead", args, 5000, &r, &err) != 0)
		fail_msg("lead: %s", err);
	free(args);
	assert_int_equal(r.nframes, 1);
	assert_non_null(strstr(r.frame[0], "\"lead_key\": \"L1\""));
	client_reply_free(&r);

	args = client_lead_args("L-\"404\"");
	assert_string_equal(args, "{\"lead_key\":\"L-\\\"404\\\"\"}");
	if (client_control(p->endpoint, "lead", args, 5000, &r, &err) != 0)
		fail_msg("lead: %s", err);
	free(args);
	e = client_reply_error(r.frame[0], r.len[0]);
	assert_string_equal(e, "not found");
	free(e);
	client_reply_free(&r);

	args = client_lead_args_source("mkto", "42");
	assert_string_equal(args, "{\"source\":\"mkto\",\"id\":\"42\"}");
	free(args);
	assert_null(client_lead_args("\xff"));
	control_stop(p);
	free(p);
}

static void
test_control_timeout(void **state)
{
	struct control_peer *p = control_start(0, 3, types_mixed);
	client_reply_t r;
	char *err = NULL, *want;
	int64_t t0 = mono_ms();

	(void)state;
	assert_int_equal(client_control(p->endpoint, "hang", NULL, 200, &r,
	    &err), -1);
	assert_true(mono_ms() - t0 >= 200);
	want = xasprintf("no reply from %s within 0.2 s", p->endpoint);
	assert_string_equal(err, want);
	free(want);
	free(err);
	control_stop(p);
	free(p);
}

static void
test_replay_pages(void **state)
{
	struct control_peer *p = control_start(7, 3, types_mixed);
	static const uint64_t want[] = { 3, 4, 5, 6, 7 };
	client_replay_end_t end;
	struct got g = { 0 };
	char *err = NULL;

	(void)state;
	if (client_replay(p->endpoint, 2, 0, 5000, collect, &g, &end,
	    &err) != 0)
		fail_msg("replay: %s", err);
	check_seqs(&g, want, ARRAY_LEN(want));
	assert_string_equal(g.topic[0], "sla.breached");
	assert_string_equal(g.body[4], "{\"v\": 1, \"type\": \"sla.resolved\", "
	    "\"seq\": 7, \"emitted_at\": \"2026-11-24T10:00:07Z\", "
	    "\"lead_key\": \"L7\"}");
	assert_int_equal(end.count, 5);
	assert_int_equal(end.last_seq, 7);
	/* Two pages: after 2, then after 5. */
	assert_int_equal(atomic_load(&p->nreplays), 2);
	assert_int_equal(p->replay_since[0], 2);
	assert_int_equal(p->replay_since[1], 5);
	got_free(&g);
	control_stop(p);
	free(p);
}

static void
test_replay_limit_and_empty(void **state)
{
	struct control_peer *p = control_start(7, 3, types_mixed);
	static const uint64_t want[] = { 1, 2 };
	client_replay_end_t end;
	struct got g = { 0 };
	char *err = NULL;

	(void)state;
	if (client_replay(p->endpoint, 0, 2, 5000, collect, &g, &end,
	    &err) != 0)
		fail_msg("replay: %s", err);
	check_seqs(&g, want, ARRAY_LEN(want));
	assert_int_equal(end.count, 2);
	assert_int_equal(end.last_seq, 7);
	got_free(&g);

	memset(&g, 0, sizeof(g));
	if (client_replay(p->endpoint, 7, 0, 5000, collect, &g, &end,
	    &err) != 0)
		fail_msg("replay: %s", err);
	assert_int_equal(g.n, 0);
	assert_int_equal(end.count, 0);
	assert_int_equal(end.last_seq, 7);

	assert_int_equal(client_replay(p->endpoint, 5000, 0, 5000, collect,
	    &g, &end, &err), -1);
	assert_non_null(strstr(err, "replay: bad since"));
	free(err);
	control_stop(p);
	free(p);
}

/*
 * The publisher: an XPUB (so it knows when the subscription has arrived)
 * that runs a script of steps over the control peer's outbox.
 */
enum step_kind { PUBLISH, COMMIT, HEARTBEAT, WAIT_REPLAYS, END };

struct step {
	enum step_kind kind;
	int arg;
};

struct pub_peer {
	void *ctx, *sock;
	char endpoint[256];
	pthread_t thread;
	atomic_bool stop;
	struct control_peer *control;
	const struct step *script;
	int timeouts; /* steps that waited in vain */
};

static void
publish(struct pub_peer *p, const char *topic, const char *body)
{
	zmq_send(p->sock, topic, strlen(topic), ZMQ_SNDMORE);
	zmq_send(p->sock, body, strlen(body), 0);
}

static void *
pub_main(void *arg)
{
	struct pub_peer *p = arg;
	struct control_peer *c = p->control;
	zmq_pollitem_t item = { p->sock, 0, ZMQ_POLLIN, 0 };
	int64_t until = mono_ms() + PEER_WAIT_MS;
	char sub[64];

	/* The first subscription message: the subscriber is connected. */
	while (zmq_poll(&item, 1, 20) <= 0)
		if (atomic_load(&p->stop) || mono_ms() > until) {
			p->timeouts++;
			return NULL;
		}
	if (zmq_recv(p->sock, sub, sizeof(sub), 0) < 1 || sub[0] != 1)
		p->timeouts++;

	for (const struct step *s = p->script; s->kind != END; s++) {
		char *body;

		switch (s->kind) {
		case PUBLISH:
			if (atomic_load(&c->committed) < s->arg)
				atomic_store(&c->committed, s->arg);
			body = outbox_body(c->types, s->arg);
			publish(p, c->types[s->arg], body);
			free(body);
			break;
		case COMMIT:
			atomic_store(&c->committed, s->arg);
			break;
		case HEARTBEAT:
			body = xasprintf("{\"v\": 1, \"type\": \"bus.heartbeat\", "
			    "\"seq\": %d, \"emitted_at\": "
			    "\"2026-11-24T10:00:00Z\"}",
			    atomic_load(&c->committed));
			publish(p, "bus.heartbeat", body);
			free(body);
			break;
		case WAIT_REPLAYS:
			if (!wait_for(&c->nreplays, s->arg))
				p->timeouts++;
			break;
		case END:
			abort();
		}
	}
	while (!atomic_load(&p->stop))
		sleep_ms(10);
	return NULL;
}

static struct pub_peer *
pub_start(struct control_peer *c, const struct step *script)
{
	struct pub_peer *p = xcalloc(1, sizeof(*p));

	p->ctx = zmq_ctx_new();
	assert_non_null(p->ctx);
	p->sock = bind_peer(p->ctx, ZMQ_XPUB, p->endpoint,
	    sizeof(p->endpoint));
	p->control = c;
	p->script = script;
	atomic_init(&p->stop, false);
	assert_int_equal(pthread_create(&p->thread, NULL, pub_main, p), 0);
	return p;
}

static void
pub_stop(struct pub_peer *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	zmq_close(p->sock);
	zmq_ctx_term(p->ctx);
	assert_int_equal(p->timeouts, 0);
}

/*
 * 3 and 4 are committed but never published (the gap shows at 5), and 7
 * is committed but only announced by a heartbeat (a lost last message).
 */
static const struct step gap_script[] = {
	{ PUBLISH, 1 }, { PUBLISH, 2 }, { COMMIT, 4 }, { PUBLISH, 5 },
	{ WAIT_REPLAYS, 1 }, { PUBLISH, 6 }, { COMMIT, 7 }, { HEARTBEAT, 0 },
	{ WAIT_REPLAYS, 2 }, { PUBLISH, 8 }, { END, 0 }
};

static void
run_tail(const struct step *script, int committed, client_tail_opts_t *o,
    struct got *g, struct control_peer **cp)
{
	struct control_peer *c = control_start(committed, 3, types_mixed);
	struct pub_peer *p = pub_start(c, script);
	char *err = NULL;

	o->publish = p->endpoint;
	o->control = c->endpoint;
	o->idle_ms = PEER_WAIT_MS;
	if (client_tail(o, collect, g, &err) != 0)
		fail_msg("tail: %s", err);
	pub_stop(p);
	control_stop(c);
	free(p);
	*cp = c;
}

static void
test_tail_fills_gaps(void **state)
{
	static const uint64_t want[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct control_peer *c;
	client_tail_opts_t o;
	struct got g = { 0 };

	(void)state;
	client_tail_opts_init(&o);
	o.count = 8;
	run_tail(gap_script, 0, &o, &g, &c);
	check_seqs(&g, want, ARRAY_LEN(want));
	for (size_t i = 0; i < g.n; i++) {
		char *body = outbox_body(types_mixed, (int)want[i]);

		assert_string_equal(g.body[i], body);
		assert_string_equal(g.topic[i], types_mixed[want[i]]);
		free(body);
	}
	assert_int_equal(atomic_load(&c->nreplays), 2);
	assert_int_equal(c->replay_since[0], 2);
	assert_int_equal(c->replay_since[1], 6);
	got_free(&g);
	free(c);
}

/* With a prefix, the filtered-out messages are not gaps; heartbeats are
 * delivered when asked for, after what they revealed. */
static void
test_tail_prefix_and_heartbeats(void **state)
{
	static const uint64_t want[] = { 1, 3, 5, 7, 7, 8 };
	struct control_peer *c;
	client_tail_opts_t o;
	struct got g = { 0 };

	(void)state;
	client_tail_opts_init(&o);
	o.prefix = "sla.";
	o.heartbeats = true;
	o.count = 6;
	run_tail(gap_script, 0, &o, &g, &c);
	check_seqs(&g, want, ARRAY_LEN(want));
	assert_string_equal(g.topic[3], "sla.resolved");
	assert_string_equal(g.topic[4], "bus.heartbeat");
	assert_string_equal(g.topic[5], "sla.retracted");
	assert_int_equal(atomic_load(&c->nreplays), 2);
	got_free(&g);
	free(c);
}

/* --since replays history first; a message already replayed that then
 * arrives on the subscription is not printed twice. */
static void
test_tail_since(void **state)
{
	static const struct step script[] = {
		{ WAIT_REPLAYS, 1 }, { PUBLISH, 3 }, { PUBLISH, 4 }, { END, 0 }
	};
	static const uint64_t want[] = { 2, 3, 4 };
	struct control_peer *c;
	client_tail_opts_t o;
	struct got g = { 0 };

	(void)state;
	client_tail_opts_init(&o);
	o.has_since = true;
	o.since = 1;
	o.count = 3;
	run_tail(script, 3, &o, &g, &c);
	check_seqs(&g, want, ARRAY_LEN(want));
	assert_int_equal(c->replay_since[0], 1);
	assert_int_equal(atomic_load(&c->nreplays), 1);
	got_free(&g);
	free(c);
}

/* A publisher that stays silent (not even heartbeats): --idle gives up. */
static void
test_tail_idle(void **state)
{
	void *ctx = zmq_ctx_new();
	client_tail_opts_t o;
	struct got g = { 0 };
	char endpoint[256], *err = NULL, *want;
	void *pub;

	(void)state;
	assert_non_null(ctx);
	pub = bind_peer(ctx, ZMQ_PUB, endpoint, sizeof(endpoint));
	client_tail_opts_init(&o);
	o.publish = endpoint;
	o.idle_ms = 300;
	assert_int_equal(client_tail(&o, collect, &g, &err), -1);
	want = xasprintf("nothing received from %s within 0.3 s", endpoint);
	assert_string_equal(err, want);
	assert_int_equal(g.n, 0);
	free(want);
	free(err);
	zmq_close(pub);
	zmq_ctx_term(ctx);
}

static void
test_connect_endpoint(void **state)
{
	static const char *const cases[][2] = {
		{ "tcp://*:5557", "tcp://127.0.0.1:5557" },
		{ "tcp://0.0.0.0:5557", "tcp://127.0.0.1:5557" },
		{ "tcp://[::]:5557", "tcp://[::1]:5557" },
		{ "tcp://10.1.2.3:5557", "tcp://10.1.2.3:5557" },
		{ "ipc:///run/handoff/control.sock",
		    "ipc:///run/handoff/control.sock" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *s = client_connect_endpoint(cases[i][0]);

		assert_string_equal(s, cases[i][1]);
		free(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_endpoint),
		cmocka_unit_test(test_send_counts_and_resends),
		cmocka_unit_test(test_send_same_key_in_order),
		cmocka_unit_test(test_send_reopens_socket),
		cmocka_unit_test(test_send_max_tries),
		cmocka_unit_test(test_send_unreadable_file),
		cmocka_unit_test(test_send_size_limit),
		cmocka_unit_test(test_control_ping_and_lead),
		cmocka_unit_test(test_control_timeout),
		cmocka_unit_test(test_replay_pages),
		cmocka_unit_test(test_replay_limit_and_empty),
		cmocka_unit_test(test_tail_fills_gaps),
		cmocka_unit_test(test_tail_prefix_and_heartbeats),
		cmocka_unit_test(test_tail_since),
		cmocka_unit_test(test_tail_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
