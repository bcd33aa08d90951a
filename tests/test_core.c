/* Unit tests of src/core: dates, arena, catalog, validation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/catalog.h"
#include "core/date.h"
#include "core/log.h"
#include "core/pb.h"
#include "core/validate.h"

START_TEST(date_round_trip)
{
	int32_t d;

	ck_assert(date_parse("1970-01-01", &d));
	ck_assert_int_eq(d, 0);
	ck_assert(date_parse("2020-07-16", &d));
	ck_assert_int_eq(d, 18459);
	char buf[DATE_BUF];
	date_format(d, buf);
	ck_assert_str_eq(buf, "2020-07-16");
	ck_assert(date_parse("2024-02-29", &d));	/* leap day */
	date_format(d + 1, buf);
	ck_assert_str_eq(buf, "2024-03-01");
}
END_TEST

START_TEST(date_rejects)
{
	static const char *const bad[] = {"", "2023-02-29", "2023-13-01",
	    "2023-00-10", "2023-01-32", "2023-1-01", "20230101", "2023-01-01 ",
	    "1899-12-31", "abcd-ef-gh", "2023/01/01", "2100-02-29"};
	int32_t d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ck_assert_msg(!date_parse(bad[i], &d), "accepted '%s'", bad[i]);
	}
}
END_TEST

START_TEST(time_formats)
{
	char buf[TIME_BUF];

	time_format(0, buf);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
	time_format(1595000000123LL, buf);
	ck_assert_str_eq(buf, "2020-07-17T15:33:20.123Z");
	ck_assert_int_eq(date_from_ms(-1), -1);

	int64_t ms;
	ck_assert(time_parse("2020-07-17T15:33:20.123Z", &ms));
	ck_assert_int_eq(ms, 1595000000123LL);
	ck_assert(time_parse("2020-07-17T17:33:20.123456+02:00", &ms));
	ck_assert_int_eq(ms, 1595000000123LL);
	ck_assert(time_parse("2020-07-17T15:33:20Z", &ms));
	ck_assert_int_eq(ms, 1595000000000LL);
	ck_assert(!time_parse("2020-07-17", &ms));
	ck_assert(!time_parse("2020-07-17T25:00:00Z", &ms));
	ck_assert(!time_parse("2020-07-17T15:33:20", &ms));
	ck_assert(!time_parse("2020-07-17T15:33:20.Z", &ms));
	ck_assert(!time_parse("2020-02-30T15:33:20Z", &ms));
}
END_TEST

/* One line per window; the next carries the count held back. The
 * window's end is set by hand: no sleeping. */
START_TEST(log_limit_counts_what_it_holds_back)
{
	log_limit l = LOG_LIMIT_INIT(3600 * 1000);
	uint64_t held = 99;

	ck_assert(log_limit_pass(&l, &held));
	ck_assert_uint_eq(held, 0);
	for (int i = 0; i < 5; i++) {
		ck_assert(!log_limit_pass(&l, &held));
	}
	atomic_store(&l.next_ms, 0);	/* the hour is over */
	ck_assert(log_limit_pass(&l, &held));
	ck_assert_uint_eq(held, 5);
	ck_assert(!log_limit_pass(&l, &held));
}
END_TEST

START_TEST(arena_budget)
{
	arena a;

	arena_init(&a, 1000);
	ck_assert_ptr_nonnull(arena_alloc(&a, 500));
	ck_assert(!a.exhausted);
	ck_assert_ptr_null(arena_alloc(&a, 600));
	ck_assert(a.exhausted);
	arena_reset(&a);
	ck_assert(!a.exhausted);
	char *s = arena_strdup(&a, "hello");
	ck_assert_str_eq(s, "hello");
	ck_assert_ptr_null(arena_alloc(&a, SIZE_MAX));	/* no overflow */
	arena_fini(&a);
}
END_TEST

static catalog *cat;

static void
load_catalog(void)
{
	err e;
	ck_assert_msg(catalog_load(SPREG_TEST_DATA, &cat, &e) == SPREG_OK,
	    "%s", e.msg);
}

static void
free_catalog(void)
{
	catalog_destroy(cat);
	cat = NULL;
}

START_TEST(catalog_lookups)
{
	ck_assert_str_eq(catalog_country_find(cat, "RS")->name, "Serbia");
	ck_assert_ptr_null(catalog_country_find(cat, "XX"));
	ck_assert_ptr_null(catalog_country_find(cat, "us"));
	const catalog_mechanism *m = catalog_mechanism_find(cat,
	    "eu-privacy-shield");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->regime, "EU");
	char buf[DATE_BUF];
	date_format(m->valid_until, buf);
	ck_assert_str_eq(buf, "2020-07-16");
	ck_assert_int_eq(m->kind, CATALOG_MECH_FRAMEWORK);
	m = catalog_mechanism_find(cat, "eu-scc-2010-87");
	date_format(m->sign_until, buf);
	ck_assert_str_eq(buf, "2021-09-27");
	ck_assert_int_eq(m->kind, CATALOG_MECH_ART46);
	ck_assert(m->needs_tia == false);
	ck_assert_int_eq(catalog_category_count(cat), 85);
	/* Art. 9 marks flow down the taxonomy. */
	ck_assert(catalog_category_find(cat, "user.health_and_medical")
	              ->special);
	ck_assert(catalog_category_find(cat, "user.biometric.fingerprint")
	              ->special);
	ck_assert(!catalog_category_find(cat, "user.contact.email")->special);
}
END_TEST

static char *
write_tree(const char *countries, const char *mechanisms,
    const char *categories)
{
	char *dir = strdup("/tmp/spreg-cat-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	const char *names[] = {"countries.csv", "mechanisms.csv",
	    "data_categories.csv"};
	const char *bodies[] = {countries, mechanisms, categories};
	for (int i = 0; i < 3; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "w");
		fputs(bodies[i], f);
		fclose(f);
	}
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s/data_uses.csv' '%s/'",
	    SPREG_TEST_DATA, dir);
	ck_assert_int_eq(system(cmd), 0);
	return dir;
}

static void
remove_tree(char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(dir);
}

#define MECH_HDR "mechanism_id,regime,name,legal_basis,valid_from," \
	"valid_until,sign_until,superseded_by,needs_tia,kind,notes,source\n"
#define MECH_OK MECH_HDR "m,EU,n,b,,,,,no,art46,,\n"
#define CAT_OK "key,name,parent,special_category\nuser,User,,\n"

START_TEST(catalog_bad_files)
{
	static const struct {
		const char *countries, *mechanisms, *categories, *expect;
	} cases[] = {
		{"code,name\nUSA,United\n", MECH_OK, CAT_OK,
		    "countries.csv:2: code"},
		{"code,name\nUS,A\n", MECH_HDR "m,EU,n,b,2021-01-01,2020-01-01,"
		    ",,no,art46,,\n", CAT_OK, "mechanisms.csv:2: valid_until"},
		{"code,name\nUS,A\n", MECH_HDR "m,XX,n,b,,,,,no,art46,,\n", CAT_OK,
		    "mechanisms.csv:2: regime"},
		{"code,name\nUS,A\n", MECH_HDR "m,EU,n,b,2021-02-30,,,,no,art46,,\n",
		    CAT_OK, "mechanisms.csv:2: valid_from"},
		{"code,name\nUS,A\n", MECH_OK, CAT_OK "user.a.b,X,user.a,\n",
		    "parent"},
		{"code,name\nUS,A\n", MECH_OK, CAT_OK "user.x,X,other,\n",
		    "not under its parent"},
		{"code,name\nUS,A\nUS,B\n", MECH_OK, CAT_OK, "twice"},
		{"code,name\nUS,A\n", MECH_HDR "m,EU,n,b,,,,,no,magic,,\n",
		    CAT_OK, "mechanisms.csv:2: kind"},
		{"wrong,header\nUS,A\n", MECH_OK, CAT_OK, "header"},
		{"code,name\nUS,\"unterminated\n", MECH_OK, CAT_OK,
		    "countries.csv"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *dir = write_tree(cases[i].countries, cases[i].mechanisms,
		    cases[i].categories);
		catalog *c = NULL;
		err e;
		ck_assert_int_eq(catalog_load(dir, &c, &e),
		    SPREG_INVALID_ARGUMENT);
		ck_assert_msg(strstr(e.msg, cases[i].expect) != NULL,
		    "case %zu: '%s' lacks '%s'", i, e.msg, cases[i].expect);
		ck_assert_ptr_null(c);
		remove_tree(dir);
	}
}
END_TEST

START_TEST(slugs_and_text)
{
	ck_assert(validate_slug("stripe"));
	ck_assert(validate_slug("a"));
	ck_assert(validate_slug("google-analytics-4"));
	ck_assert(!validate_slug(""));
	ck_assert(!validate_slug("-lead"));
	ck_assert(!validate_slug("Upper"));
	ck_assert(!validate_slug("has space"));
	ck_assert(!validate_slug("under_score"));
	char long_id[66];
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	ck_assert(!validate_slug(long_id));
	long_id[64] = '\0';
	ck_assert(validate_slug(long_id));

	ck_assert(validate_text("Zürich — 東京", false));
	ck_assert(!validate_text("bad\xc3", false));		/* truncated */
	ck_assert(!validate_text("\xc0\xaf", false));		/* overlong */
	ck_assert(!validate_text("\xed\xa0\x80", false));	/* surrogate */
	ck_assert(!validate_text("a\nb", false));
	ck_assert(validate_text("a\nb", true));
	ck_assert(!validate_text("bell\a", true));

	ck_assert(validate_category_key("user.contact.email"));
	ck_assert(!validate_category_key("user..email"));
	ck_assert(!validate_category_key("user."));
	ck_assert(!validate_category_key("User"));
}
END_TEST

/* A valid record, built on the stack, that each case then breaks. */
typedef struct fixture {
	Spreg__V1__Subprocessor sp;
	Spreg__V1__Location loc, *locs[2];
	Spreg__V1__Safeguard sg, *sgs[1];
	Spreg__V1__DpfParticipation dpf[2], *dpfs[2];
	Spreg__V1__FourthParty fp[2], *fps[2];
	char *fp_countries[2];
	char *services[1];
	char *cats[2];
	char *loc_cats[1];
} fixture;

static void
fixture_init(fixture *f)
{
	spreg__v1__subprocessor__init(&f->sp);
	spreg__v1__location__init(&f->loc);
	spreg__v1__safeguard__init(&f->sg);
	f->sp.id = "stripe";
	f->sp.name = "Stripe";
	f->sp.website = "https://stripe.com";
	f->services[0] = "billing";
	f->sp.services = f->services;
	f->sp.n_services = 1;
	f->cats[0] = "user.name";
	f->cats[1] = "user.financial";
	f->sp.data_categories = f->cats;
	f->sp.n_data_categories = 2;
	f->loc.country = "US";
	f->loc.role = "processing";
	f->loc_cats[0] = "user.financial.bank_account";
	f->loc.data_categories = f->loc_cats;
	f->loc.n_data_categories = 1;
	f->locs[0] = &f->loc;
	f->sp.locations = f->locs;
	f->sp.n_locations = 1;
	f->sg.mechanism = "eu-scc-2021-m3";
	f->sg.regime = "EU";
	f->sg.signed_on = "2022-03-01";
	f->sgs[0] = &f->sg;
	f->sp.safeguards = f->sgs;
	f->sp.n_safeguards = 1;
	f->sp.effective_from = "2019-06-01";
	for (int i = 0; i < 2; i++) {
		spreg__v1__dpf_participation__init(&f->dpf[i]);
		f->dpfs[i] = &f->dpf[i];
	}
	f->dpf[0].framework = "eu-us-dpf";
	f->dpf[0].since = "2023-07-17";
	f->dpf[1].framework = "uk-us-data-bridge";
	f->dpf[1].since = "2023-10-12";
	f->dpf[1].until = "2025-01-01";
	f->sp.dpf_participation = f->dpfs;
	f->sp.n_dpf_participation = 2;
	/* Its own subprocessors (issue 15's fourth parties). */
	for (int i = 0; i < 2; i++) {
		spreg__v1__fourth_party__init(&f->fp[i]);
		f->fps[i] = &f->fp[i];
		f->fp[i].source = "https://stripe.com/legal/service-providers";
		f->fp[i].confirmed_on = "2026-11-01";
	}
	f->fp[0].id = "aws";
	f->fp[0].name = "AWS";
	f->fp_countries[0] = "US";
	f->fp_countries[1] = "IE";
	f->fp[0].countries = f->fp_countries;
	f->fp[0].n_countries = 2;
	f->fp[1].id = "twilio";
	f->fp[1].name = "Twilio";
	f->sp.fourth_parties = f->fps;
	f->sp.n_fourth_parties = 2;
}

static spreg_status
check(fixture *f, err *e)
{
	return validate_subprocessor(cat, NULL, NULL, &f->sp, e);
}

static char *nope_use[] = {"marketing.nope"};
static char *reporting_use[] = {"analytics.reporting"};
static char *ads_use[] = {"marketing.advertising"};
static char *ads3_use[] = {"marketing.advertising.third_party"};
static char *twice_use[] = {"analytics", "analytics"};

START_TEST(valid_record_normalised)
{
	fixture f;
	err e;

	fixture_init(&f);
	ck_assert_msg(check(&f, &e) == SPREG_OK, "%s", e.msg);
	ck_assert_int_eq(f.sp.status, SP_STATUS_ACTIVE);
	/* A location's purpose below the vendor's; the default kind is
	 * stored empty. */
	fixture_init(&f);
	f.sp.data_uses = ads_use;
	f.sp.n_data_uses = 1;
	f.loc.data_uses = ads3_use;
	f.loc.n_data_uses = 1;
	f.sp.kind = "subprocessor";
	ck_assert_msg(check(&f, &e) == SPREG_OK, "%s", e.msg);
	ck_assert_str_eq(f.sp.kind, "");
	f.sp.kind = "customer_selected";
	f.sp.customer = "acme";
	ck_assert_msg(check(&f, &e) == SPREG_OK, "%s", e.msg);
}
END_TEST

/* dpf_certified_on is the EU-US entry of dpf_participation: either one
 * fills in the other. */
START_TEST(dpf_certified_on_maps_onto_eu_us)
{
	arena a;
	fixture f;
	err e;

	arena_init(&a, 1 << 16);
	fixture_init(&f);
	ck_assert_int_eq(check(&f, &e), SPREG_OK);
	ck_assert_int_eq(validate_dpf_map(&f.sp, &a, &e), SPREG_OK);
	ck_assert_str_eq(f.sp.dpf_certified_on, "2023-07-17");
	ck_assert_uint_eq(f.sp.n_dpf_participation, 2);

	fixture_init(&f);
	f.sp.n_dpf_participation = 0;
	f.sp.dpf_certified_on = "2023-07-20";
	ck_assert_int_eq(check(&f, &e), SPREG_OK);
	ck_assert_int_eq(validate_dpf_map(&f.sp, &a, &e), SPREG_OK);
	ck_assert_uint_eq(f.sp.n_dpf_participation, 1);
	ck_assert_str_eq(f.sp.dpf_participation[0]->framework, "eu-us-dpf");
	ck_assert_str_eq(f.sp.dpf_participation[0]->since, "2023-07-20");
	ck_assert_str_eq(f.sp.dpf_participation[0]->until, "");
	/* Mapped once, the record checks and maps the same again. */
	ck_assert_int_eq(check(&f, &e), SPREG_OK);
	ck_assert_int_eq(validate_dpf_map(&f.sp, &a, &e), SPREG_OK);
	ck_assert_uint_eq(f.sp.n_dpf_participation, 1);
	arena_fini(&a);
}
END_TEST

/* Each case breaks one field; the error must name it. */
START_TEST(invalid_records_name_the_field)
{
	fixture f;
	err e;
	const char *expect = NULL;

	fixture_init(&f);
	switch (_i) {
	case 0: f.sp.id = "Stripe!"; expect = "id:"; break;
	case 1: f.sp.name = ""; expect = "name: required"; break;
	case 2: f.loc.country = "XX"; expect = "locations[0].country"; break;
	case 3: f.cats[1] = "user.nope"; expect = "data_categories[1]"; break;
	case 4: f.sg.mechanism = "eu-nope"; expect = "safeguards[0].mechanism";
		break;
	case 5: f.sg.regime = "UK"; expect = "safeguards[0].regime"; break;
	case 6: f.sg.signed_on = "2022-02-30"; expect = "signed_on"; break;
	case 7: f.sg.expires_on = "2021-01-01"; expect = "expires_on"; break;
	case 8: f.loc.role = "mining"; expect = "locations[0].role"; break;
	case 9: f.loc_cats[0] = "user.contact.email";
		expect = "locations[0].data_categories[0]"; break;
	case 10: f.sp.website = "ftp://x"; expect = "website"; break;
	case 11: f.sp.effective_from = "2019-13-01"; /* absent: today */
		expect = "effective_from"; break;
	case 12: f.sp.effective_until = "2010-01-01";
		expect = "effective_until"; break;
	case 13: f.services[0] = "Bad Service"; expect = "services[0]"; break;
	case 14: f.sp.name = "bad\xff"; expect = "name:"; break;
	case 15: f.sp.status = 42; expect = "status"; break;
	case 16: f.sp.dpf_certified_on = "soon"; expect = "dpf_certified_on";
		break;
	case 17: f.cats[1] = "user.name"; expect = "listed twice"; break;
	/* DPF participation per framework (issue 15). */
	case 18: f.dpf[1].framework = "eu-scc-2021-m3";
		expect = "dpf_participation[1].framework: 'eu-scc-2021-m3' is "
		    "not a framework"; break;
	case 19: f.dpf[0].since = "2023-07-09";
		expect = "dpf_participation[0].since: 2023-07-09 is before "
		    "eu-us-dpf existed (2023-07-10)"; break;
	case 20: f.dpf[1].since = "2023-10-11";
		expect = "dpf_participation[1].since: 2023-10-11 is before "
		    "uk-us-data-bridge"; break;
	case 21: f.dpf[1].until = "2023-10-12";
		expect = "dpf_participation[1].until: must be after since";
		break;
	case 22: f.dpf[1].framework = "eu-us-dpf";
		expect = "dpf_participation[1].framework: 'eu-us-dpf' listed "
		    "twice"; break;
	case 23: f.sp.dpf_certified_on = "2023-08-01";
		expect = "dpf_certified_on: 2023-08-01 differs from "
		    "dpf_participation[0].since"; break;
	case 24: f.sp.dpf_certified_on = "2020-01-01"; f.sp.n_dpf_participation = 0;
		expect = "dpf_certified_on: 2020-01-01 is before eu-us-dpf";
		break;
	case 25: f.dpf[0].since = "";
		expect = "dpf_participation[0].since: required"; break;
	/* Purposes and kinds of recipient (issue 15). */
	case 27: f.sp.data_uses = nope_use;
		f.sp.n_data_uses = 1;
		expect = "data_uses[0]: 'marketing.nope' is not a data use"; break;
	case 28: f.sp.data_uses = reporting_use;
		f.sp.n_data_uses = 1;
		f.loc.data_uses = ads_use;
		f.loc.n_data_uses = 1;
		expect = "locations[0].data_uses[0]: 'marketing.advertising' is "
		    "not within"; break;
	case 29: f.sp.kind = "partner";
		expect = "kind: 'partner' is not one of"; break;
	case 30: f.sp.kind = "customer_selected";
		expect = "customer: required for kind customer_selected"; break;
	case 31: f.sp.customer = "acme";
		expect = "customer: only for kind customer_selected"; break;
	case 32: f.sp.data_uses = twice_use;
		f.sp.n_data_uses = 2;
		expect = "data_uses[1]: 'analytics' listed twice"; break;
	/* Fourth parties (issue 15). */
	case 33: f.fp[0].id = "AWS!";
		expect = "fourth_parties[0].id: 'AWS!' must match"; break;
	case 34: f.fp[1].name = "";
		expect = "fourth_parties[1].name: required"; break;
	case 35: f.fp_countries[1] = "XX";
		expect = "fourth_parties[0].countries[1]: 'XX' is not an ISO "
		    "3166-1 alpha-2 code"; break;
	case 36: f.fp[0].confirmed_on = "2026-02-30";
		expect = "fourth_parties[0].confirmed_on: '2026-02-30' is not"; break;
	case 37: f.fp[1].source = "";
		expect = "fourth_parties[1].source: required"; break;
	case 38: f.fp[1].id = "aws";
		expect = "fourth_parties[1].id: 'aws' listed twice"; break;
	case 39: f.fp_countries[1] = "US";
		expect = "fourth_parties[0].countries[1]: 'US' listed twice"; break;
	case 26: f.dpf[0].framework = "eu-privacy-shield";
		f.dpf[0].since = "2020-07-16";
		expect = "dpf_participation[0].since: 2020-07-16 is on or after "
		    "the day eu-privacy-shield ceased"; break;
	}
	ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strstr(e.msg, expect) != NULL, "case %d: '%s' lacks '%s'",
	    _i, e.msg, expect);
}
END_TEST

/* Every bidi control, UTF-8 encoded. */
static const char *const bidi_controls[] = {
	"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad",
	"\xe2\x80\xae",		/* U+202A-U+202E */
	"\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9",
					/* U+2066-U+2069 */
	"\xe2\x80\x8e", "\xe2\x80\x8f",	/* U+200E, U+200F */
	"\xd8\x9c",			/* U+061C */
};
#define NBIDI (sizeof(bidi_controls) / sizeof(*bidi_controls))

/* A name that reads "Stripe" but hides reordered text: each bidi control
 * in each single-line field of a vendor is refused, naming the field. */
START_TEST(bidi_controls_refused_in_names)
{
	char text[64];
	fixture f;
	err e;

	snprintf(text, sizeof(text), "Stripe%sInc", bidi_controls[_i]);
	for (int field = 0; field < 5; field++) {
		const char *expect = NULL;
		fixture_init(&f);
		switch (field) {
		case 0: f.sp.name = text; expect = "name: "; break;
		case 1: f.sp.legal_entity = text; expect = "legal_entity: ";
			break;
		case 2: f.sg.document_ref = text;
			expect = "safeguards[0].document_ref: "; break;
		case 3: f.sg.tia_ref = text; expect = "safeguards[0].tia_ref: ";
			break;
		case 4: f.sp.website = "https://stripe.com/";
			snprintf(text, sizeof(text), "https://str%sipe.com",
			    bidi_controls[_i]);
			f.sp.website = text; expect = "website: "; break;
		}
		ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
		ck_assert_msg(strncmp(e.msg, expect, strlen(expect)) == 0 &&
		    strstr(e.msg, "bidirectional control character (U+") !=
		        NULL, "control %d, field %d: '%s'", _i, field, e.msg);
	}

	Spreg__V1__Customer c = SPREG__V1__CUSTOMER__INIT;
	c.id = "acme";
	c.name = text;
	snprintf(text, sizeof(text), "Acme%sCorp", bidi_controls[_i]);
	ck_assert_int_eq(validate_customer(&c, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strstr(e.msg, "customer.name: has a bidirectional") ==
	    e.msg, "%s", e.msg);
}
END_TEST

/* Prose keeps the marks RTL writing uses, never the embeddings,
 * overrides and isolates; invalid UTF-8 is refused everywhere. */
START_TEST(bidi_in_prose_and_bad_utf8)
{
	char text[64];
	unsigned cp = 0;
	fixture f;
	err e;

	for (size_t i = 0; i < NBIDI; i++) {
		bool mark = i >= 9;
		snprintf(text, sizeof(text), "Payments%s\nfor EU", bidi_controls[i]);
		fixture_init(&f);
		f.sp.purpose = text;
		if (mark) {
			ck_assert_msg(check(&f, &e) == SPREG_OK, "%zu: %s", i,
			    e.msg);
			ck_assert(validate_text(text, true));
			ck_assert(!validate_text(text + 8, false));
		} else {
			ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
			ck_assert_msg(strstr(e.msg, "purpose: has a bidirectional")
			    == e.msg, "%s", e.msg);
			ck_assert_int_eq(validate_text_fault(text, true, &cp),
			    VALIDATE_FAULT_BIDI);
		}
	}
	ck_assert_int_eq(validate_text_fault("x\xe2\x80\xaey", false, &cp),
	    VALIDATE_FAULT_BIDI);
	ck_assert_uint_eq(cp, 0x202e);
	ck_assert_int_eq(validate_text_fault("x\xd8\x9c", false, &cp),
	    VALIDATE_FAULT_BIDI);
	ck_assert_uint_eq(cp, 0x061c);
	/* Near neighbours stay allowed: ZWJ, en dash, U+206A. */
	ck_assert(validate_text("a\xe2\x80\x8d" "b\xe2\x80\x93"
	    "c\xe2\x81\xaa", false));

	fixture_init(&f);
	f.sp.legal_entity = "Stripe\xc3";	/* truncated sequence */
	ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg, "legal_entity: not valid UTF-8");
	fixture_init(&f);
	f.sp.purpose = "bad \xe2\x80";
	ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg, "purpose: not valid UTF-8");
	fixture_init(&f);
	f.sp.name = "tab\there";
	ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg, "name: has a control character (0x09)");
	ck_assert_int_eq(validate_text_field("reason", "ok \xe2\x81\xa7", true,
	    &e), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg,
	    "reason: has a bidirectional control character (U+2067)");
}
END_TEST

static bool
custom_only(void *arg, const char *key)
{
	(void) arg;
	return strcmp(key, "user.financial.crypto_wallet") == 0;
}

START_TEST(custom_categories_accepted)
{
	fixture f;
	err e;

	fixture_init(&f);
	f.loc_cats[0] = "user.financial.crypto_wallet";
	ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(validate_subprocessor(cat, custom_only, NULL, &f.sp, &e) ==
	    SPREG_OK, "%s", e.msg);
}
END_TEST

/* --max-string and --max-list: the same record passes at the defaults
 * and fails at small limits, naming the field and the limit; ids and
 * URLs keep their own maxima. */
START_TEST(operator_limits)
{
	const validate_limits defaults = *validate_limits_get();
	fixture f;
	err e;

	ck_assert_uint_eq(defaults.text_max, VALIDATE_TEXT_MAX_DEFAULT);
	ck_assert_uint_eq(defaults.list_max, VALIDATE_LIST_MAX_DEFAULT);
	fixture_init(&f);
	f.sp.purpose = "Payment processing";
	ck_assert_msg(check(&f, &e) == SPREG_OK, "%s", e.msg);

	validate_limits_set(&(validate_limits) {10, 256});
	fixture_init(&f);
	f.sp.purpose = "Payment processing";	/* 18 bytes */
	ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg, "purpose: longer than 10 bytes");
	fixture_init(&f);
	f.sp.name = "Stripe Payments";	/* names follow a smaller limit */
	ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg, "name: longer than 10 bytes");
	fixture_init(&f);
	f.sp.website = "https://stripe.com/en-gb";	/* URLs do not */
	ck_assert_msg(check(&f, &e) == SPREG_OK, "%s", e.msg);

	validate_limits_set(&(validate_limits) {1000, 1});
	fixture_init(&f);
	ck_assert_int_eq(check(&f, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg, "data_categories: more than 1 entries");
	ck_assert_int_eq(validate_list_len("suppose_invalid", 2, &e),
	    SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg, "suppose_invalid: more than 1 entries");
	ck_assert_int_eq(validate_list_len("suppose_invalid", 1, &e),
	    SPREG_OK);

	validate_limits_set(&defaults);
	fixture_init(&f);
	ck_assert_msg(check(&f, &e) == SPREG_OK, "%s", e.msg);
}
END_TEST

static Suite *
core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("date");
	tcase_add_test(tc, date_round_trip);
	tcase_add_test(tc, date_rejects);
	tcase_add_test(tc, time_formats);
	tcase_add_test(tc, arena_budget);
	tcase_add_test(tc, log_limit_counts_what_it_holds_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("catalog");
	tcase_add_checked_fixture(tc, load_catalog, free_catalog);
	tcase_add_test(tc, catalog_lookups);
	tcase_add_test(tc, catalog_bad_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("validate");
	tcase_add_checked_fixture(tc, load_catalog, free_catalog);
	tcase_add_test(tc, slugs_and_text);
	tcase_add_test(tc, valid_record_normalised);
	tcase_add_loop_test(tc, invalid_records_name_the_field, 0, 40);
	tcase_add_test(tc, dpf_certified_on_maps_onto_eu_us);
	tcase_add_loop_test(tc, bidi_controls_refused_in_names, 0, NBIDI);
	tcase_add_test(tc, bidi_in_prose_and_bad_utf8);
	tcase_add_test(tc, custom_categories_accepted);
	tcase_add_test(tc, operator_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(core_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
