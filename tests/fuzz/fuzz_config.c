/*
 * Fuzz target for the configuration loader: the input is written to a
 * memory file and loaded as the configuration. A load either succeeds (and
 * the result is freed) or fails with at least one error line.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handoff/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], *errors = NULL;
	cfg_t *cfg = NULL;
	int fd = memfd_create("fuzz.conf", 0);

	if (fd == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (cfg_load(path, &cfg, &errors) == 0) {
		if (cfg == NULL)
			abort();
		cfg_destroy(&cfg);
	} else {
		if (errors == NULL || errors[0] == '\0')
			abort();
		free(errors);
	}
	close(fd);
	return 0;
}
