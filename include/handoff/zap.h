/*
 * CurveZMQ on the daemon's sockets (SPEC §9): the ZAP handler (ZeroMQ RFC
 * 27) that decides which clients may connect, and the options that make a
 * socket a CURVE server authenticated by it.
 *
 * The handler is a REP socket bound to inproc://zeromq.zap.01 in the
 * daemon's ZeroMQ context, served by a thread of its own. It allows a
 * CURVE client whose public key is one of bus.curve.clients_dir and refuses
 * everything else with status 400. Refusals are logged as warnings, each
 * distinct one (socket, peer address, mechanism, key) once an hour and at
 * most 20 lines a minute in all; what is left out is counted and summed up
 * every 10 minutes. Handshakes that never reach the handler (a client
 * without CURVE, a client with the wrong server key) are seen through a
 * socket monitor and logged the same way.
 *
 * Order matters: the handler must run before any secured socket binds or
 * connects (libzmq lets every client in while no handler is bound, unless
 * ZMQ_ZAP_ENFORCE_DOMAIN is set, which zap_secure sets too), and it must
 * stop only after every secured socket was closed.
 */
#ifndef HANDOFF_ZAP_H
#define HANDOFF_ZAP_H

#include <stdint.h>

#include "handoff/curve.h"
#include "handoff/util.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct zap zap_t;

/*
 * Binds the handler in zctx and starts its thread. Takes *server (and sets
 * it to NULL) on success only. Returns NULL with *err (malloc'd) when the
 * endpoint is already bound or the thread cannot start.
 */
zap_t *zap_new(void *zctx, curve_server_t **server, char **err);

/* Stops the thread; call after closing every socket given to zap_secure. */
void zap_destroy(zap_t **z);

/*
 * Makes sock, before it binds or connects, a CURVE server with the
 * daemon's secret key, authenticated by this handler in ZAP domain
 * `domain` (unique per socket), and watched for failed handshakes. `what`
 * names the socket in log lines ("ingest router"), followed by its
 * endpoint.
 */
int zap_secure(zap_t *z, void *sock, const char *domain, const char *what,
    char **err) MUSTCHECK;

/* The daemon's public key (Z85), for the log and for clients. */
const char *zap_public_key(const zap_t *z);
const char *zap_clients_dir(const zap_t *z);

/*
 * Reload (SIGHUP): zap_load_clients reads the clients directory again
 * without touching the running set; zap_set_clients hands a set to the
 * handler thread, which uses it for every handshake from then on (and
 * frees the old one). Connections made before stay.
 */
int zap_load_clients(const zap_t *z, curve_clients_t **out, char **err)
    MUSTCHECK;
void zap_set_clients(zap_t *z, curve_clients_t **clients);

/* Figures since start: handshakes allowed and refused, allowed keys. */
typedef struct {
	uint64_t allowed;
	uint64_t refused;
	uint64_t clients;
} zap_stats_t;

void zap_stats(const zap_t *z, zap_stats_t *out);

#endif
