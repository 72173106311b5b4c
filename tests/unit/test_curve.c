/*
 * CurveZMQ (SPEC §9): key files (daemon/curve.c) and the ZAP handler
 * (daemon/zap.c), against real ZeroMQ sockets in this process: a CURVE
 * server socket secured by the handler on tcp://127.0.0.1:*, and clients
 * with an allowed key, an unknown key and no CURVE at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "handoff/curve.h"
#include "handoff/zap.h"
#include "testutil.h"

/* The client key pair of zmq_curve(7)'s test vectors. */
#define TEST_PUBLIC "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define TEST_SECRET "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

/* How long a client may take to get an allowed message through. */
#define ALLOWED_WAIT_MS 10000
/* How long a refused client is watched for a message that must not come. */
#define REFUSED_WAIT_MS 1500

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/handoff-curve-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return xstrdup(d);
}

static void
rmtree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void
write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	free(path);
}

/* Parses text; on failure returns the reason (malloc'd), else NULL. */
static char *
parse(const char *text, curve_key_t *key)
{
	char *why = NULL;

	if (curve_parse_key(text, strlen(text), key, &why) == 0)
		return NULL;
	assert_non_null(why);
	return why;
}

static void
expect_parse_error(const char *text, const char *want)
{
	curve_key_t k;
	char *why = parse(text, &k);

	if (why == NULL)
		fail_msg("\"%s\" parsed as a key", text);
	if (strstr(why, want) == NULL)
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", text, why, want);
	free(why);
}

static void
test_parse_key(void **state)
{
	curve_key_t k;

	(void)state;
	assert_null(parse(TEST_PUBLIC, &k));
	assert_string_equal(k.z85, TEST_PUBLIC);
	/* White space and line breaks around the key do not matter. */
	assert_null(parse("  \t" TEST_PUBLIC "\r\n\n", &k));
	assert_string_equal(k.z85, TEST_PUBLIC);
	assert_null(parse("\n\n" TEST_SECRET, &k));
	assert_string_equal(k.z85, TEST_SECRET);

	expect_parse_error("", "empty");
	expect_parse_error(" \n\t\r\n", "empty");
	expect_parse_error("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI",
	    "found 39 characters");
	expect_parse_error(TEST_PUBLIC "x", "found 41 characters");
	expect_parse_error(TEST_PUBLIC "\n" TEST_SECRET, "more than one word");
	expect_parse_error("public-key = " TEST_PUBLIC, "more than one word");
	expect_parse_error("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI~",
	    "character 40 ('~') is not in the Z85 alphabet");
	expect_parse_error("\"ne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
	    "character 1 ('\"') is not in the Z85 alphabet");
	expect_parse_error("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{h\xc3\xa9",
	    "byte 0xc3");
	/* "#####" is 84 * (85^4 + ... + 1), more than 32 bits hold. */
	expect_parse_error("########################################",
	    "larger than 32 bits");
}

static void
test_read_files(void **state)
{
	char *dir = tmpdir(), *path, *err = NULL;
	curve_key_t sec, pub;

	(void)state;
	write_file(dir, "a.key", TEST_SECRET "\n", 0600);
	path = xasprintf("%s/a.key", dir);
	assert_int_equal(curve_read_secret(path, &sec, &pub, &err), 0);
	assert_string_equal(sec.z85, TEST_SECRET);
	/* The public key is computed from the secret one. */
	assert_string_equal(pub.z85, TEST_PUBLIC);

	/* Group-readable is fine (root:handoff 0640); world-readable not. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(curve_read_secret(path, &sec, &pub, &err), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(curve_read_secret(path, &sec, &pub, &err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "must not be open to every user"));
	free(err);
	err = NULL;
	free(path);

	/* A public key file may be world-readable, not world-writable. */
	write_file(dir, "a.pub", TEST_PUBLIC "\n", 0644);
	path = xasprintf("%s/a.pub", dir);
	assert_int_equal(curve_read_public(path, &pub, &err), 0);
	assert_string_equal(pub.z85, TEST_PUBLIC);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(curve_read_public(path, &pub, &err), -1);
	assert_non_null(strstr(err, "writable by every user"));
	free(err);
	err = NULL;
	free(path);

	/* Every error names the file. */
	write_file(dir, "short.pub", "abc\n", 0644);
	path = xasprintf("%s/short.pub", dir);
	assert_int_equal(curve_read_public(path, &pub, &err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "found 3 characters"));
	free(err);
	err = NULL;
	free(path);
	path = xasprintf("%s/missing.pub", dir);
	assert_int_equal(curve_read_public(path, &pub, &err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
	free(err);
	err = NULL;
	free(path);
	assert_int_equal(curve_read_public(dir, &pub, &err), -1);
	assert_non_null(strstr(err, "not a regular file"));
	free(err);

	rmtree(dir);
	free(dir);
}

static void
test_keygen(void **state)
{
	char *dir = tmpdir(), *kpath, *ppath, *err = NULL;
	curve_key_t pub, sec, pub2, derived;
	struct stat st;

	(void)state;
	assert_int_equal(curve_keygen(dir, "ana", &pub, &err), 0);
	kpath = xasprintf("%s/ana.key", dir);
	ppath = xasprintf("%s/ana.pub", dir);
	assert_int_equal(stat(kpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(curve_read_secret(kpath, &sec, &derived, &err), 0);
	assert_int_equal(curve_read_public(ppath, &pub2, &err), 0);
	assert_string_equal(pub2.z85, pub.z85);
	assert_string_equal(derived.z85, pub.z85);

	/* An existing pair is never overwritten, not even half. */
	assert_int_equal(curve_keygen(dir, "ana", &pub2, &err), -1);
	assert_non_null(strstr(err, "already exists"));
	free(err);
	err = NULL;
	assert_int_equal(curve_read_secret(kpath, &sec, &derived, &err), 0);
	assert_string_equal(derived.z85, pub.z85);
	assert_int_equal(unlink(ppath), 0);
	assert_int_equal(curve_keygen(dir, "ana", &pub2, &err), -1);
	assert_non_null(strstr(err, kpath));
	free(err);
	err = NULL;
	assert_int_equal(access(ppath, F_OK), -1);

	assert_int_equal(curve_keygen(dir, "../evil", &pub2, &err), -1);
	assert_non_null(strstr(err, "not a key name"));
	free(err);
	assert_false(curve_name_ok(""));
	assert_false(curve_name_ok(".hidden"));
	assert_false(curve_name_ok("a/b"));
	assert_true(curve_name_ok("crm-adapter_2.prod"));

	free(kpath);
	free(ppath);
	rmtree(dir);
	free(dir);
}

static void
count_warning(void *arg, const char *msg)
{
	(void)msg;
	(*(int *)arg)++;
}

static void
test_clients_dir(void **state)
{
	char *dir = tmpdir(), *err = NULL, *path;
	curve_clients_t *cl = NULL;
	uint8_t bin[CURVE_KEY_BIN];
	curve_key_t other, osec;
	int warnings = 0;

	(void)state;
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(zmq_curve_keypair(other.z85, osec.z85), 0);
	write_file(dir, "ana.pub", TEST_PUBLIC "\n", 0644);
	write_file(dir, "bo.pub", other.z85, 0644);
	write_file(dir, "README", "the allowed clients\n", 0644);
	write_file(dir, "cy.key", TEST_SECRET, 0600);
	write_file(dir, ".ana.pub.swp", "junk", 0644);
	assert_int_equal(curve_clients_load(dir, count_warning, &warnings,
	    &cl, &err), 0);
	assert_int_equal(curve_clients_count(cl), 2);
	/* README and cy.key are ignored with a warning; hidden files quietly. */
	assert_int_equal(warnings, 2);
	assert_non_null(zmq_z85_decode(bin, TEST_PUBLIC));
	assert_string_equal(curve_clients_find(cl, bin), "ana");
	assert_non_null(zmq_z85_decode(bin, other.z85));
	assert_string_equal(curve_clients_find(cl, bin), "bo");
	assert_non_null(zmq_z85_decode(bin, TEST_SECRET));
	assert_null(curve_clients_find(cl, bin));
	curve_clients_destroy(&cl);
	assert_null(cl);

	/* A malformed key file stops the load, named. */
	write_file(dir, "bad.pub", "not a key", 0644);
	assert_int_equal(curve_clients_load(dir, NULL, NULL, &cl, &err), -1);
	assert_null(cl);
	path = xasprintf("%s/bad.pub", dir);
	assert_non_null(strstr(err, path));
	free(path);
	free(err);
	err = NULL;

	/* So do two files with one key. */
	write_file(dir, "bad.pub", TEST_PUBLIC, 0644);
	assert_int_equal(curve_clients_load(dir, NULL, NULL, &cl, &err), -1);
	assert_non_null(strstr(err, "the same key as"));
	free(err);
	err = NULL;
	path = xasprintf("%s/bad.pub", dir);
	assert_int_equal(unlink(path), 0);
	free(path);

	/* Whoever may write the directory may let anyone in. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(curve_clients_load(dir, NULL, NULL, &cl, &err), -1);
	assert_non_null(strstr(err, "writable by every user"));
	free(err);
	err = NULL;
	assert_int_equal(chmod(dir, 0755), 0);

	path = xasprintf("%s/none", dir);
	assert_int_equal(curve_clients_load(path, NULL, NULL, &cl, &err), -1);
	assert_non_null(strstr(err, path));
	free(path);
	free(err);

	rmtree(dir);
	free(dir);
}

static void
test_secret_path(void **state)
{
	char *p;

	(void)state;
	assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
	p = curve_secret_path("curve.key");
	assert_string_equal(p, "curve.key");
	free(p);
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY",
	    "/run/credentials/handoffd.service", 1), 0);
	p = curve_secret_path("curve.key");
	assert_string_equal(p, "/run/credentials/handoffd.service/curve.key");
	free(p);
	p = curve_secret_path("/etc/handoff/curve/server.key");
	assert_string_equal(p, "/etc/handoff/curve/server.key");
	free(p);
	assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);

	assert_true(curve_endpoint_secured("tcp://127.0.0.1:5557"));
	assert_true(curve_endpoint_secured("tcp://[::1]:5557"));
	assert_false(curve_endpoint_secured("ipc:///run/handoff/control.sock"));
	assert_false(curve_endpoint_secured("inproc://x"));
}

/* A server's keys in a temporary directory, allowing the test client. */
static curve_server_t *
make_server(const char *dir, curve_key_t *server_pub)
{
	curve_server_t *s = xcalloc(1, sizeof(*s));
	char *err = NULL;

	assert_int_equal(zmq_curve_keypair(s->pub.z85, s->secret.z85), 0);
	*server_pub = s->pub;
	s->clients_dir = xasprintf("%s/clients", dir);
	assert_int_equal(mkdir(s->clients_dir, 0755), 0);
	write_file(s->clients_dir, "tester.pub", TEST_PUBLIC "\n", 0644);
	s->secret_path = xasprintf("%s/server.key", dir);
	if (curve_clients_load(s->clients_dir, NULL, NULL, &s->clients,
	    &err) == -1)
		fail_msg("%s", err);
	return s;
}

/* A DEALER connected to ep: CURVE client with the pair when pub != NULL. */
static void *
client(void *ctx, const char *ep, const curve_key_t *server,
    const char *pub, const char *sec)
{
	void *s = zmq_socket(ctx, ZMQ_DEALER);
	int zero = 0;

	assert_non_null(s);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	if (pub != NULL) {
		assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY,
		    server->z85, 40), 0);
		assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub,
		    40), 0);
		assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec,
		    40), 0);
	}
	assert_int_equal(zmq_connect(s, ep), 0);
	assert_int_equal(zmq_send(s, "hello", 5, ZMQ_DONTWAIT), 5);
	return s;
}

/* True when the router receives a message within ms. */
static bool
arrives(void *router, int ms)
{
	zmq_pollitem_t it = { router, 0, ZMQ_POLLIN, 0 };
	char buf[64];
	int more;
	size_t ml = sizeof(more);

	if (zmq_poll(&it, 1, ms) <= 0)
		return false;
	do {
		assert_true(zmq_recv(router, buf, sizeof(buf), 0) >= 0);
		assert_int_equal(zmq_getsockopt(router, ZMQ_RCVMORE, &more,
		    &ml), 0);
	} while (more);
	return true;
}

static void
wait_refused(zap_t *z, uint64_t n)
{
	int64_t until = mono_ms() + ALLOWED_WAIT_MS;
	zap_stats_t st;

	for (;;) {
		zap_stats(z, &st);
		if (st.refused >= n)
			return;
		if (mono_ms() > until)
			fail_msg("%llu refusals counted, want %llu",
			    (unsigned long long)st.refused,
			    (unsigned long long)n);
		sleep_ms(20);
	}
}

static void
test_zap_handler(void **state)
{
	char *dir = tmpdir(), *err = NULL, ep[256];
	void *ctx = zmq_ctx_new(), *router, *c;
	curve_server_t *server;
	curve_key_t spub, upub, usec;
	curve_clients_t *cl = NULL;
	size_t eplen = sizeof(ep);
	zap_stats_t st;
	zap_t *z;
	int zero = 0;

	(void)state;
	server = make_server(dir, &spub);
	z = zap_new(ctx, &server, &err);
	if (z == NULL)
		fail_msg("zap_new: %s", err);
	assert_null(server);
	assert_string_equal(zap_public_key(z), spub.z85);

	router = zmq_socket(ctx, ZMQ_ROUTER);
	zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zap_secure(z, router, "test.router", "test router",
	    &err), 0);
	assert_int_equal(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
	assert_int_equal(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen),
	    0);

	/* The allowed key gets through. */
	c = client(ctx, ep, &spub, TEST_PUBLIC, TEST_SECRET);
	assert_true(arrives(router, ALLOWED_WAIT_MS));
	zmq_close(c);
	zap_stats(z, &st);
	assert_int_equal(st.allowed, 1);
	assert_int_equal(st.clients, 1);

	/* An unknown key and a client without CURVE do not. */
	assert_int_equal(zmq_curve_keypair(upub.z85, usec.z85), 0);
	c = client(ctx, ep, &spub, upub.z85, usec.z85);
	wait_refused(z, 1);
	assert_false(arrives(router, REFUSED_WAIT_MS));
	zmq_close(c);
	zap_stats(z, &st);
	c = client(ctx, ep, NULL, NULL, NULL);
	wait_refused(z, st.refused + 1);
	assert_false(arrives(router, REFUSED_WAIT_MS));
	zmq_close(c);
	/* Nor a CURVE client that has the wrong server key. */
	zap_stats(z, &st);
	c = client(ctx, ep, &upub, TEST_PUBLIC, TEST_SECRET);
	wait_refused(z, st.refused + 1);
	assert_false(arrives(router, REFUSED_WAIT_MS));
	zmq_close(c);

	/* A new set of keys, as on SIGHUP, lets the unknown key in. */
	write_file(zap_clients_dir(z), "new.pub", upub.z85, 0644);
	assert_int_equal(zap_load_clients(z, &cl, &err), 0);
	zap_set_clients(z, &cl);
	assert_null(cl);
	c = client(ctx, ep, &spub, upub.z85, usec.z85);
	assert_true(arrives(router, ALLOWED_WAIT_MS));
	zmq_close(c);
	zap_stats(z, &st);
	assert_int_equal(st.clients, 2);

	zmq_close(router);
	zap_destroy(&z);
	assert_null(z);
	assert_int_equal(zmq_ctx_term(ctx), 0);
	rmtree(dir);
	free(dir);
}

/* The daemon refuses to start without its handler: zap_new says why. */
static void
test_zap_endpoint_taken(void **state)
{
	char *dir = tmpdir(), *err = NULL;
	void *ctx = zmq_ctx_new(), *other = zmq_socket(ctx, ZMQ_REP);
	curve_server_t *server;
	curve_key_t spub;
	zap_t *z;
	int zero = 0;

	(void)state;
	zmq_setsockopt(other, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zmq_bind(other, ZAP_ENDPOINT), 0);
	server = make_server(dir, &spub);
	z = zap_new(ctx, &server, &err);
	assert_null(z);
	assert_non_null(err);
	assert_non_null(strstr(err, "cannot bind " ZAP_ENDPOINT));
	assert_non_null(strstr(err, "another ZAP handler"));
	free(err);
	/* Still the caller's on failure. */
	assert_non_null(server);
	curve_server_destroy(&server);
	zmq_close(other);
	assert_int_equal(zmq_ctx_term(ctx), 0);
	rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_key),
		cmocka_unit_test(test_read_files),
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_clients_dir),
		cmocka_unit_test(test_secret_path),
		cmocka_unit_test(test_zap_handler),
		cmocka_unit_test(test_zap_endpoint_taken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
