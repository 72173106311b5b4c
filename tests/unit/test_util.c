/* Tests of the string buffer (daemon/util.c) and the arena (daemon/arena.c). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/arena.h"
#include "handoff/util.h"
#include "testutil.h"

#if defined(HANDOFF_ASAN)
#include <sanitizer/asan_interface.h>
#endif

static void
test_sbuf_grows(void **state)
{
	sbuf_t b;
	char big[1000];

	(void)state;
	memset(big, 'x', sizeof(big));
	sbuf_init(&b);
	sbuf_adds(&b, "a");
	sbuf_add(&b, big, sizeof(big));
	sbuf_printf(&b, "%d", 42);
	sbuf_addc(&b, 'z');
	assert_int_equal(b.len, 1 + sizeof(big) + 2 + 1);
	assert_int_equal(b.s[0], 'a');
	assert_memory_equal(b.s + 1 + sizeof(big), "42z", 4);
	sbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.s, "");
	sbuf_free(&b);
}

/* A buffer that was freed or taken is empty and takes text again (it
 * used to loop for ever growing from a capacity of nothing). */
static void
test_sbuf_reuse(void **state)
{
	sbuf_t b;
	char *s;

	(void)state;
	sbuf_init(&b);
	sbuf_adds(&b, "first");
	s = sbuf_take(&b);
	assert_string_equal(s, "first");
	free(s);
	assert_int_equal(b.len, 0);
	sbuf_reset(&b);
	assert_non_null(b.s);
	assert_string_equal(b.s, "");
	sbuf_printf(&b, "%s-%d", "second", 2);
	assert_string_equal(b.s, "second-2");
	sbuf_free(&b);
	sbuf_adds(&b, "third");
	assert_string_equal(b.s, "third");
	sbuf_free(&b);
}

/* Whether p lies inside one of the n blocks of size sz at blk. */
static bool
inside(void *const *blk, size_t n, size_t sz, const void *p)
{
	uintptr_t q = (uintptr_t)p;

	for (size_t i = 0; i < n; i++)
		if (q >= (uintptr_t)blk[i] && q < (uintptr_t)blk[i] + sz)
			return true;
	return false;
}

/*
 * A reset arena hands out the memory of the last round again (the batch
 * arena's chunks), not new memory; blocks larger than a chunk are not
 * kept; what is handed out is usable and counted from zero.
 */
static void
test_arena_reuse(void **state)
{
	enum { CHUNK = 4096, N = 8 };
	arena_t *a = arena_new(CHUNK);
	void *first[N], *big;

	(void)state;
	/* Each allocation fills a chunk of its own. */
	for (size_t i = 0; i < N; i++) {
		first[i] = arena_alloc(a, CHUNK);
		memset(first[i], (int)i, CHUNK);
	}
	big = arena_alloc(a, 4 * CHUNK);
	memset(big, 0xff, 4 * CHUNK);
	assert_true(arena_used(a) >= (N + 4) * CHUNK);
	assert_int_equal(arena_held(a), (N + 4) * CHUNK);
	for (int round = 0; round < 3; round++) {
		arena_reset(a);
		assert_int_equal(arena_used(a), 0);
		/* The N chunks stay (one in use), the big block went. */
		assert_int_equal(arena_held(a), N * CHUNK);
#if defined(HANDOFF_ASAN)
		/* What the last round had is off limits until handed out. */
		assert_true(__asan_address_is_poisoned(first[0]));
		assert_true(__asan_address_is_poisoned(first[N - 1]));
#endif
		for (size_t i = 0; i < N; i++) {
			char *p = arena_alloc(a, CHUNK);

			if (!inside(first, N, CHUNK, p))
				fail_msg("round %d: block %zu is new memory",
				    round, i);
			memset(p, 'x', CHUNK);
		}
		assert_int_equal(arena_held(a), N * CHUNK);
	}
	/* More than was kept: a new chunk, still usable. */
	memset(arena_alloc(a, CHUNK), 'y', CHUNK);
	assert_int_equal(arena_held(a), (N + 1) * CHUNK);
	/* The 'y' chunk is full: one more. */
	assert_string_equal(arena_strndup(a, "lead", 4), "lead");
	assert_int_equal(arena_held(a), (N + 2) * CHUNK);
	/* A block bigger than a chunk does not take a kept chunk. */
	arena_reset(a);
	memset(arena_alloc(a, 2 * CHUNK), 'z', 2 * CHUNK);
	assert_int_equal(arena_held(a), (N + 2 + 2) * CHUNK);
	arena_reset(a);
	assert_int_equal(arena_held(a), (N + 2) * CHUNK);
	/* At most ARENA_SPARE_MAX (16) chunks are kept besides the first. */
	for (size_t i = 0; i < 40; i++)
		memset(arena_alloc(a, CHUNK), 'w', CHUNK);
	assert_int_equal(arena_held(a), 40 * CHUNK);
	arena_reset(a);
	assert_int_equal(arena_held(a), 17 * CHUNK);
	arena_destroy(&a);
	assert_null(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sbuf_grows),
		cmocka_unit_test(test_sbuf_reuse),
		cmocka_unit_test(test_arena_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
