/*
 * The service: one thread running zmq_poll over the ingest sockets, the
 * control socket and a signalfd, with timers for the batch deadline, the
 * heartbeat, the watchdog and database reconnection.
 */
#ifndef HANDOFF_LOOP_H
#define HANDOFF_LOOP_H

#include "handoff/config.h"
#include "handoff/curve.h"

/*
 * Runs the daemon until SIGTERM/SIGINT. Takes ownership of cfg (a reload
 * replaces it) and of curve, the keys read from bus.curve (NULL without
 * it). Returns the process exit code (SPEC §8).
 */
int loop_run(const char *config_path, cfg_t *cfg, curve_server_t *curve);

#endif
