/*
 * Log sink: the journal (structured) or standard error (one line each,
 * prefixed with the time and level). The level filter is applied before any
 * formatting so that debug logging costs nothing when it is off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "handoff/log.h"

static const char *log_ident = "handoff";
static bool log_journal;
static log_level_t log_level = LOG_LVL_INFO;

static const char *const names[] = { "error", "warn", "info", "debug" };
static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

int
log_level_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(log_level_t l)
{
	return names[l];
}

void
log_init(const char *ident, bool use_journal, log_level_t level)
{
	log_ident = ident;
	log_journal = use_journal;
	log_level = level;
}

void
log_set_level(log_level_t level)
{
	log_level = level;
}

log_level_t
log_get_level(void)
{
	return log_level;
}

bool
log_under_systemd(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%lu:%lu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) == -1)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

static void vlog(log_level_t l, int errnum, const char *source, const char *id,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void
vlog(log_level_t l, int errnum, const char *source, const char *id,
    const char *fmt, va_list ap)
{
	char msg[2048];
	int n;

	if (l > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (errnum != 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(errnum));

	if (log_journal) {
		if (source != NULL)
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d",
			    prio[l], "SYSLOG_IDENTIFIER=%s", log_ident,
			    "HANDOFF_SOURCE=%s", source, "HANDOFF_EVENT_ID=%s",
			    id != NULL ? id : "", NULL);
		else
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d",
			    prio[l], "SYSLOG_IDENTIFIER=%s", log_ident, NULL);
		return;
	}

	{
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		if (source != NULL)
			fprintf(stderr, "%s.%03ldZ %s[%d] %s: [%s/%s] %s\n",
			    when, ts.tv_nsec / 1000000, log_ident, (int)getpid(),
			    names[l], source, id != NULL ? id : "", msg);
		else
			fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s\n", when,
			    ts.tv_nsec / 1000000, log_ident, (int)getpid(),
			    names[l], msg);
	}
}

#define DEFINE_LOG(name, lvl, witherr)                                   \
	void name(const char *fmt, ...)                                  \
	{                                                                \
		int saved = errno;                                       \
		va_list ap;                                              \
		va_start(ap, fmt);                                       \
		vlog(lvl, (witherr) ? saved : 0, NULL, NULL, fmt, ap);   \
		va_end(ap);                                              \
		errno = saved;                                           \
	}

DEFINE_LOG(log_debug, LOG_LVL_DEBUG, 0)
DEFINE_LOG(log_info, LOG_LVL_INFO, 0)
DEFINE_LOG(log_warn, LOG_LVL_WARN, 1)
DEFINE_LOG(log_warnx, LOG_LVL_WARN, 0)
DEFINE_LOG(log_error, LOG_LVL_ERROR, 0)

void
log_event(log_level_t l, const char *source, const char *id,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(l, 0, source != NULL ? source : "", id, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, saved, NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
