// SPDX-License-Identifier: MIT
/* Log line shapes: the journal's (priority prefix, no timestamp) and the
 * dated one; JOURNAL_STREAM matched against a real file's dev:ino. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "testutil.h"
#include "log.h"

static size_t fmt(char *buf, size_t len, enum lwt_log_level l, bool journal, const char *f, ...)
{
	/* 2026-01-02T03:04:05.678Z */
	struct timespec ts = { .tv_sec = 1767323045, .tv_nsec = 678900000 };
	va_list ap;
	size_t n;

	va_start(ap, f);
	n = lwt_log_format(buf, len, l, journal, &ts, f, ap);
	va_end(ap);
	return n;
}

static void test_shapes(void **state)
{
	static const struct {
		enum lwt_log_level level;
		bool journal;
		const char *want;
	} cases[] = {
		{ LWT_LOG_ERROR, true, "<3>peer 7 gone" },				/* 1 */
		{ LWT_LOG_WARN, true, "<4>peer 7 gone" },				/* 2 */
		{ LWT_LOG_INFO, true, "<6>peer 7 gone" },				/* 3 */
		{ LWT_LOG_DEBUG, true, "<7>peer 7 gone" },				/* 4 */
		{ LWT_LOG_TRACE, true, "<7>peer 7 gone" },				/* 5 */
		{ LWT_LOG_ERROR, false, "2026-01-02T03:04:05.678Z error peer 7 gone" },	/* 6 */
		{ LWT_LOG_INFO, false, "2026-01-02T03:04:05.678Z info  peer 7 gone" },	/* 7 */
		{ LWT_LOG_TRACE, false, "2026-01-02T03:04:05.678Z trace peer 7 gone" },	/* 8 */
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = fmt(buf, sizeof(buf), cases[i].level, cases[i].journal, "peer %d gone\n", 7);

		if (strcmp(buf, cases[i].want) || n != strlen(buf))
			fail_msg("case %zu: \"%s\", want \"%s\"", i + 1, buf, cases[i].want);
	}
}

static void test_one_line(void **state)
{
	char buf[64], big[300];

	/* A message's inner newlines cannot start a line of their own (a forged
	 * "<3>" or timestamp in a peer-supplied string). */
	fmt(buf, sizeof(buf), LWT_LOG_INFO, true, "a\n<3>b\n\n");
	assert_string_equal(buf, "<6>a <3>b");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(fmt(buf, sizeof(buf), LWT_LOG_WARN, false, "%s", big), sizeof(buf) - 1);
	assert_memory_equal(buf, "2026-01-02T03:04:05.678Z warn  xxx", 34);
}

static void test_journal_stream(void **state)
{
	char path[] = "/tmp/lwt-test-log-XXXXXX", env[64];
	struct stat st;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_true(lwt_log_journal_stream(env, fd));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	assert_false(lwt_log_journal_stream(env, fd));		/* another file */
	snprintf(env, sizeof(env), "%llu:%llux", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_false(lwt_log_journal_stream(env, fd));		/* trailing junk */
	assert_false(lwt_log_journal_stream(NULL, fd));
	assert_false(lwt_log_journal_stream("", fd));
	assert_false(lwt_log_journal_stream("1:2", -1));
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_journal_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
