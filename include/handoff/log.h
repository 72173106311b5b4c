/*
 * Logging, after OpenBSD's log.h: log_warn appends strerror(errno),
 * log_warnx does not; fatal/fatalx log and exit(1). Messages go to the
 * systemd journal (with structured fields) when the process runs under
 * systemd, and to standard error otherwise.
 */
#ifndef HANDOFF_LOG_H
#define HANDOFF_LOG_H

#include <stdbool.h>
#include "handoff/util.h"

typedef enum {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
} log_level_t;

/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int log_level_parse(const char *s);
const char *log_level_name(log_level_t l);

/* use_journal: send to the journal instead of stderr. */
void log_init(const char *ident, bool use_journal, log_level_t level);
void log_set_level(log_level_t level);
log_level_t log_get_level(void);
/* True when JOURNAL_STREAM names our stderr (started by systemd). */
bool log_under_systemd(void);

void log_debug(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_info(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_warn(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_warnx(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_error(const char *fmt, ...) PRINTFLIKE(1, 2);
/*
 * A warning about one event, with its source and id as structured fields
 * (HANDOFF_SOURCE=, HANDOFF_EVENT_ID=) in the journal.
 */
void log_event(log_level_t l, const char *source, const char *id,
    const char *fmt, ...) PRINTFLIKE(4, 5);
__attribute__((noreturn)) void fatal(const char *fmt, ...) PRINTFLIKE(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) PRINTFLIKE(1, 2);

#endif
