/*
 * The client side of handoffd's ZeroMQ protocol (SPEC §2), used by
 * handoffctl and by the tests:
 *   - requests to the control endpoint (SPEC §2.5), sent from a DEALER
 *     socket with the REQ envelope (an empty delimiter frame), so the daemon
 *     sees exactly what a REQ client would send;
 *   - at-least-once publishing of a JSON-lines file of events through the
 *     acknowledged `router` ingest endpoint (SPEC §2.4), after the Lazy
 *     Pirate pattern: a window of messages in flight, resent after a
 *     timeout, the socket reopened after several timeouts in a row;
 *   - a subscriber to the publish endpoint that notices gaps in `seq` (from
 *     the messages and from the heartbeats) and fills them with a replay
 *     (SPEC §2.3).
 *
 * Every function that can fail returns 0 or -1 and, on failure, sets *err
 * to a malloc'd message without a trailing newline that names the endpoint,
 * file or line concerned; the caller frees it.
 */
#ifndef HANDOFF_CLIENT_H
#define HANDOFF_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/curve.h"
#include "handoff/util.h"

#define CLIENT_CONTROL_TIMEOUT_MS 5000
#define CLIENT_SEND_TIMEOUT_MS 2000
#define CLIENT_SEND_WINDOW 1000
#define CLIENT_SEND_REOPEN_AFTER 3
/* The replay page size asked for; the daemon's own default (SPEC §2.5). */
#define CLIENT_REPLAY_PAGE 1000

/* A warning that does not stop the operation (a malformed reply, a gap
 * that could not be filled); msg has no trailing newline. */
typedef void (*client_warn_fn)(void *arg, const char *msg);

/*
 * A delivered outbound message: its topic, its body exactly as published
 * (not NUL-terminated in general: use len) and its seq.
 */
typedef void (*client_msg_fn)(void *arg, const char *topic, const char *body,
    size_t len, uint64_t seq);

/*
 * CurveZMQ (SPEC §9): from this call on, every socket the functions below
 * open to an endpoint other than ipc:// and inproc:// is a CURVE client
 * that expects the server's public key and authenticates with the pair
 * (pub, secret). NULL server turns it off. It is a setting of the process,
 * made once before any other call (not thread-safe).
 */
void client_set_curve(const curve_key_t *server, const curve_key_t *pub,
    const curve_key_t *secret);

/*
 * The endpoint a client connects to for one the daemon binds, as written in
 * the configuration: a tcp endpoint on the wildcard host ("*" or 0.0.0.0)
 * is reached on 127.0.0.1, one on [::] on [::1]. Other endpoints are
 * returned unchanged. The result is malloc'd.
 */
char *client_connect_endpoint(const char *bound);

/* One reply of the control endpoint: its frames, each NUL-terminated. */
typedef struct {
	char **frame;
	size_t *len;
	size_t nframes;
} client_reply_t;

/*
 * Sends command (frame 0) and, unless args is NULL, args (frame 1, a JSON
 * object) to the control endpoint and waits up to timeout_ms for the reply.
 * A reply that is an {"error": ...} object is still a reply: see
 * client_reply_error. On timeout the error reads
 * "no reply from ENDPOINT within N s".
 */
int client_control(const char *endpoint, const char *command,
    const char *args, int timeout_ms, client_reply_t *reply,
    char **err) MUSTCHECK;
void client_reply_free(client_reply_t *reply);

/* The message of an {"error": "..."} frame (malloc'd), else NULL. */
char *client_reply_error(const char *frame, size_t len);

/* Arguments of the `lead` command: {"email"} when key_or_email contains an
 * '@', else {"lead_key"}; and {"source", "id"}. NULL when an argument is not
 * valid UTF-8. Malloc'd. */
char *client_lead_args(const char *key_or_email);
char *client_lead_args_source(const char *source, const char *id);

typedef struct {
	uint64_t count;    /* messages delivered */
	uint64_t last_seq; /* the last end frame's last_seq */
} client_replay_end_t;

/*
 * Asks for the outbound messages with seq > since and hands each to fn,
 * oldest first: at most limit of them (0: all there are), asked for in
 * pages of CLIENT_REPLAY_PAGE. Each page waits up to timeout_ms.
 */
int client_replay(const char *endpoint, uint64_t since, uint64_t limit,
    int timeout_ms, client_msg_fn fn, void *arg, client_replay_end_t *end,
    char **err) MUSTCHECK;

typedef struct {
	int timeout_ms;      /* resend what got no reply after this long */
	int window;          /* messages in flight at most */
	int max_tries;       /* sends of one message before giving up; 0: no limit */
	int reopen_after;    /* timeouts in a row before reopening the socket */
	int64_t max_message_bytes; /* larger lines are invalid; 0: no check */
	client_warn_fn warn; /* may be NULL */
	void *warn_arg;
} client_send_opts_t;

void client_send_opts_init(client_send_opts_t *opts);

/* A line that was rejected by the daemon or found invalid before sending. */
typedef struct {
	uint64_t line;
	char *source; /* NULL when the line had none */
	char *id;
	char *error;
	bool invalid; /* not sent: not a JSON object, or no source, id, type */
} client_problem_t;

typedef struct {
	uint64_t accepted, duplicate, rejected, invalid;
	uint64_t resent;     /* sends again: timed out, reopened */
	uint64_t reopened;   /* times the socket was closed and reopened */
	client_problem_t *problems; /* sorted by line */
	size_t nproblems;
} client_send_result_t;

/*
 * Sends every event of the JSON-lines file path ("-": standard input) to
 * the router endpoint, two frames each (topic = the line's `type`, body =
 * the line), and waits until each has an answer, resending as needed.
 * Blank lines are skipped. Two lines with the same (source, id) are sent one
 * after the other, so that each answer belongs to one line. Returns 0 once
 * every line is answered or found invalid (rejections and invalid lines are
 * in *res, not failures); -1 when the file cannot be read, the endpoint is
 * unusable or a message reached opts->max_tries. *res is filled in either
 * case and must be released with client_send_result_free.
 */
int client_send_file(const char *endpoint, const char *path,
    const client_send_opts_t *opts, client_send_result_t *res,
    char **err) MUSTCHECK;
void client_send_result_free(client_send_result_t *res);

/* client_lines_t.next has no line yet: try again after *wait_ms. */
#define CLIENT_LINE_LATER 2

/*
 * Where client_send_lines takes its events from. next returns 1 with the
 * next line in *line (malloc'd, the sender frees it) and its length in
 * *len; 0 at the end; CLIENT_LINE_LATER with *wait_ms when the next line
 * is not due yet (the sender keeps handling replies and resends in the
 * meantime, then asks again); -1 with *err on failure. Lines are numbered
 * from 1 in the order next returns them, as the lines of a file; name
 * stands for the source in messages.
 */
typedef struct {
	int (*next)(void *arg, char **line, size_t *len, int *wait_ms,
	    char **err);
	void *arg;
	const char *name;
} client_lines_t;

/* client_send_file's sender, with the lines taken from src. */
int client_send_lines(const char *endpoint, const client_lines_t *src,
    const client_send_opts_t *opts, client_send_result_t *res,
    char **err) MUSTCHECK;

/*
 * A published message (SPEC §2.3) as one line for people, malloc'd, no
 * newline: its seq, its type, and the fields that matter for it (lead,
 * owner/team, clock and cycle, due and stop times as "Mon 23 Nov 13:00Z",
 * durations as "2h05m"). A type this program does not know is shown as
 * its JSON after the seq.
 */
char *client_brief(const char *body, size_t len);

typedef struct {
	const char *publish;  /* the SUB socket connects here */
	const char *control;  /* replays are asked here; NULL: no gap filling */
	const char *prefix;   /* topics delivered; "" or NULL: all */
	bool heartbeats;      /* deliver bus.heartbeat too */
	bool has_since;       /* replay from since first */
	uint64_t since;
	uint64_t count;       /* return after this many deliveries; 0: never */
	int timeout_ms;       /* for each replay request */
	int idle_ms;          /* fail when nothing arrives for this long; 0: never */
	volatile sig_atomic_t *stop; /* return 0 once this becomes nonzero */
	client_warn_fn warn;  /* may be NULL */
	void *warn_arg;
} client_tail_opts_t;

void client_tail_opts_init(client_tail_opts_t *opts);

/*
 * Subscribes to the publish endpoint and hands fn every message whose topic
 * starts with the prefix, in seq order, each once. Without has_since it
 * starts with the first message (or heartbeat) that arrives; a message whose
 * seq is more than one past the last one seen, or a heartbeat whose seq is
 * past it, makes it replay what was missed from the control endpoint first.
 * Returns 0 after count deliveries or once *stop is set.
 */
int client_tail(const client_tail_opts_t *opts, client_msg_fn fn, void *arg,
    char **err) MUSTCHECK;

#endif
