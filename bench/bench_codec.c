/*
 * Decode benchmark: makes a realistic mix of N inbound messages in memory
 * (bench/mix.h), then decodes them all on one core with the daemon's codec,
 * as the ingest path does (arena reset per batch of 1000). Reports
 * messages/s and MB/s; fails if any message of the mix does not decode.
 *
 *   bench_codec [N]      (default 1000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handoff/arena.h"
#include "handoff/codec.h"
#include "handoff/util.h"
#include "mix.h"

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	char **topics = xcalloc(n, sizeof(char *)), **bodies = xcalloc(n,
	    sizeof(char *));
	size_t *lens = xcalloc(n, sizeof(size_t)), bytes = 0;
	codec_t *c = codec_new();
	arena_t *a = arena_new(1 << 20);
	char topic[64], body[2048], err[CODEC_ERRLEN];
	double best = 0;
	mix_t m;

	mix_init(&m, 42, 200000);
	for (size_t i = 0; i < n; i++) {
		lens[i] = mix_next(&m, topic, sizeof(topic), body, sizeof(body));
		topics[i] = xstrdup(topic);
		bodies[i] = xstrndup(body, lens[i]);
		bytes += lens[i];
	}
	/* Three runs; the best is the codec's speed without scheduler noise. */
	for (int run = 0; run < 3; run++) {
		double t0 = now(), dt;

		for (size_t i = 0; i < n; i++) {
			event_t ev;

			if (codec_decode(c, a, topics[i], strlen(topics[i]),
			    bodies[i], lens[i], 65536, &ev, err, sizeof(err)) != 0) {
				fprintf(stderr, "message %zu (%s) rejected: %s\n%s\n",
				    i, topics[i], err, bodies[i]);
				return 1;
			}
			if (i % 1000 == 999)
				arena_reset(a);
		}
		dt = now() - t0;
		printf("run %d: %zu messages in %.3f s: %.0f messages/s, %.1f MB/s "
		    "(mean %zu bytes)\n", run + 1, n, dt, (double)n / dt,
		    (double)bytes / dt / 1e6, bytes / n);
		if ((double)n / dt > best)
			best = (double)n / dt;
	}
	printf("best: %.0f messages/s\n", best);
	for (size_t i = 0; i < n; i++) {
		free(topics[i]);
		free(bodies[i]);
	}
	free(topics);
	free(bodies);
	free(lens);
	codec_destroy(&c);
	arena_destroy(&a);
	return 0;
}
