/*
 * The event generator behind `handoffctl simulate` (see simulate.h for what
 * it models). Leads are created in time order, day by day; creating one
 * draws its whole future at once (updates, qualification, the CRM's answer,
 * touches, a deal) and queues those events in a heap ordered by time. An
 * event leaves the heap only once no lead still to be created can precede
 * it, so the stream comes out in order while holding only the future of
 * the leads created so far.
 *
 * Every random choice comes from one xoshiro256** generator seeded from
 * the seed, drawn in a fixed order, so a seed always gives the same stream.
 * Delays of the sales side are business time of the calendar (a rep works
 * the calendar's hours, so an MQL of Friday evening is answered on Monday);
 * marketing automation runs around the clock but people fill in its forms
 * mostly during the working day.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/jdoc.h"
#include "handoff/simulate.h"

#define MIN_US (60 * TS_USEC)
#define HOUR_US (3600 * TS_USEC)
#define DAY_US (86400 * TS_USEC)
#define TAG_LEN 6

/* ---- Randomness ------------------------------------------------------- */

typedef struct {
	uint64_t s[4];
} rng_t;

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(rng_t *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
static double
unit(rng_t *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static bool
chance(rng_t *r, double p)
{
	return unit(r) < p;
}

/* Uniform in [lo, hi]. */
static int64_t
between(rng_t *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* A duration between lo and hi with a log-uniform spread: as many delays
 * between 1 and 10 minutes as between 10 and 100. */
static int64_t
log_between(rng_t *r, int64_t lo, int64_t hi)
{
	double l = log((double)lo), h = log((double)hi);

	return (int64_t)exp(l + (h - l) * unit(r));
}

/* An index drawn with the given weights. */
static size_t
weighted(rng_t *r, const double *w, size_t n)
{
	double total = 0, x;
	size_t i;

	for (i = 0; i < n; i++)
		total += w[i];
	x = unit(r) * total;
	for (i = 0; i + 1 < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

#define PICK(r, a) ((a)[between((r), 0, (int64_t)ARRAY_LEN(a) - 1)])

/* ---- The people and companies ----------------------------------------- */

static const char *const first_names[] = {
	"Ana", "Ben", "Charlotte", "David", "Emma", "Felix", "Grace", "Hannah",
	"Isabel", "Jack", "Julia", "Katrin", "Lena", "Lucas", "Marie", "Mateo",
	"Mia", "Noah", "Olivia", "Oscar", "Paul", "Priya", "Rachel", "Sam",
	"Sophie", "Thomas", "Zoé", "Jonas", "Léa", "Hugo", "Ingrid", "Erik",
	"Chloé", "Tobias", "Amelia", "Harry", "Niamh", "Sean", "Lars", "Sofia",
	"Anouk", "Daan", "Giulia", "Marco", "Carmen", "Javier", "Aisha", "Omar",
};

static const char *const last_names[] = {
	"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans",
	"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker",
	"Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Rossi",
	"Bianchi", "García", "López", "Fernández", "de Jong", "Jansen",
	"Visser", "Andersson", "Johansson", "Nilsson", "Murphy", "Kelly",
	"O'Brien", "Patel", "Khan", "Novak", "Kowalski", "Hughes", "Walsh",
	"Wright", "Hoffmann", "Koch", "Richter", "Girard", "Roux", "Bakker",
	"Lindqvist", "Romano",
};

/* Companies are a stem and a word ("Northwind Logistics"). */
static const char *const company_stems[] = {
	"Northwind", "Bluebell", "Cobalt", "Meridian", "Kestrel", "Harbour",
	"Alder", "Brightwater", "Falcon", "Granite", "Helix", "Ironbridge",
	"Juniper", "Lumen", "Marlow", "Nordlicht", "Oakridge", "Pinnacle",
	"Quarry", "Riverside", "Silverline", "Thames", "Unity", "Vantage",
	"Westbrook", "Zenith", "Rheinwerk", "Lumière", "Solano", "Fjord",
	"Atlas", "Beacon", "Cedar", "Delta", "Ember", "Fernhill", "Greenway",
	"Highland", "Isar", "Kingfisher",
};

static const char *const company_words[] = {
	"Logistics", "Software", "Analytics", "Foods", "Engineering",
	"Health", "Finance", "Retail", "Energy", "Media", "Robotics",
	"Insurance", "Telecom", "Pharma", "Systems", "Labs", "Capital",
	"Mobility", "Security", "Consulting",
};

static const char *const industries[] = {
	"logistics", "software", "manufacturing", "retail", "financial services",
	"healthcare", "energy", "media", "public sector", "education",
};

typedef struct {
	const char *code;
	const char *suffix; /* of company names */
	double weight;
} country_t;

static const country_t countries[] = {
	{ "GB", "Ltd", 35 }, { "DE", "GmbH", 24 }, { "FR", "SAS", 14 },
	{ "NL", "B.V.", 7 }, { "ES", "S.L.", 5 }, { "IE", "Ltd", 4 },
	{ "SE", "AB", 4 }, { "IT", "S.p.A.", 4 }, { "US", "Inc.", 3 },
};

static size_t
country_of(rng_t *r)
{
	double w[ARRAY_LEN(countries)];

	for (size_t i = 0; i < ARRAY_LEN(countries); i++)
		w[i] = countries[i].weight;
	return weighted(r, w, ARRAY_LEN(w));
}

/* Free-mail domains; the last three only for people of their country. */
static const char *const free_mail[] = {
	"gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "gmx.de",
	"web.de", "orange.fr",
};
#define FREE_MAIL_INTL 4

enum { SEG_SMB, SEG_MID, SEG_ENT };
static const char *const segment_names[] = { "smb", "mid", "enterprise" };
static const double segment_weights[] = { 55, 30, 15 };

typedef struct {
	char name[96];
	char domain[128];
	size_t country;
	int segment;
	const char *industry;
} company_t;

#define NCOMPANIES (ARRAY_LEN(company_stems) * ARRAY_LEN(company_words) / 2)

/* Titles, with how likely each persona is to become an MQL. */
typedef struct {
	const char *title;
	double weight;
	double qualify; /* multiplies the base chance */
	bool student;
} persona_t;

static const persona_t personas[] = {
	{ "Head of Sales Operations", 6, 1.3, false },
	{ "VP Sales", 5, 1.4, false },
	{ "Chief Revenue Officer", 2, 1.5, false },
	{ "Head of Marketing", 7, 1.2, false },
	{ "Marketing Manager", 12, 1.0, false },
	{ "Demand Generation Manager", 6, 1.1, false },
	{ "Revenue Operations Manager", 6, 1.3, false },
	{ "IT Director", 4, 0.9, false },
	{ "CTO", 3, 1.0, false },
	{ "CEO", 4, 1.1, false },
	{ "Founder", 4, 1.0, false },
	{ "CFO", 2, 0.8, false },
	{ "Sales Development Representative", 8, 0.7, false },
	{ "Account Executive", 7, 0.8, false },
	{ "Software Engineer", 6, 0.4, false },
	{ "Consultant", 5, 0.6, false },
	{ "Procurement Manager", 3, 0.9, false },
	{ "Office Manager", 3, 0.5, false },
	{ "Student", 4, 0.3, true },
};

/* Campaigns: "%d-q%d-" and a name, the year and quarter of the start. */
static const char *const campaigns[] = {
	"webinar-revops", "ebook-sla-playbook", "google-ads-brand",
	"linkedin-abm-enterprise", "trade-show", "newsletter", "free-trial",
	"partner-referral", "content-syndication", "retargeting",
	"pricing-page", "demo-request",
};
static const double campaign_weights[] = {
	10, 12, 14, 6, 5, 10, 9, 4, 8, 7, 6, 9,
};

static const char *const utm_sources[] = {
	"google", "linkedin", "newsletter", "partner", "direct", "bing",
	"capterra", "event",
};

static const char *const qualify_reasons[] = {
	"score above 60", "demo request", "pricing page visits",
	"contact sales form", "free trial sign-up",
	"webinar attendee matching the ideal customer profile",
};

static const char *const reject_reasons[] = {
	"no budget", "wrong persona", "competitor", "duplicate",
	"no project in the next 12 months", "already a customer",
	"company too small",
};
static const double reject_weights[] = { 30, 25, 8, 10, 15, 6, 6 };

static const char *const disqualify_reasons[] = {
	"invalid email", "spam sign-up", "competitor", "student",
	"job seeker",
};

static const char *const products[] = {
	"Starter plan", "Team plan", "Annual subscription", "200 seats",
	"Platform and onboarding", "Enterprise licence",
};

static const char *const lost_reasons[] = {
	"price", "chose a competitor", "no decision", "timing",
	"missing feature",
};

/* ---- The stream ------------------------------------------------------- */

/* Leads a day on each weekday (Monday first), relative to the rate. */
static const double weekday_factor[7] = {
	1.05, 1.10, 1.05, 1.00, 0.80, 0.22, 0.18
};

/* When people create leads, by local hour. */
static const double hour_weekday[24] = {
	0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 8.0, 9.0, 8.5,
	6.0, 7.5, 8.0, 7.5, 6.5, 5.0, 3.5, 2.5, 2.0, 1.5, 1.0, 0.6,
};
static const double hour_weekend[24] = {
	0.5, 0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 4.5,
	4.5, 4.5, 4.5, 4.0, 4.0, 4.0, 4.0, 4.0, 3.5, 3.0, 2.0, 1.0,
};

typedef struct {
	ts_t at;
	uint64_t seq;
	ev_type_t type;
	char *json;
	size_t len, at_off;
} pend_t;

enum { SRC_MARKETO, SRC_HUBSPOT, SRC_CRM, SRC_CLOCK, SRC__COUNT };
static const char *const source_names[SRC__COUNT] = {
	"marketo", "hubspot", "salesforce", "clock"
};
static const char *const event_prefix[SRC__COUNT] = {
	"mk", "hs", "sf", "tick"
};

struct sim {
	sim_params_t p;
	rng_t rng;
	ts_t end;
	char tag[TAG_LEN + 1];
	int year, quarter;

	company_t *companies;
	size_t ncompanies;
	/* Which (first name, last name, domain) triples have been used, so
	 * that two people never share an email by accident. */
	uint8_t *used;
	size_t ndomains;

	/* The creation times of the leads of the day being generated. */
	int64_t day, last_day;
	ts_t *creations;
	size_t ncreations, next_creation, creations_cap;

	pend_t *heap;
	size_t nheap, heap_cap;
	uint64_t seq;

	ts_t next_tick; /* CAL_NEVER when no tick is left */

	uint64_t event_no[SRC__COUNT];
	uint64_t lead_no, crm_no, deal_no;

	/* What the last sim_next returned. */
	pend_t cur;
};

/* ---- JSON ------------------------------------------------------------- */

static void
json_str(sbuf_t *b, const char *s)
{
	jquote_once(b, s);
}

/* ,"key":"value" (the comma unless first). */
static void
json_kv(sbuf_t *b, bool first, const char *key, const char *value)
{
	if (!first)
		sbuf_addc(b, ',');
	json_str(b, key);
	sbuf_addc(b, ':');
	json_str(b, value);
}

/* ---- The heap of future events ---------------------------------------- */

static bool
pend_before(const pend_t *a, const pend_t *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
heap_push(sim_t *s, pend_t e)
{
	size_t i;

	if (s->nheap == s->heap_cap) {
		s->heap_cap = s->heap_cap ? s->heap_cap * 2 : 256;
		s->heap = xreallocarray(s->heap, s->heap_cap, sizeof(*s->heap));
	}
	i = s->nheap++;
	while (i > 0 && pend_before(&e, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = e;
}

static pend_t
heap_pop(sim_t *s)
{
	pend_t top = s->heap[0], last = s->heap[--s->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && pend_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!pend_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap > 0)
		s->heap[i] = last;
	return top;
}

/*
 * An event of source src at `at`; payload holds the fields after the
 * envelope, each preceded by a comma.
 */
static pend_t
make_event(sim_t *s, int src, ev_type_t type, ts_t at, const char *payload)
{
	char ts[TS_BUFLEN], id[64];
	pend_t e;
	sbuf_t b;

	snprintf(id, sizeof(id), "%s-%s-%06" PRIu64, event_prefix[src],
	    s->tag, ++s->event_no[src]);
	sbuf_init(&b);
	sbuf_adds(&b, "{\"v\":1");
	json_kv(&b, false, "type", ev_type_name(type));
	json_kv(&b, false, "source", source_names[src]);
	json_kv(&b, false, "id", id);
	sbuf_adds(&b, ",\"occurred_at\":\"");
	e.at_off = b.len;
	sbuf_add(&b, ts, ts_format(at, ts));
	sbuf_addc(&b, '"');
	sbuf_adds(&b, payload);
	sbuf_addc(&b, '}');
	e.at = at;
	e.seq = s->seq++;
	e.type = type;
	e.len = b.len;
	e.json = sbuf_take(&b);
	return e;
}

/* Queues an event for later. Events at or past the end are not part of
 * the simulation and are dropped. */
static void
queue(sim_t *s, int src, ev_type_t type, ts_t at, const char *payload)
{
	if (at < s->end)
		heap_push(s, make_event(s, src, type, at, payload));
}

/* ---- Time ------------------------------------------------------------- */

/*
 * Whole seconds, at least one: every time of the stream is a whole second,
 * and each step of a lead's story comes strictly after the one before.
 */
static int64_t
whole(double us)
{
	int64_t s = llround(us / TS_USEC);

	return (s < 1 ? 1 : s) * TS_USEC;
}

/* Business time after from; wall time when the calendar never opens. */
static ts_t
after_business(const sim_t *s, ts_t from, double us)
{
	int64_t d = whole(us);
	ts_t t = cal_add_business(s->p.cal, from, d);

	return t == CAL_NEVER ? from + d : t;
}

/*
 * When a rep answers something that happened at `from` after a business
 * delay of us: in the calendar's hours, except that now and then someone
 * answers from their phone in the evening.
 */
static ts_t
rep_time(sim_t *s, ts_t from, double us)
{
	if (!cal_is_open(s->p.cal, from) && chance(&s->rng, 0.1))
		return from + between(&s->rng, 5, 90) * MIN_US;
	return after_business(s, from, us);
}

static int64_t
local_day(const cal_tz_t *tz, ts_t t)
{
	int64_t local = t / TS_USEC + cal_tz_offset(tz, t);

	return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

/* Monday 0 ... Sunday 6 of a day number (1970-01-01 was a Thursday). */
static int
weekday(int64_t day)
{
	return (int)(((day % 7) + 7 + 3) % 7);
}

ts_t
sim_default_start(const cal_tz_t *tz, ts_t now)
{
	int64_t day = local_day(tz, now);

	return cal_tz_to_utc(tz, day - weekday(day) - 7, 0);
}

/* ---- Leads ------------------------------------------------------------ */

typedef struct {
	int src;           /* SRC_MARKETO or SRC_HUBSPOT */
	char id[48];
	char email[320];
	const char *first, *last;
	const company_t *co; /* NULL: a free-mail address */
	char company[96];
	const persona_t *persona;
	int segment;
	const char *country;
	int score;
	char campaign[64];
	const char *utm;
	char crm_id[32];
} lead_t;

/*
 * The ASCII form of a name for an email address or a domain: lower case,
 * the accents of Latin-1 letters taken off ("Müller" -> "mueller",
 * "Lefèvre" -> "lefevre"), everything but letters, digits, '-' and '.'
 * dropped ("O'Brien" -> "obrien").
 */
static void
lower_ascii(char *d, size_t n, const char *s)
{
	/* U+00C0 ... U+00FF, lower-cased; "" drops the letter. */
	static const char *const latin1[64] = {
		"a", "a", "a", "a", "ae", "a", "ae", "c",
		"e", "e", "e", "e", "i", "i", "i", "i",
		"d", "n", "o", "o", "o", "o", "oe", "",
		"oe", "u", "u", "u", "ue", "y", "th", "ss",
		"a", "a", "a", "a", "ae", "a", "ae", "c",
		"e", "e", "e", "e", "i", "i", "i", "i",
		"d", "n", "o", "o", "o", "o", "oe", "",
		"oe", "u", "u", "u", "ue", "y", "th", "y",
	};
	size_t i = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		const char *add = NULL;
		char one[2] = { 0, 0 };

		if (c >= 'A' && c <= 'Z')
			one[0] = (char)(c - 'A' + 'a');
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.')
			one[0] = (char)c;
		else if (c == 0xc3 && ((unsigned char)s[1] & 0xc0) == 0x80)
			add = latin1[(unsigned char)*++s & 0x3f];
		if (add == NULL)
			add = one;
		for (; *add != '\0' && i + 1 < n; add++)
			d[i++] = *add;
	}
	d[i] = '\0';
}

static void
new_person(sim_t *s, lead_t *l)
{
	rng_t *r = &s->rng;
	double pw[ARRAY_LEN(personas)];
	char fl[64], ll[64];
	size_t fi, li, di, key, i;
	const char *domain;

	memset(l, 0, sizeof(*l));
	l->src = chance(r, 0.6) ? SRC_MARKETO : SRC_HUBSPOT;
	snprintf(l->id, sizeof(l->id), "%s-%c%06" PRIu64, s->tag,
	    l->src == SRC_MARKETO ? 'm' : 'h', ++s->lead_no);
	for (i = 0; i < ARRAY_LEN(personas); i++)
		pw[i] = personas[i].weight;
	l->persona = &personas[weighted(r, pw, ARRAY_LEN(pw))];
	/* A student or a free-mail address now and then; else a company. */
	if (l->persona->student || chance(r, 0.1)) {
		size_t fm = (size_t)between(r, 0, FREE_MAIL_INTL - 1);

		l->co = NULL;
		l->segment = SEG_SMB;
		l->country = countries[country_of(r)].code;
		/* gmx.de, web.de; orange.fr. */
		if (strcmp(l->country, "DE") == 0 && chance(r, 0.6))
			fm = FREE_MAIL_INTL + (chance(r, 0.5) ? 0 : 1);
		else if (strcmp(l->country, "FR") == 0 && chance(r, 0.4))
			fm = FREE_MAIL_INTL + 2;
		di = s->ncompanies + fm;
		domain = free_mail[fm];
	} else {
		di = (size_t)between(r, 0, (int64_t)s->ncompanies - 1);
		l->co = &s->companies[di];
		domain = l->co->domain;
		l->segment = l->co->segment;
		l->country = countries[l->co->country].code;
		snprintf(l->company, sizeof(l->company), "%s", l->co->name);
	}
	fi = (size_t)between(r, 0, (int64_t)ARRAY_LEN(first_names) - 1);
	li = (size_t)between(r, 0, (int64_t)ARRAY_LEN(last_names) - 1);
	l->first = first_names[fi];
	l->last = last_names[li];
	lower_ascii(fl, sizeof(fl), l->first);
	lower_ascii(ll, sizeof(ll), l->last);
	key = (fi * ARRAY_LEN(last_names) + li) * s->ndomains + di;
	if (s->used[key / 8] & (1u << (key % 8)))
		snprintf(l->email, sizeof(l->email), "%s.%s%" PRIu64 "@%s", fl,
		    ll, s->lead_no, domain);
	else
		snprintf(l->email, sizeof(l->email), "%s.%s@%s", fl, ll,
		    domain);
	s->used[key / 8] |= (uint8_t)(1u << (key % 8));
	l->score = l->persona->student ? (int)between(r, 0, 25) :
	    (int)between(r, 0, 80);
	snprintf(l->campaign, sizeof(l->campaign), "%d-q%d-%s", s->year,
	    s->quarter, campaigns[weighted(r, campaign_weights,
	    ARRAY_LEN(campaign_weights))]);
	l->utm = PICK(r, utm_sources);
	snprintf(l->crm_id, sizeof(l->crm_id), "00Q%s%07" PRIu64, s->tag,
	    ++s->crm_no);
}

/* ,"lead":{...} with the whole profile. */
static void
lead_profile(sbuf_t *b, const lead_t *l, const char *id, const char *email,
    const char *campaign)
{
	sbuf_adds(b, ",\"lead\":{");
	json_kv(b, true, "id", id);
	json_kv(b, false, "email", email);
	json_kv(b, false, "first_name", l->first);
	json_kv(b, false, "last_name", l->last);
	if (l->company[0] != '\0')
		json_kv(b, false, "company", l->company);
	json_kv(b, false, "title", l->persona->title);
	json_kv(b, false, "country", l->country);
	json_kv(b, false, "segment", segment_names[l->segment]);
	sbuf_printf(b, ",\"score\":%d", l->score);
	json_kv(b, false, "campaign", campaign);
	sbuf_adds(b, ",\"attributes\":{");
	json_kv(b, true, "utm_source", l->utm);
	if (l->co != NULL)
		json_kv(b, false, "industry", l->co->industry);
	sbuf_adds(b, "}}");
}

/* ,"lead":{"id":...} */
static void
lead_id_only(sbuf_t *b, const lead_t *l)
{
	sbuf_adds(b, ",\"lead\":{");
	json_kv(b, true, "id", l->id);
	sbuf_addc(b, '}');
}

/* ,"lead_ref":{...}: the first CRM event gives the email and the CRM's
 * own id together, later ones the id alone. */
static void
lead_ref(sbuf_t *b, const lead_t *l, bool with_email)
{
	sbuf_adds(b, ",\"lead_ref\":{");
	if (with_email) {
		json_kv(b, true, "email", l->email);
		json_kv(b, false, "crm_id", l->crm_id);
	} else {
		json_kv(b, true, "crm_id", l->crm_id);
	}
	sbuf_addc(b, '}');
}

/* The same email as another tool may hold it: each part of the name
 * capitalised, as the person typed it there ("Ana.Lopez@..."). */
static void
email_as_typed(char *d, size_t n, const char *email)
{
	bool up = true, domain = false;
	size_t i;

	for (i = 0; email[i] != '\0' && i + 1 < n; i++) {
		char c = email[i];

		d[i] = !domain && up && c >= 'a' && c <= 'z' ?
		    (char)(c - 'a' + 'A') : c;
		up = c == '.';
		if (c == '@')
			domain = true;
	}
	d[i] = '\0';
}

/* A deal of a connected lead: opened, moved on, won or lost, or still open
 * when the simulation ends. */
static void
deal(sim_t *s, const lead_t *l, ts_t t)
{
	static const int64_t base[] = { 6000, 24000, 90000 };
	rng_t *r = &s->rng;
	double speed = l->segment == SEG_SMB ? 0.4 :
	    l->segment == SEG_MID ? 0.8 : 1.5;
	int64_t amount = base[l->segment] / 2 +
	    between(r, 0, base[l->segment] * 3 / 2);
	const char *cur = strcmp(l->country, "GB") == 0 ? "GBP" : "EUR";
	char id[32], name[160];
	sbuf_t b;

	amount = amount / 100 * 100;
	snprintf(id, sizeof(id), "006%s%07" PRIu64, s->tag, ++s->deal_no);
	snprintf(name, sizeof(name), "%s - %s", l->company[0] != '\0' ?
	    l->company : l->last, PICK(r, products));
	sbuf_init(&b);
	t = after_business(s, t, (double)between(r, 2, 16) * speed * HOUR_US);
	sbuf_adds(&b, ",\"deal\":{");
	json_kv(&b, true, "id", id);
	json_kv(&b, false, "name", name);
	sbuf_printf(&b, ",\"amount\":%" PRId64, amount);
	json_kv(&b, false, "currency", cur);
	json_kv(&b, false, "stage", "discovery");
	sbuf_addc(&b, '}');
	lead_ref(&b, l, false);
	queue(s, SRC_CRM, EV_DEAL_OPENED, t, b.s);

	if (chance(r, 0.2)) {
		/* Lost at discovery. */
		t = after_business(s, t, (double)between(r, 2, 16) * speed *
		    HOUR_US);
		sbuf_reset(&b);
		sbuf_adds(&b, ",\"deal\":{");
		json_kv(&b, true, "id", id);
		json_kv(&b, false, "outcome", "lost");
		json_kv(&b, false, "reason", PICK(r, lost_reasons));
		sbuf_addc(&b, '}');
		queue(s, SRC_CRM, EV_DEAL_CLOSED, t, b.s);
		sbuf_free(&b);
		return;
	}
	for (int step = 0; step < 2; step++) {
		if (step == 1 && chance(r, 0.4))
			break;
		t = after_business(s, t, (double)between(r, 2, 16) * speed *
		    HOUR_US);
		sbuf_reset(&b);
		sbuf_adds(&b, ",\"deal\":{");
		json_kv(&b, true, "id", id);
		json_kv(&b, false, "stage", step == 0 ? "proposal" :
		    "negotiation");
		if (chance(r, 0.5)) {
			amount = amount * between(r, 80, 120) / 100 / 100 * 100;
			sbuf_printf(&b, ",\"amount\":%" PRId64, amount);
		}
		sbuf_addc(&b, '}');
		queue(s, SRC_CRM, EV_DEAL_STAGE_CHANGED, t, b.s);
	}
	if (chance(r, 0.85)) {
		bool won = chance(r, 0.5);

		t = after_business(s, t, (double)between(r, 2, 24) * speed *
		    HOUR_US);
		sbuf_reset(&b);
		sbuf_adds(&b, ",\"deal\":{");
		json_kv(&b, true, "id", id);
		json_kv(&b, false, "outcome", won ? "won" : "lost");
		sbuf_printf(&b, ",\"amount\":%" PRId64, amount);
		if (!won)
			json_kv(&b, false, "reason", PICK(r, lost_reasons));
		sbuf_addc(&b, '}');
		queue(s, SRC_CRM, EV_DEAL_CLOSED, t, b.s);
	}
	sbuf_free(&b);
}

/* After acceptance at t: touches until a connection (or giving up),
 * perhaps a reassignment, a meeting and a deal. */
static void
work_lead(sim_t *s, const lead_t *l, ts_t t)
{
	static const char *const channels[] = { "call", "email", "social" };
	static const double channel_w[] = { 60, 32, 8 };
	static const double connect_p[] = { 0.35, 0.2, 0.05 };
	rng_t *r = &s->rng;
	bool connected = false;
	int64_t us;
	sbuf_t b;

	sbuf_init(&b);
	if (s->p.nreps > 0 && chance(r, 0.03)) {
		const sim_rep_t *rep = &s->p.reps[between(r, 0,
		    (int64_t)s->p.nreps - 1)];

		sbuf_reset(&b);
		lead_ref(&b, l, false);
		json_kv(&b, false, "owner", rep->id);
		if (rep->team != NULL)
			json_kv(&b, false, "team", rep->team);
		queue(s, SRC_CRM, EV_SALES_REASSIGNED, after_business(s, t,
		    between(r, 10, 600) * MIN_US), b.s);
	}
	/* Some accepted leads are never touched: the first_touch clock. */
	if (chance(r, 0.03)) {
		sbuf_free(&b);
		return;
	}
	switch (weighted(r, (const double[]){ 55, 25, 13, 7 }, 4)) {
	case 0:
		us = log_between(r, 2, 45) * MIN_US;
		break;
	case 1:
		us = log_between(r, 45, 240) * MIN_US;
		break;
	case 2:
		us = between(r, 240, 480) * MIN_US;
		break;
	default:
		us = between(r, 480, 1200) * MIN_US;
		break;
	}
	t = rep_time(s, t, us);
	for (int attempt = 0; attempt < 5 && !connected; attempt++) {
		size_t ch = weighted(r, channel_w, ARRAY_LEN(channel_w));

		if (attempt > 0)
			t = after_business(s, t, log_between(r, 60, 1800) *
			    MIN_US);
		connected = chance(r, connect_p[ch] + 0.05 * attempt);
		sbuf_reset(&b);
		lead_ref(&b, l, false);
		json_kv(&b, false, "channel", channels[ch]);
		json_kv(&b, false, "outcome", connected ? "connected" :
		    "attempted");
		queue(s, SRC_CRM, EV_SALES_ACTIVITY, t, b.s);
	}
	if (!connected) {
		/* Marketing takes some silent leads back to nurture. */
		if (chance(r, 0.5)) {
			sbuf_reset(&b);
			lead_id_only(&b, l);
			json_kv(&b, false, "reason",
			    "no response to sales outreach");
			queue(s, l->src, EV_LEAD_RECYCLED, t +
			    between(r, 3 * 24, 8 * 24) * HOUR_US, b.s);
		}
		sbuf_free(&b);
		return;
	}
	if (chance(r, 0.35)) {
		t = after_business(s, t, between(r, 4, 24) * HOUR_US);
		sbuf_reset(&b);
		lead_ref(&b, l, false);
		json_kv(&b, false, "channel", "meeting");
		json_kv(&b, false, "outcome", "connected");
		queue(s, SRC_CRM, EV_SALES_ACTIVITY, t, b.s);
	}
	sbuf_free(&b);
	if (chance(r, 0.55))
		deal(s, l, t);
}

/* An MQL at q: the CRM accepts or rejects it (or nobody answers). */
static void
sales_answer(sim_t *s, const lead_t *l, ts_t q)
{
	rng_t *r = &s->rng;
	double k = l->segment == SEG_ENT ? 0.3 : 1.0;
	int64_t us;
	sbuf_t b;
	ts_t t;

	/* Nobody answers: breaches, escalations, a reassignment; marketing
	 * takes some back after a few days. */
	if (chance(r, 0.02)) {
		if (chance(r, 0.5)) {
			sbuf_init(&b);
			lead_id_only(&b, l);
			json_kv(&b, false, "reason", "no sales follow-up");
			queue(s, l->src, EV_LEAD_RECYCLED, q + between(r,
			    3 * 24, 5 * 24) * HOUR_US, b.s);
			sbuf_free(&b);
		}
		return;
	}
	/* Most within minutes, some hours, some past the goal, some days. */
	switch (weighted(r, (const double[]){ 40, 25, 15, 12, 8 }, 5)) {
	case 0:
		us = log_between(r, 60, 20 * 60) * TS_USEC;
		break;
	case 1:
		us = log_between(r, 20 * 60, 90 * 60) * TS_USEC;
		break;
	case 2:
		us = between(r, 90 * 60, 180 * 60) * TS_USEC;
		break;
	case 3:
		us = between(r, 180 * 60, 360 * 60) * TS_USEC;
		break;
	default:
		us = log_between(r, 6 * 3600, 3 * 8 * 3600) * TS_USEC;
		break;
	}
	t = rep_time(s, q, (double)us * k);
	sbuf_init(&b);
	lead_ref(&b, l, true);
	if (l->persona->student || chance(r, 0.11)) {
		json_kv(&b, false, "reason", l->persona->student ? "student" :
		    reject_reasons[weighted(r, reject_weights,
		    ARRAY_LEN(reject_weights))]);
		queue(s, SRC_CRM, EV_SALES_REJECTED, t, b.s);
		sbuf_free(&b);
		return;
	}
	queue(s, SRC_CRM, EV_SALES_ACCEPTED, t, b.s);
	sbuf_free(&b);
	work_lead(s, l, t);
}

/* A new lead at c, and everything that will happen to it. */
static void
create_lead(sim_t *s, ts_t c)
{
	rng_t *r = &s->rng;
	bool qualifies;
	lead_t l;
	sbuf_t b;
	ts_t q;

	new_person(s, &l);
	sbuf_init(&b);
	lead_profile(&b, &l, l.id, l.email, l.campaign);
	queue(s, l.src, EV_LEAD_UPSERTED, c, b.s);

	/* The same person in the other tool, under the same email. */
	if (chance(r, 0.08)) {
		int other = l.src == SRC_MARKETO ? SRC_HUBSPOT : SRC_MARKETO;
		char id[48], email[320], campaign[64];

		snprintf(id, sizeof(id), "%s-%c%06" PRIu64, s->tag,
		    other == SRC_MARKETO ? 'm' : 'h', ++s->lead_no);
		email_as_typed(email, sizeof(email), l.email);
		snprintf(campaign, sizeof(campaign), "%d-q%d-%s", s->year,
		    s->quarter, PICK(r, campaigns));
		sbuf_reset(&b);
		lead_profile(&b, &l, id, email, campaign);
		queue(s, other, EV_LEAD_UPSERTED, c + log_between(r, 10,
		    3 * 24 * 60) * MIN_US, b.s);
	}

	/* Hand-raisers qualify within minutes, the others once their score
	 * has grown, mostly while people work. */
	qualifies = chance(r, (0.18 + 0.4 * l.score / 100.0) *
	    l.persona->qualify);
	if (chance(r, 0.25)) {
		int score = l.score + (int)between(r, -5, 25);

		l.score = score < 0 ? 0 : score > 100 ? 100 : score;
		sbuf_reset(&b);
		sbuf_adds(&b, ",\"lead\":{");
		json_kv(&b, true, "id", l.id);
		sbuf_printf(&b, ",\"score\":%d", l.score);
		json_kv(&b, false, "title", l.persona->title);
		sbuf_adds(&b, "}");
		queue(s, l.src, EV_LEAD_UPSERTED, c + log_between(r, 60,
		    4 * 24 * 60) * MIN_US, b.s);
	}
	if (!qualifies) {
		if (chance(r, 0.05)) {
			sbuf_reset(&b);
			lead_id_only(&b, &l);
			json_kv(&b, false, "reason", l.persona->student ?
			    "student" : PICK(r, disqualify_reasons));
			queue(s, l.src, EV_LEAD_DISQUALIFIED, c +
			    log_between(r, 10, 2 * 24 * 60) * MIN_US, b.s);
		}
		sbuf_free(&b);
		return;
	}
	if (chance(r, 0.35))
		q = c + log_between(r, 60, 20 * 60) * TS_USEC;
	else if (chance(r, 0.7))
		q = after_business(s, c, log_between(r, 2 * 60, 5 * 8 * 60) *
		    MIN_US);
	else
		q = c + log_between(r, 2 * 60, 5 * 24 * 60) * MIN_US;
	l.score = l.score < 60 ? (int)between(r, 60, 85) : l.score;
	sbuf_reset(&b);
	sbuf_adds(&b, ",\"lead\":{");
	json_kv(&b, true, "id", l.id);
	sbuf_printf(&b, ",\"score\":%d", l.score);
	sbuf_addc(&b, '}');
	json_kv(&b, false, "reason", PICK(r, qualify_reasons));
	queue(s, l.src, EV_LEAD_QUALIFIED, q, b.s);
	sbuf_free(&b);
	sales_answer(s, &l, q);
}

static int
ts_cmp(const void *a, const void *b)
{
	ts_t x = *(const ts_t *)a, y = *(const ts_t *)b;

	return (x > y) - (x < y);
}

/* Draws the creation times of the leads of local day s->day. */
static void
plan_day(sim_t *s)
{
	const cal_tz_t *tz = cal_tz(s->p.cal);
	int wd = weekday(s->day);
	const double *hw = wd < 5 ? hour_weekday : hour_weekend;
	double n = s->p.leads_per_day * weekday_factor[wd] *
	    (0.88 + 0.24 * unit(&s->rng));
	size_t count = (size_t)llround(n);

	s->ncreations = s->next_creation = 0;
	if (count > s->creations_cap) {
		s->creations_cap = count;
		s->creations = xreallocarray(s->creations, count,
		    sizeof(*s->creations));
	}
	for (size_t i = 0; i < count; i++) {
		int minute = (int)weighted(&s->rng, hw, 24) * 60 +
		    (int)between(&s->rng, 0, 59);
		ts_t t = cal_tz_to_utc(tz, s->day, minute) +
		    between(&s->rng, 0, 59) * TS_USEC;

		if (t >= s->p.start && t < s->end)
			s->creations[s->ncreations++] = t;
	}
	qsort(s->creations, s->ncreations, sizeof(*s->creations), ts_cmp);
}

/* The time of the next lead to create, CAL_NEVER when none is left. */
static ts_t
peek_creation(sim_t *s)
{
	while (s->next_creation == s->ncreations) {
		if (s->day >= s->last_day)
			return CAL_NEVER;
		s->day++;
		plan_day(s);
	}
	return s->creations[s->next_creation];
}

/* ---- The module's API ------------------------------------------------- */

static uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v;
	return splitmix64(&h);
}

sim_t *
sim_new(const sim_params_t *p, char **err)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	const cal_tz_t *tz;
	uint64_t x, h;
	int64_t sday, off, secs;
	size_t i, order[ARRAY_LEN(company_stems) * ARRAY_LEN(company_words)];
	int y, m, d;
	sim_t *s;

	if (p->cal == NULL) {
		*err = xasprintf("simulate: no calendar");
		return NULL;
	}
	if (p->days < 1 || p->days > SIM_MAX_DAYS) {
		*err = xasprintf("simulate: days must be 1 to %d, not %d",
		    SIM_MAX_DAYS, p->days);
		return NULL;
	}
	if (p->leads_per_day < 1 || p->leads_per_day > SIM_MAX_RATE) {
		*err = xasprintf("simulate: leads a day must be 1 to %d, "
		    "not %d", SIM_MAX_RATE, p->leads_per_day);
		return NULL;
	}
	if (p->tick_s < 0 || p->tick_s > 86400) {
		*err = xasprintf("simulate: the clock.tick interval must be "
		    "0 to 86400 seconds, not %d", p->tick_s);
		return NULL;
	}
	/* From 1970 to 9000: far from the ends of the calendar's range. */
	if (p->start < 0 || p->start > INT64_C(221845392000) * TS_USEC) {
		*err = xasprintf("simulate: the start must lie between the "
		    "years 1970 and 9000");
		return NULL;
	}
	for (i = 0; i < p->nreps; i++)
		if (p->reps[i].id == NULL || p->reps[i].id[0] == '\0') {
			*err = xasprintf("simulate: rep %zu has no id", i);
			return NULL;
		}

	s = xcalloc(1, sizeof(*s));
	s->p = *p;
	tz = cal_tz(p->cal);
	x = p->seed;
	for (i = 0; i < 4; i++)
		s->rng.s[i] = splitmix64(&x);

	/* The end: the start's local time of day, days later. */
	off = cal_tz_offset(tz, p->start);
	sday = local_day(tz, p->start);
	secs = (p->start / TS_USEC + off) - sday * 86400;
	s->end = cal_tz_to_utc(tz, sday + p->days, (int)(secs / 60)) +
	    (secs % 60) * TS_USEC + p->start % TS_USEC;
	if (s->end <= p->start)
		s->end = p->start + (int64_t)p->days * DAY_US;

	h = mix(mix(mix(mix(UINT64_C(0x68616e646f6666), p->seed),
	    (uint64_t)p->start), (uint64_t)p->days),
	    (uint64_t)p->leads_per_day);
	for (i = 0; i < TAG_LEN; i++) {
		s->tag[i] = digits[h % 36];
		h /= 36;
	}
	s->tag[TAG_LEN] = '\0';
	ts_civil_from_days(sday, &y, &m, &d);
	s->year = y;
	s->quarter = (m - 1) / 3 + 1;

	/* The companies: distinct (stem, word) pairs in a shuffled order. */
	for (i = 0; i < ARRAY_LEN(order); i++)
		order[i] = i;
	for (i = ARRAY_LEN(order) - 1; i > 0; i--) {
		size_t j = (size_t)between(&s->rng, 0, (int64_t)i), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	s->ncompanies = NCOMPANIES;
	s->companies = xcalloc(s->ncompanies, sizeof(*s->companies));
	for (i = 0; i < s->ncompanies; i++) {
		company_t *c = &s->companies[i];
		const char *stem = company_stems[order[i] %
		    ARRAY_LEN(company_stems)];
		const char *word = company_words[order[i] /
		    ARRAY_LEN(company_stems)];
		char a[48], bw[48];

		c->country = country_of(&s->rng);
		c->segment = (int)weighted(&s->rng, segment_weights,
		    ARRAY_LEN(segment_weights));
		c->industry = PICK(&s->rng, industries);
		snprintf(c->name, sizeof(c->name), "%s %s %s", stem, word,
		    countries[c->country].suffix);
		lower_ascii(a, sizeof(a), stem);
		lower_ascii(bw, sizeof(bw), word);
		snprintf(c->domain, sizeof(c->domain), "%s-%s.example", a, bw);
	}
	s->ndomains = s->ncompanies + ARRAY_LEN(free_mail);
	s->used = xcalloc((ARRAY_LEN(first_names) * ARRAY_LEN(last_names) *
	    s->ndomains + 7) / 8, 1);

	/* Leads are planned day by day, from the start's local day on. */
	s->day = sday - 1;
	s->last_day = local_day(tz, s->end - 1);
	s->next_tick = p->tick_s > 0 ? p->start + (int64_t)p->tick_s *
	    TS_USEC : CAL_NEVER;
	if (s->next_tick != CAL_NEVER && s->next_tick > s->end)
		s->next_tick = s->end;
	return s;
}

void
sim_destroy(sim_t **sp)
{
	sim_t *s = *sp;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nheap; i++)
		free(s->heap[i].json);
	free(s->heap);
	free(s->cur.json);
	free(s->creations);
	free(s->companies);
	free(s->used);
	free(s);
	*sp = NULL;
}

static void
set_event(sim_event_t *ev, const pend_t *e)
{
	ev->at = e->at;
	ev->type = e->type;
	ev->json = e->json;
	ev->len = e->len;
	ev->at_off = e->at_off;
	ev->at_len = (size_t)(strchr(e->json + e->at_off, '"') -
	    (e->json + e->at_off));
}

bool
sim_next(sim_t *s, sim_event_t *ev)
{
	free(s->cur.json);
	s->cur.json = NULL;
	for (;;) {
		ts_t c = peek_creation(s);
		ts_t h = s->nheap > 0 ? s->heap[0].at : CAL_NEVER;
		ts_t k = s->next_tick;

		if (c != CAL_NEVER && c <= h && c <= k) {
			s->next_creation++;
			create_lead(s, c);
			continue;
		}
		if (h == CAL_NEVER && k == CAL_NEVER)
			return false;
		if (h <= k) {
			s->cur = heap_pop(s);
			set_event(ev, &s->cur);
			return true;
		}
		/* A tick comes after every event of the same instant. */
		s->cur = make_event(s, SRC_CLOCK, EV_CLOCK_TICK, k, "");
		if (k == s->end)
			s->next_tick = CAL_NEVER;
		else if ((s->next_tick = k + (int64_t)s->p.tick_s * TS_USEC) >
		    s->end)
			s->next_tick = s->end;
		set_event(ev, &s->cur);
		return true;
	}
}

ts_t
sim_end(const sim_t *s)
{
	return s->end;
}

const char *
sim_tag(const sim_t *s)
{
	return s->tag;
}

void
sim_event_retime(const sim_event_t *ev, ts_t at, sbuf_t *out)
{
	char ts[TS_BUFLEN];

	sbuf_reset(out);
	sbuf_add(out, ev->json, ev->at_off);
	sbuf_add(out, ts, ts_format(at, ts));
	sbuf_adds(out, ev->json + ev->at_off + ev->at_len);
}
