/*
 * handoffctl: the command-line tool that talks to handoffd's control
 * endpoint (SPEC §8).
 */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("handoffctl %s\n", HANDOFF_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: handoffctl [-e ENDPOINT | -c FILE] COMMAND [ARGS]\n");
	return 2;
}
