/*
 * handoff-zmqtool: raw ZeroMQ peers for the shell integration tests, which
 * need to talk to handoffd in ways handoffctl does not (and must not):
 * push or publish a JSON-lines file, send a REQ request, send arbitrary
 * frames (invalid UTF-8, a wrong number of frames, an oversized body), or
 * stream a file through a DEALER while recording each acknowledgement as it
 * arrives.
 *
 *   handoff-zmqtool [-t MS] push ENDPOINT FILE
 *       PUSH (connect) every line of FILE; the topic is the line's "type".
 *   handoff-zmqtool [-t MS] pub ENDPOINT FILE NSUBS
 *       XPUB (bind) on ENDPOINT, print the endpoint bound, wait for NSUBS
 *       subscriptions, then publish every line of FILE.
 *   handoff-zmqtool [-t MS] req ENDPOINT TOPIC BODYFILE
 *       REQ (connect): send TOPIC and the bytes of BODYFILE, print the reply.
 *   handoff-zmqtool [-t MS] msg ENDPOINT MSGFILE...
 *       For each file in proto/examples' .msg format (topic, a newline, the
 *       body), send topic and body from a DEALER with the REQ envelope and
 *       print the reply, one line per file, in order.
 *   handoff-zmqtool [-t MS] raw ENDPOINT FRAME...
 *       DEALER (connect): send the frames as given (@PATH: the bytes of the
 *       file PATH), print each reply frame on a line.
 *   handoff-zmqtool [-t MS] drop ENDPOINT FRAME...
 *       Like raw, but expects the daemon to drop the connection instead of
 *       replying: exits 0 once the socket monitor reports the disconnect.
 *   handoff-zmqtool [-t MS] [-w WINDOW] [-r RATE] dealer ENDPOINT FILE ACKS
 *       DEALER (connect): send every line of FILE, tagged with its line
 *       number, at most WINDOW unanswered and RATE a second (0: unpaced),
 *       and append "LINE<TAB>REPLY" to ACKS, flushed, as each reply comes.
 *       Never resends. Exits 0 when every line was answered, 3 when no
 *       reply came for MS while some were unanswered.
 *
 * -t MS is how long to wait for a reply or a subscriber (default 30000).
 * -S FILE -K FILE make every socket a CurveZMQ client (whether it binds or
 * connects): FILE of -S holds the server's public key, FILE of -K the
 * client's secret key, each in Z85 (as handoffctl keygen writes them).
 * Exit codes: 0 done, 1 failure (no reply, an unexpected reply), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>
#include <zmq.h>

#define DEFAULT_TIMEOUT_MS 30000

static int timeout_ms = DEFAULT_TIMEOUT_MS;
/* CurveZMQ client keys (Z85), when -S and -K were given. */
static char curve_server[41], curve_public[41], curve_secret[41];
static bool curve_on;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("handoff-zmqtool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static int64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The whole of a file ("-": standard input), byte for byte. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 65536, n = 0, got;
	char *buf;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	buf = xmalloc(cap);
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	if (ferror(f))
		die("%s: read error", path);
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* A key from a key file: its one word of 40 characters. */
static void
read_key(const char *path, char out[41])
{
	size_t len, b = 0;
	char *buf = slurp(path, &len);

	while (b < len && strchr(" \t\r\n", buf[b]) != NULL)
		b++;
	while (len > b && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	if (len - b != 40)
		die("%s: not a 40-character key", path);
	memcpy(out, buf + b, 40);
	out[40] = '\0';
	free(buf);
}

static void
apply_curve(void *s)
{
	if (!curve_on)
		return;
	if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, curve_server, 40) == -1 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, curve_public, 40) == -1 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, curve_secret, 40) == -1)
		die("CurveZMQ keys: %s", zmq_strerror(errno));
}

typedef struct {
	char *topic;  /* the line's "type", or "" */
	char *body;
	size_t len;
	unsigned line; /* 1-based line number in the file */
} line_t;

/* The nonblank lines of a JSON-lines file, each with its topic. */
static line_t *
read_lines(const char *path, size_t *count)
{
	size_t len, n = 0, cap = 1024;
	char *buf = slurp(path, &len), *p = buf, *end = buf + len;
	line_t *lines = xmalloc(cap * sizeof(*lines));
	unsigned lineno = 0;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *path_type[] = { "type", NULL };
		yajl_val doc, t;
		char *copy, eb[128];
		const char *type;

		lineno++;
		if (l == 0 || (l == 1 && p[0] == '\r')) {
			p += l + 1;
			continue;
		}
		if (n == cap) {
			cap *= 2;
			lines = xrealloc(lines, cap * sizeof(*lines));
		}
		copy = xmalloc(l + 1);
		memcpy(copy, p, l);
		copy[l] = '\0';
		doc = yajl_tree_parse(copy, eb, sizeof(eb));
		t = doc != NULL ? yajl_tree_get(doc, path_type, yajl_t_string) :
		    NULL;
		type = t != NULL ? YAJL_GET_STRING(t) : NULL;
		lines[n].topic = strdup(type != NULL ? type : "");
		if (lines[n].topic == NULL)
			die("out of memory");
		yajl_tree_free(doc);
		lines[n].body = copy;
		lines[n].len = l;
		lines[n].line = lineno;
		n++;
		p += l + 1;
	}
	free(buf);
	*count = n;
	return lines;
}

static void
free_lines(line_t *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(lines[i].topic);
		free(lines[i].body);
	}
	free(lines);
}

static void *
open_socket(void *ctx, int type, const char *ep, bool bind)
{
	void *s = zmq_socket(ctx, type);
	int linger = timeout_ms;

	if (s == NULL)
		die("zmq_socket: %s", zmq_strerror(errno));
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	apply_curve(s);
	if ((bind ? zmq_bind(s, ep) : zmq_connect(s, ep)) == -1)
		die("%s %s: %s", bind ? "bind" : "connect", ep,
		    zmq_strerror(errno));
	return s;
}

static void
send_frame(void *s, const void *data, size_t len, bool more)
{
	if (zmq_send(s, data, len, more ? ZMQ_SNDMORE : 0) == -1)
		die("zmq_send: %s", zmq_strerror(errno));
}

/* Waits up to ms for s to be readable. */
static bool
wait_readable(void *s, long ms)
{
	zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
	int64_t until = mono_ms() + ms;

	for (;;) {
		long left = (long)(until - mono_ms());
		int n;

		if (left < 0)
			left = 0;
		n = zmq_poll(&it, 1, left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die("zmq_poll: %s", zmq_strerror(errno));
		return n > 0;
	}
}

typedef struct {
	char **data;
	size_t *len;
	size_t n;
} frames_t;

static void
recv_all(void *s, frames_t *f)
{
	int more;

	memset(f, 0, sizeof(*f));
	do {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) == -1)
			die("zmq_msg_recv: %s", zmq_strerror(errno));
		f->data = xrealloc(f->data, (f->n + 1) * sizeof(char *));
		f->len = xrealloc(f->len, (f->n + 1) * sizeof(size_t));
		f->len[f->n] = zmq_msg_size(&m);
		f->data[f->n] = xmalloc(f->len[f->n] + 1);
		memcpy(f->data[f->n], zmq_msg_data(&m), f->len[f->n]);
		f->data[f->n][f->len[f->n]] = '\0';
		f->n++;
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
	} while (more);
}

static void
frames_free(frames_t *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->data[i]);
	free(f->data);
	free(f->len);
	memset(f, 0, sizeof(*f));
}

static void
print_frame(const char *data, size_t len)
{
	fwrite(data, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

static int
cmd_push(void *ctx, const char *ep, const char *file)
{
	size_t n;
	line_t *lines = read_lines(file, &n);
	void *s = open_socket(ctx, ZMQ_PUSH, ep, false);

	for (size_t i = 0; i < n; i++) {
		send_frame(s, lines[i].topic, strlen(lines[i].topic), true);
		send_frame(s, lines[i].body, lines[i].len, false);
	}
	/* The linger (the -t timeout) lets the queue drain before exit. */
	zmq_close(s);
	free_lines(lines, n);
	printf("pushed %zu\n", n);
	return 0;
}

static int
cmd_pub(void *ctx, const char *ep, const char *file, const char *nsubs_s)
{
	size_t n;
	line_t *lines = read_lines(file, &n);
	void *s = open_socket(ctx, ZMQ_XPUB, ep, true);
	long nsubs = strtol(nsubs_s, NULL, 10);
	char bound[1024];
	size_t blen = sizeof(bound);

	if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, bound, &blen) == -1)
		die("ZMQ_LAST_ENDPOINT: %s", zmq_strerror(errno));
	printf("%s\n", bound);
	fflush(stdout);
	/* XPUB hands us each subscription: "\1PREFIX". */
	for (long got = 0; got < nsubs;) {
		frames_t f;

		if (!wait_readable(s, timeout_ms))
			die("%s: %ld of %ld subscriptions within %d ms", bound,
			    got, nsubs, timeout_ms);
		recv_all(s, &f);
		if (f.n == 1 && f.len[0] >= 1 && f.data[0][0] == 1)
			got++;
		frames_free(&f);
	}
	for (size_t i = 0; i < n; i++) {
		send_frame(s, lines[i].topic, strlen(lines[i].topic), true);
		send_frame(s, lines[i].body, lines[i].len, false);
	}
	zmq_close(s);
	free_lines(lines, n);
	fprintf(stderr, "published %zu\n", n);
	return 0;
}

static int
cmd_req(void *ctx, const char *ep, const char *topic, const char *bodyfile)
{
	size_t len;
	char *body = slurp(bodyfile, &len);
	void *s = open_socket(ctx, ZMQ_REQ, ep, false);
	frames_t f;

	send_frame(s, topic, strlen(topic), true);
	send_frame(s, body, len, false);
	free(body);
	if (!wait_readable(s, timeout_ms))
		die("%s: no reply within %d ms", ep, timeout_ms);
	recv_all(s, &f);
	for (size_t i = 0; i < f.n; i++)
		print_frame(f.data[i], f.len[i]);
	frames_free(&f);
	zmq_close(s);
	return 0;
}

/* The reply frames after the empty delimiter (REQ envelope). */
static void
print_after_delim(const frames_t *f, const char *ep)
{
	if (f->n < 2 || f->len[0] != 0)
		die("%s: reply without the empty delimiter frame", ep);
	for (size_t i = 1; i < f->n; i++)
		print_frame(f->data[i], f->len[i]);
}

static int
cmd_msg(void *ctx, const char *ep, int nfiles, char **files)
{
	void *s = open_socket(ctx, ZMQ_DEALER, ep, false);

	for (int k = 0; k < nfiles; k++) {
		size_t len;
		char *buf = slurp(files[k], &len);
		char *nl = memchr(buf, '\n', len);
		size_t tlen;
		frames_t f;

		if (nl == NULL)
			die("%s: no newline after the topic", files[k]);
		tlen = (size_t)(nl - buf);
		send_frame(s, "", 0, true);
		send_frame(s, buf, tlen, true);
		send_frame(s, nl + 1, len - tlen - 1, false);
		free(buf);
		if (!wait_readable(s, timeout_ms))
			die("%s: %s: no reply within %d ms", ep, files[k],
			    timeout_ms);
		recv_all(s, &f);
		print_after_delim(&f, ep);
		frames_free(&f);
	}
	zmq_close(s);
	return 0;
}

static void
send_frames(void *s, int n, char **frames)
{
	for (int i = 0; i < n; i++) {
		size_t len;
		char *data;

		if (frames[i][0] == '@') {
			data = slurp(frames[i] + 1, &len);
		} else {
			len = strlen(frames[i]);
			data = xmalloc(len + 1);
			memcpy(data, frames[i], len + 1);
		}
		send_frame(s, data, len, i + 1 < n);
		free(data);
	}
}

static int
cmd_raw(void *ctx, const char *ep, int n, char **frames)
{
	void *s = open_socket(ctx, ZMQ_DEALER, ep, false);
	frames_t f;

	send_frames(s, n, frames);
	if (!wait_readable(s, timeout_ms))
		die("%s: no reply within %d ms", ep, timeout_ms);
	recv_all(s, &f);
	for (size_t i = 0; i < f.n; i++)
		print_frame(f.data[i], f.len[i]);
	frames_free(&f);
	zmq_close(s);
	return 0;
}

/*
 * Sends the frames once connected and waits for the peer to drop the
 * connection, which the socket monitor reports. A reply instead is a
 * failure, and so is neither within the timeout.
 */
static int
cmd_drop(void *ctx, const char *ep, int n, char **frames)
{
	void *s = zmq_socket(ctx, ZMQ_DEALER);
	void *mon = zmq_socket(ctx, ZMQ_PAIR);
	int linger = 0, reconnect = 60000;
	bool connected = false;
	int64_t until = mono_ms() + timeout_ms;
	int rc = 0;

	if (s == NULL || mon == NULL)
		die("zmq_socket: %s", zmq_strerror(errno));
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof(linger));
	apply_curve(s);
	/* One connection only: no reconnect while we watch. */
	zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &reconnect, sizeof(reconnect));
	if (zmq_socket_monitor(s, "inproc://drop-monitor",
	    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) == -1 ||
	    zmq_connect(mon, "inproc://drop-monitor") == -1)
		die("zmq_socket_monitor: %s", zmq_strerror(errno));
	if (zmq_connect(s, ep) == -1)
		die("connect %s: %s", ep, zmq_strerror(errno));
	for (;;) {
		zmq_pollitem_t it[2] = { { s, 0, ZMQ_POLLIN, 0 },
			{ mon, 0, ZMQ_POLLIN, 0 } };
		long left = (long)(until - mono_ms());
		int nready;

		if (left <= 0)
			die("%s: connection %s within %d ms", ep, connected ?
			    "not dropped" : "not made", timeout_ms);
		nready = zmq_poll(it, 2, left);
		if (nready == -1 && errno == EINTR)
			continue;
		if (nready == -1)
			die("zmq_poll: %s", zmq_strerror(errno));
		if (it[0].revents & ZMQ_POLLIN) {
			frames_t f;

			recv_all(s, &f);
			fprintf(stderr, "handoff-zmqtool: %s: unexpected reply:\n",
			    ep);
			for (size_t i = 0; i < f.n; i++)
				print_frame(f.data[i], f.len[i]);
			frames_free(&f);
			rc = 1;
			break;
		}
		if (it[1].revents & ZMQ_POLLIN) {
			frames_t f;
			uint16_t ev;

			recv_all(mon, &f);
			if (f.n < 1 || f.len[0] < 2)
				die("malformed monitor event");
			memcpy(&ev, f.data[0], sizeof(ev));
			frames_free(&f);
			if (ev == ZMQ_EVENT_CONNECTED && !connected) {
				connected = true;
				send_frames(s, n, frames);
			} else if (ev == ZMQ_EVENT_DISCONNECTED && connected) {
				break;
			}
		}
	}
	if (rc == 0)
		printf("dropped\n");
	zmq_socket_monitor(s, NULL, 0);
	zmq_close(mon);
	zmq_close(s);
	return rc;
}

static int
cmd_dealer(void *ctx, const char *ep, const char *file, const char *ackpath,
    int window, int rate)
{
	size_t n, next = 0, answered = 0, inflight = 0;
	line_t *lines = read_lines(file, &n);
	void *s = open_socket(ctx, ZMQ_DEALER, ep, false);
	FILE *acks = fopen(ackpath, "w");
	bool *done = calloc(n ? n : 1, sizeof(bool));
	int64_t start = mono_ms(), last_reply = start;
	int linger = 0, rc = 0;

	if (acks == NULL)
		die("%s: %s", ackpath, strerror(errno));
	if (done == NULL)
		die("out of memory");
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	while (answered < n) {
		int64_t now = mono_ms();
		long wait = 100;

		/* Send what the window and the pace allow. */
		while (next < n && inflight < (size_t)window &&
		    (rate == 0 || (int64_t)next * 1000 / rate <= now - start)) {
			uint32_t tag = (uint32_t)next;

			if (zmq_send(s, &tag, sizeof(tag), ZMQ_SNDMORE |
			    ZMQ_DONTWAIT) == -1)
				break;
			send_frame(s, "", 0, true);
			send_frame(s, lines[next].topic,
			    strlen(lines[next].topic), true);
			send_frame(s, lines[next].body, lines[next].len, false);
			next++;
			inflight++;
		}
		if (inflight > 0 && now - last_reply > timeout_ms) {
			rc = 3;
			break;
		}
		if (next < n && inflight < (size_t)window && rate > 0)
			wait = 1;
		while (wait_readable(s, wait)) {
			frames_t f;
			uint32_t tag;

			recv_all(s, &f);
			if (f.n != 3 || f.len[0] != sizeof(tag) || f.len[1] != 0)
				die("%s: malformed reply (%zu frames)", ep, f.n);
			memcpy(&tag, f.data[0], sizeof(tag));
			if (tag >= n || done[tag])
				die("%s: reply for unknown tag %u", ep, tag);
			done[tag] = true;
			fprintf(acks, "%u\t", lines[tag].line);
			fwrite(f.data[2], 1, f.len[2], acks);
			fputc('\n', acks);
			fflush(acks);
			frames_free(&f);
			answered++;
			inflight--;
			last_reply = mono_ms();
			wait = 0;
		}
	}
	printf("sent %zu, answered %zu of %zu\n", next, answered, n);
	fclose(acks);
	free(done);
	free_lines(lines, n);
	zmq_close(s);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: handoff-zmqtool [-t MS] [-w WINDOW] [-r RATE] "
	    "[-S SERVERKEY -K CLIENTKEY] COMMAND ...\n"
	    "  push ENDPOINT FILE | pub ENDPOINT FILE NSUBS |\n"
	    "  req ENDPOINT TOPIC BODYFILE | msg ENDPOINT MSGFILE... |\n"
	    "  raw ENDPOINT FRAME... | drop ENDPOINT FRAME... |\n"
	    "  dealer ENDPOINT FILE ACKS\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int window = 100, rate = 0, ch, rc = 2;
	const char *cmd, *server_file = NULL, *client_file = NULL;
	void *ctx;

	while ((ch = getopt(argc, argv, "t:w:r:S:K:")) != -1) {
		switch (ch) {
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 'r':
			rate = atoi(optarg);
			break;
		case 'S':
			server_file = optarg;
			break;
		case 'K':
			client_file = optarg;
			break;
		default:
			usage();
		}
	}
	if ((server_file == NULL) != (client_file == NULL))
		usage();
	if (server_file != NULL) {
		read_key(server_file, curve_server);
		read_key(client_file, curve_secret);
		if (zmq_curve_public(curve_public, curve_secret) == -1)
			die("%s: %s", client_file, zmq_strerror(errno));
		curve_on = true;
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || timeout_ms <= 0 || window <= 0 || rate < 0)
		usage();
	cmd = argv[0];
	ctx = zmq_ctx_new();
	if (ctx == NULL)
		die("zmq_ctx_new: %s", zmq_strerror(errno));
	if (strcmp(cmd, "push") == 0 && argc == 3)
		rc = cmd_push(ctx, argv[1], argv[2]);
	else if (strcmp(cmd, "pub") == 0 && argc == 4)
		rc = cmd_pub(ctx, argv[1], argv[2], argv[3]);
	else if (strcmp(cmd, "req") == 0 && argc == 4)
		rc = cmd_req(ctx, argv[1], argv[2], argv[3]);
	else if (strcmp(cmd, "msg") == 0 && argc >= 3)
		rc = cmd_msg(ctx, argv[1], argc - 2, argv + 2);
	else if (strcmp(cmd, "raw") == 0 && argc >= 3)
		rc = cmd_raw(ctx, argv[1], argc - 2, argv + 2);
	else if (strcmp(cmd, "drop") == 0 && argc >= 3)
		rc = cmd_drop(ctx, argv[1], argc - 2, argv + 2);
	else if (strcmp(cmd, "dealer") == 0 && argc == 4)
		rc = cmd_dealer(ctx, argv[1], argv[2], argv[3], window, rate);
	else
		usage();
	zmq_ctx_term(ctx);
	return rc;
}
