/*
 * CurveZMQ key files: reading and checking them, writing new pairs, and
 * the set of client keys the daemon allows. Keys are checked here, once,
 * with messages that name the file, so that libzmq never sees a key it
 * would refuse with a bare EINVAL.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "handoff/curve.h"

/* A key file is a key and a little white space; anything longer is not one. */
#define KEY_FILE_MAX 4096
#define NAME_MAX_LEN 64

static const char z85_alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ".-:+=^!/*?&<>()[]{}@%$#";

struct client {
	uint8_t key[CURVE_KEY_BIN];
	char *name;
};

struct curve_clients {
	struct client *c; /* sorted by key */
	size_t n;
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
curve_parse_key(const char *text, size_t len, curve_key_t *key, char **why)
{
	size_t b = 0, e = len, n;
	uint8_t bin[CURVE_KEY_BIN];

	while (b < e && is_space(text[b]))
		b++;
	while (e > b && is_space(text[e - 1]))
		e--;
	if (b == e) {
		*why = xstrdup("empty: expected a 40-character Z85 key");
		return -1;
	}
	for (n = b; n < e && !is_space(text[n]); n++)
		;
	if (n < e) {
		*why = xstrdup("more than one word: expected one 40-character "
		    "Z85 key and nothing else");
		return -1;
	}
	if (e - b != CURVE_KEY_Z85) {
		*why = xasprintf("expected a 40-character Z85 key, found %zu "
		    "characters", e - b);
		return -1;
	}
	for (size_t i = b; i < e; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\0' || strchr(z85_alphabet, c) == NULL) {
			if (c >= 0x21 && c < 0x7f)
				*why = xasprintf("character %zu ('%c') is not "
				    "in the Z85 alphabet", i - b + 1, c);
			else
				*why = xasprintf("character %zu (byte 0x%02x) "
				    "is not in the Z85 alphabet", i - b + 1, c);
			return -1;
		}
	}
	memcpy(key->z85, text + b, CURVE_KEY_Z85);
	key->z85[CURVE_KEY_Z85] = '\0';
	/* Five characters make 32 bits; some groups overflow them. */
	if (zmq_z85_decode(bin, key->z85) == NULL) {
		*why = xstrdup("not a valid Z85 key (a group of five characters "
		    "is larger than 32 bits)");
		memset(key, 0, sizeof(*key));
		return -1;
	}
	explicit_bzero(bin, sizeof(bin));
	return 0;
}

/*
 * Reads a key file into *key. With secret, the file must not be open to
 * every user. The read buffer is wiped, so a secret lives only in *key.
 */
static int
read_key_file(const char *path, bool secret, curve_key_t *key, char **err)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t got;
	size_t len = 0;
	char *why = NULL;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		*err = xasprintf("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = xasprintf("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (secret && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		*err = xasprintf("%s: a secret key must not be open to every "
		    "user (mode %04o); chmod o-rwx %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	if (!secret && (st.st_mode & S_IWOTH) != 0) {
		*err = xasprintf("%s: writable by every user (mode %04o); "
		    "chmod o-w %s", path, (unsigned)(st.st_mode & 07777),
		    path);
		close(fd);
		return -1;
	}
	while (len <= KEY_FILE_MAX &&
	    (got = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (got == -1) {
			if (errno == EINTR)
				continue;
			*err = xasprintf("%s: cannot read: %s", path,
			    strerror(errno));
			explicit_bzero(buf, sizeof(buf));
			close(fd);
			return -1;
		}
		len += (size_t)got;
	}
	close(fd);
	if (len > KEY_FILE_MAX) {
		*err = xasprintf("%s: too large for a key file (more than %d "
		    "bytes)", path, KEY_FILE_MAX);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	rc = curve_parse_key(buf, len, key, &why);
	explicit_bzero(buf, sizeof(buf));
	if (rc == -1) {
		*err = xasprintf("%s: %s", path, why);
		free(why);
	}
	return rc;
}

int
curve_read_public(const char *path, curve_key_t *pub, char **err)
{
	return read_key_file(path, false, pub, err);
}

int
curve_read_secret(const char *path, curve_key_t *secret, curve_key_t *pub,
    char **err)
{
	if (read_key_file(path, true, secret, err) == -1)
		return -1;
	if (zmq_curve_public(pub->z85, secret->z85) == -1) {
		*err = xasprintf("%s: cannot compute the public key: %s", path,
		    zmq_strerror(zmq_errno()));
		explicit_bzero(secret, sizeof(*secret));
		return -1;
	}
	return 0;
}

bool
curve_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Writes all of s and a newline to a new file; -1 with *err on failure. */
static int
write_new(const char *path, mode_t mode, const char *s, char **err)
{
	size_t len = strlen(s), off = 0;
	char line[CURVE_KEY_Z85 + 2];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd == -1) {
		*err = xasprintf("%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	memcpy(line, s, len);
	line[len++] = '\n';
	while (off < len) {
		ssize_t w = write(fd, line + off, len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			*err = xasprintf("%s: cannot write: %s", path,
			    strerror(errno));
			explicit_bzero(line, sizeof(line));
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)w;
	}
	explicit_bzero(line, sizeof(line));
	if (fsync(fd) == -1 || close(fd) == -1) {
		*err = xasprintf("%s: cannot write: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int
curve_keygen(const char *dir, const char *name, curve_key_t *pub, char **err)
{
	curve_key_t sec;
	char *kpath, *ppath;
	int rc = -1;

	if (!curve_name_ok(name)) {
		*err = xasprintf("'%s' is not a key name: 1 to %d letters, "
		    "digits, '.', '_' or '-', not starting with '.'", name,
		    NAME_MAX_LEN);
		return -1;
	}
	if (zmq_curve_keypair(pub->z85, sec.z85) == -1) {
		*err = xasprintf("cannot make a key pair: %s",
		    zmq_strerror(zmq_errno()));
		return -1;
	}
	kpath = xasprintf("%s/%s.key", dir, name);
	ppath = xasprintf("%s/%s.pub", dir, name);
	/* Neither file is overwritten: an existing pair may be in use. */
	if (access(ppath, F_OK) == 0) {
		*err = xasprintf("%s: already exists; not overwritten", ppath);
	} else if (write_new(kpath, 0600, sec.z85, err) == 0) {
		if (write_new(ppath, 0644, pub->z85, err) == 0)
			rc = 0;
		else
			unlink(kpath);
	}
	explicit_bzero(&sec, sizeof(sec));
	free(kpath);
	free(ppath);
	return rc;
}

static int
client_cmp(const void *a, const void *b)
{
	return memcmp(((const struct client *)a)->key,
	    ((const struct client *)b)->key, CURVE_KEY_BIN);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static void
warnf(curve_warn_fn warn, void *arg, const char *fmt, ...) PRINTFLIKE(3, 4);

static void
warnf(curve_warn_fn warn, void *arg, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	if (warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(arg, msg);
}

/* The sorted names of the entries of dir, hidden ones left out. */
static int
list_dir(const char *dir, char ***names, size_t *n, char **err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (d == NULL) {
		*err = xasprintf("%s: cannot open the directory: %s", dir,
		    strerror(errno));
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*names = xreallocarray(*names, cap, sizeof(char *));
		}
		(*names)[(*n)++] = xstrdup(de->d_name);
		errno = 0;
	}
	if (errno != 0) {
		*err = xasprintf("%s: cannot read the directory: %s", dir,
		    strerror(errno));
		closedir(d);
		for (size_t i = 0; i < *n; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		*n = 0;
		return -1;
	}
	closedir(d);
	if (*n > 0)
		qsort(*names, *n, sizeof(char *), name_cmp);
	return 0;
}

int
curve_clients_load(const char *dir, curve_warn_fn warn, void *arg,
    curve_clients_t **out, char **err)
{
	curve_clients_t *cl = xcalloc(1, sizeof(*cl));
	char **names = NULL;
	size_t nnames = 0;
	struct stat st;
	int rc = -1;

	*out = NULL;
	if (stat(dir, &st) == -1) {
		*err = xasprintf("%s: %s", dir, strerror(errno));
		goto done;
	}
	if (!S_ISDIR(st.st_mode)) {
		*err = xasprintf("%s: not a directory", dir);
		goto done;
	}
	/* Whoever can add a file here can let any client in. */
	if ((st.st_mode & S_IWOTH) != 0) {
		*err = xasprintf("%s: writable by every user (mode %04o); "
		    "chmod o-w %s", dir, (unsigned)(st.st_mode & 07777), dir);
		goto done;
	}
	if (list_dir(dir, &names, &nnames, err) == -1)
		goto done;
	cl->c = xcalloc(nnames, sizeof(*cl->c));
	for (size_t i = 0; i < nnames; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		curve_key_t pub;

		if (!ends_with(names[i], ".pub")) {
			if (ends_with(names[i], ".key"))
				warnf(warn, arg, "%s: ignored: a secret key "
				    "file; the clients directory holds public "
				    "keys (NAME.pub) only", path);
			else
				warnf(warn, arg, "%s: ignored: not a public "
				    "key file (NAME.pub)", path);
			free(path);
			continue;
		}
		if (curve_read_public(path, &pub, err) == -1) {
			free(path);
			goto done;
		}
		free(path);
		/* The key was checked: decoding cannot fail. */
		if (zmq_z85_decode(cl->c[cl->n].key, pub.z85) == NULL)
			abort();
		cl->c[cl->n].name = xstrndup(names[i], strlen(names[i]) - 4);
		cl->n++;
	}
	qsort(cl->c, cl->n, sizeof(*cl->c), client_cmp);
	for (size_t i = 1; i < cl->n; i++)
		if (memcmp(cl->c[i - 1].key, cl->c[i].key, CURVE_KEY_BIN) ==
		    0) {
			*err = xasprintf("%s/%s.pub: the same key as %s/%s.pub",
			    dir, cl->c[i].name, dir, cl->c[i - 1].name);
			goto done;
		}
	*out = cl;
	cl = NULL;
	rc = 0;
done:
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	curve_clients_destroy(&cl);
	return rc;
}

void
curve_clients_destroy(curve_clients_t **clp)
{
	curve_clients_t *cl;

	if (clp == NULL || *clp == NULL)
		return;
	cl = *clp;
	for (size_t i = 0; i < cl->n; i++)
		free(cl->c[i].name);
	free(cl->c);
	free(cl);
	*clp = NULL;
}

size_t
curve_clients_count(const curve_clients_t *cl)
{
	return cl != NULL ? cl->n : 0;
}

const char *
curve_clients_find(const curve_clients_t *cl, const uint8_t key[CURVE_KEY_BIN])
{
	struct client k;
	const struct client *hit;

	if (cl == NULL || cl->n == 0)
		return NULL;
	memcpy(k.key, key, CURVE_KEY_BIN);
	hit = bsearch(&k, cl->c, cl->n, sizeof(*cl->c), client_cmp);
	return hit != NULL ? hit->name : NULL;
}

bool
curve_endpoint_secured(const char *ep)
{
	return strncmp(ep, "ipc://", 6) != 0 && strncmp(ep, "inproc://", 9) != 0;
}

/* Transports without a ZMTP handshake, so without CurveZMQ. */
static bool
no_handshake(const char *ep)
{
	static const char *const t[] = { "pgm://", "epgm://", "norm://",
		"udp://" };

	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		if (strncmp(ep, t[i], strlen(t[i])) == 0)
			return true;
	return false;
}

char *
curve_secret_path(const char *configured)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");

	if (configured[0] != '/' && creds != NULL && creds[0] != '\0')
		return xasprintf("%s/%s", creds, configured);
	return xstrdup(configured);
}

static int
check_endpoint(const char *setting, const char *ep, char **err)
{
	if (!no_handshake(ep))
		return 0;
	*err = xasprintf("%s: \"%s\": this transport has no handshake, so "
	    "bus.curve cannot protect it; use tcp:// (or ipc:// on this "
	    "machine)", setting, ep);
	return -1;
}

int
curve_server_load(const cfg_t *cfg, bool skip_secret, curve_warn_fn warn,
    void *arg, curve_server_t **out, char **err)
{
	curve_server_t *s;

	*out = NULL;
	for (size_t i = 0; i < cfg->ningest; i++) {
		char setting[64];

		snprintf(setting, sizeof(setting), "bus.ingest[%zu].endpoint", i);
		if (check_endpoint(setting, cfg->ingest[i].endpoint, err) == -1)
			return -1;
	}
	if (check_endpoint("bus.publish", cfg->publish, err) == -1 ||
	    (cfg->control != NULL &&
	    check_endpoint("bus.control", cfg->control, err) == -1))
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->secret_path = curve_secret_path(cfg->curve_secret_key_file);
	s->clients_dir = xstrdup(cfg->curve_clients_dir);
	if (!skip_secret && curve_read_secret(s->secret_path, &s->secret,
	    &s->pub, err) == -1) {
		char *e = *err;

		*err = xasprintf("bus.curve.secret_key_file: %s", e);
		free(e);
		curve_server_destroy(&s);
		return -1;
	}
	if (curve_clients_load(s->clients_dir, warn, arg, &s->clients,
	    err) == -1) {
		char *e = *err;

		*err = xasprintf("bus.curve.clients_dir: %s", e);
		free(e);
		curve_server_destroy(&s);
		return -1;
	}
	*out = s;
	return 0;
}

void
curve_server_destroy(curve_server_t **sp)
{
	curve_server_t *s;

	if (sp == NULL || *sp == NULL)
		return;
	s = *sp;
	explicit_bzero(&s->secret, sizeof(s->secret));
	free(s->secret_path);
	free(s->clients_dir);
	curve_clients_destroy(&s->clients);
	free(s);
	*sp = NULL;
}
