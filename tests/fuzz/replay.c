/*
 * replay: the standalone driver for every fuzz target. It feeds each file of
 * the target's corpus (committed seeds and crash reproducers) to
 * LLVMFuzzerTestOneInput, so plain `make check` replays them without
 * libFuzzer. A crash or sanitizer report fails the test.
 *
 * Usage: replay_<target> [DIR|FILE]...; with no argument it reads
 * $LK_SRCDIR/tests/fuzz/corpus/<target>/ where <target> comes from the
 * program name (replay_ipc -> ipc).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	if (f == NULL) {
		fprintf(stderr, "replay: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	/* An exact-size heap copy, so ASan sees every read past the end. */
	data = malloc(n > 0 ? (size_t)n : 1);
	if (data == NULL || (n > 0 && fread(data, 1, (size_t)n, f) != (size_t)n)) {
		fprintf(stderr, "replay: read %s failed\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	return 0;
}

static int
replay_path(const char *path, int *count)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char sub[4096];
	int rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (replay_path(sub, count) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	const char *srcdir = getenv("LK_SRCDIR");
	char dir[4096];
	int count = 0, rc = 0, i;

	name = name ? name + 1 : argv[0];
	if (strncmp(name, "replay_", 7) == 0)
		name += 7;
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay_path(argv[i], &count) < 0)
				rc = 1;
	} else {
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", srcdir ? srcdir : LK_SRCDIR,
		        name);
		if (replay_path(dir, &count) < 0)
			rc = 1;
	}
	if (count == 0) {
		fprintf(stderr, "replay %s: empty corpus\n", name);
		return 1;
	}
	printf("replay %s: %d inputs, no crash\n", name, count);
	return rc;
}
