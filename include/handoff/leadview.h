/*
 * The reconciled lead as the control command `lead` shows it (SPEC §2.5):
 * one JSON object built by one set-based query over leads, deals and
 * stage_history.
 */
#ifndef HANDOFF_LEADVIEW_H
#define HANDOFF_LEADVIEW_H

#include <libpq-fe.h>

#include "handoff/ts.h"
#include "handoff/util.h"

/*
 * Looks a lead up by exactly one selector: lead_key; or email (trimmed and
 * lower-cased here, then matched against the emails remembered for leads);
 * or the marketing source and id together. The others are NULL.
 *
 * The object has "lead_key", "source", "id", "email", "stage", "stages"
 * (stage -> time entered in the current pass), "pass", "owner", "team",
 * "profile", "touches", "first_touch_at", "connected_at", "deals" (oldest
 * first), "history" (every stage entered, by pass and time) and "cycles".
 * Times are RFC 3339 UTC, as ts_format writes them: whole seconds as
 * "2026-03-02T09:00:00Z", otherwise with six fractional digits.
 *
 * now is the daemon's clock, for the clocks' elapsed and remaining times.
 *
 * Returns 0 and the object in *json (malloc'd); 1 when there is no such
 * lead; 2 and a message in *err (malloc'd) when the request cannot be
 * answered as asked (not exactly one selector, or an email or marketing id
 * that names several leads: "email names 2 leads: L1, L7"); -1 and a
 * message in *err on a database error.
 */
int leadview_json(PGconn *conn, const char *lead_key, const char *email,
    const char *source, const char *id, ts_t now, char **json, char **err)
    MUSTCHECK;

/* The email as leads are matched by it: trimmed, ASCII lower-cased.
 * Returns a malloc'd string. */
char *leadview_email_norm(const char *email);

#endif
