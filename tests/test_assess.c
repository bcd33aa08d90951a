/*
 * Transfer verdicts: a table of cases, each resting on a fact of
 * /work/shared/reference/transfer-law.md (source key in brackets), run
 * against the shipped rules in data/; the rules loader's errors; and the
 * sample registry.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/assess.h"
#include "assess/rules.h"
#include "core/date.h"
#include "core/pbjson.h"
#include "rpc/rpc.h"
#include "spreg_config.h"

static catalog *cat;
static assess_rules *rules;
static arena ar;

static void
setup(void)
{
	err e;

	ck_assert_msg(catalog_load(SPREG_REFERENCE_DIR, &cat, &e) == SPREG_OK,
	    "%s", e.msg);
	ck_assert_msg(assess_rules_load(SPREG_REFERENCE_DIR, cat, &rules,
	    &e) == SPREG_OK, "%s", e.msg);
	arena_init(&ar, (size_t) 16 << 20);
}

static void
teardown(void)
{
	arena_fini(&ar);
	assess_rules_destroy(rules);
	catalog_destroy(cat);
}

typedef struct sg_spec {
	const char *mechanism, *regime, *signed_on, *expires_on, *tia;
} sg_spec;

typedef struct dpf_spec {
	const char *framework, *since, *until;
} dpf_spec;

typedef struct verdict_case {
	const char *name;
	const char *fact;	/* the source fact the case rests on */
	const char *regime;
	const char *as_of;
	const char *country;
	const char *category;
	const char *dpf;	/* dpf_certified_on, or NULL */
	sg_spec sg[3];
	dpf_spec dpfp[2];	/* dpf_participation */
	bool out_of_scope;	/* the location's out_of_adequacy_scope */
	const char *suppose;	/* "id" or "id@YYYY-MM-DD", or NULL */
	Spreg__V1__Verdict want;
	const char *mechanism;	/* NULL: not checked; "" : none */
	const char *ceased_on;	/* NULL: not checked */
	const char *lapses_on;	/* NULL: must be empty */
	const char *reason_has;	/* NULL: not checked */
	bool special;
	bool affected;
	const char *fallback_has;	/* NULL: must be empty */
} verdict_case;

#define V(x) ASSESS_##x
#define SG(m, r, s, x, t) {m, r, s, x, t}
#define DPF(f, s, u) {f, s, u}

static const verdict_case cases[] = {
	/* Each regime's own area. */
	{.name = "eu-fr-inside", .fact = "France is an EU member; intra-EEA "
	    "transfers need no Chapter V mechanism [EU-GDPR]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "FR", .want = V(NO_TRANSFER),
	    .mechanism = ""},
	{.name = "eu-no-inside", .fact = "Norway applies the GDPR through the "
	    "EEA Agreement since 2018-07-20 [EFTA-GDPR]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "NO", .want = V(NO_TRANSFER)},
	{.name = "eu-gr-inside", .fact = "Greece (ISO GR, EU code EL) is an "
	    "EEA member [EU-GDPR]", .regime = "EU", .as_of = "2026-11-23",
	    .country = "GR", .want = V(NO_TRANSFER)},
	{.name = "uk-gb-inside", .fact = "The UK GDPR governs transfers out "
	    "of the UK, not within it [UKGDPR-46]", .regime = "UK",
	    .as_of = "2026-11-23", .country = "GB", .want = V(NO_TRANSFER)},
	{.name = "ch-ch-inside", .fact = "The revised FADP governs transfers "
	    "out of Switzerland [CH-BJ]", .regime = "CH", .as_of = "2026-11-23",
	    .country = "CH", .want = V(NO_TRANSFER)},

	/* Whole-country adequacy and its dates. */
	{.name = "uk-fr-adequate", .fact = "EEA states are on the UK list "
	    "(DPA 2018 Sch. 21 para 5) from 2021-01-01 [UK-LIST]",
	    .regime = "UK", .as_of = "2026-11-23", .country = "FR",
	    .want = V(ADEQUATE), .mechanism = "uk-adequacy-regs"},
	{.name = "ch-de-adequate", .fact = "EEA states are in Annex 1 DPO "
	    "from 2023-09-01 [CH-ANX]", .regime = "CH", .as_of = "2024-01-01",
	    .country = "DE", .want = V(ADEQUATE), .mechanism = "ch-adequacy"},
	{.name = "ch-de-before-fadp", .fact = "Before the revised FADP "
	    "(2023-09-01) the FDPIC list of the old FADP applied [CH-EDOEB]",
	    .regime = "CH", .as_of = "2023-08-31", .country = "DE",
	    .want = V(ADEQUATE), .mechanism = "ch-fdpic-list"},
	{.name = "eu-gb-first-day", .fact = "EU adequacy for the UK adopted "
	    "2021-06-28 (Impl. Decision 2021/1772) [D-UK]", .regime = "EU",
	    .as_of = "2021-06-28", .country = "GB", .want = V(ADEQUATE)},
	{.name = "eu-gb-day-before", .fact = "Until the UK adequacy decision "
	    "of 2021-06-28 the TCA bridge applied (FINPROV.10A) [TCA]",
	    .regime = "EU", .as_of = "2021-06-27", .country = "GB",
	    .want = V(NO_TRANSFER), .reason_has = "FINPROV.10A"},
	{.name = "eu-gb-lapsing", .fact = "UK adequacy renewed until "
	    "2031-12-27 on 19 Dec 2025 [UK-REN]", .regime = "EU",
	    .as_of = "2031-12-26", .country = "GB", .want = V(ADEQUATE),
	    .lapses_on = "2031-12-27"},
	{.name = "eu-gb-ended", .fact = "UK adequacy renewed until 2031-12-27 "
	    "on 19 Dec 2025 [UK-REN]", .regime = "EU", .as_of = "2031-12-27",
	    .country = "GB", .want = V(INVALID), .ceased_on = "2031-12-27",
	    .reason_has = "ended on 2031-12-27"},
	{.name = "eu-gb-2026", .fact = "UK window is 2021-06-28 to 2031-12-27, "
	    "not the old 2025-06-27 sunset [UK-REN]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "GB", .want = V(ADEQUATE)},
	{.name = "eu-ch-adequate", .fact = "Decision 2000/518/EC on "
	    "Switzerland stays in force, confirmed 15 Jan 2024 [REV-2024]",
	    .regime = "EU", .as_of = "2026-11-23", .country = "CH",
	    .want = V(ADEQUATE), .mechanism = "eu-adequacy"},
	{.name = "eu-br-first-day", .fact = "Brazil adequacy adopted "
	    "2026-01-26 (Impl. Decision 2026/179) [D-BR]", .regime = "EU",
	    .as_of = "2026-01-26", .country = "BR", .want = V(ADEQUATE)},
	{.name = "eu-br-day-before", .fact = "Brazil adequacy adopted "
	    "2026-01-26 (Impl. Decision 2026/179) [D-BR]", .regime = "EU",
	    .as_of = "2026-01-25", .country = "BR", .want = V(MISSING)},
	{.name = "uk-br-none", .fact = "No UK regulations for Brazil "
	    "[UK-LIST]", .regime = "UK", .as_of = "2026-11-23",
	    .country = "BR", .want = V(MISSING)},
	{.name = "ch-jp-none", .fact = "Japan is not in Annex 1 DPO "
	    "[CH-ML]", .regime = "CH", .as_of = "2026-11-23", .country = "JP",
	    .sg = {SG("ch-adequacy", "CH", "2023-09-01", NULL, NULL)},
	    .want = V(MISSING)},
	{.name = "ch-gi-adequate", .fact = "Gibraltar is in Annex 1 DPO "
	    "[CH-ANX]", .regime = "CH", .as_of = "2026-11-23",
	    .country = "GI", .want = V(ADEQUATE)},

	/* Partial adequacy: recipient in scope, evidenced by a record. */
	{.name = "eu-jp-appi", .fact = "Japan adequacy covers APPI business "
	    "operators only (Impl. Decision 2019/419) [D-JP]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "JP",
	    .sg = {SG("eu-adequacy", "EU", "2019-02-01", NULL, NULL)},
	    .want = V(ADEQUATE), .mechanism = "eu-adequacy"},
	{.name = "eu-jp-not-in-scope", .fact = "Japan adequacy covers APPI "
	    "business operators only [D-JP]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "JP", .out_of_scope = true,
	    .want = V(MISSING), .reason_has = "out_of_adequacy_scope"},
	{.name = "eu-jp-in-scope-unrecorded", .fact = "Japan adequacy covers "
	    "APPI business operators, a class of private businesses [D-JP]",
	    .regime = "EU", .as_of = "2026-11-23", .country = "JP",
	    .want = V(ADEQUATE), .reason_has = "APPI"},
	{.name = "eu-kr-in-scope-unrecorded", .fact = "Korea adequacy covers "
	    "recipients subject to PIPA [D-KR]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "KR", .want = V(ADEQUATE),
	    .reason_has = "PIPA"},
	{.name = "uk-jp-in-scope", .fact = "Japan (APPI only) is on the UK "
	    "list [UK-LIST]", .regime = "UK", .as_of = "2026-11-23",
	    .country = "JP", .want = V(ADEQUATE), .reason_has = "APPI"},
	{.name = "uk-jp-out-of-scope", .fact = "Japan (APPI only) is on the "
	    "UK list [UK-LIST]", .regime = "UK", .as_of = "2026-11-23",
	    .country = "JP", .out_of_scope = true, .want = V(MISSING)},
	{.name = "ch-ca-out-of-scope", .fact = "Canada (PIPEDA or similar "
	    "provincial act) is in Annex 1 DPO [CH-ANX]", .regime = "CH",
	    .as_of = "2026-11-23", .country = "CA", .out_of_scope = true,
	    .want = V(MISSING), .reason_has = "PIPEDA"},
	{.name = "eu-ca-pipeda", .fact = "Canada adequacy covers PIPEDA-bound "
	    "recipients only (Decision 2002/2/EC) [D-CA]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "CA",
	    .sg = {SG("eu-adequacy", "EU", "2018-05-25", NULL, NULL)},
	    .want = V(ADEQUATE)},
	{.name = "eu-ca-not-pipeda", .fact = "Canada adequacy covers "
	    "PIPEDA-bound recipients only [D-CA]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "CA", .out_of_scope = true,
	    .want = V(MISSING)},
	{.name = "uk-ca-pipeda", .fact = "Canada (PIPEDA only) is on the UK "
	    "list [UK-LIST]", .regime = "UK", .as_of = "2026-11-23",
	    .country = "CA",
	    .sg = {SG("uk-adequacy-regs", "UK", "2021-01-01", NULL, NULL)},
	    .want = V(ADEQUATE)},
	{.name = "ch-ca-pipeda", .fact = "Canada (PIPEDA or similar "
	    "provincial act) is in Annex 1 DPO [CH-ANX]", .regime = "CH",
	    .as_of = "2026-11-23", .country = "CA",
	    .sg = {SG("ch-adequacy", "CH", "2023-09-01", NULL, NULL)},
	    .want = V(ADEQUATE)},
	{.name = "eu-kr-first-day", .fact = "Korea adequacy adopted "
	    "2021-12-17 (Impl. Decision 2022/254) [D-KR]", .regime = "EU",
	    .as_of = "2021-12-17", .country = "KR",
	    .sg = {SG("eu-adequacy", "EU", "2018-06-01", NULL, NULL)},
	    .want = V(ADEQUATE)},
	{.name = "eu-kr-day-before", .fact = "Korea adequacy adopted "
	    "2021-12-17 (Impl. Decision 2022/254) [D-KR]", .regime = "EU",
	    .as_of = "2021-12-16", .country = "KR",
	    .sg = {SG("eu-adequacy", "EU", "2018-06-01", NULL, NULL)},
	    .want = V(MISSING)},
	{.name = "uk-kr-first-day", .fact = "UK regulations for Korea in "
	    "force 2022-12-19 (SI 2022/1213) [UK-KR]", .regime = "UK",
	    .as_of = "2022-12-19", .country = "KR",
	    .sg = {SG("uk-adequacy-regs", "UK", "2022-12-19", NULL, NULL)},
	    .want = V(ADEQUATE)},
	{.name = "uk-kr-day-before", .fact = "UK regulations for Korea in "
	    "force 2022-12-19 (SI 2022/1213) [UK-KR]", .regime = "UK",
	    .as_of = "2022-12-18", .country = "KR",
	    .sg = {SG("uk-adequacy-regs", "UK", "2021-01-01", NULL, NULL)},
	    .want = V(MISSING)},

	/* EU-US: Safe Harbor, Privacy Shield, DPF. */
	{.name = "eu-us-dpf-certified", .fact = "EU-US DPF adequacy for "
	    "DoC-listed organisations, effective 2023-07-10 [D-US]",
	    .regime = "EU", .as_of = "2023-07-20", .country = "US",
	    .dpf = "2023-07-20", .want = V(ADEQUATE), .mechanism = "eu-us-dpf"},
	{.name = "eu-us-dpf-before-cert", .fact = "DPF covers only "
	    "organisations on the DPF List [DPF-REV]", .regime = "EU",
	    .as_of = "2023-07-19", .country = "US", .dpf = "2023-07-20",
	    .want = V(MISSING), .reason_has = "only from 2023-07-20"},
	{.name = "eu-us-not-certified", .fact = "DPF covers only "
	    "organisations on the DPF List [DPF-REV]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US", .want = V(MISSING)},
	{.name = "eu-us-dpf-day-before", .fact = "EU-US DPF adopted and "
	    "effective 2023-07-10 [D-US]", .regime = "EU",
	    .as_of = "2023-07-09", .country = "US", .dpf = "2023-07-01",
	    .want = V(MISSING)},
	{.name = "eu-us-dpf-first-day", .fact = "EU-US DPF adopted and "
	    "effective 2023-07-10 [D-US]", .regime = "EU",
	    .as_of = "2023-07-10", .country = "US", .dpf = "2023-07-01",
	    .want = V(ADEQUATE)},
	{.name = "eu-us-ps-last-day", .fact = "Schrems II invalidated Privacy "
	    "Shield on 2020-07-16 [SCHREMS2]", .regime = "EU",
	    .as_of = "2020-07-15", .country = "US",
	    .sg = {SG("eu-privacy-shield", "EU", "2018-05-22", NULL, NULL)},
	    .want = V(ADEQUATE), .mechanism = "eu-privacy-shield",
	    .lapses_on = "2020-07-16"},
	{.name = "eu-us-ps-invalidated", .fact = "Schrems II invalidated "
	    "Privacy Shield on 2020-07-16 [SCHREMS2]", .regime = "EU",
	    .as_of = "2020-07-16", .country = "US",
	    .sg = {SG("eu-privacy-shield", "EU", "2018-05-22", NULL, NULL)},
	    .want = V(INVALID), .mechanism = "eu-privacy-shield",
	    .ceased_on = "2020-07-16", .reason_has = "C-311/18"},
	{.name = "eu-us-ps-lapsing", .fact = "Schrems II invalidated Privacy "
	    "Shield on 2020-07-16 [SCHREMS2]", .regime = "EU",
	    .as_of = "2020-06-01", .country = "US",
	    .sg = {SG("eu-privacy-shield", "EU", "2018-05-22", NULL, NULL)},
	    .want = V(ADEQUATE), .lapses_on = "2020-07-16"},
	{.name = "eu-us-sh-last-day", .fact = "Schrems I invalidated Safe "
	    "Harbor on 2015-10-06 [SCHREMS1]", .regime = "EU",
	    .as_of = "2015-10-05", .country = "US",
	    .sg = {SG("eu-safe-harbor", "EU", "2010-01-01", NULL, NULL)},
	    .want = V(ADEQUATE), .mechanism = "eu-safe-harbor",
	    .lapses_on = "2015-10-06"},
	{.name = "eu-us-sh-invalidated", .fact = "Schrems I invalidated Safe "
	    "Harbor on 2015-10-06 [SCHREMS1]", .regime = "EU",
	    .as_of = "2015-10-06", .country = "US",
	    .sg = {SG("eu-safe-harbor", "EU", "2010-01-01", NULL, NULL)},
	    .want = V(INVALID), .ceased_on = "2015-10-06",
	    .reason_has = "C-362/14"},

	/* DPF participation per framework, with withdrawals. */
	{.name = "eu-us-dpf-participation", .fact = "EU-US DPF adequacy for "
	    "organisations on the DPF List [DPF-REV]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US",
	    .dpfp = {DPF("eu-us-dpf", "2023-08-01", NULL)},
	    .want = V(ADEQUATE), .mechanism = "eu-us-dpf"},
	{.name = "eu-us-dpf-last-day-listed", .fact = "DPF covers only "
	    "organisations on the DPF List [DPF-REV]", .regime = "EU",
	    .as_of = "2025-02-28", .country = "US",
	    .dpfp = {DPF("eu-us-dpf", "2023-08-01", "2025-03-01")},
	    .want = V(ADEQUATE), .lapses_on = "2025-03-01"},
	{.name = "eu-us-dpf-withdrawn", .fact = "DPF covers only "
	    "organisations on the DPF List [DPF-REV]", .regime = "EU",
	    .as_of = "2025-03-01", .country = "US",
	    .dpfp = {DPF("eu-us-dpf", "2023-08-01", "2025-03-01")},
	    .want = V(INVALID), .ceased_on = "2025-03-01",
	    .reason_has = "left"},
	{.name = "uk-us-participation", .fact = "UK Extension: DPF List plus "
	    "UK Extension participation, SI 2023/1028 [UK-US]",
	    .regime = "UK", .as_of = "2026-11-23", .country = "US",
	    .dpfp = {DPF("eu-us-dpf", "2023-08-01", NULL),
	        DPF("uk-us-data-bridge", "2023-10-12", NULL)},
	    .want = V(ADEQUATE), .mechanism = "uk-us-data-bridge"},
	{.name = "uk-us-eu-participation-only", .fact = "The recipient must "
	    "be on the DPF List and in the UK Extension [UK-LIST]",
	    .regime = "UK", .as_of = "2026-11-23", .country = "US",
	    .dpfp = {DPF("eu-us-dpf", "2023-08-01", NULL)},
	    .want = V(MISSING), .reason_has = "uk-us-data-bridge"},
	{.name = "ch-us-swiss-participation", .fact = "Swiss-US DPF covers "
	    "US companies certified under it, from 2024-09-15 [CH-DPF]",
	    .regime = "CH", .as_of = "2026-11-23", .country = "US",
	    .dpfp = {DPF("ch-swiss-us-dpf", "2024-09-15", NULL)},
	    .want = V(ADEQUATE), .mechanism = "ch-swiss-us-dpf"},
	{.name = "ch-us-swiss-withdrawn", .fact = "Swiss-US DPF covers only "
	    "companies certified under it [CH-DPF]", .regime = "CH",
	    .as_of = "2026-11-23", .country = "US",
	    .dpfp = {DPF("ch-swiss-us-dpf", "2024-09-15", "2026-01-01")},
	    .want = V(INVALID), .ceased_on = "2026-01-01"},

	/* The law's history (transfer-law.md section 11). */
	{.name = "eu-gb-member-2019", .fact = "The UK was an EU member state "
	    "until 2020-01-31: EU to UK was intra-EU [WA]", .regime = "EU",
	    .as_of = "2019-06-01", .country = "GB", .want = V(NO_TRANSFER),
	    .reason_has = "member state"},
	{.name = "eu-gb-transition-last-day", .fact = "Brexit transition: "
	    "the UK treated as a member state until 2020-12-31 [WA]",
	    .regime = "EU", .as_of = "2020-12-31", .country = "GB",
	    .want = V(NO_TRANSFER), .reason_has = "Withdrawal Agreement"},
	{.name = "eu-gb-bridge-first-day", .fact = "TCA FINPROV.10A: from "
	    "2021-01-01 EU to UK not a transfer to a third country [TCA]",
	    .regime = "EU", .as_of = "2021-01-01", .country = "GB",
	    .want = V(NO_TRANSFER), .reason_has = "FINPROV.10A"},
	{.name = "uk-de-before-2021", .fact = "Until 2020-12-31 the UK "
	    "applied Union law; UK to DE was intra-EU [WA]", .regime = "UK",
	    .as_of = "2020-12-31", .country = "DE", .want = V(NO_TRANSFER),
	    .reason_has = "applied the EU rules"},
	{.name = "uk-de-from-2021", .fact = "EEA states are on the UK list "
	    "(DPA 2018 Sch. 21 para 5) from 2021-01-01 [UK-LIST]",
	    .regime = "UK", .as_of = "2021-01-01", .country = "DE",
	    .want = V(ADEQUATE), .mechanism = "uk-adequacy-regs"},
	{.name = "uk-in-eu-scc-2020", .fact = "Until 2020-12-31 transfers "
	    "from the UK used EU mechanisms (EU SCCs) [WA]", .regime = "UK",
	    .as_of = "2020-12-31", .country = "IN",
	    .sg = {SG("eu-scc-2010-87", "EU", "2019-03-01", NULL, NULL)},
	    .want = V(SAFEGUARDED), .mechanism = "eu-scc-2010-87"},
	{.name = "uk-in-eu-scc-2021", .fact = "From 2021-01-01 the UK regime: "
	    "EU SCCs only as UK legacy clauses [UK-LIST]", .regime = "UK",
	    .as_of = "2021-01-01", .country = "IN",
	    .sg = {SG("eu-scc-2010-87", "EU", "2019-03-01", NULL, NULL)},
	    .want = V(MISSING)},
	{.name = "uk-us-ps-2019", .fact = "Until 2020-12-31 transfers from "
	    "the UK used EU mechanisms (Privacy Shield) [WA]", .regime = "UK",
	    .as_of = "2019-06-01", .country = "US",
	    .sg = {SG("eu-privacy-shield", "EU", "2018-01-01", NULL, NULL)},
	    .want = V(ADEQUATE), .mechanism = "eu-privacy-shield"},
	{.name = "eu-ch-directive-day-before", .fact = "Decision 2000/518/EC "
	    "under Directive 95/46/EC Art. 25(6) of 2000-07-26 [DIR-95]",
	    .regime = "EU", .as_of = "2000-07-25", .country = "CH",
	    .want = V(MISSING)},
	{.name = "eu-ch-directive-first-day", .fact = "Decision 2000/518/EC "
	    "under Directive 95/46/EC Art. 25(6) of 2000-07-26 [DIR-95]",
	    .regime = "EU", .as_of = "2000-07-26", .country = "CH",
	    .want = V(ADEQUATE), .mechanism = "eu-adequacy"},
	{.name = "eu-ar-gdpr-eve", .fact = "Directive-era decisions applied "
	    "before 2018-05-25 [DIR-95]", .regime = "EU",
	    .as_of = "2018-05-24", .country = "AR", .want = V(ADEQUATE)},
	{.name = "eu-ar-gdpr-first-day", .fact = "GDPR Art. 45(9) kept them "
	    "in force from 2018-05-25 [GDPR-45-9]", .regime = "EU",
	    .as_of = "2018-05-25", .country = "AR", .want = V(ADEQUATE)},
	{.name = "eu-ca-directive", .fact = "Decision 2002/2/EC (PIPEDA) "
	    "applied under the Directive [DIR-95]", .regime = "EU",
	    .as_of = "2010-01-01", .country = "CA", .want = V(ADEQUATE)},
	{.name = "eu-in-scc2010-directive", .fact = "SCC decision 2010/87/EU "
	    "under Directive Art. 26(4) applied from its date [DIR-95]",
	    .regime = "EU", .as_of = "2015-01-01", .country = "IN",
	    .sg = {SG("eu-scc-2010-87", "EU", "2012-01-01", NULL, NULL)},
	    .want = V(SAFEGUARDED)},
	{.name = "eu-in-scc2010-day-before", .fact = "SCC decision 2010/87/EU "
	    "of 2010-02-05 [DIR-95]", .regime = "EU", .as_of = "2010-02-04",
	    .country = "IN",
	    .sg = {SG("eu-scc-2010-87", "EU", "2010-02-04", NULL, NULL)},
	    .want = V(MISSING)},
	{.name = "eu-in-scc2010-first-day", .fact = "SCC decision 2010/87/EU "
	    "of 2010-02-05 [DIR-95]", .regime = "EU", .as_of = "2010-02-05",
	    .country = "IN",
	    .sg = {SG("eu-scc-2010-87", "EU", "2010-02-05", NULL, NULL)},
	    .want = V(SAFEGUARDED)},
	{.name = "ch-de-old-fadp-first-day", .fact = "Old FADP: the FDPIC "
	    "list of adequate states [CH-EDOEB]", .regime = "CH",
	    .as_of = "1993-07-01", .country = "DE", .want = V(ADEQUATE),
	    .mechanism = "ch-fdpic-list"},
	{.name = "ch-de-old-fadp-day-before", .fact = "Old FADP: the FDPIC "
	    "list of adequate states [CH-EDOEB]", .regime = "CH",
	    .as_of = "1993-06-30", .country = "DE", .want = V(MISSING)},
	{.name = "ch-de-revised-fadp", .fact = "EEA states are in Annex 1 DPO "
	    "from 2023-09-01 [CH-ANX]", .regime = "CH", .as_of = "2023-09-01",
	    .country = "DE", .want = V(ADEQUATE), .mechanism = "ch-adequacy"},

	/* EU SCCs. */
	{.name = "eu-us-scc-tia", .fact = "2021 SCCs (2021/914) with the "
	    "Clause 14 assessment on file [SCC-OJ]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("eu-scc-2021-m2", "EU", "2022-01-10", NULL, "TIA-1")},
	    .want = V(SAFEGUARDED), .mechanism = "eu-scc-2021-m2"},
	{.name = "eu-us-scc-no-tia", .fact = "Schrems II: Art. 46 tools need "
	    "a case-by-case assessment (TIA) [SCHREMS2]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("eu-scc-2021-m2", "EU", "2022-01-10", NULL, "")},
	    .want = V(TIA_REQUIRED), .mechanism = "eu-scc-2021-m2"},
	{.name = "eu-in-scc2010-last-day", .fact = "2010 SCCs grandfathered "
	    "until 2022-12-27 [SCC-TR]", .regime = "EU", .as_of = "2022-12-26",
	    .country = "IN",
	    .sg = {SG("eu-scc-2010-87", "EU", "2019-03-01", NULL, NULL)},
	    .want = V(SAFEGUARDED), .mechanism = "eu-scc-2010-87",
	    .lapses_on = "2022-12-27"},
	{.name = "eu-in-scc2010-ended", .fact = "2010 SCCs grandfathered "
	    "until 2022-12-27 [SCC-TR]", .regime = "EU", .as_of = "2022-12-27",
	    .country = "IN",
	    .sg = {SG("eu-scc-2010-87", "EU", "2019-03-01", NULL, NULL)},
	    .want = V(INVALID), .ceased_on = "2022-12-27",
	    .reason_has = "REPEALED"},
	{.name = "eu-in-scc2010-signed-last-day", .fact = "No new contracts "
	    "under the old SCCs from 2021-09-27 [SCC-TR]", .regime = "EU",
	    .as_of = "2022-01-01", .country = "IN",
	    .sg = {SG("eu-scc-2010-87", "EU", "2021-09-26", NULL, NULL)},
	    .want = V(SAFEGUARDED)},
	{.name = "eu-in-scc2010-signed-too-late", .fact = "No new contracts "
	    "under the old SCCs from 2021-09-27 [SCC-TR]", .regime = "EU",
	    .as_of = "2022-01-01", .country = "IN",
	    .sg = {SG("eu-scc-2010-87", "EU", "2021-09-27", NULL, NULL)},
	    .want = V(INVALID), .ceased_on = "2021-09-27",
	    .reason_has = "no new contracts"},
	{.name = "eu-in-scc2001-ended", .fact = "SCC Set I repealed; "
	    "existing contracts valid until 2022-12-27 [SCC-OLD]",
	    .regime = "EU", .as_of = "2023-01-01", .country = "IN",
	    .sg = {SG("eu-scc-2001-497", "EU", "2015-01-01", NULL, NULL)},
	    .want = V(INVALID), .ceased_on = "2022-12-27"},
	{.name = "eu-in-scc2021-first-day", .fact = "2021 SCCs usable since "
	    "2021-06-27 [SCC-OJ]", .regime = "EU", .as_of = "2021-06-27",
	    .country = "IN",
	    .sg = {SG("eu-scc-2021-m2", "EU", "2021-06-27", NULL, "TIA-2")},
	    .want = V(SAFEGUARDED)},
	{.name = "eu-in-scc2021-day-before", .fact = "2021 SCCs usable since "
	    "2021-06-27 [SCC-OJ]", .regime = "EU", .as_of = "2021-06-26",
	    .country = "IN",
	    .sg = {SG("eu-scc-2021-m2", "EU", "2021-06-26", NULL, "TIA-2")},
	    .want = V(MISSING)},
	{.name = "eu-ph-scc-expiring", .fact = "2021 SCCs with TIA "
	    "(Art. 46(2)(c)) count until the contract ends [SCC-OJ]",
	    .regime = "EU", .as_of = "2026-11-23", .country = "PH",
	    .sg = {SG("eu-scc-2021-m3", "EU", "2022-01-15", "2027-01-15",
	        "TIA-3")},
	    .want = V(SAFEGUARDED), .lapses_on = "2027-01-15"},
	{.name = "eu-ph-scc-beyond-horizon", .fact = "2021 SCCs with TIA "
	    "(Art. 46(2)(c)) count until the contract ends [SCC-OJ]",
	    .regime = "EU", .as_of = "2026-11-23", .country = "PH",
	    .sg = {SG("eu-scc-2021-m3", "EU", "2022-01-15", "2027-03-01",
	        "TIA-3")},
	    .want = V(SAFEGUARDED)},
	{.name = "eu-ph-scc-expired", .fact = "2021 SCCs with TIA "
	    "(Art. 46(2)(c)) count until the contract ends [SCC-OJ]",
	    .regime = "EU", .as_of = "2027-01-15", .country = "PH",
	    .sg = {SG("eu-scc-2021-m3", "EU", "2022-01-15", "2027-01-15",
	        "TIA-3")},
	    .want = V(INVALID), .ceased_on = "2027-01-15",
	    .reason_has = "expired on 2027-01-15"},
	{.name = "eu-us-old-and-new-scc", .fact = "Old SCCs had to be replaced "
	    "by the 2021 set by 2022-12-27 [SCC-TR]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("eu-scc-2010-87", "EU", "2018-05-25", NULL, NULL),
	        SG("eu-scc-2021-m3", "EU", "2021-09-20", NULL, "TIA-4")},
	    .want = V(SAFEGUARDED), .mechanism = "eu-scc-2021-m3"},
	{.name = "eu-in-art28-only", .fact = "Art. 28 clauses (2021/915) are "
	    "not a transfer tool [SCC-OJ]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "IN",
	    .sg = {SG("eu-art28-scc-2021-915", "EU", "2025-03-03", NULL,
	        NULL)},
	    .want = V(MISSING), .reason_has = "not a transfer tool"},
	{.name = "eu-rs-scc-future", .fact = "A safeguard counts from the day "
	    "it is signed [SCC-OJ]", .regime = "EU", .as_of = "2026-11-23",
	    .country = "RS",
	    .sg = {SG("eu-scc-2021-m2", "EU", "2027-01-01", NULL, "TIA-5")},
	    .want = V(MISSING), .reason_has = "does not count yet"},
	{.name = "eu-us-art3-2-not-adopted", .fact = "Art. 3(2) importer SCCs "
	    "not adopted as far as sources show [SCC-32]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("eu-scc-art3-2", "EU", "2026-01-01", NULL, "TIA-6")},
	    .want = V(MISSING)},
	{.name = "eu-us-derogation", .fact = "Art. 49(1)(b) derogation: "
	    "occasional use only [ART49]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("eu-derogation-b", "EU", "2024-02-12", NULL, NULL)},
	    .want = V(DEROGATION), .mechanism = "eu-derogation-b",
	    .reason_has = "occasional"},
	{.name = "eu-us-derogation-over-dead-ps", .fact = "Art. 49 derogations "
	    "are interpreted restrictively [ART49b]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("eu-privacy-shield", "EU", "2018-01-01", NULL, NULL),
	        SG("eu-derogation-a", "EU", "2024-01-01", NULL, NULL)},
	    .want = V(DEROGATION)},
	{.name = "eu-us-other-regime-sg", .fact = "A UK IDTA does not cover "
	    "EU transfers (IDTA is DPA 2018 s.119A) [ICO-IDTA]",
	    .regime = "EU", .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("uk-idta", "UK", "2023-01-01", NULL, "TRA-1")},
	    .want = V(MISSING)},

	/* Special categories. */
	{.name = "eu-us-biometric", .fact = "Biometric data for unique "
	    "identification is Art. 9(1) data [ART9]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US",
	    .category = "user.biometric", .dpf = "2023-08-01",
	    .want = V(ADEQUATE), .special = true},
	{.name = "eu-us-voice-inherits", .fact = "Biometric data for unique "
	    "identification is Art. 9(1) data [ART9]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US",
	    .category = "user.biometric.voice",
	    .sg = {SG("eu-scc-2021-m2", "EU", "2022-01-10", NULL, "TIA-7")},
	    .want = V(SAFEGUARDED), .special = true},
	{.name = "eu-gb-health", .fact = "Data concerning health is Art. 9(1) "
	    "data [ART9]", .regime = "EU", .as_of = "2026-11-23",
	    .country = "GB", .category = "user.health_and_medical",
	    .want = V(ADEQUATE), .special = true},
	{.name = "eu-us-email-plain", .fact = "Contact data is not an "
	    "Art. 9(1) category [ART9]", .regime = "EU", .as_of = "2026-11-23",
	    .country = "US", .category = "user.contact.email",
	    .dpf = "2023-08-01", .want = V(ADEQUATE), .special = false},

	/* UK. */
	{.name = "uk-us-extension", .fact = "UK Extension: DPF List plus UK "
	    "Extension participation, SI 2023/1028 [UK-US]", .regime = "UK",
	    .as_of = "2023-10-20", .country = "US", .dpf = "2023-07-20",
	    .sg = {SG("uk-us-data-bridge", "UK", "2023-10-20", NULL, NULL)},
	    .want = V(ADEQUATE), .mechanism = "uk-us-data-bridge"},
	{.name = "uk-us-extension-day-before", .fact = "UK Extension in force "
	    "2023-10-12 (SI 2023/1028) [UK-US]", .regime = "UK",
	    .as_of = "2023-10-11", .country = "US", .dpf = "2023-07-20",
	    .sg = {SG("uk-us-data-bridge", "UK", "2023-10-01", NULL, NULL)},
	    .want = V(MISSING)},
	{.name = "uk-us-extension-first-day", .fact = "UK Extension in force "
	    "2023-10-12 (SI 2023/1028) [UK-US]", .regime = "UK",
	    .as_of = "2023-10-12", .country = "US", .dpf = "2023-07-20",
	    .sg = {SG("uk-us-data-bridge", "UK", "2023-10-01", NULL, NULL)},
	    .want = V(ADEQUATE)},
	{.name = "uk-us-dpf-without-extension", .fact = "The recipient must "
	    "be on the DPF List and in the UK Extension [UK-LIST]",
	    .regime = "UK", .as_of = "2026-11-23", .country = "US",
	    .dpf = "2023-07-20", .want = V(MISSING),
	    .reason_has = "uk-us-data-bridge"},
	{.name = "uk-us-extension-not-certified", .fact = "The recipient must "
	    "be on the DPF List and in the UK Extension [UK-LIST]",
	    .regime = "UK", .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("uk-us-data-bridge", "UK", "2023-10-20", NULL, NULL)},
	    .want = V(MISSING), .reason_has = "not DPF-certified under "
	    "eu-us-dpf"},
	{.name = "uk-us-addendum-first-day", .fact = "IDTA and UK Addendum in "
	    "force 2022-03-21 [ICO-IDTA]", .regime = "UK",
	    .as_of = "2022-03-21", .country = "US",
	    .sg = {SG("uk-addendum", "UK", "2022-03-21", NULL, "TRA-2")},
	    .want = V(SAFEGUARDED), .mechanism = "uk-addendum"},
	{.name = "uk-us-addendum-day-before", .fact = "IDTA and UK Addendum "
	    "in force 2022-03-21 [ICO-IDTA]", .regime = "UK",
	    .as_of = "2022-03-20", .country = "US",
	    .sg = {SG("uk-addendum", "UK", "2022-03-20", NULL, "TRA-2")},
	    .want = V(MISSING)},
	{.name = "uk-us-addendum-no-tra", .fact = "The UK Addendum needs a "
	    "transfer risk assessment [ICO-IDTA]", .regime = "UK",
	    .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("uk-addendum", "UK", "2022-09-21", NULL, "")},
	    .want = V(TIA_REQUIRED)},
	{.name = "uk-in-idta-no-tra", .fact = "The IDTA needs a transfer risk "
	    "assessment [ICO-IDTA]", .regime = "UK", .as_of = "2026-11-23",
	    .country = "IN",
	    .sg = {SG("uk-idta", "UK", "2022-06-13", NULL, NULL)},
	    .want = V(TIA_REQUIRED), .mechanism = "uk-idta"},
	{.name = "uk-in-legacy-last-day", .fact = "Legacy EU SCCs usable for "
	    "UK transfers only until 2024-03-21 [IDTA-TL]", .regime = "UK",
	    .as_of = "2024-03-20", .country = "IN",
	    .sg = {SG("uk-legacy-eu-sccs", "UK", "2022-09-21", NULL, NULL)},
	    .want = V(SAFEGUARDED), .lapses_on = "2024-03-21"},
	{.name = "uk-in-legacy-ended", .fact = "Legacy EU SCCs usable for UK "
	    "transfers only until 2024-03-21 [IDTA-TL]", .regime = "UK",
	    .as_of = "2024-03-21", .country = "IN",
	    .sg = {SG("uk-legacy-eu-sccs", "UK", "2022-09-21", NULL, NULL)},
	    .want = V(INVALID), .ceased_on = "2024-03-21"},
	{.name = "uk-in-legacy-signed-too-late", .fact = "Legacy EU SCCs only "
	    "for contracts concluded on or before 2022-09-21 [IDTA-TL]",
	    .regime = "UK", .as_of = "2023-01-01", .country = "IN",
	    .sg = {SG("uk-legacy-eu-sccs", "UK", "2022-09-22", NULL, NULL)},
	    .want = V(INVALID), .ceased_on = "2022-09-22"},
	{.name = "uk-us-derogation", .fact = "UK GDPR Art. 49 exceptions: "
	    "narrow, occasional use [UKGDPR-46]", .regime = "UK",
	    .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("uk-derogations", "UK", "2024-01-01", NULL, NULL)},
	    .want = V(DEROGATION)},
	{.name = "uk-gi-adequate", .fact = "Gibraltar is UK-listed without "
	    "an EU decision [UK-LIST]", .regime = "UK", .as_of = "2026-11-23",
	    .country = "GI", .want = V(ADEQUATE)},
	{.name = "eu-gi-missing", .fact = "Gibraltar has no EU adequacy "
	    "decision [UK-LIST]", .regime = "EU", .as_of = "2026-11-23",
	    .country = "GI", .want = V(MISSING)},

	/* Switzerland. */
	{.name = "ch-us-dpf", .fact = "Swiss-US DPF in force 2024-09-15 for "
	    "certified companies [CH-DPF]", .regime = "CH",
	    .as_of = "2024-09-20", .country = "US", .dpf = "2023-07-20",
	    .sg = {SG("ch-swiss-us-dpf", "CH", "2024-09-20", NULL, NULL)},
	    .want = V(ADEQUATE), .mechanism = "ch-swiss-us-dpf"},
	{.name = "ch-us-dpf-day-before", .fact = "Swiss-US DPF in force "
	    "2024-09-15 [CH-DPF]", .regime = "CH", .as_of = "2024-09-14",
	    .country = "US", .dpf = "2023-07-20",
	    .sg = {SG("ch-swiss-us-dpf", "CH", "2024-09-01", NULL, NULL)},
	    .want = V(MISSING)},
	{.name = "ch-us-dpf-first-day", .fact = "Swiss-US DPF in force "
	    "2024-09-15 [CH-DPF]", .regime = "CH", .as_of = "2024-09-15",
	    .country = "US", .dpf = "2023-07-20",
	    .sg = {SG("ch-swiss-us-dpf", "CH", "2024-09-01", NULL, NULL)},
	    .want = V(ADEQUATE)},
	{.name = "ch-us-eu-dpf-only", .fact = "Swiss-US DPF covers only "
	    "companies certified under it [CH-DPF]", .regime = "CH",
	    .as_of = "2026-11-23", .country = "US", .dpf = "2023-07-20",
	    .want = V(MISSING)},
	{.name = "ch-us-ps-last-day", .fact = "FDPIC found the Swiss-US "
	    "Privacy Shield not adequate on 2020-09-08 [FDPIC-2020]",
	    .regime = "CH", .as_of = "2020-09-07", .country = "US",
	    .sg = {SG("ch-swiss-us-privacy-shield", "CH", "2018-01-01", NULL,
	        NULL)},
	    .want = V(ADEQUATE), .lapses_on = "2020-09-08"},
	{.name = "ch-us-ps-ended", .fact = "FDPIC found the Swiss-US Privacy "
	    "Shield not adequate on 2020-09-08 [FDPIC-2020]", .regime = "CH",
	    .as_of = "2020-09-08", .country = "US",
	    .sg = {SG("ch-swiss-us-privacy-shield", "CH", "2018-01-01", NULL,
	        NULL)},
	    .want = V(INVALID), .ceased_on = "2020-09-08"},
	{.name = "ch-us-standard-clauses", .fact = "FDPIC recognised the EU "
	    "SCCs on 27 Aug 2021 (Art. 16(2)(d) FADP) [CH-DG]",
	    .regime = "CH", .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("ch-standard-clauses", "CH", "2023-09-15", NULL,
	        "TIA-8")},
	    .want = V(SAFEGUARDED), .mechanism = "ch-standard-clauses"},
	{.name = "ch-us-standard-clauses-no-tia", .fact = "Art. 16(2) FADP "
	    "clauses expect a risk assessment [CH-16]", .regime = "CH",
	    .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("ch-standard-clauses", "CH", "2023-09-15", NULL, NULL)},
	    .want = V(TIA_REQUIRED)},
	{.name = "ch-in-exception", .fact = "Art. 17 FADP exceptions for "
	    "specific cases [CH-17]", .regime = "CH", .as_of = "2026-11-23",
	    .country = "IN",
	    .sg = {SG("ch-exceptions", "CH", "2024-01-01", NULL, NULL)},
	    .want = V(DEROGATION)},
	{.name = "ch-us-eu-scc-only", .fact = "EU SCCs count for Swiss "
	    "transfers only as FDPIC-recognised clauses (ch-standard-clauses) "
	    "[CH-DG]", .regime = "CH", .as_of = "2026-11-23", .country = "US",
	    .sg = {SG("eu-scc-2021-m2", "EU", "2022-01-10", NULL, "TIA-9")},
	    .want = V(MISSING)},

	/* What if: suppositions. */
	{.name = "suppose-dpf-falls", .fact = "Appeal C-703/25 P against the "
	    "DPF is pending [LAT-APP]", .regime = "EU", .as_of = "2026-11-23",
	    .country = "US", .dpf = "2023-07-24", .suppose = "eu-us-dpf",
	    .want = V(INVALID), .ceased_on = "2026-11-23", .affected = true,
	    .reason_has = "supposed"},
	{.name = "suppose-dpf-falls-scc-fallback", .fact = "Art. 46 SCCs "
	    "remain valid where adequacy fails (Schrems II upheld SCCs) "
	    "[SCHREMS2]", .regime = "EU", .as_of = "2026-11-23",
	    .country = "US", .dpf = "2023-07-24",
	    .sg = {SG("eu-scc-2021-m2", "EU", "2022-01-10", NULL, "TIA-10")},
	    .suppose = "eu-us-dpf@2026-01-01", .want = V(SAFEGUARDED),
	    .affected = false, .fallback_has = "eu-scc-2021-m2"},
	{.name = "suppose-dpf-falls-scc-no-tia", .fact = "Schrems II: SCCs "
	    "need a TIA [SCHREMS2]", .regime = "EU", .as_of = "2026-11-23",
	    .country = "US", .dpf = "2023-07-24",
	    .sg = {SG("eu-scc-2021-m2", "EU", "2022-01-10", NULL, NULL)},
	    .suppose = "eu-us-dpf", .want = V(TIA_REQUIRED), .affected = true,
	    .fallback_has = "eu-scc-2021-m2"},
	{.name = "suppose-dpf-falls-later", .fact = "Appeal C-703/25 P against "
	    "the DPF is pending [LAT-APP]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "US", .dpf = "2023-07-24",
	    .suppose = "eu-us-dpf@2027-01-01", .want = V(ADEQUATE),
	    .lapses_on = "2027-01-01"},
	{.name = "suppose-uk-adequacy-falls", .fact = "EU adequacy for the UK "
	    "is time-limited to 2031-12-27 [UK-REN]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "GB",
	    .suppose = "adequacy:EU:GB", .want = V(INVALID), .affected = true,
	    .ceased_on = "2026-11-23"},
	{.name = "suppose-dpf-eea-untouched", .fact = "Intra-EEA transfers "
	    "need no Chapter V mechanism [EU-GDPR]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "FR", .suppose = "eu-us-dpf",
	    .want = V(NO_TRANSFER)},
	{.name = "suppose-eu-adequacy-jp", .fact = "Japan adequacy (2019/419) "
	    "covers APPI operators [D-JP]", .regime = "EU",
	    .as_of = "2026-11-23", .country = "JP",
	    .sg = {SG("eu-adequacy", "EU", "2019-02-01", NULL, NULL)},
	    .suppose = "eu-adequacy", .want = V(INVALID), .affected = true},
	{.name = "suppose-uk-bridge-falls", .fact = "UK Extension rests on SI "
	    "2023/1028 [UK-US]", .regime = "UK", .as_of = "2026-11-23",
	    .country = "US", .dpf = "2023-07-20",
	    .sg = {SG("uk-us-data-bridge", "UK", "2023-10-20", NULL, NULL),
	        SG("uk-addendum", "UK", "2022-09-21", NULL, "TRA-3")},
	    .suppose = "uk-us-data-bridge", .want = V(SAFEGUARDED),
	    .fallback_has = "uk-addendum"},
};

#define NCASES ((int) (sizeof(cases) / sizeof(cases[0])))

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* A one-location vendor as the case describes it. */
static void
build(const verdict_case *c, Spreg__V1__Subprocessor *sp,
    Spreg__V1__Location *loc, Spreg__V1__Location **locs,
    Spreg__V1__Safeguard *sgs, Spreg__V1__Safeguard **sgp, char **cats,
    Spreg__V1__DpfParticipation *dps, Spreg__V1__DpfParticipation **dpp)
{
	spreg__v1__subprocessor__init(sp);
	spreg__v1__location__init(loc);
	sp->id = (char *) "vendor";
	sp->effective_from = (char *) "1990-01-01";
	cats[0] = (char *) (c->category ? c->category : "user.name");
	sp->data_categories = cats;
	sp->n_data_categories = 1;
	loc->country = (char *) c->country;
	loc->role = (char *) "processing";
	locs[0] = loc;
	sp->locations = locs;
	sp->n_locations = 1;
	sp->dpf_certified_on = (char *) or_empty(c->dpf);
	loc->out_of_adequacy_scope = c->out_of_scope;
	for (size_t i = 0; i < 2 && c->dpfp[i].framework != NULL; i++) {
		spreg__v1__dpf_participation__init(&dps[i]);
		dps[i].framework = (char *) c->dpfp[i].framework;
		dps[i].since = (char *) c->dpfp[i].since;
		dps[i].until = (char *) or_empty(c->dpfp[i].until);
		dpp[i] = &dps[i];
		sp->n_dpf_participation = i + 1;
	}
	sp->dpf_participation = dpp;
	for (size_t i = 0; i < 3 && c->sg[i].mechanism != NULL; i++) {
		spreg__v1__safeguard__init(&sgs[i]);
		sgs[i].mechanism = (char *) c->sg[i].mechanism;
		sgs[i].regime = (char *) c->sg[i].regime;
		sgs[i].signed_on = (char *) c->sg[i].signed_on;
		sgs[i].expires_on = (char *) or_empty(c->sg[i].expires_on);
		sgs[i].tia_ref = (char *) or_empty(c->sg[i].tia);
		sgp[i] = &sgs[i];
		sp->n_safeguards = i + 1;
	}
	sp->safeguards = sgp;
}

START_TEST(verdicts_by_table)
{
	const verdict_case *c = &cases[_i];
	Spreg__V1__Subprocessor sp;
	Spreg__V1__Location loc, *locs[1];
	Spreg__V1__Safeguard sgs[3], *sgp[3];
	Spreg__V1__DpfParticipation dps[2], *dpp[2];
	Spreg__V1__TransferAssessment **rows;
	assess_supposition sup;
	char *cats[1], sup_id[64];
	size_t n;
	err e;

	build(c, &sp, &loc, locs, sgs, sgp, cats, dps, dpp);
	assess_query q = {c->regime, 0, ASSESS_HORIZON_DEFAULT, NULL, 0, NULL,
	    NULL};
	ck_assert(date_parse(c->as_of, &q.as_of));
	if (c->suppose != NULL) {
		const char *at = strchr(c->suppose, '@');
		size_t len = at ? (size_t) (at - c->suppose) : strlen(c->suppose);
		memcpy(sup_id, c->suppose, len);
		sup_id[len] = '\0';
		sup.id = sup_id;
		sup.from = q.as_of;
		if (at != NULL) {
			ck_assert(date_parse(at + 1, &sup.from));
		}
		ck_assert_int_eq(assess_supposition_check(rules, cat, sup.id,
		    "suppose", &e), SPREG_OK);
		q.suppose = &sup;
		q.nsuppose = 1;
	}
	ck_assert_int_eq(assess_subprocessor(rules, cat, &sp, &q, &ar, &rows,
	    &n, &e), SPREG_OK);
	ck_assert_uint_eq(n, 1);
	const Spreg__V1__TransferAssessment *t = rows[0];
	ck_assert_msg(t->verdict == c->want, "%s [%s]: want %s, got %s: %s",
	    c->name, c->fact, assess_verdict_name(c->want),
	    assess_verdict_name(t->verdict), t->reason);
	ck_assert_msg(t->reason[0] != '\0' && t->rule[0] != '\0',
	    "%s: no reason or rule", c->name);
	if (c->mechanism != NULL) {
		ck_assert_msg(strcmp(t->mechanism, c->mechanism) == 0,
		    "%s [%s]: mechanism '%s', want '%s'", c->name, c->fact,
		    t->mechanism, c->mechanism);
	}
	if (c->ceased_on != NULL) {
		ck_assert_msg(strcmp(t->ceased_on, c->ceased_on) == 0,
		    "%s [%s]: ceased_on '%s', want '%s': %s", c->name, c->fact,
		    t->ceased_on, c->ceased_on, t->reason);
		ck_assert_msg(strstr(t->reason, c->ceased_on) != NULL,
		    "%s: reason does not name %s: %s", c->name, c->ceased_on,
		    t->reason);
	}
	ck_assert_msg(strcmp(t->lapses_on, or_empty(c->lapses_on)) == 0,
	    "%s [%s]: lapses_on '%s', want '%s'", c->name, c->fact,
	    t->lapses_on, or_empty(c->lapses_on));
	if (c->reason_has != NULL) {
		ck_assert_msg(strstr(t->reason, c->reason_has) != NULL,
		    "%s [%s]: reason lacks '%s': %s", c->name, c->fact,
		    c->reason_has, t->reason);
	}
	ck_assert_msg(t->special_category == c->special,
	    "%s [%s]: special_category %d", c->name, c->fact,
	    t->special_category);
	ck_assert_msg(t->affected == c->affected, "%s [%s]: affected %d",
	    c->name, c->fact, t->affected);
	if (c->fallback_has != NULL) {
		ck_assert_msg(strstr(t->fallback, c->fallback_has) != NULL,
		    "%s [%s]: fallback '%s' lacks '%s'", c->name, c->fact,
		    t->fallback, c->fallback_has);
	} else {
		ck_assert_msg(t->fallback[0] == '\0', "%s: fallback '%s'",
		    c->name, t->fallback);
	}
	ck_assert_str_eq(t->regime, c->regime);
	ck_assert_str_eq(t->country, c->country);
}
END_TEST

/* Every verdict and every regime appear in the table. */
START_TEST(table_covers_verdicts_and_regimes)
{
	bool seen[ASSESS_NVERDICTS] = {false};
	int eu = 0, uk = 0, ch = 0;

	for (int i = 0; i < NCASES; i++) {
		seen[cases[i].want] = true;
		eu += strcmp(cases[i].regime, "EU") == 0;
		uk += strcmp(cases[i].regime, "UK") == 0;
		ch += strcmp(cases[i].regime, "CH") == 0;
		ck_assert_msg(cases[i].fact != NULL &&
		    strchr(cases[i].fact, '[') != NULL, "%s: no source key",
		    cases[i].name);
	}
	/* UNKNOWN_LOCATION judges a vendor without a country, not a
	 * country. */
	for (int v = 1; v < ASSESS_UNKNOWN_LOCATION; v++) {
		ck_assert_msg(seen[v], "no case for %s",
		    assess_verdict_name((Spreg__V1__Verdict) v));
	}
	ck_assert(eu > 0 && uk > 0 && ch > 0);
	ck_assert_int_ge(NCASES, 60);
}
END_TEST

/* Locations of one country merge; categories come from the location. */
START_TEST(rows_per_country_and_category)
{
	char *vendor_cats[] = {(char *) "user.name", (char *) "user.biometric"};
	char *support_cats[] = {(char *) "user.device.ip_address"};
	Spreg__V1__Location l[3], *lp[3];
	Spreg__V1__Subprocessor sp;
	Spreg__V1__TransferAssessment **rows;
	size_t n;
	err e;

	spreg__v1__subprocessor__init(&sp);
	for (int i = 0; i < 3; i++) {
		spreg__v1__location__init(&l[i]);
		lp[i] = &l[i];
	}
	l[0].country = (char *) "IE";
	l[0].role = (char *) "hosting";
	l[1].country = (char *) "US";
	l[1].role = (char *) "hosting";
	l[2].country = (char *) "US";
	l[2].role = (char *) "support";
	l[2].data_categories = support_cats;
	l[2].n_data_categories = 1;
	sp.id = (char *) "multi";
	sp.data_categories = vendor_cats;
	sp.n_data_categories = 2;
	sp.locations = lp;
	sp.n_locations = 3;
	sp.dpf_certified_on = (char *) "2023-08-01";
	sp.effective_from = (char *) "2020-01-01";
	sp.effective_until = (char *) "2027-01-01";
	assess_query q = {"EU", 0, 90, NULL, 0, NULL, NULL};
	ck_assert(date_parse("2026-11-23", &q.as_of));
	ck_assert_int_eq(assess_subprocessor(rules, cat, &sp, &q, &ar, &rows,
	    &n, &e), SPREG_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(rows[0]->country, "IE");
	ck_assert_int_eq(rows[0]->verdict, ASSESS_NO_TRANSFER);
	ck_assert_str_eq(rows[2]->country, "US");
	ck_assert_str_eq(rows[2]->location_roles, "hosting,support");
	ck_assert_str_eq(rows[2]->data_category, "user.name");
	ck_assert_str_eq(rows[3]->data_category, "user.biometric");
	ck_assert(rows[3]->special_category);
	ck_assert_str_eq(rows[4]->data_category, "user.device.ip_address");
	ck_assert_int_eq(rows[4]->verdict, ASSESS_ADEQUATE);

	/* Not in effect: before effective_from, on effective_until. */
	ck_assert(date_parse("2019-12-31", &q.as_of));
	ck_assert_int_eq(assess_subprocessor(rules, cat, &sp, &q, &ar, &rows,
	    &n, &e), SPREG_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert(date_parse("2027-01-01", &q.as_of));
	ck_assert_int_eq(assess_subprocessor(rules, cat, &sp, &q, &ar, &rows,
	    &n, &e), SPREG_OK);
	ck_assert_uint_eq(n, 0);

	q.regime = "US";
	ck_assert_int_eq(assess_subprocessor(rules, cat, &sp, &q, &ar, &rows,
	    &n, &e), SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "regime"));
}
END_TEST

START_TEST(rules_accessors)
{
	size_t n;
	err e;

	ck_assert_str_eq(assess_rules_version(rules), "2026-11-23");
	ck_assert_uint_eq(strlen(assess_rules_checksum(rules)), 64);
	ck_assert_int_eq(assess_regime_count(rules), 3);
	const assess_regime *eu = assess_regime_find(rules, "EU");
	ck_assert(assess_regime_home(eu, "LI"));
	ck_assert(!assess_regime_home(eu, "CH"));
	ck_assert(!assess_regime_home(eu, "E"));
	const assess_finding *f = assess_findings_for(rules, "EU", "US", &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(f[0].id, "adequacy:EU:US@2000-07-26");
	ck_assert_str_eq(f[2].mechanism->id, "eu-us-dpf");
	ck_assert_uint_eq(f[2].nterms, 1);
	ck_assert_int_eq(f[2].terms[0].kind, ASSESS_TERM_CERTIFIED);
	ck_assert_str_eq(f[2].terms[0].mechanism->id, "eu-us-dpf");
	f = assess_findings_for(rules, "UK", "US", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(f->id, "adequacy:UK:US");
	ck_assert_uint_eq(f->nterms, 2);
	ck_assert_str_eq(f->terms[1].mechanism->id, "uk-us-data-bridge");
	f = assess_findings_for(rules, "EU", "JP", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(f->terms[0].kind, ASSESS_TERM_IN_SCOPE);
	/* The UK followed the EU's rules until the end of 2020. */
	int32_t d2020, d2021;
	ck_assert(date_parse("2020-12-31", &d2020));
	ck_assert(date_parse("2021-01-01", &d2021));
	ck_assert_str_eq(assess_lineage_on(rules, "UK", d2020)->follows, "EU");
	ck_assert_ptr_null(assess_lineage_on(rules, "UK", d2021));
	ck_assert_ptr_null(assess_lineage_on(rules, "EU", d2020));
	ck_assert_ptr_null(assess_findings_for(rules, "EU", "ZZ", &n));
	ck_assert_int_eq(assess_supposition_check(rules, cat, "adequacy:EU:US",
	    "x", &e), SPREG_OK);
	ck_assert_int_eq(assess_supposition_check(rules, cat,
	    "adequacy:EU:US@2023-07-10", "x", &e), SPREG_OK);
	ck_assert_int_eq(assess_supposition_check(rules, cat, "nope",
	    "suppose_invalid[0].id", &e), SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "suppose_invalid[0].id"));
	ck_assert_str_eq(assess_verdict_name(ASSESS_DEROGATION), "DEROGATION");
	ck_assert(assess_verdict_lawful(ASSESS_DEROGATION));
	ck_assert(!assess_verdict_lawful(ASSESS_TIA_REQUIRED));
}
END_TEST

/* Loader errors, in a copy of data/ with one file replaced. */
static char *
rules_tree(const char *regimes, const char *adequacy)
{
	char *dir = strdup("/tmp/spreg-rules-XXXXXX");
	char cmd[1024];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp '%s/regimes.csv' '%s/adequacy.csv' "
	    "'%s/mechanisms.csv' '%s/lineage.csv' '%s/'", SPREG_REFERENCE_DIR,
	    SPREG_REFERENCE_DIR,
	    SPREG_REFERENCE_DIR, SPREG_REFERENCE_DIR, dir);
	ck_assert_int_eq(system(cmd), 0);
	const char *names[] = {"regimes.csv", "adequacy.csv"};
	const char *bodies[] = {regimes, adequacy};
	for (int i = 0; i < 2; i++) {
		char path[512];
		if (bodies[i] == NULL) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *fp = fopen(path, "w");
		ck_assert_ptr_nonnull(fp);
		fputs(bodies[i], fp);
		fclose(fp);
	}
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

#define ADQ_HDR "regime,country_code,country_name,status,scope_note," \
	"decision_ref,valid_from,valid_until,condition,mechanism,source\n"
#define REG_HDR "regime,home_countries,name,reviewed_on,source\n"

static const struct {
	const char *regimes, *adequacy, *expect;
} bad_rules[] = {
	{NULL, ADQ_HDR "EU,JP,Japan,adequate,,D,2020-01-01,2019-01-01,none,"
	    "eu-adequacy,s\n", "adequacy.csv:2: valid_until"},
	{NULL, ADQ_HDR "EU,JP,Japan,adequate,,D,2020-01-01,2020-01-01,none,"
	    "eu-adequacy,s\n", "adequacy.csv:2: valid_until"},
	{NULL, ADQ_HDR "EU,US,A,partial,,D,2016-07-12,2020-07-16,certified:"
	    "eu-us-dpf,eu-us-dpf,s\nEU,US,A,partial,,D,2020-07-15,,"
	    "certified:eu-us-dpf,eu-us-dpf,s\n",
	    "adequacy.csv:3: valid_from: interval overlaps the row of line 2"},
	{NULL, ADQ_HDR "EU,US,A,partial,,D,2023-07-10,,certified:eu-us-dpf,"
	    "eu-us-dpf,s\nEU,US,A,partial,,D,2016-07-12,,certified:eu-us-dpf,"
	    "eu-us-dpf,s\n",
	    "adequacy.csv:3: valid_from: interval overlaps the row of line 2"},
	{NULL, ADQ_HDR "EU,XX,Nowhere,adequate,,D,2020-01-01,,none,"
	    "eu-adequacy,s\n", "adequacy.csv:2: country_code: 'XX'"},
	{NULL, ADQ_HDR "EU,JP,Japan,adequate,,D,2020-01-01,,none,"
	    "eu-magic,s\n", "adequacy.csv:2: mechanism: 'eu-magic'"},
	{NULL, ADQ_HDR "EU,JP,Japan,adequate,,D,2020-01-01,,none,"
	    "uk-adequacy-regs,s\n", "adequacy.csv:2: mechanism"},
	{NULL, ADQ_HDR "FR,JP,Japan,adequate,,D,2020-01-01,,none,"
	    "eu-adequacy,s\n", "adequacy.csv:2: regime: 'FR'"},
	{NULL, ADQ_HDR "EU,JP,Japan,adequate,,D,2020-02-30,,none,"
	    "eu-adequacy,s\n", "adequacy.csv:2: valid_from"},
	{NULL, ADQ_HDR "EU,JP,Japan,partial,,D,2020-01-01,,safeguard:nope,"
	    "eu-adequacy,s\n", "adequacy.csv:2: condition: 'nope'"},
	{NULL, ADQ_HDR "EU,JP,Japan,partial,,D,2020-01-01,,magic,"
	    "eu-adequacy,s\n", "adequacy.csv:2: condition"},
	{NULL, ADQ_HDR "EU,JP,Japan,great,,D,2020-01-01,,none,"
	    "eu-adequacy,s\n", "adequacy.csv:2: status"},
	{NULL, ADQ_HDR "EU,US,A,eea,,D,2020-01-01,,,,s\n",
	    "adequacy.csv:2: status: eea"},
	{NULL, ADQ_HDR "EU,GB,UK,home,,D,,,none,,s\n",
	    "adequacy.csv:2: valid_until: required for status home"},
	{NULL, ADQ_HDR "EU,FR,France,home,,D,,2020-01-01,none,,s\n",
	    "adequacy.csv:2: status: home"},
	{NULL, ADQ_HDR "EU,GB,UK,home,,D,,2021-01-01,none,eu-adequacy,s\n",
	    "adequacy.csv:2: mechanism: must be empty"},
	{NULL, ADQ_HDR "EU,US,A,partial,,D,2023-07-10,,"
	    "certified:eu-scc-2021-m2,eu-us-dpf,s\n",
	    "adequacy.csv:2: condition: 'eu-scc-2021-m2' is not a framework"},
	{NULL, ADQ_HDR "EU,JP,Japan,partial,,D,2020-01-01,,in_scope+,"
	    "eu-adequacy,s\n", "adequacy.csv:2: condition: ends with '+'"},
	{REG_HDR "US,US,n,2026-11-23,s\n", NULL, "regimes.csv:2: regime"},
	{REG_HDR "EU,FR XX,n,2026-11-23,s\n", NULL,
	    "regimes.csv:2: home_countries: 'XX'"},
	{REG_HDR "EU,FR,n,,s\n", NULL, "regimes.csv:2: reviewed_on"},
	{"wrong\n", NULL, "regimes.csv"},
};

/* The rules in dir are refused with a message holding expect; dir goes. */
static void
assert_rejected(char *dir, const char *expect, int i)
{
	assess_rules *r = NULL;
	err e;

	ck_assert_int_eq(assess_rules_load(dir, cat, &r, &e),
	    SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strstr(e.msg, expect) != NULL,
	    "case %d: '%s' lacks '%s'", i, e.msg, expect);
	ck_assert_ptr_null(r);
	remove_tree(dir);
}

START_TEST(rules_load_rejects)
{
	assert_rejected(rules_tree(bad_rules[_i].regimes,
	    bad_rules[_i].adequacy), bad_rules[_i].expect, _i);
}
END_TEST

/* A change of the data changes the checksum. */
#define LIN_HDR "regime,follows,valid_from,valid_until,note,reference," \
	"source\n"

static const struct {
	const char *lineage, *expect;
} bad_lineage[] = {
	{LIN_HDR "UK,XX,,2021-01-01,n,r,s\n", "lineage.csv:2: follows: 'XX'"},
	{LIN_HDR "UK,UK,,2021-01-01,n,r,s\n", "lineage.csv:2: follows"},
	{LIN_HDR "UK,EU,,,n,r,s\n", "lineage.csv:2: valid_until"},
	{LIN_HDR "UK,EU,2021-01-01,2020-01-01,n,r,s\n",
	    "lineage.csv:2: valid_until"},
	{LIN_HDR "UK,EU,,2021-01-01,n,r,s\nUK,CH,2020-06-01,2022-01-01,n,r,"
	    "s\n", "lineage.csv:3: valid_from: overlaps"},
	{LIN_HDR "UK,EU,,2021-01-01,n,r,s\nEU,CH,,2000-01-01,n,r,s\n",
	    "lineage.csv:3: follows"},
	{"regime,follows\n", "lineage.csv"},
};

START_TEST(rules_lineage_rejects)
{
	char *dir = rules_tree(NULL, NULL);
	char path[512];

	snprintf(path, sizeof(path), "%s/lineage.csv", dir);
	FILE *fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(bad_lineage[_i].lineage, fp);
	fclose(fp);
	assert_rejected(dir, bad_lineage[_i].expect, _i);
}
END_TEST

START_TEST(rules_checksum_follows_data)
{
	char *dir = rules_tree(NULL, NULL);
	assess_rules *r = NULL;
	err e;

	ck_assert_int_eq(assess_rules_load(dir, cat, &r, &e), SPREG_OK);
	ck_assert_str_eq(assess_rules_checksum(r),
	    assess_rules_checksum(rules));
	assess_rules_destroy(r);
	char path[512];
	snprintf(path, sizeof(path), "%s/adequacy.csv", dir);
	FILE *fp = fopen(path, "a");
	fputs("EU,ZW,Zimbabwe,none,,,,,,,s\n", fp);
	fclose(fp);
	ck_assert_int_eq(assess_rules_load(dir, cat, &r, &e), SPREG_OK);
	ck_assert_str_ne(assess_rules_checksum(r),
	    assess_rules_checksum(rules));
	assess_rules_destroy(r);
	remove_tree(dir);
}
END_TEST

/* The shipped sample: mailchimp relied on Privacy Shield only. */
static Spreg__V1__Subprocessor *
sample_vendor(const char *id)
{
	char path[512];
	json_t *doc;
	err e;

	snprintf(path, sizeof(path), "%s/sample-registry.json",
	    SPREG_REFERENCE_DIR);
	FILE *fp = fopen(path, "rb");
	ck_assert_ptr_nonnull(fp);
	static char text[1 << 20];
	size_t len = fread(text, 1, sizeof(text), fp);
	fclose(fp);
	ck_assert_msg(pbjson_parse_text(text, len, &doc, &e) == SPREG_OK,
	    "%s", e.msg);
	for (size_t i = 0; i < json_array_size(doc); i++) {
		json_t *item = json_array_get(doc, i);
		const char *sid = json_string_value(json_object_get(item, "id"));
		if (sid == NULL || strcmp(sid, id) != 0) {
			continue;
		}
		ProtobufCMessage *m;
		ck_assert_msg(pbjson_to_message(item,
		    &spreg__v1__subprocessor__descriptor, &m, &e) == SPREG_OK,
		    "%s", e.msg);
		json_decref(doc);
		return (Spreg__V1__Subprocessor *) m;
	}
	json_decref(doc);
	ck_abort_msg("%s not in the sample", id);
	return NULL;
}

static void
assess_sample(const char *id, const char *regime, const char *as_of,
    Spreg__V1__Verdict want, const char *must_name)
{
	Spreg__V1__Subprocessor *sp = sample_vendor(id);
	Spreg__V1__TransferAssessment **rows;
	size_t n, us = 0;
	err e;

	assess_query q = {regime, 0, 90, NULL, 0, NULL, NULL};
	ck_assert(date_parse(as_of, &q.as_of));
	ck_assert_int_eq(assess_subprocessor(rules, cat, sp, &q, &ar, &rows,
	    &n, &e), SPREG_OK);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rows[i]->country, "US") != 0) {
			continue;
		}
		us++;
		ck_assert_msg(rows[i]->verdict == want, "%s %s on %s: %s: %s",
		    id, rows[i]->data_category, as_of,
		    assess_verdict_name(rows[i]->verdict), rows[i]->reason);
		if (must_name != NULL) {
			ck_assert_ptr_nonnull(strstr(rows[i]->reason,
			    must_name));
		}
	}
	ck_assert_uint_gt(us, 0);
	protobuf_c_message_free_unpacked(&sp->base, NULL);
}

START_TEST(sample_mailchimp)
{
	/* [SCHREMS2]: Privacy Shield counted until 2020-07-16. */
	assess_sample("mailchimp", "EU", "2020-01-01", ASSESS_ADEQUATE,
	    "adequacy finding");
	assess_sample("mailchimp", "EU", "2026-11-23", ASSESS_INVALID,
	    "2020-07-16");
}
END_TEST

START_TEST(sample_others)
{
	/* [SCC-TR] 2010 SCCs dead after 2022-12-27. */
	assess_sample("fastspring", "EU", "2026-11-23", ASSESS_INVALID,
	    "2022-12-27");
	/* [D-US] DPF-certified only (from 2023-07-20). */
	assess_sample("google-ads", "EU", "2023-10-01", ASSESS_ADEQUATE, NULL);
	/* [SCC-OJ] 2021 SCCs + TIA until certified on 2023-07-24. */
	assess_sample("aws", "EU", "2023-07-23", ASSESS_SAFEGUARDED, NULL);
	assess_sample("aws", "EU", "2023-07-24", ASSESS_ADEQUATE, NULL);
	/* [UK-US], [CH-DPF] */
	assess_sample("google-workspace", "UK", "2026-11-23", ASSESS_ADEQUATE,
	    NULL);
	assess_sample("google-workspace", "CH", "2026-11-23", ASSESS_ADEQUATE,
	    NULL);
	/* [ART49] */
	assess_sample("calendly", "EU", "2026-11-23", ASSESS_DEROGATION, NULL);
	/* [SCHREMS2] TIA gap */
	assess_sample("sentry", "EU", "2026-11-23", ASSESS_TIA_REQUIRED, NULL);
}
END_TEST

/* The Assessment handler table matches its service descriptor. */
START_TEST(rpc_table_matches)
{
	const rpc_service *svc = &rpc_assessment_service;

	ck_assert_uint_eq(svc->nmethods, svc->desc->n_methods);
	for (size_t i = 0; i < svc->nmethods; i++) {
		ck_assert_str_eq(svc->methods[i].name,
		    svc->desc->methods[i].name);
		ck_assert(svc->methods[i].fn != NULL);
		/* Read-only, and open to customer tokens (scoped). */
		ck_assert_uint_eq(svc->methods[i].flags & (RPC_READ | RPC_WRITE),
		    RPC_READ);
		ck_assert(svc->methods[i].flags & RPC_CUSTOMER);
	}
}
END_TEST

static Suite *
assess_suite(void)
{
	Suite *s = suite_create("assess");
	TCase *tc = tcase_create("verdicts");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, verdicts_by_table, 0, NCASES);
	tcase_add_test(tc, table_covers_verdicts_and_regimes);
	tcase_add_test(tc, rows_per_country_and_category);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rules_accessors);
	tcase_add_loop_test(tc, rules_load_rejects, 0,
	    (int) (sizeof(bad_rules) / sizeof(bad_rules[0])));
	tcase_add_loop_test(tc, rules_lineage_rejects, 0,
	    (int) (sizeof(bad_lineage) / sizeof(bad_lineage[0])));
	tcase_add_test(tc, rules_checksum_follows_data);
	tcase_add_test(tc, rpc_table_matches);
	suite_add_tcase(s, tc);

	tc = tcase_create("sample");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sample_mailchimp);
	tcase_add_test(tc, sample_others);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(assess_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
