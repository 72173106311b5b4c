/*
 * CurveZMQ key files (SPEC §9), shared by handoffd and handoffctl.
 *
 * A key file holds one key in ZeroMQ's Z85 text form: 40 characters of the
 * Z85 alphabet, the way zmq_curve_keypair() writes them. White space and
 * line breaks around the key are ignored; anything else is an error. A
 * secret key file (NAME.key) holds the secret key only, its public key is
 * computed from it; it must not be readable or writable by every user. A
 * public key file (NAME.pub) holds the public key. `handoffctl keygen NAME`
 * writes both.
 *
 * The daemon's side is a curve_server_t: its secret key and the set of
 * client public keys it allows, read from bus.curve.clients_dir, where
 * each allowed client is one file NAME.pub (NAME names the client in the
 * log).
 *
 * Every function that can fail returns 0 or -1 and sets *err to a malloc'd
 * message that names the file concerned (the caller frees it).
 */
#ifndef HANDOFF_CURVE_H
#define HANDOFF_CURVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff/config.h"
#include "handoff/util.h"

#define CURVE_KEY_Z85 40 /* characters of a key in Z85 */
#define CURVE_KEY_BIN 32 /* bytes of a key */

/* A key in Z85, NUL-terminated. */
typedef struct {
	char z85[CURVE_KEY_Z85 + 1];
} curve_key_t;

/*
 * Parses the text of a key file: one Z85 key, white space around it
 * allowed. On failure *why says what is wrong (malloc'd, without the file
 * name).
 */
int curve_parse_key(const char *text, size_t len, curve_key_t *key,
    char **why) MUSTCHECK;

/* Reads a public key file. */
int curve_read_public(const char *path, curve_key_t *pub, char **err)
    MUSTCHECK;

/*
 * Reads a secret key file and computes its public key. The file must be a
 * regular file that other users can neither read nor write.
 */
int curve_read_secret(const char *path, curve_key_t *secret,
    curve_key_t *pub, char **err) MUSTCHECK;

/*
 * Makes a new key pair and writes it as dir/name.key (mode 0600) and
 * dir/name.pub (mode 0644, less the umask). Neither file may exist
 * already. name is 1 to 64 of [A-Za-z0-9._-], not starting with a dot.
 */
int curve_keygen(const char *dir, const char *name, curve_key_t *pub,
    char **err) MUSTCHECK;

/* True when name is a usable key name for curve_keygen. */
bool curve_name_ok(const char *name);

/* A set of allowed client public keys, each with the client's name. */
typedef struct curve_clients curve_clients_t;

/* A non-fatal remark while reading (an ignored file); no trailing newline. */
typedef void (*curve_warn_fn)(void *arg, const char *msg);

/*
 * Reads every NAME.pub file of dir. Hidden files are skipped; any other
 * file is skipped with a warning. Fails, naming the file, on an unreadable
 * or malformed key, on two files with the same key, and when dir or a key
 * file can be written by every user.
 */
int curve_clients_load(const char *dir, curve_warn_fn warn, void *arg,
    curve_clients_t **out, char **err) MUSTCHECK;
void curve_clients_destroy(curve_clients_t **clients);
size_t curve_clients_count(const curve_clients_t *clients);
/* The name of the client with this binary public key, or NULL. */
const char *curve_clients_find(const curve_clients_t *clients,
    const uint8_t key[CURVE_KEY_BIN]);

/*
 * True for an endpoint that CurveZMQ protects when bus.curve is set: every
 * transport but the local ipc:// and inproc://, whose files or process
 * already protect them.
 */
bool curve_endpoint_secured(const char *endpoint);

/* The daemon's CurveZMQ material, read at start from bus.curve. */
typedef struct {
	curve_key_t secret;
	curve_key_t pub;
	char *secret_path;  /* as resolved (see curve_secret_path) */
	char *clients_dir;
	curve_clients_t *clients;
} curve_server_t;

/*
 * The path of the secret key file: the configured one, or, when that is
 * relative and $CREDENTIALS_DIRECTORY is set (systemd's LoadCredential=),
 * the file of that name in the credentials directory. Malloc'd.
 */
char *curve_secret_path(const char *configured);

/*
 * Reads bus.curve of cfg (which must be set): the secret key file, the
 * clients directory, and checks that every endpoint can use CurveZMQ. With
 * skip_secret, the secret key file is not read (the key stays zero).
 */
int curve_server_load(const cfg_t *cfg, bool skip_secret, curve_warn_fn warn,
    void *arg, curve_server_t **out, char **err) MUSTCHECK;
void curve_server_destroy(curve_server_t **server);

#endif
