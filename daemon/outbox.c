/*
 * Outbox bookkeeping: the in-memory side of the outbox table. Publishing
 * itself is the loop's (it owns the socket); storing is the store's.
 */
#include <stdlib.h>
#include <string.h>

#include "handoff/outbox.h"
#include "handoff/util.h"

outbox_t *
outbox_new(void)
{
	outbox_t *o = xcalloc(1, sizeof(*o));

	o->pendcap = 64;
	o->pending = xcalloc(o->pendcap, sizeof(*o->pending));
	o->readycap = 64;
	o->ready = xcalloc(o->readycap, sizeof(*o->ready));
	return o;
}

void
outbox_destroy(outbox_t **op)
{
	outbox_t *o;

	if (op == NULL || *op == NULL)
		return;
	o = *op;
	outbox_clear_ready(o);
	free(o->pending);
	free(o->ready);
	free(o->pub);
	free(o);
	*op = NULL;
}

void
outbox_add(outbox_t *o, const out_msg_t *m)
{
	if (o->npending == o->pendcap) {
		o->pendcap *= 2;
		o->pending = xreallocarray(o->pending, o->pendcap,
		    sizeof(*o->pending));
	}
	o->pending[o->npending++] = m;
}

void
outbox_insert(outbox_t *o, size_t pos, const out_msg_t *m)
{
	if (pos > o->npending)
		pos = o->npending;
	outbox_add(o, m);
	memmove(&o->pending[pos + 1], &o->pending[pos],
	    (o->npending - 1 - pos) * sizeof(*o->pending));
	o->pending[pos] = m;
}

void
outbox_discard_pending(outbox_t *o)
{
	o->npending = 0;
}

void
outbox_ready(outbox_t *o, int64_t seq, char *type, char *body, size_t len)
{
	if (o->nready == o->readycap) {
		o->readycap *= 2;
		o->ready = xreallocarray(o->ready, o->readycap,
		    sizeof(*o->ready));
	}
	o->ready[o->nready].seq = seq;
	o->ready[o->nready].type = type;
	o->ready[o->nready].body = body;
	o->ready[o->nready].len = len;
	o->nready++;
	if (seq > o->last_seq)
		o->last_seq = seq;
}

void
outbox_clear_ready(outbox_t *o)
{
	for (size_t i = 0; i < o->nready; i++) {
		free(o->ready[i].type);
		free(o->ready[i].body);
	}
	o->nready = 0;
}

void
outbox_published(outbox_t *o, int64_t seq)
{
	if (seq > o->last_published)
		o->last_published = seq;
	if (o->npub > 0 && o->pub[o->npub - 1].hi == seq - 1) {
		o->pub[o->npub - 1].hi = seq;
		return;
	}
	if (o->npub == o->pubcap) {
		o->pubcap = o->pubcap ? o->pubcap * 2 : 8;
		o->pub = xreallocarray(o->pub, o->pubcap, sizeof(*o->pub));
	}
	o->pub[o->npub].lo = seq - 1;
	o->pub[o->npub].hi = seq;
	o->npub++;
}
