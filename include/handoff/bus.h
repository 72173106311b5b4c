/*
 * The ZeroMQ side of the daemon: the ingest sockets (sub, pull, router),
 * the publish socket and the control socket, created from the
 * configuration. This module moves frames; it knows nothing of their
 * meaning beyond the framing rules of SPEC §2 and §2.4.
 */
#ifndef HANDOFF_BUS_H
#define HANDOFF_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include "handoff/arena.h"
#include "handoff/config.h"
#include "handoff/util.h"
#include "handoff/zap.h"

typedef struct bus bus_t;

typedef struct {
	const char *data;
	size_t len;
} bus_frame_t;

/*
 * One message read from an ingest socket. Frames are copied into the arena
 * given to bus_recv. For a router endpoint, env is the routing envelope to
 * reply to: the peer's identity and, when the message has an empty
 * delimiter frame, every frame before it (ZeroMQ's envelope convention: a
 * REQ client, a client behind a proxy, or a DEALER that tags its requests
 * with frames of its own gets them back on the reply).
 */
typedef struct {
	int ingest;          /* index into cfg->ingest */
	size_t nframes;      /* payload frames (2 when well-formed) */
	const char *topic;   /* frame 0, NUL-terminated copy */
	size_t topic_len;
	const char *body;    /* frame 1 (NUL-terminated copy) */
	size_t body_len;
	const bus_frame_t *env; /* router: envelope frames, else NULL */
	size_t nenv;
	bool delim;          /* router: the envelope ended in an empty frame */
} bus_msg_t;

/*
 * Creates and binds/connects every socket of cfg. With zap (bus.curve is
 * set; the handler already runs), every socket on an endpoint other than
 * ipc:// and inproc:// is a CURVE server authenticated by it. Returns NULL
 * after logging which endpoint failed and why.
 */
bus_t *bus_new(void *zctx, const cfg_t *cfg, zap_t *zap);
void bus_destroy(bus_t **b);

size_t bus_ningest(const bus_t *b);
cfg_ingest_kind_t bus_ingest_kind(const bus_t *b, size_t i);
/* The socket of ingest endpoint i, the publisher and the control socket. */
void *bus_ingest_socket(const bus_t *b, size_t i);
void *bus_control_socket(const bus_t *b);
/* The endpoint actually bound (with the port chosen for tcp://...:*). */
const char *bus_ingest_endpoint(const bus_t *b, size_t i);
const char *bus_publish_endpoint(const bus_t *b);
const char *bus_control_endpoint(const bus_t *b);

/*
 * Reads one message from ingest socket i without blocking. Returns 1 and
 * *m, 0 when none is waiting, -1 on a socket error (logged).
 */
int bus_recv(bus_t *b, size_t i, arena_t *a, bus_msg_t *m) MUSTCHECK;

/* Replies one frame to a router client; a gone peer is not an error. */
void bus_reply(bus_t *b, size_t i, const bus_frame_t *env, size_t nenv,
    bool delim, const char *body, size_t len);

/* Publishes one two-frame message. Returns 0 or -1 (logged). */
int bus_publish(bus_t *b, const char *topic, const char *body, size_t len)
    MUSTCHECK;

/*
 * Control socket: reads one request (frame 0 command, optional frame 1
 * arguments). Returns 1 with the request, 0 when none, -1 on error.
 */
typedef struct {
	const bus_frame_t *env;
	size_t nenv;
	bool delim;
	const char *command;
	size_t command_len;
	const char *args; /* NULL when absent */
	size_t args_len;
	size_t nframes;
} bus_ctl_req_t;

int bus_ctl_recv(bus_t *b, arena_t *a, bus_ctl_req_t *r) MUSTCHECK;
/* Sends a reply of n frames to the requester (the last without SNDMORE). */
void bus_ctl_reply(bus_t *b, const bus_ctl_req_t *r, const char *const *frames,
    const size_t *lens, size_t n);

#endif
