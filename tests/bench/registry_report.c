/* The registry benchmark's figures: the table, its notes, the JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

measure measures[64];
size_t nmeasures;

measure *
measure_add(const char *unit, const char *fmt, ...)
{
	measure *m = &measures[nmeasures++];
	va_list ap;

	memset(m, 0, sizeof(*m));
	va_start(ap, fmt);
	vsnprintf(m->name, sizeof(m->name), fmt, ap);
	va_end(ap);
	m->unit = unit;
	return m;
}


static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

double
median(double *a, size_t n)
{
	qsort(a, n, sizeof(*a), cmp_double);
	return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

static int
cmp_result(const void *a, const void *b)
{
	double x = ((const load_result *) a)->per_s;
	double y = ((const load_result *) b)->per_s;
	return x < y ? -1 : x > y;
}

/* Fills m from rounds: the median throughput and that round's latencies. */
static void
measure_from_rounds(measure *m, load_result *r, size_t nrounds)
{
	for (size_t i = 0; i < nrounds && i < COUNT(m->rounds); i++) {
		m->rounds[i] = r[i].per_s;
	}
	m->nrounds = nrounds;
	qsort(r, nrounds, sizeof(*r), cmp_result);
	const load_result *med = &r[nrounds / 2];
	m->value = med->per_s;
	m->p50_us = med->p50_us;
	m->p99_us = med->p99_us;
	m->server_cpu_us = med->server_cpu_us;
	m->client_cpu_us = med->client_cpu_us;
}


measure *
rounds_measure(const char *unit, load_result *r, size_t nrounds,
    const char *name)
{
	measure *m = measure_add(unit, "%s", name);
	measure_from_rounds(m, r, nrounds);
	return m;
}

static void
fmt_rate(char *buf, size_t len, double v)
{
	if (v >= 100) {
		snprintf(buf, len, "%.0f", v);
	} else {
		snprintf(buf, len, "%.1f", v);
	}
}

void
print_table(void)
{
	char value[32], base[48], ratio[32];

	printf("%-38s %10s %-9s %8s %8s %8s %8s  %-16s %-11s %s\n", "measure",
	    "value", "unit", "p50 us", "p99 us", "srv us", "cli us",
	    "baseline", "ratio", "target");
	for (size_t i = 0; i < nmeasures; i++) {
		const measure *m = &measures[i];
		fmt_rate(value, sizeof(value), m->value);
		base[0] = ratio[0] = '\0';
		if (m->baseline > 0) {
			char b[32];
			fmt_rate(b, sizeof(b), m->baseline);
			snprintf(base, sizeof(base), "%s %s", b,
			    m->baseline_name);
			if (strcmp(m->ratio_kind, "cost") == 0) {
				snprintf(ratio, sizeof(ratio), "%.2fx Get",
				    m->ratio);
			} else {
				snprintf(ratio, sizeof(ratio), "%.0f%%",
				    m->ratio * 100);
			}
		}
		char p50[16] = "", p99[16] = "", srv[16] = "", cli[16] = "";
		if (m->p50_us > 0) {
			snprintf(p50, sizeof(p50), "%.0f", m->p50_us);
			snprintf(p99, sizeof(p99), "%.0f", m->p99_us);
		}
		if (m->server_cpu_us > 0) {
			snprintf(srv, sizeof(srv), "%.1f", m->server_cpu_us);
		}
		if (m->client_cpu_us > 0) {
			snprintf(cli, sizeof(cli), "%.1f", m->client_cpu_us);
		}
		printf("%-38s %10s %-9s %8s %8s %8s %8s  %-16s %-11s %s\n",
		    m->name, value, m->unit, p50, p99, srv, cli, base, ratio,
		    m->target == 0 ? "" :
		    m->target > 0 ? "target met" : "target NOT met");
	}
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			fputc('\\', f);
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

bool
write_json(const char *path, uint32_t vendors, const store_figures *fig,
    const wire_figures *wire, int measure_ms, int rounds)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "bench: BENCH_JSON %s: %s\n", path,
		    strerror(errno));
		return false;
	}
	fprintf(f, "{\n  \"vendors\": %" PRIu32 ",\n", vendors);
	fprintf(f, "  \"cpus\": %ld,\n", sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "  \"rounds\": %d,\n  \"measure_ms\": %d,\n", rounds,
	    measure_ms);
	fprintf(f, "  \"populate_seconds\": %.3f,\n", fig->populate_s);
	fprintf(f, "  \"populate_records_per_s\": %.1f,\n",
	    (double) vendors / fig->populate_s);
	fprintf(f, "  \"list_category\": \"%s\",\n", LIST_CATEGORY);
	fprintf(f, "  \"get_request_bytes\": %zu,\n", wire->req_size);
	fprintf(f, "  \"get_reply_bytes\": %zu,\n", wire->reply_size);
	fprintf(f, "  \"page_bytes\": %zu,\n", wire->page_bytes);
	fprintf(f, "  \"measures\": [\n");
	bool all_met = true;
	for (size_t i = 0; i < nmeasures; i++) {
		const measure *m = &measures[i];
		fprintf(f, "    {\"name\": ");
		json_string(f, m->name);
		fprintf(f, ", \"value\": %.3f, \"unit\": \"%s\"", m->value,
		    m->unit);
		if (m->nrounds > 0) {
			fprintf(f, ", \"rounds\": [");
			for (size_t r = 0; r < m->nrounds; r++) {
				fprintf(f, "%s%.1f", r ? ", " : "", m->rounds[r]);
			}
			fprintf(f, "]");
		}
		if (m->p50_us > 0) {
			fprintf(f, ", \"p50_us\": %.1f, \"p99_us\": %.1f",
			    m->p50_us, m->p99_us);
		}
		if (m->server_cpu_us > 0) {
			fprintf(f, ", \"server_cpu_us_per_call\": %.2f",
			    m->server_cpu_us);
		}
		if (m->client_cpu_us > 0) {
			fprintf(f, ", \"client_cpu_us_per_call\": %.2f",
			    m->client_cpu_us);
		}
		if (m->baseline > 0) {
			fprintf(f, ", \"baseline\": ");
			json_string(f, m->baseline_name);
			fprintf(f, ", \"baseline_value\": %.3f, \"%s\": %.4f",
			    m->baseline, strcmp(m->ratio_kind, "cost") == 0 ?
			    "cost_ratio" : "ratio", m->ratio);
		}
		if (m->target != 0) {
			fprintf(f, ", \"target\": ");
			json_string(f, m->target_text);
			fprintf(f, ", \"target_met\": %s",
			    m->target > 0 ? "true" : "false");
			all_met = all_met && m->target > 0;
		}
		fprintf(f, "}%s\n", i + 1 < nmeasures ? "," : "");
	}
	fprintf(f, "  ],\n  \"all_targets_met\": %s\n}\n",
	    all_met ? "true" : "false");
	if (fclose(f) != 0) {
		fprintf(stderr, "bench: BENCH_JSON %s: %s\n", path,
		    strerror(errno));
		return false;
	}
	return true;
}


void
print_notes(void)
{
	printf("\nvalue: median of the rounds; ratio: median of the "
	    "per-round ratios (each round runs echo, Get and List "
	    "back to back).\n");
	printf("srv us / cli us: CPU time per call of the server "
	    "process (spregd or echo) and of this client process.\n");
	printf("Put: each acknowledged write is its own fsync-durable "
	    "LMDB commit; its LMDB baseline is one-record durable "
	    "commits in one thread,\nmeasured just before it (the "
	    "LMDB line shows the median of the three such runs, in "
	    "JSON each).\n");
	printf("notify: %d sequential puts; p50/p99 from the writer's "
	    "call to each subscriber's receipt (the durable commit "
	    "lies between);\n%% live: notifications that arrived "
	    "(the rest a subscriber reads from the log; with access "
	    "control they carry the seq only,\nand a watcher reads "
	    "the change with ListChanges and its token); Put round "
	    "trip: the same puts, call to acknowledgement.\n",
	    NOTIFY_WRITES);
	size_t met = 0, total = 0;
	for (size_t i = 0; i < nmeasures; i++) {
		if (measures[i].target != 0) {
			total++;
			met += measures[i].target > 0;
			printf("target %-38s %-18s %s\n", measures[i].name,
			    measures[i].target_text,
			    measures[i].target > 0 ? "target met" :
			                             "target NOT met");
		}
	}
	printf("targets met: %zu of %zu\n", met, total);
}

void
add_store_measures(const store_figures *fig, const double raw_commit_per_s[3],
    const wire_figures *wire)
{
	measure *m = measure_add("writes/s",
	    "store 1-record write txn in process");
	m->value = fig->store_puts_per_s;
	snprintf(m->baseline_name, sizeof(m->baseline_name), "LMDB");
	m->baseline = raw_commit_per_s[0];
	m->ratio = m->value / m->baseline;
	m->ratio_kind = "of baseline";
	m = measure_add("commits/s", "LMDB durable 1-record commit");
	for (size_t i = 0; i < 3; i++) {
		m->rounds[m->nrounds++] = raw_commit_per_s[i];
	}
	double sorted[3] = {raw_commit_per_s[0], raw_commit_per_s[1],
	    raw_commit_per_s[2]};
	qsort(sorted, 3, sizeof(*sorted), cmp_double);
	m->value = sorted[1];
	m = measure_add("reads/s", "LMDB point read (renew/reset)");
	m->value = fig->raw_reads_per_s;
	m = measure_add("calls/s", "store db_sp_get in process");
	m->value = fig->store_gets_per_s;
	m = measure_add("pages/s", "store db_sp_list p100 in process");
	m->value = fig->store_pages_per_s;
	m->baseline = fig->store_gets_per_s;
	snprintf(m->baseline_name, sizeof(m->baseline_name), "db_sp_get");
	m->ratio = fig->store_gets_per_s / fig->store_pages_per_s;
	m->ratio_kind = "cost";
	m = measure_add("pages/s", "protobuf-c pack of a page");
	m->value = wire->pack_per_s;
	m = measure_add("pages/s", "protobuf-c unpack+free of a page");
	m->value = wire->unpack_per_s;

}
