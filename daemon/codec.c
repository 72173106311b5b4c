/*
 * The wire codec: inbound bodies are parsed into a jdoc tree in a scratch
 * arena, then checked field by field into an event_t whose strings are
 * copied into the caller's arena; outbound messages are written with
 * yajl_gen. The rules and limits are listed in codec.h, the protocol in
 * SPEC §2.
 *
 * Errors are reported in a fixed order, whatever order the producer wrote
 * its fields in: the body's size, its UTF-8 and JSON, then v, id, source,
 * type, occurred_at, then the type's fields in the order SPEC §2.2 lists
 * them. Their text is part of the interface (producers see it in the
 * router's reply, operators in the rejected-message log), so it only ever
 * changes deliberately; tests/unit/test_codec.c and proto/examples/invalid
 * pin it down.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "handoff/codec.h"
#include "handoff/jdoc.h"
#include "handoff/log.h"

/* The scratch arena's chunk: big enough that an ordinary message's tree
 * never needs a second one. */
#define SCRATCH_CHUNK (32 * 1024)

struct codec {
	jdoc_t *jdoc;
	arena_t *scratch;
};

#define NAME(s) { s, sizeof(s) - 1 }

static const struct {
	const char *s;
	size_t len;
} ev_names[EV__COUNT] = {
	[EV_LEAD_UPSERTED] = NAME("lead.upserted"),
	[EV_LEAD_QUALIFIED] = NAME("lead.qualified"),
	[EV_LEAD_RECYCLED] = NAME("lead.recycled"),
	[EV_LEAD_DISQUALIFIED] = NAME("lead.disqualified"),
	[EV_SALES_ACCEPTED] = NAME("sales.accepted"),
	[EV_SALES_REJECTED] = NAME("sales.rejected"),
	[EV_SALES_ACTIVITY] = NAME("sales.activity"),
	[EV_SALES_REASSIGNED] = NAME("sales.reassigned"),
	[EV_DEAL_OPENED] = NAME("deal.opened"),
	[EV_DEAL_STAGE_CHANGED] = NAME("deal.stage_changed"),
	[EV_DEAL_CLOSED] = NAME("deal.closed"),
	[EV_CLOCK_TICK] = NAME("clock.tick"),
};

static const char *const out_names[OUT__COUNT] = {
	[OUT_HANDOFF_ASSIGNED] = "handoff.assigned",
	[OUT_HANDOFF_REASSIGNED] = "handoff.reassigned",
	[OUT_HANDOFF_RECYCLED] = "handoff.recycled",
	[OUT_SLA_WARNING] = "sla.warning",
	[OUT_SLA_BREACHED] = "sla.breached",
	[OUT_SLA_ESCALATED] = "sla.escalated",
	[OUT_SLA_RESOLVED] = "sla.resolved",
	[OUT_SLA_RETRACTED] = "sla.retracted",
	[OUT_SLA_TARGET_MISSED] = "sla.target_missed",
	[OUT_RECONCILE_UNMATCHED] = "reconcile.unmatched",
	[OUT_RECONCILE_CONFLICT] = "reconcile.conflict",
	[OUT_BUS_HEARTBEAT] = "bus.heartbeat",
};

static const char *const channel_names[] = {
	[CH_CALL] = "call",
	[CH_EMAIL] = "email",
	[CH_MEETING] = "meeting",
	[CH_SOCIAL] = "social",
	[CH_OTHER] = "other",
};

static const char *const why_names[] = {
	[OUT_WHY_SLA_ESCALATION] = "sla_escalation",
	[OUT_WHY_CRM] = "crm",
	[OUT_WHY_REP_AWAY] = "rep_away",
};

/*
 * The officially assigned ISO 3166-1 alpha-2 codes, sorted, plus XK
 * (Kosovo), which the standard reserves for user assignment and which the
 * European Commission, SWIFT and most CRMs use.
 */
static const char countries[][3] = {
	"AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT",
	"AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI",
	"BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY",
	"BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
	"CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM",
	"DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK",
	"FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL",
	"GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
	"HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR",
	"IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN",
	"KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS",
	"LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
	"ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW",
	"MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP",
	"NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM",
	"PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
	"SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
	"SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF",
	"TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
	"TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
	"VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
};

int
ev_type_from_name(const char *name, size_t len)
{
	for (int t = 0; t < EV__COUNT; t++)
		if (ev_names[t].len == len && memcmp(ev_names[t].s, name, len) == 0)
			return t;
	return -1;
}

const char *
ev_type_name(ev_type_t t)
{
	return ev_names[t].s;
}

const char *
out_type_name(out_type_t t)
{
	return out_names[t];
}

codec_t *
codec_new(void)
{
	codec_t *c = xcalloc(1, sizeof(*c));

	c->jdoc = jdoc_new();
	c->scratch = arena_new(SCRATCH_CHUNK);
	return c;
}

void
codec_destroy(codec_t **cp)
{
	if (cp == NULL || *cp == NULL)
		return;
	jdoc_destroy(&(*cp)->jdoc);
	arena_destroy(&(*cp)->scratch);
	free(*cp);
	*cp = NULL;
}

/* The state of one decode. */
struct dec {
	arena_t *a;
	char *err;
	size_t errlen;
};

static int fail(struct dec *d, const char *fmt, ...) PRINTFLIKE(2, 3);

static int
fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;

	if (d->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(d->err, d->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A member of obj, or NULL when it is absent or null. */
static const jdoc_node_t *
field(const jdoc_node_t *obj, const char *key, size_t len)
{
	const jdoc_node_t *n = jdoc_get(obj, key, len);

	return n != NULL && n->kind == JDOC_NULL ? NULL : n;
}

#define FIELD(obj, lit) field((obj), "" lit, sizeof(lit) - 1)

/* Code points in well-formed UTF-8: the bytes that start a character. */
static size_t
nchars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* 1..max characters, none of them a control character. */
static bool
printable(const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c < 0x20 || c == 0x7F)
			return false;
		/* U+0080-U+009F are C2 80 - C2 9F. */
		if (c == 0xC2 && i + 1 < n && p[i + 1] < 0xA0)
			return false;
		chars += (c & 0xC0) != 0x80;
	}
	return chars >= 1 && chars <= max;
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
to_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static const char *
copy(struct dec *d, const jdoc_node_t *n)
{
	return arena_strndup(d->a, n->s, n->len);
}

typedef enum {
	S_IDENT,  /* 1-128 printable characters */
	S_TEXT,   /* at most 256 characters */
	S_REASON, /* 1-200 characters */
} strkind_t;

/* Reads the string n (NULL: absent) into *out after checking it. */
static int
get_str(struct dec *d, const jdoc_node_t *n, const char *path, strkind_t k,
    bool required, const char **out)
{
	size_t c;

	*out = NULL;
	if (n == NULL)
		return required ? fail(d, "%s: required", path) : 0;
	if (n->kind != JDOC_STRING)
		return fail(d, "%s: must be a string", path);
	switch (k) {
	case S_IDENT:
		if (!printable(n->s, n->len, CODEC_ID_MAX))
			return fail(d, "%s: must be 1-%d printable characters",
			    path, CODEC_ID_MAX);
		break;
	case S_TEXT:
		/* Every character takes a byte at least: count only if needed. */
		if (n->len > CODEC_TEXT_MAX && nchars(n->s, n->len) > CODEC_TEXT_MAX)
			return fail(d, "%s: must be at most %d characters", path,
			    CODEC_TEXT_MAX);
		break;
	case S_REASON:
		c = n->len > CODEC_REASON_MAX ? nchars(n->s, n->len) : n->len;
		if (c < 1 || c > CODEC_REASON_MAX)
			return fail(d, "%s: must be 1-%d characters", path,
			    CODEC_REASON_MAX);
		break;
	}
	*out = copy(d, n);
	return 0;
}

/*
 * An email: kept as sent, and normalised (trimmed, ASCII lower-cased) for
 * matching (SPEC §2.2). Blank counts as absent. The syntax check is
 * deliberately loose, since real addresses are stranger than any regex:
 * no white space or control character inside, and an '@' with text on
 * both sides of the last one.
 */
static int
get_email(struct dec *d, const jdoc_node_t *n, const char *path,
    const char **email, const char **norm)
{
	size_t b = 0, e, at = 0;
	bool seen_at = false;
	char *z;

	*email = *norm = NULL;
	if (n == NULL)
		return 0;
	if (n->kind != JDOC_STRING)
		return fail(d, "%s: must be a string", path);
	e = n->len;
	while (b < e && is_space((unsigned char)n->s[b]))
		b++;
	while (e > b && is_space((unsigned char)n->s[e - 1]))
		e--;
	if (b == e)
		return 0;
	if (e - b > CODEC_EMAIL_MAX && nchars(n->s + b, e - b) > CODEC_EMAIL_MAX)
		return fail(d, "%s: must be at most %d characters", path,
		    CODEC_EMAIL_MAX);
	for (size_t i = b; i < e; i++) {
		unsigned char c = (unsigned char)n->s[i];

		if (c <= ' ' || c == 0x7F)
			return fail(d, "%s: not an email address", path);
		if (c == '@') {
			at = i;
			seen_at = true;
		}
	}
	if (!seen_at || at == b || at == e - 1)
		return fail(d, "%s: not an email address", path);
	*email = copy(d, n);
	z = arena_alloc(d->a, e - b + 1);
	for (size_t i = b; i < e; i++)
		z[i - b] = to_lower(n->s[i]);
	z[e - b] = '\0';
	*norm = z;
	return 0;
}

/* Blank: empty or only white space (counts as absent for coded fields). */
static bool
blank(const jdoc_node_t *n)
{
	for (size_t i = 0; i < n->len; i++)
		if (!is_space((unsigned char)n->s[i]))
			return false;
	return true;
}

static int
country_cmp(const void *key, const void *elem)
{
	return memcmp(key, elem, 2);
}

static int
get_country(struct dec *d, const jdoc_node_t *n, const char *path,
    const char **out)
{
	char cc[3];

	*out = NULL;
	if (n == NULL)
		return 0;
	if (n->kind != JDOC_STRING)
		return fail(d, "%s: must be a string", path);
	if (blank(n))
		return 0;
	if (n->len != 2 || !is_alpha((unsigned char)n->s[0]) ||
	    !is_alpha((unsigned char)n->s[1]))
		return fail(d, "%s: not an ISO 3166-1 alpha-2 code", path);
	cc[0] = to_upper(n->s[0]);
	cc[1] = to_upper(n->s[1]);
	cc[2] = '\0';
	if (bsearch(cc, countries, ARRAY_LEN(countries), sizeof(countries[0]),
	    country_cmp) == NULL)
		return fail(d, "%s: not an ISO 3166-1 alpha-2 code", path);
	*out = arena_strndup(d->a, cc, 2);
	return 0;
}

static int
get_currency(struct dec *d, const jdoc_node_t *n, const char *path,
    const char **out)
{
	char *z;

	*out = NULL;
	if (n == NULL)
		return 0;
	if (n->kind != JDOC_STRING)
		return fail(d, "%s: must be a string", path);
	if (blank(n))
		return 0;
	if (n->len != 3 || !is_alpha((unsigned char)n->s[0]) ||
	    !is_alpha((unsigned char)n->s[1]) || !is_alpha((unsigned char)n->s[2]))
		return fail(d, "%s: must be a 3-letter ISO 4217 code", path);
	z = arena_strndup(d->a, n->s, 3);
	for (int i = 0; i < 3; i++)
		z[i] = to_upper(z[i]);
	*out = z;
	return 0;
}

/* A number literal without fraction or exponent (it may not fit int64). */
static bool
integral(const jdoc_node_t *n)
{
	for (size_t i = 0; i < n->len; i++)
		if (n->s[i] == '.' || n->s[i] == 'e' || n->s[i] == 'E')
			return false;
	return true;
}

static int
get_score(struct dec *d, const jdoc_node_t *n, const char *path, bool *has,
    int64_t *out)
{
	*has = false;
	if (n == NULL)
		return 0;
	if (n->kind != JDOC_NUMBER || !integral(n))
		return fail(d, "%s: must be an integer", path);
	if (!n->is_int || n->i < INT32_MIN || n->i > INT32_MAX)
		return fail(d, "%s: must be between %d and %d", path, INT32_MIN,
		    INT32_MAX);
	*has = true;
	*out = n->i;
	return 0;
}

static int
get_amount(struct dec *d, const jdoc_node_t *n, const char *path,
    const char **out)
{
	const char *s;
	double v;

	*out = NULL;
	if (n == NULL)
		return 0;
	if (n->kind != JDOC_NUMBER)
		return fail(d, "%s: must be a number", path);
	if (n->len > CODEC_AMOUNT_MAX)
		return fail(d, "%s: out of range", path);
	s = copy(d, n);
	v = strtod(s, NULL);
	if (!isfinite(v))
		return fail(d, "%s: out of range", path);
	*out = s;
	return 0;
}

static int
get_attrs(struct dec *d, const jdoc_node_t *n, const char *path,
    ev_lead_t *lead)
{
	char key[80];
	size_t i = 0;

	if (n == NULL)
		return 0;
	if (n->kind != JDOC_OBJECT)
		return fail(d, "%s: must be an object", path);
	if (n->len > CODEC_ATTRS_MAX)
		return fail(d, "%s: more than %d entries", path, CODEC_ATTRS_MAX);
	if (n->len == 0)
		return 0;
	lead->attrs = arena_alloc(d->a, n->len * sizeof(*lead->attrs));
	for (const jdoc_node_t *m = n->first; m != NULL; m = m->next, i++) {
		if (!printable(m->key, m->key_len, CODEC_ATTR_KEY_MAX))
			return fail(d, "%s: keys must be 1-%d printable characters",
			    path, CODEC_ATTR_KEY_MAX);
		if (m->kind != JDOC_STRING) {
			jdoc_key_display(m->key, m->key_len, key, sizeof(key));
			return fail(d, "%s.%s: must be a string", path, key);
		}
		if (m->len > CODEC_ATTR_VALUE_MAX &&
		    nchars(m->s, m->len) > CODEC_ATTR_VALUE_MAX) {
			jdoc_key_display(m->key, m->key_len, key, sizeof(key));
			return fail(d, "%s.%s: must be at most %d characters", path,
			    key, CODEC_ATTR_VALUE_MAX);
		}
		lead->attrs[i].key = arena_strndup(d->a, m->key, m->key_len);
		lead->attrs[i].value = copy(d, m);
	}
	lead->nattrs = i;
	return 0;
}

static int
get_object(struct dec *d, const jdoc_node_t *root, const char *key,
    size_t key_len, const jdoc_node_t **out)
{
	const jdoc_node_t *n = field(root, key, key_len);

	*out = n;
	if (n == NULL)
		return fail(d, "%s: required", key);
	if (n->kind != JDOC_OBJECT)
		return fail(d, "%s: must be an object", key);
	return 0;
}

#define GET_OBJECT(d, root, lit, out) \
	get_object((d), (root), "" lit, sizeof(lit) - 1, (out))

static int
dec_lead(struct dec *d, const jdoc_node_t *root, ev_lead_t *l)
{
	const jdoc_node_t *o;

	if (GET_OBJECT(d, root, "lead", &o) == -1 ||
	    get_str(d, FIELD(o, "id"), "lead.id", S_IDENT, true, &l->id) == -1 ||
	    get_email(d, FIELD(o, "email"), "lead.email", &l->email,
	    &l->email_norm) == -1 ||
	    get_str(d, FIELD(o, "first_name"), "lead.first_name", S_TEXT, false,
	    &l->first_name) == -1 ||
	    get_str(d, FIELD(o, "last_name"), "lead.last_name", S_TEXT, false,
	    &l->last_name) == -1 ||
	    get_str(d, FIELD(o, "company"), "lead.company", S_TEXT, false,
	    &l->company) == -1 ||
	    get_str(d, FIELD(o, "title"), "lead.title", S_TEXT, false,
	    &l->title) == -1 ||
	    get_country(d, FIELD(o, "country"), "lead.country",
	    &l->country) == -1 ||
	    get_str(d, FIELD(o, "segment"), "lead.segment", S_TEXT, false,
	    &l->segment) == -1 ||
	    get_score(d, FIELD(o, "score"), "lead.score", &l->has_score,
	    &l->score) == -1 ||
	    get_str(d, FIELD(o, "campaign"), "lead.campaign", S_TEXT, false,
	    &l->campaign) == -1 ||
	    get_attrs(d, FIELD(o, "attributes"), "lead.attributes", l) == -1)
		return -1;
	return 0;
}

static int
dec_ref(struct dec *d, const jdoc_node_t *root, ev_lead_ref_t *r)
{
	const jdoc_node_t *o;

	if (GET_OBJECT(d, root, "lead_ref", &o) == -1 ||
	    get_str(d, FIELD(o, "lead_key"), "lead_ref.lead_key", S_IDENT, false,
	    &r->lead_key) == -1 ||
	    get_str(d, FIELD(o, "crm_id"), "lead_ref.crm_id", S_IDENT, false,
	    &r->crm_id) == -1 ||
	    get_email(d, FIELD(o, "email"), "lead_ref.email", &r->email,
	    &r->email_norm) == -1)
		return -1;
	if (r->lead_key == NULL && r->crm_id == NULL && r->email == NULL)
		return fail(d, "lead_ref: needs lead_key, crm_id or email");
	return 0;
}

/* Matches the string n against names[0..count); -1 when it is none. */
static int
enum_index(const jdoc_node_t *n, const char *const *names, size_t count)
{
	if (n->kind != JDOC_STRING)
		return -1;
	for (size_t i = 0; i < count; i++)
		if (names[i] != NULL && strlen(names[i]) == n->len &&
		    memcmp(names[i], n->s, n->len) == 0)
			return (int)i;
	return -1;
}

static int
dec_activity(struct dec *d, const jdoc_node_t *root, event_t *ev)
{
	static const char *const outcomes[] = {
		[OUTCOME_ATTEMPTED] = "attempted",
		[OUTCOME_CONNECTED] = "connected",
	};
	const jdoc_node_t *n;
	int i;

	if ((n = FIELD(root, "channel")) == NULL)
		return fail(d, "channel: required");
	if ((i = enum_index(n, channel_names, ARRAY_LEN(channel_names))) < 0)
		return fail(d, "channel: must be one of call, email, meeting, "
		    "social, other");
	ev->channel = (ev_channel_t)i;
	ev->outcome = OUTCOME_NONE;
	if ((n = FIELD(root, "outcome")) != NULL) {
		if ((i = enum_index(n, outcomes, ARRAY_LEN(outcomes))) < 0)
			return fail(d, "outcome: must be one of attempted, "
			    "connected");
		ev->outcome = (ev_outcome_t)i;
	}
	return 0;
}

/* The deal object; the fields each deal.* type requires are checked here. */
static int
dec_deal(struct dec *d, const jdoc_node_t *root, ev_type_t t, ev_deal_t *deal)
{
	static const char *const outcomes[] = {
		[DEAL_WON] = "won",
		[DEAL_LOST] = "lost",
	};
	const jdoc_node_t *o, *n;
	int i;

	if (GET_OBJECT(d, root, "deal", &o) == -1 ||
	    get_str(d, FIELD(o, "id"), "deal.id", S_IDENT, true, &deal->id) == -1 ||
	    get_str(d, FIELD(o, "name"), "deal.name", S_TEXT, false,
	    &deal->name) == -1 ||
	    get_amount(d, FIELD(o, "amount"), "deal.amount", &deal->amount) == -1 ||
	    get_currency(d, FIELD(o, "currency"), "deal.currency",
	    &deal->currency) == -1 ||
	    get_str(d, FIELD(o, "stage"), "deal.stage", S_IDENT,
	    t == EV_DEAL_STAGE_CHANGED, &deal->stage) == -1)
		return -1;
	deal->outcome = DEAL_OPEN;
	if (t != EV_DEAL_CLOSED)
		return 0;
	if ((n = FIELD(o, "outcome")) == NULL)
		return fail(d, "deal.outcome: required");
	if ((i = enum_index(n, outcomes, ARRAY_LEN(outcomes))) < 0)
		return fail(d, "deal.outcome: must be won or lost");
	deal->outcome = (ev_deal_outcome_t)i;
	return get_str(d, FIELD(o, "reason"), "deal.reason", S_REASON, false,
	    &deal->reason);
}

static int
dec_payload(struct dec *d, const jdoc_node_t *root, event_t *ev)
{
	switch (ev->type) {
	case EV_LEAD_UPSERTED:
		return dec_lead(d, root, &ev->lead);
	case EV_LEAD_QUALIFIED:
	case EV_LEAD_RECYCLED:
	case EV_LEAD_DISQUALIFIED:
		if (dec_lead(d, root, &ev->lead) == -1)
			return -1;
		return get_str(d, FIELD(root, "reason"), "reason", S_REASON,
		    ev->type == EV_LEAD_DISQUALIFIED, &ev->reason);
	case EV_SALES_ACCEPTED:
		if (dec_ref(d, root, &ev->ref) == -1)
			return -1;
		return get_str(d, FIELD(root, "owner"), "owner", S_IDENT, false,
		    &ev->owner);
	case EV_SALES_REJECTED:
		if (dec_ref(d, root, &ev->ref) == -1 ||
		    get_str(d, FIELD(root, "reason"), "reason", S_REASON, true,
		    &ev->reason) == -1)
			return -1;
		return get_str(d, FIELD(root, "owner"), "owner", S_IDENT, false,
		    &ev->owner);
	case EV_SALES_ACTIVITY:
		if (dec_ref(d, root, &ev->ref) == -1 ||
		    dec_activity(d, root, ev) == -1)
			return -1;
		return get_str(d, FIELD(root, "owner"), "owner", S_IDENT, false,
		    &ev->owner);
	case EV_SALES_REASSIGNED:
		if (dec_ref(d, root, &ev->ref) == -1 ||
		    get_str(d, FIELD(root, "owner"), "owner", S_IDENT, true,
		    &ev->owner) == -1)
			return -1;
		return get_str(d, FIELD(root, "team"), "team", S_IDENT, false,
		    &ev->team);
	case EV_DEAL_OPENED:
		if (dec_deal(d, root, ev->type, &ev->deal) == -1 ||
		    dec_ref(d, root, &ev->ref) == -1)
			return -1;
		return get_str(d, FIELD(root, "owner"), "owner", S_IDENT, false,
		    &ev->owner);
	case EV_DEAL_STAGE_CHANGED:
	case EV_DEAL_CLOSED:
		return dec_deal(d, root, ev->type, &ev->deal);
	case EV_CLOCK_TICK:
		return 0;
	case EV__COUNT:
		break;
	}
	return fail(d, "type: unknown type");
}

static bool
valid_source(const char *s, size_t n)
{
	if (n < 1 || n > CODEC_SOURCE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int
dec_envelope(struct dec *d, const char *topic, size_t topic_len,
    const jdoc_node_t *root, event_t *ev)
{
	const jdoc_node_t *n;
	char shown[80];
	int t;

	/* id and source first, so a rejection can still name the event. */
	n = FIELD(root, "id");
	if (n != NULL && n->kind == JDOC_STRING &&
	    printable(n->s, n->len, CODEC_ID_MAX))
		ev->id = copy(d, n);
	n = FIELD(root, "source");
	if (n != NULL && n->kind == JDOC_STRING && valid_source(n->s, n->len))
		ev->source = copy(d, n);

	if ((n = FIELD(root, "v")) == NULL)
		return fail(d, "v: required");
	if (n->kind != JDOC_NUMBER || !integral(n))
		return fail(d, "v: must be an integer");
	if (!n->is_int || n->i != 1)
		return fail(d, "v: unsupported version %.*s",
		    n->len > 32 ? 32 : (int)n->len, n->s);

	if ((n = FIELD(root, "id")) == NULL)
		return fail(d, "id: required");
	if (n->kind != JDOC_STRING)
		return fail(d, "id: must be a string");
	if (ev->id == NULL)
		return fail(d, "id: must be 1-%d printable characters",
		    CODEC_ID_MAX);

	if ((n = FIELD(root, "source")) == NULL)
		return fail(d, "source: required");
	if (n->kind != JDOC_STRING)
		return fail(d, "source: must be a string");
	if (ev->source == NULL)
		return fail(d, "source: must match [a-z0-9._-]{1,%d}",
		    CODEC_SOURCE_MAX);

	if ((n = FIELD(root, "type")) == NULL)
		return fail(d, "type: required");
	if (n->kind != JDOC_STRING)
		return fail(d, "type: must be a string");
	if ((t = ev_type_from_name(n->s, n->len)) < 0) {
		jdoc_key_display(n->s, n->len, shown, sizeof(shown));
		return fail(d, "type: unknown type '%s'", shown);
	}
	if (n->len != topic_len || memcmp(n->s, topic, topic_len) != 0)
		return fail(d, "type: does not match the topic");
	ev->type = (ev_type_t)t;

	if ((n = FIELD(root, "occurred_at")) == NULL)
		return fail(d, "occurred_at: required");
	if (n->kind != JDOC_STRING)
		return fail(d, "occurred_at: must be a string");
	if (ts_parse_rfc3339(n->s, n->len, &ev->occurred_at) == -1)
		return fail(d, "occurred_at: not an RFC 3339 timestamp");
	return 0;
}

int
codec_decode(codec_t *c, arena_t *a, const char *topic, size_t topic_len,
    const char *body, size_t body_len, size_t max_bytes, event_t *ev,
    char *err, size_t errlen)
{
	struct dec d = { .a = a, .err = err, .errlen = errlen };
	const jdoc_node_t *root;
	const char *id, *source;

	memset(ev, 0, sizeof(*ev));
	ev->raw = body;
	ev->raw_len = body_len;
	if (errlen > 0)
		err[0] = '\0';
	if (max_bytes > 0 && body_len > max_bytes)
		return fail(&d, "body: larger than %zu bytes", max_bytes);
	arena_reset(c->scratch);
	if (jdoc_parse(c->jdoc, c->scratch, body, body_len, &root, err,
	    errlen) == -1)
		return -1;
	if (dec_envelope(&d, topic, topic_len, root, ev) == 0 &&
	    dec_payload(&d, root, ev) == 0)
		return 0;
	/* Leave only what the reply to the producer may use. */
	id = ev->id;
	source = ev->source;
	memset(ev, 0, sizeof(*ev));
	ev->id = id;
	ev->source = source;
	ev->raw = body;
	ev->raw_len = body_len;
	return -1;
}

/*
 * Encoding. yajl_gen fails only when called out of order (a bug here), so
 * a failure is fatal rather than a case every caller would have to handle.
 */
static void
gen_check(yajl_gen_status st)
{
	if (st != yajl_gen_status_ok)
		fatalx("codec: JSON generator failed (status %d)", (int)st);
}

/* yajl_gen allocates through these, so that running out of memory aborts
 * with a message like everywhere else (util.h). */
static void *
ya_malloc(void *ctx, size_t n)
{
	return xmalloc(n);
}

static void *
ya_realloc(void *ctx, void *p, size_t n)
{
	return xrealloc(p, n);
}

static void
ya_free(void *ctx, void *p)
{
	free(p);
}

static yajl_alloc_funcs gen_afs = {
	.malloc = ya_malloc,
	.realloc = ya_realloc,
	.free = ya_free,
};

/* s with every byte that does not start a well-formed character replaced by
 * U+FFFD, malloc'd. */
static char *
utf8_repair(const char *s, size_t n, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	sbuf_t b;
	size_t i = 0;

	sbuf_init(&b);
	while (i < n) {
		size_t k = p[i] < 0x80 ? 1 : p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : 2;

		if (k <= n - i && utf8_valid(s + i, k)) {
			sbuf_add(&b, s + i, k);
			i += k;
		} else {
			sbuf_add(&b, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
	*outlen = b.len;
	return sbuf_take(&b);
}

static void
gen_str(yajl_gen g, const char *s)
{
	size_t n;
	char *fixed;

	if (s == NULL) {
		gen_check(yajl_gen_null(g));
		return;
	}
	n = strlen(s);
	if (utf8_valid(s, n)) {
		gen_check(yajl_gen_string(g, (const unsigned char *)s, n));
		return;
	}
	fixed = utf8_repair(s, n, &n);
	gen_check(yajl_gen_string(g, (const unsigned char *)fixed, n));
	free(fixed);
}

static void
gen_key(yajl_gen g, const char *k)
{
	gen_check(yajl_gen_string(g, (const unsigned char *)k, strlen(k)));
}

static void
kv_str(yajl_gen g, const char *k, const char *v)
{
	gen_key(g, k);
	gen_str(g, v);
}

static void
kv_int(yajl_gen g, const char *k, int64_t v)
{
	gen_key(g, k);
	gen_check(yajl_gen_integer(g, (long long)v));
}

static void
gen_time(yajl_gen g, ts_t t)
{
	char buf[TS_BUFLEN];
	size_t n = ts_format(t, buf);

	gen_check(yajl_gen_string(g, (const unsigned char *)buf, n));
}

static void
kv_time(yajl_gen g, const char *k, ts_t t)
{
	gen_key(g, k);
	gen_time(g, t);
}

/* The shortest decimal that reads back as v: "120", "0.75" and "0.1", not
 * yajl's "0.10000000000000000555" or %g's "1.2e+02". JSON cannot hold a
 * non-finite number: that is written as null. */
static void
kv_double(yajl_gen g, const char *k, double v)
{
	char buf[40];
	int n = 0;

	gen_key(g, k);
	if (!isfinite(v)) {
		gen_check(yajl_gen_null(g));
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		n = snprintf(buf, sizeof(buf), "%.0f", v);
	} else {
		for (int prec = 1; prec <= 17; prec++) {
			n = snprintf(buf, sizeof(buf), "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
	gen_check(yajl_gen_number(g, buf, (size_t)n));
}

static void
gen_profile(yajl_gen g, const char *source, const ev_lead_t *l)
{
	gen_check(yajl_gen_map_open(g));
	kv_str(g, "source", source);
	kv_str(g, "id", l->id);
	kv_str(g, "email", l->email);
	kv_str(g, "first_name", l->first_name);
	kv_str(g, "last_name", l->last_name);
	kv_str(g, "company", l->company);
	kv_str(g, "title", l->title);
	kv_str(g, "country", l->country);
	kv_str(g, "segment", l->segment);
	gen_key(g, "score");
	if (l->has_score)
		gen_check(yajl_gen_integer(g, (long long)l->score));
	else
		gen_check(yajl_gen_null(g));
	kv_str(g, "campaign", l->campaign);
	gen_key(g, "attributes");
	gen_check(yajl_gen_map_open(g));
	for (size_t i = 0; i < l->nattrs; i++)
		kv_str(g, l->attrs[i].key, l->attrs[i].value);
	gen_check(yajl_gen_map_close(g));
	gen_check(yajl_gen_map_close(g));
}

static void
gen_assigned(yajl_gen g, const out_assigned_t *m)
{
	static const ev_lead_t none;

	kv_str(g, "lead_key", m->lead_key);
	gen_key(g, "lead");
	gen_profile(g, m->source, m->lead != NULL ? m->lead : &none);
	kv_str(g, "owner", m->owner);
	kv_str(g, "team", m->team);
	kv_str(g, "rule", m->rule);
	gen_key(g, "due");
	gen_check(yajl_gen_map_open(g));
	for (size_t i = 0; i < m->ndue; i++)
		kv_time(g, m->due[i].clock, m->due[i].due);
	gen_check(yajl_gen_map_close(g));
}

static void
gen_sla_head(yajl_gen g, const char *lead_key, const char *clock,
    int64_t cycle)
{
	kv_str(g, "lead_key", lead_key);
	kv_str(g, "clock", clock);
	kv_int(g, "cycle", cycle);
}

static void
gen_body(yajl_gen g, const out_msg_t *m)
{
	const out_sla_alert_t *al = &m->u.alert;
	const out_sla_stop_t *st = &m->u.stop;

	switch (m->type) {
	case OUT_HANDOFF_ASSIGNED:
		gen_assigned(g, &m->u.assigned);
		break;
	case OUT_HANDOFF_REASSIGNED:
		kv_str(g, "lead_key", m->u.reassigned.lead_key);
		kv_str(g, "from", m->u.reassigned.from);
		kv_str(g, "to", m->u.reassigned.to);
		kv_str(g, "team", m->u.reassigned.team);
		kv_str(g, "why", why_names[m->u.reassigned.why]);
		break;
	case OUT_HANDOFF_RECYCLED:
		kv_str(g, "lead_key", m->u.recycled.lead_key);
		gen_key(g, "lead");
		gen_check(yajl_gen_map_open(g));
		kv_str(g, "source", m->u.recycled.source);
		kv_str(g, "id", m->u.recycled.id);
		kv_str(g, "email", m->u.recycled.email);
		gen_check(yajl_gen_map_close(g));
		kv_str(g, "reason", m->u.recycled.reason);
		kv_str(g, "by", m->u.recycled.by);
		break;
	case OUT_SLA_WARNING:
	case OUT_SLA_BREACHED:
		gen_sla_head(g, al->lead_key, al->clock, al->cycle);
		kv_str(g, "owner", al->owner);
		kv_str(g, "team", al->team);
		kv_time(g, "started_at", al->started_at);
		kv_time(g, "due_at", al->due_at);
		if (m->type == OUT_SLA_WARNING)
			kv_double(g, "fraction", al->fraction);
		else
			kv_int(g, "goal_s", al->goal_s);
		break;
	case OUT_SLA_ESCALATED:
		gen_sla_head(g, m->u.escalated.lead_key, m->u.escalated.clock,
		    m->u.escalated.cycle);
		kv_int(g, "level", m->u.escalated.level);
		kv_str(g, "to", m->u.escalated.to);
		kv_int(g, "overdue_s", m->u.escalated.overdue_s);
		break;
	case OUT_SLA_RESOLVED:
	case OUT_SLA_RETRACTED:
		gen_sla_head(g, st->lead_key, st->clock, st->cycle);
		kv_time(g, "stopped_at", st->stopped_at);
		if (m->type == OUT_SLA_RESOLVED)
			kv_int(g, "overdue_s", st->overdue_s);
		break;
	case OUT_SLA_TARGET_MISSED:
		kv_str(g, "target", m->u.target_missed.target);
		kv_str(g, "metric", m->u.target_missed.metric);
		kv_time(g, "period_start", m->u.target_missed.period_start);
		kv_time(g, "period_end", m->u.target_missed.period_end);
		kv_double(g, "goal", m->u.target_missed.goal);
		kv_double(g, "actual", m->u.target_missed.actual);
		kv_str(g, "team", m->u.target_missed.team);
		break;
	case OUT_RECONCILE_UNMATCHED:
		gen_key(g, "event");
		gen_check(yajl_gen_map_open(g));
		kv_str(g, "source", m->u.unmatched.source);
		kv_str(g, "id", m->u.unmatched.id);
		kv_str(g, "type", ev_type_name(m->u.unmatched.type));
		gen_check(yajl_gen_map_close(g));
		gen_key(g, "lead_ref");
		gen_check(yajl_gen_map_open(g));
		kv_str(g, "lead_key", m->u.unmatched.ref.lead_key);
		kv_str(g, "crm_id", m->u.unmatched.ref.crm_id);
		kv_str(g, "email", m->u.unmatched.ref.email);
		gen_check(yajl_gen_map_close(g));
		kv_int(g, "waited_s", m->u.unmatched.waited_s);
		break;
	case OUT_RECONCILE_CONFLICT:
		kv_str(g, "kind", m->u.conflict.kind);
		gen_key(g, "lead_keys");
		gen_check(yajl_gen_array_open(g));
		for (size_t i = 0; i < m->u.conflict.nlead_keys; i++)
			gen_str(g, m->u.conflict.lead_keys[i]);
		gen_check(yajl_gen_array_close(g));
		kv_str(g, "detail", m->u.conflict.detail);
		break;
	case OUT_BUS_HEARTBEAT:
		break;
	case OUT__COUNT:
		fatalx("codec: cannot encode message type OUT__COUNT");
	}
}

char *
codec_encode(const out_msg_t *m, int64_t seq, ts_t emitted_at, size_t *len)
{
	const unsigned char *buf;
	yajl_gen g;
	char *out;
	size_t n;

	if ((g = yajl_gen_alloc(&gen_afs)) == NULL)
		fatalx("codec: cannot allocate a JSON generator");
	gen_check(yajl_gen_map_open(g));
	kv_int(g, "v", 1);
	kv_str(g, "type", out_names[m->type]);
	kv_int(g, "seq", seq);
	kv_time(g, "emitted_at", emitted_at);
	gen_body(g, m);
	gen_check(yajl_gen_map_close(g));
	gen_check(yajl_gen_get_buf(g, &buf, &n));
	out = xstrndup((const char *)buf, n);
	yajl_gen_free(g);
	if (len != NULL)
		*len = n;
	return out;
}
