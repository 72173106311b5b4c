/*
 * Fuzz target for the wire codec. The input is split at its first newline:
 * before it the topic frame, after it the body frame, so the fuzzer explores
 * both and the valid examples of proto/ make good seeds. Every decode must
 * either succeed with a consistent event or fail with a non-empty error;
 * a successful decode's event is then re-checked for obvious invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/arena.h"
#include "handoff/codec.h"

static codec_t *codec;
static arena_t *arena;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	const char *topic = (const char *)data, *body;
	size_t topic_len, body_len;
	char err[CODEC_ERRLEN];
	event_t ev;
	char *copy;

	if (codec == NULL) {
		codec = codec_new();
		arena = arena_new(1 << 16);
	}
	if (nl == NULL) {
		topic_len = 0;
		body = topic;
		body_len = size;
	} else {
		topic_len = (size_t)(nl - topic);
		body = nl + 1;
		body_len = size - topic_len - 1;
	}
	/* A heap copy of exactly body_len bytes, so ASan sees overreads. */
	copy = malloc(body_len ? body_len : 1);
	memcpy(copy, body, body_len);
	err[0] = '\0';
	if (codec_decode(codec, arena, topic, topic_len, copy, body_len, 65536,
	    &ev, err, sizeof(err)) == 0) {
		if (ev.id == NULL || ev.source == NULL || ev.type >= EV__COUNT)
			abort();
		if (strcmp(ev_type_name(ev.type), "") == 0)
			abort();
	} else if (err[0] == '\0') {
		abort();
	}
	free(copy);
	arena_reset(arena);
	return 0;
}
