/*
 * A realistic mix of inbound events for the benchmarks: per 100 events
 * about 55 lead.upserted, 10 lead.qualified, 8 sales.accepted,
 * 2 sales.rejected, 15 sales.activity, 5 deal.* and 5 others (recycled,
 * disqualified, reassigned), over a population of distinct leads whose
 * emails recur across two marketing sources. Deterministic for a seed.
 */
#ifndef HANDOFF_BENCH_MIX_H
#define HANDOFF_BENCH_MIX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
	uint64_t state;
	uint64_t n;        /* events made so far */
	uint64_t leads;    /* size of the lead population */
	int64_t t0;        /* first occurred_at, seconds since the epoch */
} mix_t;

static inline uint64_t
mix_rand(mix_t *m)
{
	/* xorshift64*: fast and good enough to pick event kinds. */
	m->state ^= m->state >> 12;
	m->state ^= m->state << 25;
	m->state ^= m->state >> 27;
	return m->state * UINT64_C(2685821657736338717);
}

static inline void
mix_init(mix_t *m, uint64_t seed, uint64_t leads)
{
	m->state = seed ? seed : 88172645463325252ULL;
	m->n = 0;
	m->leads = leads;
	m->t0 = 1795000000;
}

static const char *const mix_first[] = { "Ana", "Bo", "Chen", "Dana", "Emil",
	"Fatima", "Georg", "Hiro", "Inés", "Jon", "Kofi", "Lena" };
static const char *const mix_last[] = { "Nowak", "Smith", "Müller", "Okafor",
	"Rossi", "Tanaka", "García", "Dubois", "Lindqvist", "Patel" };
static const char *const mix_company[] = { "Acme Ltd", "Globex GmbH",
	"Initech", "Umbrella plc", "Hooli", "Stark Industries", "Wayne Corp" };
static const char *const mix_country[] = { "GB", "DE", "FR", "ES", "NL", "IE" };
static const char *const mix_segment[] = { "smb", "smb", "smb", "mid",
	"enterprise" };
static const char *const mix_channel[] = { "call", "email", "meeting",
	"social", "other" };

#define MIX_PICK(m, a) (a[mix_rand(m) % (sizeof(a) / sizeof(a[0]))])

/*
 * Writes the next event: its topic into topic (NUL-terminated) and its body
 * into body. Returns the body's length.
 */
static inline size_t
mix_next(mix_t *m, char *topic, size_t tcap, char *body, size_t bcap)
{
	uint64_t r = mix_rand(m) % 100, lead = mix_rand(m) % m->leads;
	uint64_t id = ++m->n;
	int64_t t = m->t0 + (int64_t)(id / 20);
	char when[40];
	/* Two marketing sources share half of the people (same email). */
	const char *src = (lead & 1) && (id & 1) ? "hubspot" : "marketo";
	int n;

	{
		int64_t d = t / 86400, s = t % 86400;
		/* Civil date from days (Hinnant), inline to stay standalone. */
		int64_t z = d + 719468, era = z / 146097, doe = z - era * 146097;
		int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
		int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
		int64_t mp = (5 * doy + 2) / 153, dd = doy - (153 * mp + 2) / 5 + 1;
		int64_t mm = mp + (mp < 10 ? 3 : -9), yy = yoe + era * 400 + (mm <= 2);

		snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
		    (int)yy, (int)mm, (int)dd, (int)(s / 3600),
		    (int)(s / 60 % 60), (int)(s % 60), (int)(id % 1000000));
	}
#define ENV(type) "{\"v\":1,\"id\":\"ev-%llu\",\"source\":\"%s\",\"type\":\"" \
	type "\",\"occurred_at\":\"%s\""
#define LEADREF ",\"lead_ref\":{\"email\":\"person%llu@example%llu.com\"}"
	if (r < 55 || (r >= 95 && r < 97)) {
		snprintf(topic, tcap, "lead.upserted");
		n = snprintf(body, bcap, ENV("lead.upserted")
		    ",\"lead\":{\"id\":\"%s-%llu\",\"email\":\"Person%llu@Example%llu.com\","
		    "\"first_name\":\"%s\",\"last_name\":\"%s\",\"company\":\"%s\","
		    "\"title\":\"Head of Operations\",\"country\":\"%s\",\"segment\":\"%s\","
		    "\"score\":%d,\"campaign\":\"webinar-2026-%02d\","
		    "\"attributes\":{\"utm_source\":\"linkedin\",\"industry\":\"retail\"}}}",
		    (unsigned long long)id, src, when, src, (unsigned long long)lead,
		    (unsigned long long)lead, (unsigned long long)(lead % 97),
		    MIX_PICK(m, mix_first), MIX_PICK(m, mix_last),
		    MIX_PICK(m, mix_company), MIX_PICK(m, mix_country),
		    MIX_PICK(m, mix_segment), (int)(mix_rand(m) % 100),
		    (int)(mix_rand(m) % 12 + 1));
	} else if (r < 65) {
		snprintf(topic, tcap, "lead.qualified");
		n = snprintf(body, bcap, ENV("lead.qualified")
		    ",\"lead\":{\"id\":\"%s-%llu\",\"email\":\"person%llu@example%llu.com\","
		    "\"country\":\"%s\",\"segment\":\"%s\",\"score\":%d},"
		    "\"reason\":\"score above threshold\"}",
		    (unsigned long long)id, src, when, src, (unsigned long long)lead,
		    (unsigned long long)lead, (unsigned long long)(lead % 97),
		    MIX_PICK(m, mix_country), MIX_PICK(m, mix_segment),
		    (int)(mix_rand(m) % 100));
	} else if (r < 73) {
		snprintf(topic, tcap, "sales.accepted");
		n = snprintf(body, bcap, ENV("sales.accepted") LEADREF
		    ",\"owner\":\"rep%d@corp.example\"}",
		    (unsigned long long)id, "salesforce", when,
		    (unsigned long long)lead, (unsigned long long)(lead % 97),
		    (int)(mix_rand(m) % 12));
	} else if (r < 75) {
		snprintf(topic, tcap, "sales.rejected");
		n = snprintf(body, bcap, ENV("sales.rejected") LEADREF
		    ",\"reason\":\"no budget this year\"}",
		    (unsigned long long)id, "salesforce", when,
		    (unsigned long long)lead, (unsigned long long)(lead % 97));
	} else if (r < 90) {
		snprintf(topic, tcap, "sales.activity");
		n = snprintf(body, bcap, ENV("sales.activity") LEADREF
		    ",\"channel\":\"%s\",\"outcome\":\"%s\"}",
		    (unsigned long long)id, "salesforce", when,
		    (unsigned long long)lead, (unsigned long long)(lead % 97),
		    MIX_PICK(m, mix_channel), (r & 1) ? "connected" : "attempted");
	} else if (r < 92) {
		snprintf(topic, tcap, "deal.opened");
		n = snprintf(body, bcap, ENV("deal.opened") LEADREF
		    ",\"deal\":{\"id\":\"deal-%llu\",\"name\":\"New business\","
		    "\"amount\":%d.50,\"currency\":\"EUR\",\"stage\":\"discovery\"}}",
		    (unsigned long long)id, "salesforce", when,
		    (unsigned long long)lead, (unsigned long long)(lead % 97),
		    (unsigned long long)lead, (int)(mix_rand(m) % 90000 + 1000));
	} else if (r < 94) {
		snprintf(topic, tcap, "deal.stage_changed");
		n = snprintf(body, bcap, ENV("deal.stage_changed")
		    ",\"deal\":{\"id\":\"deal-%llu\",\"stage\":\"proposal\"}}",
		    (unsigned long long)id, "salesforce", when,
		    (unsigned long long)lead);
	} else if (r < 95) {
		snprintf(topic, tcap, "deal.closed");
		n = snprintf(body, bcap, ENV("deal.closed")
		    ",\"deal\":{\"id\":\"deal-%llu\",\"outcome\":\"%s\","
		    "\"amount\":%d}}",
		    (unsigned long long)id, "salesforce", when,
		    (unsigned long long)lead, (r & 1) ? "won" : "lost",
		    (int)(mix_rand(m) % 90000 + 1000));
	} else if (r < 98) {
		snprintf(topic, tcap, "lead.recycled");
		n = snprintf(body, bcap, ENV("lead.recycled")
		    ",\"lead\":{\"id\":\"%s-%llu\"},\"reason\":\"not now\"}",
		    (unsigned long long)id, src, when, src,
		    (unsigned long long)lead);
	} else {
		snprintf(topic, tcap, "sales.reassigned");
		n = snprintf(body, bcap, ENV("sales.reassigned") LEADREF
		    ",\"owner\":\"rep%d@corp.example\"}",
		    (unsigned long long)id, "salesforce", when,
		    (unsigned long long)lead, (unsigned long long)(lead % 97),
		    (int)(mix_rand(m) % 12));
	}
#undef ENV
#undef LEADREF
	return n < 0 ? 0 : (size_t)n;
}

#endif
