// SPDX-License-Identifier: MIT
/* lwt_metrics_text(): a stats document as lwt-ctl's, in; Prometheus text
 * out: exact samples, escaping, one HELP/TYPE per family ahead of its
 * samples, families contiguous, _total exactly on counters, and only
 * sessions that are up in the per-peer families. */
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "testutil.h"
#include "metrics.h"

static const char doc_json[] =
	"{\"version\":\"0.2.0\",\"mode\":\"server\",\"instance\":\"lwt\\\"0\",\"path\":\"af-xdp\","
	"\"xdp_mode\":\"native\",\"iface\":\"eth0\",\"xsk_bind\":\"copy\",\"queues\":2,"
	"\"poller_threads\":2,\"path_rx_errors\":0,\"path_tx_errors\":1,"
	"\"xdp\":{\"rx_packets\":100,\"redirected\":90},"
	"\"pollers\":[{\"sessions\":1,\"rx_segments\":5,\"tun_reads\":6,\"handoffs_out\":7,"
	"\"handoffs_in\":8,\"handoff_drops\":9},{\"sessions\":0,\"rx_segments\":50,\"tun_reads\":0,"
	"\"handoffs_out\":0,\"handoffs_in\":0,\"handoff_drops\":0}],"
	"\"uptime_s\":12.5,\"tun\":\"lwt0\",\"tun_mtu\":1400,\"tunnel_addr\":\"10.0.0.1/24\","
	"\"handshakes_ok\":3,\"handshakes_failed\":2,\"reconnects\":0,\"slots\":165,"
	"\"slots_busy_dataplane\":2,\"slots_busy_control\":2,\"slot_repairs\":0,\"rekeys\":4,"
	"\"rekeys_failed\":1,\"control_tx_msgs\":10,\"control_tx_bytes\":1000,"
	"\"peers\":["
	"{\"slot\":0,\"endpoint\":\"a\\\"b\\\\c\\nd\",\"tunnel_ip\":\"10.0.0.2\",\"state\":\"up\","
	"\"session_id\":\"0000abcd\",\"handshake_ms\":1.5,\"rtt_us\":250,\"key_epoch\":2,"
	"\"last_rekey_ms\":0,\"up_s\":10,\"fec\":{\"parity_now\":3,\"groups_sent\":1,"
	"\"data_sent\":2,\"parity_sent\":6,\"shards_received\":0,\"parity_received\":0,"
	"\"shards_lost\":4,\"packets_rebuilt\":3,\"groups_rebuilt_multi\":0,\"groups_closed\":1,"
	"\"groups_unrecoverable\":1,\"duplicates\":0,\"late\":0,\"loss_ppm\":20000,"
	"\"peer_loss_ppm\":0},\"rx_packets\":12345678901234,\"rx_bytes\":2,\"tx_packets\":3,"
	"\"drop_auth\":7,\"drop_replay\":0},"
	"{\"slot\":1,\"endpoint\":\"10.99.0.9:4000\",\"tunnel_ip\":\"\",\"state\":\"lwt-handshake\","
	"\"rx_packets\":1}],"
	"\"sessions\":1,\"totals\":{\"rx_packets\":99,\"drop_auth\":7,\"drop_no_route\":1}}";

static char *render(void)
{
	cJSON *doc = cJSON_Parse(doc_json);
	char *t;

	assert_non_null(doc);
	t = lwt_metrics_text(doc);
	cJSON_Delete(doc);
	assert_non_null(t);
	return t;
}

#define P "{peer=\"10.0.0.2\",endpoint=\"a\\\"b\\\\c\\nd\"}"
#define PR(r) "{peer=\"10.0.0.2\",endpoint=\"a\\\"b\\\\c\\nd\",reason=\"" r "\"}"

static void test_samples(void **state)
{
	static const char *const want[] = {
		"lwt_info{version=\"0.2.0\",mode=\"server\",instance=\"lwt\\\"0\",path=\"af-xdp\","
		"xdp_mode=\"native\",xsk_bind=\"copy\",iface=\"eth0\",tunnel_addr=\"10.0.0.1/24\"} 1",	/* 1 */
		"lwt_sessions 1",								/* 2 */
		"lwt_uptime_seconds 12.5",							/* 3 */
		"lwt_handshakes_total{result=\"ok\"} 3",					/* 4 */
		"lwt_handshakes_total{result=\"failed\"} 2",					/* 5 */
		"lwt_rekey_exchanges_total{result=\"failed\"} 1",				/* 6 */
		"lwt_path_tx_errors_total 1",							/* 7 */
		"lwt_rx_packets_total 99",							/* 8 */
		"lwt_drops_total{reason=\"auth\"} 7",						/* 9 */
		"lwt_drops_total{reason=\"no_route\"} 1",					/* 10 */
		"lwt_poller_rx_segments_total{poller=\"1\"} 50",				/* 11 */
		"lwt_poller_handoff_drops_total{poller=\"0\"} 9",				/* 12 */
		"lwt_xdp_redirected_total 90",							/* 13 */
		"lwt_peers{state=\"up\"} 1",							/* 14 */
		"lwt_peers{state=\"lwt-handshake\"} 1",						/* 15 */
		"lwt_peers{state=\"closing\"} 0",						/* 16 */
		"lwt_peer_info{peer=\"10.0.0.2\",endpoint=\"a\\\"b\\\\c\\nd\",session_id=\"0000abcd\","
		"path=\"af-xdp\"} 1",								/* 17 */
		"lwt_peer_rx_packets_total" P " 12345678901234",				/* 18 */
		"lwt_peer_rtt_seconds" P " 0.00025",						/* 19 */
		"lwt_peer_handshake_seconds" P " 0.0015",					/* 20 */
		"lwt_peer_drops_total" PR("auth") " 7",						/* 21 */
		"lwt_peer_fec_parity_sent_total" P " 6",					/* 22 */
		"lwt_peer_fec_packets_rebuilt_total" P " 3",					/* 23 */
		"lwt_peer_fec_groups_unrecoverable_total" P " 1",				/* 24 */
		"lwt_peer_loss_ratio" P " 0.02",						/* 25 */
		"lwt_peer_fec_parity_shards" P " 3",						/* 26 */
	};
	char *t = render(), line[512];

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(line, sizeof(line), "\n%s\n", want[i]);
		if (!strstr(t, line))
			fail_msg("case %zu: no line %s in:\n%s", i + 1, want[i], t);
	}
	/* The handshaking flow is in no per-peer family. */
	assert_null(strstr(t, "10.99.0.9"));
	free(t);
}

/* Name of a sample or comment line's family into out. */
static void family(const char *l, char *out, size_t len)
{
	size_t n;

	if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7))
		l += 7;
	n = strcspn(l, "{ ");
	snprintf(out, len, "%.*s", (int)n, l);
}

static void test_structure(void **state)
{
	char *t = render(), *save = NULL, *l, fam[128], cur[128] = "", done[16384] = " ";
	char type[16] = "";
	int helps = 0, types = 0, samples = 0;

	for (l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char key[132];

		family(l, fam, sizeof(fam));
		snprintf(key, sizeof(key), " %s ", fam);
		if (strcmp(fam, cur)) {
			/* A family starts: with HELP, never seen before. */
			if (strstr(done, key))
				fail_msg("family %s appears twice", fam);
			if (strncmp(l, "# HELP ", 7))
				fail_msg("family %s starts with \"%s\", not HELP", fam, l);
			strcat(done, key + 1);
			snprintf(cur, sizeof(cur), "%s", fam);
			helps++;
			continue;
		}
		if (!strncmp(l, "# TYPE ", 7)) {
			snprintf(type, sizeof(type), "%s", l + 8 + strlen(fam));
			if (strcmp(type, "counter") && strcmp(type, "gauge"))
				fail_msg("family %s: type %s", fam, type);
			if (!strcmp(type, "counter") != (strlen(fam) > 6 &&
							 !strcmp(fam + strlen(fam) - 6, "_total")))
				fail_msg("family %s is a %s: _total if and only if a counter", fam, type);
			types++;
			continue;
		}
		assert_true(l[0] != '#');
		assert_non_null(strrchr(l, ' '));
		samples++;
	}
	assert_int_equal(helps, types);
	assert_true(helps > 40 && samples > helps);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_structure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
