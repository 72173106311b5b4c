/* Tests of the string buffer (daemon/util.c). */
#include <stdlib.h>
#include <string.h>

#include "handoff/util.h"
#include "testutil.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sbuf_grows),
		cmocka_unit_test(test_sbuf_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
